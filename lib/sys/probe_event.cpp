// ebpfpp: kprobe / uprobe perf events through the dynamic PMUs, with the tracefs fallback.
//
// Models read: libbpf src/libbpf.c (perf_event_open_probe, perf_event_kprobe_open_legacy,
// append_to_file), cilium/ebpf internal/tracefs/kprobe.go (event naming, EEXIST on a stale
// name), and the kernel's parsers: kernel/trace/trace_kprobe.c and trace_uprobe.c
// (create_trace_uprobe: "p[:[GRP/]EVENT] PATH:OFFSET[(REF_CTR_OFFSET)]").

#include "sys/probe_event.hpp"
#include "sys/bpf.hpp"

#include <ebpf/error.hpp>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <thread>
#include <unistd.h>

namespace ebpf::sys {
namespace {

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

const char* pmu_name(probe_kind kind) { return kind == probe_kind::kprobe ? "kprobe" : "uprobe"; }
const char* tracefs_group(probe_kind kind) {
  return kind == probe_kind::kprobe ? "kprobes" : "uprobes";
}
const char* tracefs_file(probe_kind kind) {
  return kind == probe_kind::kprobe ? "kprobe_events" : "uprobe_events";
}

// The whole (small) content of a sysfs/tracefs file, or nullopt with errno set.
std::optional<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  unique_fd owned(fd);
  char buffer[128];
  ssize_t n = ::read(owned.get(), buffer, sizeof buffer - 1);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(n));
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  std::uint64_t value = 0;
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9' && digits < 19) {
    value = value * 10 + static_cast<std::uint64_t>(text[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  return value;
}

// The PMU's perf type (/sys/bus/event_source/devices/<pmu>/type), nullopt when the kernel has no
// such PMU (before 4.17, or CONFIG_KPROBES=n as on our hosts).
std::optional<std::uint32_t> pmu_type(probe_kind kind) {
  auto text = read_small_file(std::string("/sys/bus/event_source/devices/") + pmu_name(kind) +
                              "/type");
  if (!text) return std::nullopt;
  auto value = parse_decimal(*text);
  if (!value || *value > 0xffffffffu) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

// The first bit of a PMU format field: the file reads "config:0" (retprobe) or "config:32-63"
// (ref_ctr_offset). Reading it rather than hard-coding the bit is what perf and libbpf do.
std::optional<unsigned> pmu_format_bit(probe_kind kind, const char* field) {
  auto text = read_small_file(std::string("/sys/bus/event_source/devices/") + pmu_name(kind) +
                              "/format/" + field);
  if (!text) return std::nullopt;
  std::string_view view = *text;
  constexpr std::string_view prefix = "config:";
  if (view.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto bit = parse_decimal(view.substr(prefix.size()));
  if (!bit || *bit > 63) return std::nullopt;
  return static_cast<unsigned>(*bit);
}

// A uprobe's pid filter lives in the perf event (pid >= 0, any cpu); a system-wide one needs a
// cpu, and the BPF program runs on every CPU whichever we pick (trace_call_bpf does not look at
// the event's cpu), so libbpf and we take 0.
void choose_pid_cpu(const probe_event_options& options, int& pid, int& cpu) {
  pid = options.kind == probe_kind::uprobe && options.pid >= 0 ? options.pid : -1;
  cpu = options.cpu >= 0 ? options.cpu : (pid == -1 ? 0 : -1);
}

const char* hint_for(const probe_event_options& options, int errno_value) {
  if (options.kind == probe_kind::kprobe) {
    if (errno_value == ENOENT) return "no such kernel function, or it is not probeable";
    if (errno_value == EILSEQ) return "the offset is not on an instruction boundary";
    return nullptr;
  }
  if (errno_value == ENOENT) return "no such file";
  if (errno_value == EINVAL) {
    return "the offset must lie in an executable mapping of the file, and a semaphore offset "
           "must be in a writable one";
  }
  return nullptr;
}

// "<context>: <errno text> (<hint>)"; without a hint of ours, throw_errno's own (EPERM...).
[[noreturn]] void throw_probe_errno(const probe_event_options& options, int errno_value,
                                    const std::string& context) {
  const char* hint = hint_for(options, errno_value);
  if (hint == nullptr) throw_errno(errno_value, context);
  throw error(std::error_code(errno_value, std::system_category()),
              context + ": " + std::strerror(errno_value) + " (" + hint + ")");
}

probe_event open_with_pmu(const probe_event_options& options, std::uint32_t type,
                          unsigned retprobe_bit, unsigned ref_ctr_shift,
                          const std::string& context) {
  perf_event_options attr;
  attr.type = type;
  if (options.retprobe) attr.config |= std::uint64_t{1} << retprobe_bit;
  if (options.ref_ctr_offset != 0) attr.config |= options.ref_ctr_offset << ref_ctr_shift;
  // config1 is kprobe_func / uprobe_path (a user pointer the kernel copies during the call);
  // config2 is kprobe_addr or probe_offset. A kprobe by address sets config1 to 0.
  attr.config1 = options.target.empty()
                     ? 0
                     : static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(
                           options.target.c_str()));
  attr.config2 = options.offset;
  choose_pid_cpu(options, attr.pid, attr.cpu);
  try {
    probe_event event;
    event.perf_fd = perf_event_open(attr, context);
    return event;
  } catch (const error& e) {
    if (e.code().category() != std::system_category()) throw;
    throw_probe_errno(options, e.code().value(), context + ": perf_event_open");
  }
}

// Tracefs event names are [A-Za-z_][A-Za-z0-9_]* of at most MAX_EVENT_NAME_LEN - 1 = 63 bytes
// (kernel/trace/trace_probe.h, is_good_name()).
std::string event_name(const probe_event_options& options, unsigned sequence) {
  std::string name = "ebpfpp_" + std::to_string(::getpid()) + "_" + std::to_string(sequence) + "_";
  std::string_view target = options.target;
  if (options.kind == probe_kind::uprobe) {
    auto slash = target.rfind('/');
    if (slash != std::string_view::npos) target.remove_prefix(slash + 1);
  }
  std::string tail(target.empty() ? std::string_view("addr") : target);
  tail += "_" + hex(options.offset).substr(2);
  for (char& c : tail) {
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!good) c = '_';
  }
  name += tail;
  if (name.size() > 63) name.resize(63);
  return name;
}

// "p:kprobes/NAME do_sys_open+0x10", "r:uprobes/NAME /usr/bin/x:0x1139(0x4010)".
std::string probe_definition(const probe_event_options& options, const std::string& name) {
  std::string line = options.retprobe ? "r:" : "p:";
  line += tracefs_group(options.kind);
  line += "/" + name + " ";
  if (options.kind == probe_kind::kprobe) {
    if (options.target.empty()) {
      line += hex(options.offset);
    } else {
      line += options.target;
      // A return probe must sit at the function entry: the kernel rejects any offset but 0.
      if (!options.retprobe || options.offset != 0) line += "+" + std::to_string(options.offset);
    }
  } else {
    line += options.target + ":" + hex(options.offset);
    if (options.ref_ctr_offset != 0) line += "(" + hex(options.ref_ctr_offset) + ")";
  }
  return line;
}

// One write(2) of `line` to a tracefs control file: the kernel parses each write as a command.
int append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno;
  unique_fd owned(fd);
  ssize_t n = ::write(owned.get(), line.data(), line.size());
  if (n < 0) return errno;
  if (static_cast<std::size_t>(n) != line.size()) return EIO;
  return 0;
}

probe_event open_with_tracefs(const probe_event_options& options, const std::string& context) {
  // The definition is whitespace-separated: a path or symbol with blanks cannot be expressed.
  for (char c : options.target) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0') {
      throw_error(errc::invalid_argument,
                  context + ": tracefs " + tracefs_file(options.kind) +
                      " cannot name a target containing whitespace");
    }
  }
  std::string tracefs;
  try {
    tracefs = tracefs_path();
  } catch (const error& e) {
    throw error(e.code(), context + ": no " + pmu_name(options.kind) + " PMU, and " + e.what());
  }
  std::string control = tracefs + "/" + tracefs_file(options.kind);
  if (::access(control.c_str(), W_OK) != 0) {
    int saved = errno;
    std::string hint = options.kind == probe_kind::kprobe
                           ? "the kernel was built without CONFIG_KPROBES"
                           : "the kernel was built without CONFIG_UPROBE_EVENTS";
    throw_errno(saved, context + ": no " + pmu_name(options.kind) + " PMU and no " + control +
                           " (" + hint + ")");
  }

  static std::atomic<unsigned> sequence{0};
  std::string name;
  for (int attempt = 0;; ++attempt) {
    name = event_name(options, sequence.fetch_add(1, std::memory_order_relaxed));
    int err = append_line(control, probe_definition(options, name));
    if (err == 0) break;
    // A stale event of a crashed process that had our pid: take another name (cilium/ebpf
    // internal/tracefs does the same on EEXIST).
    if (err == EEXIST && attempt < 3) continue;
    throw_probe_errno(options, err, context + ": add " + tracefs_file(options.kind) + " event");
  }

  probe_event event;
  event.tracefs_event = name;
  try {
    std::uint64_t id = tracepoint_id(tracefs_group(options.kind), name);
    perf_event_options attr;
    attr.type = perf_type_tracepoint;
    attr.config = id;
    attr.sample_period = 1;
    attr.wakeup_events = 1;
    choose_pid_cpu(options, attr.pid, attr.cpu);
    event.perf_fd = perf_event_open(attr, context);
  } catch (const error& e) {
    remove_tracefs_probe_event(options.kind, name);
    if (e.code().category() != std::system_category()) throw;
    throw_probe_errno(options, e.code().value(), context + ": open tracefs event '" +
                                                     tracefs_group(options.kind) + "/" + name + "'");
  }
  return event;
}

}  // namespace

