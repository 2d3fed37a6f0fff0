// Introspection and lifecycle against the running kernel: enumeration of programs, maps, links and
// BTF (ebpf::inspect), link info per link type, run statistics, pinned links that outlive their
// process, the pinned-map compatibility check, and the feature probes (ebpf/features.hpp), with
// bpftool as the oracle where its answers are trustworthy.
#include <ebpf/error.hpp>
#include <ebpf/features.hpp>
#include <ebpf/map.hpp>
#include <ebpf/object.hpp>
#include <ebpf/program.hpp>
#include <ebpf/inspect.hpp>
#include <ebpf/uprobe.hpp>

#include "fixture.hpp"
#include "sys/bpf.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using ebpf::support;
namespace insn = ebpf_test::insn;

std::string bpf_object(const char* name) { return std::string(EBPFPP_TEST_BPF_DIR) + "/" + name; }

std::string bpftool_path() {
  for (const char* path : {"/usr/sbin/bpftool", "/usr/bin/bpftool"})
    if (::access(path, X_OK) == 0) return path;
  return "";
}

// Kernel major.minor as a number (6.18 -> 618).
int kernel_version() {
  struct utsname name;
  ::uname(&name);
  int major = 0, minor = 0;
  std::sscanf(name.release, "%d.%d", &major, &minor);
  return major * 100 + minor;
}

// perf_event links describe their perf event in BPF_OBJ_GET_INFO_BY_FD from 6.6 (1b715e1b0ec5
// "bpf: Support ->fill_link_info for perf_event", applied after 6.5-rc1): before, the kernel has no
// fill_link_info for them and reports only type, id and prog_id, so ebpf::link_info keeps
// perf_event kind unspec and no target.
constexpr int perf_link_details_since = 606;
constexpr const char* no_perf_link_details =
    "perf_event link details (perf event kind, target, offset, cookie) need kernel 6.6 "
    "(1b715e1b0ec5 \"bpf: Support ->fill_link_info for perf_event\")";
// The cookie joined those details in 6.9 (d5c16492c66f "bpf: Add cookie to perf_event
// bpf_link_info records"; stable 6.6.y kernels may have it too).
constexpr int perf_link_cookie_since = 609;

// What a kernel without perf_event link details reports: the link and its program, nothing more.
void expect_no_perf_link_details(const ebpf::link_info& info, std::uint32_t prog_id) {
  EXPECT_EQ(info.type, ebpf::link_type::perf_event);
  EXPECT_GT(info.id, 0u);
  EXPECT_EQ(info.prog_id, prog_id);
  EXPECT_EQ(info.perf_event, ebpf::perf_event_kind::unspec);
  EXPECT_EQ(info.target_name, "");
  EXPECT_EQ(info.cookie, 0u);
}

void trigger_syscalls(int count) {
  for (int i = 0; i < count; ++i) ::syscall(SYS_getpid);
}

class IntrospectionTest : public ebpf_test::kernel_test {
 protected:
  // An array map with one u64 and a program of `type` that adds 1 to it.
  ebpf::map counter_map() {
    ebpf::map_create_spec spec;
    spec.name = "intro_count";
    spec.type = ebpf::map_type::array;
    spec.key_size = 4;
    spec.value_size = 8;
    spec.max_entries = 1;
    return ebpf::map::create(spec);
  }

  static std::uint64_t count_of(const ebpf::map& map) {
    std::uint32_t key = 0;
    std::uint64_t value = 0;
    map.lookup(std::as_bytes(std::span(&key, 1)), std::as_writable_bytes(std::span(&value, 1)));
    return value;
  }

  static ebpf::program counting_program(const ebpf::map& map, ebpf::program_type type, const char* name, std::int32_t ret = 0) {
    std::vector<ebpf::instruction> code = insn::count_into(map.fd());
    code.push_back(insn::mov64_imm(insn::r0, ret));
    code.push_back(insn::exit());
    ebpf::program_load_spec spec;
    spec.name = name;
    spec.type = type;
    spec.instructions = code;
    return ebpf::program::load(spec);
  }
};

// ---------------------------------------------------------------------------------------------
// Enumeration.

TEST_F(IntrospectionTest, EnumerationListsWhatWeCreated) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::raw_tracepoint, "intro_enum");
  ebpf::link link = program.attach_raw_tracepoint("sys_enter");
  const auto program_id = program.id();
  const auto link_id = link.info().id;

  auto programs = ebpf::inspect::programs();
  auto found = std::find_if(programs.begin(), programs.end(), [&](const auto& p) { return p.id == program_id; });
  ASSERT_NE(found, programs.end());
  EXPECT_EQ(found->name, "intro_enum");
  EXPECT_EQ(found->type, ebpf::program_type::raw_tracepoint);
  EXPECT_EQ(found->map_ids, std::vector<std::uint32_t>{map.id()});
  EXPECT_TRUE(std::is_sorted(programs.begin(), programs.end(), [](const auto& a, const auto& b) { return a.id < b.id; }));

  auto maps = ebpf::inspect::maps();
  auto found_map = std::find_if(maps.begin(), maps.end(), [&](const auto& m) { return m.id == map.id(); });
  ASSERT_NE(found_map, maps.end());
  EXPECT_EQ(found_map->name, "intro_count");
  EXPECT_EQ(found_map->type, ebpf::map_type::array);
  EXPECT_EQ(found_map->value_size, 8u);

  auto links = ebpf::inspect::links();
  auto found_link = std::find_if(links.begin(), links.end(), [&](const auto& l) { return l.id == link_id; });
  ASSERT_NE(found_link, links.end());
  EXPECT_EQ(found_link->type, ebpf::link_type::raw_tracepoint);
  EXPECT_EQ(found_link->prog_id, program_id);
  EXPECT_EQ(found_link->tp_name, "sys_enter");

  ASSERT_TRUE(ebpf::inspect::program_by_id(program_id));
  EXPECT_EQ(ebpf::inspect::program_by_id(program_id)->name, "intro_enum");
  EXPECT_EQ(ebpf::inspect::map_by_id(map.id())->max_entries, 1u);
  EXPECT_EQ(ebpf::inspect::link_by_id(link_id)->tp_name, "sys_enter");
}

