// program::attach_* for the network hooks that are not devices: cgroups (with BPF_PROG_ATTACH
// flags, replacement and 6.17 ordering), cgroup queries, sockmap/sockhash programs, network
// namespace programs (sk_lookup, flow_dissector), netfilter, and SO_REUSEPORT groups.
//
// Which mechanism each kernel offers, and how the others (libbpf src/libbpf.c
// bpf_program__attach_cgroup/netns/sockmap/netfilter, cilium/ebpf link/cgroup.go, link/netns.go,
// link/netfilter.go) choose:
//
//   hook             bpf_link                 older interface          undone by
//   cgroup           5.7 (BPF_LINK_CREATE)    BPF_PROG_ATTACH 4.10     closing the link / PROG_DETACH
//   sockmap progs    6.10 (link_type sockmap) BPF_PROG_ATTACH 4.14     closing the link / PROG_DETACH
//   sk_lookup        5.9 (netns link)         none                     closing the link
//   flow_dissector   5.7 (netns link)         BPF_PROG_ATTACH 4.20     closing the link / PROG_DETACH
//   netfilter        6.4                      none                     closing the link
//   sk_reuseport     none                     SO_ATTACH_REUSEPORT_EBPF SO_DETACH_REUSEPORT_BPF (5.3)
//
// Like cilium/ebpf's AttachCgroup, `automatic` tries the link first and falls back only when the
// kernel does not know the link (EINVAL), reporting the link's error if the fallback fails too:
// that error describes what a current kernel wants.

#include <ebpf/error.hpp>
#include <ebpf/link.hpp>
#include <ebpf/network.hpp>
#include <ebpf/program.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "link_attachment.hpp"
#include "sys/bpf.hpp"
#include "sys/network.hpp"

