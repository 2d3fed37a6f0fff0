// ebpf::link and the attachment kinds behind it (lib/link_attachment.hpp), plus
// program::attach_*, which pick the newest mechanism the kernel offers and fall back.

#include <ebpf/error.hpp>
#include <ebpf/link.hpp>
#include <ebpf/network.hpp>
#include <ebpf/program.hpp>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include "link_attachment.hpp"
#include "sys/bpf.hpp"

namespace ebpf {

static_assert(static_cast<std::uint32_t>(link_type::sockmap) ==
              static_cast<std::uint32_t>(sys::link_type::sockmap));
static_assert(static_cast<std::uint32_t>(link_type::netfilter) ==
              static_cast<std::uint32_t>(sys::link_type::netfilter));

std::string_view to_string(link_type type) noexcept {
  switch (type) {
    case link_type::unspec: return "unspec";
    case link_type::raw_tracepoint: return "raw_tracepoint";
    case link_type::tracing: return "tracing";
    case link_type::cgroup: return "cgroup";
    case link_type::iter: return "iter";
    case link_type::netns: return "netns";
    case link_type::xdp: return "xdp";
    case link_type::perf_event: return "perf_event";
    case link_type::kprobe_multi: return "kprobe_multi";
    case link_type::struct_ops: return "struct_ops";
    case link_type::netfilter: return "netfilter";
    case link_type::tcx: return "tcx";
    case link_type::uprobe_multi: return "uprobe_multi";
    case link_type::netkit: return "netkit";
    case link_type::sockmap: return "sockmap";
  }
  return "unknown";
}

namespace {

bool has_errno(const error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

// A CLOEXEC duplicate (> 2) of an fd we do not own.
unique_fd dup_borrowed(int fd, const std::string& subject) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(errno, subject + ": duplicate fd " + std::to_string(fd));
  return unique_fd(copy);
}

link_info to_public(const sys::link_info& raw) {
  link_info info;
  info.type = static_cast<link_type>(raw.type);
  info.id = raw.id;
  info.prog_id = raw.prog_id;
  info.attach = raw.attach;
  info.cgroup_id = raw.cgroup_id;
  info.ifindex = raw.ifindex;
  info.netns_ino = raw.netns_ino;
  info.target_obj_id = raw.target_obj_id;
  info.target_btf_id = raw.target_btf_id;
  info.tp_name = raw.tp_name;
  info.cookie = raw.cookie;
  info.perf_event = static_cast<perf_event_kind>(raw.perf_event_type);
  info.target_name = raw.target_name;
  info.offset = raw.offset;
  info.address = raw.address;
  info.ref_ctr_offset = raw.ref_ctr_offset;
  info.config = raw.config;
  info.event_type = raw.event_type;
  info.missed = raw.missed;
  info.map_id = raw.map_id;
  info.flags = raw.flags;
  info.count = raw.count;
  info.pid = raw.pid;
  info.tid = raw.tid;
  info.order = raw.order;
  info.netfilter_pf = raw.netfilter_pf;
  info.netfilter_hooknum = raw.netfilter_hooknum;
  info.netfilter_priority = raw.netfilter_priority;
  info.addresses = raw.addresses;
  info.cookies = raw.cookies;
  return info;
}

link_info legacy_info(int prog_fd, const std::string& subject, std::optional<attach_type> type) {
  link_info info;
  info.prog_id = sys::prog_get_info(prog_fd, subject).id;
  info.attach = type;
  return info;
}

class kernel_link final : public detail::attachment {
 public:
  kernel_link(unique_fd fd, std::string subject, std::string kind, unique_fd holder)
      : attachment(std::move(subject)), fd_(std::move(fd)), holder_(std::move(holder)),
        kind_(std::move(kind)) {}

  std::string_view kind() const noexcept override { return kind_; }
  bool is_kernel_link() const noexcept override { return true; }
  int fd() const noexcept override { return fd_.get(); }

  // Closing our fd drops our reference: the kernel detaches when no fd and no pin is left.
  void close() noexcept override {
    fd_.reset();
    holder_.reset();
  }

