// Tracing attach kinds against the running kernel: perf events (every CPU, one CPU, a pid,
// software page faults), BPF cookies on tracepoints, raw tracepoints and tp_btf, kprobes,
// kretprobes, ksyscall, kprobe_multi and kprobe.session, fentry/fexit/fmod_ret, LSM, lsm_cgroup
// and freplace. Each test triggers its program, checks the counter (and the cookie), destroys
// the link and checks the counter stays put.
//
// On the CI host (KERNEL.md) kprobes cannot attach (ENOENT), kprobe_multi gives EOPNOTSUPP and
// the trampoline kinds get EPERM at load: those tests assert what they can (the load works, the
// error names the symbol and the errno) and then skip with the reason. In the QEMU guests (6.1,
// 6.12) the same tests run for real. Self-contained: the BPF objects come from
// EBPFPP_TEST_BPF_DIR like every other integration test.
#include <ebpf/ebpf.hpp>
#include <ebpf/tracing.hpp>

#include "fixture.hpp"
#include "object/kallsyms.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cstdio>
#include <fstream>
#include <netinet/in.h>
#include <sched.h>
#include <sstream>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace {

// Slots of `hits` / `cookies` in attach_tracing.bpf.c.
enum slot : std::size_t {
  slot_perf = 0,
  slot_tracepoint,
  slot_raw_tp,
  slot_tp_btf,
  slot_kprobe,
  slot_kretprobe,
  slot_ksyscall,
  slot_kprobe_multi,
  slot_session_entry,
  slot_session_return,
  slot_fentry,
  slot_fexit,
  slot_fmod_ret,
  slot_lsm,
  slot_count,
};
using counters = std::array<std::uint64_t, slot_count>;

bool has_errno(const ebpf::error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string errno_text(int value) { return std::system_category().message(value); }

const ebpf::detail::kernel_symbols& kallsyms() {
  static const ebpf::detail::kernel_symbols symbols = [] {
    std::ifstream file("/proc/kallsyms");
    std::stringstream text;
    text << file.rdbuf();
    return ebpf::detail::kernel_symbols::parse(text.str());
  }();
  return symbols;
}

// The getpid syscall's entry function on this kernel ("__x64_sys_getpid" on x86-64).
std::string getpid_function() {
  struct utsname name {};
  ::uname(&name);
  return kallsyms().syscall_function("getpid", ebpf::detail::syscall_wrapper_prefix(name.machine)).value_or("");
}

// Whether the running kernel's release is older than major.minor ("6.1.0-56-amd64" < 6.10).
bool kernel_older_than(int major, int minor) {
  struct utsname name {};
  ::uname(&name);
  int running_major = 0, running_minor = 0;
  if (std::sscanf(name.release, "%d.%d", &running_major, &running_minor) != 2) return false;
  return running_major < major || (running_major == major && running_minor < minor);
}

void call_getpid(int times) {
  for (int i = 0; i < times; ++i) (void)::syscall(SYS_getpid);  // not cached by libc
}

// Burns CPU for `ms` milliseconds of wall time (so cpu-clock samples land in this process).
void busy(int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  volatile std::uint64_t sink = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  }
}

class AttachTracingTest : public ebpf_test::kernel_test {
 protected:
  static std::string path() { return std::string(EBPFPP_TEST_BPF_DIR) + "/attach_tracing.bpf.o"; }

  ebpf::object open() {
    auto object = ebpf::object::open(path());
    object.set_global("target_tgid", static_cast<std::uint32_t>(::getpid()));
    return object;
  }

  // Loads only `programs`. Returns the reason to skip when the kernel refuses them as this
  // host's kernel does (EPERM for trampolines; EINVAL for an attach type or helper the kernel
  // predates), after checking the error names the program.
  std::string load(ebpf::object& object, std::vector<std::string> programs, ebpf::load_options options = {}) {
    options.only = std::move(programs);
    try {
      object.load(options);
      return {};
    } catch (const ebpf::error& e) {
      std::string what = e.what();
      EXPECT_TRUE(contains(what, "program '" + options.only.front() + "'")) << what;
      if (has_errno(e, EPERM) || has_errno(e, EINVAL) || has_errno(e, ENOTSUP) || has_errno(e, EOPNOTSUPP) ||
          e.code() == ebpf::errc::verifier_rejected) {
        return "this kernel refuses to load it: " + what;
      }
      throw;
    }
  }

