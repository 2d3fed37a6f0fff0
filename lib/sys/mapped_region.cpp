// ebpfpp: mmap()ed regions, page size and the possible-CPU count.

#include "sys/bpf.hpp"

#include <ebpf/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

namespace ebpf::sys {

static_assert(mapped_region::prot_read == PROT_READ);
static_assert(mapped_region::prot_write == PROT_WRITE);
static_assert(mapped_region::map_shared == MAP_SHARED);

mapped_region::mapped_region(mapped_region&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

mapped_region& mapped_region::operator=(mapped_region&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

mapped_region::~mapped_region() { reset(); }

void mapped_region::reset() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

mapped_region mapped_region::map(int fd, std::size_t length, int prot, int flags,
                                 std::uint64_t offset, std::string_view subject, void* addr_hint) {
  std::string action = "mmap " + std::to_string(length) + " bytes at offset " + std::to_string(offset);
  if (length == 0) {
    throw_error(errc::invalid_argument, std::string(subject) + (subject.empty() ? "" : ": ") +
                                            action + ": empty region");
  }
  void* data = ::mmap(addr_hint, length, prot, flags, fd, static_cast<off_t>(offset));
  if (data == MAP_FAILED) {
    throw_errno(errno, std::string(subject) + (subject.empty() ? "" : ": ") + action);
  }
  return mapped_region(data, length);
}

std::size_t page_size() noexcept {
  static const std::size_t size = [] {
    long value = ::sysconf(_SC_PAGESIZE);
    return value > 0 ? static_cast<std::size_t>(value) : std::size_t{4096};
  }();
  return size;
}

namespace {

// Counts the CPUs in a kernel cpu list such as "0-3,8,10-11\n" (the format of
// /sys/devices/system/cpu/possible). Per-CPU map values are packed per possible CPU, so the
// count of listed CPUs is what a lookup buffer needs (libbpf: libbpf_num_possible_cpus).
unsigned count_cpu_list(std::string_view text) {
  unsigned count = 0;
  std::size_t i = 0;
  auto number = [&](unsigned& out) {
    std::size_t start = i;
    unsigned long value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && value < 1u << 20) {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
    }
    out = static_cast<unsigned>(value);
    return i > start;
  };
  while (i < text.size() && text[i] != '\n') {
    unsigned first = 0, last = 0;
    if (!number(first)) return 0;
    last = first;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(last) || last < first) return 0;
    }
    count += last - first + 1;
    if (i < text.size() && text[i] == ',') ++i;
    else if (i < text.size() && text[i] != '\n') return 0;
  }
  return count;
}

}  // namespace

unsigned possible_cpus() {
  static std::mutex mutex;
  static unsigned cached = 0;
  std::lock_guard lock(mutex);
  if (cached != 0) return cached;
  const char* path = "/sys/devices/system/cpu/possible";
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, std::string("possible CPUs: open ") + path);
  unique_fd owned(fd);
  char buffer[4096];
  ssize_t n = ::read(owned.get(), buffer, sizeof buffer);
  if (n < 0) throw_errno(errno, std::string("possible CPUs: read ") + path);
  unsigned count = count_cpu_list(std::string_view(buffer, static_cast<std::size_t>(n)));
  if (count == 0) {
    throw_error(errc::invalid_argument,
                std::string("possible CPUs: cannot parse ") + path + ": '" +
                    std::string(buffer, static_cast<std::size_t>(n)) + "'");
  }
  cached = count;
  return count;
}

}  // namespace ebpf::sys
