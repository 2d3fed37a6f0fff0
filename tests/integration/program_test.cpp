// ebpf::program and ebpf::link against the running kernel, with hand-assembled programs.
#include "fixture.hpp"

#include <ebpf/error.hpp>
#include <ebpf/link.hpp>
#include <ebpf/program.hpp>

#include <arpa/inet.h>
#include <array>
#include <cstdio>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <vector>

#include "link_attachment.hpp"
#include "sys/bpf.hpp"

namespace {

using namespace ebpf_test::insn;
namespace sys = ebpf::sys;
using ebpf::attach_type;
using ebpf::program_type;

class program_test : public ebpf_test::kernel_test {};

ebpf::program load(program_type type, std::vector<ebpf::instruction> insns, std::string name,
                   std::optional<attach_type> expected = std::nullopt) {
  ebpf::program_load_spec spec;
  spec.name = std::move(name);
  spec.type = type;
  spec.expected_attach_type = expected;
  spec.instructions = insns;
  return ebpf::program::load(spec);
}

ebpf::program load_return(program_type type, std::int32_t value, std::string name,
                          std::optional<attach_type> expected = std::nullopt) {
  return load(type, {mov64_imm(r0, value), exit()}, std::move(name), expected);
}

ebpf::unique_fd counter_map() {
  sys::map_create_options options;
  options.type = ebpf::map_type::array;
  options.key_size = 4;
  options.value_size = 8;
  options.max_entries = 1;
  options.name = "counter";
  return sys::map_create(options, "map 'counter'");
}

std::uint64_t read_counter(const ebpf::unique_fd& map) {
  std::uint32_t key = 0;
  std::uint64_t value = 0;
  sys::map_lookup_elem(map.get(), &key, &value, 0, "map 'counter'");
  return value;
}

// Counts calls made by this process (tgid filter), then returns `retval`.
std::vector<ebpf::instruction> count_own_process(int map_fd, std::int32_t retval) {
  std::vector<ebpf::instruction> insns;
  auto count = count_into(map_fd);
  insns.push_back(call(helper_get_current_pid_tgid));
  insns.push_back(rsh64_imm(r0, 32));
  insns.push_back(jne_imm(r0, ::getpid(), static_cast<std::int16_t>(count.size())));
  append(insns, count);
  insns.push_back(mov64_imm(r0, retval));
  insns.push_back(exit());
  return insns;
}

long raw_getpid() { return ::syscall(SYS_getpid); }

ebpf::unique_fd dup_fd(int fd) { return ebpf::unique_fd(::fcntl(fd, F_DUPFD_CLOEXEC, 3)); }

std::vector<std::byte> frame(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>(i * 7 + 1);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// UDP on loopback.

struct udp_pair {
  ebpf::unique_fd rx;
  ebpf::unique_fd tx;
  sockaddr_in address{};

  udp_pair() {
    rx = ebpf::unique_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    tx = ebpf::unique_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!rx || !tx) ebpf::throw_errno(errno, "test: socket");
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(rx.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ebpf::throw_errno(errno, "test: bind");
    }
    socklen_t length = sizeof address;
    ::getsockname(rx.get(), reinterpret_cast<sockaddr*>(&address), &length);
  }

  // Sends `message` and returns what arrived within the timeout (nullopt: nothing).
  std::optional<std::string> round_trip(const std::string& message, int timeout_ms = 300) {
    if (::sendto(tx.get(), message.data(), message.size(), 0,
                 reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) {
      ebpf::throw_errno(errno, "test: sendto");
    }
    pollfd ready{rx.get(), POLLIN, 0};
    if (::poll(&ready, 1, timeout_ms) <= 0) return std::nullopt;
    char buffer[256];
    ssize_t n = ::recv(rx.get(), buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }
};

// A child process in cgroup `cgroup_path` that sends one UDP datagram to itself on loopback each
// time it is asked, and answers whether it arrived. Sockets belong to the cgroup of the process
// that creates them, so the probe must run in a process moved into the cgroup.
class cgroup_udp_child {
 public:
  explicit cgroup_udp_child(const std::string& cgroup_path) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
      ebpf::throw_errno(errno, "test: pipe");
    }
    pid_ = ebpf_test::kernel_test::fork_child([&]() -> int {
      ::close(to_child[1]);
      ::close(from_child[0]);
      std::string procs = cgroup_path + "/cgroup.procs";
      FILE* file = std::fopen(procs.c_str(), "w");
      if (!file || std::fputs("0", file) < 0 || std::fclose(file) != 0) return 2;
      udp_pair pair;
      char command = 'r';
      if (::write(from_child[1], &command, 1) != 1) return 3;
      while (::read(to_child[0], &command, 1) == 1 && command == 'p') {
        char answer = pair.round_trip("probe") ? '1' : '0';
        if (::write(from_child[1], &answer, 1) != 1) return 4;
      }
      return 0;
    });
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_child_ = ebpf::unique_fd(to_child[1]);
    from_child_ = ebpf::unique_fd(from_child[0]);
    char ready = 0;
    if (::read(from_child_.get(), &ready, 1) != 1 || ready != 'r') {
      ebpf::throw_error(ebpf::errc::invalid_argument, "test: the cgroup child did not start");
    }
  }
  cgroup_udp_child(const cgroup_udp_child&) = delete;
  cgroup_udp_child& operator=(const cgroup_udp_child&) = delete;
  ~cgroup_udp_child() {
    if (pid_ > 0) finish();
  }

  bool delivered() {
    char command = 'p', answer = 0;
    if (::write(to_child_.get(), &command, 1) != 1 || ::read(from_child_.get(), &answer, 1) != 1) {
      ebpf::throw_error(ebpf::errc::invalid_argument, "test: the cgroup child went away");
    }
    return answer == '1';
  }

  int finish() {
    to_child_.reset();  // EOF: the child exits
    from_child_.reset();
    int code = ebpf_test::kernel_test::wait_child(pid_);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
  ebpf::unique_fd to_child_;
  ebpf::unique_fd from_child_;
};

// ---------------------------------------------------------------------------------------------
// Loading, info, pinning, test runs.

TEST_F(program_test, SocketFilterTestRunReturnsItsValue) {
  auto prog = load_return(program_type::socket_filter, 2, "two");
  EXPECT_EQ(prog.name(), "two");
  EXPECT_EQ(prog.type(), program_type::socket_filter);
  auto packet = frame(64);
  auto result = prog.test_run({.data = packet});
  EXPECT_EQ(result.retval, 2u);

  auto repeated = prog.test_run({.data = packet, .repeat = 10});
  EXPECT_EQ(repeated.retval, 2u);
}

TEST_F(program_test, XdpTestRunPassesThePacketThrough) {
  auto prog = load_return(program_type::xdp, 2, "xdp_pass");  // XDP_PASS
  auto packet = frame(64);
  auto result = prog.test_run({.data = packet, .repeat = 10});
  EXPECT_EQ(result.retval, 2u);
  EXPECT_EQ(result.data_size_out, packet.size());
  EXPECT_EQ(result.data_out, packet);

  auto small = prog.test_run({.data = packet, .data_out_size = 10});
  EXPECT_EQ(small.data_size_out, 64u);
  EXPECT_EQ(small.data_out.size(), 10u);  // truncated to the capacity, not an error
}

TEST_F(program_test, InfoTagIsSixteenHexDigitsAndMatchesBpftool) {
  auto prog = load_return(program_type::socket_filter, 2, "tagged");
  auto info = prog.info();
  EXPECT_GT(info.id, 0u);
  EXPECT_EQ(info.name, "tagged");
  EXPECT_EQ(info.type, program_type::socket_filter);
  EXPECT_EQ(info.xlated_length, 16u);
  std::string tag = info.tag_string();
  ASSERT_EQ(tag.size(), 16u);
  EXPECT_EQ(tag.find_first_not_of("0123456789abcdef"), std::string::npos) << tag;

  if (::access("/usr/sbin/bpftool", X_OK) != 0 && ::access("/usr/bin/bpftool", X_OK) != 0) {
    GTEST_SKIP() << "bpftool is not installed: the oracle half of this test cannot run";
  }
  std::string command = "bpftool prog show id " + std::to_string(info.id) + " -j 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  ::pclose(pipe);
  auto at = output.find("\"tag\":\"");
  ASSERT_NE(at, std::string::npos) << output;
  EXPECT_EQ(output.substr(at + 7, 16), tag);
}

TEST_F(program_test, PinAndFromPinGiveTheSameProgram) {
  auto prog = load_return(program_type::xdp, 1, "pinned_prog");
  std::string path = bpffs() + "/prog";
  prog.pin(path);
  auto again = ebpf::program::from_pin(path);
  EXPECT_EQ(again.id(), prog.id());
  EXPECT_EQ(again.name(), "pinned_prog");
  EXPECT_EQ(again.type(), program_type::xdp);
  EXPECT_NE(again.fd(), prog.fd());

  auto by_id = ebpf::program::from_id(prog.id());
  EXPECT_EQ(by_id.info().tag, prog.info().tag);
  auto copy = prog.dup();
  EXPECT_EQ(copy.id(), prog.id());

  try {
    ebpf::program::from_pin(bpffs() + "/nothing");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
  }
}

TEST_F(program_test, FromFdRefusesAMap) {
  auto map = counter_map();
  try {
    ebpf::program::from_fd(std::move(map));
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
  }
}

TEST_F(program_test, RejectedProgramGivesTheVerifierLog) {
  try {
    load(program_type::socket_filter, {exit()}, "bad");  // r0 never written
    FAIL() << "the verifier accepted an exit with r0 unset";
  } catch (const ebpf::verifier_error& e) {
    EXPECT_NE(e.log().find("R0 !read_ok"), std::string::npos) << e.log();
    EXPECT_EQ(std::string(e.what()).rfind("program 'bad': verifier rejected it", 0), 0u) << e.what();
    EXPECT_EQ(e.code().value(), EACCES);
  }
}

TEST_F(program_test, RequestedLogIsReturnedOnSuccess) {
  std::vector<ebpf::instruction> insns = {mov64_imm(r0, 1), exit()};
  ebpf::program_load_spec spec;
  spec.name = "logged";
  spec.type = program_type::socket_filter;
  spec.instructions = insns;
  spec.log_level = 2;
  std::string log;
  auto prog = ebpf::program::load(spec, &log);
  EXPECT_NE(log.find("processed 2 insns"), std::string::npos) << log;
}

TEST_F(program_test, LoadErrorsUseTheCallersSubject) {
  std::vector<ebpf::instruction> insns = {mov64_imm(r0, 1), exit()};
  ebpf::program_load_spec spec;
  spec.name = "wrong";
  spec.type = static_cast<program_type>(9999);  // no such type: EINVAL with no log
  spec.instructions = insns;
  spec.subject = "object 'x.o': program 'wrong'";
  try {
    ebpf::program::load(spec);
    FAIL();
  } catch (const ebpf::verifier_error& e) {
    FAIL() << "not a verifier rejection: " << e.what();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), EINVAL);
    EXPECT_EQ(std::string(e.what()).rfind("object 'x.o': program 'wrong': load: ", 0), 0u) << e.what();
  }
}