  counters hits(ebpf::object& object) { return object.global<counters>("hits"); }
  counters cookies(ebpf::object& object) { return object.global<counters>("cookies"); }
};

// ---------------------------------------------------------------------------------------------
// perf_event programs.

TEST_F(AttachTracingTest, PerfEventOnEveryCpuSamplesWithCookie) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_sample"}), "");
  std::uint64_t seen = 0;
  {
    auto link = object.program("on_sample").attach_perf_event({.sample_period = 100'000, .cookie = 0xc0ffee});
    EXPECT_TRUE(contains(std::string(link.kind()), "CPUs")) << link.kind();
    EXPECT_GE(link.fd(), 3);
    busy(60);
    seen = hits(object)[slot_perf];
    EXPECT_GT(seen, 10u) << "cpu-clock every 100 us while busy for 60 ms";
    EXPECT_EQ(cookies(object)[slot_perf], 0xc0ffeeu);
    EXPECT_THROW(link.pin(bpffs() + "/group"), ebpf::error) << "a group of per-CPU links cannot be pinned";
  }
  // Samples may land between the read above and the destruction: compare from here on.
  seen = hits(object)[slot_perf];
  busy(30);
  EXPECT_EQ(hits(object)[slot_perf], seen) << "every CPU's event detached with the link";
}

TEST_F(AttachTracingTest, PerfEventFrequencyOnOneCpu) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_sample"}), "");
  cpu_set_t old_mask;
  ASSERT_EQ(::sched_getaffinity(0, sizeof old_mask, &old_mask), 0);
  cpu_set_t cpu0;
  CPU_ZERO(&cpu0);
  CPU_SET(0, &cpu0);
  ASSERT_EQ(::sched_setaffinity(0, sizeof cpu0, &cpu0), 0);
  std::uint64_t seen = 0;
  {
    auto link = object.program("on_sample").attach_perf_event({.sample_frequency = 5000, .cpu = 0});
    EXPECT_EQ(link.kind(), "perf_event bpf_link");
    EXPECT_TRUE(link.is_kernel_link());
    EXPECT_EQ(link.info().type, ebpf::link_type::perf_event);
    busy(60);
    seen = hits(object)[slot_perf];
    EXPECT_GT(seen, 5u) << "5 kHz on the CPU this thread is pinned to";
    EXPECT_EQ(cookies(object)[slot_perf], 0u);
  }
  seen = hits(object)[slot_perf];
  busy(20);
  EXPECT_EQ(hits(object)[slot_perf], seen);
  ::sched_setaffinity(0, sizeof old_mask, &old_mask);
}

TEST_F(AttachTracingTest, PerfEventPageFaultsOfOneThread) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_sample"}), "");
  constexpr std::size_t pages = 64;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  auto link = object.program("on_sample").attach_perf_event(
      {.type = ebpf::perf_type::software, .config = ebpf::software_event::page_faults, .sample_period = 1,
       .pid = static_cast<int>(::gettid()), .cookie = 3});
  void* memory = ::mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  for (std::size_t i = 0; i < pages; ++i) static_cast<volatile char*>(memory)[i * page] = 1;  // one fault each
  ::munmap(memory, pages * page);
  // Detach before looking: reading the maps faults pages too (many more under ASan, whose
  // allocator touches fresh shadow memory), and those would be counted after `seen`.
  link = ebpf::link();
  auto seen = hits(object)[slot_perf];
  EXPECT_GE(seen, pages) << "one sample per page fault of this thread";
  EXPECT_EQ(object.global<std::uint64_t>("perf_other_tgid"), 0u) << "a pid-filtered event sees only that thread";
  EXPECT_EQ(cookies(object)[slot_perf], 3u);
  memory = ::mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(memory, MAP_FAILED);
  for (std::size_t i = 0; i < pages; ++i) static_cast<volatile char*>(memory)[i * page] = 1;
  ::munmap(memory, pages * page);
  EXPECT_EQ(hits(object)[slot_perf], seen);
}

