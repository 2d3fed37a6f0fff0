// Uprobes, uretprobes, uprobe_multi, uprobe sessions, sleepable uprobes and USDT, on functions
// and probes of this test executable (reached as /proc/self/exe, which the kernel resolves in the
// attaching process too). Each test triggers the probe for real, checks what the program saw,
// destroys the link and checks that the probe is gone.
#include <ebpf/ebpf.hpp>
#include <ebpf/features.hpp>
#include <ebpf/program.hpp>
#include <ebpf/uprobe.hpp>

#include "attach/probe_attachment.hpp"
#include "fixture.hpp"
#include "sys/probe_event.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <unistd.h>

#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

// Probed functions: external, never inlined or cloned (GCC's IPA would otherwise call a
// ".constprop" copy whose address the symbol does not name).
#if defined(__clang__)
#define PROBED __attribute__((noinline, used))
#else
#define PROBED __attribute__((noipa, used))
#endif

extern "C" {
// <sys/sdt.h> semaphores: non-zero while a uprobe with this ref_ctr_offset is attached.
__extension__ unsigned short ebpfpp_test_three_semaphore __attribute__((section(".probes"), used));

PROBED int uprobe_test_add(int a, int b) {
  asm volatile("" ::: "memory");
  return a + b;
}
PROBED int uprobe_test_one(int x) { asm volatile("" ::: "memory"); return x + 1; }
PROBED int uprobe_test_two(int x) { asm volatile("" ::: "memory"); return x + 2; }
PROBED int uprobe_test_three(int x) { asm volatile("" ::: "memory"); return x + 3; }
PROBED void uprobe_test_text(const char* text) { asm volatile("" : : "r"(text) : "memory"); }
PROBED void uprobe_test_section_target() { asm volatile("" ::: "memory"); }

// One USDT probe, two sites with different argument locations.
PROBED void uprobe_test_usdt(int a, long b) {
  short c = -5;
  DTRACE_PROBE3(ebpfpp_test, three, a, b, c);
}
struct uprobe_test_pair {
  long x;
  int y;
};
PROBED void uprobe_test_usdt_memory(const uprobe_test_pair* pair) {
  DTRACE_PROBE3(ebpfpp_test, three, pair->x, pair->y, (unsigned char)200);
}
}

