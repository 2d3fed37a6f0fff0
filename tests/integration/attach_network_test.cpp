// The network attach calls against the running kernel: every cgroup hook (links and
// BPF_PROG_ATTACH, exclusive/override/multi, replace, ordering, query), sockmap/sockhash programs
// with data really flowing, sk_lookup, flow_dissector, netfilter and SO_REUSEPORT programs.
//
// Every test runs in a network namespace of its own (private_netns: the test thread unshares one
// and returns to the original in the destructor, so a failed ASSERT still restores it), and the
// cgroup tests move this process into a child cgroup for as long as they need (cgroup_member),
// because a socket belongs to the cgroup of the process that creates it. The programs are in
// tests/bpf/attach_network.bpf.c; each counts its runs in a global the test reads.
#include "fixture.hpp"

#include <ebpf/error.hpp>
#include <ebpf/features.hpp>
#include <ebpf/link.hpp>
#include <ebpf/network.hpp>
#include <ebpf/object.hpp>
#include <ebpf/program.hpp>

#include <arpa/inet.h>
#include <array>
#include <cstring>
#include <fstream>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <sched.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <vector>

#include "sys/bpf.hpp"

namespace {

using ebpf::attach_api;
using ebpf::attach_type;
using ebpf::unique_fd;
namespace sys = ebpf::sys;

const std::string object_path = std::string(EBPFPP_TEST_BPF_DIR) + "/attach_network.bpf.o";

bool has_errno(const ebpf::error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

int errno_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const ebpf::error& e) {
    if (e.code().category() == std::system_category()) return e.code().value();
    return -1;
  }
  return 0;
}

unique_fd make_socket(int family, int type) {
  unique_fd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  if (!fd) ebpf::throw_errno(errno, "test: socket");
  return fd;
}

void check(bool ok, const char* what) {
  if (!ok) ebpf::throw_errno(errno, std::string("test: ") + what);
}

// Option builders (g++ 12 warns about designated initializers that omit members).
ebpf::cgroup_attach_options via(attach_api api, std::uint32_t flags = ebpf::cgroup_flags::allow_multi) {
  ebpf::cgroup_attach_options options;
  options.api = api;
  options.flags = flags;
  return options;
}

ebpf::cgroup_attach_options replacing(const ebpf::program& old, attach_api api,
                                      std::uint32_t flags = ebpf::cgroup_flags::allow_multi) {
  ebpf::cgroup_attach_options options = via(api, flags);
  options.replace = &old;
  return options;
}

ebpf::cgroup_attach_options ordered(ebpf::cgroup_position position, attach_api api = attach_api::automatic) {
  ebpf::cgroup_attach_options options = via(api);
  options.order.position = position;
  return options;
}

ebpf::netfilter_attach_options netfilter(ebpf::netfilter_family family, ebpf::netfilter_hook hook,
                                         std::int32_t priority, std::uint32_t flags = 0) {
  ebpf::netfilter_attach_options options;
  options.family = family;
  options.hook = hook;
  options.priority = priority;
  options.flags = flags;
  return options;
}

// ---------------------------------------------------------------------------------------------
// A network namespace for the calling thread, with loopback up; the original one is restored in
// the destructor.
class private_netns {
 public:
  private_netns() {
    home_ = unique_fd::open("/proc/thread-self/ns/net", O_RDONLY);
    check(::unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
    ns_ = unique_fd::open("/proc/thread-self/ns/net", O_RDONLY);
    unique_fd control = make_socket(AF_INET, SOCK_DGRAM);
    ifreq request{};
    std::strcpy(request.ifr_name, "lo");
    check(::ioctl(control.get(), SIOCGIFFLAGS, &request) == 0, "SIOCGIFFLAGS lo");
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    check(::ioctl(control.get(), SIOCSIFFLAGS, &request) == 0, "SIOCSIFFLAGS lo up");
  }
  private_netns(const private_netns&) = delete;
  private_netns& operator=(const private_netns&) = delete;
  ~private_netns() {
    if (::setns(home_.get(), CLONE_NEWNET) != 0) std::abort();  // nothing else would be sound
  }
  int fd() const { return ns_.get(); }
  std::uint64_t inode() const {
    struct stat st {};
    ::fstat(ns_.get(), &st);
    return st.st_ino;
  }

 private:
  unique_fd home_;
  unique_fd ns_;
};

// Moves this process into cgroup `path` and back to where it was in the destructor.
class cgroup_member {
 public:
  explicit cgroup_member(const std::string& path) {
    std::string root = path.substr(0, path.rfind('/'));
    // In a nested cgroup the root is the one the fixture's cgroups live in.
    for (std::size_t pos = root.find("/ebpfpp-test-"); pos != std::string::npos;
         pos = root.find("/ebpfpp-test-")) {
      root.resize(pos);
    }
    std::ifstream self("/proc/self/cgroup");
    std::string line;
    while (std::getline(self, line)) {
      if (line.rfind("0::", 0) == 0) home_ = root + line.substr(3);
    }
    if (home_.empty()) ebpf::throw_error(ebpf::errc::not_found, "test: no cgroup v2 line in /proc/self/cgroup");
    move_to(path);
  }
  cgroup_member(const cgroup_member&) = delete;
  cgroup_member& operator=(const cgroup_member&) = delete;
  ~cgroup_member() {
    try {
      move_to(home_);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot return to cgroup " << home_ << ": " << e.what();
    }
  }

  static void move_to(const std::string& path) {
    std::ofstream procs(path + "/cgroup.procs");
    procs << "0" << std::flush;
    if (!procs) ebpf::throw_error(ebpf::errc::invalid_argument, "test: cannot move into " + path);
  }

 private:
  std::string home_;
};

// A cgroup inside another (for inheritance tests); removed in the destructor.
class nested_cgroup {
 public:
  explicit nested_cgroup(const std::string& parent) : path_(parent + "/child") {
    check(::mkdir(path_.c_str(), 0755) == 0, "mkdir nested cgroup");
    fd_ = unique_fd::open(path_.c_str(), O_RDONLY | O_DIRECTORY);
  }
  nested_cgroup(const nested_cgroup&) = delete;
  nested_cgroup& operator=(const nested_cgroup&) = delete;
  ~nested_cgroup() {
    fd_.reset();
    for (int attempt = 0; attempt < 50 && ::rmdir(path_.c_str()) != 0 && errno == EBUSY; ++attempt) {
      ::usleep(20000);
    }
  }
  const std::string& path() const { return path_; }
  const unique_fd& fd() const { return fd_; }