TEST_F(program_test, FdsAreAboveTwoAndCloexec) {
  auto prog = load_return(program_type::socket_filter, 0, "fds");
  EXPECT_GT(prog.fd(), 2);
  EXPECT_TRUE(is_cloexec(prog.fd()));
  auto copy = prog.dup();
  EXPECT_GT(copy.fd(), 2);
  EXPECT_TRUE(is_cloexec(copy.fd()));
}

TEST_F(program_test, RunStatisticsWhileEnabled) {
  auto prog = load_return(program_type::xdp, 2, "stats");
  auto stats = ebpf::enable_program_stats();
  auto packet = frame(64);
  prog.test_run({.data = packet, .repeat = 3});
  auto info = prog.info();
  EXPECT_GE(info.run_count, 3u);
}

// ---------------------------------------------------------------------------------------------
// Tracing attachments.

TEST_F(program_test, RawTracepointCountsUntilTheLinkDies) {
  auto map = counter_map();
  auto prog = load(program_type::raw_tracepoint, count_own_process(map.get(), 0), "raw_tp");
  {
    auto link = prog.attach_raw_tracepoint("sys_enter");
    EXPECT_TRUE(link.is_kernel_link());
    EXPECT_GT(link.fd(), 2);
    EXPECT_TRUE(is_cloexec(link.fd()));
    for (int i = 0; i < 5; ++i) raw_getpid();
    EXPECT_GE(read_counter(map), 5u);  // every syscall of this process counts
    auto info = link.info();
    EXPECT_EQ(info.type, ebpf::link_type::raw_tracepoint);
    EXPECT_EQ(info.tp_name, "sys_enter");
    EXPECT_EQ(info.prog_id, prog.id());
  }
  auto after = read_counter(map);
  for (int i = 0; i < 5; ++i) raw_getpid();
  EXPECT_EQ(read_counter(map), after);
}

