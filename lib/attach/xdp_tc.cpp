// program::attach_* for network devices: XDP (bpf_link or netlink), tc (clsact + cls_bpf through
// netlink), TCX (link or BPF_PROG_ATTACH) and netkit, plus the queries of what is attached.
//
//   hook          mechanism                          kernel   undone by
//   XDP           BPF_LINK_CREATE(BPF_XDP)           5.9      closing the link
//   XDP           RTM_SETLINK IFLA_XDP               4.8      RTM_SETLINK fd -1, only if ours (5.7)
//   tc            RTM_NEWQDISC clsact + RTM_NEWTFILTER 4.5    RTM_DELTFILTER (+ the qdisc we made)
//   TCX           BPF_LINK_CREATE(tcx_*)             6.6      closing the link
//   TCX           BPF_PROG_ATTACH(tcx_*)             6.6      BPF_PROG_DETACH
//   netkit        BPF_LINK_CREATE / PROG_ATTACH      6.7      as TCX
//
// Studied (read, not copied): libbpf src/netlink.c (bpf_xdp_attach, bpf_tc_hook_create,
// bpf_tc_attach/detach), cilium/ebpf link/xdp.go and link/tcx.go (anchors as fd or id, of a
// program or of a link), iproute2 tc/f_bpf.c, kernel net/core/dev.c dev_xdp_attach (the EBUSY /
// EEXIST rules) and kernel/bpf/mprog.c.
//
// Every netlink attachment keeps the netlink socket it attached with: a netlink socket stays in
// the network namespace it was opened in, so the detach reaches the same interface even when the
// ebpf::link is destroyed from another namespace (an ifindex alone names different devices in
// different namespaces).

#include <ebpf/error.hpp>
#include <ebpf/link.hpp>
#include <ebpf/netdev.hpp>
#include <ebpf/program.hpp>

#include <cerrno>
#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include "link_attachment.hpp"
#include "sys/bpf.hpp"
#include "sys/mprog.hpp"
#include "sys/network.hpp"
#include "sys/netlink.hpp"

