// ebpfpp: a program loaded into the kernel.
//
//   ebpf::instruction insns[] = {{0xb7, 0x00, 0, 2},   // r0 = 2
//                                {0x95, 0x00, 0, 0}};  // exit
//   auto prog = ebpf::program::load({.name = "two", .type = ebpf::program_type::socket_filter,
//                                    .instructions = insns});
//   auto result = prog.test_run({.data = packet});     // result.retval == 2
//   ebpf::link link = prog.attach_socket_filter(sock);  // detached when `link` is destroyed
//
// Programs usually come from ebpf::object (which fills program_load_spec from the ELF); load()
// here takes raw instructions. Every call needs root or CAP_BPF (+ CAP_PERFMON for tracing,
// CAP_NET_ADMIN for networking).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ebpf/link.hpp>
#include <ebpf/uprobe.hpp>
#include <ebpf/netdev.hpp>
#include <ebpf/network.hpp>
#include <ebpf/tracing.hpp>
#include <ebpf/iter.hpp>
#include <ebpf/section.hpp>
#include <ebpf/types.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

/// Everything needed to load one program from raw instructions (BPF_PROG_LOAD).
struct program_load_spec {
  /// The program's name: shown by bpftool and in every error message (truncated to 15 bytes in
  /// the kernel).
  std::string name{};
  program_type type = program_type::unspec;
  /// expected_attach_type; required by some types (cgroup_sock_addr, tracing, ...).
  std::optional<attach_type> expected_attach_type{};
  /// The instructions; must stay valid during load() only.
  std::span<const instruction> instructions{};
  std::string license = "GPL";
  /// kern_version: only kprobe programs on kernels before 5.0 check it.
  std::uint32_t kernel_version = 0;
  /// BPF_F_* program flags (e.g. BPF_F_SLEEPABLE = 1 << 4, BPF_F_XDP_HAS_FRAGS = 1 << 5).
  std::uint32_t flags = 0;
  /// BTF of the program (an fd from BPF_BTF_LOAD) with its bpf_func_info / bpf_line_info records.
  int btf_fd = -1;
  std::span<const std::byte> func_info{};
  std::uint32_t func_info_record_size = 0;
  std::span<const std::byte> line_info{};
  std::uint32_t line_info_record_size = 0;
  /// Attach target for tracing / lsm / struct_ops / freplace: a BTF type id, in vmlinux, in the
  /// BTF object attach_btf_obj_fd (5.11), or in the program attach_prog_fd.
  std::uint32_t attach_btf_id = 0;
  int attach_btf_obj_fd = -1;
  int attach_prog_fd = -1;
  /// fds referred to by index from the instructions (BPF_PSEUDO_MAP_IDX, kfunc BTF fds), 5.14.
  std::span<const int> fd_array{};
  /// Device for offloaded / dev-bound XDP programs.
  std::uint32_t ifindex = 0;
  /// A BPF token (6.9) granting the rights to load this program.
  int token_fd = -1;
  /// 0: ask the verifier for a log only when the load fails. 1, 2 (| 4 for statistics): always
  /// (load() then returns the log through its second argument).
  std::uint32_t log_level = 0;
  /// How errors name the program; empty means "program '<name>'".
  std::string subject{};
};

/// What the kernel reports about a loaded program (BPF_OBJ_GET_INFO_BY_FD).
struct program_info {
  std::uint32_t id = 0;
  program_type type = program_type::unspec;
  std::string name;  ///< as the kernel keeps it: at most 15 bytes
  /// The kernel's hash of the program's instructions (as bpftool shows it).
  std::array<std::uint8_t, 8> tag{};
  std::uint32_t xlated_length = 0;  ///< bytes of translated instructions
  std::uint32_t jited_length = 0;   ///< bytes of native code (0 without the JIT)
  std::vector<std::uint32_t> map_ids;
  std::uint32_t btf_id = 0;
  /// Run statistics: zero unless statistics are enabled (program::enable_stats(), or the sysctl
  /// kernel.bpf_stats_enabled), 5.1.
  std::uint64_t run_count = 0;
  std::chrono::nanoseconds run_time{0};
  std::uint32_t verified_instructions = 0;  ///< 5.16
  std::chrono::nanoseconds load_time{0};    ///< since boot
  std::uint32_t created_by_uid = 0;
  bool gpl_compatible = false;
  /// Runs skipped because the program was already running on that CPU (5.12); counted whether
  /// or not statistics are enabled.
  std::uint64_t recursion_misses = 0;
  /// The attach target of tracing / lsm / struct_ops / ext programs: a BTF type id in the BTF
  /// object attach_btf_object_id (vmlinux, a module, or a program's BTF), 5.16.
  std::uint32_t attach_btf_id = 0;
  std::uint32_t attach_btf_object_id = 0;
  std::uint32_t ifindex = 0;  ///< device of an offloaded / dev-bound program

