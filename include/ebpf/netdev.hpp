// ebpfpp: attaching to network devices: XDP, tc (clsact + cls_bpf), TCX and netkit.
//
//   ebpf::xdp_options xdp;
//   xdp.method = ebpf::xdp_attach_method::netlink;
//   xdp.flags = ebpf::xdp_flags::skb_mode;
//   ebpf::link a = object.program("xdp_drop").attach_xdp("eth0", xdp);
//   ebpf::link b = object.program("count").attach_tcx("eth0", ebpf::tc_direction::ingress);
//   ebpf::link c = object.program("count").attach_tc("eth0", ebpf::tc_direction::egress);
//
// Which one to use:
//   XDP   bpf_link (5.9, the default): the kernel detaches when the link goes away, and no other
//         process can replace it by accident. netlink (4.8): the only way on older kernels, and
//         what `ip link set dev X xdp` shows and manages; we detach on destruction only if our
//         program is still the one attached (XDP_FLAGS_REPLACE, 5.7).
//   tc    TCX links (6.6): multi-program, ordered, owned by a link. clsact + cls_bpf through
//         netlink (4.5): works everywhere, visible to `tc filter show`.
//
// The declarations of program::attach_xdp / attach_tc / attach_tcx / attach_netkit are in
// program.hpp; this header holds their option types and the queries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf {

class program;
class link;

/// A network interface, by index or by name. A name is resolved (if_nametoindex) when the
/// attach or query call runs, in the caller's network namespace.
class net_interface {
 public:
  net_interface(int ifindex) noexcept : index_(ifindex) {}  // NOLINT: implicit on purpose
  net_interface(const char* name) : name_(name) {}          // NOLINT
  net_interface(std::string_view name) : name_(name) {}     // NOLINT
  net_interface(const std::string& name) : name_(name) {}   // NOLINT

  /// The interface index. Throws: ebpf::error "interface '<name>': No such device" (ENODEV)
  /// when the name does not exist; errc::invalid_argument for an index <= 0.
  int index() const;
  /// "interface 'veth0'" or "ifindex 7", for messages.
  std::string describe() const;

 private:
  int index_ = 0;
  std::string name_;
};

/// XDP attach flags beyond program.hpp's xdp_flags (XDP_FLAGS_* of <linux/if_link.h>).
namespace xdp_flags {
/// netlink only: fail with EBUSY when a program is already attached in this mode, instead of
/// replacing it.
inline constexpr std::uint32_t update_if_noexist = 1u << 0;
}  // namespace xdp_flags

/// How program::attach_xdp(net_interface, xdp_options) attaches.
enum class xdp_attach_method {
  link,     ///< BPF_LINK_CREATE (5.9): detached when the link is closed
  netlink,  ///< RTM_SETLINK IFLA_XDP (4.8): stays until detached; we detach on destruction
};

struct xdp_options {
  xdp_attach_method method = xdp_attach_method::link;
  /// xdp_flags::skb_mode / drv_mode / hw_mode (none: native if the driver can, else generic),
  /// plus xdp_flags::update_if_noexist with netlink.
  std::uint32_t flags = 0;
  /// netlink only: replace exactly this program (XDP_FLAGS_REPLACE + IFLA_XDP_EXPECTED_FD, 5.7).
  /// The kernel refuses with EEXIST when another program (or none) is attached in this mode.
  const program* replace = nullptr;
};

/// Which mode(s) XDP programs are attached in (XDP_ATTACHED_*).
enum class xdp_attach_mode : std::uint8_t {
  none = 0,
  driver = 1,   ///< native (XDP_FLAGS_DRV_MODE)
  generic = 2,  ///< skb mode
  offload = 3,  ///< hardware
  multi = 4,    ///< more than one mode at once: see the per-mode ids
};

