// ebpfpp internal: registering struct_ops maps (the object loader prepares their values).
#pragma once

#include <ebpf/link.hpp>

#include <cstddef>
#include <span>
#include <string>

namespace ebpf::detail {

/// Registers the struct_ops map `map_fd` with `value` (the kernel layout, program fds filled in).
/// `with_link` (a BPF_F_LINK map, 6.4): writes the value unless an earlier attach did, then
/// creates a struct_ops bpf_link, which unregisters when closed. Otherwise (5.6) writing the value
/// registers it, and the returned link deletes the element to unregister (the map cannot be
/// registered again after that: the kernel frees its programs' trampolines).
/// `instead_of_link`: the object asked for a link (SEC(".struct_ops.link")) but the kernel has no
/// struct_ops links (before 6.4), so the map was created without BPF_F_LINK and is registered
/// by its value; the returned link's pin() and update() then throw errc::unsupported naming 6.4.
/// Throws: ebpf::error "<subject>: register: ..." (EEXIST: a struct of this name is already
/// registered, e.g. a congestion control of the same name; EBUSY: already registered).
link attach_struct_ops(int map_fd, std::span<const std::byte> value, bool with_link, const std::string& subject,
                       bool instead_of_link = false);

/// Swaps the struct_ops map behind the struct_ops bpf_link `link_fd` for `map_fd` (a BPF_F_LINK
/// map of the same kernel struct; writes its value first unless an earlier attach did), 6.4.
/// Throws: ebpf::error "<subject>: update link: ..." (EINVAL: not a struct_ops link, a map of
/// another type, or the subsystem refuses, e.g. a TCP congestion control of another name).
void update_struct_ops_link(int link_fd, int map_fd, std::span<const std::byte> value, const std::string& subject);

}  // namespace ebpf::detail