TEST_F(IntrospectionTest, BtfObjectsShowVmlinuxAndLoadedBtf) {
  // int, 4 bytes: the smallest BTF.
  const std::uint32_t types[] = {1, 1u << 24, 4, (1u << 24) | 32};
  std::vector<std::byte> blob(24 + sizeof types + 5);
  const std::uint32_t header[] = {0x0001eb9fu, 24, 0, sizeof types, sizeof types, 5};
  std::memcpy(blob.data(), header, sizeof header);
  std::memcpy(blob.data() + 24, types, sizeof types);
  std::memcpy(blob.data() + 24 + sizeof types, "\0int", 5);
  ebpf::unique_fd loaded = ebpf::sys::btf_load(blob, "test BTF");
  const auto loaded_id = ebpf::sys::btf_get_info(loaded.get(), "test BTF").id;

  auto objects = ebpf::inspect::btf_objects();
  auto vmlinux = std::find_if(objects.begin(), objects.end(), [](const auto& b) { return b.name == "vmlinux"; });
  ASSERT_NE(vmlinux, objects.end());
  EXPECT_TRUE(vmlinux->kernel);
  EXPECT_GT(vmlinux->size, 1000000u);
  struct stat st;
  ASSERT_EQ(::stat("/sys/kernel/btf/vmlinux", &st), 0);
  EXPECT_EQ(vmlinux->size, static_cast<std::uint32_t>(st.st_size)) << "the same bytes as sysfs";
  auto ours = std::find_if(objects.begin(), objects.end(), [&](const auto& b) { return b.id == loaded_id; });
  ASSERT_NE(ours, objects.end());
  EXPECT_FALSE(ours->kernel);
  EXPECT_EQ(ours->size, blob.size());
  EXPECT_EQ(ebpf::inspect::btf_by_id(loaded_id)->size, blob.size());
}

TEST_F(IntrospectionTest, ObjectsThatGoAwayAreSkippedNotErrors) {
  std::uint32_t id = 0;
  {
    ebpf::map map = counter_map();
    ebpf::program program = counting_program(map, ebpf::program_type::socket_filter, "intro_gone");
    id = program.id();
    EXPECT_TRUE(ebpf::inspect::program_by_id(id));
  }
  // Programs are freed after an RCU grace period: wait until the id is gone.
  bool gone = false;
  for (int attempt = 0; attempt < 200 && !gone; ++attempt) {
    gone = !ebpf::inspect::program_by_id(id);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "program " << id << " still opens 2 s after its last fd closed";
  for (const auto& program : ebpf::inspect::programs()) EXPECT_NE(program.id, id);
  EXPECT_FALSE(ebpf::inspect::link_by_id(0xfffffff0u));
  EXPECT_FALSE(ebpf::inspect::map_by_id(0xfffffff0u));
  EXPECT_FALSE(ebpf::inspect::btf_by_id(0xfffffff0u));
}

// ---------------------------------------------------------------------------------------------
// Link info per link type.

TEST_F(IntrospectionTest, PerfEventLinkInfoNamesTheTracepoint) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::tracepoint, "intro_tp");
  ebpf::link link = program.attach_tracepoint("syscalls", "sys_enter_getpid");
  ASSERT_TRUE(link.is_kernel_link()) << "perf_event links are 5.15; got " << link.kind();
  auto info = link.info();
  if (kernel_version() < perf_link_details_since) {
    expect_no_perf_link_details(info, program.id());
    GTEST_SKIP() << no_perf_link_details;
  }
  EXPECT_EQ(info.type, ebpf::link_type::perf_event);
  EXPECT_EQ(info.perf_event, ebpf::perf_event_kind::tracepoint);
  EXPECT_EQ(info.target_name, "sys_enter_getpid");
  EXPECT_EQ(info.prog_id, program.id());
  EXPECT_EQ(ebpf::to_string(info.perf_event), "tracepoint");
}

TEST_F(IntrospectionTest, PerfEventLinkInfoDescribesASoftwareEventAndItsCookie) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::perf_event, "intro_clock");
  ebpf::unique_fd event = ebpf::sys::perf_event_open_software(ebpf::sys::perf_count_sw_cpu_clock, 1000000, 0, -1, "cpu clock");
  ebpf::sys::link_create_options options;
  options.prog_fd = program.fd();
  options.target = static_cast<std::uint32_t>(event.get());
  options.type = ebpf::attach_type::perf_event;
  options.extra = ebpf::sys::link_perf_event{0x1234abcdull};
  ebpf::link link = ebpf::link::from_fd(ebpf::sys::link_create(options, "perf link"));
  auto info = link.info();
  if (kernel_version() < perf_link_details_since) {
    expect_no_perf_link_details(info, program.id());
    GTEST_SKIP() << no_perf_link_details;
  }
  EXPECT_EQ(info.type, ebpf::link_type::perf_event);
  EXPECT_EQ(info.perf_event, ebpf::perf_event_kind::event);
  // The perf_event_attr type as the kernel keeps it: PERF_TYPE_SOFTWARE (1), or, on kernels
  // where cpu-clock events moved to a PMU of their own (6.18 here reports 6, a PMU absent from
  // /sys/bus/event_source), that PMU's dynamic type.
  EXPECT_TRUE(info.event_type == ebpf::sys::perf_type_software || info.event_type >= 6) << info.event_type;
  EXPECT_EQ(info.config, ebpf::sys::perf_count_sw_cpu_clock);
  if (kernel_version() >= perf_link_cookie_since) {
    EXPECT_EQ(info.cookie, 0x1234abcdull);
  }
}

}  // namespace

// Probed by the uprobe link-info tests: a function of this executable, in its .symtab.
extern "C" __attribute__((noinline, used)) int ebpfpp_intro_probe_target(int x) {
  asm volatile("" ::: "memory");
  return x + 1;
}

