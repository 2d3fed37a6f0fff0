// ebpfpp: perf_event_open(2), the perf ioctls and tracefs.

#include "sys/bpf.hpp"

#include <ebpf/error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/perf_event.h>
#include <mutex>
#include <optional>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ebpf::sys {
namespace {

std::string context(std::string_view subject, std::string_view action) {
  std::string message(subject);
  if (!message.empty()) message += ": ";
  message += action;
  return message;
}

// Same reason as in bpf.cpp: never hand out 0..2.
int ensure_good_fd(int fd) noexcept {
  if (fd < 0 || fd > 2) return fd;
  int good = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  ::close(fd);
  if (good < 0) errno = saved;
  return good;
}

constexpr long tracefs_magic = 0x74726163;  // TRACEFS_MAGIC, <linux/magic.h>
constexpr long debugfs_magic = 0x64626720;  // DEBUGFS_MAGIC

bool is_tracefs(const char* path) {
  struct statfs fs;
  if (::statfs(path, &fs) != 0) return false;
  return static_cast<long>(fs.f_type) == tracefs_magic;
}

bool valid_component(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace

unique_fd perf_event_open(const perf_event_options& options, std::string_view subject) {
  struct perf_event_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = options.type;
  attr.config = options.config;
  attr.config1 = options.config1;
  attr.config2 = options.config2;
  if (options.freq) {
    attr.freq = 1;
    attr.sample_freq = options.sample_period;
  } else {
    attr.sample_period = options.sample_period;
  }
  attr.sample_type = options.sample_type;
  attr.wakeup_events = options.wakeup_events;
  attr.disabled = options.disabled ? 1 : 0;
  long fd = ::syscall(__NR_perf_event_open, &attr, options.pid, options.cpu, options.group_fd,
                      PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) throw_errno(errno, context(subject, "perf_event_open"));
  int good = ensure_good_fd(static_cast<int>(fd));
  if (good < 0) throw_errno(errno, context(subject, "perf_event_open"));
  return unique_fd(good);
}

unique_fd perf_event_open_tracepoint(std::uint64_t tracepoint_id, std::string_view subject) {
  // pid -1 / cpu 0 is how libbpf opens it: a BPF program on a tracepoint event runs for every
  // hit of the tracepoint, whatever the event's own CPU filter says.
  perf_event_options options;
  options.type = perf_type_tracepoint;
  options.config = tracepoint_id;
  options.sample_period = 1;
  options.wakeup_events = 1;
  options.pid = -1;
  options.cpu = 0;
  return perf_event_open(options, subject);
}

unique_fd perf_event_open_software(std::uint64_t config, std::uint64_t sample_period, int pid,
                                   int cpu, std::string_view subject) {
  perf_event_options options;
  options.type = perf_type_software;
  options.config = config;
  options.sample_period = sample_period;
  options.pid = pid;
  options.cpu = cpu;
  return perf_event_open(options, subject);
}

void perf_event_set_bpf(int perf_fd, int prog_fd, std::string_view subject) {
  if (::ioctl(perf_fd, PERF_EVENT_IOC_SET_BPF, prog_fd) != 0) {
    throw_errno(errno, context(subject, "attach to perf event"));
  }
}

void perf_event_enable(int perf_fd, std::string_view subject) {
  if (::ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
    throw_errno(errno, context(subject, "enable perf event"));
  }
}

bool perf_event_disable(int perf_fd) noexcept {
  return ::ioctl(perf_fd, PERF_EVENT_IOC_DISABLE, 0) == 0;
}

std::string tracefs_path() {
  static std::mutex mutex;
  static std::optional<std::string> cached;
  std::lock_guard lock(mutex);
  if (cached) return *cached;

  const char* primary = "/sys/kernel/tracing";
  const char* legacy = "/sys/kernel/debug/tracing";  // tracefs automounted under debugfs (< 4.1)
  if (is_tracefs(primary)) return *(cached = primary);
  // Not mounted (as on our machines): mount it where the kernel provides the mount point.
  int mount_errno = 0;
  if (::mount("tracefs", primary, "tracefs", 0, nullptr) == 0 && is_tracefs(primary)) {
    return *(cached = primary);
  }
  mount_errno = errno;
  struct statfs fs;
  if (::statfs("/sys/kernel/debug", &fs) == 0 && static_cast<long>(fs.f_type) == debugfs_magic &&
      is_tracefs(legacy)) {
    return *(cached = legacy);
  }
  throw_errno(mount_errno != 0 ? mount_errno : ENOENT,
              std::string("tracefs: mount at ") + primary);
}

std::uint64_t tracepoint_id(std::string_view category, std::string_view name) {
  std::string subject = "tracepoint '" + std::string(category) + "/" + std::string(name) + "'";
  if (!valid_component(category) || !valid_component(name)) {
    throw_error(errc::invalid_argument, subject + ": category and name must be plain names");
  }
  std::string path = tracefs_path() + "/events/" + std::string(category) + "/" +
                     std::string(name) + "/id";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, subject + ": open " + path);
  unique_fd owned(fd);
  char buffer[32] = {};
  ssize_t n = ::read(owned.get(), buffer, sizeof buffer - 1);
  if (n < 0) throw_errno(errno, subject + ": read " + path);
  std::uint64_t id = 0;
  bool digits = false;
  for (ssize_t i = 0; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i) {
    id = id * 10 + static_cast<std::uint64_t>(buffer[i] - '0');
    digits = true;
  }
  if (!digits) throw_error(errc::invalid_argument, subject + ": " + path + " holds no id");
  return id;
}

}  // namespace ebpf::sys
