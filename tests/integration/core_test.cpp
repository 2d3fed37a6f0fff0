// CO-RE against the running kernel: core_kernel.bpf.c declares partial, reordered, "___flavor"
// versions of kernel types and records what the relocated programs see. Every expected value is
// computed here from the kernel's own BTF (ebpf::kernel_btf()) or from what this process knows
// about itself (thread id, parent chain, rlimit, scheduling flag, thread name, user memory); the
// only constants are the kernel's ABI (static_prio = 120 + nice, TASK_RUNNING = 0). The programs
// run in a separate thread so that pid (the thread id) and tgid differ.
#include <ebpf/kernel_btf.hpp>
#include <ebpf/object.hpp>
#include <ebpf/program.hpp>

#include "fixture.hpp"
#include "kernel_features.hpp"
#include "../bpf/core_kernel.h"

#include <linux/time_types.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

class CoreTest : public ebpf_test::kernel_test {};

std::string path_of(const char* name) { return std::string(EBPFPP_TEST_BPF_DIR) + "/" + name; }

ebpf::load_options only(std::vector<std::string> programs) {
  ebpf::load_options options;
  options.only = std::move(programs);
  return options;
}

// ---- expected values from the kernel's BTF ---------------------------------------------------

const ebpf::btf& kernel() { return ebpf::kernel_btf(); }

std::uint32_t kernel_struct(std::string_view name) {
  auto id = kernel().find(name, ebpf::btf_kind::struct_);
  if (!id) throw std::runtime_error("no struct " + std::string(name) + " in the kernel's BTF");
  return *id;
}

std::optional<ebpf::btf_member> find_member(std::uint32_t struct_id, std::string_view name) {
  for (const auto& member : kernel().members(struct_id))
    if (member.name == name) return member;
  return std::nullopt;
}

ebpf::btf_member member(std::uint32_t struct_id, std::string_view name) {
  auto found = find_member(struct_id, name);
  if (!found) throw std::runtime_error("no member " + std::string(name) + " in kernel type " + std::to_string(struct_id));
  return *found;
}

std::uint64_t byte_offset(std::string_view type, std::string_view name) {
  return member(kernel_struct(type), name).bit_offset / 8;
}

std::int64_t enumerator(std::string_view type, std::string_view name) {
  auto id = kernel().find(type, ebpf::btf_kind::enum_);
  if (!id) throw std::runtime_error("no enum " + std::string(type) + " in the kernel's BTF");
  for (const auto& e : kernel().enumerators(*id))
    if (e.name == name) return e.value;
  throw std::runtime_error("no enumerator " + std::string(name));
}

// ---- what this process knows about itself -----------------------------------------------------

