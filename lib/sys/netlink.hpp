// ebpfpp internal: rtnetlink (AF_NETLINK, NETLINK_ROUTE), our own code, for the attachments that
// predate bpf_link: XDP through RTM_SETLINK IFLA_XDP, and tc's clsact qdisc + cls_bpf filters.
//
// A request is one nlmsghdr, a fixed family header (ifinfomsg, tcmsg) and attributes, which nest:
//
//   nlmsghdr | ifinfomsg | nlattr IFLA_XDP (len covers the nest) | nlattr IFLA_XDP_FD | nlattr ...
//                          └───────────────── begin_nested() ... end_nested() ────────────────┘
//
// Every message and attribute is padded to 4 bytes (NLMSG_ALIGN / NLA_ALIGN). Replies are read
// with memcpy, never through casted pointers, so no alignment is assumed of the receive buffer.
//
// Errors: the kernel answers every request with NLMSG_ERROR (error 0 is the ACK). We ask for
// extended acks (NETLINK_EXT_ACK, 4.12), so a failure usually carries a sentence from the kernel
// (NLMSGERR_ATTR_MSG), e.g. "XDP program already attached"; it goes into the ebpf::error:
//   "program 'drop': attach XDP to interface 'veth1' (netlink): Device or resource busy
//    (kernel: XDP program already attached)"
//
// Only lib/sys and lib/attach include this header; it does not include <linux/*.h>.
#pragma once

#include <ebpf/unique_fd.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf::sys {

// ---------------------------------------------------------------------------------------------
// Message building and parsing (no syscalls: unit-testable).

/// One netlink request under construction. The header's length is kept up to date.
class netlink_request {
 public:
  /// nlmsghdr {type, flags | NLM_F_REQUEST} followed by `family_header` (padded to 4 bytes).
  netlink_request(std::uint16_t type, std::uint16_t flags, const void* family_header,
                  std::size_t family_header_size);

  /// Appends attribute `type` with `size` bytes of payload (padded).
  void put(std::uint16_t type, const void* data, std::size_t size);
  void put_u8(std::uint16_t type, std::uint8_t value) { put(type, &value, sizeof value); }
  void put_u32(std::uint16_t type, std::uint32_t value) { put(type, &value, sizeof value); }
  void put_s32(std::uint16_t type, std::int32_t value) { put(type, &value, sizeof value); }
  /// A NUL-terminated string attribute.
  void put_string(std::uint16_t type, std::string_view value);
  /// Opens a nested attribute (NLA_F_NESTED is set, as the kernel's strict validation wants for
  /// new attributes); returns its offset for end_nested().
  std::size_t begin_nested(std::uint16_t type);
  /// Closes the nest opened at `offset`: its length then covers everything appended since.
  void end_nested(std::size_t offset);

  /// Sets the sequence number (the socket does this before sending).
  void set_sequence(std::uint32_t sequence) noexcept;
  std::uint16_t type() const noexcept;
  std::uint16_t flags() const noexcept;
  std::span<const std::byte> bytes() const noexcept { return buffer_; }

 private:
  void set_u32_at(std::size_t offset, std::uint32_t value) noexcept;
  void set_u16_at(std::size_t offset, std::uint16_t value) noexcept;
  void pad() { buffer_.resize((buffer_.size() + 3) & ~std::size_t{3}); }
  void update_length() noexcept;

  std::vector<std::byte> buffer_;
};

/// The attributes of one message (or one nest), by type. A type that occurs twice keeps the
/// last. Truncated attributes end the walk (the kernel never sends them; a fuzzer might).
class netlink_attributes {
 public:
  netlink_attributes() = default;
  explicit netlink_attributes(std::span<const std::byte> data);

  /// The payload of attribute `type` (flags such as NLA_F_NESTED masked off), if present.
  std::optional<std::span<const std::byte>> get(std::uint16_t type) const;
  std::optional<std::uint8_t> u8(std::uint16_t type) const;
  std::optional<std::uint32_t> u32(std::uint16_t type) const;
  /// A string attribute without its NUL.
  std::optional<std::string> string(std::uint16_t type) const;
  /// The attributes nested in `type` (empty when absent).
  netlink_attributes nested(std::uint16_t type) const;

 private:
  struct entry {
    std::uint16_t type;
    std::span<const std::byte> payload;
  };
  std::vector<entry> entries_;
};

/// How a request ended: errno 0 on success, else the errno and the kernel's extended-ack text.
struct netlink_status {
  int error = 0;
  std::string kernel_message;  ///< NLMSGERR_ATTR_MSG, empty when the kernel gave none
};

/// Walks the replies in one received datagram. `on_message` receives every message of sequence
/// `sequence` that is not NLMSG_ERROR / NLMSG_DONE / NLMSG_NOOP: its type and its payload (after
/// the nlmsghdr). Returns the final status when the datagram held the ACK, the error or
/// NLMSG_DONE; nullopt when more datagrams follow. Messages of other sequences are skipped.
std::optional<netlink_status> parse_netlink_replies(
    std::span<const std::byte> datagram, std::uint32_t sequence,
    const std::function<void(std::uint16_t type, std::span<const std::byte> payload)>& on_message);

// ---------------------------------------------------------------------------------------------
// The socket.

/// An AF_NETLINK / NETLINK_ROUTE socket in the caller's network namespace (the one current when
/// it is opened), with extended acks enabled. Move-only.
class netlink_socket {
 public:
  /// Throws: ebpf::error "<subject>: netlink socket: ..." (EPERM/EACCES never: anyone may open it;
  /// the requests themselves need CAP_NET_ADMIN).
  static netlink_socket open(std::string_view subject);

