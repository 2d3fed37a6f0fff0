// ebpfpp: BPF_ITER_CREATE and reading an iterator (kernel/bpf/bpf_iter.c).
#include "sys/iter.hpp"

#include <ebpf/error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

namespace ebpf::sys {

unique_fd iter_create(int link_fd, std::string_view subject) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.iter_create.link_fd = static_cast<std::uint32_t>(link_fd);
  const std::size_t size = offsetof(union bpf_attr, iter_create.flags) + sizeof attr.iter_create.flags;
  long fd = ::syscall(__NR_bpf, BPF_ITER_CREATE, &attr, size);
  if (fd < 0) throw_errno(errno, std::string(subject) + ": create iterator");
  // Keep fds above 2 (see ensure_good_fd in bpf.cpp): the kernel opens it O_CLOEXEC
  // (bpf_iter_new_fd: anon_inode_getfile(..., O_RDONLY | O_CLOEXEC)).
  if (fd <= 2) {
    int moved = ::fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    ::close(static_cast<int>(fd));
    if (moved < 0) throw_errno(saved, std::string(subject) + ": create iterator");
    fd = moved;
  }
  return unique_fd(static_cast<int>(fd));
}

std::size_t iter_read(int iter_fd, std::span<std::byte> buffer, std::string_view subject) {
  for (;;) {
    ssize_t n = ::read(iter_fd, buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    throw_errno(errno, std::string(subject) + ": read iterator");
  }
}

}  // namespace ebpf::sys