 private:
  std::string path_;
  unique_fd fd_;
};

// ---------------------------------------------------------------------------------------------
// Socket helpers (in the current network namespace).

sockaddr_storage loopback(int family, std::uint16_t port = 0) {
  sockaddr_storage address{};
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons(port);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    in6->sin6_port = htons(port);
  }
  return address;
}

socklen_t length_of(int family) {
  return family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

sockaddr* as_sockaddr(sockaddr_storage& address) { return reinterpret_cast<sockaddr*>(&address); }

sockaddr_storage bound_address(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  check(::getsockname(fd, as_sockaddr(address), &length) == 0, "getsockname");
  return address;
}

std::optional<std::string> receive(int fd, int timeout_ms = 300) {
  pollfd ready{fd, POLLIN, 0};
  if (::poll(&ready, 1, timeout_ms) <= 0) return std::nullopt;
  char buffer[256];
  ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(n));
}

void send_all(int fd, const std::string& data) {
  check(::send(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()), "send");
}

// One UDP datagram over loopback, from an unconnected socket to a bound one, received with
// recvfrom: bind, sendmsg, recvmsg, the skb hooks, sock_create/release, post_bind.
bool udp_round_trip(int family) {
  unique_fd rx = make_socket(family, SOCK_DGRAM);
  unique_fd tx = make_socket(family, SOCK_DGRAM);
  sockaddr_storage address = loopback(family);
  check(::bind(rx.get(), as_sockaddr(address), length_of(family)) == 0, "bind");
  address = bound_address(rx.get());
  const char message[] = "ping";
  if (::sendto(tx.get(), message, 4, 0, as_sockaddr(address), length_of(family)) != 4) return false;
  pollfd ready{rx.get(), POLLIN, 0};
  if (::poll(&ready, 1, 300) <= 0) return false;
  char buffer[16];
  sockaddr_storage from{};
  socklen_t from_length = sizeof from;
  return ::recvfrom(rx.get(), buffer, sizeof buffer, MSG_DONTWAIT, as_sockaddr(from),
                    &from_length) == 4;
}

// connect() of a UDP socket, then getpeername and getsockname.
void udp_connect_and_names(int family) {
  unique_fd fd = make_socket(family, SOCK_DGRAM);
  sockaddr_storage address = loopback(family, 9);
  check(::connect(fd.get(), as_sockaddr(address), length_of(family)) == 0, "connect");
  sockaddr_storage name{};
  socklen_t length = sizeof name;
  check(::getpeername(fd.get(), as_sockaddr(name), &length) == 0, "getpeername");
  length = sizeof name;
  check(::getsockname(fd.get(), as_sockaddr(name), &length) == 0, "getsockname");
}

// A connected TCP pair on loopback: {client, server side}.
struct tcp_pair {
  unique_fd client;
  unique_fd server;
};

tcp_pair tcp_connect(int family = AF_INET) {
  unique_fd listener = make_socket(family, SOCK_STREAM);
  sockaddr_storage address = loopback(family);
  check(::bind(listener.get(), as_sockaddr(address), length_of(family)) == 0, "bind");
  check(::listen(listener.get(), 4) == 0, "listen");
  address = bound_address(listener.get());
  tcp_pair pair;
  pair.client = make_socket(family, SOCK_STREAM);
  check(::connect(pair.client.get(), as_sockaddr(address), length_of(family)) == 0, "connect");
  pair.server = unique_fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  check(static_cast<bool>(pair.server), "accept");
  return pair;
}

// AF_UNIX datagrams between two abstract addresses: bind, connect, sendmsg with an address,
// recvmsg with an address buffer, getpeername, getsockname.
void unix_traffic() {
  auto abstract = [](const std::string& name) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    return std::make_pair(address, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size()));
  };
  std::string tag = std::to_string(::getpid());
  auto [rx_address, rx_length] = abstract("ebpfpp-rx-" + tag);
  auto [tx_address, tx_length] = abstract("ebpfpp-tx-" + tag);
  unique_fd rx = make_socket(AF_UNIX, SOCK_DGRAM);
  unique_fd tx = make_socket(AF_UNIX, SOCK_DGRAM);
  check(::bind(rx.get(), reinterpret_cast<sockaddr*>(&rx_address), rx_length) == 0, "bind unix");
  check(::bind(tx.get(), reinterpret_cast<sockaddr*>(&tx_address), tx_length) == 0, "bind unix");
  check(::sendto(tx.get(), "u", 1, 0, reinterpret_cast<sockaddr*>(&rx_address), rx_length) == 1, "sendto unix");
  sockaddr_un from{};
  socklen_t from_length = sizeof from;
  char byte = 0;
  check(::recvfrom(rx.get(), &byte, 1, 0, reinterpret_cast<sockaddr*>(&from), &from_length) == 1, "recvfrom unix");
  check(::connect(tx.get(), reinterpret_cast<sockaddr*>(&rx_address), rx_length) == 0, "connect unix");
  sockaddr_un name{};
  socklen_t length = sizeof name;
  check(::getpeername(tx.get(), reinterpret_cast<sockaddr*>(&name), &length) == 0, "getpeername unix");
  length = sizeof name;
  check(::getsockname(tx.get(), reinterpret_cast<sockaddr*>(&name), &length) == 0, "getsockname unix");
}

void sockopts() {
  unique_fd fd = make_socket(AF_INET, SOCK_DGRAM);
  int size = 65536;
  check(::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size) == 0, "setsockopt");
  socklen_t length = sizeof size;
  check(::getsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, &length) == 0, "getsockopt");
}

void read_sysctl() {
  std::ifstream file("/proc/sys/kernel/ostype");
  std::string text;
  std::getline(file, text);
  if (text.empty()) ebpf::throw_error(ebpf::errc::invalid_argument, "test: empty /proc/sys/kernel/ostype");
}

void open_device() { unique_fd null = unique_fd::open("/dev/null", O_RDONLY); }

std::uint64_t sockmap_value(int fd) { return static_cast<std::uint64_t>(fd); }

void map_put(const ebpf::map& map, std::uint32_t key, int socket_fd) {
  std::uint64_t value = sockmap_value(socket_fd);
  sys::map_update_elem(map.fd(), &key, &value, sys::update_any, "test: sockmap");
}

// ---------------------------------------------------------------------------------------------

class attach_network_test : public ebpf_test::kernel_test {
 protected:
  // The test object with every program the kernel can load (the unix sock_addr hooks need 6.7).
  ebpf::object load_object() {
    auto object = ebpf::object::open(object_path);
    ebpf::load_options options;
    options.keep_going = true;
    object.load(options);
    return object;
  }