TEST_F(program_test, TracepointCountsEachGetpidUntilTheLinkDies) {
  auto map = counter_map();
  auto prog = load(program_type::tracepoint, count_own_process(map.get(), 0), "tp_getpid");
  {
    auto link = prog.attach_tracepoint("syscalls", "sys_enter_getpid");
    EXPECT_EQ(link.kind(), "perf_event bpf_link");
    for (int i = 0; i < 7; ++i) raw_getpid();
    EXPECT_EQ(read_counter(map), 7u);
    EXPECT_EQ(link.info().type, ebpf::link_type::perf_event);
  }
  for (int i = 0; i < 3; ++i) raw_getpid();
  EXPECT_EQ(read_counter(map), 7u);
}

TEST_F(program_test, TracepointErrorsNameTheTracepoint) {
  auto prog = load_return(program_type::tracepoint, 0, "tp");
  try {
    prog.attach_tracepoint("syscalls", "sys_enter_no_such_call");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(std::string(e.what()).rfind("program 'tp': tracepoint 'syscalls/sys_enter_no_such_call'", 0), 0u)
        << e.what();
  }
}

TEST_F(program_test, PerfEventIoctlAttachmentDetachesOnDestroy) {
  // The fallback for kernels without perf_event links (< 5.15), exercised directly.
  auto map = counter_map();
  auto prog = load(program_type::tracepoint, count_own_process(map.get(), 0), "tp_ioctl");
  auto perf = sys::perf_event_open_tracepoint(sys::tracepoint_id("syscalls", "sys_enter_getpid"), "tp");
  sys::perf_event_set_bpf(perf.get(), prog.fd(), "tp");
  sys::perf_event_enable(perf.get(), "tp");
  {
    ebpf::link link(ebpf::detail::make_perf_event_ioctl(std::move(perf), dup_fd(prog.fd()),
                                                        "program 'tp_ioctl'"));
    EXPECT_FALSE(link.is_kernel_link());
    EXPECT_EQ(link.info().prog_id, prog.id());
    for (int i = 0; i < 4; ++i) raw_getpid();
    EXPECT_EQ(read_counter(map), 4u);
    EXPECT_THROW(link.pin(bpffs() + "/x"), ebpf::error);
  }
  raw_getpid();
  EXPECT_EQ(read_counter(map), 4u);
}