namespace {

constexpr const char* self = "/proc/self/exe";

bool has_errno(const ebpf::error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

class UprobeTest : public ebpf_test::kernel_test {
 protected:
  ebpf::object open_object() {
    return ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/uprobe.bpf.o");
  }
  // Loads only `program` (every uprobe program of the object is a kprobe type; loading one at a
  // time keeps a kernel that refuses one kind from failing the others).
  ebpf::object load_only(const std::string& program) {
    auto object = open_object();
    ebpf::load_options options;
    options.only = {program};
    object.load(options);
    return object;
  }
  template <class T>
  static T global(ebpf::object& object, std::string_view name) {
    return object.global<T>(name);
  }
};

TEST_F(UprobeTest, UprobeCountsCallsWithCookieAndArguments) {
  auto object = load_only("on_entry");
  {
    ebpf::link link = object.program("on_entry").attach_uprobe(
        {.binary = self, .function = "uprobe_test_add", .cookie = 0xc00c1e});
    EXPECT_EQ(link.kind(), "perf_event bpf_link");
    for (int i = 0; i < 5; ++i) EXPECT_EQ(uprobe_test_add(3, 4), 7);
    EXPECT_EQ(global<std::uint64_t>(object, "entry_hits"), 5u);
    EXPECT_EQ(global<std::uint64_t>(object, "entry_cookie"), 0xc00c1eu);
    auto args = global<std::array<std::uint64_t, 2>>(object, "entry_args");
    EXPECT_EQ(args[0], 3u);
    EXPECT_EQ(args[1], 4u);
    EXPECT_EQ(link.info().type, ebpf::link_type::perf_event);
  }
  uprobe_test_add(1, 1);
  EXPECT_EQ(global<std::uint64_t>(object, "entry_hits"), 5u) << "detached with the link";
}

TEST_F(UprobeTest, UretprobeSeesTheReturnValue) {
  auto object = load_only("on_return");
  {
    auto link = object.program("on_return").attach_uprobe(
        {.binary = self, .function = "uprobe_test_add", .retprobe = true});
    EXPECT_EQ(uprobe_test_add(20, 22), 42);
    EXPECT_EQ(uprobe_test_add(-50, 8), -42);
    EXPECT_EQ(global<std::uint64_t>(object, "return_hits"), 2u);
    EXPECT_EQ(global<std::int64_t>(object, "return_value") & 0xffffffff,
              static_cast<std::uint32_t>(-42));
  }
  uprobe_test_add(1, 1);
  EXPECT_EQ(global<std::uint64_t>(object, "return_hits"), 2u);
}

TEST_F(UprobeTest, FileOffsetAndSymbolGiveTheSameProbe) {
  std::uint64_t offset = ebpf::resolve_function_offset(self, "uprobe_test_add");
  EXPECT_GT(offset, 0u);
  auto object = load_only("on_entry");
  {
    auto link = object.program("on_entry").attach_uprobe({.binary = self, .offset = offset});
    uprobe_test_add(1, 2);
    EXPECT_EQ(global<std::uint64_t>(object, "entry_hits"), 1u);
  }
}

TEST_F(UprobeTest, PidFilterIgnoresOtherProcesses) {
  auto object = load_only("on_entry");
  auto child_calls = [](int n) {
    pid_t child = fork_child([n] {
      for (int i = 0; i < n; ++i) uprobe_test_add(i, i);
      return 0;
    });
    return wait_child(child);
  };
  {
    auto mine = object.program("on_entry").attach_uprobe(
        {.binary = self, .function = "uprobe_test_add", .pid = static_cast<int>(::getpid())});
    uprobe_test_add(1, 1);
    uprobe_test_add(1, 1);
    ASSERT_EQ(child_calls(3), 0);
    EXPECT_EQ(global<std::uint64_t>(object, "entry_hits"), 2u) << "the child's calls are filtered";
  }
  {
    auto everyone = object.program("on_entry").attach_uprobe(
        {.binary = self, .function = "uprobe_test_add"});
    ASSERT_EQ(child_calls(3), 0);
    EXPECT_EQ(global<std::uint64_t>(object, "entry_hits"), 5u) << "without a pid, the child counts";
  }
}

TEST_F(UprobeTest, TracefsUprobeEventWorksAndIsRemoved) {
  // The fallback for kernels without the uprobe PMU, exercised here on purpose.
  auto object = load_only("on_entry");
  ebpf::sys::probe_event_options options;
  options.kind = ebpf::sys::probe_kind::uprobe;
  options.target = ebpf::resolve_binary_path(self);
  options.offset = ebpf::resolve_function_offset(self, "uprobe_test_add");
  std::string event_name;
  {
    auto event = ebpf::sys::open_probe_event_tracefs(options, "test");
    ASSERT_FALSE(event.tracefs_event.empty());
    event_name = event.tracefs_event;
    ebpf::link link(ebpf::detail::attach_probe_event(std::move(event), options.kind,
                                                     object.program("on_entry").fd(), 9, "test"));
    uprobe_test_add(2, 3);
    EXPECT_EQ(global<std::uint64_t>(object, "entry_hits"), 1u);
    EXPECT_EQ(global<std::uint64_t>(object, "entry_cookie"), 9u);
    std::string events = ebpf::sys::tracefs_path() + "/uprobe_events";
    std::ifstream in(events);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(all.find(event_name), std::string::npos) << all;
  }
  uprobe_test_add(2, 3);
  EXPECT_EQ(global<std::uint64_t>(object, "entry_hits"), 1u);
  std::ifstream in(ebpf::sys::tracefs_path() + "/uprobe_events");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.find(event_name), std::string::npos) << "the tracefs event is removed: " << all;
}

TEST_F(UprobeTest, UprobeMultiWithCookiesAndGlobs) {
  auto object = load_only("on_multi");
  auto hits = [&] { return global<std::array<std::uint64_t, 4>>(object, "multi_hits"); };
  // Patterns are expanded over the binary's symbols before the kernel is asked.
  try {
    object.program("on_multi").attach_uprobe_multi({.binary = self, .symbols = {"uprobe_test_nothing*"}});
    FAIL() << "a pattern that matches nothing is an error";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::unknown_symbol) << e.what();
    EXPECT_NE(std::string(e.what()).find("uprobe_test_nothing*"), std::string::npos) << e.what();
  }
  {
    ebpf::link link;
    try {
      link = object.program("on_multi").attach_uprobe_multi(
          {.binary = self,
           .symbols = {"uprobe_test_one", "uprobe_test_two", "uprobe_test_three"},
           .cookies = {1, 2, 3}});
    } catch (const ebpf::error& e) {
      // uprobe_multi links are 6.6 (kernel commit 89ae89f53d20); before, link_create refuses
      // the attach type with EINVAL, which the library explains.
      if (has_errno(e, EINVAL) && !ebpf::probe_feature(ebpf::kernel_feature::uprobe_multi_link)) {
        EXPECT_NE(std::string(e.what()).find("uprobe_multi links need kernel 6.6"), std::string::npos) << e.what();
        GTEST_SKIP() << "this kernel has no uprobe_multi links: " << e.what();
      }
      throw;
    }
    EXPECT_EQ(link.kind(), "uprobe_multi bpf_link");
    EXPECT_EQ(link.info().type, ebpf::link_type::uprobe_multi);
    uprobe_test_one(0);
    uprobe_test_two(0);
    uprobe_test_two(0);
    for (int i = 0; i < 3; ++i) uprobe_test_three(0);
    EXPECT_EQ(hits(), (std::array<std::uint64_t, 4>{0, 1, 2, 3}));
  }
  uprobe_test_one(0);
  EXPECT_EQ(hits()[1], 1u) << "detached";
  // Globs, without cookies: every hit counts in slot 0.
  {
    auto link = object.program("on_multi").attach_uprobe_multi(
        {.binary = self, .symbols = {"uprobe_test_t?o", "uprobe_test_th*"}});
    uprobe_test_two(0);
    uprobe_test_three(0);
    uprobe_test_one(0);
    EXPECT_EQ(hits()[0], 2u);
  }
}