namespace ebpf {

static_assert(xdp_flags::update_if_noexist == sys::xdp_update_if_noexist);
static_assert(xdp_flags::skb_mode == sys::xdp_skb_mode);
static_assert(xdp_flags::drv_mode == sys::xdp_drv_mode);
static_assert(xdp_flags::hw_mode == sys::xdp_hw_mode);
static_assert(static_cast<std::uint8_t>(xdp_attach_mode::driver) == sys::xdp_attached_drv);
static_assert(static_cast<std::uint8_t>(xdp_attach_mode::generic) == sys::xdp_attached_skb);
static_assert(static_cast<std::uint8_t>(xdp_attach_mode::offload) == sys::xdp_attached_hw);
static_assert(static_cast<std::uint8_t>(xdp_attach_mode::multi) == sys::xdp_attached_multi);

// ---------------------------------------------------------------------------------------------
// net_interface

int net_interface::index() const {
  if (name_.empty()) {
    if (index_ <= 0) throw_error(errc::invalid_argument, describe() + ": invalid interface index");
    return index_;
  }
  unsigned index = ::if_nametoindex(name_.c_str());
  if (index == 0) throw_errno(errno == 0 ? ENODEV : errno, describe());
  return static_cast<int>(index);
}

std::string net_interface::describe() const {
  if (!name_.empty()) return "interface '" + name_ + "'";
  return "ifindex " + std::to_string(index_);
}

namespace {

constexpr std::uint32_t xdp_mode_mask = sys::xdp_skb_mode | sys::xdp_drv_mode | sys::xdp_hw_mode;

std::string_view direction_name(tc_direction direction) {
  return direction == tc_direction::ingress ? "ingress" : "egress";
}

std::uint32_t tc_parent(tc_direction direction) {
  return direction == tc_direction::ingress ? sys::tc_parent_ingress() : sys::tc_parent_egress();
}

unique_fd dup_fd(int fd, const std::string& subject) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(errno, subject + ": duplicate fd " + std::to_string(fd));
  return unique_fd(copy);
}

std::uint32_t prog_id_of(int prog_fd, const std::string& subject) {
  return sys::prog_get_info(prog_fd, subject).id;
}

bool is_errno(const error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

[[noreturn]] void rethrow_with_hint(const error& e, int value, std::string_view hint) {
  if (is_errno(e, value)) throw error(e.code(), std::string(e.what()) + " (" + std::string(hint) + ")");
  throw e;
}

// ---- XDP through netlink --------------------------------------------------------------------

class xdp_netlink_attachment final : public detail::attachment {
 public:
  xdp_netlink_attachment(sys::netlink_socket socket, int ifindex, unique_fd prog,
                         std::uint32_t mode_flags, std::string subject)
      : attachment(std::move(subject)), socket_(std::move(socket)), ifindex_(ifindex),
        prog_(std::move(prog)), mode_flags_(mode_flags) {}

  std::string_view kind() const noexcept override { return "xdp (netlink)"; }

  void close() noexcept override {
    try {
      remove();
    } catch (...) {
      // Destructors never throw: a failed detach leaves the program where `ip link` shows it.
    }
    prog_.reset();
  }

  bool detach() override {
    remove();
    prog_.reset();
    return true;
  }

  unique_fd release() noexcept override {
    prog_.reset();
    return {};
  }

  void update(int new_prog_fd) override {
    // Swap in place, only if ours is still attached: XDP_FLAGS_REPLACE with our program expected.
    auto status = sys::xdp_set(socket_, ifindex_, new_prog_fd, mode_flags_, prog_.get());
    if (status.error != 0) sys::throw_netlink(status, subject_ + ": update");
    prog_ = dup_fd(new_prog_fd, subject_);
  }

  link_info info() const override {
    link_info info;
    info.prog_id = prog_id_of(prog_.get(), subject_);
    info.ifindex = static_cast<std::uint32_t>(ifindex_);
    info.attach = attach_type::xdp;
    return info;
  }

 private:
  // RTM_SETLINK fd -1 in our mode with our program expected: the kernel detaches only if our
  // program is still the one attached (5.7; dev_xdp_attach compares under RTNL, so there is no
  // window in which we could remove someone else's program). EEXIST: it was replaced meanwhile,
  // it is not ours to remove. ENODEV: the interface is gone, and the program with it.
  void remove() {
    if (!prog_) return;
    auto status = sys::xdp_set(socket_, ifindex_, -1, mode_flags_, prog_.get());
    if (status.error == 0 || status.error == EEXIST || status.error == ENODEV) return;
    sys::throw_netlink(status, subject_ + ": detach");
  }

  sys::netlink_socket socket_;
  int ifindex_;
  unique_fd prog_;
  std::uint32_t mode_flags_;
};

// ---- tc: clsact + cls_bpf --------------------------------------------------------------------

class tc_filter_attachment final : public detail::attachment {
 public:
  tc_filter_attachment(sys::netlink_socket socket, int ifindex, std::uint32_t parent,
                       const sys::tc_filter& filter, unique_fd prog, bool created_qdisc,
                       std::string subject)
      : attachment(std::move(subject)), socket_(std::move(socket)), ifindex_(ifindex),
        parent_(parent), handle_(filter.handle), priority_(filter.priority),
        prog_id_(filter.prog_id), prog_(std::move(prog)), created_qdisc_(created_qdisc) {}

  std::string_view kind() const noexcept override { return "tc filter (netlink)"; }

  void close() noexcept override {
    try {
      remove();
    } catch (...) {
    }
    prog_.reset();
  }

  bool detach() override {
    remove();
    prog_.reset();
    return true;
  }

  unique_fd release() noexcept override {
    prog_.reset();
    return {};
  }

  void update(int new_prog_fd) override {
    // NLM_F_REPLACE on our handle and priority: cls_bpf swaps the program in place
    // (cls_bpf_change with an existing handle).
    auto name = sys::prog_get_info(new_prog_fd, subject_);
    auto filter = sys::tc_filter_add_bpf(socket_, ifindex_, parent_, handle_, priority_, new_prog_fd,
                                         name.name + ":[" + std::to_string(name.id) + "]", true,
                                         subject_);
    prog_ = dup_fd(new_prog_fd, subject_);
    prog_id_ = filter.prog_id;
  }

  link_info info() const override {
    link_info info;
    info.prog_id = prog_id_;
    info.ifindex = static_cast<std::uint32_t>(ifindex_);
    return info;
  }

 private:
  void remove() {
    if (!prog_) return;
    try {
      remove_filter_and_qdisc();
    } catch (const error& e) {
      if (!is_errno(e, ENODEV)) throw;  // the interface is gone, and its filters with it
    }
    created_qdisc_ = false;
  }

  void remove_filter_and_qdisc() {
    // Delete our filter only if it still runs our program: someone may have replaced it
    // (tc filter replace) since.
    bool ours = false;
    for (const auto& filter : sys::tc_filter_list(socket_, ifindex_, parent_, subject_)) {
      if (filter.handle == handle_ && filter.priority == priority_ && filter.kind == "bpf") {
        ours = filter.prog_id == prog_id_;
      }
    }
    if (ours) {
      auto status = sys::tc_filter_delete(socket_, ifindex_, parent_, handle_, priority_);
      if (status.error != 0 && status.error != ENOENT && status.error != ENODEV) {
        sys::throw_netlink(status, subject_ + ": delete filter");
      }
    }
    // The qdisc goes only if we made it and nothing is left on it: deleting clsact would take
    // every other filter with it (tcx programs are separate and stay).
    if (created_qdisc_ &&
        sys::tc_filter_list(socket_, ifindex_, sys::tc_parent_ingress(), subject_).empty() &&
        sys::tc_filter_list(socket_, ifindex_, sys::tc_parent_egress(), subject_).empty()) {
      sys::clsact_delete(socket_, ifindex_);  // ENOENT/EINVAL: already gone; nothing to undo
    }
  }

  sys::netlink_socket socket_;
  int ifindex_;
  std::uint32_t parent_;
  std::uint32_t handle_;
  std::uint16_t priority_;
  std::uint32_t prog_id_;
  unique_fd prog_;
  bool created_qdisc_;
};

// ---- TCX / netkit through BPF_PROG_ATTACH ----------------------------------------------------

// The ifindex is resolved in the namespace current at detach time (BPF_PROG_DETACH has no
// netns argument): destroy the link in the namespace it was made in.
class mprog_attachment final : public detail::attachment {
 public:
  mprog_attachment(int ifindex, unique_fd prog, attach_type type, std::string subject)
      : attachment(std::move(subject)), ifindex_(ifindex), prog_(std::move(prog)), type_(type) {}

  std::string_view kind() const noexcept override {
    return type_ == attach_type::tcx_ingress || type_ == attach_type::tcx_egress
               ? "tcx (prog_attach)"
               : "netkit (prog_attach)";
  }

  void close() noexcept override {
    if (prog_) sys::mprog_detach(ifindex_, prog_.get(), type_);
    prog_.reset();
  }

  bool detach() override {
    if (!prog_) return true;
    int error = sys::mprog_detach(ifindex_, prog_.get(), type_);
    prog_.reset();
    if (error != 0 && error != ENOENT && error != ENODEV) throw_errno(error, subject_ + ": detach");
    return true;
  }

  unique_fd release() noexcept override {
    prog_.reset();
    return {};
  }

  void update(int new_prog_fd) override {
    sys::mprog_replace(ifindex_, new_prog_fd, prog_.get(), type_, subject_);
    prog_ = dup_fd(new_prog_fd, subject_);
  }

  link_info info() const override {
    link_info info;
    info.prog_id = prog_id_of(prog_.get(), subject_);
    info.ifindex = static_cast<std::uint32_t>(ifindex_);
    info.attach = type_;
    return info;
  }

 private:
  int ifindex_;
  unique_fd prog_;
  attach_type type_;
};

// tcx_options -> the flags and relative fd/id of BPF_LINK_CREATE / BPF_PROG_ATTACH.
sys::mprog_placement placement_of(const tcx_options& options, const std::string& subject) {
  sys::mprog_placement placement;
  placement.expected_revision = options.expected_revision;
  int anchors = (options.relative_program != nullptr) + (options.relative_link != nullptr) +
                (options.relative_program_id != 0) + (options.relative_link_id != 0);
  switch (options.position) {
    case mprog_position::last:
    case mprog_position::first:
      if (anchors != 0) {
        throw_error(errc::invalid_argument,
                    subject + ": an anchor (relative_*) needs position before or after");
      }
      // BPF_F_BEFORE without an anchor means "first"; no flag appends (kernel/bpf/mprog.c).
      if (options.position == mprog_position::first) placement.flags = sys::attach_before;
      return placement;
    case mprog_position::before:
    case mprog_position::after:
      break;
  }
  if (anchors != 1) {
    throw_error(errc::invalid_argument,
                subject + ": position before/after needs exactly one anchor (relative_program, "
                          "relative_link, relative_program_id or relative_link_id)");
  }
  placement.flags = options.position == mprog_position::before ? sys::attach_before : sys::attach_after;
  if (options.relative_program) {
    if (!*options.relative_program) throw_error(errc::invalid_argument, subject + ": the anchor program is empty");
    placement.relative_fd_or_id = static_cast<std::uint32_t>(options.relative_program->fd());
  } else if (options.relative_link) {
    if (options.relative_link->fd() < 0 || !options.relative_link->is_kernel_link()) {
      throw_error(errc::invalid_argument,
                  subject + ": the anchor link is not a kernel bpf_link (use its program instead)");
    }
    placement.flags |= sys::attach_link;
    placement.relative_fd_or_id = static_cast<std::uint32_t>(options.relative_link->fd());
  } else if (options.relative_program_id != 0) {
    placement.flags |= sys::attach_id;
    placement.relative_fd_or_id = options.relative_program_id;
  } else {
    placement.flags |= sys::attach_id | sys::attach_link;
    placement.relative_fd_or_id = options.relative_link_id;
  }
  return placement;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// XDP

link program::attach_xdp(const net_interface& iface, const xdp_options& options) const {
  const bool netlink = options.method == xdp_attach_method::netlink;
  std::string subject = subject_ + ": attach XDP to " + iface.describe() +
                        (netlink ? " (netlink)" : " (link)");
  int ifindex = iface.index();
  if (!netlink) {
    if (options.replace || (options.flags & xdp_flags::update_if_noexist)) {
      throw_error(errc::invalid_argument,
                  subject + ": replace and update_if_noexist are netlink options (a link is "
                            "replaced with link::update)");
    }
    sys::link_create_options create;
    create.prog_fd = fd();
    create.target = static_cast<std::uint32_t>(ifindex);
    create.type = attach_type::xdp;
    create.flags = options.flags;
    try {
      return link(detail::make_kernel_link(sys::link_create(create, subject), subject, "xdp bpf_link"));
    } catch (const error& e) {
      rethrow_with_hint(e, EBUSY,
                        "a program is attached already; a link cannot replace it (detach it, or "
                        "use xdp_attach_method::netlink with xdp_options::replace)");
    }
  }
  auto socket = sys::netlink_socket::open(subject);
  int expected = sys::no_expectation;
  if (options.replace) {
    if (!*options.replace) throw_error(errc::invalid_argument, subject + ": xdp_options::replace is empty");
    expected = options.replace->fd();
  }
  auto status = sys::xdp_set(socket, ifindex, fd(), options.flags, expected);
  if (status.error != 0) {
    // Name the two refusals users meet (net/core/dev.c dev_xdp_attach).
    if (status.error == EEXIST && options.replace) {
      status.kernel_message += "; the attached program is not xdp_options::replace";
    } else if (status.error == EBUSY) {
      status.kernel_message += "; another program or an XDP link holds this mode";
    }
    sys::throw_netlink(status, subject);
  }
  auto prog = dup_fd(fd(), subject);
  return link(std::make_unique<xdp_netlink_attachment>(std::move(socket), ifindex, std::move(prog),
                                                       options.flags & xdp_mode_mask, subject));
}

xdp_query_result query_xdp(const net_interface& iface) {
  std::string subject = iface.describe();
  int ifindex = iface.index();
  auto socket = sys::netlink_socket::open(subject);
  auto state = sys::xdp_query(socket, ifindex, subject);
  xdp_query_result result;
  result.mode = static_cast<xdp_attach_mode>(state.attached);
  result.prog_id = state.prog_id;
  result.driver_prog_id = state.drv_prog_id;
  result.generic_prog_id = state.skb_prog_id;
  result.offload_prog_id = state.hw_prog_id;
  return result;
}

// ---------------------------------------------------------------------------------------------
// tc

link program::attach_tc(const net_interface& iface, tc_direction direction,
                        const tc_options& options) const {
  std::string subject = subject_ + ": attach tc " + std::string(direction_name(direction)) +
                        " filter to " + iface.describe();
  int ifindex = iface.index();
  auto socket = sys::netlink_socket::open(subject);
  auto info = sys::prog_get_info(fd(), subject);
  bool created = sys::clsact_create(socket, ifindex, subject);
  std::uint32_t parent = tc_parent(direction);
  sys::tc_filter filter;
  try {
    // The filter's name, as libbpf gives it: "<program name>:[<id>]" (tc filter show prints it).
    filter = sys::tc_filter_add_bpf(socket, ifindex, parent, options.handle, options.priority, fd(),
                                    info.name + ":[" + std::to_string(info.id) + "]",
                                    options.replace, subject);
  } catch (...) {
    if (created) sys::clsact_delete(socket, ifindex);
    throw;
  }
  auto prog = dup_fd(fd(), subject);
  return link(std::make_unique<tc_filter_attachment>(std::move(socket), ifindex, parent, filter,
                                                     std::move(prog), created, subject));
}

std::vector<tc_filter_info> query_tc(const net_interface& iface, tc_direction direction) {
  std::string subject = iface.describe();
  int ifindex = iface.index();
  auto socket = sys::netlink_socket::open(subject);
  std::vector<tc_filter_info> out;
  for (auto& filter : sys::tc_filter_list(socket, ifindex, tc_parent(direction), subject)) {
    tc_filter_info info;
    info.handle = filter.handle;
    info.priority = filter.priority;
    info.kind = std::move(filter.kind);
    info.prog_id = filter.prog_id;
    info.name = std::move(filter.name);
    info.direct_action = (filter.bpf_flags & 1u) != 0;  // TCA_BPF_FLAG_ACT_DIRECT
    out.push_back(std::move(info));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// TCX and netkit

namespace {

link attach_mprog(const program& prog, const std::string& subject, int ifindex, attach_type type,
                  const tcx_options& options, std::string_view link_kind, std::string_view hint) {
  auto placement = placement_of(options, subject);
  try {
    if (options.legacy_attach) {
      auto prog_fd = dup_fd(prog.fd(), subject);
      sys::mprog_attach(ifindex, prog.fd(), type, placement, subject);
      return link(std::make_unique<mprog_attachment>(ifindex, std::move(prog_fd), type, subject));
    }
    sys::link_create_options create;
    create.prog_fd = prog.fd();
    create.target = static_cast<std::uint32_t>(ifindex);
    create.type = type;
    create.flags = placement.flags;
    create.extra = sys::link_relative{placement.relative_fd_or_id, placement.expected_revision};
    return link(detail::make_kernel_link(sys::link_create(create, subject), subject, link_kind));
  } catch (const error& e) {
    if (is_errno(e, ESTALE)) rethrow_with_hint(e, ESTALE, "the hook changed since expected_revision");
    if (is_errno(e, ENOENT) && options.position != mprog_position::last &&
        options.position != mprog_position::first) {
      rethrow_with_hint(e, ENOENT, "the anchor is not attached at this hook");
    }
    rethrow_with_hint(e, EINVAL, hint);
  }
}

}  // namespace

link program::attach_tcx(const net_interface& iface, tc_direction direction,
                         const tcx_options& options) const {
  std::string subject = subject_ + ": attach tcx " + std::string(direction_name(direction)) +
                        " to " + iface.describe();
  int ifindex = iface.index();
  return attach_mprog(*this, subject, ifindex,
                      direction == tc_direction::ingress ? attach_type::tcx_ingress
                                                         : attach_type::tcx_egress,
                      options, "tcx bpf_link",
                      "TCX needs kernel 6.6 and a sched_cls program");
}

link program::attach_netkit(const net_interface& iface, netkit_side side,
                            const tcx_options& options) const {
  std::string subject = subject_ + ": attach netkit " +
                        (side == netkit_side::primary ? "primary" : "peer") + " to " +
                        iface.describe();
  int ifindex = iface.index();
  return attach_mprog(*this, subject, ifindex,
                      side == netkit_side::primary ? attach_type::netkit_primary
                                                   : attach_type::netkit_peer,
                      options, "netkit bpf_link",
                      "not a netkit device, or a kernel before 6.7 / without CONFIG_NETKIT");
}

mprog_query_result query_tcx(const net_interface& iface, tc_direction direction) {
  std::string subject = iface.describe() + ": tcx " + std::string(direction_name(direction));
  int ifindex = iface.index();
  auto raw = sys::prog_query(ifindex,
                             direction == tc_direction::ingress ? attach_type::tcx_ingress
                                                                : attach_type::tcx_egress,
                             0, subject);
  mprog_query_result result;
  result.revision = raw.revision;
  for (std::size_t i = 0; i < raw.prog_ids.size(); ++i) {
    result.programs.push_back({raw.prog_ids[i], i < raw.link_ids.size() ? raw.link_ids[i] : 0});
  }
  return result;
}

}  // namespace ebpf