namespace ebpf {

static_assert(cgroup_flags::allow_override == sys::attach_allow_override);
static_assert(cgroup_flags::allow_multi == sys::attach_allow_multi);

namespace {

bool has_errno(const error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

// Re-throws `e` with a hint appended when its errno is `value`.
[[noreturn]] void rethrow_with_hint(const error& e, int value, std::string_view hint) {
  if (has_errno(e, value)) throw error(e.code(), std::string(e.what()) + " (" + std::string(hint) + ")");
  throw e;
}

// A CLOEXEC duplicate (> 2) of an fd we do not own.
unique_fd dup_borrowed(int fd, const std::string& subject) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(errno, subject + ": duplicate fd " + std::to_string(fd));
  return unique_fd(copy);
}

link_info legacy_info(int prog_fd, const std::string& subject, std::optional<attach_type> type) {
  link_info info;
  info.prog_id = sys::prog_get_info(prog_fd, subject).id;
  info.attach = type;
  return info;
}

// ---- network namespaces ---------------------------------------------------------------------

// The calling thread's network namespace. /proc/thread-self (3.17) rather than /proc/self: a
// thread may have entered another namespace with setns().
unique_fd current_netns() { return unique_fd::open("/proc/thread-self/ns/net", O_RDONLY); }

bool same_file(int a, int b) {
  struct stat sa {}, sb {};
  return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// Runs `body` with the calling thread in network namespace `netns_fd`, then returns it to the
// namespace it was in. The legacy BPF_PROG_ATTACH / PROG_DETACH of a flow dissector act on the
// caller's namespace, not on a target fd (kernel/bpf/net_namespace.c netns_bpf_prog_attach:
// "net = current->nsproxy->net_ns"), so attaching elsewhere means going there. setns() on a
// network namespace changes only the calling thread.
template <class Body>
void in_netns(int netns_fd, const std::string& subject, Body&& body) {
  unique_fd home = current_netns();
  if (same_file(home.get(), netns_fd)) {
    body();
    return;
  }
  if (::setns(netns_fd, CLONE_NEWNET) != 0) throw_errno(errno, subject + ": enter network namespace");
  try {
    body();
  } catch (...) {
    (void)::setns(home.get(), CLONE_NEWNET);
    throw;
  }
  if (::setns(home.get(), CLONE_NEWNET) != 0) {
    throw_errno(errno, subject + ": return to the original network namespace");
  }
}

// A flow dissector attached with BPF_PROG_ATTACH (kernels 4.20 - 5.6, or on request): detached
// with BPF_PROG_DETACH from inside the same namespace.
class netns_prog_attach final : public detail::attachment {
 public:
  netns_prog_attach(unique_fd netns, unique_fd prog, attach_type type, std::string subject)
      : attachment(std::move(subject)), netns_(std::move(netns)), prog_(std::move(prog)), type_(type) {}

  std::string_view kind() const noexcept override { return "BPF_PROG_ATTACH (netns)"; }

  void close() noexcept override {
    try {
      detach();
    } catch (...) {
      // Destructors never throw; the namespace may be gone, which detached it already.
    }
  }
  bool detach() override {
    if (!netns_) return true;
    unique_fd netns = std::move(netns_);
    unique_fd prog = std::move(prog_);
    // target_fd must be 0: the kernel refuses any other value (netns_bpf_prog_detach).
    in_netns(netns.get(), subject_, [&] { sys::prog_detach(0, prog.get(), type_, subject_); });
    return true;
  }
  unique_fd release() noexcept override {
    netns_.reset();
    prog_.reset();
    return {};
  }
  // Attaching again replaces the namespace's program (there is only one per namespace).
  void update(int new_prog_fd) override {
    unique_fd replacement = dup_borrowed(new_prog_fd, subject_);
    in_netns(netns_.get(), subject_, [&] {
      sys::prog_attach(0, replacement.get(), type_, 0, -1, subject_);
    });
    prog_ = std::move(replacement);
  }
  link_info info() const override { return legacy_info(prog_.get(), subject_, type_); }

 private:
  unique_fd netns_;
  unique_fd prog_;
  attach_type type_;
};

// ---- SO_REUSEPORT groups --------------------------------------------------------------------

class reuseport_attachment final : public detail::attachment {
 public:
  reuseport_attachment(unique_fd socket, unique_fd prog, std::string subject)
      : attachment(std::move(subject)), socket_(std::move(socket)), prog_(std::move(prog)) {}

  std::string_view kind() const noexcept override { return "SO_ATTACH_REUSEPORT_EBPF"; }

  void close() noexcept override {
    if (socket_) (void)sys::socket_detach_reuseport(socket_.get());
    socket_.reset();
    prog_.reset();
  }
  bool detach() override {
    if (!socket_) return true;
    bool ok = sys::socket_detach_reuseport(socket_.get());
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
  // The option replaces the group's program atomically (reuseport_attach_prog swaps the pointer).
  void update(int new_prog_fd) override {
    unique_fd replacement = dup_borrowed(new_prog_fd, subject_);
    sys::socket_attach_reuseport(socket_.get(), replacement.get(), subject_);
    prog_ = std::move(replacement);
  }
  link_info info() const override { return legacy_info(prog_.get(), subject_, std::nullopt); }

 private:
  unique_fd socket_;
  unique_fd prog_;
};

// The BPF_F_BEFORE/AFTER/ID/LINK flags and the relative fd or id of an ordering request.
struct mprog_request {
  std::uint32_t flags = 0;
  std::uint32_t relative = 0;
  bool any = false;  // ordering or a revision check was asked for
};

mprog_request to_mprog(const cgroup_order& order, std::uint64_t expected_revision,
                       const std::string& subject) {
  mprog_request request;
  int anchors = (order.relative_program ? 1 : 0) + (order.relative_link ? 1 : 0) +
                (order.relative_program_id != 0 ? 1 : 0);
  if (anchors > 1) {
    throw_error(errc::invalid_argument,
                subject + ": give at most one of relative_program, relative_link, relative_program_id");
  }
  if (anchors == 1 && order.position == cgroup_position::unspecified) {
    throw_error(errc::invalid_argument, subject + ": an ordering anchor needs position before or after");
  }
  if (order.position == cgroup_position::before) request.flags |= sys::attach_before;
  if (order.position == cgroup_position::after) request.flags |= sys::attach_after;
  if (order.relative_program) {
    if (!*order.relative_program) throw_error(errc::invalid_argument, subject + ": the relative program is empty");
    request.relative = static_cast<std::uint32_t>(order.relative_program->fd());
  } else if (order.relative_link) {
    if (order.relative_link->fd() < 0 || !order.relative_link->is_kernel_link()) {
      throw_error(errc::invalid_argument, subject + ": the relative link is not a kernel bpf_link");
    }
    request.flags |= sys::attach_link;
    request.relative = static_cast<std::uint32_t>(order.relative_link->fd());
  } else if (order.relative_program_id != 0) {
    request.flags |= sys::attach_id;
    request.relative = order.relative_program_id;
  }
  request.any = request.flags != 0 || expected_revision != 0;
  return request;
}

std::string netfilter_family_name(netfilter_family family) {
  switch (family) {
    case netfilter_family::ipv4: return "ipv4";
    case netfilter_family::ipv6: return "ipv6";
  }
  return "family " + std::to_string(static_cast<std::uint32_t>(family));
}

std::string netfilter_hook_name(netfilter_hook hook) {
  switch (hook) {
    case netfilter_hook::pre_routing: return "pre_routing";
    case netfilter_hook::local_in: return "local_in";
    case netfilter_hook::forward: return "forward";
    case netfilter_hook::local_out: return "local_out";
    case netfilter_hook::post_routing: return "post_routing";
  }
  return "hook " + std::to_string(static_cast<std::uint32_t>(hook));
}

// What the kernel (6.18) answers for an ordering request it cannot follow: EINVAL before 6.17,
// and for an anchor of the other kind (a link is placed relative to a link, a BPF_PROG_ATTACH
// program relative to a BPF_PROG_ATTACH program: measured on 6.18, see
// tests/integration/attach_network_test.cpp OrderingPlacesProgramsBeforeAndAfter); ENOENT when
// the anchor program is not among the hook's BPF_PROG_ATTACH programs.
constexpr std::string_view ordering_hint =
    "ordering and revisions on cgroup hooks need kernel 6.17, and an anchor of the same kind: a "
    "link is placed relative to a link (relative_link), a BPF_PROG_ATTACH program relative to a "
    "program attached with BPF_PROG_ATTACH";
constexpr std::string_view sockmap_busy_hint =
    "another program is attached to this map for this type";
constexpr std::string_view dissector_taken_hint =
    "a flow dissector is already attached to this namespace (one per namespace, by a link or by "
    "BPF_PROG_ATTACH)";
constexpr std::string_view anchor_hint =
    "the anchor is not attached to this hook with BPF_PROG_ATTACH; a program that a link holds is "
    "anchored by its link";

// Adds the hint that explains an error of an attach with an ordering request.
[[noreturn]] void rethrow_ordering(const error& e) {
  if (has_errno(e, ENOENT)) rethrow_with_hint(e, ENOENT, anchor_hint);
  rethrow_with_hint(e, EINVAL, ordering_hint);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Cgroups.

link program::attach_cgroup(int cgroup_fd, attach_type type,
                            const cgroup_attach_options& options) const {
  std::string subject = subject_ + ": attach to cgroup as " + std::string(to_string(type));
  mprog_request mprog = to_mprog(options.order, options.expected_revision, subject);
  if (options.api == attach_api::link) {
    if (options.flags != cgroup_flags::allow_multi) {
      throw_error(errc::invalid_argument,
                  subject + ": a cgroup bpf_link is always allow_multi; use attach_api::prog_attach "
                            "for exclusive or override attachment");
    }
    if (options.replace) {
      throw_error(errc::invalid_argument,
                  subject + ": replace is a BPF_PROG_ATTACH option; a link swaps its program with "
                            "link::update");
    }
  }
  if (options.replace && options.flags != cgroup_flags::allow_multi) {
    throw_error(errc::invalid_argument, subject + ": replace needs allow_multi (BPF_F_REPLACE)");
  }
  if (mprog.flags != 0 && options.flags != cgroup_flags::allow_multi) {
    throw_error(errc::invalid_argument, subject + ": ordering needs allow_multi");
  }

  const bool try_link = options.api != attach_api::prog_attach &&
                        options.flags == cgroup_flags::allow_multi && !options.replace;
  std::optional<error> link_error;
  if (try_link) {
    sys::link_create_options create;
    create.prog_fd = fd();
    create.target = static_cast<std::uint32_t>(cgroup_fd);
    create.type = type;
    create.flags = mprog.flags;
    if (mprog.any) create.extra = sys::link_relative{mprog.relative, options.expected_revision};
    try {
      return link(detail::make_kernel_link(sys::link_create(create, subject), subject,
                                           "cgroup bpf_link"));
    } catch (const error& e) {
      // Before 5.7 there is no BPF_LINK_CREATE for cgroups (EINVAL). With an ordering request
      // EINVAL cannot mean that (ordering is 6.17), and BPF_PROG_ATTACH would only bury the
      // reason under another error, or attach without a link: no fallback then.
      if (options.api == attach_api::link || mprog.any || !has_errno(e, EINVAL)) {
        if (mprog.any) rethrow_ordering(e);
        throw;
      }
      link_error = e;
    }
  }
  try {
    unique_fd target = dup_borrowed(cgroup_fd, subject);
    unique_fd prog = fd_.dup();
    sys::prog_attach_full(target.get(), prog.get(), type, options.flags | mprog.flags,
                          options.replace ? options.replace->fd() : -1, mprog.relative,
                          options.expected_revision, subject);
    return link(detail::make_prog_attach(std::move(target), std::move(prog), type,
                                         options.flags, subject));
  } catch (const error& e) {
    if (link_error) throw *link_error;
    if (mprog.any) rethrow_ordering(e);
    rethrow_with_hint(e, EPERM,
                      "the hook is held with other flags in this cgroup, or exclusively by an "
                      "ancestor cgroup");
  }
}

cgroup_query_result query_cgroup(int cgroup_fd, attach_type type, bool effective) {
  std::string subject = "cgroup fd " + std::to_string(cgroup_fd) + ": " +
                        std::string(to_string(type));
  sys::prog_query_result raw =
      sys::prog_query(cgroup_fd, type, effective ? sys::query_effective : 0, subject);
  cgroup_query_result result;
  result.attach_flags = raw.attach_flags;
  result.revision = raw.revision;
  result.programs.reserve(raw.prog_ids.size());
  for (std::size_t i = 0; i < raw.prog_ids.size(); ++i) {
    cgroup_attached_program entry;
    entry.program_id = raw.prog_ids[i];
    if (i < raw.prog_attach_flags.size()) entry.attach_flags = raw.prog_attach_flags[i];
    if (i < raw.link_ids.size()) entry.link_id = raw.link_ids[i];
    result.programs.push_back(entry);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// sockmap / sockhash.

link program::attach_sockmap(int map_fd, std::optional<attach_type> type, attach_api api) const {
  std::optional<attach_type> chosen = type ? type : expected_attach_type_;
  if (!chosen) {
    throw_error(errc::invalid_argument,
                subject_ + ": attach to sockmap: the program has no expected attach type; pass "
                           "sk_msg_verdict, sk_skb_stream_parser, sk_skb_stream_verdict or "
                           "sk_skb_verdict");
  }
  std::string subject = subject_ + ": attach to sockmap fd " + std::to_string(map_fd) + " as " +
                        std::string(to_string(*chosen));
  std::optional<error> link_error;
  if (api != attach_api::prog_attach) {
    sys::link_create_options create;
    create.prog_fd = fd();
    create.target = static_cast<std::uint32_t>(map_fd);
    create.type = *chosen;
    try {
      return link(detail::make_kernel_link(sys::link_create(create, subject), subject,
                                           "sockmap bpf_link"));
    } catch (const error& e) {
      // Sockmap links are 6.10 (kernel/bpf/syscall.c link_create: sock_map_link_create); before
      // that BPF_LINK_CREATE rejects sk_msg / sk_skb programs with EINVAL.
      if (api == attach_api::link || !has_errno(e, EINVAL)) {
        if (has_errno(e, EBUSY)) rethrow_with_hint(e, EBUSY, sockmap_busy_hint);
        rethrow_with_hint(e, EINVAL, "sockmap links need kernel 6.10, a sockmap or sockhash, and "
                                     "an attach type that matches the program");
      }
      link_error = e;
    }
  }
  try {
    unique_fd target = dup_borrowed(map_fd, subject);
    unique_fd prog = fd_.dup();
    sys::prog_attach(target.get(), prog.get(), *chosen, 0, -1, subject);
    return link(detail::make_prog_attach(std::move(target), std::move(prog), *chosen, 0, subject));
  } catch (const error& e) {
    if (link_error) throw *link_error;
    rethrow_with_hint(e, EBUSY, sockmap_busy_hint);
  }
}

// ---------------------------------------------------------------------------------------------
// Network namespaces.

link program::attach_netns(int netns_fd, attach_api api) const {
  attach_type type;
  if (type_ == program_type::sk_lookup) {
    type = attach_type::sk_lookup;
  } else if (type_ == program_type::flow_dissector) {
    type = attach_type::flow_dissector;
  } else {
    throw_error(errc::invalid_argument,
                subject_ + ": attach to network namespace: only sk_lookup and flow_dissector "
                           "programs attach to a namespace (this is " +
                    std::string(to_string(type_)) + ")");
  }
  std::string subject = subject_ + ": attach to network namespace as " + std::string(to_string(type));
  unique_fd netns = netns_fd >= 0 ? dup_borrowed(netns_fd, subject) : current_netns();
  if (type == attach_type::sk_lookup && api == attach_api::prog_attach) {
    throw_error(errc::invalid_argument,
                subject + ": sk_lookup programs attach only with a link (there is no "
                          "BPF_PROG_ATTACH for them)");
  }
  std::optional<error> link_error;
  if (api != attach_api::prog_attach) {
    sys::link_create_options create;
    create.prog_fd = fd();
    create.target = static_cast<std::uint32_t>(netns.get());
    create.type = type;
    try {
      return link(detail::make_kernel_link(sys::link_create(create, subject), subject,
                                           "netns bpf_link"));
    } catch (const error& e) {
      // netns links are 5.7 (flow_dissector) and 5.9 (sk_lookup). A namespace holds one flow
      // dissector: a second link gets E2BIG, a link where BPF_PROG_ATTACH put one EEXIST
      // (kernel/bpf/net_namespace.c netns_bpf_link_attach). sk_lookup takes many links.
      if (type == attach_type::sk_lookup || api == attach_api::link || !has_errno(e, EINVAL)) {
        if (has_errno(e, E2BIG)) rethrow_with_hint(e, E2BIG, dissector_taken_hint);
        rethrow_with_hint(e, EEXIST, dissector_taken_hint);
      }
      link_error = e;
    }
  }
  try {
    unique_fd prog = fd_.dup();
    in_netns(netns.get(), subject, [&] { sys::prog_attach(0, prog.get(), type, 0, -1, subject); });
    return link(std::make_unique<netns_prog_attach>(std::move(netns), std::move(prog), type, subject));
  } catch (const error& e) {
    if (link_error) throw *link_error;
    rethrow_with_hint(e, EEXIST, dissector_taken_hint);
  }
}

// ---------------------------------------------------------------------------------------------
// Netfilter.

link program::attach_netfilter(const netfilter_attach_options& options) const {
  std::string subject = subject_ + ": attach to netfilter " + netfilter_family_name(options.family) +
                        " " + netfilter_hook_name(options.hook) + " priority " +
                        std::to_string(options.priority);
  sys::link_create_options create;
  create.prog_fd = fd();
  create.target = 0;  // the calling thread's network namespace
  create.type = attach_type::netfilter;
  create.extra = sys::link_netfilter{static_cast<std::uint32_t>(options.family),
                                     static_cast<std::uint32_t>(options.hook), options.priority,
                                     options.flags};
  try {
    return link(detail::make_kernel_link(sys::link_create(create, subject), subject,
                                         "netfilter bpf_link"));
  } catch (const error& e) {
    if (has_errno(e, ERANGE)) {
      rethrow_with_hint(e, ERANGE, "priority INT_MIN and INT_MAX are reserved; with ip_defrag it "
                                   "must be above -400");
    }
    if ((options.flags & netfilter_flags::ip_defrag) != 0) {
      // How each kernel refuses ip_defrag (net/netfilter/nf_bpf_link.c): 6.4 and 6.5 know no
      // flags (EOPNOTSUPP); from 6.6 a kernel without CONFIG_NF_DEFRAG_IPV4/IPV6 gives
      // EAFNOSUPPORT, and one whose nf_defrag_ipv4/ipv6 module is not loaded asks modprobe
      // (request_module): EINVAL when modprobe fails, ENOENT when there is none.
      if (has_errno(e, EOPNOTSUPP)) {
        rethrow_with_hint(e, EOPNOTSUPP, "netfilter link flags (ip_defrag) need kernel 6.6");
      }
      if (has_errno(e, EAFNOSUPPORT)) {
        rethrow_with_hint(e, EAFNOSUPPORT, "the kernel is built without IP defragmentation for "
                                           "this family (CONFIG_NF_DEFRAG_IPV4/IPV6)");
      }
      const std::string module = options.family == netfilter_family::ipv6 ? "nf_defrag_ipv6"
                                                                           : "nf_defrag_ipv4";
      if (has_errno(e, ENOENT)) {
        rethrow_with_hint(e, ENOENT, "the kernel found no modprobe to load " + module);
      }
      rethrow_with_hint(e, EINVAL, "netfilter links need kernel 6.4 and a netfilter program; "
                                   "with ip_defrag, the kernel could not load module " + module +
                                       " (modprobe failed: load it first)");
    }
    rethrow_with_hint(e, EINVAL, "netfilter links need kernel 6.4 and a netfilter program");
  }
}

// ---------------------------------------------------------------------------------------------
// SO_REUSEPORT groups.

link program::attach_reuseport(int socket_fd) const {
  std::string subject = subject_ + ": attach to reuseport group";
  unique_fd socket = dup_borrowed(socket_fd, subject);
  unique_fd prog = fd_.dup();
  sys::socket_attach_reuseport(socket.get(), prog.get(), subject_);
  return link(std::make_unique<reuseport_attachment>(std::move(socket), std::move(prog), subject));
}

}  // namespace ebpf
