// ebpfpp: BPF iterators (SEC("iter/<name>") programs) and reading what they print.
//
//   ebpf::link it = object.program("dump_task").attach_iter();       // or .attach()
//   std::string text = ebpf::read_iter(it);                         // one pass over every task
//
//   ebpf::iter_reader reader(it);                                    // the same, streamed
//   std::array<std::byte, 4096> chunk;
//   while (auto n = reader.read(chunk)) consume(std::span(chunk).first(n));
//
// An iterator link is a template: each read_iter() / iter_reader opens a new session
// (BPF_ITER_CREATE) that runs the program over the objects once, in order, and ends with 0 bytes.
// Kernel: 5.8 (task, task_file, bpf_map, netlink, tcp, udp), 5.9 (bpf_map_elem, bpf_sk_storage_map,
// sockmap: a map to walk), 5.12 (task_vma), 6.1 (cgroup; task iterators restricted to one
// thread, process or pidfd), 6.7 (css_task... see kernel/bpf/*_iter.c).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <ebpf/link.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

/// Walk order of a cgroup iterator (enum bpf_cgroup_iter_order, 6.1).
enum class cgroup_iter_order : std::uint32_t {
  unspec = 0,            ///< the kernel's default: descendants_pre
  self_only = 1,         ///< only the given cgroup
  descendants_pre = 2,   ///< the cgroup and its descendants, parents first
  descendants_post = 3,  ///< children first
  ancestors_up = 4,      ///< the cgroup, its parent, ..., up to the root
};

/// What an iterator walks (union bpf_iter_link_info). Fields that do not apply to the iterator
/// stay at their defaults; all defaults: everything the iterator covers.
struct iter_options {
  /// bpf_map_elem, bpf_sk_storage_map and sockmap iterators: the map to walk (required), 5.9.
  int map_fd = -1;
  /// task, task_file and task_vma iterators: only this thread (tid), only the threads of this
  /// process (pid), or of the process behind this pidfd (pid_fd); at most one of them, 6.1.
  std::uint32_t tid = 0;
  std::uint32_t pid = 0;
  int pid_fd = -1;
  /// cgroup iterator (6.1): the start cgroup, by a cgroup v2 directory fd or by id (one of
  /// them; neither: the root cgroup), and the walk order.
  int cgroup_fd = -1;
  std::uint64_t cgroup_id = 0;
  cgroup_iter_order order = cgroup_iter_order::unspec;
};

/// One session of an iterator: reading runs the program over the next objects. Move-only.
class iter_reader {
 public:
  /// Opens a session of the iterator held by `iter_link` (BPF_ITER_CREATE, 5.8).
  /// Throws: ebpf::error "<link subject>: create iterator: ..." (EINVAL when `iter_link` is not
  /// an iterator link; errc::invalid_argument when it is empty).
  explicit iter_reader(const link& iter_link);
  /// Adopts an fd returned by BPF_ITER_CREATE (or opened from a pinned iterator in bpffs).
  explicit iter_reader(unique_fd iter_fd) noexcept;

  /// Reads up to buffer.size() bytes; 0 at the end of the pass (done() is then true).
  /// Throws: ebpf::error "iterator: read iterator: ..." (EAGAIN is never returned: the read
  /// blocks while the program runs; errors the program or the kernel report, e.g. E2BIG when
  /// one object's output exceeds the kernel's per-object buffer of 8 pages).
  std::size_t read(std::span<std::byte> buffer);
  /// Everything left in this pass. Throws: as read().
  std::string read_all();

  bool done() const noexcept { return done_; }
  int fd() const noexcept { return fd_.get(); }

 private:
  unique_fd fd_;
  std::string subject_ = "iterator";
  bool done_ = false;
};

/// The whole output of one pass of the iterator held by `iter_link`.
/// Throws: like iter_reader's constructor and read().
std::string read_iter(const link& iter_link);

}  // namespace ebpf
