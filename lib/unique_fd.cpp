#include <ebpf/error.hpp>
#include <ebpf/unique_fd.hpp>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace ebpf {

unique_fd unique_fd::open(const char* path, int flags) {
  int fd = ::open(path, flags | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, std::string("open '") + path + "'");
  unique_fd owned(fd);
  if (fd <= 2) {
    // Never hand out 0-2: a later close would take stdin/stdout/stderr with it.
    return owned.dup();
  }
  return owned;
}

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // errors on close are not actionable (see fmt's file::~file)
  fd_ = fd;
}

unique_fd unique_fd::dup() const {
  int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) throw_errno(errno, "duplicate fd " + std::to_string(fd_));
  return unique_fd(fd);
}

}  // namespace ebpf
