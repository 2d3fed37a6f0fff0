// ebpfpp internal: the kernel calls of the network attach kinds (lib/attach/network.cpp) that
// lib/sys/bpf.hpp does not have: BPF_PROG_QUERY, BPF_PROG_ATTACH with the 6.6 mprog fields
// (relative program / link and expected revision), and the SO_REUSEPORT program socket options.
// Same conventions as bpf.hpp: the subject names what the caller works on, and each function
// appends its action.
#pragma once

#include <ebpf/types.hpp>
#include <ebpf/unique_fd.hpp>

#include <cstdint>
#include <string_view>
#include <vector>

namespace ebpf::sys {

/// BPF_F_QUERY_EFFECTIVE: also the programs inherited from ancestor cgroups (4.15).
inline constexpr std::uint32_t query_effective = 1u << 0;

/// What BPF_PROG_QUERY reports for one attach point.
struct prog_query_result {
  /// The attach point's own flags (cgroups: 0, BPF_F_ALLOW_OVERRIDE or BPF_F_ALLOW_MULTI).
  std::uint32_t attach_flags = 0;
  /// Program ids in run order.
  std::vector<std::uint32_t> prog_ids;
  /// Per program (same index): the flags it was attached with (6.0; empty with query_effective).
  std::vector<std::uint32_t> prog_attach_flags;
  /// Per program (same index): the id of the bpf_link holding it, 0 for BPF_PROG_ATTACH
  /// (tcx 6.6, netkit 6.7, cgroup 6.17; empty where the kernel does not report them).
  std::vector<std::uint32_t> link_ids;
  /// The attach point's revision, bumped by every attach and detach (tcx 6.6, cgroup 6.17; 0
  /// where the kernel does not report one).
  std::uint64_t revision = 0;
};

/// BPF_PROG_QUERY (4.15) of `target_fd` (a cgroup, a netns, or an ifindex for tcx 6.6 and
/// netkit 6.7) for `type`: the one wrapper of the command. Asks for the count first, then for the
/// ids; retries when programs were attached in between. A kernel that refuses the newer output
/// arrays (EINVAL or E2BIG: link ids are 6.6, per-program flags 6.0) is asked again without them,
/// and those vectors stay empty.
/// Throws: ebpf::error "<subject>: query: ..." (EINVAL: the attach type cannot be queried).
prog_query_result prog_query(int target_fd, attach_type type, std::uint32_t query_flags,
                             std::string_view subject);

/// BPF_PROG_ATTACH with every field: `flags` (attach_allow_*, attach_replace, attach_before,
/// attach_after, attach_id, attach_link), `replace_prog_fd` (with attach_replace, 5.6),
/// `relative_fd_or_id` and `expected_revision` (mprog ordering, 6.6; cgroups 6.17). Fields left
/// at zero / -1 are not sent, so the call also works on kernels that predate them.
/// Throws: ebpf::error "<subject>: attach: ...".
void prog_attach_full(int target_fd, int prog_fd, attach_type type, std::uint32_t flags,
                      int replace_prog_fd, std::uint32_t relative_fd_or_id,
                      std::uint64_t expected_revision, std::string_view subject);

/// SO_ATTACH_REUSEPORT_EBPF (4.19 for sk_reuseport programs): run `prog_fd` to pick the socket
/// of `sock_fd`'s SO_REUSEPORT group. Throws: ebpf::error "<subject>: attach to socket: ...".
void socket_attach_reuseport(int sock_fd, int prog_fd, std::string_view subject);
/// SO_DETACH_REUSEPORT_BPF (5.3); never throws. Returns false on failure (errno set; ENOENT when
/// no program is attached).
bool socket_detach_reuseport(int sock_fd) noexcept;

}  // namespace ebpf::sys
