// ebpfpp: libbpf-compatible ELF section names for programs. Pure: no kernel.
//
// SEC("tracepoint/sched/sched_process_exec") or SEC("cgroup_skb/ingress") says which program
// type and expected attach type a program has, and for many kinds also what to attach to.
// The conventions are libbpf's (the section_defs table in libbpf's src/libbpf.c, v1.6), so objects
// written for libbpf load unchanged.
//
// Matching follows libbpf exactly and is case-sensitive:
//   "xdp"       exact: only SEC("xdp") (SEC("xdp/foo") is no longer accepted since libbpf 1.0);
//   "kprobe+"   SEC("kprobe") or SEC("kprobe/<target>"), never SEC("kprobefoo");
// and a leading '?' (SEC("?xdp")) means the same convention with autoload off.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <ebpf/types.hpp>

namespace ebpf {

/// BPF_F_SLEEPABLE (kernel 5.10): the program may sleep (".s" sections, "syscall").
inline constexpr std::uint32_t prog_flag_sleepable = 1u << 4;
/// BPF_F_XDP_HAS_FRAGS (kernel 5.18): the XDP program handles multi-buffer frames ("xdp.frags").
inline constexpr std::uint32_t prog_flag_xdp_has_frags = 1u << 5;

/// How a program can be attached from its section name alone (libbpf's auto-attach function for
/// the convention). `none`: attaching needs something the name cannot say (a cgroup, an interface,
/// a map), or the kind is run rather than attached (syscall, socket filters).
enum class attach_method : std::uint8_t {
  none,
  kprobe,           ///< kprobe/<function>[+<offset>], kretprobe/<function>
  ksyscall,         ///< ksyscall/<syscall>, kretsyscall/<syscall> (the arch syscall wrapper)
  kprobe_multi,     ///< kprobe.multi/<glob>, kretprobe.multi/<glob> (kernel 5.18)
  kprobe_session,   ///< kprobe.session/<glob> (kernel 6.10)
  uprobe,           ///< uprobe/<path>:<function>[+<offset>], uretprobe/...
  uprobe_multi,     ///< uprobe.multi/<path>:<glob>, uretprobe.multi/... (kernel 6.6)
  uprobe_session,   ///< uprobe.session/<path>:<glob> (kernel 6.13)
  usdt,             ///< usdt/<path>:<provider>:<name>
  tracepoint,       ///< tp/<category>/<name>
  raw_tracepoint,   ///< raw_tp/<name>
  tracing,          ///< fentry/fexit/fmod_ret/tp_btf/freplace: the BTF target chosen at load
  lsm,              ///< lsm/<hook>: the BTF target chosen at load
  iter,             ///< iter/<iterator>: creates an iterator link
};

/// What a program's section name means.
struct section_info {
  program_type type = program_type::unspec;
  /// The expected_attach_type passed at load time (and the default attach type), if any. Absent
  /// means 0 at load. For "usdt" libbpf switches to attach_type::trace_uprobe_multi at load when
  /// the kernel has uprobe_multi links (6.6); that is the loader's choice, not the name's.
  std::optional<attach_type> expected_attach_type;
  /// The part after "<prefix>/" for "prefix+" conventions: "sched/sched_process_exec" for
  /// "tracepoint/sched/sched_process_exec", "do_sys_open" for "kprobe/do_sys_open"; empty for exact
  /// conventions and for a bare "kprobe" (or "kprobe/"). Never checked here: see parse_*_target().
  std::string attach_target;
  /// The matched convention in libbpf's spelling, e.g. "tracepoint+" or "cgroup_skb/ingress"
  /// (static storage; for messages).
  std::string_view convention;
  bool sleepable = false;  ///< ".s" variants and "syscall" (BPF_F_SLEEPABLE)
  bool autoload = true;    ///< false for a leading '?'
  /// Every prog_flags bit the name implies: prog_flag_sleepable when sleepable,
  /// prog_flag_xdp_has_frags for "xdp.frags...". OR it into the load attributes.
  std::uint32_t program_flags = 0;
  /// The expected attach type is part of what the kernel checks at load and must always be passed
  /// (cgroup/connect4, fentry, lsm, xdp/devmap, kprobe.multi, netfilter, ...). False when there is
  /// none, or when libbpf marks it optional (SEC_EXP_ATTACH_OPT: "xdp", "sockops", "sk_skb/...",
  /// "sk_msg", "cgroup_skb/...", "cgroup/sock", "cgroup/dev", "lirc_mode2", "flow_dissector"):
  /// those are still passed, but may be dropped on kernels older than 4.17, which lack the field.
  bool attach_type_at_load = false;
  /// libbpf's SEC_ATTACHABLE: libbpf_attach_type_by_name() answers with expected_attach_type
  /// (the cgroup, sockmap and similar BPF_PROG_ATTACH kinds). Informational.
  bool attachable = false;
  /// Program types whose attach target is a BTF id resolved at load (fentry, lsm, tp_btf, iter...).
  /// The target is attach_target ("<function>" or "<module>:<function>"); an empty one must be set
  /// by the user before load.
  bool needs_btf_attach_target = false;
  /// How the program attaches from its name alone (see attach_method).
  attach_method method = attach_method::none;
  /// kretprobe, kretsyscall, kretprobe.multi, uretprobe, uretprobe.multi (and their ".s" forms).
  bool retprobe = false;
};

/// Classifies a section name. Returns std::nullopt when no convention matches (the caller decides
/// whether that is an error: it is only one when a program lives in the section). Pure.
/// Throws: only std::bad_alloc.
std::optional<section_info> classify_section(std::string_view section_name);

/// The conventions classify_section knows, in libbpf's spelling ("kprobe+", "xdp", ...) and in
/// matching order (first match wins, as in libbpf). For "unsupported section" hints and the CLI.
std::span<const std::string_view> section_conventions() noexcept;

/// "<category>/<name>" of a tracepoint section ("sched/sched_switch").
struct tracepoint_target {
  std::string category;
  std::string name;
};
/// Splits a tracepoint attach_target at its first '/'. std::nullopt unless both parts are
/// non-empty. The parse_*_target functions throw only std::bad_alloc.
std::optional<tracepoint_target> parse_tracepoint_target(std::string_view target);

/// "<function>[+<offset>]" of a kprobe section.
struct kprobe_target {
  std::string function;
  std::uint64_t offset = 0;
};
/// Parses a kprobe attach_target: a function name of [A-Za-z0-9_.] and an optional "+<offset>"
/// (decimal, 0x hex or 0 octal, as libbpf's %li). Stricter than libbpf's sscanf, which ignores
/// trailing characters: anything else gives std::nullopt. (A kretprobe takes no offset: libbpf
/// rejects one, and so should the caller.)
std::optional<kprobe_target> parse_kprobe_target(std::string_view target);

/// "<binary path>:<function>[+<offset>]" of a uprobe section.
struct uprobe_target {
  std::string binary_path;
  std::string function;
  std::uint64_t offset = 0;
};
/// Parses a uprobe attach_target like libbpf's attach_uprobe(): the path runs to the first ':',
/// the function is the rest; a trailing "+<offset>" that is a whole number is split off. Both path
/// and function must be non-empty, else std::nullopt. (A uretprobe takes no offset.)
std::optional<uprobe_target> parse_uprobe_target(std::string_view target);

/// "<binary path>:<provider>:<name>" of a usdt section.
struct usdt_target {
  std::string binary_path;
  std::string provider;
  std::string name;
};
/// Parses a usdt attach_target: exactly three non-empty ':'-separated parts, else std::nullopt.
std::optional<usdt_target> parse_usdt_target(std::string_view target);

}  // namespace ebpf