TEST_F(AttachTracingTest, PerfEventOnACallerOpenedEvent) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_sample"}), "");
  ebpf::sys::perf_event_options options;
  options.type = ebpf::perf_type::software;
  options.config = ebpf::software_event::task_clock;
  options.sample_period = 100'000;
  options.pid = 0;  // this thread
  options.cpu = -1;
  options.disabled = true;  // attach_perf_event enables it
  auto perf = ebpf::sys::perf_event_open(options, "test");
  std::uint64_t seen = 0;
  {
    auto link = object.program("on_sample").attach_perf_event(perf.get(), 99);
    busy(40);
    seen = hits(object)[slot_perf];
    EXPECT_GT(seen, 5u);
    EXPECT_EQ(cookies(object)[slot_perf], 99u);
  }
  seen = hits(object)[slot_perf];
  busy(20);
  EXPECT_EQ(hits(object)[slot_perf], seen) << "the link's own copy of the fd is gone; ours stays open but detached";
}

TEST_F(AttachTracingTest, PerfEventErrorsNameTheEvent) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_sample"}), "");
  const auto& program = object.program("on_sample");
  try {
    (void)program.attach_perf_event({.cpu = -2});
    ADD_FAILURE() << "a negative CPU was accepted";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_TRUE(contains(e.what(), "program 'on_sample': perf event cpu-clock: CPU -2")) << e.what();
  }
  // No CPU numbered 100000: perf_event_open says EINVAL or ENODEV, and the message says where.
  try {
    (void)program.attach_perf_event({.cpu = 100000});
    ADD_FAILURE() << "CPU 100000 was accepted";
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(contains(e.what(), "program 'on_sample': perf event cpu-clock on CPU 100000: perf_event_open")) << e.what();
    EXPECT_EQ(e.code().category(), std::system_category());
  }
}

// ---------------------------------------------------------------------------------------------
// Cookies on tracepoints, raw tracepoints and tp_btf.

TEST_F(AttachTracingTest, TracepointCookie) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_tracepoint"}), "");
  {
    auto link = object.program("on_tracepoint").attach_tracepoint("syscalls", "sys_enter_getpid", {.cookie = 42});
    EXPECT_EQ(link.kind(), "perf_event bpf_link");
    call_getpid(5);
    EXPECT_EQ(hits(object)[slot_tracepoint], 5u);
    EXPECT_EQ(cookies(object)[slot_tracepoint], 42u);
  }
  call_getpid(3);
  EXPECT_EQ(hits(object)[slot_tracepoint], 5u);
}

TEST_F(AttachTracingTest, RawTracepointCookie) {
  auto object = open();
  if (auto reason = load(object, {"on_raw_tp"}); !reason.empty())
    GTEST_SKIP() << "bpf_get_attach_cookie in raw_tp programs needs 6.10; " << reason;
  {
    auto link = object.program("on_raw_tp").attach_raw_tracepoint("sys_enter", {.cookie = 0x1234567890});
    EXPECT_EQ(link.info().type, ebpf::link_type::raw_tracepoint);
    call_getpid(4);
    EXPECT_EQ(hits(object)[slot_raw_tp], 4u);
    EXPECT_EQ(cookies(object)[slot_raw_tp], 0x1234567890u);
  }
  call_getpid(2);
  EXPECT_EQ(hits(object)[slot_raw_tp], 4u);
}

TEST_F(AttachTracingTest, TpBtfThroughAttachTraceWithAndWithoutCookie) {
  auto object = open();
  if (auto reason = load(object, {"on_tp_btf"}); !reason.empty()) GTEST_SKIP() << reason;
  const auto& program = object.program("on_tp_btf");
  {
    auto link = program.attach_trace();
    call_getpid(3);
    EXPECT_EQ(hits(object)[slot_tp_btf], 3u);
    EXPECT_EQ(cookies(object)[slot_tp_btf], 0u);
  }
  call_getpid(2);
  EXPECT_EQ(hits(object)[slot_tp_btf], 3u);
  ebpf::link link;
  try {
    link = program.attach_trace({.cookie = 77});
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(contains(e.what(), "6.10")) << e.what();
    GTEST_SKIP() << "tp_btf cookies need 6.10: " << e.what();
  }
  call_getpid(2);
  EXPECT_EQ(hits(object)[slot_tp_btf], 5u);
  EXPECT_EQ(cookies(object)[slot_tp_btf], 77u);
}