namespace {

std::string self_path() {
  char path[4096] = {};
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string();
}

TEST_F(IntrospectionTest, UprobeLinkInfoNamesTheFileOffsetAndCookie) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::kprobe, "intro_uprobe");
  ebpf::uprobe_options options;
  options.binary = self_path();
  options.function = "ebpfpp_intro_probe_target";
  options.pid = ::getpid();
  options.cookie = 0x77;
  ebpf::link link = program.attach_uprobe(options);
  ASSERT_TRUE(link.is_kernel_link()) << link.kind();
  EXPECT_EQ(ebpfpp_intro_probe_target(1), 2);
  EXPECT_EQ(count_of(map), 1u) << "the uprobe fired";
  auto info = link.info();
  if (kernel_version() < perf_link_details_since) {
    expect_no_perf_link_details(info, program.id());
    GTEST_SKIP() << no_perf_link_details;
  }
  EXPECT_EQ(info.type, ebpf::link_type::perf_event);
  EXPECT_EQ(info.perf_event, ebpf::perf_event_kind::uprobe);
  EXPECT_EQ(info.target_name, self_path());
  EXPECT_GT(info.offset, 0u);
  if (kernel_version() >= perf_link_cookie_since) {
    EXPECT_EQ(info.cookie, 0x77u);
  }
}

TEST_F(IntrospectionTest, UprobeMultiLinkInfoListsOffsetsAndCookies) {
  ebpf::map map = counter_map();
  std::vector<ebpf::instruction> code = insn::count_into(map.fd());
  code.push_back(insn::mov64_imm(insn::r0, 0));
  code.push_back(insn::exit());
  ebpf::program_load_spec spec;
  spec.name = "intro_umulti";
  spec.type = ebpf::program_type::kprobe;
  spec.expected_attach_type = ebpf::attach_type::trace_uprobe_multi;
  spec.instructions = code;
  ebpf::program program = ebpf::program::load(spec);
  ebpf::uprobe_multi_options options;
  options.binary = self_path();
  options.symbols = {"ebpfpp_intro_probe_target"};
  options.cookies = {0x99};
  options.pid = ::getpid();
  if (!ebpf::probe_feature(ebpf::kernel_feature::uprobe_multi_link)) {
    // uprobe_multi links are 6.6 (89ae89f53d20 "bpf: Add multi uprobe link"); the probe must
    // agree with the version, and attaching must fail with the kernel's refusal of the link
    // type (EINVAL) or the library's own errc::unsupported.
    EXPECT_LT(kernel_version(), 606);
    try {
      ebpf::link refused = program.attach_uprobe_multi(options);
      ADD_FAILURE() << "attached a uprobe_multi where the probe said the kernel has none";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(e.code() == std::error_code(EINVAL, std::system_category()) ||
                  e.code() == std::error_code(EOPNOTSUPP, std::system_category()) || e.code() == ebpf::errc::unsupported)
          << e.what();
    }
    EXPECT_EQ(count_of(map), 0u);
    GTEST_SKIP() << "uprobe_multi links need kernel 6.6";
  }
  ebpf::link link = program.attach_uprobe_multi(options);
  EXPECT_EQ(ebpfpp_intro_probe_target(2), 3);
  EXPECT_EQ(count_of(map), 1u) << "the uprobe_multi fired";
  auto info = link.info();
  EXPECT_EQ(info.type, ebpf::link_type::uprobe_multi);
  EXPECT_EQ(info.target_name, self_path());
  EXPECT_EQ(info.count, 1u);
  EXPECT_EQ(info.pid, static_cast<std::uint32_t>(::getpid()));
  EXPECT_EQ(info.flags, 0u) << "not a return probe";
  ASSERT_EQ(info.addresses.size(), 1u);
  EXPECT_GT(info.addresses[0], 0u) << "the file offset";
  EXPECT_EQ(info.cookies, std::vector<std::uint64_t>{0x99});
}

TEST_F(IntrospectionTest, CgroupLinkInfoCarriesTheCgroupId) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::cgroup_skb, "intro_cg", 1);
  const auto& cgroup = make_cgroup();
  ebpf::link link = program.attach_cgroup(cgroup.fd, ebpf::attach_type::cgroup_inet_ingress);
  auto info = link.info();
  struct stat st;
  ASSERT_EQ(::fstat(cgroup.fd.get(), &st), 0);
  EXPECT_EQ(info.type, ebpf::link_type::cgroup);
  EXPECT_EQ(info.cgroup_id, st.st_ino) << "a cgroup v2 id is its directory's inode number";
  EXPECT_EQ(info.attach, ebpf::attach_type::cgroup_inet_ingress);
}

TEST_F(IntrospectionTest, NetnsLinkInfoCarriesTheNamespaceInode) {
  // A named network namespace we never enter: the flow dissector sees none of our traffic.
  const std::string name = "ebpfpp-intro-" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("ip netns add " + name).c_str()), 0);
  struct cleanup {
    std::string name;
    ~cleanup() { (void)std::system(("ip netns del " + name + " 2>/dev/null").c_str()); }
  } remove{name};
  ebpf::unique_fd netns = ebpf::unique_fd::open(("/run/netns/" + name).c_str(), O_RDONLY);
  ebpf::map map = counter_map();
  ebpf::program_load_spec spec;
  std::vector<ebpf::instruction> code{insn::mov64_imm(insn::r0, 0), insn::exit()};
  spec.name = "intro_dissect";
  spec.type = ebpf::program_type::flow_dissector;
  spec.expected_attach_type = ebpf::attach_type::flow_dissector;
  spec.instructions = code;
  ebpf::program program = ebpf::program::load(spec);
  ebpf::sys::link_create_options options;
  options.prog_fd = program.fd();
  options.target = static_cast<std::uint32_t>(netns.get());
  options.type = ebpf::attach_type::flow_dissector;
  ebpf::link link = ebpf::link::from_fd(ebpf::sys::link_create(options, "netns link"));
  auto info = link.info();
  struct stat st;
  ASSERT_EQ(::fstat(netns.get(), &st), 0);
  EXPECT_EQ(info.type, ebpf::link_type::netns);
  EXPECT_EQ(info.netns_ino, st.st_ino);
  EXPECT_EQ(info.attach, ebpf::attach_type::flow_dissector);
}

