// ebpfpp: epoll, the BPF output perf event and the online CPU list, for the ring readers.

#include "sys/ring.hpp"

#include <ebpf/error.hpp>
#include <ebpf/ring.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <string>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ebpf::sys {

static_assert(epoll_in == EPOLLIN);
static_assert(epoll_out == EPOLLOUT);
static_assert(epoll_edge_triggered == static_cast<std::uint32_t>(EPOLLET));

// The pure perf reader (include/ebpf/ring.hpp) knows the mmap page layout by offsets.
static_assert(offsetof(perf_event_mmap_page, data_head) == ring::perf_data_head_offset);
static_assert(offsetof(perf_event_mmap_page, data_tail) == ring::perf_data_tail_offset);
static_assert(offsetof(perf_event_mmap_page, data_offset) == ring::perf_data_offset_offset);
static_assert(offsetof(perf_event_mmap_page, data_size) == ring::perf_data_size_offset);
static_assert(PERF_RECORD_LOST == ring::perf_record_lost);
static_assert(PERF_RECORD_SAMPLE == ring::perf_record_sample);

namespace {

std::string context(std::string_view subject, std::string_view action) {
  std::string message(subject);
  if (!message.empty()) message += ": ";
  message += action;
  return message;
}

// Same reason as in bpf.cpp (libbpf's ensure_good_fd): never hand out 0..2.
int ensure_good_fd(int fd) noexcept {
  if (fd < 0 || fd > 2) return fd;
  int good = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  ::close(fd);
  if (good < 0) errno = saved;
  return good;
}

}  // namespace

unique_fd epoll_create(std::string_view subject) {
  int fd = ensure_good_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (fd < 0) throw_errno(errno, context(subject, "epoll_create"));
  return unique_fd(fd);
}

void epoll_add(int epoll_fd, int fd, std::uint32_t events, std::uint64_t data,
               std::string_view subject) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = data;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
    throw_errno(errno, context(subject, "epoll_ctl add fd " + std::to_string(fd)));
  }
}

int epoll_wait(int epoll_fd, std::span<std::uint64_t> ready, int timeout_ms,
               std::string_view subject) {
  constexpr std::size_t max_events = 64;
  epoll_event events[max_events];
  int capacity = static_cast<int>(ready.empty() ? 1 : std::min(ready.size(), max_events));
  int count = ::epoll_wait(epoll_fd, events, capacity, timeout_ms < 0 ? -1 : timeout_ms);
  if (count < 0) {
    if (errno == EINTR) return 0;
    throw_errno(errno, context(subject, "epoll_wait"));
  }
  if (!ready.empty()) {
    for (int i = 0; i < count; ++i) ready[static_cast<std::size_t>(i)] = events[i].data.u64;
  }
  return count;
}

unique_fd perf_event_open_bpf_output(int cpu, std::uint32_t wakeup_events,
                                     std::uint32_t wakeup_watermark, std::string_view subject) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_BPF_OUTPUT;
  attr.sample_type = PERF_SAMPLE_RAW;
  attr.sample_period = 1;
  // wakeup_events and wakeup_watermark share a union; `watermark` says which one it is.
  if (wakeup_watermark != 0) {
    attr.watermark = 1;
    attr.wakeup_watermark = wakeup_watermark;
  } else {
    attr.wakeup_events = wakeup_events == 0 ? 1 : wakeup_events;
  }
  long fd = ::syscall(__NR_perf_event_open, &attr, -1 /* every process */, cpu,
                      -1 /* no group */, PERF_FLAG_FD_CLOEXEC);
  std::string action = "perf_event_open (bpf output, CPU " + std::to_string(cpu) + ")";
  if (fd < 0) throw_errno(errno, context(subject, action));
  int good = ensure_good_fd(static_cast<int>(fd));
  if (good < 0) throw_errno(errno, context(subject, action));
  return unique_fd(good);
}

std::vector<std::uint32_t> parse_cpu_list(std::string_view text) {
  std::vector<std::uint32_t> cpus;
  std::size_t i = 0;
  auto number = [&](std::uint32_t& out) {
    std::size_t start = i;
    std::uint64_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
      if (value > (1u << 20)) return false;  // no machine has a million CPUs
      ++i;
    }
    out = static_cast<std::uint32_t>(value);
    return i > start;
  };
  while (i < text.size() && text[i] != '\n') {
    std::uint32_t first = 0, last = 0;
    if (!number(first)) return {};
    last = first;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(last) || last < first) return {};
    }
    if (!cpus.empty() && first <= cpus.back()) return {};  // the kernel prints ascending ranges
    for (std::uint32_t cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    if (i < text.size() && text[i] == ',') {
      ++i;
    } else if (i < text.size() && text[i] != '\n') {
      return {};
    }
  }
  return cpus;
}

std::vector<std::uint32_t> online_cpus() {
  const char* path = "/sys/devices/system/cpu/online";
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, std::string("online CPUs: open ") + path);
  unique_fd owned(fd);
  char buffer[4096];
  ssize_t n = ::read(owned.get(), buffer, sizeof buffer);
  if (n < 0) throw_errno(errno, std::string("online CPUs: read ") + path);
  std::string_view text(buffer, static_cast<std::size_t>(n));
  auto cpus = parse_cpu_list(text);
  if (cpus.empty()) {
    throw_error(errc::invalid_argument,
                std::string("online CPUs: cannot parse ") + path + ": '" + std::string(text) + "'");
  }
  return cpus;
}

}  // namespace ebpf::sys