TEST_F(AttachTracingTest, AttachTraceRefusesOtherProgramTypes) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_tracepoint"}), "");
  try {
    (void)object.program("on_tracepoint").attach_trace();
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_TRUE(contains(e.what(), "tracepoint program is not tp_btf")) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// kprobes.

// Attaching a kprobe: on a kernel without kprobes (ENOENT, as on the CI host) the error must
// name the resolved symbol and the errno; the caller then skips.
std::string kprobe_unavailable(const ebpf::error& e, const std::string& symbol) {
  std::string what = e.what();
  EXPECT_TRUE(contains(what, symbol)) << what;
  if (has_errno(e, ENOENT)) {
    EXPECT_TRUE(contains(what, errno_text(ENOENT))) << what;
    return "kprobes cannot attach on this kernel: " + what;
  }
  ADD_FAILURE() << "unexpected kprobe error: " << what;
  return what;
}

TEST_F(AttachTracingTest, KprobeOnTheGetpidSyscallWithCookie) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_kprobe"}), "") << "kprobe programs load everywhere";
  const std::string function = getpid_function();
  ASSERT_FALSE(function.empty()) << "no getpid syscall function in /proc/kallsyms";
  ebpf::link link;
  try {
    link = object.program("on_kprobe").attach_kprobe({.symbol = "getpid", .syscall = true, .cookie = 11});
  } catch (const ebpf::error& e) {
    GTEST_SKIP() << kprobe_unavailable(e, "kprobe '" + function + "+0x0'");
  }
  call_getpid(6);
  EXPECT_EQ(hits(object)[slot_kprobe], 6u);
  EXPECT_EQ(cookies(object)[slot_kprobe], 11u);
  link = ebpf::link();
  call_getpid(3);
  EXPECT_EQ(hits(object)[slot_kprobe], 6u);
}

TEST_F(AttachTracingTest, KretprobeOnAFunctionByName) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_kretprobe"}), "");
  // By its kernel function name this time (the syscall wrapper exists on every kernel we run).
  const std::string function = getpid_function();
  ASSERT_FALSE(function.empty());
  ebpf::link link;
  try {
    link = object.program("on_kretprobe").attach_kprobe({.symbol = function, .retprobe = true, .cookie = 12});
  } catch (const ebpf::error& e) {
    GTEST_SKIP() << kprobe_unavailable(e, "kretprobe '" + function + "+0x0'");
  }
  call_getpid(4);
  EXPECT_EQ(hits(object)[slot_kretprobe], 4u);
  EXPECT_EQ(cookies(object)[slot_kretprobe], 12u);
  link = ebpf::link();
  call_getpid(2);
  EXPECT_EQ(hits(object)[slot_kretprobe], 4u);
}

TEST_F(AttachTracingTest, KsyscallSectionAttachesThroughAttach) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_ksyscall"}), "");
  const std::string function = getpid_function();
  ebpf::link link;
  try {
    link = object.program("on_ksyscall").attach();  // SEC("ksyscall/getpid")
  } catch (const ebpf::error& e) {
    GTEST_SKIP() << kprobe_unavailable(e, "kprobe '" + function + "+0x0'");
  }
  call_getpid(3);
  EXPECT_EQ(hits(object)[slot_ksyscall], 3u);
  link = ebpf::link();
  call_getpid(3);
  EXPECT_EQ(hits(object)[slot_ksyscall], 3u);
}

TEST_F(AttachTracingTest, KprobeByAddressIsMappedToSymbolAndOffset) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_kprobe"}), "");
  const std::string function = getpid_function();
  auto entries = kallsyms().functions_named(function);
  if (entries.empty() || !kallsyms().has_addresses()) GTEST_SKIP() << "kallsyms shows no address for " << function;
  ebpf::link link;
  try {
    link = object.program("on_kprobe").attach_kprobe({.address = entries.front()->address});
  } catch (const ebpf::error& e) {
    GTEST_SKIP() << kprobe_unavailable(e, "kprobe '" + function + "+0x0'");
  }
  call_getpid(3);
  EXPECT_EQ(hits(object)[slot_kprobe], 3u);
}

