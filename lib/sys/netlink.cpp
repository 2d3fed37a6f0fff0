// rtnetlink requests for XDP and tc (see netlink.hpp for the message layout).
//
// Studied (not copied): libbpf src/netlink.c (request shapes for bpf_xdp_attach / bpf_tc_*),
// iproute2 tc/f_bpf.c (cls_bpf options), the kernel's net/core/rtnetlink.c (do_setlink's IFLA_XDP
// handling) and include/uapi/linux/{netlink,rtnetlink,if_link,pkt_cls,pkt_sched}.h.

#include "sys/netlink.hpp"

#include <ebpf/error.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ebpf::sys {
namespace {

constexpr std::size_t align4(std::size_t size) noexcept { return (size + 3) & ~std::size_t{3}; }

template <class T>
T load(std::span<const std::byte> bytes, std::size_t offset = 0) noexcept {
  T value{};
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

std::string context_of(std::string_view subject, std::string_view action) {
  std::string out(subject);
  if (!out.empty()) out += ": ";
  out += action;
  return out;
}

// NLMSGERR_ATTR_MSG of an extended ack. The NLMSG_ERROR payload is struct nlmsgerr (the errno and
// a copy of the request's header, or of the whole request without NLM_F_CAPPED), then, when
// NLM_F_ACK_TLVS is set in the error message's flags, the TLVs (net/netlink/af_netlink.c
// netlink_ack).
std::string extended_ack_message(std::uint16_t flags, std::span<const std::byte> payload) {
  if (!(flags & NLM_F_ACK_TLVS) || payload.size() < sizeof(nlmsgerr)) return {};
  std::size_t offset = sizeof(nlmsgerr);
  if (!(flags & NLM_F_CAPPED)) {
    // The whole original request follows the errno: skip its body too.
    auto original = load<nlmsghdr>(payload, offsetof(nlmsgerr, msg));
    if (original.nlmsg_len < sizeof(nlmsghdr)) return {};
    offset = offsetof(nlmsgerr, msg) + align4(original.nlmsg_len);
  }
  if (offset >= payload.size()) return {};
  netlink_attributes tlvs(payload.subspan(offset));
  return tlvs.string(NLMSGERR_ATTR_MSG).value_or(std::string());
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// netlink_request

netlink_request::netlink_request(std::uint16_t type, std::uint16_t flags, const void* family_header,
                                 std::size_t family_header_size) {
  nlmsghdr header{};
  header.nlmsg_type = type;
  header.nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST);
  buffer_.resize(NLMSG_HDRLEN);
  std::memcpy(buffer_.data(), &header, sizeof header);
  const auto* bytes = static_cast<const std::byte*>(family_header);
  buffer_.insert(buffer_.end(), bytes, bytes + family_header_size);
  pad();
  update_length();
}

void netlink_request::put(std::uint16_t type, const void* data, std::size_t size) {
  if (NLA_HDRLEN + size > 0xffff) {
    throw_error(errc::invalid_argument,
                "netlink: attribute " + std::to_string(type) + " of " + std::to_string(size) +
                    " bytes does not fit in a netlink attribute");
  }
  nlattr attribute{};
  attribute.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + size);
  attribute.nla_type = type;
  std::size_t at = buffer_.size();
  buffer_.resize(at + NLA_HDRLEN + size);
  std::memcpy(buffer_.data() + at, &attribute, sizeof attribute);
  if (size > 0) std::memcpy(buffer_.data() + at + NLA_HDRLEN, data, size);
  pad();
  update_length();
}

void netlink_request::put_string(std::uint16_t type, std::string_view value) {
  std::string terminated(value);
  put(type, terminated.c_str(), terminated.size() + 1);
}

std::size_t netlink_request::begin_nested(std::uint16_t type) {
  std::size_t at = buffer_.size();
  put(static_cast<std::uint16_t>(type | NLA_F_NESTED), nullptr, 0);
  return at;
}

void netlink_request::end_nested(std::size_t offset) {
  std::size_t length = buffer_.size() - offset;
  if (length > 0xffff) {
    throw_error(errc::invalid_argument, "netlink: nested attribute of " + std::to_string(length) +
                                            " bytes is too long");
  }
  set_u16_at(offset + offsetof(nlattr, nla_len), static_cast<std::uint16_t>(length));
}

void netlink_request::set_sequence(std::uint32_t sequence) noexcept {
  set_u32_at(offsetof(nlmsghdr, nlmsg_seq), sequence);
}

std::uint16_t netlink_request::type() const noexcept {
  return load<std::uint16_t>(buffer_, offsetof(nlmsghdr, nlmsg_type));
}

std::uint16_t netlink_request::flags() const noexcept {
  return load<std::uint16_t>(buffer_, offsetof(nlmsghdr, nlmsg_flags));
}

void netlink_request::set_u32_at(std::size_t offset, std::uint32_t value) noexcept {
  std::memcpy(buffer_.data() + offset, &value, sizeof value);
}

void netlink_request::set_u16_at(std::size_t offset, std::uint16_t value) noexcept {
  std::memcpy(buffer_.data() + offset, &value, sizeof value);
}

void netlink_request::update_length() noexcept {
  set_u32_at(offsetof(nlmsghdr, nlmsg_len), static_cast<std::uint32_t>(buffer_.size()));
}

// ---------------------------------------------------------------------------------------------
// netlink_attributes

netlink_attributes::netlink_attributes(std::span<const std::byte> data) {
  std::size_t offset = 0;
  while (offset + NLA_HDRLEN <= data.size()) {
    auto attribute = load<nlattr>(data, offset);
    if (attribute.nla_len < NLA_HDRLEN || offset + attribute.nla_len > data.size()) break;
    entries_.push_back({static_cast<std::uint16_t>(attribute.nla_type & NLA_TYPE_MASK),
                        data.subspan(offset + NLA_HDRLEN, attribute.nla_len - NLA_HDRLEN)});
    offset += align4(attribute.nla_len);
  }
}

std::optional<std::span<const std::byte>> netlink_attributes::get(std::uint16_t type) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (it->type == type) return it->payload;
  return std::nullopt;
}

