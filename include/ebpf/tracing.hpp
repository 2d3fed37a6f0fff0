// ebpfpp: options for attaching tracing programs (perf events, tracepoints with cookies, kprobes,
// kprobe_multi, and the BTF trampolines fentry/fexit/fmod_ret/lsm/freplace). The attach calls
// themselves are members of ebpf::program (include/ebpf/program.hpp, "attach: tracing").
//
//   // Sample every online CPU at 1 kHz; one ebpf::link holds the per-CPU attachments.
//   ebpf::link sampling = prog.attach_perf_event({.sample_frequency = 1000});
//   // kprobe on a function (compiler clones such as "foo.isra.0" are found for "foo").
//   ebpf::link probe = kprobe_prog.attach_kprobe({.symbol = "do_sys_openat2", .cookie = 7});
//   // A syscall by its name: "__x64_sys_getpid" on x86-64.
//   ebpf::link sys = kprobe_prog.attach_kprobe({.symbol = "getpid", .syscall = true});
//
// A BPF cookie is a 64-bit value the program reads with bpf_get_attach_cookie(ctx); it tells
// apart several attachments of one program. Where the running kernel cannot carry the cookie
// the attach call fails (errc::unsupported) rather than dropping it silently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ebpf {

/// perf_event_attr.type values (PERF_TYPE_* of <linux/perf_event.h>). A dynamic PMU's type is in
/// /sys/bus/event_source/devices/<pmu>/type.
namespace perf_type {
inline constexpr std::uint32_t hardware = 0;
inline constexpr std::uint32_t software = 1;
inline constexpr std::uint32_t tracepoint = 2;
inline constexpr std::uint32_t hw_cache = 3;
inline constexpr std::uint32_t raw = 4;
inline constexpr std::uint32_t breakpoint = 5;
}  // namespace perf_type

/// Software events (perf_type::software configs, PERF_COUNT_SW_*): they need no hardware PMU, so
/// they work in VMs and containers.
namespace software_event {
inline constexpr std::uint64_t cpu_clock = 0;        ///< period in nanoseconds of CPU time
inline constexpr std::uint64_t task_clock = 1;       ///< like cpu_clock, counted per task
inline constexpr std::uint64_t page_faults = 2;
inline constexpr std::uint64_t context_switches = 3;
inline constexpr std::uint64_t cpu_migrations = 4;
inline constexpr std::uint64_t page_faults_min = 5;
inline constexpr std::uint64_t page_faults_maj = 6;
inline constexpr std::uint64_t alignment_faults = 7;
inline constexpr std::uint64_t emulation_faults = 8;
inline constexpr std::uint64_t dummy = 9;
inline constexpr std::uint64_t cgroup_switches = 11;  ///< 5.13
}  // namespace software_event

/// Hardware events (perf_type::hardware configs, PERF_COUNT_HW_*): need a CPU PMU (not in most
/// VMs: perf_event_open then gives ENOENT).
namespace hardware_event {
inline constexpr std::uint64_t cpu_cycles = 0;
inline constexpr std::uint64_t instructions = 1;
inline constexpr std::uint64_t cache_references = 2;
inline constexpr std::uint64_t cache_misses = 3;
inline constexpr std::uint64_t branch_instructions = 4;
inline constexpr std::uint64_t branch_misses = 5;
}  // namespace hardware_event

/// What program::attach_perf_event opens and attaches a perf_event program to.
struct perf_event_options {
  std::uint32_t type = perf_type::software;
  std::uint64_t config = software_event::cpu_clock;
  /// Run the program every `sample_period` events (nanoseconds for the clocks). Used when
  /// sample_frequency is 0; 0 for both means a period of 1.
  std::uint64_t sample_period = 0;
  /// Or aim at this many runs per second (the kernel adapts the period).
  std::uint64_t sample_frequency = 0;
  /// One CPU; absent: every online CPU (with pid -1, one perf event per CPU, all held by the one
  /// returned link), or wherever the thread runs (with a pid).
  std::optional<int> cpu{};
  /// Only this thread (a tid; a process's main thread has tid == pid); -1: every process (which
  /// needs CAP_PERFMON, or CAP_SYS_ADMIN before 5.8).
  int pid = -1;
  /// Also count the threads the target creates after attach (perf_event_attr.inherit).
  bool inherit = false;
  /// bpf_get_attach_cookie() in the program (5.15, perf_event bpf_link). The same cookie on every
  /// CPU's event.
  std::uint64_t cookie = 0;
};

/// Options for program::attach_tracepoint(category, name, options).
struct tracepoint_options {
  /// bpf_get_attach_cookie() in the program (5.15: needs the perf_event bpf_link).
  std::uint64_t cookie = 0;
};

/// Options for program::attach_raw_tracepoint(name, options).
struct raw_tracepoint_options {
  /// bpf_get_attach_cookie() in the program (6.10, BPF_RAW_TRACEPOINT_OPEN's cookie).
  std::uint64_t cookie = 0;
};

/// Options for program::attach_trace (tp_btf, fentry, fexit, fmod_ret, lsm, freplace at the
/// target chosen when the program was loaded).
struct trace_options {
  /// bpf_get_attach_cookie() in the program: fentry/fexit/fmod_ret/lsm 5.19 (tracing link),
  /// tp_btf 6.10. Not for freplace.
  std::uint64_t cookie = 0;
};

/// Options for program::attach_kprobe. The target is `symbol` (+ `offset`) or `address`.
struct kprobe_options {
  /// A kernel function. Resolved against /proc/kallsyms: when the exact name is absent, its
  /// unique compiler clone ("<symbol>.isra.0", ".constprop.N", ".part.N", ".llvm.N") is used.
  /// With `syscall`, a syscall name ("getpid"), resolved to the arch wrapper "__x64_sys_getpid"
  /// (x86-64; "sys_getpid" on kernels before 4.17).
  std::string symbol{};
  /// Bytes into the function (kprobe only; a kretprobe takes none).
  std::uint64_t offset = 0;
  /// A kernel text address instead of a symbol (mapped back to symbol+offset with kallsyms, so
  /// it needs real addresses there: root with kptr_restrict < 2).
  std::optional<std::uint64_t> address{};
  /// A kretprobe: run when the function returns.
  bool retprobe = false;
  /// `symbol` names a syscall (SEC("ksyscall/<name>") / SEC("kretsyscall/<name>")).
  bool syscall = false;
  /// bpf_get_attach_cookie() in the program (5.15; needs the perf_event bpf_link).
  std::uint64_t cookie = 0;
};

/// Options for program::attach_kprobe_multi (one link on many functions, 5.18; kprobe.session
/// programs, 6.10, get entry and return in one program). Give exactly one of `pattern`,
/// `symbols`, `addresses`.
struct kprobe_multi_options {
  /// A glob ('*', '?') over the functions ftrace can attach to (tracefs
  /// available_filter_functions; when that is unreadable, the text symbols of /proc/kallsyms).
  std::string pattern{};
  std::vector<std::string> symbols{};
  std::vector<std::uint64_t> addresses{};
  /// One cookie per symbol/address (same order), or empty. Not with `pattern`.
  std::vector<std::uint64_t> cookies{};
  /// kretprobe.multi (BPF_F_KPROBE_MULTI_RETURN). Ignored for kprobe.session programs.
  bool retprobe = false;
};

}  // namespace ebpf