TEST_F(program_test, PinnedLinkOutlivesItsObjectUntilUnpinned) {
  auto map = counter_map();
  auto prog = load(program_type::tracepoint, count_own_process(map.get(), 0), "tp_pinned");
  std::string path = bpffs() + "/link";
  {
    auto link = prog.attach_tracepoint("syscalls", "sys_enter_getpid");
    link.pin(path);
    EXPECT_EQ(link.pin_path(), path);
  }
  raw_getpid();
  EXPECT_EQ(read_counter(map), 1u);  // still attached through the pin

  {
    auto pinned = ebpf::link::from_pin(path);
    EXPECT_TRUE(pinned.is_kernel_link());
    EXPECT_EQ(pinned.info().prog_id, prog.id());
    pinned.unpin();
  }  // last reference gone: detached
  raw_getpid();
  EXPECT_EQ(read_counter(map), 1u);
  struct stat st;
  EXPECT_NE(::stat(path.c_str(), &st), 0);
}

TEST_F(program_test, ReleasedLinkStaysAttachedWhileItsFdIsOpen) {
  auto map = counter_map();
  auto prog = load(program_type::raw_tracepoint, count_own_process(map.get(), 0), "raw_released");
  ebpf::unique_fd held;
  {
    auto link = prog.attach_raw_tracepoint("sys_enter");
    held = link.release();
    EXPECT_FALSE(link);
  }
  ASSERT_TRUE(held);
  auto before = read_counter(map);
  raw_getpid();
  EXPECT_GT(read_counter(map), before);
  held.reset();
  before = read_counter(map);
  raw_getpid();
  EXPECT_EQ(read_counter(map), before);
}