std::optional<std::uint8_t> netlink_attributes::u8(std::uint16_t type) const {
  auto payload = get(type);
  if (!payload || payload->size() < 1) return std::nullopt;
  return load<std::uint8_t>(*payload);
}

std::optional<std::uint32_t> netlink_attributes::u32(std::uint16_t type) const {
  auto payload = get(type);
  if (!payload || payload->size() < 4) return std::nullopt;
  return load<std::uint32_t>(*payload);
}

std::optional<std::string> netlink_attributes::string(std::uint16_t type) const {
  auto payload = get(type);
  if (!payload) return std::nullopt;
  const char* text = reinterpret_cast<const char*>(payload->data());
  return std::string(text, ::strnlen(text, payload->size()));
}

netlink_attributes netlink_attributes::nested(std::uint16_t type) const {
  auto payload = get(type);
  return payload ? netlink_attributes(*payload) : netlink_attributes();
}

// ---------------------------------------------------------------------------------------------
// Replies

std::optional<netlink_status> parse_netlink_replies(
    std::span<const std::byte> datagram, std::uint32_t sequence,
    const std::function<void(std::uint16_t, std::span<const std::byte>)>& on_message) {
  std::size_t offset = 0;
  while (offset + sizeof(nlmsghdr) <= datagram.size()) {
    auto header = load<nlmsghdr>(datagram, offset);
    if (header.nlmsg_len < sizeof(nlmsghdr) || offset + header.nlmsg_len > datagram.size()) {
      return netlink_status{EBADMSG, "truncated netlink reply"};
    }
    auto payload = datagram.subspan(offset + NLMSG_HDRLEN, header.nlmsg_len - NLMSG_HDRLEN);
    offset += align4(header.nlmsg_len);
    if (header.nlmsg_seq != sequence) continue;  // a stale reply to an earlier request
    switch (header.nlmsg_type) {
      case NLMSG_NOOP:
        break;
      case NLMSG_DONE:
        return netlink_status{};
      case NLMSG_ERROR: {
        if (payload.size() < sizeof(int)) return netlink_status{EBADMSG, "truncated netlink error"};
        int error = load<int>(payload);  // 0 is the ACK, else -errno
        return netlink_status{-error, error == 0 ? std::string()
                                                 : extended_ack_message(header.nlmsg_flags, payload)};
      }
      default:
        if (on_message) on_message(header.nlmsg_type, payload);
        break;
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// netlink_socket

netlink_socket netlink_socket::open(std::string_view subject) {
  unique_fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) throw_errno(errno, context_of(subject, "netlink socket"));
  if (fd.get() <= 2) {
    // Keep fds 0..2 for what they are (see lib/sys/bpf.cpp ensure_good_fd).
    int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) throw_errno(errno, context_of(subject, "netlink socket"));
    fd = unique_fd(moved);
  }
  int one = 1;
  // Extended acks (4.12) give the kernel's reason as text; capped acks (4.12) spare us the echo
  // of our own request in every error. Older kernels refuse the options: we then do without.
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    throw_errno(errno, context_of(subject, "netlink bind"));
  }
  return netlink_socket(std::move(fd));
}