// ---------------------------------------------------------------------------------------------
// Run statistics.

TEST_F(IntrospectionTest, RunStatisticsCountWhileEnabled) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::tracepoint, "intro_stats");
  ebpf::link link = program.attach_tracepoint("syscalls", "sys_enter_getpid");
  std::uint64_t before = 0;
  {
    ebpf::unique_fd stats = ebpf::enable_program_stats();
    before = program.info().run_count;
    trigger_syscalls(50);
    auto info = program.info();
    EXPECT_GE(info.run_count - before, 50u);
    EXPECT_GT(info.run_time.count(), 0);
    EXPECT_GE(count_of(map), 50u) << "the program really ran";
    auto listed = ebpf::inspect::program_by_id(program.id());
    ASSERT_TRUE(listed);
    EXPECT_GE(listed->run_count, info.run_count);
  }
  // Collection stops when the last enable-stats fd closes, unless the sysctl is on (or another
  // process holds an fd: then we cannot assert anything).
  if (ebpf::inspect::program_stats_enabled() == false) {
    const auto frozen = program.info().run_count;
    trigger_syscalls(20);
    const auto later = program.info().run_count;
    // Other tests in parallel may hold BPF_ENABLE_STATS fds; only a count that moved by less
    // than our triggers tells us nothing, so assert it did not grow by all of them.
    if (later != frozen) GTEST_LOG_(INFO) << "run_count still grows: another process holds BPF_ENABLE_STATS";
  }
}

// ---------------------------------------------------------------------------------------------
// Pinned links survive their process and can be taken back.