std::string describe_probe(const probe_event_options& options) {
  std::string text = options.kind == probe_kind::kprobe ? (options.retprobe ? "kretprobe '" : "kprobe '")
                                                        : (options.retprobe ? "uretprobe '" : "uprobe '");
  if (options.kind == probe_kind::kprobe) {
    text += options.target.empty() ? hex(options.offset)
                                   : options.target + "+" + hex(options.offset);
  } else {
    text += options.target + ":" + hex(options.offset);
  }
  text += "'";
  if (options.kind == probe_kind::uprobe && options.pid >= 0) {
    text += " (pid " + std::to_string(options.pid) + ")";
  }
  return text;
}

probe_event open_probe_event(const probe_event_options& options, std::string_view subject) {
  std::string context(subject);
  if (!context.empty()) context += ": ";
  context += describe_probe(options);
  if (options.kind == probe_kind::uprobe && options.target.empty()) {
    throw_error(errc::invalid_argument, context + ": a uprobe needs the path of a binary");
  }
  if (options.kind == probe_kind::kprobe && options.ref_ctr_offset != 0) {
    throw_error(errc::invalid_argument, context + ": only uprobes have a semaphore (ref_ctr_offset)");
  }

  std::optional<std::uint32_t> type = pmu_type(options.kind);
  std::optional<unsigned> retprobe_bit;
  if (type && options.retprobe) retprobe_bit = pmu_format_bit(options.kind, "retprobe");
  std::optional<unsigned> ref_ctr_shift;
  if (type && options.ref_ctr_offset != 0) {
    ref_ctr_shift = pmu_format_bit(options.kind, "ref_ctr_offset");
  }
  // The PMU needs the retprobe bit for return probes and (4.20) the ref_ctr_offset field for
  // semaphores; without them only tracefs can say it.
  bool pmu_usable = type && (!options.retprobe || retprobe_bit) &&
                    (options.ref_ctr_offset == 0 || ref_ctr_shift);
  if (pmu_usable) {
    return open_with_pmu(options, *type, retprobe_bit.value_or(0), ref_ctr_shift.value_or(32),
                         context);
  }
  return open_with_tracefs(options, context);
}

probe_event open_probe_event_tracefs(const probe_event_options& options, std::string_view subject) {
  std::string context(subject);
  if (!context.empty()) context += ": ";
  context += describe_probe(options);
  return open_with_tracefs(options, context);
}

bool remove_tracefs_probe_event(probe_kind kind, const std::string& event) noexcept {
  try {
    if (event.empty()) return false;
    std::string control = tracefs_path() + "/" + tracefs_file(kind);
    std::string line = std::string("-:") + tracefs_group(kind) + "/" + event;
    // The perf event's last reference can be dropped a moment after close() (deferred fput), and
    // until then the kernel answers EBUSY (trace_probe.c: the event is still in use).
    for (int attempt = 0; attempt < 50; ++attempt) {
      int err = append_line(control, line);
      if (err == 0) return true;
      if (err != EBUSY) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  } catch (...) {
    return false;
  }
}

}  // namespace ebpf::sys
