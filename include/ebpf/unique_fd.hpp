// ebpfpp: the only owner of a file descriptor.
#pragma once

#include <utility>

namespace ebpf {

/// Owns one file descriptor: move-only, closes it on destruction (errors on close are ignored).
/// Every fd the library creates is O_CLOEXEC and above 2, so it can never be mistaken for
/// stdin/stdout/stderr.
class unique_fd {
 public:
  unique_fd() noexcept = default;
  /// Takes ownership of `fd` (which may be -1).
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  /// Opens `path` with O_CLOEXEC added to `flags`.
  /// Throws: ebpf::error with the errno and the path.
  static unique_fd open(const char* path, int flags);

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives up ownership and returns the fd.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the owned fd (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;
  /// A second descriptor for the same file (F_DUPFD_CLOEXEC, above 2).
  /// Throws: ebpf::error with the errno.
  unique_fd dup() const;

 private:
  int fd_ = -1;
};

}  // namespace ebpf
