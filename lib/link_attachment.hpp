// ebpfpp internal: the ways a program can be attached, behind ebpf::link.
//
// ebpf::link owns one detail::attachment. Each subclass knows how to undo one kind of attach:
//
//   kernel_link        a bpf_link fd (raw_tp, perf_event, cgroup, xdp, and every later
//                      BPF_LINK_CREATE kind): closing the last fd detaches; pin/update/info work
//   perf_event_ioctl   PERF_EVENT_IOC_SET_BPF on a perf event fd (kernels without perf links):
//                      disable + close the perf event detaches
//   prog_attach        BPF_PROG_ATTACH on a target fd (cgroups without links, sockmaps, ...):
//                      BPF_PROG_DETACH with the same target, program and type
//   socket_filter      SO_ATTACH_BPF: SO_DETACH_BPF on the socket
//
// To add an attach kind: derive from attachment (or reuse kernel_link when the kernel returns a
// bpf_link fd), construct it in the attach function, and return ebpf::link(std::move(it)).
#pragma once

#include <ebpf/link.hpp>
#include <ebpf/unique_fd.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace ebpf::detail {

class attachment {
 public:
  explicit attachment(std::string subject) : subject_(std::move(subject)) {}
  attachment(const attachment&) = delete;
  attachment& operator=(const attachment&) = delete;
  /// Must not detach: ebpf::link calls close() first. Only frees what is left.
  virtual ~attachment() = default;

  /// "cgroup bpf_link", "perf event (ioctl)", ...
  virtual std::string_view kind() const noexcept = 0;
  virtual bool is_kernel_link() const noexcept { return false; }
  /// The fd that keeps the attachment alive, or -1.
  virtual int fd() const noexcept { return -1; }

  /// What the destructor of ebpf::link does: undo the attach (kernel links: close the fd, so a
  /// pinned link stays). Never throws.
  virtual void close() noexcept = 0;
  /// Detach now, whatever holds it (explicit link::detach()). Returns false when the kernel
  /// cannot force it (link types without BPF_LINK_DETACH, kernels before 5.9): then only our
  /// reference was dropped. Throws: ebpf::error.
  virtual bool detach() = 0;
  /// Give up the attachment without undoing it; returns the fd that holds it, if any.
  virtual unique_fd release() noexcept = 0;

  /// Pins (kernel links only). Throws: errc::unsupported by default.
  virtual void pin(const std::string& path);
  /// Swaps the program. Throws: errc::unsupported by default.
  virtual void update(int new_prog_fd);
  /// Throws: ebpf::error.
  virtual link_info info() const = 0;

  const std::string& subject() const noexcept { return subject_; }

 protected:
  std::string subject_;  // "program 'f': tracepoint 'syscalls/sys_enter_getpid'"
};

/// A kernel bpf_link fd. `holder` is an extra fd the link needs to keep open (the perf event of
/// a perf_event link), closed with it.
std::unique_ptr<attachment> make_kernel_link(unique_fd link_fd, std::string subject,
                                             std::string_view kind, unique_fd holder = {});
/// A program attached to a perf event with PERF_EVENT_IOC_SET_BPF (and enabled).
std::unique_ptr<attachment> make_perf_event_ioctl(unique_fd perf_fd, unique_fd prog_fd,
                                                  std::string subject);
/// BPF_PROG_ATTACH of `prog_fd` to `target_fd` as `type` with `flags`.
std::unique_ptr<attachment> make_prog_attach(unique_fd target_fd, unique_fd prog_fd,
                                             attach_type type, std::uint32_t flags,
                                             std::string subject);
/// SO_ATTACH_BPF of `prog_fd` on `socket_fd`.
std::unique_ptr<attachment> make_socket_filter(unique_fd socket_fd, unique_fd prog_fd,
                                               std::string subject);

}  // namespace ebpf::detail