  bool detach() override {
    bool forced = true;
    try {
      sys::link_detach(fd_.get(), subject_);
    } catch (const error& e) {
      // Kernels before 5.9, and link types without a detach operation (raw_tp, tracing,
      // perf_event, iter: kernel/bpf/syscall.c link_detach gives EOPNOTSUPP), refuse. Closing
      // our fd is then the only way; it works unless the link is pinned or shared.
      if (!has_errno(e, EINVAL) && !has_errno(e, EOPNOTSUPP)) {
        close();
        throw;
      }
      forced = false;
    }
    close();
    return forced;
  }

  unique_fd release() noexcept override {
    holder_.reset();  // the link holds its own reference to the perf event
    return std::move(fd_);
  }

  void pin(const std::string& path) override { sys::obj_pin(fd_.get(), path, subject_); }
  void update(int new_prog_fd) override { sys::link_update(fd_.get(), new_prog_fd, -1, subject_); }
  link_info info() const override { return to_public(sys::link_get_info(fd_.get(), subject_)); }

 private:
  unique_fd fd_;
  unique_fd holder_;
  std::string kind_;
};

class perf_event_ioctl final : public detail::attachment {
 public:
  perf_event_ioctl(unique_fd perf_fd, unique_fd prog_fd, std::string subject)
      : attachment(std::move(subject)), perf_fd_(std::move(perf_fd)), prog_fd_(std::move(prog_fd)) {}

  std::string_view kind() const noexcept override { return "perf event (ioctl)"; }
  int fd() const noexcept override { return perf_fd_.get(); }

  // The program stays on the perf event until the event's last fd is closed.
  void close() noexcept override {
    if (perf_fd_) sys::perf_event_disable(perf_fd_.get());
    perf_fd_.reset();
    prog_fd_.reset();
  }
  bool detach() override {
    close();
    return true;
  }
  unique_fd release() noexcept override {
    prog_fd_.reset();
    return std::move(perf_fd_);
  }
  link_info info() const override { return legacy_info(prog_fd_.get(), subject_, attach_type::perf_event); }

 private:
  unique_fd perf_fd_;
  unique_fd prog_fd_;
};

class prog_attach final : public detail::attachment {
 public:
  prog_attach(unique_fd target, unique_fd prog, attach_type type, std::uint32_t flags,
              std::string subject)
      : attachment(std::move(subject)), target_(std::move(target)), prog_(std::move(prog)),
        type_(type), flags_(flags) {}

  std::string_view kind() const noexcept override { return "BPF_PROG_ATTACH"; }

  void close() noexcept override {
    try {
      detach();
    } catch (...) {
      // Destructors never throw; the target may already be gone (a removed cgroup).
    }
  }
  bool detach() override {
    if (!target_) return true;
    unique_fd target = std::move(target_);
    unique_fd prog = std::move(prog_);
    // With BPF_F_ALLOW_MULTI the kernel needs the program to know which one to remove.
    sys::prog_detach(target.get(), prog.get(), type_, subject_);
    return true;
  }
  unique_fd release() noexcept override {
    target_.reset();
    prog_.reset();
    return {};
  }
  void update(int new_prog_fd) override {
    unique_fd replacement = dup_borrowed(new_prog_fd, subject_);
    sys::prog_attach(target_.get(), replacement.get(), type_, flags_, prog_.get(), subject_);
    prog_ = std::move(replacement);
  }
  link_info info() const override { return legacy_info(prog_.get(), subject_, type_); }

 private:
  unique_fd target_;
  unique_fd prog_;
  attach_type type_;
  std::uint32_t flags_;
};

class socket_filter final : public detail::attachment {
 public:
  socket_filter(unique_fd socket, unique_fd prog, std::string subject)
      : attachment(std::move(subject)), socket_(std::move(socket)), prog_(std::move(prog)) {}

  std::string_view kind() const noexcept override { return "socket filter"; }

  void close() noexcept override {
    if (socket_) sys::socket_detach_bpf(socket_.get());
    socket_.reset();
    prog_.reset();
  }
  bool detach() override {
    if (!socket_) return true;
    bool ok = sys::socket_detach_bpf(socket_.get());
    int saved = errno;
    socket_.reset();
    prog_.reset();
    if (!ok) throw_errno(saved, subject_ + ": detach from socket");
    return true;
  }
  unique_fd release() noexcept override {
    socket_.reset();
    prog_.reset();
    return {};
  }
  // SO_ATTACH_BPF replaces the socket's filter atomically.
  void update(int new_prog_fd) override {
    unique_fd replacement = dup_borrowed(new_prog_fd, subject_);
    sys::socket_attach_bpf(socket_.get(), replacement.get(), subject_);
    prog_ = std::move(replacement);
  }
  link_info info() const override { return legacy_info(prog_.get(), subject_, std::nullopt); }