netlink_status netlink_socket::exchange(
    netlink_request& request,
    const std::function<void(std::uint16_t, std::span<const std::byte>)>& on_message) {
  std::uint32_t sequence = ++sequence_;
  request.set_sequence(sequence);
  auto bytes = request.bytes();
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                    reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw_errno(errno, "netlink: send");
  // A dump reply comes in datagrams of up to about 32 KiB (netlink_dump's max_recvmsg_len); peek
  // at the size first so that nothing is truncated.
  std::vector<std::byte> buffer(32 * 1024);
  for (;;) {
    ssize_t size;
    do {
      size = ::recv(fd_.get(), buffer.data(), buffer.size(), MSG_PEEK | MSG_TRUNC);
    } while (size < 0 && errno == EINTR);
    if (size < 0) throw_errno(errno, "netlink: receive");
    if (static_cast<std::size_t>(size) > buffer.size()) buffer.resize(static_cast<std::size_t>(size));
    sockaddr_nl sender{};
    socklen_t sender_length = sizeof sender;
    do {
      size = ::recvfrom(fd_.get(), buffer.data(), buffer.size(), 0,
                        reinterpret_cast<sockaddr*>(&sender), &sender_length);
    } while (size < 0 && errno == EINTR);
    if (size < 0) throw_errno(errno, "netlink: receive");
    if (sender.nl_pid != 0) continue;  // only the kernel (port 0) answers our requests
    auto status = parse_netlink_replies(
        std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(size)), sequence,
        on_message);
    if (status) return *status;
  }
}

void netlink_socket::transact(
    netlink_request& request, std::string_view context,
    const std::function<void(std::uint16_t, std::span<const std::byte>)>& on_message) {
  auto status = exchange(request, on_message);
  if (status.error != 0) throw_netlink(status, context);
}

void throw_netlink(const netlink_status& status, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += std::strerror(status.error);
  if (!status.kernel_message.empty()) message += " (kernel: " + status.kernel_message + ")";
  if (status.error == EPERM || status.error == EACCES) message += " (run as root or grant CAP_NET_ADMIN)";
  throw error(std::error_code(status.error, std::system_category()), std::move(message));
}

// ---------------------------------------------------------------------------------------------
// XDP

netlink_status xdp_set(netlink_socket& socket, int ifindex, int prog_fd, std::uint32_t flags,
                       int expected_fd) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = ifindex;
  netlink_request request(RTM_SETLINK, NLM_F_ACK, &info, sizeof info);
  std::size_t nest = request.begin_nested(IFLA_XDP);
  request.put_s32(IFLA_XDP_FD, prog_fd);
  if (expected_fd != no_expectation) {
    // XDP_FLAGS_REPLACE + IFLA_XDP_EXPECTED_FD (5.7): the kernel compares with the program that
    // is attached in the same mode and refuses with EEXIST when it differs (net/core/dev.c
    // dev_xdp_attach, "Active program does not match expected"). -1 expects none.
    flags |= XDP_FLAGS_REPLACE;
    request.put_s32(IFLA_XDP_EXPECTED_FD, expected_fd);
  }
  if (flags != 0) request.put_u32(IFLA_XDP_FLAGS, flags);
  request.end_nested(nest);
  return socket.exchange(request);
}