  static bool loaded(const ebpf::object& object, const std::string& name) {
    for (const auto& status : object.load_report()) {
      if (status.name == name) return status.loaded;
    }
    return false;
  }

  static std::uint64_t counter(ebpf::object& object, const std::string& name) {
    return object.global<std::uint64_t>(name);
  }

  // Why `name` did not load ("" when it did).
  static std::string load_error(const ebpf::object& object, const std::string& name) {
    for (const auto& status : object.load_report()) {
      if (status.name == name) return status.error;
    }
    return "not in the object";
  }

  // Whether this kernel has sockmap bpf_links (6.10, "bpf: Add bpf_link support for sk_msg and
  // sk_skb progs"). A link to fd -1 answers without attaching anything: from 6.10 the kernel
  // looks the map up and fails (EBADF, net/core/sock_map.c sock_map_link_create); before,
  // BPF_LINK_CREATE has no case for sk_msg / sk_skb programs (EINVAL, kernel/bpf/syscall.c).
  static bool has_sockmap_links(const ebpf::program& prog) {
    int error = errno_of([&] { prog.attach_sockmap(-1, std::nullopt, attach_api::link); });
    EXPECT_TRUE(error == EBADF || error == EINVAL) << "sockmap link probe: errno " << error;
    return error == EBADF;
  }
};

// ---------------------------------------------------------------------------------------------
// Every cgroup hook, through a link and through BPF_PROG_ATTACH.

struct hook_case {
  const char* program;
  attach_type type;
  std::function<void()> trigger;
};

TEST_F(attach_network_test, EveryCgroupHookRunsInAChildCgroupAndStopsWhenDetached) {
  private_netns netns;
  const auto& cgroup = make_cgroup();
  auto object = load_object();
  cgroup_member member(cgroup.path);

  auto udp4 = [] { EXPECT_TRUE(udp_round_trip(AF_INET)); };
  auto udp6 = [] { EXPECT_TRUE(udp_round_trip(AF_INET6)); };
  const std::vector<hook_case> cases = {
      {"skb_ingress", attach_type::cgroup_inet_ingress, udp4},
      {"skb_egress", attach_type::cgroup_inet_egress, udp4},
      {"sock_create", attach_type::cgroup_inet_sock_create, [] { make_socket(AF_INET, SOCK_DGRAM); }},
      {"sock_release", attach_type::cgroup_inet_sock_release, [] { make_socket(AF_INET6, SOCK_DGRAM); }},
      {"post_bind4", attach_type::cgroup_inet4_post_bind, udp4},
      {"post_bind6", attach_type::cgroup_inet6_post_bind, udp6},
      {"bind4", attach_type::cgroup_inet4_bind, udp4},
      {"bind6", attach_type::cgroup_inet6_bind, udp6},
      {"connect4", attach_type::cgroup_inet4_connect, [] { udp_connect_and_names(AF_INET); }},
      {"connect6", attach_type::cgroup_inet6_connect, [] { udp_connect_and_names(AF_INET6); }},
      {"sendmsg4", attach_type::cgroup_udp4_sendmsg, udp4},
      {"sendmsg6", attach_type::cgroup_udp6_sendmsg, udp6},
      {"recvmsg4", attach_type::cgroup_udp4_recvmsg, udp4},
      {"recvmsg6", attach_type::cgroup_udp6_recvmsg, udp6},
      {"getpeername4", attach_type::cgroup_inet4_getpeername, [] { udp_connect_and_names(AF_INET); }},
      {"getpeername6", attach_type::cgroup_inet6_getpeername, [] { udp_connect_and_names(AF_INET6); }},
      {"getsockname4", attach_type::cgroup_inet4_getsockname, [] { udp_connect_and_names(AF_INET); }},
      {"getsockname6", attach_type::cgroup_inet6_getsockname, [] { udp_connect_and_names(AF_INET6); }},
      {"connect_unix", attach_type::cgroup_unix_connect, unix_traffic},
      {"sendmsg_unix", attach_type::cgroup_unix_sendmsg, unix_traffic},
      {"recvmsg_unix", attach_type::cgroup_unix_recvmsg, unix_traffic},
      {"getpeername_unix", attach_type::cgroup_unix_getpeername, unix_traffic},
      {"getsockname_unix", attach_type::cgroup_unix_getsockname, unix_traffic},
      {"getsockopt_hook", attach_type::cgroup_getsockopt, sockopts},
      {"setsockopt_hook", attach_type::cgroup_setsockopt, sockopts},
      {"sysctl_hook", attach_type::cgroup_sysctl, read_sysctl},
      {"device_hook", attach_type::cgroup_device, open_device},
      {"sock_ops", attach_type::cgroup_sock_ops, [] { tcp_connect(); }},
  };

  int exercised = 0;
  std::vector<std::string> not_loaded;
  for (const auto& hook : cases) {
    SCOPED_TRACE(hook.program);
    if (!loaded(object, hook.program)) {
      // Only the unix hooks (6.7) may be missing, and only on older kernels.
      EXPECT_NE(std::string(hook.program).find("unix"), std::string::npos);
      not_loaded.push_back(hook.program);
      continue;
    }
    const auto& prog = object.program(hook.program);
    const std::string name = std::string("n_") + hook.program;
    for (attach_api api : {attach_api::link, attach_api::prog_attach}) {
      SCOPED_TRACE(api == attach_api::link ? "link" : "prog_attach");
      std::uint64_t before = counter(object, name);
      {
        auto link = prog.attach_cgroup(cgroup.fd, hook.type, via(api));
        EXPECT_EQ(link.kind(), api == attach_api::link ? "cgroup bpf_link" : "BPF_PROG_ATTACH");
        auto attached = ebpf::query_cgroup(cgroup.fd.get(), hook.type);
        ASSERT_EQ(attached.programs.size(), 1u);
        EXPECT_EQ(attached.programs[0].program_id, prog.id());
        hook.trigger();
        EXPECT_GT(counter(object, name), before) << "the program did not run";
      }
      EXPECT_TRUE(ebpf::query_cgroup(cgroup.fd.get(), hook.type).programs.empty());
      std::uint64_t after = counter(object, name);
      hook.trigger();
      EXPECT_EQ(counter(object, name), after) << "the program still runs after the link was destroyed";
    }
    ++exercised;
  }
  EXPECT_EQ(exercised + static_cast<int>(not_loaded.size()), static_cast<int>(cases.size()));
  if (!not_loaded.empty()) {
    std::string names;
    for (const auto& n : not_loaded) names += " " + n;
    GTEST_SKIP() << "this kernel cannot load:" << names << " (cgroup unix hooks need 6.7)";
  }
}