TEST_F(IntrospectionTest, PinnedLinkOutlivesItsProcessAndCanBeTakenBack) {
  const std::string dir = bpffs();
  const std::string link_path = dir + "/link", map_path = dir + "/count";
  pid_t child = fork_child([&] {
    ebpf::map map = counter_map();
    ebpf::program program = counting_program(map, ebpf::program_type::raw_tracepoint, "intro_pinned");
    ebpf::link link = program.attach_raw_tracepoint("sys_enter");
    link.pin(link_path);
    map.pin(map_path);
    return 0;  // every fd closes with the process
  });
  ASSERT_EQ(wait_child(child), 0);

  ebpf::map map = ebpf::map::from_pin(map_path);
  const auto first = count_of(map);
  trigger_syscalls(100);
  const auto second = count_of(map);
  EXPECT_GE(second - first, 100u) << "the pinned link keeps the program attached after its process exited";

  ebpf::link link = ebpf::link::from_pin(link_path);
  auto info = link.info();
  EXPECT_EQ(info.type, ebpf::link_type::raw_tracepoint);
  EXPECT_EQ(info.tp_name, "sys_enter");
  EXPECT_EQ(ebpf::inspect::program_by_id(info.prog_id)->name, "intro_pinned");
  const auto link_id = info.id;
  link.unpin();
  EXPECT_NE(::access(link_path.c_str(), F_OK), 0) << "unpin removed the pin";
  link = ebpf::link();  // our fd was the last reference: the link detaches

  // The kernel frees an unreferenced link from a workqueue: wait until the counter stands still.
  bool stopped = false;
  for (int attempt = 0; attempt < 200 && !stopped; ++attempt) {
    const auto before = count_of(map);
    trigger_syscalls(20);
    stopped = count_of(map) == before;
    if (!stopped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(stopped) << "the program still runs after unpin and close";
  EXPECT_FALSE(ebpf::inspect::link_by_id(link_id));
}

// ---------------------------------------------------------------------------------------------
// Reusing a pinned map: each property that differs is named.

TEST_F(IntrospectionTest, IncompatiblePinnedMapNamesEachDifferingProperty) {
  // pinned.bpf.o defines shared_counts as hash, key 4, value 8, max_entries 16, flags 0.
  struct variant {
    const char* property;
    ebpf::map_type type;
    std::uint32_t key_size, value_size, max_entries, flags;
    const char* expected;
  };
  const variant variants[] = {
      {"type", ebpf::map_type::lru_hash, 4, 8, 16, 0, "differs: type lru_hash (the object defines hash)"},
      {"key_size", ebpf::map_type::hash, 8, 8, 16, 0, "differs: key_size 8 (the object defines 4)"},
      {"value_size", ebpf::map_type::hash, 4, 16, 16, 0, "differs: value_size 16 (the object defines 8)"},
      {"max_entries", ebpf::map_type::hash, 4, 8, 32, 0, "differs: max_entries 32 (the object defines 16)"},
      {"flags", ebpf::map_type::hash, 4, 8, 16, ebpf::map_flag::no_prealloc, "differs: flags 1 (the object defines 0)"},
  };
  ebpf::load_options options;
  options.pin_root = bpffs();
  const std::string pin = options.pin_root + "/shared_counts";
  for (const variant& v : variants) {
    SCOPED_TRACE(v.property);
    ebpf::map_create_spec spec;
    spec.name = "shared_counts";
    spec.type = v.type;
    spec.key_size = v.key_size;
    spec.value_size = v.value_size;
    spec.max_entries = v.max_entries;
    spec.flags = v.flags;
    ebpf::map::create(spec).pin(pin);
    auto object = ebpf::object::open(bpf_object("pinned.bpf.o"));
    try {
      object.load(options);
      ADD_FAILURE() << "reused a pinned map whose " << v.property << " differs";
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
      EXPECT_THAT(e.what(), HasSubstr(v.expected));
      for (const char* other : {"type ", "key_size ", "value_size ", "max_entries ", "flags "}) {
        if (std::string(other) != std::string(v.property) + " ") {
          EXPECT_THAT(e.what(), Not(HasSubstr(std::string("differs: ") + other))) << "only " << v.property << " differs";
        }
      }
      EXPECT_THAT(e.what(), HasSubstr("'" + pin + "'"));
    }
    ASSERT_EQ(::unlink(pin.c_str()), 0);
  }
  // The compatible shape is reused, not refused.
  ebpf::map_create_spec same;
  same.name = "shared_counts";
  same.type = ebpf::map_type::hash;
  same.key_size = 4;
  same.value_size = 8;
  same.max_entries = 16;
  ebpf::map original = ebpf::map::create(same);
  original.pin(pin);
  auto object = ebpf::object::open(bpf_object("pinned.bpf.o"));
  object.load(options);
  EXPECT_EQ(object.map("shared_counts").id(), original.id());
}

// ---------------------------------------------------------------------------------------------
// Feature probes.

TEST_F(IntrospectionTest, ProgramAndMapTypesAgreeWithBpftool) {
  if (bpftool_path().empty()) GTEST_SKIP() << "bpftool is not installed";
  // bpftool's program- and map-type answers are plain load/create results (its helper answers
  // are not: bpftool 7.1 with libbpf 1.1 does not know 6.x's "program of this type cannot use
  // helper" message and lists every helper for every type).
  std::string out = temp_dir() + "/bpftool.json";
  ASSERT_EQ(std::system((bpftool_path() + " feature probe kernel -j > " + out + " 2>/dev/null").c_str()), 0);
  std::ifstream in(out);
  json probe = json::parse(in);
  std::size_t compared = 0;
  for (std::uint32_t number = 1; number <= static_cast<std::uint32_t>(ebpf::program_type::netfilter); ++number) {
    auto type = static_cast<ebpf::program_type>(number);
    const std::string key = "have_" + std::string(ebpf::to_string(type)) + "_prog_type";
    if (!probe["program_types"].contains(key)) continue;
    auto ours = ebpf::probe_program_type(type);
    if (probe["program_types"][key].get<bool>())
      EXPECT_EQ(ours.state, support::supported) << key << ": " << ours.detail;
    else
      EXPECT_NE(ours.state, support::supported) << key;
    ++compared;
  }
  for (std::uint32_t number = 1; number <= static_cast<std::uint32_t>(ebpf::map_type::arena); ++number) {
    auto type = static_cast<ebpf::map_type>(number);
    const std::string key = "have_" + std::string(ebpf::to_string(type)) + "_map_type";
    if (!probe["map_types"].contains(key)) continue;
    auto ours = ebpf::probe_map_type(type);
    if (probe["map_types"][key].get<bool>())
      EXPECT_EQ(ours.state, support::supported) << key << ": errno " << ours.error;
    else
      EXPECT_NE(ours.state, support::supported) << key;
    ++compared;
  }
  EXPECT_GT(compared, 55u);
}

TEST_F(IntrospectionTest, ProbesFollowTheKernelVersion) {
  // What every kernel from the given version on has, whatever its configuration.
  const int version = kernel_version();
  struct since {
    ebpf::kernel_feature feature;
    int version;
  };
  for (auto [feature, first] : {since{ebpf::kernel_feature::btf, 418}, since{ebpf::kernel_feature::btf_func, 500},
                                since{ebpf::kernel_feature::btf_datasec, 502}, since{ebpf::kernel_feature::global_data, 502},
                                since{ebpf::kernel_feature::bounded_loops, 503}, since{ebpf::kernel_feature::mmapable_maps, 505},
                                since{ebpf::kernel_feature::btf_func_global, 506}, since{ebpf::kernel_feature::bpf_link, 507},
                                since{ebpf::kernel_feature::ringbuf, 508}, since{ebpf::kernel_feature::enable_stats, 508},
                                since{ebpf::kernel_feature::btf_float, 513}, since{ebpf::kernel_feature::bpf_cookie, 515},
                                since{ebpf::kernel_feature::perf_link, 515}, since{ebpf::kernel_feature::btf_decl_tag, 516},
                                since{ebpf::kernel_feature::btf_type_tag, 517}, since{ebpf::kernel_feature::btf_enum64, 600},
                                since{ebpf::kernel_feature::uprobe_multi_link, 606}, since{ebpf::kernel_feature::tcx_link, 606},
                                since{ebpf::kernel_feature::kfunc_calls, 513}, since{ebpf::kernel_feature::prog_name, 415},
                                since{ebpf::kernel_feature::btf_in_map_create, 418},
                                since{ebpf::kernel_feature::struct_ops_link, 604}}) {
    auto result = ebpf::probe_feature(feature);
    if (version >= first)
      EXPECT_EQ(result.state, support::supported) << ebpf::to_string(feature) << ": errno " << result.error << " " << result.detail;
    else
      EXPECT_EQ(result.state, support::unsupported) << ebpf::to_string(feature);
  }
  EXPECT_EQ(ebpf::probe_map_type(ebpf::map_type::arena).state, version >= 609 ? support::supported : support::unsupported);
  EXPECT_EQ(ebpf::probe_map_type(ebpf::map_type::cgrp_storage).state, version >= 602 ? support::supported : support::unsupported);
  EXPECT_EQ(ebpf::probe_map_type(ebpf::map_type::user_ringbuf).state, version >= 601 ? support::supported : support::unsupported);
  EXPECT_EQ(ebpf::probe_program_type(ebpf::program_type::netfilter).state, version >= 604 ? support::supported : support::unsupported);
  EXPECT_EQ(ebpf::probe_program_type(ebpf::program_type::syscall).state, support::supported);
  EXPECT_EQ(ebpf::probe_program_type(ebpf::program_type::xdp).state, support::supported);
  auto unspec = ebpf::probe_map_type(ebpf::map_type::unspec);
  EXPECT_EQ(unspec.state, support::unsupported);
}

TEST_F(IntrospectionTest, ProbesMatchTheFactsOfThisHost) {
  // /work/shared/KERNEL.md: the 6.18 host under lockdown=integrity, without FPROBE, NETKIT,
  // KPROBES and LIRC; fentry/fexit/LSM/freplace refused with EPERM at load.
  struct utsname name;
  ::uname(&name);
  if (std::string(name.release).rfind("6.18", 0) != 0) GTEST_SKIP() << "facts recorded for the 6.18 host; this is " << name.release;

  auto insn_array = ebpf::probe_map_type(static_cast<ebpf::map_type>(34));
  EXPECT_EQ(insn_array.state, support::unsupported);
  EXPECT_EQ(insn_array.error, EINVAL);
  EXPECT_TRUE(ebpf::probe_map_type(ebpf::map_type::arena));
  EXPECT_TRUE(ebpf::probe_map_type(ebpf::map_type::struct_ops));
  EXPECT_TRUE(ebpf::probe_map_type(ebpf::map_type::task_storage)) << "created with BTF";

  auto kprobe_multi = ebpf::probe_feature(ebpf::kernel_feature::kprobe_multi_link);
  EXPECT_EQ(kprobe_multi.state, support::unsupported);
  EXPECT_EQ(kprobe_multi.error, EOPNOTSUPP);
  auto netkit = ebpf::probe_feature(ebpf::kernel_feature::netkit_link);
  EXPECT_EQ(netkit.state, support::unsupported);
  EXPECT_EQ(netkit.error, EINVAL);
  for (auto type : {ebpf::program_type::tracing, ebpf::program_type::lsm, ebpf::program_type::ext}) {
    auto result = ebpf::probe_program_type(type);
    EXPECT_EQ(result.state, support::unknown) << ebpf::to_string(type);
    EXPECT_EQ(result.error, EPERM) << ebpf::to_string(type);
    auto helper = ebpf::probe_helper(type, 1);
    EXPECT_EQ(helper.state, support::unknown) << "no helper answer without the program type";
  }
  auto lirc = ebpf::probe_program_type(ebpf::program_type::lirc_mode2);
  EXPECT_EQ(lirc.state, support::unsupported);
  EXPECT_EQ(ebpf::probe_helper(ebpf::program_type::lirc_mode2, 1).state, support::unsupported);
  EXPECT_TRUE(ebpf::probe_program_type(ebpf::program_type::struct_ops)) << "ENOTSUPP without a target proves it";

  // Lockdown withdraws bpf_probe_write_user (kernel/trace/bpf_trace.c bpf_get_probe_write_proto).
  auto write_user = ebpf::probe_helper(ebpf::program_type::kprobe, 36);
  EXPECT_EQ(write_user.state, support::unsupported);
  EXPECT_THAT(write_user.detail, HasSubstr("cannot use helper bpf_probe_write_user#36"));
}

TEST_F(IntrospectionTest, HelperProbesReadTheVerifiersVerdict) {
  auto redirect_map = 51u;  // bpf_redirect_map: XDP and tc only
  ASSERT_EQ(ebpf::helper_name(redirect_map), "bpf_redirect_map");
  EXPECT_TRUE(ebpf::probe_helper(ebpf::program_type::xdp, redirect_map));
  auto in_kprobe = ebpf::probe_helper(ebpf::program_type::kprobe, redirect_map);
  EXPECT_EQ(in_kprobe.state, support::unsupported);
  EXPECT_THAT(in_kprobe.detail, HasSubstr("bpf_redirect_map#51"));

  auto sys_bpf = 166u;  // bpf_sys_bpf: syscall programs only
  EXPECT_TRUE(ebpf::probe_helper(ebpf::program_type::syscall, sys_bpf));
  EXPECT_EQ(ebpf::probe_helper(ebpf::program_type::xdp, sys_bpf).state, support::unsupported);

  auto beyond = ebpf::probe_helper(ebpf::program_type::socket_filter, 100000);
  EXPECT_EQ(beyond.state, support::unsupported);
  EXPECT_THAT(beyond.detail, HasSubstr("invalid func"));
  EXPECT_TRUE(ebpf::probe_helper(ebpf::program_type::socket_filter, 1)) << "bpf_map_lookup_elem everywhere";
}

TEST_F(IntrospectionTest, ProbeCacheIsThreadSafeAndConsistent) {
  // Four threads ask the same questions at once; every answer must equal the single-threaded one.
  const std::vector<ebpf::program_type> types{ebpf::program_type::xdp, ebpf::program_type::sched_cls,
                                              ebpf::program_type::cgroup_skb, ebpf::program_type::tracepoint};
  std::vector<std::vector<support>> answers(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t round = 0; round < types.size(); ++round) {
        auto type = types[(round + t) % types.size()];
        for (std::uint32_t id = 1; id < ebpf::helper_id_limit(); ++id) {
          if (id == 6 || id == 36 || id == 177) continue;  // the kernel-log writers
          answers[t].push_back(ebpf::probe_helper(type, id).state);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < 4; ++t) {
    std::size_t index = 0;
    for (std::size_t round = 0; round < types.size(); ++round) {
      auto type = types[(round + t) % types.size()];
      for (std::uint32_t id = 1; id < ebpf::helper_id_limit(); ++id) {
        if (id == 6 || id == 36 || id == 177) continue;
        ASSERT_EQ(answers[t][index++], ebpf::probe_helper(type, id).state) << ebpf::to_string(type) << " " << ebpf::helper_name(id);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The CLI: `ebpfpp feature`, `prog show`, `link list`, `btf list`, `map show`.

struct run_result {
  int status = -1;
  std::string out;
  std::string err;
};

class IntrospectionCliTest : public IntrospectionTest {
 protected:
  void SetUp() override {
    IntrospectionTest::SetUp();
    if (IsSkipped()) return;
#ifndef EBPFPP_TOOL
    GTEST_SKIP() << "the ebpfpp tool is not part of this build (configured with -Dtools=false)";
#else
    tool_ = EBPFPP_TOOL;
    ASSERT_EQ(::access(tool_.c_str(), X_OK), 0) << tool_ << " is not built";
#endif
  }

  run_result run(const std::string& program, const std::vector<std::string>& args) {
    static int counter = 0;
    const std::string base = temp_dir() + "/run" + std::to_string(++counter);
    std::vector<std::string> strings{program};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, (base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    run_result result;
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << program << ": " << std::strerror(rc);
      return result;
    }
    result.status = wait_child(pid);
    result.out = read_text(base + ".out");
    result.err = read_text(base + ".err");
    return result;
  }
  run_result ebpfpp(const std::vector<std::string>& args) { return run(tool_, args); }

  static json parse(const run_result& result) {
    try {
      return json::parse(result.out);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << result.out << "\nstderr:\n" << result.err;
      return json();
    }
  }
  static json find_id(const json& list, std::uint32_t id) {
    if (list.is_array())
      for (const auto& entry : list)
        if (entry.is_object() && entry.value("id", 0u) == id) return entry;
    return json();
  }

 private:
  static std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string tool_;
};

TEST_F(IntrospectionCliTest, FeatureJsonIsWhatTheLibraryProbes) {
  auto result = ebpfpp({"feature", "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  json out = parse(result);
  ASSERT_TRUE(out["program_types"].is_array());
  for (const auto& entry : out["program_types"]) {
    auto type = static_cast<ebpf::program_type>(entry["id"].get<std::uint32_t>());
    EXPECT_EQ(entry["state"], std::string(ebpf::to_string(ebpf::probe_program_type(type).state))) << entry.dump();
    EXPECT_EQ(entry["name"], std::string(ebpf::to_string(type)));
  }
  ASSERT_TRUE(out["map_types"].is_array());
  EXPECT_EQ(out["map_types"].size(), 34u);
  for (const auto& entry : out["map_types"]) {
    auto type = static_cast<ebpf::map_type>(entry["id"].get<std::uint32_t>());
    EXPECT_EQ(entry["state"], std::string(ebpf::to_string(ebpf::probe_map_type(type).state))) << entry.dump();
  }
  EXPECT_EQ(out["map_types"][33]["name"], "insn_array");
  ASSERT_EQ(out["kernel_features"].size(), ebpf::all_kernel_features().size());
  for (const auto& entry : out["kernel_features"]) {
    auto feature = std::find_if(ebpf::all_kernel_features().begin(), ebpf::all_kernel_features().end(),
                                [&](auto f) { return ebpf::to_string(f) == entry["name"].get<std::string>(); });
    ASSERT_NE(feature, ebpf::all_kernel_features().end()) << entry.dump();
    EXPECT_EQ(entry["state"], std::string(ebpf::to_string(ebpf::probe_feature(*feature).state))) << entry.dump();
  }
  // Helpers: each list holds exactly the helpers the library finds supported (bar the three that
  // write to the kernel log, left out without --full).
  for (auto type : {ebpf::program_type::xdp, ebpf::program_type::kprobe, ebpf::program_type::syscall}) {
    std::set<std::string> expected;
    for (std::uint32_t id = 1; id < ebpf::helper_id_limit(); ++id)
      if (id != 6 && id != 36 && id != 177 && ebpf::probe_helper(type, id)) expected.insert(std::string(ebpf::helper_name(id)));
    json listed = out["helpers"][std::string(ebpf::to_string(type))]["available"];
    EXPECT_EQ(listed.get<std::set<std::string>>(), expected) << ebpf::to_string(type);
  }
  EXPECT_THAT(out["helpers"]["xdp"]["available"].dump(), HasSubstr("\"bpf_redirect_map\""));
  EXPECT_THAT(out["helpers"]["kprobe"]["available"].dump(), Not(HasSubstr("\"bpf_redirect_map\"")));

  auto text = ebpfpp({"feature", "--no-helpers"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("btf_enum64"));
  EXPECT_THAT(text.out, HasSubstr("PROGRAM TYPE"));
  EXPECT_THAT(text.out, Not(HasSubstr("Helpers per program type")));
}

TEST_F(IntrospectionCliTest, ProgShowReportsRunStatisticsAndLinks) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::tracepoint, "intro_cli_show");
  ebpf::link link = program.attach_tracepoint("syscalls", "sys_enter_getpid");
  ebpf::unique_fd stats = ebpf::enable_program_stats();
  trigger_syscalls(30);
  const auto id = program.id();
  auto result = ebpfpp({"prog", "show", std::to_string(id), "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  json out = parse(result);
  EXPECT_EQ(out["id"], id);
  EXPECT_EQ(out["name"], "intro_cli_show");
  EXPECT_EQ(out["type"], "tracepoint");
  EXPECT_EQ(out["tag"], program.info().tag_string());
  EXPECT_GE(out["run_cnt"].get<std::uint64_t>(), 30u);
  EXPECT_GT(out["run_time_ns"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(out["map_ids"], json::array({map.id()}));
  EXPECT_EQ(out["link_ids"], json::array({link.info().id}));
  if (!bpftool_path().empty()) {
    auto oracle = run(bpftool_path(), {"prog", "show", "id", std::to_string(id), "-j"});
    ASSERT_EQ(oracle.status, 0) << oracle.err;
    json theirs = parse(oracle);
    EXPECT_EQ(out["tag"], theirs["tag"]);
    EXPECT_EQ(out["xlated_len"], theirs["bytes_xlated"]);
    EXPECT_EQ(out["jited_len"], theirs["bytes_jited"]);
    EXPECT_GE(theirs["run_cnt"].get<std::uint64_t>(), out["run_cnt"].get<std::uint64_t>());
  }
  auto text = ebpfpp({"prog", "show", std::to_string(id)});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("intro_cli_show"));
  EXPECT_THAT(text.out, HasSubstr("run_cnt "));

  auto missing = ebpfpp({"prog", "show", "4294967295"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_THAT(missing.err, HasSubstr("No such file or directory"));
  auto bad = ebpfpp({"prog", "show", "twelve"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_THAT(bad.err, HasSubstr("not a valid id"));
}

TEST_F(IntrospectionCliTest, LinkListAgreesWithBpftool) {
  ebpf::map map = counter_map();
  ebpf::program raw = counting_program(map, ebpf::program_type::raw_tracepoint, "intro_cli_raw");
  ebpf::program tp = counting_program(map, ebpf::program_type::tracepoint, "intro_cli_tp");
  ebpf::program skb = counting_program(map, ebpf::program_type::cgroup_skb, "intro_cli_skb", 1);
  ebpf::link raw_link = raw.attach_raw_tracepoint("sys_exit");
  ebpf::link tp_link = tp.attach_tracepoint("syscalls", "sys_enter_getppid");
  ebpf::link cgroup_link = skb.attach_cgroup(make_cgroup().fd, ebpf::attach_type::cgroup_inet_egress);

  auto result = ebpfpp({"link", "list", "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  json out = parse(result);
  json raw_entry = find_id(out, raw_link.info().id);
  ASSERT_TRUE(raw_entry.is_object()) << out.dump();
  EXPECT_EQ(raw_entry["type"], "raw_tracepoint");
  EXPECT_EQ(raw_entry["prog_id"], raw.id());
  EXPECT_EQ(raw_entry["tp_name"], "sys_exit");
  json tp_entry = find_id(out, tp_link.info().id);
  ASSERT_TRUE(tp_entry.is_object());
  EXPECT_EQ(tp_entry["type"], "perf_event");
  // Before 6.6 the kernel says nothing about a perf_event link's event (perf_link_details_since):
  // no kind, no tracepoint name, as bpftool shows too.
  const bool details = kernel_version() >= perf_link_details_since;
  if (details) {
    EXPECT_EQ(tp_entry["event_type"], "tracepoint");
    EXPECT_EQ(tp_entry["tp_name"], "sys_enter_getppid");
  } else {
    EXPECT_TRUE(!tp_entry.contains("event_type") || tp_entry["event_type"] == "unspec") << tp_entry.dump();
    EXPECT_FALSE(tp_entry.contains("tp_name")) << tp_entry.dump();
  }
  json cgroup_entry = find_id(out, cgroup_link.info().id);
  ASSERT_TRUE(cgroup_entry.is_object());
  EXPECT_EQ(cgroup_entry["type"], "cgroup");
  EXPECT_EQ(cgroup_entry["attach_type"], "cgroup_inet_egress");
  EXPECT_EQ(cgroup_entry["cgroup_id"], cgroup_link.info().cgroup_id);

  if (!bpftool_path().empty()) {
    auto oracle = run(bpftool_path(), {"link", "list", "-j"});
    ASSERT_EQ(oracle.status, 0) << oracle.err;
    json theirs = parse(oracle);
    for (const ebpf::link* link : {&raw_link, &tp_link, &cgroup_link}) {
      auto id = link->info().id;
      json mine = find_id(out, id), bpftool = find_id(theirs, id);
      ASSERT_TRUE(bpftool.is_object()) << "bpftool does not list link " << id;
      EXPECT_EQ(mine["type"], bpftool["type"]) << id;
      EXPECT_EQ(mine["prog_id"], bpftool["prog_id"]) << id;
    }
    EXPECT_EQ(find_id(theirs, raw_link.info().id)["tp_name"], "sys_exit");
    EXPECT_EQ(find_id(theirs, cgroup_link.info().id)["cgroup_id"], cgroup_entry["cgroup_id"]);
    // bpftool names the tracepoint in "tracepoint" (bpftool 7.3+ with a 6.6+ kernel); a kernel
    // without the details leaves both of us without it.
    json their_tp = find_id(theirs, tp_link.info().id);
    if (details && their_tp.contains("tracepoint")) {
      EXPECT_EQ(their_tp["tracepoint"], tp_entry["tp_name"]);
    }
    if (!details) {
      EXPECT_FALSE(their_tp.contains("tracepoint")) << their_tp.dump();
    }
  }
  auto text = ebpfpp({"link", "list"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("tp_name sys_exit"));
  if (details) {
    EXPECT_THAT(text.out, HasSubstr("event_type tracepoint"));
  } else {
    EXPECT_THAT(text.out, Not(HasSubstr("event_type tracepoint")));
  }
}

TEST_F(IntrospectionCliTest, BtfListAndMapShow) {
  ebpf::map map = counter_map();
  ebpf::program program = counting_program(map, ebpf::program_type::socket_filter, "intro_cli_map");
  auto btf = ebpfpp({"btf", "list", "--json"});
  ASSERT_EQ(btf.status, 0) << btf.err;
  json list = parse(btf);
  bool saw_vmlinux = false;
  for (const auto& entry : list)
    if (entry["name"] == "vmlinux") {
      saw_vmlinux = true;
      EXPECT_EQ(entry["kernel"], true);
    }
  EXPECT_TRUE(saw_vmlinux) << list.dump();
  if (!bpftool_path().empty()) {
    auto oracle = run(bpftool_path(), {"btf", "list", "-j"});
    ASSERT_EQ(oracle.status, 0);
    json theirs = parse(oracle);
    json vmlinux = find_id(theirs, 1);
    ASSERT_TRUE(vmlinux.is_object());
    EXPECT_EQ(find_id(list, 1)["size"], vmlinux["size"]);
    EXPECT_EQ(find_id(list, 1)["name"], vmlinux["name"]);
  }

  auto show = ebpfpp({"map", "show", std::to_string(map.id()), "--json"});
  ASSERT_EQ(show.status, 0) << show.err;
  json out = parse(show);
  EXPECT_EQ(out["name"], "intro_count");
  EXPECT_EQ(out["type"], "array");
  EXPECT_EQ(out["key_size"], 4);
  EXPECT_EQ(out["value_size"], 8);
  EXPECT_EQ(out["max_entries"], 1);
  EXPECT_EQ(out["prog_ids"], json::array({program.id()}));
  auto text = ebpfpp({"map", "show", std::to_string(map.id())});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("intro_count"));
  EXPECT_THAT(text.out, HasSubstr("used by programs " + std::to_string(program.id())));
}

}  // namespace