xdp_state xdp_query(netlink_socket& socket, int ifindex, std::string_view subject) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = ifindex;
  // NLM_F_ACK: a plain GET answers with the message alone; the ACK after it tells us it is over.
  // Without IFLA_EXT_MASK the reply is the plain link message, which always has IFLA_XDP.
  netlink_request request(RTM_GETLINK, NLM_F_ACK, &info, sizeof info);
  xdp_state state;
  bool seen = false;
  socket.transact(request, context_of(subject, "query XDP"),
                  [&](std::uint16_t type, std::span<const std::byte> payload) {
                    if (type != RTM_NEWLINK || payload.size() < NLMSG_ALIGN(sizeof(ifinfomsg))) return;
                    auto reply = load<ifinfomsg>(payload);
                    if (reply.ifi_index != ifindex) return;
                    seen = true;
                    netlink_attributes attributes(payload.subspan(NLMSG_ALIGN(sizeof(ifinfomsg))));
                    auto xdp = attributes.nested(IFLA_XDP);
                    state.attached = xdp.u8(IFLA_XDP_ATTACHED).value_or(XDP_ATTACHED_NONE);
                    state.prog_id = xdp.u32(IFLA_XDP_PROG_ID).value_or(0);
                    state.drv_prog_id = xdp.u32(IFLA_XDP_DRV_PROG_ID).value_or(0);
                    state.skb_prog_id = xdp.u32(IFLA_XDP_SKB_PROG_ID).value_or(0);
                    state.hw_prog_id = xdp.u32(IFLA_XDP_HW_PROG_ID).value_or(0);
                  });
  if (!seen) throw_errno(ENODEV, context_of(subject, "query XDP"));
  // With a single mode in use, the kernel reports only IFLA_XDP_PROG_ID (rtnl_xdp_fill): fill
  // the per-mode id too, so callers can always look at the mode they care about.
  if (state.attached == XDP_ATTACHED_DRV && state.drv_prog_id == 0) state.drv_prog_id = state.prog_id;
  if (state.attached == XDP_ATTACHED_SKB && state.skb_prog_id == 0) state.skb_prog_id = state.prog_id;
  if (state.attached == XDP_ATTACHED_HW && state.hw_prog_id == 0) state.hw_prog_id = state.prog_id;
  return state;
}

static_assert(xdp_attached_none == XDP_ATTACHED_NONE && xdp_attached_drv == XDP_ATTACHED_DRV &&
              xdp_attached_skb == XDP_ATTACHED_SKB && xdp_attached_hw == XDP_ATTACHED_HW &&
              xdp_attached_multi == XDP_ATTACHED_MULTI);

// ---------------------------------------------------------------------------------------------
// tc

std::uint32_t tc_parent_ingress() noexcept { return TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS); }
std::uint32_t tc_parent_egress() noexcept { return TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS); }

namespace {

tcmsg clsact_message(int ifindex) {
  tcmsg message{};
  message.tcm_family = AF_UNSPEC;
  message.tcm_ifindex = ifindex;
  message.tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
  message.tcm_parent = TC_H_CLSACT;
  return message;
}

tcmsg filter_message(int ifindex, std::uint32_t parent, std::uint32_t handle,
                     std::uint16_t priority) {
  tcmsg message{};
  message.tcm_family = AF_UNSPEC;
  message.tcm_ifindex = ifindex;
  message.tcm_parent = parent;
  message.tcm_handle = handle;
  // tcm_info holds the priority in the upper 16 bits and the protocol (network order) in the
  // lower (net/sched/cls_api.c tc_new_tfilter: TC_H_MAJ / TC_H_MIN of tcm_info).
  message.tcm_info = TC_H_MAKE(static_cast<std::uint32_t>(priority) << 16, htons(ETH_P_ALL));
  return message;
}

// Decodes one RTM_NEWTFILTER message.
std::optional<tc_filter> decode_filter(std::span<const std::byte> payload) {
  if (payload.size() < NLMSG_ALIGN(sizeof(tcmsg))) return std::nullopt;
  auto message = load<tcmsg>(payload);
  netlink_attributes attributes(payload.subspan(NLMSG_ALIGN(sizeof(tcmsg))));
  auto kind = attributes.string(TCA_KIND);
  // A dump also describes each classifier instance (tcf_proto: one per priority and protocol)
  // in a message of its own, with handle 0 and no options (tc prints it as "filter protocol all
  // pref 3 bpf chain 0"); chain templates have no kind. Only the filters themselves count.
  if (!kind || message.tcm_handle == 0) return std::nullopt;
  tc_filter filter;
  filter.parent = message.tcm_parent;
  filter.handle = message.tcm_handle;
  filter.priority = static_cast<std::uint16_t>(TC_H_MAJ(message.tcm_info) >> 16);
  filter.protocol = ntohs(static_cast<std::uint16_t>(TC_H_MIN(message.tcm_info)));
  filter.kind = *kind;
  if (filter.kind == "bpf") {
    auto options = attributes.nested(TCA_OPTIONS);
    filter.prog_id = options.u32(TCA_BPF_ID).value_or(0);
    filter.name = options.string(TCA_BPF_NAME).value_or(std::string());
    filter.bpf_flags = options.u32(TCA_BPF_FLAGS).value_or(0);
  }
  return filter;
}

}  // namespace

