// program::attach_* for tracing: perf events, tracepoints and raw tracepoints with cookies, and
// the BTF-targeted kinds (tp_btf, fentry, fexit, fmod_ret, lsm, lsm_cgroup, freplace).
// kprobes are in kprobe.cpp.
//
// Mechanism choice, newest first, as libbpf (src/libbpf.c bpf_program__attach_perf_event_opts,
// bpf_program__attach_btf_id, bpf_program__attach_freplace) and cilium/ebpf (link/tracing.go,
// link/perf_event.go) do: a bpf_link from BPF_LINK_CREATE where the kernel has one (it can be
// pinned and carries the BPF cookie), else the older call (PERF_EVENT_IOC_SET_BPF,
// BPF_RAW_TRACEPOINT_OPEN). A cookie is never dropped silently: when only the older call works,
// a non-zero cookie is an errc::unsupported error.

#include <ebpf/btf.hpp>
#include <ebpf/error.hpp>
#include <ebpf/link.hpp>
#include <ebpf/program.hpp>
#include <ebpf/tracing.hpp>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "attach/tracing_internal.hpp"
#include "link_attachment.hpp"
#include "sys/bpf.hpp"
#include "sys/ring.hpp"

namespace ebpf {
namespace {

bool has_errno(const error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

unique_fd dup_borrowed(int fd, const std::string& subject) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(errno, subject + ": duplicate fd " + std::to_string(fd));
  return unique_fd(copy);
}

// An error with a hint appended to the kernel's message.
[[noreturn]] void rethrow_with_hint(const error& e, std::string_view hint) {
  throw error(e.code(), std::string(e.what()) + " (" + std::string(hint) + ")");
}

class attachment_group final : public detail::attachment {
 public:
  attachment_group(std::vector<std::unique_ptr<detail::attachment>> parts, std::string subject,
                   std::string kind)
      : attachment(std::move(subject)), parts_(std::move(parts)), kind_(std::move(kind)) {}

  std::string_view kind() const noexcept override { return kind_; }
  // A group of kernel links is not itself one: pin/update/info-by-fd would apply to one part.
  bool is_kernel_link() const noexcept override { return false; }
  int fd() const noexcept override { return parts_.empty() ? -1 : parts_.front()->fd(); }

  void close() noexcept override {
    for (auto& part : parts_) part->close();
    parts_.clear();
  }
  bool detach() override {
    bool forced = true;
    std::vector<std::unique_ptr<detail::attachment>> parts = std::move(parts_);
    parts_.clear();
    for (auto& part : parts) forced = part->detach() && forced;
    return forced;
  }
  // One fd cannot hold several attachments: the first part's fd is returned and the others'
  // fds are given up too (left open, so their programs stay attached for the process's life).
  unique_fd release() noexcept override {
    unique_fd first;
    for (auto& part : parts_) {
      unique_fd fd = part->release();
      if (!first) first = std::move(fd);
      else (void)fd.release();
    }
    parts_.clear();
    return first;
  }
  link_info info() const override {
    if (parts_.empty()) throw_error(errc::invalid_argument, subject_ + ": info: nothing attached");
    return parts_.front()->info();
  }