  /// The tag as 16 lower-case hex digits, e.g. "4a8dbb4fa4ac1e2b".
  std::string tag_string() const;
};

/// A program's output streams (enum bpf_stream_id, kernel 6.17): what it writes with
/// bpf_stream_printk(BPF_STDOUT / BPF_STDERR, ...) from <ebpfpp/bpf.h>.
enum class program_stream : std::uint32_t { out = 1, err = 2 };

/// Options for program::test_run (BPF_PROG_TEST_RUN).
struct test_run_options {
  /// The input packet (networking programs). Empty for raw_tracepoint / syscall programs.
  std::span<const std::byte> data{};
  /// Capacity for the output packet; absent: data.size() + 4096 (room for a program that grows
  /// the packet). 0 disables data output.
  std::optional<std::size_t> data_out_size{};
  /// The context (e.g. struct __sk_buff, struct xdp_md, the u64 args of a raw tracepoint), 5.2.
  std::span<const std::byte> ctx{};
  /// Capacity for the output context; absent: ctx.size().
  std::optional<std::size_t> ctx_out_size{};
  /// Run the program this many times (duration is the average). The kernel treats 0 as 1.
  std::uint32_t repeat = 1;
  /// BPF_F_TEST_RUN_ON_CPU = 1 (with cpu, 5.10), BPF_F_TEST_XDP_LIVE_FRAMES = 2 (5.18).
  std::uint32_t flags = 0;
  std::uint32_t cpu = 0;
  /// Live-frames batch size (with BPF_F_TEST_XDP_LIVE_FRAMES).
  std::uint32_t batch_size = 0;
};

struct test_run_result {
  std::uint32_t retval = 0;
  std::chrono::nanoseconds duration{0};  ///< average per run
  std::vector<std::byte> data_out;       ///< the packet after the program (at most the capacity)
  /// The whole output size; larger than data_out.size() when the capacity was too small.
  std::size_t data_size_out = 0;
  std::vector<std::byte> ctx_out;
};

/// XDP attach flags for program::attach_xdp (XDP_FLAGS_* of <linux/if_link.h>).
namespace xdp_flags {
inline constexpr std::uint32_t none = 0;             ///< the kernel picks (native if the driver can)
inline constexpr std::uint32_t skb_mode = 1u << 1;   ///< generic XDP
inline constexpr std::uint32_t drv_mode = 1u << 2;   ///< native XDP in the driver
inline constexpr std::uint32_t hw_mode = 1u << 3;    ///< offloaded to the NIC
}  // namespace xdp_flags

/// A program in the kernel. Owns one fd; move-only (dup() for a second handle). Destroying it
/// closes the fd; the kernel keeps the program while a link, a pin or another fd holds it.
class program {
 public:
  /// An empty handle (fd() == -1).
  program() noexcept = default;
  /// Adopts the fd of a loaded program; `name`, `type` and the expected attach type are what
  /// the caller loaded it with (no syscall).
  program(unique_fd fd, std::string name, program_type type,
          std::optional<attach_type> expected_attach_type = std::nullopt) noexcept;

  program(program&&) noexcept = default;
  program& operator=(program&&) noexcept = default;
  program(const program&) = delete;
  program& operator=(const program&) = delete;
  ~program() = default;