 private:
  unique_fd socket_;
  unique_fd prog_;
};

std::string kind_of(const sys::link_info& info) {
  return std::string(to_string(static_cast<link_type>(info.type))) + " bpf_link";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// detail::attachment defaults and factories.

namespace detail {

void attachment::pin(const std::string& path) {
  throw_error(errc::unsupported, subject_ + ": pin '" + path + "': a " + std::string(kind()) +
                                     " attachment is not a kernel bpf_link and cannot be pinned");
}

void attachment::update(int) {
  throw_error(errc::unsupported, subject_ + ": update: a " + std::string(kind()) +
                                     " attachment cannot swap its program");
}

std::unique_ptr<attachment> make_kernel_link(unique_fd link_fd, std::string subject,
                                             std::string_view kind, unique_fd holder) {
  return std::make_unique<kernel_link>(std::move(link_fd), std::move(subject), std::string(kind),
                                       std::move(holder));
}

std::unique_ptr<attachment> make_perf_event_ioctl(unique_fd perf_fd, unique_fd prog_fd,
                                                  std::string subject) {
  return std::make_unique<perf_event_ioctl>(std::move(perf_fd), std::move(prog_fd),
                                            std::move(subject));
}

std::unique_ptr<attachment> make_prog_attach(unique_fd target_fd, unique_fd prog_fd,
                                             attach_type type, std::uint32_t flags,
                                             std::string subject) {
  return std::make_unique<prog_attach>(std::move(target_fd), std::move(prog_fd), type, flags,
                                       std::move(subject));
}

std::unique_ptr<attachment> make_socket_filter(unique_fd socket_fd, unique_fd prog_fd,
                                               std::string subject) {
  return std::make_unique<socket_filter>(std::move(socket_fd), std::move(prog_fd),
                                         std::move(subject));
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// ebpf::link.

link::link() noexcept = default;
link::link(std::unique_ptr<detail::attachment> attachment) noexcept
    : attachment_(std::move(attachment)) {}
link::link(link&& other) noexcept = default;

link& link::operator=(link&& other) noexcept {
  if (this != &other) {
    if (attachment_) attachment_->close();
    attachment_ = std::move(other.attachment_);
    pin_path_ = std::move(other.pin_path_);
  }
  return *this;
}

link::~link() {
  if (attachment_) attachment_->close();
}

namespace {

std::unique_ptr<detail::attachment> adopt_kernel_link(unique_fd fd, std::string subject) {
  sys::fd_kind kind = sys::bpf_fd_kind(fd.get());
  if (kind != sys::fd_kind::link && kind != sys::fd_kind::unknown) {
    throw_error(errc::invalid_argument, subject + ": not a BPF link");
  }
  sys::link_info info = sys::link_get_info(fd.get(), subject);
  return detail::make_kernel_link(std::move(fd), std::move(subject), kind_of(info));
}

void require(const std::unique_ptr<detail::attachment>& attachment, std::string_view action) {
  if (!attachment) {
    throw_error(errc::invalid_argument, "link: " + std::string(action) + ": the link is empty");
  }
}

}  // namespace

link link::from_pin(const std::string& path) {
  std::string subject = "link pinned at '" + path + "'";
  link pinned(adopt_kernel_link(sys::obj_get(path, 0, "link"), subject));
  pinned.pin_path_ = path;
  return pinned;
}

link link::from_fd(unique_fd fd) {
  std::string subject = "link fd " + std::to_string(fd.get());
  return link(adopt_kernel_link(std::move(fd), std::move(subject)));
}

bool link::is_kernel_link() const noexcept {
  return attachment_ && attachment_->is_kernel_link();
}

int link::fd() const noexcept { return attachment_ ? attachment_->fd() : -1; }

std::string_view link::kind() const noexcept {
  return attachment_ ? attachment_->kind() : std::string_view("empty");
}

void link::pin(const std::string& path) {
  require(attachment_, "pin '" + path + "'");
  attachment_->pin(path);
  pin_path_ = path;
}

void link::unpin() {
  if (pin_path_.empty()) throw_error(errc::invalid_argument, "link: unpin: the link is not pinned");
  std::string subject = attachment_ ? attachment_->subject() : std::string("link");
  if (::unlink(pin_path_.c_str()) != 0) throw_errno(errno, subject + ": unpin '" + pin_path_ + "'");
  pin_path_.clear();
}

unique_fd link::release() noexcept {
  if (!attachment_) return {};
  unique_fd fd = attachment_->release();
  attachment_.reset();
  pin_path_.clear();
  return fd;
}

void link::update(const program& replacement) {
  require(attachment_, "update");
  attachment_->update(replacement.fd());
}

link_info link::info() const {
  require(attachment_, "info");
  return attachment_->info();
}

void link::detach() {
  require(attachment_, "detach");
  std::unique_ptr<detail::attachment> attachment = std::move(attachment_);
  if (!attachment->detach() && !pin_path_.empty()) {
    throw_error(errc::unsupported,
                attachment->subject() + ": detach: the kernel cannot force-detach a " +
                    std::string(attachment->kind()) + "; the pin at '" + pin_path_ +
                    "' keeps it attached until unpin()");
  }
}

// ---------------------------------------------------------------------------------------------
// program::attach_*.

link program::attach_tracepoint(std::string_view category, std::string_view name) const {
  std::string subject =
      subject_ + ": tracepoint '" + std::string(category) + "/" + std::string(name) + "'";
  std::uint64_t id = 0;
  try {
    id = sys::tracepoint_id(category, name);
  } catch (const error& e) {
    throw error(e.code(), subject_ + ": " + e.what());
  }
  unique_fd perf = sys::perf_event_open_tracepoint(id, subject);

  sys::link_create_options options;
  options.prog_fd = fd();
  options.target = static_cast<std::uint32_t>(perf.get());
  options.type = attach_type::perf_event;
  options.extra = sys::link_perf_event{};
  try {
    unique_fd link_fd = sys::link_create(options, subject);
    sys::perf_event_enable(perf.get(), subject);
    return link(detail::make_kernel_link(std::move(link_fd), subject, "perf_event bpf_link",
                                         std::move(perf)));
  } catch (const error& e) {
    // Before 5.15 BPF_LINK_CREATE does not know perf events (EINVAL); attach the old way.
    if (!has_errno(e, EINVAL)) throw;
    try {
      unique_fd prog = fd_.dup();
      sys::perf_event_set_bpf(perf.get(), prog.get(), subject);
      sys::perf_event_enable(perf.get(), subject);
      return link(detail::make_perf_event_ioctl(std::move(perf), std::move(prog), subject));
    } catch (const error&) {
      throw e;  // the link error is the one that describes a current kernel
    }
  }
}

link program::attach_raw_tracepoint(std::string_view name) const {
  unique_fd link_fd = sys::raw_tracepoint_open(name, fd(), 0, subject_);
  return link(detail::make_kernel_link(
      std::move(link_fd), subject_ + ": raw tracepoint '" + std::string(name) + "'",
      "raw_tracepoint bpf_link"));
}

// The defaults of cgroup_attach_options are this call: a cgroup link (5.7), else (EINVAL)
// BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI, which lets our program coexist with others as a link
// would (lib/attach/network.cpp).
link program::attach_cgroup(int cgroup_fd, attach_type type) const {
  return attach_cgroup(cgroup_fd, type, cgroup_attach_options{});
}

link program::attach_xdp(int ifindex, std::uint32_t flags) const {
  std::string subject = subject_ + ": attach XDP to ifindex " + std::to_string(ifindex);
  if (ifindex <= 0) throw_error(errc::invalid_argument, subject + ": invalid interface index");
  sys::link_create_options options;
  options.prog_fd = fd();
  options.target = static_cast<std::uint32_t>(ifindex);
  options.type = attach_type::xdp;
  options.flags = flags;
  return link(detail::make_kernel_link(sys::link_create(options, subject), subject,
                                       "xdp bpf_link"));
}

link program::attach_socket_filter(int socket_fd) const {
  std::string subject = subject_ + ": attach to socket";
  unique_fd socket = dup_borrowed(socket_fd, subject);
  unique_fd prog = fd_.dup();
  sys::socket_attach_bpf(socket.get(), prog.get(), subject_);
  return link(detail::make_socket_filter(std::move(socket), std::move(prog), subject));
}

}  // namespace ebpf