 private:
  std::vector<std::unique_ptr<detail::attachment>> parts_;
  std::string kind_;
};

std::string perf_event_name(const perf_event_options& options) {
  switch (options.type) {
    case perf_type::software: {
      static constexpr const char* names[] = {"cpu-clock", "task-clock", "page-faults",
                                              "context-switches", "cpu-migrations",
                                              "minor-faults", "major-faults", "alignment-faults",
                                              "emulation-faults", "dummy", "bpf-output",
                                              "cgroup-switches"};
      if (options.config < std::size(names)) return names[options.config];
      return "software:" + std::to_string(options.config);
    }
    case perf_type::hardware: return "hardware:" + std::to_string(options.config);
    default: return std::to_string(options.type) + ":" + std::to_string(options.config);
  }
}

}  // namespace

namespace detail {

std::unique_ptr<attachment> make_attachment_group(std::vector<std::unique_ptr<attachment>> parts,
                                                  std::string subject, std::string kind) {
  return std::make_unique<attachment_group>(std::move(parts), std::move(subject), std::move(kind));
}

std::unique_ptr<attachment> attach_to_perf_event(unique_fd perf_fd, int prog_fd,
                                                 std::uint64_t cookie, const std::string& subject) {
  sys::link_create_options options;
  options.prog_fd = prog_fd;
  options.target = static_cast<std::uint32_t>(perf_fd.get());
  options.type = attach_type::perf_event;
  options.extra = sys::link_perf_event{cookie};
  try {
    unique_fd link_fd = sys::link_create(options, subject);
    // Enable only once the program is on it: a sample before that would be lost anyway, and a
    // failed attach leaves no running event behind.
    sys::perf_event_enable(perf_fd.get(), subject);
    return make_kernel_link(std::move(link_fd), subject, "perf_event bpf_link", std::move(perf_fd));
  } catch (const error& e) {
    // BPF_LINK_CREATE learnt BPF_PERF_EVENT in 5.15 (commit b89fbfbb854c "bpf: Implement minimal
    // BPF perf link"); older kernels answer EINVAL. Only the ioctl is left then, which has no
    // cookie.
    if (!has_errno(e, EINVAL)) throw;
    if (cookie != 0) {
      throw_error(errc::unsupported, std::string(e.what()) +
                                         " (a BPF cookie on a perf event needs the perf_event "
                                         "bpf_link of kernel 5.15)");
    }
    try {
      unique_fd prog = dup_borrowed(prog_fd, subject);
      sys::perf_event_set_bpf(perf_fd.get(), prog.get(), subject);
      sys::perf_event_enable(perf_fd.get(), subject);
      return make_perf_event_ioctl(std::move(perf_fd), std::move(prog), subject);
    } catch (const error&) {
      throw e;  // the link error describes a current kernel better
    }
  }
}

std::uint32_t program_function_btf_id(int prog_fd, std::string_view function,
                                      const std::string& subject) {
  sys::prog_info info = sys::prog_get_info(prog_fd, subject);
  if (info.btf_id == 0) {
    throw_error(errc::not_found, subject + ": program '" + info.name +
                                     "' has no BTF (load it with BTF: clang -g) to find function '" +
                                     std::string(function) + "' in");
  }
  unique_fd btf_fd = sys::btf_get_fd_by_id(info.btf_id, subject);
  std::vector<std::byte> data;
  sys::btf_get_info(btf_fd.get(), subject, &data);
  btf types = btf::parse(data);
  auto id = types.find(function, btf_kind::function);
  if (!id) {
    throw_error(errc::not_found, subject + ": program '" + info.name + "' has no function '" +
                                     std::string(function) + "' in its BTF (only global functions "
                                     "of the target can be replaced or traced)");
  }
  return *id;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Tracepoints and raw tracepoints with cookies.

link program::attach_tracepoint(std::string_view category, std::string_view name,
                                const tracepoint_options& options) const {
  if (options.cookie == 0) return attach_tracepoint(category, name);
  std::string subject =
      subject_ + ": tracepoint '" + std::string(category) + "/" + std::string(name) + "'";
  std::uint64_t id = 0;
  try {
    id = sys::tracepoint_id(category, name);
  } catch (const error& e) {
    throw error(e.code(), subject_ + ": " + e.what());
  }
  unique_fd perf = sys::perf_event_open_tracepoint(id, subject);
  return link(detail::attach_to_perf_event(std::move(perf), fd(), options.cookie, subject));
}

link program::attach_raw_tracepoint(std::string_view name,
                                    const raw_tracepoint_options& options) const {
  if (options.cookie == 0) return attach_raw_tracepoint(name);
  std::string subject = subject_ + ": raw tracepoint '" + std::string(name) + "'";
  try {
    unique_fd link_fd = sys::raw_tracepoint_open(name, fd(), options.cookie, subject_);
    return link(detail::make_kernel_link(std::move(link_fd), subject, "raw_tracepoint bpf_link"));
  } catch (const error& e) {
    // The cookie field of BPF_RAW_TRACEPOINT_OPEN is 6.10 (commit 68ca5d4eebb8 "bpf: support BPF
    // cookie in raw tracepoint (raw_tp, tp_btf) programs"); older kernels see a non-zero byte
    // past the attr they know: E2BIG (or EINVAL from CHECK_ATTR).
    if (has_errno(e, E2BIG) || has_errno(e, EINVAL))
      rethrow_with_hint(e, "BPF cookies on raw tracepoints need kernel 6.10");
    throw;
  }
}

// ---------------------------------------------------------------------------------------------
// perf_event programs.

link program::attach_perf_event(int perf_fd, std::uint64_t cookie) const {
  std::string subject = subject_ + ": perf event fd " + std::to_string(perf_fd);
  unique_fd perf = dup_borrowed(perf_fd, subject);
  return link(detail::attach_to_perf_event(std::move(perf), fd(), cookie, subject));
}

link program::attach_perf_event(const perf_event_options& options) const {
  const std::string event = perf_event_name(options);
  if (options.cpu && *options.cpu < 0) {
    throw_error(errc::invalid_argument, subject_ + ": perf event " + event + ": CPU " +
                                            std::to_string(*options.cpu) + " is not a CPU number");
  }
  sys::perf_event_options open;
  open.type = options.type;
  open.config = options.config;
  if (options.sample_frequency != 0) {
    open.freq = true;
    open.sample_period = options.sample_frequency;
  } else {
    // Period 0 would make a counting event, which never runs the program.
    open.sample_period = options.sample_period != 0 ? options.sample_period : 1;
  }
  open.disabled = true;  // enabled once the program is attached (attach_to_perf_event)
  open.pid = options.pid;

  auto attach_on = [&](int cpu) {
    std::string subject = subject_ + ": perf event " + event;
    if (options.pid >= 0) subject += " of pid " + std::to_string(options.pid);
    if (cpu >= 0) subject += " on CPU " + std::to_string(cpu);
    open.cpu = cpu;
    unique_fd perf = sys::perf_event_open(open, subject);
    return detail::attach_to_perf_event(std::move(perf), fd(), options.cookie, subject);
  };

  if (options.cpu) return link(attach_on(*options.cpu));
  // perf_event_open(pid, cpu = -1) follows one thread wherever it runs, but "every process" needs
  // one event per CPU (pid -1 with cpu -1 is EINVAL): libbpf leaves that loop to its callers
  // (e.g. libbpf-tools profile.c); we bundle it into one link, as a single attach call promises.
  if (options.pid >= 0) return link(attach_on(-1));
  std::vector<std::unique_ptr<detail::attachment>> parts;
  for (std::uint32_t cpu : sys::online_cpus()) parts.push_back(attach_on(static_cast<int>(cpu)));
  std::string kind = std::string(parts.front()->kind()) + " x" + std::to_string(parts.size()) + " CPUs";
  return link(detail::make_attachment_group(std::move(parts),
                                            subject_ + ": perf event " + event + " on every CPU",
                                            std::move(kind)));
}

// ---------------------------------------------------------------------------------------------
// BTF-targeted kinds.

link program::attach_trace(const trace_options& options) const {
  if (type_ != program_type::tracing && type_ != program_type::lsm && type_ != program_type::ext) {
    throw_error(errc::invalid_argument,
                subject_ + ": attach_trace: a " + std::string(to_string(type_)) +
                    " program is not tp_btf/fentry/fexit/fmod_ret/lsm/freplace");
  }
  const attach_type type = expected_attach_type_.value_or(attach_type::cgroup_inet_ingress);
  const std::string what = type_ == program_type::ext ? std::string("freplace")
                                                      : std::string(to_string(type));
  const std::string subject = subject_ + ": attach " + what;
  if (type_ != program_type::ext && expected_attach_type_ == attach_type::lsm_cgroup) {
    throw_error(errc::invalid_argument, subject + ": an lsm_cgroup program attaches to a cgroup: use attach_lsm_cgroup");
  }
  if (type_ != program_type::ext && expected_attach_type_ == attach_type::trace_iter) {
    throw_error(errc::invalid_argument, subject + ": an iterator program: use attach_iter");
  }
  if (type_ == program_type::ext && options.cookie != 0) {
    throw_error(errc::invalid_argument, subject + ": freplace programs take no BPF cookie");
  }

  // tp_btf with a cookie: BPF_RAW_TRACEPOINT_OPEN carries it from 6.10, and an older kernel
  // refuses the unknown field (E2BIG), whereas its BPF_LINK_CREATE would ignore
  // link_create.tracing.cookie for tp_btf (kernel/bpf/syscall.c link_create before 68ca5d4eebb8
  // calls bpf_raw_tp_link_attach without it): only this order cannot lose the cookie.
  if (type == attach_type::trace_raw_tp && type_ == program_type::tracing && options.cookie != 0) {
    try {
      return link(detail::make_kernel_link(sys::raw_tracepoint_open("", fd(), options.cookie, subject),
                                           subject, "raw_tracepoint bpf_link"));
    } catch (const error& e) {
      if (has_errno(e, E2BIG) || has_errno(e, EINVAL))
        rethrow_with_hint(e, "BPF cookies on tp_btf programs need kernel 6.10");
      throw;
    }
  }

  sys::link_create_options create;
  create.prog_fd = fd();
  create.target = 0;  // the target fixed at load (attach_btf_id, attach_prog_fd)
  create.type = type;
  if (options.cookie != 0) create.extra = sys::link_tracing{0, options.cookie};
  try {
    return link(detail::make_kernel_link(sys::link_create(create, subject), subject,
                                         type == attach_type::trace_raw_tp ? "raw_tracepoint bpf_link"
                                                                           : "tracing bpf_link"));
  } catch (const error& e) {
    // Tracing links by BPF_LINK_CREATE: 5.10 for freplace, 5.19 for fentry/fexit/fmod_ret/lsm
    // (with the cookie, commit 2fcc82411e74 "bpf, x86: Attach a cookie to fentry/fexit/fmod_ret/
    // lsm"). Before, EINVAL: BPF_RAW_TRACEPOINT_OPEN without a name attaches the same link
    // (5.5), as libbpf's bpf_link_create() falls back to. It has no cookie.
    if (!has_errno(e, EINVAL)) throw;
    if (options.cookie != 0) {
      throw_error(errc::unsupported, std::string(e.what()) +
                                         " (BPF cookies on fentry/fexit/fmod_ret/lsm need kernel 5.19)");
    }
    try {
      return link(detail::make_kernel_link(sys::raw_tracepoint_open("", fd(), 0, subject), subject,
                                           type == attach_type::trace_raw_tp ? "raw_tracepoint bpf_link"
                                                                             : "tracing bpf_link"));
    } catch (const error&) {
      throw e;
    }
  }
}

link program::attach_lsm_cgroup(int cgroup_fd) const {
  std::string subject = subject_ + ": attach lsm_cgroup to cgroup";
  if (type_ != program_type::lsm || expected_attach_type_ != attach_type::lsm_cgroup) {
    throw_error(errc::invalid_argument, subject + ": not an lsm_cgroup program (SEC(\"lsm_cgroup/<hook>\"))");
  }
  sys::link_create_options create;
  create.prog_fd = fd();
  create.target = static_cast<std::uint32_t>(cgroup_fd);
  create.type = attach_type::lsm_cgroup;
  return link(detail::make_kernel_link(sys::link_create(create, subject), subject, "cgroup bpf_link"));
}

link program::attach_freplace(const program& target, std::string_view function) const {
  std::string subject = subject_ + ": freplace '" + std::string(function) + "' of program '" +
                        target.name() + "'";
  if (type_ != program_type::ext) {
    throw_error(errc::invalid_argument, subject + ": not a freplace program (SEC(\"freplace/<function>\"))");
  }
  if (!target) throw_error(errc::invalid_argument, subject + ": the target program is empty");
  sys::link_create_options create;
  create.prog_fd = fd();
  create.target = static_cast<std::uint32_t>(target.fd());
  // The kernel ignores attach_type for ext programs (link_create skips the type check for
  // BPF_PROG_TYPE_EXT); libbpf passes the expected attach type, 0.
  create.type = expected_attach_type_.value_or(attach_type::cgroup_inet_ingress);
  create.extra = sys::link_tracing{detail::program_function_btf_id(target.fd(), function, subject), 0};
  return link(detail::make_kernel_link(sys::link_create(create, subject), subject, "tracing bpf_link"));
}

}  // namespace ebpf
