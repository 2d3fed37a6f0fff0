// ebpfpp internal: the multi-program attach points of 6.6+ (tcx, and netkit from 6.7) through
// BPF_PROG_ATTACH / BPF_PROG_DETACH with a target ifindex, relative placement and revisions
// (kernel/bpf/mprog.c). Links use sys::link_create with sys::link_relative; queries use
// sys::prog_query (sys/network.hpp) with the ifindex as target.
//
// Placement: flags attach_before / attach_after (sys/bpf.hpp) with relative_fd_or_id naming the
// anchor: a program fd, a program id (attach_id), a link fd (attach_link) or a link id
// (attach_id | attach_link). attach_before with no anchor means "first", attach_after "last".
// expected_revision, when not 0, makes the kernel refuse (ESTALE) if the attach point changed
// since the caller looked at it.
#pragma once

#include <ebpf/types.hpp>

#include <cstdint>
#include <string_view>

namespace ebpf::sys {

struct mprog_placement {
  std::uint32_t flags = 0;               ///< attach_before / attach_after / attach_id / attach_link
  std::uint32_t relative_fd_or_id = 0;
  std::uint64_t expected_revision = 0;
};

/// BPF_PROG_ATTACH of `prog_fd` at interface `ifindex` as `type` (tcx_ingress/egress 6.6,
/// netkit_primary/peer 6.7). Throws: ebpf::error "<subject>: attach: ...".
void mprog_attach(int ifindex, int prog_fd, attach_type type, const mprog_placement& placement,
                  std::string_view subject);
/// BPF_PROG_ATTACH with BPF_F_REPLACE: swaps `old_prog_fd` for `prog_fd` in place.
/// Throws: ebpf::error "<subject>: replace: ...".
void mprog_replace(int ifindex, int prog_fd, int old_prog_fd, attach_type type,
                   std::string_view subject);
/// BPF_PROG_DETACH of `prog_fd` from `ifindex`. Returns 0 or the errno (used on teardown).
int mprog_detach(int ifindex, int prog_fd, attach_type type) noexcept;

}  // namespace ebpf::sys