TEST_F(UprobeTest, UprobeSessionRunsAtEntryAndReturn) {
  auto object = open_object();
  ebpf::load_options options;
  options.only = {"on_session"};
  try {
    object.load(options);
  } catch (const ebpf::error& e) {
    GTEST_SKIP() << "uprobe.session needs kernel 6.13: " << e.what();
  }
  {
    auto link = object.program("on_session").attach_uprobe_multi(
        {.binary = self, .symbols = {"uprobe_test_add"}});
    for (int i = 0; i < 3; ++i) uprobe_test_add(i, 1);
    EXPECT_EQ(global<std::uint64_t>(object, "session_entries"), 3u);
    EXPECT_EQ(global<std::uint64_t>(object, "session_returns"), 3u);
  }
  uprobe_test_add(0, 0);
  EXPECT_EQ(global<std::uint64_t>(object, "session_entries"), 3u);
}

TEST_F(UprobeTest, SleepableUprobeCopiesFromUser) {
  auto object = load_only("on_sleepable");
  {
    auto link = object.program("on_sleepable").attach_uprobe(
        {.binary = self, .function = "uprobe_test_text"});
    static const char text[32] = "hello from user space";
    uprobe_test_text(text);
    EXPECT_EQ(global<std::uint64_t>(object, "sleepable_hits"), 1u);
    auto copied = global<std::array<char, 32>>(object, "sleepable_text");
    EXPECT_STREQ(copied.data(), text);
  }
}

TEST_F(UprobeTest, AttachFromTheSectionName) {
  auto object = load_only("on_section");
  {
    auto link = object.program("on_section").attach();
    uprobe_test_section_target();
    uprobe_test_section_target();
    EXPECT_EQ(global<std::uint64_t>(object, "section_hits"), 2u);
  }
  uprobe_test_section_target();
  EXPECT_EQ(global<std::uint64_t>(object, "section_hits"), 2u);
}