pid_t parent_of(pid_t pid) {
  if (pid == 0) return 0;  // init_task is its own real_parent
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

std::string comm_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

// What the test thread passes and sees.
struct thread_view {
  pid_t tid = 0;
  std::string name = "ebpfpp-core";
  int nice = 0;
  core_reads reads{};
  core_direct direct{};
};

// Runs `body` in a new thread named "ebpfpp-core" (so that the program's current task is not the
// thread group leader) and rethrows what it throws.
void in_thread(const std::function<void()>& body) {
  std::exception_ptr failure;
  std::thread thread([&] {
    try {
      pthread_setname_np(pthread_self(), "ebpfpp-core");
      body();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  thread.join();
  if (failure) std::rethrow_exception(failure);
}

void set_reset_on_fork(bool on) {
  sched_param param{};
  if (sched_setscheduler(0, SCHED_OTHER | (on ? SCHED_RESET_ON_FORK : 0), &param) != 0)
    ebpf::throw_errno(errno, "test: sched_setscheduler");
}

// ---- the tests ----------------------------------------------------------------------------------

TEST_F(CoreTest, FieldTypeAndEnumQueriesMatchTheKernelsBtf) {
  auto object = ebpf::object::open(path_of("core_kernel.bpf.o"));
  object.load(only({"query"}));
  ASSERT_EQ(object.program("query").test_run().retval, 0u);
  const auto seen = object.global<core_queries>("queries");

  const std::uint32_t task = kernel_struct("task_struct");
  EXPECT_EQ(seen.pid_offset, byte_offset("task_struct", "pid"));
  EXPECT_EQ(seen.pid_size, kernel().size_of(member(task, "pid").type));
  EXPECT_EQ(seen.pid_exists, 1u);
  EXPECT_EQ(seen.tgid_offset, byte_offset("task_struct", "tgid"));
  EXPECT_EQ(seen.comm_offset, byte_offset("task_struct", "comm"));
  EXPECT_EQ(seen.comm_size, kernel().size_of(member(task, "comm").type));
  const auto comm_array = kernel().array(kernel().skip_modifiers_and_typedefs(member(task, "comm").type));
  EXPECT_EQ(seen.comm3_offset, seen.comm_offset + 3 * kernel().size_of(comm_array.element_type));
  EXPECT_EQ(seen.vruntime_offset, byte_offset("task_struct", "se") + byte_offset("sched_entity", "vruntime"));
  const auto rlim = member(kernel_struct("signal_struct"), "rlim");
  const auto rlim_array = kernel().array(kernel().skip_modifiers_and_typedefs(rlim.type));
  EXPECT_EQ(seen.rlim_cur7_offset,
            rlim.bit_offset / 8 + 7 * kernel().size_of(rlim_array.element_type) + byte_offset("rlimit", "rlim_cur"));

  EXPECT_EQ(seen.missing_field_exists, 0u);
  EXPECT_EQ(seen.missing_field_value, 0u) << "the guarded read is dead code after relocation";
  EXPECT_EQ(seen.state_exists, find_member(task, "__state") ? 1u : 0u);
  EXPECT_EQ(seen.old_state_exists, find_member(task, "state") ? 1u : 0u);
  EXPECT_EQ(seen.state_exists + seen.old_state_exists, 1u) << "a kernel has one of the two";

  EXPECT_EQ(seen.task_exists, 1u);
  EXPECT_EQ(seen.task_size, kernel().size_of(task));
  if (seen.have_type_matches) {
    EXPECT_EQ(seen.task_matches, 1u);
    EXPECT_EQ(seen.task_mismatch, 0u);
  }
  EXPECT_EQ(seen.missing_type_exists, 0u);
  EXPECT_EQ(seen.missing_type_size, 0u);
  EXPECT_EQ(seen.task_id_kernel, task);
  EXPECT_EQ(seen.missing_type_id_kernel, 0u);
  auto local = object.spec().types->find("task_struct___mine", ebpf::btf_kind::struct_);
  ASSERT_TRUE(local);
  EXPECT_EQ(seen.task_id_local, *local);

  EXPECT_EQ(seen.pidtype_max, static_cast<std::uint64_t>(enumerator("pid_type", "PIDTYPE_MAX")));
  EXPECT_EQ(seen.pidtype_max_exists, 1u);
  EXPECT_EQ(seen.missing_enumerator_exists, 0u);
  EXPECT_EQ(seen.missing_enumerator_value, 0u);
  EXPECT_EQ(seen.map_type_ringbuf, static_cast<std::uint64_t>(enumerator("bpf_map_type", "BPF_MAP_TYPE_RINGBUF")));

  // The bitfield: the smallest aligned load of its integer's size (doubled until it covers the
  // field) and the shifts that extract it from a little-endian u64 (libbpf's relo_core.c rules).
  const auto bitfield = member(task, "sched_reset_on_fork");
  ASSERT_NE(bitfield.bitfield_size, 0u) << "sched_reset_on_fork is a bitfield";
  const std::uint32_t int_type = kernel().skip_modifiers_and_typedefs(bitfield.type);
  std::uint64_t size = kernel().size_of(int_type);
  std::uint64_t offset = bitfield.bit_offset / 8 / size * size;
  while (bitfield.bit_offset + bitfield.bitfield_size - offset * 8 > size * 8) {
    size *= 2;
    offset = bitfield.bit_offset / 8 / size * size;
  }
  EXPECT_EQ(seen.bitfield_offset, offset);
  EXPECT_EQ(seen.bitfield_size, size);
  EXPECT_EQ(seen.bitfield_lshift, 64 - (bitfield.bit_offset + bitfield.bitfield_size - offset * 8));
  EXPECT_EQ(seen.bitfield_rshift, 64u - bitfield.bitfield_size);
  EXPECT_EQ(seen.bitfield_signed, (kernel().integer(int_type).encoding & ebpf::btf_int_signed) ? 1u : 0u);
}

// Runs read_current and read_direct of `object` (loaded) in a fresh thread, with the scheduling
// flag sched_reset_on_fork set as asked, and returns what they saw.
thread_view run_reads(ebpf::object& object, bool reset_on_fork, const __kernel_timespec& timespec,
                      const sockaddr_un& address) {
  thread_view view;
  in_thread([&] {
    view.tid = gettid();
    view.nice = getpriority(PRIO_PROCESS, 0);  // this thread's
    set_reset_on_fork(reset_on_fork);
    core_user_input input{reinterpret_cast<std::uintptr_t>(&timespec), reinterpret_cast<std::uintptr_t>(&address)};
    ebpf::test_run_options options;
    options.ctx = std::as_bytes(std::span(&input, 1));
    if (object.program("read_current").test_run(options).retval != 0) throw std::runtime_error("read_current failed");
    if (object.program("read_direct").test_run().retval != 0) throw std::runtime_error("read_direct failed");
    set_reset_on_fork(false);
  });
  view.reads = object.global<core_reads>("reads");
  view.direct = object.global<core_direct>("direct");
  return view;
}

TEST_F(CoreTest, ReadsOfTheCurrentTaskAndOfUserMemory) {
  auto object = ebpf::object::open(path_of("core_kernel.bpf.o"));
  object.load(only({"read_current", "read_direct"}));
  const __kernel_timespec timespec{1234567, 891011};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, "ebpfpp-core-path");

  for (bool reset_on_fork : {true, false}) {
    SCOPED_TRACE(reset_on_fork ? "with SCHED_RESET_ON_FORK" : "without SCHED_RESET_ON_FORK");
    const auto view = run_reads(object, reset_on_fork, timespec, address);
    const auto& reads = view.reads;
    EXPECT_EQ(reads.read_into_result, 0);
    EXPECT_EQ(reads.pid, view.tid) << "current is the test's thread";
    EXPECT_NE(reads.pid, getpid());
    EXPECT_EQ(reads.tgid, getpid());
    EXPECT_EQ(reads.leader_pid, getpid()) << "group_leader->pid";
    EXPECT_EQ(reads.parent_tgid, getppid()) << "real_parent->tgid";
    pid_t ancestor = getpid();
    for (int level = 0; level < 8; ++level) ancestor = parent_of(ancestor);
    EXPECT_EQ(reads.ancestor9_tgid, ancestor) << "real_parent x8 -> tgid";
    EXPECT_EQ(reads.static_prio, 120 + view.nice);
    rlimit nofile{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    EXPECT_EQ(reads.nofile_cur, nofile.rlim_cur) << "signal->rlim[RLIMIT_NOFILE].rlim_cur";
    EXPECT_EQ(reads.state, 0u) << "TASK_RUNNING";
    EXPECT_EQ(reads.reset_on_fork_probed, reset_on_fork ? 1u : 0u);
    EXPECT_STREQ(reads.comm, view.name.c_str());
    EXPECT_EQ(reads.comm_length, static_cast<std::int64_t>(view.name.size() + 1));
    const std::string parent = comm_of(getppid());
    EXPECT_EQ(std::string(reads.parent_comm), parent.substr(0, 15));
    EXPECT_EQ(reads.parent_comm_length, static_cast<std::int64_t>(std::min<std::size_t>(parent.size(), 15) + 1));
    EXPECT_EQ(reads.user_tv_sec, timespec.tv_sec);
    EXPECT_EQ(reads.user_tv_nsec, timespec.tv_nsec);
    EXPECT_EQ(reads.user_family, static_cast<std::uint64_t>(AF_UNIX));
    EXPECT_STREQ(reads.user_path, address.sun_path);
    EXPECT_EQ(reads.user_path_length, static_cast<std::int64_t>(std::strlen(address.sun_path) + 1));

    EXPECT_EQ(view.direct.reset_on_fork, reset_on_fork ? 1u : 0u) << "BPF_CORE_READ_BITFIELD";
    EXPECT_EQ(view.direct.pid, view.tid);
  }
}

TEST_F(CoreTest, BitfieldWritesChangeOnlyTheirBits) {
  auto object = ebpf::object::open(path_of("core_kernel.bpf.o"));
  object.load(only({"write_bitfields"}));
  auto scratch = object.global_data("scratch");
  ASSERT_EQ(scratch.size(), std::size_t{CORE_SCRATCH_SIZE});
  ASSERT_GE(scratch.size(), kernel().size_of(kernel_struct("task_struct")));
  std::vector<std::byte> expected(scratch.size());
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::byte>(0xa5 ^ (i * 7));
  std::copy(expected.begin(), expected.end(), scratch.begin());

  // Where the kernel's BTF puts the three 1-bit fields (little-endian bit numbering).
  const std::uint32_t task = kernel_struct("task_struct");
  auto set_bit = [&](std::string_view field, bool value) {
    const auto bitfield = member(task, field);
    ASSERT_EQ(bitfield.bitfield_size, 1u) << field;
    auto& byte = expected[bitfield.bit_offset / 8];
    const auto mask = static_cast<std::byte>(1u << (bitfield.bit_offset % 8));
    byte = value ? (byte | mask) : (byte & ~mask);
  };
  set_bit("sched_reset_on_fork", true);
  set_bit("in_execve", true);
  set_bit("in_iowait", false);

  ASSERT_EQ(object.program("write_bitfields").test_run().retval, 0u);
  const auto seen = object.global<core_misc>("misc");
  EXPECT_EQ(seen.reset_on_fork_written, 1u);
  EXPECT_EQ(seen.in_execve_written, 1u);
  EXPECT_EQ(seen.in_iowait_written, 0u);
  for (std::size_t i = 0; i < expected.size(); ++i)
    ASSERT_EQ(std::to_integer<int>(scratch[i]), std::to_integer<int>(expected[i])) << "byte " << i;
}

TEST_F(CoreTest, ProbeReadChainAndUserReadInto) {
  auto object = ebpf::object::open(path_of("core_kernel.bpf.o"));
  object.set_global("chain_value", 4242L);
  object.load(only({"read_misc"}));
  const __kernel_timespec timespec{777, 0};
  core_user_input input{reinterpret_cast<std::uintptr_t>(&timespec), 0};
  ebpf::test_run_options options;
  options.ctx = std::as_bytes(std::span(&input, 1));
  ASSERT_EQ(object.program("read_misc").test_run(options).retval, 0u);
  const auto seen = object.global<core_misc>("misc");
  EXPECT_EQ(seen.probe_chain_value, 4242) << "BPF_PROBE_READ(&chain_a, next, next, value)";
  EXPECT_EQ(seen.user_into_result, 0);
  EXPECT_EQ(seen.user_into_tv_sec, 777);
}

// An object with CO-RE relocations and a kfunc extern (bpf_core_cast calls bpf_rdonly_cast):
// direct loads through the cast pointer, relocated.
TEST_F(CoreTest, CoreCastOfTheCurrentTask) {
  auto object = ebpf::object::open(path_of("core_cast.bpf.o"));
  try {
    object.load();
  } catch (const ebpf::verifier_error& e) {
    // bpf_core_cast is the __weak kfunc bpf_rdonly_cast (6.2): on an older kernel (the QEMU
    // stage's 6.1) the loader poisons the call, as libbpf does, and the verifier refuses it.
    if (!ebpf_test::kernel_has_function("bpf_rdonly_cast"))
      GTEST_SKIP() << "kernel " << ebpf_test::kernel_release() << " has no kfunc bpf_rdonly_cast (6.2): "
                   << e.what();
    throw;
  }
  pid_t tid = 0;
  in_thread([&] {
    tid = gettid();
    if (object.program("read_cast").test_run().retval != 0) throw std::runtime_error("read_cast failed");
  });
  EXPECT_EQ(object.global<std::int64_t>("cast_pid"), tid);
  EXPECT_EQ(object.global<std::int64_t>("cast_tgid"), getpid());
  EXPECT_EQ(object.global<std::int64_t>("cast_parent_tgid"), getppid());
}

TEST_F(CoreTest, ReachableMissingFieldFailsNamingTheRelocation) {
  auto object = ebpf::object::open(path_of("core_kernel.bpf.o"));
  try {
    object.load(only({"read_missing"}));
    FAIL() << "a reachable read of a field the kernel lacks must not load";
  } catch (const ebpf::verifier_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("read_missing"), std::string::npos) << what;
    EXPECT_NE(what.find("CO-RE relocation byte_off"), std::string::npos) << what;
    EXPECT_NE(what.find("task_struct___mine.ebpfpp_no_such_field"), std::string::npos) << what;
    EXPECT_NE(what.find("no field 'ebpfpp_no_such_field' in struct task_struct"), std::string::npos) << what;
    EXPECT_NE(e.log().find("invalid func unknown#195896080"), std::string::npos) << "the poison call";
  }
  // The same object's other programs, whose reads of that field are guarded, load.
  auto guarded = ebpf::object::open(path_of("core_kernel.bpf.o"));
  guarded.load(only({"query"}));
  ASSERT_EQ(guarded.program("query").test_run().retval, 0u);
  EXPECT_EQ(guarded.global<core_queries>("queries").missing_field_value, 0u);
}

// The same source built with libbpf's <bpf/bpf_core_read.h> included before ours: our header
// steps aside for libbpf's macros, the CO-RE relocations clang emits are the same records (kind,
// type, access path) as with our macros, and the programs see the same values.
using relocation_key = std::tuple<std::string, std::string, ebpf::core_relocation_kind, std::string>;

std::vector<relocation_key> core_relocations(const ebpf::object_spec& spec) {
  std::vector<relocation_key> keys;
  for (const auto& function : spec.functions)
    for (const auto& relocation : function.core_relocations)
      keys.emplace_back(function.name, std::string(spec.types->type(relocation.type_id).name), relocation.kind,
                        std::string(relocation.access_string));
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST_F(CoreTest, LibbpfCoreReadHeaderFirstGivesTheSameRelocationsAndValues) {
  auto ours = ebpf::object::open(path_of("core_kernel.bpf.o"));
  auto libbpf = ebpf::object::open(path_of("core_kernel_libbpf.bpf.o"));
  const auto our_relocations = core_relocations(ours.spec());
  EXPECT_GT(our_relocations.size(), 40u);
  EXPECT_EQ(our_relocations, core_relocations(libbpf.spec()));

  const std::vector<std::string> programs = {"query", "read_current", "read_direct", "write_bitfields", "read_misc"};
  ours.load(only(programs));
  libbpf.load(only(programs));
  ASSERT_EQ(ours.program("query").test_run().retval, 0u);
  ASSERT_EQ(libbpf.program("query").test_run().retval, 0u);
  auto a = ours.global<core_queries>("queries");
  auto b = libbpf.global<core_queries>("queries");
  a.task_id_local = b.task_id_local = 0;  // ids in each object's own BTF
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);

  const __kernel_timespec timespec{42, 43};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, "both");
  const auto our_view = run_reads(ours, true, timespec, address);
  const auto libbpf_view = run_reads(libbpf, true, timespec, address);
  // The threads differ (their ids); everything else is the same process seen twice.
  auto our_reads = our_view.reads;
  auto libbpf_reads = libbpf_view.reads;
  EXPECT_EQ(our_reads.pid, our_view.tid);
  EXPECT_EQ(libbpf_reads.pid, libbpf_view.tid);
  our_reads.pid = libbpf_reads.pid = 0;
  EXPECT_EQ(std::memcmp(&our_reads, &libbpf_reads, sizeof our_reads), 0);
  EXPECT_EQ(our_view.direct.reset_on_fork, libbpf_view.direct.reset_on_fork);
}

}  // namespace
