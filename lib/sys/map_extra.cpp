#include "sys/map_extra.hpp"

#include <ebpf/error.hpp>

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace ebpf::sys {

std::string anon_inode_kind(int fd) {
  // The kernel names bpf fds "anon_inode:bpf-map" etc. (kernel/bpf/syscall.c,
  // anon_inode_getfd("bpf-map", ...)); a pinned object opened with BPF_OBJ_GET gets the same.
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  std::array<char, 128> target{};
  ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
  if (n <= 0) return {};
  std::string_view text(target.data(), static_cast<std::size_t>(n));
  constexpr std::string_view prefix = "anon_inode:";
  if (text.substr(0, prefix.size()) != prefix) return {};
  text.remove_prefix(prefix.size());
  // Older kernels write "anon_inode:[bpf-map]".
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  return std::string(text);
}

bool on_bpffs(const std::string& path) {
  constexpr unsigned long bpf_fs_magic = 0xcafe4a11;  // include/uapi/linux/magic.h BPF_FS_MAGIC
  struct statfs info {};
  if (::statfs(path.c_str(), &info) != 0) {
    auto slash = path.find_last_of('/');
    std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::statfs(parent.c_str(), &info) != 0) return false;
  }
  return static_cast<unsigned long>(info.f_type) == bpf_fs_magic;
}

map_fd_status map_fd_status_of(int fd) {
  map_fd_status status;
  std::string path = "/proc/self/fdinfo/" + std::to_string(fd);
  int info = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (info < 0) return status;
  std::array<char, 2048> buffer{};
  ssize_t n = ::read(info, buffer.data(), buffer.size() - 1);
  ::close(info);
  if (n <= 0) return status;
  std::string_view text(buffer.data(), static_cast<std::size_t>(n));
  // "<name>:\t<value>\n" lines; "flags" is the file's f_flags in octal.
  auto field = [&](std::string_view name) -> std::string_view {
    std::size_t at = 0;
    while ((at = text.find(name, at)) != std::string_view::npos) {
      if ((at == 0 || text[at - 1] == '\n') && text.substr(at + name.size(), 1) == ":") {
        std::size_t begin = text.find_first_not_of(" \t", at + name.size() + 1);
        if (begin == std::string_view::npos) return {};
        std::size_t end = text.find('\n', begin);
        return text.substr(begin, end == std::string_view::npos ? end : end - begin);
      }
      at += name.size();
    }
    return {};
  };
  std::string_view flags = field("flags");
  if (flags.empty()) return status;
  unsigned long value = std::strtoul(std::string(flags).c_str(), nullptr, 8);
  status.known = true;
  status.readable = (value & O_ACCMODE) != O_WRONLY;
  status.writable = (value & O_ACCMODE) != O_RDONLY;
  status.frozen = field("frozen") == "1";
  return status;
}

batch_result map_delete_batch_until_missing(int map_fd, const void* keys, std::uint32_t count,
                                            std::uint64_t elem_flags, std::string_view subject) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.batch.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.batch.keys = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(keys));
  attr.batch.count = count;
  attr.batch.elem_flags = elem_flags;
  // Sized to the last field used, as every command in bpf.cpp (batch.flags is the end of the
  // batch struct in 5.6's UAPI).
  std::size_t size = offsetof(union bpf_attr, batch.flags) + sizeof(attr.batch.flags);
  if (::syscall(__NR_bpf, BPF_MAP_DELETE_BATCH, &attr, size) == 0) return {attr.batch.count, false};
  int error = errno;
  if (error == ENOENT) return {attr.batch.count, true};
  std::string context(subject);
  if (!context.empty()) context += ": ";
  context += "delete batch (" + std::to_string(attr.batch.count) + " of " +
             std::to_string(count) + " done)";
  throw_errno(error, std::move(context));
}

}  // namespace ebpf::sys
