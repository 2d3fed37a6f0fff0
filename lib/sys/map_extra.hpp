// ebpfpp internal: kernel calls the live map code needs beyond the bpf(2) wrappers of bpf.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sys/bpf.hpp"

namespace ebpf::sys {

/// The kind of object behind `fd` as /proc/self/fd shows it for anonymous inodes: "bpf-map",
/// "bpf-prog", "bpf-link", "btf", ... Empty when /proc is not mounted or the fd is not an
/// anonymous inode (the caller then has no way to tell and should not reject the fd).
std::string anon_inode_kind(int fd);

/// Whether `path` (a file or directory; for a path that does not exist yet, its parent
/// directory) is on a BPF filesystem (statfs f_type == BPF_FS_MAGIC).
bool on_bpffs(const std::string& path);

/// What /proc/self/fdinfo/<fd> says about a map fd (kernel/bpf/syscall.c
/// bpf_map_show_fdinfo): whether the map is frozen (BPF_MAP_FREEZE, 5.2), and the fd's access
/// mode (BPF_F_RDONLY / BPF_F_WRONLY at create or open time become O_RDONLY / O_WRONLY; the
/// kernel drops them from the map's own flags). `known` is false when fdinfo cannot be read.
struct map_fd_status {
  bool known = false;
  bool frozen = false;
  bool readable = true;
  bool writable = true;
};
map_fd_status map_fd_status_of(int fd);

/// BPF_MAP_DELETE_BATCH (5.6) that treats a missing key as the end instead of an error: the
/// kernel deletes keys in order and stops at the first one that is absent (ENOENT), reporting
/// how many it deleted (kernel/bpf/syscall.c generic_map_delete_batch). Returns that count with
/// done = true when it stopped at a missing key.
/// Throws: ebpf::error "<subject>: delete batch (N of M done): ..." for other errors.
batch_result map_delete_batch_until_missing(int map_fd, const void* keys, std::uint32_t count,
                                            std::uint64_t elem_flags, std::string_view subject);

}  // namespace ebpf::sys