TEST_F(AttachTracingTest, KprobeFindsACompilerClone) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_kprobe"}), "");
  // A function the compiler only left as a clone ("foo.isra.0" and no "foo") on this kernel.
  std::string base, clone;
  for (const auto& entry : kallsyms().entries()) {
    auto dot = entry.name.find(".isra.");
    if (!entry.is_function() || dot == std::string::npos || entry.name.rfind("__pfx_", 0) == 0) continue;
    auto r = kallsyms().resolve_function(entry.name.substr(0, dot));
    if (r.status == ebpf::detail::resolution_status::clone) {
      base = entry.name.substr(0, dot);
      clone = r.name;
      break;
    }
  }
  if (base.empty()) GTEST_SKIP() << "this kernel has no function that exists only as an .isra clone";
  try {
    auto link = object.program("on_kprobe").attach_kprobe({.symbol = base});
    EXPECT_TRUE(link.is_kernel_link() || link.kind() == "perf event (ioctl)") << link.kind();
  } catch (const ebpf::error& e) {
    // Either kprobes are unavailable or this clone is on the kprobe blacklist: the message names
    // the clone the name was resolved to, never the name the kernel does not know.
    EXPECT_TRUE(contains(e.what(), "kprobe '" + clone + "+0x0'")) << e.what();
    if (has_errno(e, ENOENT)) GTEST_SKIP() << "kprobes cannot attach on this kernel: " << e.what();
  }
}

TEST_F(AttachTracingTest, KprobeErrorsNameTheSymbol) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_kprobe"}), "");
  const auto& program = object.program("on_kprobe");
  try {
    (void)program.attach_kprobe({.symbol = "ebpfpp_no_such_function"});
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_TRUE(contains(e.what(), "program 'on_kprobe': kprobe 'ebpfpp_no_such_function': no function")) << e.what();
  }
  try {
    (void)program.attach_kprobe({.symbol = "ebpfpp_no_such_call", .syscall = true});
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_TRUE(contains(e.what(), "no syscall 'ebpfpp_no_such_call'")) << e.what();
  }
  EXPECT_THROW((void)program.attach_kprobe({.symbol = "do_nanosleep", .offset = 4, .retprobe = true}), ebpf::error);
  EXPECT_THROW((void)program.attach_kprobe({}), ebpf::error);
}

TEST_F(AttachTracingTest, KprobeMultiWithCookies) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_kprobe_multi"}), "");
  const std::string function = getpid_function();
  ebpf::link link;
  try {
    link = object.program("on_kprobe_multi").attach_kprobe_multi({.symbols = {function}, .cookies = {77}});
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(contains(e.what(), "kprobe_multi 1 symbols")) << e.what();
    if (has_errno(e, EOPNOTSUPP)) {
      EXPECT_TRUE(contains(e.what(), "fprobe")) << e.what();
      GTEST_SKIP() << "kprobe_multi is not supported by this kernel: " << e.what();
    }
    throw;
  }
  EXPECT_EQ(link.info().type, ebpf::link_type::kprobe_multi);
  call_getpid(5);
  EXPECT_EQ(hits(object)[slot_kprobe_multi], 5u);
  EXPECT_EQ(cookies(object)[slot_kprobe_multi], 77u);
  link = ebpf::link();
  call_getpid(2);
  EXPECT_EQ(hits(object)[slot_kprobe_multi], 5u);
}

TEST_F(AttachTracingTest, KprobeMultiPattern) {
  auto object = open();
  ASSERT_EQ(load(object, {"on_kprobe_multi"}), "");
  const auto& program = object.program("on_kprobe_multi");
  try {
    (void)program.attach_kprobe_multi({.pattern = "ebpfpp_nothing_matches_*"});
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_TRUE(contains(e.what(), "matches no kernel function")) << e.what();
  }
  EXPECT_THROW((void)program.attach_kprobe_multi({.pattern = "x*", .cookies = {1}}), ebpf::error);
  const std::string function = getpid_function();
  std::string pattern = function.substr(0, function.size() - 1) + "?";  // "__x64_sys_getpi?"
  ebpf::link link;
  try {
    link = program.attach_kprobe_multi({.pattern = pattern});
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(contains(e.what(), "'" + pattern + "'")) << e.what();
    if (has_errno(e, EOPNOTSUPP)) GTEST_SKIP() << "kprobe_multi is not supported by this kernel: " << e.what();
    throw;
  }
  call_getpid(3);
  EXPECT_EQ(hits(object)[slot_kprobe_multi], 3u);
}

