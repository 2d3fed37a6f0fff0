// ebpfpp: options and results of the network attach calls of ebpf::program (cgroups, sockmaps,
// network namespaces, netfilter, SO_REUSEPORT groups).
//
//   // Two programs on one cgroup hook, the second one run first (cgroup ordering: 6.17):
//   auto a = count.attach_cgroup(cgroup_fd, ebpf::attach_type::cgroup_inet_egress);
//   auto b = audit.attach_cgroup(cgroup_fd, ebpf::attach_type::cgroup_inet_egress,
//                                {.order = {.position = ebpf::cgroup_position::before}});
//   auto attached = ebpf::query_cgroup(cgroup_fd, ebpf::attach_type::cgroup_inet_egress);
//   // attached.programs[0].program_id == audit.id()
//
//   // Netfilter (6.4): count every IPv4 packet this network namespace sends.
//   auto nf = prog.attach_netfilter({.family = ebpf::netfilter_family::ipv4,
//                                    .hook = ebpf::netfilter_hook::local_out});
//
// Included by <ebpf/program.hpp>; the attach calls themselves are members of ebpf::program.
#pragma once

#include <cstdint>
#include <vector>

#include <ebpf/types.hpp>

namespace ebpf {

class program;
class link;

/// Which kernel interface an attach call uses.
enum class attach_api : std::uint8_t {
  /// A bpf_link where the kernel has one for the hook, else the older BPF_PROG_ATTACH.
  automatic,
  /// Only a bpf_link (BPF_LINK_CREATE): pinnable, updatable, detached when its last fd closes.
  link,
  /// Only BPF_PROG_ATTACH: no link object; ebpf::link undoes it with BPF_PROG_DETACH.
  prog_attach,
};

/// BPF_PROG_ATTACH flags of a cgroup hook (cgroup_attach_options::flags). They describe how the
/// programs of a cgroup combine with those of its descendants (kernel/bpf/cgroup.c):
namespace cgroup_flags {
/// Exclusive: descendant cgroups may not attach to this hook at all (EPERM), and a second
/// attach to this cgroup replaces the program.
inline constexpr std::uint32_t none = 0;
/// BPF_F_ALLOW_OVERRIDE: a descendant may attach its own program, which then runs instead of
/// this one for the descendant's processes.
inline constexpr std::uint32_t allow_override = 1u << 0;
/// BPF_F_ALLOW_MULTI: several programs per cgroup, and the programs of every ancestor run too
/// (ancestors' after the cgroup's own). What a bpf_link always uses.
inline constexpr std::uint32_t allow_multi = 1u << 1;
}  // namespace cgroup_flags

/// Where a program goes in the run order of a multi-program cgroup hook (BPF_F_BEFORE /
/// BPF_F_AFTER). Kernel: 6.17 for cgroups (older kernels give EINVAL).
enum class cgroup_position : std::uint8_t {
  unspecified,  ///< no ordering request: appended (the kernel's order before 6.17)
  before,       ///< before the anchor, or first when there is none
  after,        ///< after the anchor, or last when there is none
};

/// An ordering request: a position and at most one anchor. The anchor must be of the
/// attachment's own kind: a link is placed relative to another link (relative_link), a
/// BPF_PROG_ATTACH program relative to a program attached with BPF_PROG_ATTACH (by fd or id);
/// the kernel refuses a mix with EINVAL.
struct cgroup_order {
  cgroup_position position = cgroup_position::unspecified;
  /// Anchor: a program attached to the same hook (by fd)...
  const program* relative_program = nullptr;
  /// ... or a bpf_link attached to it (BPF_F_LINK) ...
  const link* relative_link = nullptr;
  /// ... or a program id (BPF_F_ID).
  std::uint32_t relative_program_id = 0;
};

/// Options for program::attach_cgroup.
struct cgroup_attach_options {
  /// automatic: a cgroup bpf_link (5.7), else BPF_PROG_ATTACH with `flags`.
  attach_api api = attach_api::automatic;
  /// BPF_PROG_ATTACH only (a link is always allow_multi): one of cgroup_flags.
  std::uint32_t flags = cgroup_flags::allow_multi;
  /// BPF_PROG_ATTACH with allow_multi only: atomically replace this attached program
  /// (BPF_F_REPLACE, 5.6).
  const program* replace = nullptr;
  /// Run order among the hook's programs (6.17).
  cgroup_order order{};
  /// Fail with ESTALE unless the hook's revision (query_cgroup().revision) is still this one;
  /// 0: no check. Kernel: 6.17 for cgroups.
  std::uint64_t expected_revision = 0;
};

/// One program attached to a cgroup hook.
struct cgroup_attached_program {
  std::uint32_t program_id = 0;
  /// The flags it was attached with (6.0; 0 in an effective query).
  std::uint32_t attach_flags = 0;
  /// The bpf_link holding it, 0 for BPF_PROG_ATTACH or when the kernel does not say (6.17).
  std::uint32_t link_id = 0;
};

/// What is attached to one hook of a cgroup (BPF_PROG_QUERY).
struct cgroup_query_result {
  /// The hook's mode in this cgroup: cgroup_flags::none, allow_override or allow_multi.
  std::uint32_t attach_flags = 0;
  /// In run order.
  std::vector<cgroup_attached_program> programs;
  /// Changes with every attach and detach (6.17; 0 before): the value for
  /// cgroup_attach_options::expected_revision.
  std::uint64_t revision = 0;
};

/// The programs attached to cgroup `cgroup_fd` for `type` (BPF_PROG_QUERY, 4.15). `effective`
/// (BPF_F_QUERY_EFFECTIVE): the programs that run for the cgroup's processes, including those
/// inherited from ancestors. Needs CAP_NET_ADMIN.
/// Throws: ebpf::error "cgroup fd N: query <type>: ..." (EINVAL: not a cgroup attach type).
cgroup_query_result query_cgroup(int cgroup_fd, attach_type type, bool effective = false);

/// Netfilter protocol families (NFPROTO_*) a netfilter link can hook.
enum class netfilter_family : std::uint32_t { ipv4 = 2, ipv6 = 10 };

/// Netfilter hooks (enum nf_inet_hooks).
enum class netfilter_hook : std::uint32_t {
  pre_routing = 0,
  local_in = 1,
  forward = 2,
  local_out = 3,
  post_routing = 4,
};

/// Flags of a netfilter link.
namespace netfilter_flags {
/// BPF_F_NETFILTER_IP_DEFRAG (6.6): the program sees reassembled packets (the kernel enables
/// nf_defrag for the hook; needs a priority above NF_IP_PRI_CONNTRACK_DEFRAG, -400).
inline constexpr std::uint32_t ip_defrag = 1u << 0;
}  // namespace netfilter_flags

/// Options for program::attach_netfilter.
struct netfilter_attach_options {
  netfilter_family family = netfilter_family::ipv4;
  netfilter_hook hook = netfilter_hook::local_out;
  /// Order among the hook's functions (lower runs first). The kernel refuses INT_MIN and INT_MAX,
  /// which it keeps for its own first and last functions (ERANGE), and with ip_defrag a priority
  /// at or below the defragmenter's, -400 (ERANGE).
  std::int32_t priority = 0;
  std::uint32_t flags = 0;  ///< netfilter_flags
};

}  // namespace ebpf
