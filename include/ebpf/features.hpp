// ebpfpp: what the running kernel supports, found out by trying (like `bpftool feature probe`).
//
//   if (ebpf::probe_map_type(ebpf::map_type::ringbuf)) ...            // ring buffer or perf buffer?
//   if (!ebpf::probe_helper(ebpf::program_type::xdp, 51)) ...          // bpf_redirect_map in XDP?
//   auto r = ebpf::probe_feature(ebpf::kernel_feature::btf_enum64);   // r.state, r.error, r.detail
//
// Each probe makes the kernel do the smallest thing that needs the feature: load a two-instruction
// program of a type, create a one-entry map of a type, load a program calling a helper, upload a
// few bytes of BTF using a kind, create a link against a target that cannot exist and read the
// errno. The answer is one of three:
//   supported    the kernel did it, or refused for a reason that shows it knows the feature (a
//                verifier complaint about a helper's arguments means it knows the helper);
//   unsupported  the kernel said it does not know it (EINVAL for a type, "unknown func" for a
//                helper, a BTF kind it rejects...);
//   unknown      the probe could not tell: `error` holds the errno (EPERM without privileges or
//                under lockdown, EOPNOTSUPP when no probe can be built for the combination).
// Probes need the privileges the feature itself needs (root, or CAP_BPF + CAP_PERFMON +
// CAP_NET_ADMIN); without them the answers are unknown with EPERM.
//
// Cache: answers are kept process-wide after the first probe of each question (one map guarded
// by a mutex; concurrent callers are safe and may both probe the same question once). Only
// supported and unsupported answers are cached; an unknown answer is probed again next time
// (it may come from a transient condition: missing privileges, memory limits).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <ebpf/types.hpp>

namespace ebpf {

/// The answer of a feature probe.
enum class support : std::uint8_t { unsupported = 0, supported = 1, unknown = 2 };

/// "supported", "unsupported" or "unknown".
std::string_view to_string(support answer) noexcept;

struct probe_result {
  support state = support::unknown;
  /// The errno behind the answer: why it is unknown (EPERM, EOPNOTSUPP...), or how the kernel
  /// refused an unsupported feature (EINVAL...). 0 when the kernel did what was asked.
  int error = 0;
  /// The verifier's line that decided, when one did ("unknown func bpf_sys_bpf#166", "program of
  /// this type cannot use helper bpf_probe_write_user#36"); otherwise empty.
  std::string detail;

