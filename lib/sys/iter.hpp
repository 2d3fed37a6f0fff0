// ebpfpp internal: kernel calls for BPF iterators and struct_ops registration.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <ebpf/unique_fd.hpp>

namespace ebpf::sys {

/// BPF_ITER_CREATE (5.8): a new session of the iterator held by the bpf_link `link_fd`; reading
/// the returned fd runs the program over the objects and returns what it printed.
/// Throws: ebpf::error "<subject>: create iterator: ..." (EINVAL: not an iterator link).
unique_fd iter_create(int link_fd, std::string_view subject);

/// read(2) on an iterator fd, retried on EINTR: bytes read, 0 at the end.
/// Throws: ebpf::error "<subject>: read iterator: ..." (the errno a program or the kernel's
/// seq_file reported, e.g. E2BIG when one object's output exceeds the kernel's buffer).
std::size_t iter_read(int iter_fd, std::span<std::byte> buffer, std::string_view subject);

}  // namespace ebpf::sys