TEST_F(UprobeTest, LibrariesAreFoundByName) {
  std::string libc = ebpf::resolve_binary_path("libc.so.6");
  EXPECT_EQ(libc.substr(libc.rfind('/')), "/libc.so.6") << libc;
  EXPECT_EQ(::access(libc.c_str(), R_OK), 0) << libc;
  // Through our own mappings: the library this process really uses.
  std::string mapped = ebpf::resolve_binary_path("libc", static_cast<int>(::getpid()));
  EXPECT_NE(mapped.find("libc"), std::string::npos) << mapped;
  std::uint64_t plain = ebpf::resolve_function_offset("libc.so.6", "malloc");
  EXPECT_EQ(ebpf::resolve_function_offset("libc.so.6", "malloc@@GLIBC_2.2.5"), plain);
  EXPECT_EQ(ebpf::resolve_function_offset(mapped, "malloc"), plain);
}

TEST_F(UprobeTest, ErrorsNameTheTarget) {
  auto object = load_only("on_entry");
  try {
    object.program("on_entry").attach_uprobe({.binary = self, .function = "no_such_function_here"});
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::unknown_symbol);
    std::string what = e.what();
    EXPECT_NE(what.find("program 'on_entry': uprobe '/proc/self/exe:no_such_function_here'"),
              std::string::npos) << what;
  }
  try {
    object.program("on_entry").attach_uprobe({.binary = "libnot-a-real-library.so.9", .function = "f"});
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found) << e.what();
  }
  try {
    object.program("on_entry").attach_usdt({.binary = self, .provider = "ebpfpp_test", .name = "three"});
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_NE(std::string(e.what()).find("ebpfpp_usdt"), std::string::npos) << e.what();
  }
}

// ---- USDT ------------------------------------------------------------------------------------

class UsdtTest : public UprobeTest {
 protected:
  static std::size_t count_keys(const ebpf::map& map) {
    std::size_t n = 0;
    for (const auto& key : map.keys()) {
      (void)key;
      ++n;
    }
    return n;
  }
  static bool kernel_has_uprobe_multi() {
    return ebpf::probe_feature(ebpf::kernel_feature::uprobe_multi_link).supported();
  }
  ebpf::link attach(ebpf::object& object, const std::string& program, ebpf::usdt_attach_mode mode) {
    return object.program(program).attach_usdt(
        {.binary = self, .provider = "ebpfpp_test", .name = "three", .cookie = 0xfeed, .mode = mode});
  }
  // Attaches `program` in `mode`, expects a link of `kind`, fires both sites and checks what
  // the program decoded; then detaches and checks the specs and the semaphore are gone.
  void check_usdt(ebpf::object& object, const std::string& program, ebpf::usdt_attach_mode mode,
                  std::string_view kind) {
    auto probes = ebpf::list_usdt_probes(self, "ebpfpp_test", "three");
    ASSERT_EQ(probes.size(), 2u) << "one probe, two sites";
    EXPECT_NE(probes[0].semaphore_offset, 0u);
    EXPECT_EQ(ebpfpp_test_three_semaphore, 0);
    {
      auto link = attach(object, program, mode);
      EXPECT_EQ(link.kind(), kind);
      EXPECT_GT(ebpfpp_test_three_semaphore, 0) << "the kernel sets the semaphore while attached";
      EXPECT_EQ(count_keys(object.map("ebpfpp_usdt")), 2u) << "one spec per site";

      uprobe_test_usdt(-42, 1234567890123L);
      EXPECT_EQ(global<std::uint64_t>(object, "usdt_hits"), 1u);
      EXPECT_EQ(global<std::int32_t>(object, "usdt_arg_count"), 3);
      EXPECT_EQ(global<std::uint64_t>(object, "usdt_cookie"), 0xfeedu);
      auto args = global<std::array<long, 12>>(object, "usdt_args");
      EXPECT_EQ(args[0], -42);
      EXPECT_EQ(args[1], 1234567890123L);
      EXPECT_EQ(args[2], -5);
      EXPECT_EQ(global<std::int32_t>(object, "usdt_missing_arg"), -2);

      uprobe_test_pair pair{-77, 99};
      uprobe_test_usdt_memory(&pair);
      EXPECT_EQ(global<std::uint64_t>(object, "usdt_hits"), 2u);
      args = global<std::array<long, 12>>(object, "usdt_args");
      EXPECT_EQ(args[0], -77);
      EXPECT_EQ(args[1], 99);
      EXPECT_EQ(args[2], 200) << "unsigned char: zero-extended";
      EXPECT_EQ(global<std::int32_t>(object, "usdt_errors"), 0);
    }
    EXPECT_EQ(ebpfpp_test_three_semaphore, 0) << "released with the link";
    EXPECT_EQ(count_keys(object.map("ebpfpp_usdt")), 0u) << "specs deleted with the link";
    uprobe_test_usdt(1, 2);
    EXPECT_EQ(global<std::uint64_t>(object, "usdt_hits"), 2u) << "detached";
  }
};