TEST_F(AttachTracingTest, KprobeSessionSeesEntryAndReturn) {
  auto object = open();
  if (auto reason = load(object, {"on_session"}); !reason.empty())
    GTEST_SKIP() << "kprobe.session needs 6.10; " << reason;
  ebpf::link link;
  try {
    link = object.program("on_session").attach_kprobe_multi({.symbols = {getpid_function()}});
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(contains(e.what(), "kprobe_session")) << e.what();
    if (has_errno(e, EOPNOTSUPP)) GTEST_SKIP() << "kprobe_multi is not supported by this kernel: " << e.what();
    // BPF_TRACE_KPROBE_SESSION is 6.10 (kernel commit 535a3692ba72); older kernels load the
    // program (a kprobe program's expected attach type is not checked at load) but refuse the
    // attach type in link_create.
    if (has_errno(e, EINVAL) && kernel_older_than(6, 10)) {
      EXPECT_TRUE(contains(e.what(), "kprobe.session links need kernel 6.10")) << e.what();
      GTEST_SKIP() << "kprobe.session needs kernel 6.10: " << e.what();
    }
    throw;
  }
  call_getpid(3);
  EXPECT_EQ(hits(object)[slot_session_entry], 3u);
  EXPECT_EQ(hits(object)[slot_session_return], 3u);
  link = ebpf::link();
  call_getpid(1);
  EXPECT_EQ(hits(object)[slot_session_entry], 3u);
}

// ---------------------------------------------------------------------------------------------
// Trampolines: fentry, fexit, fmod_ret, lsm, lsm_cgroup, freplace.

TEST_F(AttachTracingTest, FentryAndFexitOnBpfFentryTest1) {
  auto object = open();
  if (auto reason = load(object, {"on_fentry", "on_fexit"}); !reason.empty()) GTEST_SKIP() << reason;
  const auto& fentry = object.program("on_fentry");
  {
    ebpf::link entry;
    try {
      entry = fentry.attach_trace({.cookie = 5});
    } catch (const ebpf::error& e) {
      if (e.code() == ebpf::errc::unsupported) GTEST_SKIP() << e.what();  // 5.10 - 5.18
      throw;
    }
    EXPECT_EQ(entry.info().type, ebpf::link_type::tracing);
    auto exit = object.program("on_fexit").attach();
    // BPF_PROG_TEST_RUN of a tracing program calls bpf_fentry_test1(1) (net/bpf/test_run.c).
    fentry.test_run();
    EXPECT_EQ(hits(object)[slot_fentry], 1u);
    EXPECT_EQ(hits(object)[slot_fexit], 1u);
    EXPECT_EQ(cookies(object)[slot_fentry], 5u);
    EXPECT_EQ(object.global<std::uint64_t>("fexit_ret"), 2u) << "fexit sees bpf_fentry_test1's return value";
  }
  fentry.test_run();
  EXPECT_EQ(hits(object)[slot_fentry], 1u);
  EXPECT_EQ(hits(object)[slot_fexit], 1u);
}

TEST_F(AttachTracingTest, FmodRetChangesTheReturnValue) {
  auto object = open();
  if (auto reason = load(object, {"on_fmod_ret"}); !reason.empty()) GTEST_SKIP() << reason;
  const auto& program = object.program("on_fmod_ret");
  // net/bpf/test_run.c: retval = side_effect << 16 | ret, where bpf_modify_return_test(1, &b)
  // returns 4 and increments b (a side effect) unless an fmod_ret program overrides it.
  std::uint32_t before = program.test_run().retval;
  {
    auto link = program.attach();
    std::uint32_t during = program.test_run().retval;
    EXPECT_EQ(hits(object)[slot_fmod_ret], 1u);
    EXPECT_EQ((during & 0xffff) - (before & 0xffff), 1234u - 4u) << std::hex << before << " " << during;
    EXPECT_EQ((before >> 16) - (during >> 16), 1u) << "the function body (its side effect) was skipped";
  }
  EXPECT_EQ(program.test_run().retval, before);
}