/// What is attached at an interface's XDP hook, whoever attached it (link or netlink).
struct xdp_query_result {
  xdp_attach_mode mode = xdp_attach_mode::none;
  std::uint32_t prog_id = 0;          ///< the program when exactly one mode is in use
  std::uint32_t driver_prog_id = 0;   ///< per mode (also filled when only one mode is in use)
  std::uint32_t generic_prog_id = 0;
  std::uint32_t offload_prog_id = 0;
};

/// RTM_GETLINK: the XDP programs attached to `iface`, 4.19 for the per-mode ids.
/// Throws: ebpf::error "<iface>: query XDP: ..." (ENODEV when the interface does not exist).
xdp_query_result query_xdp(const net_interface& iface);

/// The two tc hooks of an interface.
enum class tc_direction { ingress, egress };

/// Options for program::attach_tc (a cls_bpf filter on the clsact qdisc, through netlink).
///
/// The clsact qdisc is created when the interface has none. When the link is destroyed, its
/// filter is deleted (only if it still runs our program), and the qdisc too, but only if this
/// link created it and no filter is left on either hook. A qdisc that existed before, or that
/// another link created, is left alone (as `tc` leaves it). TCX programs do not need clsact and
/// are not affected by its removal.
struct tc_options {
  std::uint32_t handle = 0;    ///< 0: the kernel picks one
  std::uint16_t priority = 0;  ///< 0: the kernel picks one (lower runs first)
  /// Replace the filter with this handle and priority (NLM_F_REPLACE) instead of failing with
  /// EEXIST.
  bool replace = false;
};

/// One cls_bpf (or other) filter on a clsact hook.
struct tc_filter_info {
  std::uint32_t handle = 0;
  std::uint16_t priority = 0;
  std::string kind;             ///< "bpf" for cls_bpf
  std::uint32_t prog_id = 0;    ///< cls_bpf only
  std::string name;             ///< cls_bpf: the TCA_BPF_NAME, "<prog name>:[<id>]" from us
  bool direct_action = false;   ///< cls_bpf: TCA_BPF_FLAG_ACT_DIRECT
};

/// The filters on `iface`'s clsact hook, in the kernel's order (by priority). Empty without a
/// clsact qdisc. Throws: ebpf::error "<iface>: list filters: ...".
std::vector<tc_filter_info> query_tc(const net_interface& iface, tc_direction direction);

/// Where a program goes among the others on a TCX / netkit hook (kernel/bpf/mprog.c).
enum class mprog_position {
  last,    ///< appended (the default)
  first,   ///< before every other program
  before,  ///< right before the anchor (relative_*)
  after,   ///< right after the anchor
};

/// Options for program::attach_tcx and attach_netkit.
struct tcx_options {
  mprog_position position = mprog_position::last;
  /// The anchor for before/after: exactly one of these. A link anchor names the program that
  /// link attached.
  const program* relative_program = nullptr;
  const link* relative_link = nullptr;
  std::uint32_t relative_program_id = 0;
  std::uint32_t relative_link_id = 0;
  /// When not 0: attach only if the hook's revision is still this one (see query_tcx), else
  /// the kernel refuses with ESTALE.
  std::uint64_t expected_revision = 0;
  /// BPF_PROG_ATTACH instead of a bpf_link (same hook, same ordering; detached with
  /// BPF_PROG_DETACH when the ebpf::link is destroyed; cannot be pinned).
  bool legacy_attach = false;
};

/// The programs on a TCX or netkit hook, in run order.
struct mprog_query_result {
  std::uint64_t revision = 0;  ///< changes with every attach / detach
  struct entry {
    std::uint32_t prog_id = 0;
    std::uint32_t link_id = 0;  ///< 0 when attached with BPF_PROG_ATTACH
  };
  std::vector<entry> programs;
};

/// BPF_PROG_QUERY on `iface`'s TCX hook (6.6).
/// Throws: ebpf::error "<iface>: query tcx <direction>: ..." (EINVAL before 6.6).
mprog_query_result query_tcx(const net_interface& iface, tc_direction direction);

/// The two sides of a netkit device (6.7).
enum class netkit_side { primary, peer };

}  // namespace ebpf