TEST_F(program_test, DetachOfAPinnedPerfLinkSaysToUnpin) {
  // perf_event links have no BPF_LINK_DETACH: a pin keeps them attached, and detach() says so.
  auto map = counter_map();
  auto prog = load(program_type::tracepoint, count_own_process(map.get(), 0), "tp_detach");
  auto link = prog.attach_tracepoint("syscalls", "sys_enter_getpid");
  link.pin(bpffs() + "/perf_link");
  try {
    link.detach();
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::unsupported);
    EXPECT_NE(std::string(e.what()).find("unpin()"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(link);
  raw_getpid();
  EXPECT_EQ(read_counter(map), 1u);
  link.unpin();
  // The pin was the last reference. Dropping it frees the link from a workqueue
  // (kernel/bpf/syscall.c bpf_link_put), so the detach lands a moment later.
  bool stopped = false;
  for (int attempt = 0; attempt < 200 && !stopped; ++attempt) {
    auto before = read_counter(map);
    raw_getpid();
    stopped = read_counter(map) == before;
    if (!stopped) ::usleep(5000);
  }
  EXPECT_TRUE(stopped);
}

// ---------------------------------------------------------------------------------------------
// Networking attachments.

TEST_F(program_test, CgroupSkbDropsWhileTheLinkLives) {
  const auto& cgroup = make_cgroup();
  auto drop = load_return(program_type::cgroup_skb, 0, "drop_all", attach_type::cgroup_inet_ingress);
  cgroup_udp_child child(cgroup.path);
  EXPECT_TRUE(child.delivered());
  {
    auto link = drop.attach_cgroup(cgroup.fd, attach_type::cgroup_inet_ingress);
    EXPECT_EQ(link.kind(), "cgroup bpf_link");
    EXPECT_FALSE(child.delivered());
    auto info = link.info();
    EXPECT_EQ(info.type, ebpf::link_type::cgroup);
    EXPECT_EQ(info.attach, attach_type::cgroup_inet_ingress);
    struct stat st;
    ASSERT_EQ(::stat(cgroup.path.c_str(), &st), 0);
    EXPECT_EQ(info.cgroup_id, st.st_ino);  // a cgroup v2 id is its directory's inode number
  }
  EXPECT_TRUE(child.delivered());
  EXPECT_EQ(child.finish(), 0);
}

TEST_F(program_test, ExplicitDetachStopsAPinnedCgroupLink) {
  const auto& cgroup = make_cgroup();
  auto drop = load_return(program_type::cgroup_skb, 0, "drop_pinned", attach_type::cgroup_inet_ingress);
  cgroup_udp_child child(cgroup.path);
  auto link = drop.attach_cgroup(cgroup.fd, attach_type::cgroup_inet_ingress);
  std::string path = bpffs() + "/cgroup_link";
  link.pin(path);
  EXPECT_FALSE(child.delivered());
  link.detach();  // BPF_LINK_DETACH: gone although the pin remains
  EXPECT_TRUE(child.delivered());
  auto defunct = ebpf::link::from_pin(path);  // still pinned, but attached nowhere
  EXPECT_EQ(defunct.info().type, ebpf::link_type::cgroup);
  link.unpin();
  EXPECT_EQ(child.finish(), 0);
}

TEST_F(program_test, CgroupLinkUpdateSwapsTheProgram) {
  const auto& cgroup = make_cgroup();
  auto drop = load_return(program_type::cgroup_skb, 0, "drop_all", attach_type::cgroup_inet_ingress);
  auto pass = load_return(program_type::cgroup_skb, 1, "pass_all", attach_type::cgroup_inet_ingress);
  cgroup_udp_child child(cgroup.path);
  auto link = drop.attach_cgroup(cgroup.fd, attach_type::cgroup_inet_ingress);
  EXPECT_FALSE(child.delivered());
  link.update(pass);
  EXPECT_TRUE(child.delivered());
  EXPECT_EQ(link.info().prog_id, pass.id());
  link = ebpf::link();
  EXPECT_EQ(child.finish(), 0);
}

TEST_F(program_test, LegacyCgroupAttachDetachesOnDestroy) {
  // The fallback for kernels without cgroup links (< 5.7), exercised directly.
  const auto& cgroup = make_cgroup();
  auto drop = load_return(program_type::cgroup_skb, 0, "drop_legacy", attach_type::cgroup_inet_ingress);
  auto pass = load_return(program_type::cgroup_skb, 1, "pass_legacy", attach_type::cgroup_inet_ingress);
  cgroup_udp_child child(cgroup.path);
  {
    sys::prog_attach(cgroup.fd.get(), drop.fd(), attach_type::cgroup_inet_ingress,
                     sys::attach_allow_multi, -1, "drop_legacy");
    ebpf::link link(ebpf::detail::make_prog_attach(cgroup.fd.dup(), dup_fd(drop.fd()),
                                                   attach_type::cgroup_inet_ingress,
                                                   sys::attach_allow_multi, "program 'drop_legacy'"));
    EXPECT_EQ(link.kind(), "BPF_PROG_ATTACH");
    EXPECT_FALSE(child.delivered());
    link.update(pass);  // BPF_F_REPLACE
    EXPECT_TRUE(child.delivered());
    link.update(drop);
    EXPECT_FALSE(child.delivered());
    EXPECT_EQ(link.info().prog_id, drop.id());
  }
  EXPECT_TRUE(child.delivered());
  EXPECT_EQ(child.finish(), 0);
}

TEST_F(program_test, SocketFilterDropsTruncatesAndDetaches) {
  udp_pair pair;
  auto drop = load_return(program_type::socket_filter, 0, "sf_drop");
  // For UDP the filter sees the packet from the UDP header: keep the 8-byte header + 5 bytes.
  auto truncate = load_return(program_type::socket_filter, 8 + 5, "sf_trunc");
  {
    auto link = drop.attach_socket_filter(pair.rx.get());
    EXPECT_EQ(link.kind(), "socket filter");
    EXPECT_EQ(pair.round_trip("hello world"), std::nullopt);
    link.update(truncate);
    EXPECT_EQ(pair.round_trip("hello world"), std::optional<std::string>("hello"));
    EXPECT_EQ(link.info().prog_id, truncate.id());
  }
  EXPECT_EQ(pair.round_trip("hello world"), std::optional<std::string>("hello world"));
}

TEST_F(program_test, XdpLinkCountsFramesOnVeth) {
  auto map = counter_map();
  // Count frames of ethertype 0x88b5 (IEEE local experimental), pass everything.
  auto count = count_into(map.get());
  std::vector<ebpf::instruction> insns = {
      ldx_w(r2, r1, 0),   // data
      ldx_w(r3, r1, 4),   // data_end
      mov64_reg(r4, r2),
      add64_imm(r4, 14),
      jgt_reg(r4, r3, static_cast<std::int16_t>(2 + count.size())),
      ldx_h(r5, r2, 12),  // ethertype, network order
      jne_imm(r5, 0xb588, static_cast<std::int16_t>(count.size())),
  };
  append(insns, count);
  insns.push_back(mov64_imm(r0, 2));  // XDP_PASS
  insns.push_back(exit());
  auto prog = load(program_type::xdp, insns, "xdp_count");

  constexpr int frames = 5;
  // A network namespace of our own, in a child process: the veth pair vanishes with it.
  pid_t pid = fork_child([&]() -> int {
    if (::unshare(CLONE_NEWNET) != 0) return 10;
    if (std::system("ip link add veth0 type veth peer name veth1 && ip link set veth0 up && "
                    "ip link set veth1 up") != 0) {
      return 11;
    }
    int in = static_cast<int>(::if_nametoindex("veth1"));
    int out = static_cast<int>(::if_nametoindex("veth0"));
    if (in == 0 || out == 0) return 12;
    ebpf::unique_fd packet_socket(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!packet_socket) return 13;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = out;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    std::array<unsigned char, 60> eth{};
    std::memset(eth.data(), 0xff, 6);                                   // broadcast
    const unsigned char source[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(eth.data() + 6, source, 6);
    eth[12] = 0x88;
    eth[13] = 0xb5;
    auto send_frames = [&](int n) {
      for (int i = 0; i < n; ++i) {
        if (::sendto(packet_socket.get(), eth.data(), eth.size(), 0,
                     reinterpret_cast<sockaddr*>(&to), sizeof to) != static_cast<ssize_t>(eth.size())) {
          return false;
        }
      }
      return true;
    };
    {
      auto link = prog.attach_xdp(in);
      auto info = link.info();
      if (info.type != ebpf::link_type::xdp || info.ifindex != static_cast<std::uint32_t>(in)) return 14;
      if (!send_frames(frames)) return 15;
      for (int wait = 0; wait < 100 && read_counter(map) < frames; ++wait) ::usleep(10000);
      if (read_counter(map) != frames) return 16;
    }
    if (!send_frames(frames)) return 17;  // detached: these are not counted
    ::usleep(100000);
    return 0;
  });
  EXPECT_EQ(wait_child(pid), 0);
  EXPECT_EQ(read_counter(map), static_cast<std::uint64_t>(frames));
}

TEST_F(program_test, EmptyLinkOperationsThrow) {
  ebpf::link empty;
  EXPECT_FALSE(empty);
  EXPECT_EQ(empty.fd(), -1);
  EXPECT_THROW(empty.info(), ebpf::error);
  EXPECT_THROW(empty.detach(), ebpf::error);
  EXPECT_THROW(empty.unpin(), ebpf::error);
  EXPECT_FALSE(empty.release());
}

}  // namespace