TEST_F(AttachTracingTest, LsmDeniesUdpSockets) {
  auto object = open();
  if (auto reason = load(object, {"on_lsm"}); !reason.empty()) GTEST_SKIP() << reason;
  {
    auto link = object.program("on_lsm").attach();
    int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
    int saved = errno;
    EXPECT_EQ(udp, -1);
    EXPECT_EQ(saved, EPERM);
    if (udp >= 0) ::close(udp);
    int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(tcp, 0) << "only UDP is refused";
    if (tcp >= 0) ::close(tcp);
    EXPECT_EQ(hits(object)[slot_lsm], 1u);
  }
  int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  EXPECT_GE(udp, 0) << "allowed again once the link is gone";
  if (udp >= 0) ::close(udp);
}

TEST_F(AttachTracingTest, LsmCgroupDeniesBindInItsCgroupOnly) {
  auto object = open();
  if (auto reason = load(object, {"on_lsm_cgroup"}); !reason.empty()) GTEST_SKIP() << reason;
  const auto& cgroup = make_cgroup();
  // In a child moved into the cgroup: 0 when bind() gave `expected_errno` (0 for success).
  auto bind_in_cgroup = [&](int expected_errno) {
    pid_t pid = fork_child([&] {
      std::ofstream(cgroup.path + "/cgroup.procs") << ::getpid() << std::flush;
      int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      if (fd < 0) return 2;
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
      int saved = rc == 0 ? 0 : errno;
      ::close(fd);
      return saved == expected_errno ? 0 : 1;
    });
    return wait_child(pid);
  };
  {
    auto link = object.program("on_lsm_cgroup").attach_lsm_cgroup(cgroup.fd.get());
    EXPECT_EQ(link.info().type, ebpf::link_type::cgroup);
    EXPECT_EQ(bind_in_cgroup(EPERM), 0) << "bind refused inside the cgroup";
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << "allowed outside it";
    ::close(fd);
  }
  EXPECT_EQ(bind_in_cgroup(0), 0) << "allowed once the link is gone";
}

TEST_F(AttachTracingTest, FreplaceReplacesAGlobalFunctionOfAnXdpProgram) {
  auto target = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/freplace_target.bpf.o");
  target.load();
  const auto& xdp = target.program("xdp_entry");
  std::vector<std::byte> packet(64);
  EXPECT_EQ(xdp.test_run({.data = packet}).retval, 2u) << "XDP_PASS from the original decide()";

  // Without a target program the loader says what to set.
  {
    auto object = open();
    ebpf::load_options options;
    options.only = {"new_decide"};
    try {
      object.load(options);
      ADD_FAILURE();
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
      EXPECT_TRUE(contains(e.what(), "program_targets")) << e.what();
    }
  }
  // A function the target does not have is found missing before the kernel is asked.
  {
    auto object = open();
    ebpf::load_options options;
    options.only = {"new_decide"};
    options.program_targets["new_decide"] = {xdp.fd(), "no_such_function"};
    try {
      object.load(options);
      ADD_FAILURE();
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::not_found);
      EXPECT_TRUE(contains(e.what(), "no function 'no_such_function'")) << e.what();
    }
  }

  auto object = open();
  ebpf::load_options options;
  options.program_targets["new_decide"] = {xdp.fd(), {}};
  if (auto reason = load(object, {"new_decide"}, options); !reason.empty()) GTEST_SKIP() << reason;
  {
    auto link = object.program("new_decide").attach_freplace(xdp, "decide");
    EXPECT_EQ(link.info().type, ebpf::link_type::tracing);
    EXPECT_EQ(xdp.test_run({.data = packet}).retval, 1u) << "XDP_DROP from new_decide()";
  }
  EXPECT_EQ(xdp.test_run({.data = packet}).retval, 2u) << "the original again";
}

}  // namespace