// ---------------------------------------------------------------------------------------------
// BPF_PROG_ATTACH flags across a parent and a child cgroup.

class cgroup_flags_test : public attach_network_test {
 protected:
  // Creates one socket in cgroup `path` and returns which order_* programs ran, as digits.
  std::uint64_t run_in(ebpf::object& object, const std::string& path) {
    object.write_global<std::uint64_t>("run_order", 0);
    cgroup_member member(path);
    make_socket(AF_INET, SOCK_DGRAM);
    return object.global<std::uint64_t>("run_order");
  }
};

TEST_F(cgroup_flags_test, ExclusiveRefusesDescendantsAndOtherFlags) {
  const auto& parent = make_cgroup();
  nested_cgroup child(parent.path);
  auto object = load_object();
  auto& a = object.program("order_a");
  auto& b = object.program("order_b");
  const auto type = attach_type::cgroup_inet_sock_create;
  const ebpf::cgroup_attach_options exclusive = via(attach_api::prog_attach, ebpf::cgroup_flags::none);
  {
    auto held = a.attach_cgroup(parent.fd, type, exclusive);
    EXPECT_EQ(ebpf::query_cgroup(parent.fd.get(), type).attach_flags, ebpf::cgroup_flags::none);
    EXPECT_EQ(errno_of([&] { b.attach_cgroup(child.fd(), type, exclusive); }), EPERM);
    EXPECT_EQ(errno_of([&] { b.attach_cgroup(child.fd(), type, via(attach_api::prog_attach)); }), EPERM);
    EXPECT_EQ(errno_of([&] { b.attach_cgroup(child.fd(), type); }), EPERM);  // a link neither
    EXPECT_EQ(errno_of([&] { b.attach_cgroup(parent.fd, type, via(attach_api::prog_attach)); }), EPERM);
    EXPECT_EQ(run_in(object, child.path()), 1u);
    // The error names the program, the action and the hint.
    try {
      b.attach_cgroup(child.fd(), type, exclusive);
      ADD_FAILURE() << "no error";
    } catch (const ebpf::error& e) {
      EXPECT_NE(std::string(e.what()).find("program 'order_b': attach to cgroup as"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("exclusively by an ancestor"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(run_in(object, child.path()), 0u);
  // Nothing is left: the child may attach now.
  auto child_link = b.attach_cgroup(child.fd(), type, exclusive);
  EXPECT_EQ(run_in(object, child.path()), 2u);
}

TEST_F(cgroup_flags_test, OverrideLetsTheChildReplaceTheParentsProgram) {
  const auto& parent = make_cgroup();
  nested_cgroup child(parent.path);
  auto object = load_object();
  const auto type = attach_type::cgroup_inet_sock_create;
  const ebpf::cgroup_attach_options override_ = via(attach_api::prog_attach, ebpf::cgroup_flags::allow_override);
  auto parent_link = object.program("order_a").attach_cgroup(parent.fd, type, override_);
  EXPECT_EQ(ebpf::query_cgroup(parent.fd.get(), type).attach_flags, ebpf::cgroup_flags::allow_override);
  EXPECT_EQ(run_in(object, child.path()), 1u);  // inherited
  {
    auto child_link = object.program("order_b").attach_cgroup(child.fd(), type, override_);
    EXPECT_EQ(run_in(object, child.path()), 2u);   // the child's replaces the parent's
    EXPECT_EQ(run_in(object, parent.path), 1u);    // the parent keeps its own
    auto effective = ebpf::query_cgroup(child.fd().get(), type, /*effective=*/true);
    ASSERT_EQ(effective.programs.size(), 1u);
    EXPECT_EQ(effective.programs[0].program_id, object.program("order_b").id());
  }
  EXPECT_EQ(run_in(object, child.path()), 1u);  // back to the inherited one
}

TEST_F(cgroup_flags_test, MultiRunsTheChildsProgramsThenTheParents) {
  const auto& parent = make_cgroup();
  nested_cgroup child(parent.path);
  auto object = load_object();
  const auto type = attach_type::cgroup_inet_sock_create;
  auto parent_link = object.program("order_a").attach_cgroup(parent.fd, type, via(attach_api::prog_attach));
  auto child_prog_attach = object.program("order_b").attach_cgroup(child.fd(), type, via(attach_api::prog_attach));
  {
    auto child_link = object.program("order_c").attach_cgroup(child.fd(), type);  // a link coexists
    EXPECT_EQ(run_in(object, child.path()), 231u);
    auto own = ebpf::query_cgroup(child.fd().get(), type);
    EXPECT_EQ(own.attach_flags, ebpf::cgroup_flags::allow_multi);
    ASSERT_EQ(own.programs.size(), 2u);
    EXPECT_EQ(own.programs[0].program_id, object.program("order_b").id());
    EXPECT_EQ(own.programs[0].attach_flags, ebpf::cgroup_flags::allow_multi);
    EXPECT_EQ(own.programs[1].program_id, object.program("order_c").id());
    // Link ids are reported from 6.17 on; BPF_PROG_ATTACH entries have none.
    EXPECT_EQ(own.programs[0].link_id, 0u);
    if (own.programs[1].link_id != 0) {
      EXPECT_EQ(own.programs[1].link_id, child_link.info().id);
    }
    auto effective = ebpf::query_cgroup(child.fd().get(), type, /*effective=*/true);
    ASSERT_EQ(effective.programs.size(), 3u);
    EXPECT_EQ(effective.programs[2].program_id, object.program("order_a").id());
  }
  EXPECT_EQ(run_in(object, child.path()), 21u);
  EXPECT_EQ(run_in(object, parent.path), 1u);
}

TEST_F(cgroup_flags_test, ReplaceSwapsOneProgramAtomically) {
  const auto& cgroup = make_cgroup();
  auto object = load_object();
  auto& a = object.program("order_a");
  auto& b = object.program("order_b");
  const auto type = attach_type::cgroup_inet_sock_create;
  auto first = a.attach_cgroup(cgroup.fd, type, via(attach_api::prog_attach));
  auto other = object.program("order_c").attach_cgroup(cgroup.fd, type, via(attach_api::prog_attach));
  EXPECT_EQ(run_in(object, cgroup.path), 13u);
  {
    auto replacement = b.attach_cgroup(cgroup.fd, type, replacing(a, attach_api::prog_attach));
    EXPECT_EQ(run_in(object, cgroup.path), 23u);  // in a's place, not appended
    auto attached = ebpf::query_cgroup(cgroup.fd.get(), type);
    ASSERT_EQ(attached.programs.size(), 2u);
    EXPECT_EQ(attached.programs[0].program_id, b.id());
  }
  EXPECT_EQ(run_in(object, cgroup.path), 3u);
  // A link cannot replace by flag, and replace needs allow_multi: refused before any syscall.
  EXPECT_EQ(errno_of([&] { b.attach_cgroup(cgroup.fd, type, replacing(a, attach_api::link)); }), -1);
  EXPECT_EQ(errno_of([&] {
              b.attach_cgroup(cgroup.fd, type,
                              replacing(a, attach_api::prog_attach, ebpf::cgroup_flags::allow_override));
            }),
            -1);
}

TEST_F(cgroup_flags_test, OrderingPlacesProgramsBeforeAndAfter) {
  const auto& cgroup = make_cgroup();
  auto object = load_object();
  auto& a = object.program("order_a");
  auto& b = object.program("order_b");
  auto& c = object.program("order_c");
  const auto type = attach_type::cgroup_inet_sock_create;
  auto link_a = a.attach_cgroup(cgroup.fd, type);
  std::uint64_t revision = ebpf::query_cgroup(cgroup.fd.get(), type).revision;
  ebpf::link link_b;
  try {
    link_b = b.attach_cgroup(cgroup.fd, type, ordered(ebpf::cgroup_position::before));
  } catch (const ebpf::error& e) {
    ASSERT_TRUE(has_errno(e, EINVAL)) << e.what();
    EXPECT_NE(std::string(e.what()).find("6.17"), std::string::npos) << e.what();
    GTEST_SKIP() << "cgroup ordering needs kernel 6.17: " << e.what();
  }
  EXPECT_EQ(run_in(object, cgroup.path), 21u);
  auto now = ebpf::query_cgroup(cgroup.fd.get(), type);
  EXPECT_NE(now.revision, revision);
  // A stale revision is refused; the current one is accepted.
  EXPECT_EQ(errno_of([&] {
              auto stale = ordered(ebpf::cgroup_position::after);
              stale.expected_revision = revision;
              c.attach_cgroup(cgroup.fd, type, stale);
            }),
            ESTALE);
  {
    // After b (anchored by its link), before a: b, c, a.
    auto options = ordered(ebpf::cgroup_position::after);
    options.order.relative_link = &link_b;
    options.expected_revision = now.revision;
    auto link_c = c.attach_cgroup(cgroup.fd, type, options);
    EXPECT_EQ(run_in(object, cgroup.path), 231u);
    auto attached = ebpf::query_cgroup(cgroup.fd.get(), type);
    ASSERT_EQ(attached.programs.size(), 3u);
    EXPECT_EQ(attached.programs[0].program_id, b.id());
    EXPECT_EQ(attached.programs[1].program_id, c.id());
    EXPECT_EQ(attached.programs[2].program_id, a.id());
    // 6.18 reports no link ids for cgroup hooks; where it does, they must match.
    if (attached.programs[1].link_id != 0) {
      EXPECT_EQ(attached.programs[1].link_id, link_c.info().id);
    }
  }
  // Anchors are of the attachment's own kind: a link is placed relative to a link, a
  // BPF_PROG_ATTACH program relative to a program attached the same way. Anything else is
  // EINVAL, and the error says why.
  try {
    auto options = ordered(ebpf::cgroup_position::before);
    options.order.relative_program = &a;
    c.attach_cgroup(cgroup.fd, type, options);
    ADD_FAILURE() << "a link anchored on a program";
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(has_errno(e, EINVAL)) << e.what();
    EXPECT_NE(std::string(e.what()).find("relative_link"), std::string::npos) << e.what();
  }
  // A program anchor that is not among the BPF_PROG_ATTACH programs: ENOENT.
  try {
    auto options = ordered(ebpf::cgroup_position::before, attach_api::prog_attach);
    options.order.relative_program_id = b.id();  // held by link_b
    c.attach_cgroup(cgroup.fd, type, options);
    ADD_FAILURE() << "anchored on a program that is not attached with BPF_PROG_ATTACH";
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(has_errno(e, ENOENT)) << e.what();
    EXPECT_NE(std::string(e.what()).find("not attached to this hook"), std::string::npos) << e.what();
  }
  // Program anchors (by fd and by id) among BPF_PROG_ATTACH programs; a link anchored by a link.
  link_b = ebpf::link();
  auto attached_b = b.attach_cgroup(cgroup.fd, type, ordered(ebpf::cgroup_position::after, attach_api::prog_attach));
  EXPECT_EQ(run_in(object, cgroup.path), 12u);
  {
    auto options = ordered(ebpf::cgroup_position::before, attach_api::prog_attach);
    options.order.relative_program = &b;
    auto attached_c = c.attach_cgroup(cgroup.fd, type, options);
    EXPECT_EQ(attached_c.kind(), "BPF_PROG_ATTACH");
    EXPECT_EQ(run_in(object, cgroup.path), 132u);
  }
  {
    auto options = ordered(ebpf::cgroup_position::after, attach_api::prog_attach);
    options.order.relative_program_id = b.id();
    auto attached_c = c.attach_cgroup(cgroup.fd, type, options);
    EXPECT_EQ(run_in(object, cgroup.path), 123u);
  }
  {
    auto options = ordered(ebpf::cgroup_position::before);
    options.order.relative_link = &link_a;
    auto link_c = c.attach_cgroup(cgroup.fd, type, options);
    EXPECT_EQ(run_in(object, cgroup.path), 312u);
  }
  EXPECT_EQ(run_in(object, cgroup.path), 12u);
  // Two anchors are refused before any syscall.
  EXPECT_EQ(errno_of([&] {
              auto options = ordered(ebpf::cgroup_position::before);
              options.order.relative_program = &a;
              options.order.relative_program_id = b.id();
              c.attach_cgroup(cgroup.fd, type, options);
            }),
            -1);
}

// ---------------------------------------------------------------------------------------------
// sockmap / sockhash.

TEST_F(attach_network_test, SkMsgRedirectsWhatASocketSendsIntoItsOwnReceiveQueue) {
  private_netns netns;
  auto object = load_object();
  auto& prog = object.program("msg_to_key0");
  auto& sock_map = object.map("sock_map");
  // automatic makes a sockmap link where the kernel has them (6.10), else it falls back to
  // BPF_PROG_ATTACH: both paths run on every kernel, only the kind of the first one varies.
  const bool links = has_sockmap_links(prog);
  for (attach_api api : {attach_api::automatic, attach_api::prog_attach}) {
    SCOPED_TRACE(api == attach_api::automatic ? "automatic" : "prog_attach");
    std::uint64_t before = counter(object, "n_msg");
    std::uint64_t bytes_before = counter(object, "msg_bytes");
    {
      auto link = prog.attach_sockmap(sock_map.fd(), std::nullopt, api);
      if (api == attach_api::automatic && links) {
        EXPECT_EQ(link.kind(), "sockmap bpf_link");
        EXPECT_EQ(link.info().type, ebpf::link_type::sockmap);
      } else {
        EXPECT_EQ(link.kind(), "BPF_PROG_ATTACH");
      }
      EXPECT_EQ(link.info().prog_id, prog.id());
      // A socket takes the map's programs when it is inserted.
      tcp_pair pair = tcp_connect();
      map_put(sock_map, 0, pair.client.get());
      send_all(pair.client.get(), "hello");
      EXPECT_EQ(receive(pair.client.get()), std::optional<std::string>("hello"));
      EXPECT_EQ(receive(pair.server.get(), 100), std::nullopt) << "the peer got data the program redirected";
      EXPECT_GT(counter(object, "n_msg"), before);
      EXPECT_EQ(counter(object, "msg_bytes") - bytes_before, 5u);
      std::uint32_t key = 0;
      sys::map_delete_elem(sock_map.fd(), &key, "test: sockmap");
    }
    std::uint64_t after = counter(object, "n_msg");
    tcp_pair pair = tcp_connect();
    map_put(sock_map, 0, pair.client.get());
    send_all(pair.client.get(), "plain");
    EXPECT_EQ(receive(pair.server.get()), std::optional<std::string>("plain"));
    EXPECT_EQ(counter(object, "n_msg"), after);
    std::uint32_t key = 0;
    sys::map_delete_elem(sock_map.fd(), &key, "test: sockmap");
  }
}

TEST_F(attach_network_test, SkSkbStreamParserAndVerdictSeeReceivedData) {
  private_netns netns;
  auto object = load_object();
  auto& sock_map = object.map("sock_map");
  auto& stream_verdict = object.program("skb_stream_verdict");
  const bool links = has_sockmap_links(stream_verdict);
  {
    auto parser = object.program("skb_parser").attach_sockmap(sock_map.fd(), std::nullopt, attach_api::prog_attach);
    auto verdict = stream_verdict.attach_sockmap(sock_map.fd());
    EXPECT_EQ(verdict.kind(), links ? "sockmap bpf_link" : "BPF_PROG_ATTACH");
    if (links) {
      // A link holds the verdict: the map refuses any other attachment for the type (6.10
      // net/core/sock_map.c sock_map_prog_update: EBUSY "if a bpf_link exists for that prog").
      EXPECT_EQ(errno_of([&] { stream_verdict.attach_sockmap(sock_map.fd()); }), EBUSY);
    } else {
      // Without links (before 6.10) BPF_PROG_ATTACH replaces the map's program for the type
      // (psock_set_prog), here with the same one. The second ebpf::link would detach it when
      // destroyed, so it is released: the first one stays in charge.
      auto again = stream_verdict.attach_sockmap(sock_map.fd());
      EXPECT_EQ(again.kind(), "BPF_PROG_ATTACH");
      EXPECT_FALSE(again.release());  // no fd holds a BPF_PROG_ATTACH attachment
    }
    tcp_pair pair = tcp_connect();
    map_put(sock_map, 1, pair.server.get());
    send_all(pair.client.get(), "ping");
    EXPECT_EQ(receive(pair.server.get()), std::optional<std::string>("ping"));
    EXPECT_GT(counter(object, "n_parser"), 0u);
    EXPECT_GT(counter(object, "n_stream_verdict"), 0u);
    EXPECT_EQ(counter(object, "stream_bytes"), 4u);
    std::uint32_t key = 1;
    sys::map_delete_elem(sock_map.fd(), &key, "test: sockmap");
  }
  std::uint64_t parsed = counter(object, "n_parser");
  std::uint64_t judged = counter(object, "n_stream_verdict");
  tcp_pair pair = tcp_connect();
  map_put(sock_map, 1, pair.server.get());
  send_all(pair.client.get(), "pong");
  EXPECT_EQ(receive(pair.server.get()), std::optional<std::string>("pong"));
  EXPECT_EQ(counter(object, "n_parser"), parsed);
  EXPECT_EQ(counter(object, "n_stream_verdict"), judged);
  std::uint32_t key = 1;
  sys::map_delete_elem(sock_map.fd(), &key, "test: sockmap");
}

TEST_F(attach_network_test, SkSkbVerdictOnASockhashRedirectsToAnotherSocket) {
  private_netns netns;
  auto object = load_object();
  auto& sock_hash = object.map("sock_hash");
  auto& prog = object.program("skb_verdict_to_key1");
  // A link where the kernel has sockmap links (6.10), else BPF_PROG_ATTACH: the redirect is the
  // same either way.
  const bool links = has_sockmap_links(prog);
  {
    auto link = prog.attach_sockmap(sock_hash.fd(), attach_type::sk_skb_verdict,
                                    links ? attach_api::link : attach_api::prog_attach);
    if (links) {
      EXPECT_EQ(link.info().type, ebpf::link_type::sockmap);
    } else {
      EXPECT_EQ(link.kind(), "BPF_PROG_ATTACH");
    }
    EXPECT_EQ(link.info().prog_id, prog.id());
    tcp_pair first = tcp_connect();
    tcp_pair second = tcp_connect();
    map_put(sock_hash, 0, first.server.get());
    map_put(sock_hash, 1, second.client.get());
    send_all(first.client.get(), "moved");
    EXPECT_EQ(receive(second.client.get()), std::optional<std::string>("moved"));
    EXPECT_EQ(receive(first.server.get(), 100), std::nullopt);
    EXPECT_GT(counter(object, "n_verdict"), 0u);
    for (std::uint32_t key : {0u, 1u}) sys::map_delete_elem(sock_hash.fd(), &key, "test: sockhash");
  }
  std::uint64_t after = counter(object, "n_verdict");
  tcp_pair pair = tcp_connect();
  map_put(sock_hash, 0, pair.server.get());
  send_all(pair.client.get(), "stays");
  EXPECT_EQ(receive(pair.server.get()), std::optional<std::string>("stays"));
  EXPECT_EQ(counter(object, "n_verdict"), after);
  std::uint32_t key = 0;
  sys::map_delete_elem(sock_hash.fd(), &key, "test: sockhash");
}

// ---------------------------------------------------------------------------------------------
// Network namespace programs.

TEST_F(attach_network_test, SkLookupSteersAPortToAListenerInASockmap) {
  private_netns netns;
  auto object = load_object();
  auto& prog = object.program("steer_7007");
  unique_fd listener = make_socket(AF_INET, SOCK_STREAM);
  sockaddr_storage address = loopback(AF_INET);
  ASSERT_EQ(::bind(listener.get(), as_sockaddr(address), sizeof(sockaddr_in)), 0);
  ASSERT_EQ(::listen(listener.get(), 8), 0);
  map_put(object.map("lookup_map"), 0, listener.get());

  auto connect_7007 = [] {
    unique_fd client = make_socket(AF_INET, SOCK_STREAM);
    sockaddr_storage target = loopback(AF_INET, 7007);
    return ::connect(client.get(), as_sockaddr(target), sizeof(sockaddr_in)) == 0 ? 0 : errno;
  };
  EXPECT_EQ(connect_7007(), ECONNREFUSED);  // nothing listens on 7007
  {
    auto link = prog.attach_netns(netns.fd());
    EXPECT_EQ(link.kind(), "netns bpf_link");
    auto info = link.info();
    EXPECT_EQ(info.type, ebpf::link_type::netns);
    EXPECT_EQ(info.attach, attach_type::sk_lookup);
    EXPECT_EQ(info.netns_ino, netns.inode());
    EXPECT_EQ(connect_7007(), 0);
    unique_fd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    EXPECT_TRUE(accepted) << "the steered connection did not reach the listener";
    EXPECT_EQ(counter(object, "n_steered"), 1u);
  }
  EXPECT_EQ(connect_7007(), ECONNREFUSED);
  EXPECT_EQ(counter(object, "n_steered"), 1u);
  {
    // The section names the hook fully: attach() uses the calling thread's namespace.
    auto link = prog.attach();
    EXPECT_EQ(link.info().netns_ino, netns.inode());
    EXPECT_EQ(connect_7007(), 0);
    unique_fd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    EXPECT_TRUE(accepted);
    EXPECT_EQ(counter(object, "n_steered"), 2u);
  }
  // There is no BPF_PROG_ATTACH for sk_lookup.
  EXPECT_EQ(errno_of([&] { prog.attach_netns(netns.fd(), attach_api::prog_attach); }), -1);
}

// Sends IPv4/UDP frames out of veth0 and receives them on veth1 with a PACKET_FANOUT_HASH packet
// socket: the fanout hashes each frame, which runs the namespace's flow dissector.
class veth_frames {
 public:
  veth_frames() {
    if (std::system("ip link add ebpfpp0 type veth peer name ebpfpp1 && ip link set ebpfpp0 up && "
                    "ip link set ebpfpp1 up") != 0) {
      ebpf::throw_error(ebpf::errc::invalid_argument, "test: cannot create the veth pair");
    }
    out_ = static_cast<int>(::if_nametoindex("ebpfpp0"));
    int in = static_cast<int>(::if_nametoindex("ebpfpp1"));
    check(out_ > 0 && in > 0, "if_nametoindex");
    sender_ = make_socket(AF_PACKET, SOCK_RAW);
    receiver_ = make_socket(AF_PACKET, SOCK_RAW);
    sockaddr_ll bind_to{};
    bind_to.sll_family = AF_PACKET;
    bind_to.sll_protocol = htons(ETH_P_ALL);
    bind_to.sll_ifindex = in;
    check(::bind(receiver_.get(), reinterpret_cast<sockaddr*>(&bind_to), sizeof bind_to) == 0, "bind packet");
    int fanout = (static_cast<int>(::getpid()) & 0xffff) | (PACKET_FANOUT_HASH << 16);
    check(::setsockopt(receiver_.get(), SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) == 0, "PACKET_FANOUT");
  }
  ~veth_frames() { (void)std::system("ip link del ebpfpp0 2>/dev/null"); }

  // Sends `n` frames and returns how many arrived on the other end.
  int send(int n) {
    std::array<unsigned char, 14 + 20 + 8 + 4> frame{};
    std::memset(frame.data(), 0xff, 6);
    const unsigned char source[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(frame.data() + 6, source, 6);
    frame[12] = 0x08;  // IPv4
    unsigned char* ip = frame.data() + 14;
    ip[0] = 0x45;
    ip[3] = 20 + 8 + 4;  // total length
    ip[8] = 64;          // ttl
    ip[9] = 17;          // UDP
    ip[12] = 10, ip[15] = 1;
    ip[16] = 10, ip[19] = 2;
    unsigned sum = 0;
    for (int i = 0; i < 20; i += 2) sum += static_cast<unsigned>(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<unsigned char>(~sum >> 8);
    ip[11] = static_cast<unsigned char>(~sum);
    unsigned char* udp = ip + 20;
    udp[0] = 0x30, udp[1] = 0x39;  // 12345
    udp[2] = 0x1f, udp[3] = 0x90;  // 8080
    udp[5] = 8 + 4;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = out_;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    for (int i = 0; i < n; ++i) {
      check(::sendto(sender_.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to) == static_cast<ssize_t>(frame.size()),
            "send frame");
    }
    int received = 0;
    while (received < n && receive(receiver_.get(), 200)) ++received;
    return received;
  }

 private:
  int out_ = 0;
  unique_fd sender_;
  unique_fd receiver_;
};

TEST_F(attach_network_test, FlowDissectorRunsWhenAFrameIsHashed) {
  private_netns netns;
  auto object = load_object();
  auto& prog = object.program("dissect");
  veth_frames frames;
  ASSERT_EQ(frames.send(1), 1);  // before attaching: the kernel's own dissector
  EXPECT_EQ(counter(object, "n_dissect"), 0u);
  for (attach_api api : {attach_api::automatic, attach_api::prog_attach}) {
    SCOPED_TRACE(api == attach_api::automatic ? "link" : "prog_attach");
    std::uint64_t before = counter(object, "n_dissect");
    {
      auto link = prog.attach_netns(-1, api);
      if (api == attach_api::automatic) {
        EXPECT_EQ(link.kind(), "netns bpf_link");
        EXPECT_EQ(link.info().attach, attach_type::flow_dissector);
        EXPECT_EQ(link.info().netns_ino, netns.inode());
      } else {
        EXPECT_EQ(link.kind(), "BPF_PROG_ATTACH (netns)");
        EXPECT_EQ(link.info().prog_id, prog.id());
      }
      // One dissector per namespace: a second one is refused, with the reason.
      try {
        auto second = prog.attach_netns(netns.fd());
        ADD_FAILURE() << "a second flow dissector was attached";
      } catch (const ebpf::error& e) {
        EXPECT_TRUE(has_errno(e, api == attach_api::automatic ? E2BIG : EEXIST)) << e.what();
        EXPECT_NE(std::string(e.what()).find("one per namespace"), std::string::npos) << e.what();
      }
      EXPECT_EQ(frames.send(5), 5);
      EXPECT_GE(counter(object, "n_dissect") - before, 5u);
    }
    std::uint64_t after = counter(object, "n_dissect");
    EXPECT_EQ(frames.send(5), 5);
    EXPECT_EQ(counter(object, "n_dissect"), after);
  }
}

// ---------------------------------------------------------------------------------------------
// Netfilter.

TEST_F(attach_network_test, NetfilterLocalOutCountsAndDrops) {
  private_netns netns;
  auto object = load_object();
  if (!loaded(object, "nf_accept")) {
    // Netfilter programs are 6.4 ("bpf: minimal support for programs hooked into netfilter
    // framework"): an older kernel does not know the program type at all.
    EXPECT_FALSE(ebpf::probe_program_type(ebpf::program_type::netfilter).supported());
    EXPECT_FALSE(loaded(object, "nf_drop"));
    GTEST_SKIP() << "netfilter programs need kernel 6.4: " << load_error(object, "nf_accept");
  }
  auto& accept = object.program("nf_accept");
  auto& drop = object.program("nf_drop");
  const auto local_out = netfilter(ebpf::netfilter_family::ipv4, ebpf::netfilter_hook::local_out, -100);
  EXPECT_TRUE(udp_round_trip(AF_INET));
  {
    auto counting = accept.attach_netfilter(local_out);
    EXPECT_EQ(counting.kind(), "netfilter bpf_link");
    EXPECT_EQ(counting.info().type, ebpf::link_type::netfilter);
    EXPECT_TRUE(udp_round_trip(AF_INET));
    EXPECT_GT(counter(object, "n_nf_accept"), 0u);
    EXPECT_TRUE(udp_round_trip(AF_INET6)) << "an ipv4 hook saw ipv6";
    {
      auto dropping = drop.attach_netfilter(
          netfilter(ebpf::netfilter_family::ipv4, ebpf::netfilter_hook::local_out, 100));
      EXPECT_FALSE(udp_round_trip(AF_INET));
      EXPECT_GT(counter(object, "n_nf_drop"), 0u);
    }
    EXPECT_TRUE(udp_round_trip(AF_INET));
  }
  std::uint64_t accepted = counter(object, "n_nf_accept");
  std::uint64_t dropped = counter(object, "n_nf_drop");
  EXPECT_TRUE(udp_round_trip(AF_INET));
  EXPECT_EQ(counter(object, "n_nf_accept"), accepted);
  EXPECT_EQ(counter(object, "n_nf_drop"), dropped);

  // Reserved priorities are refused with the reason.
  try {
    accept.attach_netfilter(netfilter(ebpf::netfilter_family::ipv4, ebpf::netfilter_hook::local_out, INT32_MIN));
    ADD_FAILURE() << "INT_MIN priority accepted";
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(has_errno(e, ERANGE)) << e.what();
    EXPECT_NE(std::string(e.what()).find("local_out priority"), std::string::npos) << e.what();
  }
  // Defragmentation (6.6) for an ipv6 hook, where the kernel has it.
  try {
    auto defrag = accept.attach_netfilter(netfilter(ebpf::netfilter_family::ipv6, ebpf::netfilter_hook::local_out,
                                                    -100, ebpf::netfilter_flags::ip_defrag));
    std::uint64_t before = counter(object, "n_nf_accept");
    EXPECT_TRUE(udp_round_trip(AF_INET6));
    EXPECT_GT(counter(object, "n_nf_accept"), before);
  } catch (const ebpf::error& e) {
    // Only a kernel without the feature may refuse (net/netfilter/nf_bpf_link.c): 6.4 and 6.5
    // know no flags (EOPNOTSUPP), a kernel without CONFIG_NF_DEFRAG_IPV6 gives EAFNOSUPPORT.
    // EINVAL means modprobe could not load nf_defrag_ipv6 (scripts/qemu-test loads it into the
    // guests): not a kernel limit, a failure here.
    ASSERT_TRUE(has_errno(e, EOPNOTSUPP) || has_errno(e, EAFNOSUPPORT)) << e.what();
    GTEST_SKIP() << "no IPv6 defragmentation in this kernel: " << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// SO_REUSEPORT.

TEST_F(attach_network_test, ReuseportProgramPicksTheSocket) {
  private_netns netns;
  auto object = load_object();
  auto& reuse_map = object.map("reuse_map");
  std::array<unique_fd, 2> group;
  sockaddr_storage address = loopback(AF_INET);
  for (std::uint32_t i = 0; i < group.size(); ++i) {
    group[i] = make_socket(AF_INET, SOCK_DGRAM);
    int one = 1;
    ASSERT_EQ(::setsockopt(group[i].get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    ASSERT_EQ(::bind(group[i].get(), as_sockaddr(address), sizeof(sockaddr_in)), 0);
    address = bound_address(group[i].get());  // the second binds the first one's port
    map_put(reuse_map, i, group[i].get());
  }
  auto send_from_new_sockets = [&](int n) {
    for (int i = 0; i < n; ++i) {
      unique_fd tx = make_socket(AF_INET, SOCK_DGRAM);
      check(::sendto(tx.get(), "r", 1, 0, as_sockaddr(address), sizeof(sockaddr_in)) == 1, "sendto");
    }
  };
  auto drain = [](int fd) {
    int n = 0;
    while (receive(fd, 50)) ++n;
    return n;
  };
  constexpr int datagrams = 16;
  {
    auto link = object.program("pick_key1").attach_reuseport(group[0].get());
    EXPECT_EQ(link.kind(), "SO_ATTACH_REUSEPORT_EBPF");
    send_from_new_sockets(datagrams);
    EXPECT_EQ(drain(group[1].get()), datagrams);
    EXPECT_EQ(drain(group[0].get()), 0);
    EXPECT_EQ(counter(object, "n_reuseport"), static_cast<std::uint64_t>(datagrams));
  }
  send_from_new_sockets(datagrams);
  EXPECT_EQ(drain(group[0].get()) + drain(group[1].get()), datagrams);
  EXPECT_EQ(counter(object, "n_reuseport"), static_cast<std::uint64_t>(datagrams));
}

}  // namespace