TEST_F(UsdtTest, ArgumentsDecodedThroughOneUprobePerSite) {
  auto object = load_only("on_usdt_uprobe");
  check_usdt(object, "on_usdt_uprobe", ebpf::usdt_attach_mode::uprobe_per_site, "usdt (uprobe per site)");
}

TEST_F(UsdtTest, ArgumentsDecodedThroughUprobeMulti) {
  auto object = load_only("on_usdt_multi");
  if (!kernel_has_uprobe_multi()) {
    // Asked for explicitly, uprobe_multi fails on a kernel before 6.6, saying so, and leaves
    // nothing behind.
    try {
      (void)attach(object, "on_usdt_multi", ebpf::usdt_attach_mode::uprobe_multi);
      FAIL() << "this kernel has no uprobe_multi links, yet the attach worked";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, EINVAL)) << e.what();
      EXPECT_NE(std::string(e.what()).find("uprobe_multi links need kernel 6.6"), std::string::npos) << e.what();
      EXPECT_EQ(count_keys(object.map("ebpfpp_usdt")), 0u) << "the specs stored before are deleted";
      EXPECT_EQ(ebpfpp_test_three_semaphore, 0);
      GTEST_SKIP() << "this kernel has no uprobe_multi links (6.6): " << e.what();
    }
  }
  check_usdt(object, "on_usdt_multi", ebpf::usdt_attach_mode::uprobe_multi, "uprobe_multi bpf_link");
}

// SEC("usdt") in the automatic mode works on every kernel: one uprobe_multi link where the kernel
// has them (the loader loads the program for it), one uprobe per site before 6.6.
TEST_F(UsdtTest, SectionUsdtUsesTheLinkTheKernelHas) {
  auto object = load_only("on_usdt");
  bool multi = kernel_has_uprobe_multi();
  EXPECT_EQ(object.program("on_usdt").expected_attach_type(),
            multi ? std::optional(ebpf::attach_type::trace_uprobe_multi) : std::nullopt);
  check_usdt(object, "on_usdt", ebpf::usdt_attach_mode::automatic,
             multi ? "uprobe_multi bpf_link" : "usdt (uprobe per site)");
}

// A program loaded for uprobe_multi runs with that link's context: a kernel with uprobe_multi
// links refuses it anything else (kernel/bpf/syscall.c bpf_prog_attach_check_attach_type), and
// the library says so before it attaches anything. An older kernel takes it as a plain uprobe
// program, one uprobe per site.
TEST_F(UsdtTest, OneUprobePerSiteForAProgramLoadedForUprobeMulti) {
  auto object = load_only("on_usdt_multi");
  if (!kernel_has_uprobe_multi()) {
    check_usdt(object, "on_usdt_multi", ebpf::usdt_attach_mode::uprobe_per_site, "usdt (uprobe per site)");
    return;
  }
  try {
    (void)attach(object, "on_usdt_multi", ebpf::usdt_attach_mode::uprobe_per_site);
    FAIL() << "the kernel attaches a uprobe_multi program only through a uprobe_multi link";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument) << e.what();
    EXPECT_NE(std::string(e.what()).find("loaded for uprobe_multi"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_keys(object.map("ebpfpp_usdt")), 0u);
  EXPECT_EQ(ebpfpp_test_three_semaphore, 0);
}

}  // namespace
