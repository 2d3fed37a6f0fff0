// ebpfpp: iterator links (BPF_LINK_CREATE with BPF_TRACE_ITER) and iterator sessions.
//
// An iter program is loaded against its iterator's BTF function bpf_iter_<name> (the loader's
// attach_btf_id); the link binds it to what it walks (union bpf_iter_link_info), and every
// BPF_ITER_CREATE on the link opens a seq_file whose read() runs the program over the next
// objects (kernel/bpf/bpf_iter.c: bpf_iter_link_attach, prepare_seq_file, bpf_seq_read).
#include <ebpf/error.hpp>
#include <ebpf/iter.hpp>
#include <ebpf/program.hpp>

#include "link_attachment.hpp"
#include "sys/bpf.hpp"
#include "sys/iter.hpp"

#include <array>
#include <cstring>

namespace ebpf {
namespace {

// union bpf_iter_link_info (include/uapi/linux/bpf.h), 16 bytes; the kernel copies what we give
// and requires the rest of its own, possibly larger, union to be zero (bpf_check_uarg_tail_zero):
//
//   map    { u32 map_fd; }                              5.9
//   cgroup { u32 order; u32 cgroup_fd; u64 cgroup_id; }  6.1
//   task   { u32 tid; u32 pid; u32 pid_fd; }            6.1
struct iter_link_info {
  std::uint32_t word[2];
  std::uint64_t cgroup_id;
};
static_assert(sizeof(iter_link_info) == 16);

}  // namespace

link program::attach_iter(const iter_options& options) const {
  const std::string target = section_ ? section_->attach_target : std::string();
  const std::string subject = subject_ + ": attach iterator '" + target + "'";
  const bool map = options.map_fd >= 0;
  const bool task = options.tid || options.pid || options.pid_fd >= 0;
  const bool cgroup = options.cgroup_fd >= 0 || options.cgroup_id || options.order != cgroup_iter_order::unspec;
  if (map + task + cgroup > 1)
    throw_error(errc::invalid_argument, subject + ": iter_options mixes a map, a task and a cgroup (an iterator walks one kind)");
  if ((options.tid != 0) + (options.pid != 0) + (options.pid_fd >= 0) > 1)
    throw_error(errc::invalid_argument, subject + ": give at most one of tid, pid and pid_fd");
  if (options.cgroup_fd >= 0 && options.cgroup_id)
    throw_error(errc::invalid_argument, subject + ": give cgroup_fd or cgroup_id, not both");

  iter_link_info info{};
  if (map) {
    info.word[0] = static_cast<std::uint32_t>(options.map_fd);
  } else if (task) {
    info.word[0] = options.tid;
    info.word[1] = options.pid;
    std::uint32_t pid_fd = options.pid_fd >= 0 ? static_cast<std::uint32_t>(options.pid_fd) : 0;
    std::memcpy(&info.cgroup_id, &pid_fd, sizeof pid_fd);  // task.pid_fd is the third u32
  } else if (cgroup) {
    info.word[0] = static_cast<std::uint32_t>(options.order);
    info.word[1] = options.cgroup_fd >= 0 ? static_cast<std::uint32_t>(options.cgroup_fd) : 0;
    info.cgroup_id = options.cgroup_id;
  }
  sys::link_create_options create;
  create.prog_fd = fd_.get();
  create.target = 0;
  create.type = attach_type::trace_iter;
  // No info at all for an unrestricted iterator: kernels before 5.9 know no iter_info.
  if (map || task || cgroup) create.extra = sys::link_iter{std::as_bytes(std::span(&info, 1))};
  auto link_fd = sys::link_create(create, subject);
  return link(detail::make_kernel_link(std::move(link_fd), subject, "iter bpf_link"));
}

iter_reader::iter_reader(const link& iter_link) {
  if (!iter_link || iter_link.fd() < 0)
    throw_error(errc::invalid_argument, "iterator: the link is empty (attach an iter program first)");
  fd_ = sys::iter_create(iter_link.fd(), subject_);
}

iter_reader::iter_reader(unique_fd iter_fd) noexcept : fd_(std::move(iter_fd)) {}

std::size_t iter_reader::read(std::span<std::byte> buffer) {
  if (done_ || buffer.empty()) return 0;
  const std::size_t n = sys::iter_read(fd_.get(), buffer, subject_);
  if (n == 0) done_ = true;
  return n;
}

std::string iter_reader::read_all() {
  std::string text;
  // The kernel fills at most one seq_file buffer (a page to start with) per read.
  std::array<std::byte, 8192> chunk;
  while (std::size_t n = read(chunk)) text.append(reinterpret_cast<const char*>(chunk.data()), n);
  return text;
}

std::string read_iter(const link& iter_link) {
  iter_reader reader(iter_link);
  return reader.read_all();
}

}  // namespace ebpf
