// ebpfpp: an attachment of a program to a hook.
//
// An ebpf::link is what program::attach_*() returns. It is RAII: destroying it detaches the
// program, unless the link was pinned (kernel bpf_links only) or release()d. It covers both the
// kernel's bpf_link objects (raw tracepoint, perf event, cgroup, XDP, ...) and the older
// attachments that have no link object (PERF_EVENT_IOC_SET_BPF, BPF_PROG_ATTACH, SO_ATTACH_BPF),
// so user code does not care which one the running kernel offers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ebpf/types.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

class program;

namespace detail {
class attachment;  // lib/link_attachment.hpp: one subclass per way of attaching
}

/// enum bpf_link_type.
enum class link_type : std::uint32_t {
  unspec = 0,
  raw_tracepoint = 1,
  tracing = 2,
  cgroup = 3,
  iter = 4,
  netns = 5,
  xdp = 6,
  perf_event = 7,
  kprobe_multi = 8,
  struct_ops = 9,
  netfilter = 10,     // 6.4
  tcx = 11,           // 6.6
  uprobe_multi = 12,  // 6.6
  netkit = 13,        // 6.7
  sockmap = 14,       // 6.10
};

/// The lower-case kernel name ("raw_tracepoint", "cgroup", "xdp"), or "unknown".
std::string_view to_string(link_type type) noexcept;

/// What a perf_event link's perf event is (enum bpf_perf_event_type, 6.6).
enum class perf_event_kind : std::uint32_t {
  unspec = 0,
  uprobe = 1,
  uretprobe = 2,
  kprobe = 3,
  kretprobe = 4,
  tracepoint = 5,
  event = 6,  ///< a perf event such as a software clock
};

/// "uprobe", "uretprobe", "kprobe", "kretprobe", "tracepoint", "event", or "unspec".
std::string_view to_string(perf_event_kind kind) noexcept;

/// What the kernel reports about a bpf_link (BPF_OBJ_GET_INFO_BY_FD), 5.8. For attachments that
/// are not kernel links, `type` is unspec, `id` 0, and only prog_id (and `attach`) are filled.
struct link_info {
  link_type type = link_type::unspec;
  std::uint32_t id = 0;
  std::uint32_t prog_id = 0;
  std::optional<attach_type> attach;  ///< cgroup, tracing, netns, tcx links; legacy cgroup attach
  std::uint64_t cgroup_id = 0;        ///< cgroup links
  std::uint32_t ifindex = 0;          ///< xdp, tcx, netkit links
  std::uint32_t netns_ino = 0;        ///< netns links
  std::uint32_t target_obj_id = 0;    ///< tracing links
  std::uint32_t target_btf_id = 0;    ///< tracing links
  std::string tp_name;                ///< raw_tracepoint links
  /// The BPF cookie: raw_tracepoint (6.10), tracing (6.13) and perf_event (6.9) links.
  std::uint64_t cookie = 0;
  /// perf_event links (6.6): what the perf event is.
  perf_event_kind perf_event = perf_event_kind::unspec;
  /// perf_event links: the uprobe's file, the kprobe's function or the tracepoint's name (6.6);
  /// uprobe_multi links: the file (6.8); iter links: the target ("task", "bpf_map_elem"...).
  std::string target_name;
  std::uint64_t offset = 0;          ///< perf_event uprobe / kprobe: offset in the file / function
  std::uint64_t address = 0;         ///< perf_event kprobe: the address (0 without kallsyms rights)
  std::uint64_t ref_ctr_offset = 0;  ///< perf_event uprobe: semaphore offset (6.12)
  std::uint64_t config = 0;          ///< perf_event of kind `event`: perf_event_attr.config...
  std::uint32_t event_type = 0;      ///< ...and perf_event_attr.type (PERF_TYPE_*)
  std::uint64_t missed = 0;          ///< kprobe, kprobe_multi: runs missed (recursion), 6.7
  std::uint32_t map_id = 0;          ///< struct_ops (6.4), sockmap (6.10), iter over a map
  std::uint32_t flags = 0;           ///< kprobe_multi / uprobe_multi (1: return probe), netfilter
  std::uint32_t count = 0;           ///< kprobe_multi / uprobe_multi: number of probes
  std::uint32_t pid = 0;             ///< uprobe_multi pid filter; iter over a task: its pid...
  std::uint32_t tid = 0;             ///< ...or tid
  std::uint32_t order = 0;           ///< iter over a cgroup: walk order (cgroup_id is the cgroup)
  std::uint32_t netfilter_pf = 0;    ///< netfilter (6.4): protocol family (NFPROTO_*)...
  std::uint32_t netfilter_hooknum = 0;   ///< ...hook (NF_INET_*)...
  std::int32_t netfilter_priority = 0;   ///< ...and priority
  /// kprobe_multi: the addresses; uprobe_multi: the file offsets.
  std::vector<std::uint64_t> addresses;
  /// kprobe_multi / uprobe_multi: one cookie per probe (6.9).
  std::vector<std::uint64_t> cookies;
};