  bool supported() const noexcept { return state == support::supported; }
  explicit operator bool() const noexcept { return supported(); }
};

/// Kernel features the loader (and users choosing fallbacks) care about.
enum class kernel_feature : std::uint32_t {
  prog_name,              ///< BPF_PROG_LOAD takes a name (4.15)
  expected_attach_type,   ///< BPF_PROG_LOAD takes expected_attach_type (4.17)
  btf,                    ///< BPF_BTF_LOAD of plain BTF (4.18)
  btf_func,               ///< BTF_KIND_FUNC and FUNC_PROTO (5.0)
  btf_func_global,        ///< BTF_FUNC_GLOBAL linkage: global functions verified alone (5.6)
  btf_datasec,            ///< BTF_KIND_VAR and DATASEC: global data with BTF (5.2)
  btf_float,              ///< BTF_KIND_FLOAT (5.13)
  btf_decl_tag,           ///< BTF_KIND_DECL_TAG (5.16)
  btf_type_tag,           ///< BTF_KIND_TYPE_TAG (5.17)
  btf_enum64,             ///< BTF_KIND_ENUM64 (6.0)
  btf_in_map_create,      ///< BPF_MAP_CREATE with key/value BTF (4.18)
  module_btf,             ///< BTF objects have names: module BTF (5.11)
  global_data,            ///< BPF_PSEUDO_MAP_VALUE: .data/.rodata/.bss (5.2)
  mmapable_maps,          ///< BPF_F_MMAPABLE arrays (5.5)
  ringbuf,                ///< BPF_MAP_TYPE_RINGBUF (5.8)
  bounded_loops,          ///< back-edges the verifier can bound (5.3)
  probe_read_kernel,      ///< bpf_probe_read_kernel (5.5)
  bpf_cookie,             ///< bpf_get_attach_cookie (5.15)
  kfunc_calls,            ///< calls of kernel functions (BPF_PSEUDO_KFUNC_CALL, 5.13)
  enable_stats,           ///< BPF_ENABLE_STATS (5.8)
  bpf_link,               ///< BPF_LINK_CREATE, cgroup links (5.7)
  perf_link,              ///< perf_event bpf_links (5.15)
  kprobe_multi_link,      ///< kprobe_multi links (5.18; needs CONFIG_FPROBE)
  uprobe_multi_link,      ///< uprobe_multi links (6.6)
  tcx_link,               ///< tcx links (6.6)
  netkit_link,            ///< netkit links (6.7; needs CONFIG_NETKIT)
  /// struct_ops maps created with BPF_F_LINK and registered by BPF_LINK_CREATE, replaceable by
  /// BPF_LINK_UPDATE (6.4). Without it the loader creates SEC(".struct_ops.link") maps as plain
  /// struct_ops maps, registered by their value (5.6).
  struct_ops_link,
};

/// Every kernel_feature, in declaration order.
std::span<const kernel_feature> all_kernel_features() noexcept;
/// The snake_case name ("btf_enum64"), as `ebpfpp feature --json` prints it.
std::string_view to_string(kernel_feature feature) noexcept;
/// A short description with the kernel version that added it ("BTF_KIND_ENUM64 (6.0)").
std::string_view description(kernel_feature feature) noexcept;

/// The helper's name ("bpf_map_lookup_elem") for helper ids up to those of kernel 6.18, else "".
std::string_view helper_name(std::uint32_t helper_id) noexcept;
/// One past the largest helper id helper_name() knows (enum bpf_func_id's __BPF_FUNC_MAX_ID).
std::uint32_t helper_id_limit() noexcept;

/// Whether the kernel can load programs of `type`: loads `r0 = 0; exit` (with the expected attach
/// type or target the type requires, as libbpf's probes do). Throws: nothing.
probe_result probe_program_type(program_type type);
/// Whether the kernel can create maps of `type` (a one-entry map; BTF for the storage maps).
/// Any number works, including types newer than map_type names. Throws: nothing.
probe_result probe_map_type(map_type type);
/// Whether programs of `type` may call helper `helper_id`: loads `call helper_id; exit` and reads
/// the verifier's verdict. Unsupported when the program type is; unknown (EOPNOTSUPP) for the
/// types that need a real attach target to load at all (tracing, lsm, ext, struct_ops).
/// Throws: nothing.
probe_result probe_helper(program_type type, std::uint32_t helper_id);
/// Whether the kernel has `feature`. Throws: nothing.
probe_result probe_feature(kernel_feature feature);

namespace detail {

/// The verdict on a helper probe (pure; unit-tested): `error` is 0 when the load succeeded, else
/// its errno; `log` is the verifier log of the attempt.
///   - loaded: supported;
///   - "invalid func " (id unknown to the kernel), "unknown func " (known, not for this program
///     type) or "program of this type cannot use helper " (refused for this type or by lockdown):
///     unsupported, with that line as the detail;
///   - any other verifier complaint: supported (the verifier got past the helper lookup and
///     objected to something else, e.g. the arguments), as libbpf and bpftool decide;
///   - no log at all: unknown with `error` (the verifier never ran: EPERM, ENOMEM...).
probe_result classify_helper_probe(int error, std::string_view log);

/// The verdict on a program-type probe (pure): loaded: supported; EINVAL/E2BIG without a log
/// (BPF_PROG_LOAD rejects an unknown type before the verifier runs): unsupported; a log means the
/// type is known (the verifier ran). `expected_error`/`expected_message`: for types whose probe
/// cannot load (tracing, ext, struct_ops), the failure that proves the type exists.
probe_result classify_program_type_probe(int error, std::string_view log, int expected_error,
                                         std::string_view expected_message);

/// The last non-empty line of a verifier log that contains `needle`, or "" (for details).
std::string_view log_line_with(std::string_view log, std::string_view needle) noexcept;

}  // namespace detail
}  // namespace ebpf