  /// Loads raw instructions. Without a log level, a failed load is retried with a verifier log
  /// (growing it as needed) to explain the failure. `verifier_log`, when given, receives the log
  /// when one was produced (always with spec.log_level > 0).
  /// Throws: ebpf::verifier_error "program '<name>': verifier rejected it (...)" with the full log
  /// in log(); ebpf::error "program '<name>': load: <errno> (hint)" when the kernel gave no log
  /// (EPERM without privileges, E2BIG/EINVAL for attrs this kernel does not know).
  static program load(const program_load_spec& spec, std::string* verifier_log = nullptr);

  /// Adopts an fd of a program loaded elsewhere; name and type come from the kernel.
  /// Throws: errc::invalid_argument if the fd is not a BPF program; ebpf::error (errno).
  static program from_fd(unique_fd fd);
  /// Opens the program pinned at `path` in a bpffs (BPF_OBJ_GET).
  /// Throws: ebpf::error "program: open pinned '<path>': ..." (ENOENT when nothing is pinned
  /// there), errc::invalid_argument when the pinned object is not a program.
  static program from_pin(const std::string& path);
  /// Opens a loaded program by id (BPF_PROG_GET_FD_BY_ID). Throws: ebpf::error (ENOENT if gone).
  static program from_id(std::uint32_t id);

  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }
  int fd() const noexcept { return fd_.get(); }
  const std::string& name() const noexcept { return name_; }
  program_type type() const noexcept { return type_; }
  std::optional<attach_type> expected_attach_type() const noexcept { return expected_attach_type_; }

  /// A second handle on the same kernel program. Throws: ebpf::error (errno).
  program dup() const;
  /// The kernel's view: id, tag, sizes, maps, run statistics.
  /// Throws: ebpf::error "program '<name>': get info: ...".
  program_info info() const;
  /// The kernel's program id (shorthand for info().id). Throws: like info().
  std::uint32_t id() const;
  /// Pins the program at `path` in a bpffs (BPF_OBJ_PIN): it stays loaded after this process.
  /// Throws: ebpf::error "program '<name>': pin '<path>': ..." (ENOENT/EPERM when `path` is not
  /// inside a bpffs, EEXIST when taken).
  void pin(const std::string& path) const;

  /// Runs the program once or `repeat` times on the given input (BPF_PROG_TEST_RUN, 4.12; ctx
  /// 5.2; types: socket_filter, sched_cls/act, xdp, cgroup_skb, lwt, flow_dissector,
  /// raw_tracepoint (5.10), syscall (5.14), tracing, struct_ops, sk_lookup, netfilter, ...).
  /// Throws: ebpf::error "program '<name>': test run: ..." (ENOTSUPP/EINVAL for types without
  /// test-run support).
  test_run_result test_run(const test_run_options& options = {}) const;

  /// Moves up to buffer.size() pending bytes of the program's output stream into `buffer` (what
  /// it wrote with bpf_stream_printk(), or the kernel's own reports on BPF_STDERR, e.g. a may_goto
  /// timeout or an arena fault) and returns how many; 0 when nothing is pending. Reading
  /// consumes: each byte is returned once. Streams have no readiness fd: poll (see
  /// ebpf::async::stream_reader for a timer-driven reader).
  /// Kernel: 6.17 (BPF_PROG_STREAM_READ_BY_FD). Throws: ebpf::error "program '<name>': read
  /// stream ...: <errno>" (EINVAL on kernels without streams or for a bad stream id).
  std::size_t read_stream(program_stream stream, std::span<std::byte> buffer) const;
  /// Everything pending on `stream` (reads until the kernel returns 0). Throws: as above.
  std::string read_stream(program_stream stream) const;

  // ---- Attaching. Each returns an ebpf::link that detaches when destroyed. -----------------

  /// Attaches a tracepoint program to tracefs event <category>/<name> (e.g. "syscalls",
  /// "sys_enter_getpid"), mounting tracefs at /sys/kernel/tracing if needed. Uses a perf_event
  /// bpf_link (5.15), else PERF_EVENT_IOC_SET_BPF (4.7).
  /// Throws: ebpf::error "program '<name>': tracepoint '<cat>/<name>': ..." (ENOENT: no such
  /// tracepoint; EINVAL: not a tracepoint program).
  link attach_tracepoint(std::string_view category, std::string_view name) const;
  /// Attaches a raw_tracepoint program to tracepoint `name` ("sys_enter"), 4.17 (a bpf_link that
  /// can be pinned since 5.7). Throws: ebpf::error (ENOENT: no such tracepoint).
  link attach_raw_tracepoint(std::string_view name) const;
  /// Attaches a cgroup program (cgroup_skb, cgroup_sock, sock_addr, sockopt, sysctl, device,
  /// sock_ops) to the cgroup v2 directory `cgroup_fd` with `type`. Uses a cgroup bpf_link (5.7);
  /// where the kernel has no links, BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI (4.15), detached with
  /// BPF_PROG_DETACH when the link is destroyed. Throws: ebpf::error "program '<name>': attach to
  /// cgroup as <type>: ..." (EINVAL: the program's expected attach type differs).
  link attach_cgroup(int cgroup_fd, attach_type type) const;
  link attach_cgroup(const unique_fd& cgroup_fd, attach_type type) const {
    return attach_cgroup(cgroup_fd.get(), type);
  }
  /// Attaches an XDP program to interface `ifindex` with an XDP bpf_link (5.9); `flags` from
  /// xdp_flags (none: native when the driver supports it, else generic).
  /// Throws: ebpf::error "program '<name>': attach XDP to ifindex N: ..." (EBUSY: another program
  /// was attached without a link; EOPNOTSUPP: the mode is not supported by the driver).
  link attach_xdp(int ifindex, std::uint32_t flags = xdp_flags::none) const;
  /// Attaches a socket_filter program to `socket_fd` (SO_ATTACH_BPF, 3.19). The link keeps a
  /// duplicate of the socket fd and detaches with SO_DETACH_BPF when destroyed.
  /// Throws: ebpf::error "program '<name>': attach to socket: ...".
  link attach_socket_filter(int socket_fd) const;

  // ---- attach: tracing, perf events, kprobes, trampolines (lib/attach/tracing.cpp) ---------
  // (region owned by the tracing work; keep edits inside it)

  /// attach_tracepoint with a BPF cookie (perf_event bpf_link, 5.15). Without a cookie it falls
  /// back to PERF_EVENT_IOC_SET_BPF (4.7) like the two-argument form.
  /// Throws: like attach_tracepoint; errc::unsupported for a cookie on a kernel without perf
  /// links.
  link attach_tracepoint(std::string_view category, std::string_view name,
                         const tracepoint_options& options) const;
  /// attach_raw_tracepoint with a BPF cookie (6.10; 4.17 without one).
  /// Throws: ebpf::error "program '<name>': raw tracepoint '<tp>': ..." (E2BIG / EINVAL for a
  /// cookie before 6.10, with a hint).
  link attach_raw_tracepoint(std::string_view name, const raw_tracepoint_options& options) const;

  /// Opens perf events as `options` says (a software clock by default) and attaches this
  /// perf_event program to each: a perf_event bpf_link (5.15, carries the cookie), else
  /// PERF_EVENT_IOC_SET_BPF (4.9). Without a CPU and pid, one event per online CPU, all held by
  /// the returned link (destroying it detaches every one; pin()/update() then refuse, as there
  /// is no single kernel link; info() describes the first).
  /// Throws: ebpf::error "program '<name>': perf event <type>:<config> on CPU n: ..." (ENOENT:
  /// no such event or PMU, e.g. hardware events in a VM; EACCES/EPERM: perf_event_paranoid);
  /// errc::invalid_argument for a cpu < 0; errc::unsupported for a cookie before 5.15.
  link attach_perf_event(const perf_event_options& options = {}) const;
  /// Attaches to a perf event the caller opened (any type; the fd is duplicated, the caller keeps
  /// its own), and enables it. Same mechanisms and errors as above.
  link attach_perf_event(int perf_fd, std::uint64_t cookie = 0) const;

  /// Attaches a program whose target was fixed at load (tp_btf, fentry, fexit, fmod_ret, lsm,
  /// and freplace loaded with a target program): BPF_LINK_CREATE as a tracing link (5.10;
  /// cookie 5.19, tp_btf cookie 6.10), falling back to BPF_RAW_TRACEPOINT_OPEN (5.5) when the
  /// kernel has no such link and no cookie was asked for.
  /// Throws: ebpf::error "program '<name>': attach <attach type>: ..." (ENOTSUPP/EINVAL: the
  /// kernel cannot attach this type; EBUSY: freplace target already replaced);
  /// errc::unsupported for a cookie the kernel cannot carry.
  link attach_trace(const trace_options& options = {}) const;
  /// Attaches an lsm_cgroup program (SEC("lsm_cgroup/<hook>")) to the cgroup v2 directory
  /// `cgroup_fd`: the hook applies to that cgroup's tasks only (6.0, cgroup bpf_link).
  /// Throws: ebpf::error "program '<name>': attach lsm_cgroup to cgroup: ..." (EINVAL: not an
  /// lsm_cgroup program).
  link attach_lsm_cgroup(int cgroup_fd) const;
  /// Attaches this freplace (ext) program in place of global function `function` of the loaded
  /// program `target` (its BTF names the function): BPF_LINK_CREATE with the target's fd and the
  /// function's BTF id (5.10; a program can replace functions of several targets, each with its
  /// own link). The program must have been loaded for a compatible target (load_options::
  /// program_targets). Throws: ebpf::error "program '<name>': freplace '<function>' of program
  /// '<target>': ..." (errc::not_found when the target has no such function in its BTF; EINVAL:
  /// incompatible signature).
  link attach_freplace(const program& target, std::string_view function) const;

  /// Attaches a kprobe/kretprobe program to a kernel function (kprobe PMU 4.17, tracefs
  /// kprobe_events before that; perf_event bpf_link with cookie 5.15, else
  /// PERF_EVENT_IOC_SET_BPF). See kprobe_options for how the symbol is resolved.
  /// Throws: ebpf::error "program '<name>': kprobe '<symbol>+<off>': ..." naming the resolved
  /// symbol and the errno (ENOENT: unknown or unprobeable symbol, or a kernel without kprobes,
  /// CONFIG_KPROBES=n; EADDRNOTAVAIL: ambiguous name, 6.6+); errc::not_found when kallsyms has
  /// neither the function nor a clone (message lists candidates when several clones exist).
  link attach_kprobe(const kprobe_options& options) const;
  /// Attaches a kprobe.multi / kretprobe.multi / kprobe.session program to many functions with
  /// one kprobe_multi bpf_link (5.18; session 6.10; needs CONFIG_FPROBE).
  /// Throws: ebpf::error "program '<name>': kprobe_multi '<pattern or N symbols>': ..."
  /// (EOPNOTSUPP: no fprobe support; ESRCH/EINVAL: a function ftrace cannot attach to);
  /// errc::not_found when the pattern matches nothing; errc::invalid_argument for bad options.
  link attach_kprobe_multi(const kprobe_multi_options& options) const;
  // ---- end attach: tracing ------------------------------------------------------------------

  // ---- attach: iterators and struct_ops (lib/attach/iter.cpp, lib/attach/struct_ops.cpp) ----

  /// Creates an iterator link for an iterator program (SEC("iter/<name>"), whose target was
  /// fixed at load), restricted by `options` (a map to walk, a task, a cgroup; see iter_options).
  /// Nothing runs yet: read the output with read_iter(link) or an iter_reader, once per pass.
  /// struct_ops programs are registered through their map instead: object::attach_struct_ops.
  /// Kernel: 5.8 (BPF_LINK_CREATE with BPF_TRACE_ITER; iterator options 5.9, task/cgroup 6.1).
  /// Throws: ebpf::error "program '<name>': attach iterator '<target>': ..." (EINVAL: not an
  /// iterator program, or options the iterator does not take; EBADF: a bad map/cgroup fd).
  link attach_iter(const iter_options& options = {}) const;
  // ---- end attach: iterators and struct_ops -------------------------------------------------

  // ---- attach: uprobes and USDT (lib/attach/uprobe.cpp, lib/attach/usdt.cpp) ---------------

  /// Attaches this kprobe-type program (SEC("uprobe"), "uretprobe", "uprobe.s", ...) to a
  /// function or file offset of a user-space binary: a uprobe perf event (PMU, 4.17; tracefs
  /// uprobe_events before) held by a perf_event bpf_link (5.15, with the cookie) or
  /// PERF_EVENT_IOC_SET_BPF. Sleepable (".s") programs need 6.1 (uprobes only).
  /// Throws: ebpf::error "program '<name>': uprobe '<path>:<offset>': ..." (errc::not_found for
  /// a binary that cannot be found, errc::unknown_symbol for a missing function, EINVAL from the
  /// kernel for an offset outside the executable mappings); errc::unsupported for a cookie before
  /// 5.15.
  link attach_uprobe(const uprobe_options& options) const;
  /// Attaches to many functions of one binary with a single uprobe_multi link (6.6): for
  /// programs loaded with expected attach type trace_uprobe_multi (SEC("uprobe.multi"),
  /// "uretprobe.multi") or trace_uprobe_session (SEC("uprobe.session"), 6.13: the program runs at
  /// entry and, if it returned 0, at return; bpf_session_is_return() tells which).
  /// Throws: ebpf::error "program '<name>': uprobe_multi '<path>': ..." (EINVAL before 6.6 or when
  /// the program was not loaded for uprobe_multi; errc::unknown_symbol when a name or pattern
  /// matches nothing; errc::invalid_argument for sizes that differ).
  link attach_uprobe_multi(const uprobe_multi_options& options) const;
  /// Attaches to the USDT probe provider:name of a binary (every site of it), setting its
  /// semaphore while attached. The program reads the probe's arguments with <ebpfpp/usdt.h>,
  /// whose spec map (`ebpfpp_usdt`) must be one of the program's maps: this call finds it among
  /// them and stores one spec per site, keyed by the BPF cookie it gives the site. Needs BPF
  /// cookies: 5.15 (perf links) or 6.6 (uprobe_multi, used when the program was loaded with
  /// expected attach type trace_uprobe_multi, which ebpf::object does for SEC("usdt") where the
  /// kernel has uprobe_multi). usdt_options::mode chooses: automatic (uprobe_multi where it can,
  /// else one uprobe per site), uprobe_per_site or uprobe_multi.
  /// Throws: ebpf::error "program '<name>': usdt '<path>:<provider>:<name>': ..." (errc::not_found
  /// when the binary has no such probe (the message lists the probes it has) or the program uses
  /// no ebpfpp_usdt map; errc::invalid_object for malformed notes; like attach_uprobe otherwise).
  link attach_usdt(const usdt_options& options) const;

  // ---- end attach: uprobes and USDT ---------------------------------------------------------

  // ---- attach: XDP and TC (lib/attach/xdp_tc.cpp) -------------------------------------------
  // Option and query types: <ebpf/netdev.hpp>. An interface is an ifindex or a name.

  /// Attaches an XDP program to `iface` with a bpf_link (5.9) or through netlink (RTM_SETLINK
  /// IFLA_XDP, 4.8), per options.method. Mode flags: xdp_flags::skb_mode / drv_mode / hw_mode.
  /// netlink: xdp_flags::update_if_noexist fails instead of replacing; options.replace swaps out
  /// exactly that program (5.7). The netlink link detaches when destroyed, only if our program is
  /// still the attached one; link::update swaps programs (also only if ours is still there).
  /// Throws: ebpf::error "program '<name>': attach XDP to interface '<if>' (netlink): <errno>
  /// (kernel: <reason>)": EBUSY (a program or XDP link is already attached: update_if_noexist, or
  /// a link cannot replace), EEXIST (options.replace is not the attached program), EOPNOTSUPP
  /// (the driver lacks the mode), ENODEV (no such interface).
  link attach_xdp(const net_interface& iface, const xdp_options& options = {}) const;

  /// Attaches a sched_cls program as a cls_bpf filter in direct-action mode on `iface`'s clsact
  /// hook (netlink, 4.5), creating the clsact qdisc when there is none. The link deletes the
  /// filter when destroyed (and the qdisc if it made it and nothing else is on it; see
  /// tc_options); link::update replaces the program in place. Throws: ebpf::error "program
  /// '<name>': attach tc ingress filter to interface '<if>': add cls_bpf filter: ..." (EEXIST:
  /// handle and priority taken; EINVAL: not a sched_cls program).
  link attach_tc(const net_interface& iface, tc_direction direction,
                 const tc_options& options = {}) const;

  /// Attaches a sched_cls program to `iface`'s TCX hook (6.6), ordered among the others by
  /// options.position and anchor; a tcx bpf_link, or BPF_PROG_ATTACH with options.legacy_attach.
  /// The program returns TCX_NEXT (-1) to let the next one run, TCX_PASS (0) / TCX_DROP (2) /
  /// TCX_REDIRECT (7) to decide. Throws: ebpf::error "program '<name>': attach tcx ingress to
  /// interface '<if>': create link: ..." (ENOENT: the anchor is not there; ESTALE: the revision
  /// moved; EEXIST: already attached; EINVAL before 6.6).
  link attach_tcx(const net_interface& iface, tc_direction direction,
                  const tcx_options& options = {}) const;

  /// Attaches a program to a netkit device's primary or peer side (6.7), ordered like attach_tcx.
  /// Throws: ebpf::error "program '<name>': attach netkit primary to interface '<if>': ..."
  /// (EINVAL: not a netkit device, or a kernel without CONFIG_NETKIT).
  link attach_netkit(const net_interface& iface, netkit_side side,
                     const tcx_options& options = {}) const;
  // ---- end attach: XDP and TC ---------------------------------------------------------------

  // ---- attach: cgroups, sockets, netns, netfilter (lib/attach/network.cpp) ------------------

  /// Attaches a cgroup program to the cgroup v2 directory `cgroup_fd` as `type`, choosing the
  /// interface, the BPF_PROG_ATTACH flags (exclusive, override, multi), a program to replace and
  /// the run order (see cgroup_attach_options; the two-argument attach_cgroup is
  /// `{.api = automatic}`). The link detaches when destroyed: closing the bpf_link, or
  /// BPF_PROG_DETACH of this program.
  /// Kernel: 4.10 (BPF_PROG_ATTACH), 4.15 (allow_multi), 5.6 (replace), 5.7 (link),
  /// 6.17 (order, expected_revision).
  /// Throws: ebpf::error "program '<name>': attach to cgroup as <type>: ..." (EPERM: the hook is
  /// held with other flags here or exclusively by an ancestor; EINVAL: the program's expected
  /// attach type differs, or ordering on a kernel before 6.17; ESTALE: the revision moved);
  /// errc::invalid_argument for option combinations the kernel cannot honour (a link with
  /// exclusive/override flags or with replace, ordering without allow_multi, two anchors).
  link attach_cgroup(int cgroup_fd, attach_type type, const cgroup_attach_options& options) const;
  link attach_cgroup(const unique_fd& cgroup_fd, attach_type type,
                     const cgroup_attach_options& options) const {
    return attach_cgroup(cgroup_fd.get(), type, options);
  }

  /// Attaches an sk_msg or sk_skb program to a sockmap or sockhash (`map_fd`) as `type`
  /// (default: the program's expected attach type): sk_msg_verdict, sk_skb_stream_parser,
  /// sk_skb_stream_verdict or sk_skb_verdict (5.13). automatic: a sockmap bpf_link (6.10), else
  /// BPF_PROG_ATTACH with the map as target (4.14). Sockets take the map's programs when they
  /// are inserted: a socket already in the map keeps running a program after the link is
  /// destroyed, until it is removed from the map (kernel/bpf/sockmap.c: each psock holds its own
  /// references).
  /// Throws: ebpf::error "program '<name>': attach to sockmap fd N as <type>: ..." (EBUSY /
  /// EEXIST: a program is already attached for that type; EINVAL: wrong program or map type);
  /// errc::invalid_argument when no type is known.
  link attach_sockmap(int map_fd, std::optional<attach_type> type = std::nullopt,
                      attach_api api = attach_api::automatic) const;

  /// Attaches an sk_lookup (5.9, link only) or flow_dissector program (link 5.7, BPF_PROG_ATTACH
  /// 4.20) to the network namespace `netns_fd` (an fd of /proc/PID/ns/net or a bind mount of
  /// one); -1: the calling thread's namespace. A flow dissector runs only when something
  /// computes a packet's flow hash (RPS, packet fanout, ECMP, bpf_get_hash_recalc...).
  /// Throws: ebpf::error "program '<name>': attach to network namespace as <type>: ..." (EEXIST:
  /// a flow dissector is already attached there); errc::invalid_argument for other program types.
  link attach_netns(int netns_fd = -1, attach_api api = attach_api::automatic) const;

  /// Attaches a netfilter program to a hook of the calling thread's network namespace (a
  /// netfilter bpf_link, 6.4; ip_defrag 6.6). The program returns NF_DROP (0) or NF_ACCEPT (1).
  /// Throws: ebpf::error "program '<name>': attach to netfilter <family> <hook> priority N: ..."
  /// (ERANGE: a reserved priority; EOPNOTSUPP: no defragmentation for the family; EINVAL: older
  /// kernel or not a netfilter program).
  link attach_netfilter(const netfilter_attach_options& options) const;

  /// Makes an sk_reuseport program choose the socket of `socket_fd`'s SO_REUSEPORT group
  /// (SO_ATTACH_REUSEPORT_EBPF, 4.19); detached with SO_DETACH_REUSEPORT_BPF (5.3). The link
  /// keeps a duplicate of the socket fd.
  /// Throws: ebpf::error "program '<name>': attach to socket: ..." (EINVAL: SO_REUSEPORT not set
  /// before bind, or not an sk_reuseport / socket filter program).
  link attach_reuseport(int socket_fd) const;
  // ---- end attach: cgroups, sockets, netns, netfilter ---------------------------------------

  /// Attaches where the program's section says, for sections that name their target:
  /// "tracepoint/<category>/<name>" (or "tp/"), "raw_tp/<name>" (or "raw_tracepoint/"), the
  /// BTF-targeted kinds whose target was fixed at load ("tp_btf/", "fentry/", "fexit/",
  /// "fmod_ret/", "lsm/", "freplace/"; "lsm_cgroup/" needs a cgroup), "kprobe/<function>
  /// [+<offset>]" and "kretprobe/", "ksyscall/<name>" and "kretsyscall/", "kprobe.multi/<pattern>" and
  /// "kretprobe.multi/", "kprobe.session/", "iter/<target>", and the uprobe family with a
  /// target in the section ("uprobe/<binary>:<symbol>[+<offset>]", "uretprobe/", "uprobe.multi/",
  /// "uretprobe.multi/", "uprobe.session/", "usdt/<binary>:<provider>:<name>", which attaches
  /// with usdt_attach_mode::automatic). Programs loaded by ebpf::object know their section;
  /// others have none. "sk_lookup" and "flow_dissector" attach to the calling thread's network
  /// namespace (attach_netns()). struct_ops programs are attached through their map
  /// (object::attach_struct_ops).
  /// Throws: ebpf::error(errc::invalid_argument) naming the attach_* call to use when the section
  /// does not say where (cgroup, xdp, socket, ...) or the program has no section; otherwise like
  /// the attach_* call it makes.
  link attach() const;

  /// The section this program came from, when an ebpf::object loaded it.
  const std::optional<section_info>& section() const noexcept { return section_; }
  /// Records the section (the object loader does this).
  void set_section(section_info section) { section_ = std::move(section); }

 private:
  unique_fd fd_;
  std::string subject_;  // how errors name it: "program 'f'" or the loader's longer subject
  std::string name_;
  program_type type_ = program_type::unspec;
  std::optional<attach_type> expected_attach_type_;
  std::optional<section_info> section_;
};

/// Turns on run_count / run_time collection for every program while the returned fd is open
/// (BPF_ENABLE_STATS, 5.8). Throws: ebpf::error "enable stats: ...".
unique_fd enable_program_stats();

/// The ids of every program in the kernel, ascending (BPF_PROG_GET_NEXT_ID, 4.13). A program can
/// be unloaded before it is opened: program::from_id then fails with ENOENT.
/// Throws: ebpf::error (EPERM without CAP_SYS_ADMIN).
std::vector<std::uint32_t> program_ids();

}  // namespace ebpf