  /// Sends `request` and reads replies until the ACK, the error or NLMSG_DONE (so a request must
  /// carry NLM_F_ACK unless it is an NLM_F_DUMP); `on_message` sees each data reply. Never throws for a kernel
  /// refusal: the status says it. Throws: ebpf::error for socket failures (send/recv).
  netlink_status exchange(netlink_request& request,
                          const std::function<void(std::uint16_t, std::span<const std::byte>)>&
                              on_message = {});
  /// exchange(), throwing ebpf::error "<context>: <strerror> (kernel: <extended ack>)" when the
  /// kernel refused.
  void transact(netlink_request& request, std::string_view context,
                const std::function<void(std::uint16_t, std::span<const std::byte>)>& on_message =
                    {});

 private:
  explicit netlink_socket(unique_fd fd) : fd_(std::move(fd)) {}
  unique_fd fd_;
  std::uint32_t sequence_ = 0;
};

/// Throws the ebpf::error for a failed status: "<context>: <strerror> (kernel: <text>)", with the
/// privilege hint for EPERM.
[[noreturn]] void throw_netlink(const netlink_status& status, std::string_view context);

// ---------------------------------------------------------------------------------------------
// XDP through RTM_SETLINK / RTM_GETLINK.

/// XDP_ATTACHED_* from <linux/if_link.h>.
inline constexpr std::uint8_t xdp_attached_none = 0;
inline constexpr std::uint8_t xdp_attached_drv = 1;
inline constexpr std::uint8_t xdp_attached_skb = 2;
inline constexpr std::uint8_t xdp_attached_hw = 3;
inline constexpr std::uint8_t xdp_attached_multi = 4;

/// What IFLA_XDP reports for an interface.
struct xdp_state {
  std::uint8_t attached = xdp_attached_none;  ///< IFLA_XDP_ATTACHED
  std::uint32_t prog_id = 0;      ///< IFLA_XDP_PROG_ID: the program when exactly one mode is used
  std::uint32_t drv_prog_id = 0;  ///< IFLA_XDP_DRV_PROG_ID (4.19, set with attached_multi)
  std::uint32_t skb_prog_id = 0;  ///< IFLA_XDP_SKB_PROG_ID
  std::uint32_t hw_prog_id = 0;   ///< IFLA_XDP_HW_PROG_ID
};

/// RTM_SETLINK with IFLA_XDP {IFLA_XDP_FD = prog_fd (-1 detaches), IFLA_XDP_FLAGS = flags}. With
/// `expected_fd` >= 0, also XDP_FLAGS_REPLACE and IFLA_XDP_EXPECTED_FD (5.7): the kernel changes
/// the program only if `expected_fd`'s program is the one attached (-1 in expected_fd means
/// "none"; pass expect_none for that). Returns the status (never throws for a refusal).
inline constexpr int expect_none = -1;
inline constexpr int no_expectation = -2;
netlink_status xdp_set(netlink_socket& socket, int ifindex, int prog_fd, std::uint32_t flags,
                       int expected_fd);
/// RTM_GETLINK for one interface. Throws: ebpf::error "<subject>: query XDP: ...".
xdp_state xdp_query(netlink_socket& socket, int ifindex, std::string_view subject);

// ---------------------------------------------------------------------------------------------
// tc: the clsact qdisc and cls_bpf filters.

/// tcm_parent of clsact's two hooks: TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS / _EGRESS).
std::uint32_t tc_parent_ingress() noexcept;
std::uint32_t tc_parent_egress() noexcept;

/// RTM_NEWQDISC kind "clsact" with NLM_F_CREATE | NLM_F_EXCL. Returns true when we created it,
/// false when it already existed (EEXIST). Throws: ebpf::error "<subject>: create clsact qdisc: ...".
bool clsact_create(netlink_socket& socket, int ifindex, std::string_view subject);
/// RTM_DELQDISC of the clsact qdisc (removes every filter on it). Returns the status.
netlink_status clsact_delete(netlink_socket& socket, int ifindex);

/// One filter as RTM_GETTFILTER describes it.
struct tc_filter {
  std::uint32_t parent = 0;
  std::uint32_t handle = 0;
  std::uint16_t priority = 0;
  std::uint16_t protocol = 0;  ///< ETH_P_*, host order
  std::string kind;            ///< "bpf" for cls_bpf
  std::uint32_t prog_id = 0;   ///< TCA_BPF_ID (cls_bpf)
  std::string name;            ///< TCA_BPF_NAME
  std::uint32_t bpf_flags = 0; ///< TCA_BPF_FLAGS (1: direct action)
};

/// RTM_NEWTFILTER: a cls_bpf filter running `prog_fd` in direct-action mode, protocol ETH_P_ALL,
/// under `parent`. `handle` / `priority` 0 let the kernel choose; the filter the kernel made is
/// returned (NLM_F_ECHO). `replace`: NLM_F_REPLACE instead of NLM_F_EXCL.
/// Throws: ebpf::error "<subject>: add cls_bpf filter: ..." (EEXIST: handle and priority taken).
tc_filter tc_filter_add_bpf(netlink_socket& socket, int ifindex, std::uint32_t parent,
                            std::uint32_t handle, std::uint16_t priority, int prog_fd,
                            std::string_view name, bool replace, std::string_view subject);
/// RTM_DELTFILTER of exactly that filter. Returns the status (ENOENT when it is gone).
netlink_status tc_filter_delete(netlink_socket& socket, int ifindex, std::uint32_t parent,
                                std::uint32_t handle, std::uint16_t priority);
/// Every filter under `parent` (RTM_GETTFILTER dump). A missing clsact qdisc yields an empty list.
/// Throws: ebpf::error "<subject>: list filters: ...".
std::vector<tc_filter> tc_filter_list(netlink_socket& socket, int ifindex, std::uint32_t parent,
                                      std::string_view subject);

}  // namespace ebpf::sys
