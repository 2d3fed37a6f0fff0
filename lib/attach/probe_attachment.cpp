// ebpfpp: the kprobe/uprobe attachment (lib/attach/probe_attachment.hpp).

#include "attach/probe_attachment.hpp"

#include <ebpf/error.hpp>

#include <cerrno>
#include <fcntl.h>

#include "sys/bpf.hpp"

namespace ebpf::detail {
namespace {

bool has_errno(const error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

// Wraps the kernel_link / perf_event_ioctl attachment and removes the tracefs event after it
// (the kernel refuses to delete a probe event while a perf event is open on it).
class probe_attachment final : public attachment {
 public:
  probe_attachment(std::unique_ptr<attachment> inner, sys::probe_kind kind, std::string event)
      : attachment(inner->subject()), inner_(std::move(inner)), kind_(kind),
        event_(std::move(event)) {}

  std::string_view kind() const noexcept override { return inner_->kind(); }
  bool is_kernel_link() const noexcept override { return inner_->is_kernel_link(); }
  int fd() const noexcept override { return inner_->fd(); }

  void close() noexcept override {
    inner_->close();
    remove_event();
  }
  bool detach() override {
    bool forced = false;
    try {
      forced = inner_->detach();
    } catch (...) {
      remove_event();
      throw;
    }
    remove_event();
    return forced;
  }
  // The released fd keeps the probe alive, so the tracefs event must stay; it is the caller's
  // from now on (tracefs lists it as kprobes/<name> or uprobes/<name>).
  unique_fd release() noexcept override {
    event_.clear();
    return inner_->release();
  }
  void pin(const std::string& path) override {
    inner_->pin(path);
    // A pinned link outlives us, and with it the tracefs event it needs.
    event_.clear();
  }
  void update(int new_prog_fd) override { inner_->update(new_prog_fd); }
  link_info info() const override { return inner_->info(); }

 private:
  void remove_event() noexcept {
    if (!event_.empty()) sys::remove_tracefs_probe_event(kind_, event_);
    event_.clear();
  }

  std::unique_ptr<attachment> inner_;
  sys::probe_kind kind_;
  std::string event_;
};

unique_fd dup_prog(int prog_fd, const std::string& subject) {
  int copy = ::fcntl(prog_fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(errno, subject + ": duplicate program fd");
  return unique_fd(copy);
}

std::unique_ptr<attachment> attach_perf_fd(unique_fd perf, int prog_fd, std::uint64_t cookie,
                                           const std::string& subject) {
  sys::link_create_options options;
  options.prog_fd = prog_fd;
  options.target = static_cast<std::uint32_t>(perf.get());
  options.type = attach_type::perf_event;
  options.extra = sys::link_perf_event{cookie};
  try {
    unique_fd link_fd = sys::link_create(options, subject);
    sys::perf_event_enable(perf.get(), subject);
    return make_kernel_link(std::move(link_fd), subject, "perf_event bpf_link", std::move(perf));
  } catch (const error& e) {
    // Before 5.15 BPF_LINK_CREATE does not take perf events (EINVAL): PERF_EVENT_IOC_SET_BPF,
    // which has nowhere to put a cookie (libbpf refuses a cookie there too).
    if (!has_errno(e, EINVAL)) throw;
    if (cookie != 0) {
      throw_error(errc::unsupported,
                  subject + ": a BPF cookie needs perf_event bpf_links (kernel 5.15); " + e.what());
    }
    try {
      unique_fd prog = dup_prog(prog_fd, subject);
      sys::perf_event_set_bpf(perf.get(), prog.get(), subject);
      sys::perf_event_enable(perf.get(), subject);
      return make_perf_event_ioctl(std::move(perf), std::move(prog), subject);
    } catch (const error&) {
      throw e;  // the link error describes a current kernel
    }
  }
}

}  // namespace

std::unique_ptr<attachment> attach_probe_event(sys::probe_event event, sys::probe_kind kind,
                                               int prog_fd, std::uint64_t cookie,
                                               std::string subject) {
  std::string tracefs_event = std::move(event.tracefs_event);
  std::unique_ptr<attachment> inner;
  try {
    inner = attach_perf_fd(std::move(event.perf_fd), prog_fd, cookie, subject);
  } catch (...) {
    // attach_perf_fd closed the perf event when it threw (it owned it), so the tracefs event
    // can go now.
    if (!tracefs_event.empty()) sys::remove_tracefs_probe_event(kind, tracefs_event);
    throw;
  }
  if (tracefs_event.empty()) return inner;
  return std::make_unique<probe_attachment>(std::move(inner), kind, std::move(tracefs_event));
}

}  // namespace ebpf::detail