/// An attached program. Move-only; detaches when destroyed unless pinned or released.
class link {
 public:
  /// An empty link (attached nowhere).
  link() noexcept;
  /// Takes over an attachment (used by program::attach_* and the object loader).
  explicit link(std::unique_ptr<detail::attachment> attachment) noexcept;
  link(link&& other) noexcept;
  link& operator=(link&& other) noexcept;
  link(const link&) = delete;
  link& operator=(const link&) = delete;
  /// Detaches (kernel links: closes the fd, so the kernel detaches unless the link is pinned or
  /// another fd refers to it). Errors are ignored.
  ~link();

  /// Opens a bpf_link pinned at `path` (BPF_OBJ_GET), 5.7. The returned link does not unpin it;
  /// destroying it only closes the fd.
  /// Throws: ebpf::error "link: open pinned '<path>': ..." (ENOENT when nothing is pinned
  /// there); errc::invalid_argument when the pinned object is not a link.
  static link from_pin(const std::string& path);
  /// Adopts an fd of a kernel bpf_link. Throws: errc::invalid_argument if it is not a link.
  static link from_fd(unique_fd fd);

  explicit operator bool() const noexcept { return static_cast<bool>(attachment_); }
  /// Whether this is a kernel bpf_link (pin/update/info work) rather than an older attachment.
  bool is_kernel_link() const noexcept;
  /// The fd that keeps the attachment alive (the bpf_link, or the perf event), or -1.
  int fd() const noexcept;
  /// How it is attached, e.g. "cgroup bpf_link", "perf event (ioctl)", "socket filter".
  std::string_view kind() const noexcept;

  /// Pins the bpf_link at `path` in a bpffs (5.7): the program stays attached after this object
  /// and the process are gone, until the pin is removed.
  /// Throws: errc::unsupported for attachments that are not kernel links; ebpf::error (errno).
  void pin(const std::string& path);
  /// Removes the pin made by pin() (or the path given to from_pin()); destroying the link then
  /// detaches as usual. When the pin held the last reference, the kernel frees the link from a
  /// workqueue: the detach happens shortly after unpin() returns, not during it. Throws: ebpf::error "link: unpin '<path>': ..."; errc::invalid_argument
  /// when the link is not pinned.
  void unpin();
  /// The path it is pinned at, or empty.
  const std::string& pin_path() const noexcept { return pin_path_; }

  /// Stops managing the attachment: the program stays attached. Returns the fd that holds the
  /// attachment, if there is one (kernel link or perf event: it stays attached while that fd is
  /// open); empty for BPF_PROG_ATTACH and socket filters, which stay until detached elsewhere or
  /// until the cgroup/socket goes away.
  unique_fd release() noexcept;

  /// Replaces the attached program in place (no window without a program): BPF_LINK_UPDATE
  /// (5.7) for kernel links, BPF_PROG_ATTACH with BPF_F_REPLACE (5.6) for legacy cgroup
  /// attachments. Throws: errc::unsupported for other kinds; ebpf::error (EINVAL: the new program
  /// has a different type or attach type).
  void update(const program& replacement);

  /// The kernel's description of the link (5.8). Throws: ebpf::error (errno).
  link_info info() const;

  /// Detaches now: BPF_LINK_DETACH (5.9) for kernel links (even when pinned or shared; cgroup,
  /// xdp, netns, tcx, netkit, netfilter, struct_ops, sockmap links), the matching detach call
  /// otherwise. Link types the kernel cannot force (raw_tracepoint, tracing, perf_event, iter)
  /// are detached by closing our fd, which suffices unless they are pinned or shared. The link
  /// is empty afterwards, even when this throws.
  /// Throws: ebpf::error (errno); errc::unsupported when the link is pinned and the kernel
  /// cannot force it (call unpin()).
  void detach();

 private:
  std::unique_ptr<detail::attachment> attachment_;
  std::string pin_path_;
};

}  // namespace ebpf