bool clsact_create(netlink_socket& socket, int ifindex, std::string_view subject) {
  tcmsg message = clsact_message(ifindex);
  netlink_request request(RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &message,
                          sizeof message);
  request.put_string(TCA_KIND, "clsact");
  auto status = socket.exchange(request);
  if (status.error == EEXIST) return false;
  if (status.error != 0) throw_netlink(status, context_of(subject, "create clsact qdisc"));
  return true;
}

netlink_status clsact_delete(netlink_socket& socket, int ifindex) {
  tcmsg message = clsact_message(ifindex);
  netlink_request request(RTM_DELQDISC, NLM_F_ACK, &message, sizeof message);
  request.put_string(TCA_KIND, "clsact");
  return socket.exchange(request);
}

tc_filter tc_filter_add_bpf(netlink_socket& socket, int ifindex, std::uint32_t parent,
                            std::uint32_t handle, std::uint16_t priority, int prog_fd,
                            std::string_view name, bool replace, std::string_view subject) {
  tcmsg message = filter_message(ifindex, parent, handle, priority);
  // NLM_F_ECHO: the kernel sends the new filter back, with the handle and priority it chose when
  // we passed 0 (as libbpf's bpf_tc_attach does).
  auto flags = static_cast<std::uint16_t>(NLM_F_ACK | NLM_F_CREATE | NLM_F_ECHO |
                                          (replace ? NLM_F_REPLACE : NLM_F_EXCL));
  netlink_request request(RTM_NEWTFILTER, flags, &message, sizeof message);
  request.put_string(TCA_KIND, "bpf");
  std::size_t nest = request.begin_nested(TCA_OPTIONS);
  request.put_u32(TCA_BPF_FD, static_cast<std::uint32_t>(prog_fd));
  request.put_string(TCA_BPF_NAME, name);
  // Direct action: the program's return value is the verdict (TC_ACT_*), no separate action is
  // needed (iproute2 "da"; tc/f_bpf.c). This is what every modern user wants.
  request.put_u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
  request.end_nested(nest);
  std::optional<tc_filter> made;
  socket.transact(request, context_of(subject, "add cls_bpf filter"),
                  [&](std::uint16_t type, std::span<const std::byte> payload) {
                    if (type == RTM_NEWTFILTER && !made) made = decode_filter(payload);
                  });
  if (!made) {
    throw_error(errc::unsupported,
                context_of(subject, "add cls_bpf filter: the kernel did not echo the new filter"));
  }
  return *made;
}

netlink_status tc_filter_delete(netlink_socket& socket, int ifindex, std::uint32_t parent,
                                std::uint32_t handle, std::uint16_t priority) {
  tcmsg message = filter_message(ifindex, parent, handle, priority);
  netlink_request request(RTM_DELTFILTER, NLM_F_ACK, &message, sizeof message);
  request.put_string(TCA_KIND, "bpf");
  return socket.exchange(request);
}

std::vector<tc_filter> tc_filter_list(netlink_socket& socket, int ifindex, std::uint32_t parent,
                                      std::string_view subject) {
  tcmsg message{};
  message.tcm_family = AF_UNSPEC;
  message.tcm_ifindex = ifindex;
  message.tcm_parent = parent;
  netlink_request request(RTM_GETTFILTER, NLM_F_DUMP, &message, sizeof message);
  std::vector<tc_filter> filters;
  auto status = socket.exchange(request, [&](std::uint16_t type, std::span<const std::byte> payload) {
    if (type != RTM_NEWTFILTER) return;
    if (auto filter = decode_filter(payload)) filters.push_back(std::move(*filter));
  });
  // Without a clsact qdisc there is no block to list: EINVAL ("Parent Qdisc doesn't exist") or
  // ENOENT depending on the kernel. Both mean "no filters".
  if (status.error == EINVAL || status.error == ENOENT) return {};
  if (status.error != 0) throw_netlink(status, context_of(subject, "list filters"));
  return filters;
}

}  // namespace ebpf::sys
