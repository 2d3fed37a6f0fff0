// ebpfpp: BPF_PROG_QUERY, the full BPF_PROG_ATTACH and the SO_REUSEPORT program options
// (lib/sys/network.hpp). Like lib/sys/bpf.cpp, every attr is zeroed and sized to the last field
// used, so kernels older than the mirror below accept it.

#include "sys/network.hpp"

#include <ebpf/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <linux/bpf.h>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/compat.hpp"

#define EBPF_OFFSETOFEND(type, field) (offsetof(type, field) + sizeof(static_cast<type*>(nullptr)->field))

namespace ebpf::sys {
namespace {

// The BPF_PROG_QUERY part of union bpf_attr with the 6.18 layout (6.1 ends at prog_attach_flags).
struct prog_query_attr {
  std::uint32_t target_fd;  // or target_ifindex (tcx, 6.6)
  std::uint32_t attach_type;
  std::uint32_t query_flags;
  std::uint32_t attach_flags;
  compat::aligned_u64 prog_ids;
  std::uint32_t prog_cnt;  // in: capacity of the arrays; out: how many are attached
  std::uint32_t pad_;
  compat::aligned_u64 prog_attach_flags;  // 6.0
  compat::aligned_u64 link_ids;           // 6.6
  compat::aligned_u64 link_attach_flags;  // 6.6
  compat::aligned_u64 revision;           // 6.6 (output)
};
static_assert(offsetof(prog_query_attr, prog_ids) == offsetof(union bpf_attr, query.prog_ids));
static_assert(offsetof(prog_query_attr, prog_cnt) == offsetof(union bpf_attr, query.prog_cnt));
static_assert(offsetof(prog_query_attr, prog_attach_flags) ==
              offsetof(union bpf_attr, query.prog_attach_flags));
static_assert(sizeof(prog_query_attr) == 64);

// SO_ATTACH_REUSEPORT_EBPF and SO_DETACH_REUSEPORT_BPF (<asm-generic/socket.h>; glibc's
// <sys/socket.h> defines them too, but only from the kernel headers it was built against).
constexpr int so_attach_reuseport_ebpf = 52;  // 4.6 (sk_reuseport programs 4.19)
constexpr int so_detach_reuseport_bpf = 68;   // 5.3

std::uint64_t ptr(const void* pointer) noexcept {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

std::string context(std::string_view subject, std::string_view action) {
  std::string message(subject);
  if (!message.empty()) message += ": ";
  message += action;
  return message;
}

long sys_bpf(int cmd, void* attr, std::size_t size) noexcept {
  return ::syscall(__NR_bpf, cmd, attr, size);
}

}  // namespace

prog_query_result prog_query(int target_fd, attach_type type, std::uint32_t query_flags,
                             std::string_view subject) {
  const bool effective = (query_flags & query_effective) != 0;
  // Which output arrays we ask for, newest first. A kernel refuses a request that sets a field it
  // does not know: CHECK_ATTR(BPF_PROG_QUERY) gives EINVAL for any non-zero byte after its last
  // query field (6.1 ends at prog_attach_flags, 5.x at prog_cnt; kernel/bpf/syscall.c), and
  // bpf_check_uarg_tail_zero E2BIG for one past its whole union bpf_attr. The count-only call
  // sends these fields as zeros, which every kernel accepts; only the call with the arrays can be
  // refused, and then it is repeated with one generation of fields fewer. The kernel refuses
  // per-program flags for an effective query (kernel/bpf/cgroup.c __cgroup_bpf_query: "not
  // allowed to be set during effective query"), so that one never asks for them.
  enum fields { ids_only, with_prog_flags /* 6.0 */, with_links /* 6.6 */ };
  fields level = effective ? ids_only : with_links;
  for (int attempt = 0; attempt < 8; ++attempt) {
    prog_query_result result;
    prog_query_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<std::uint32_t>(target_fd);
    attr.attach_type = static_cast<std::uint32_t>(type);
    attr.query_flags = query_flags;
    // First ask for the count only (prog_ids == 0: the kernel reports prog_cnt and returns). The
    // size reaches `revision` so that tcx (6.6) and cgroups (6.17) report it.
    if (sys_bpf(BPF_PROG_QUERY, &attr, EBPF_OFFSETOFEND(prog_query_attr, revision)) < 0) {
      throw_errno(errno, context(subject, "query"));
    }
    std::uint32_t count = attr.prog_cnt;
    result.attach_flags = attr.attach_flags;
    result.revision = attr.revision;
    if (count == 0) return result;

    result.prog_ids.resize(count);
    if (level >= with_prog_flags) result.prog_attach_flags.resize(count);
    std::vector<std::uint32_t> link_attach_flags;
    if (level >= with_links) {
      result.link_ids.resize(count);
      link_attach_flags.resize(count);
    }
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<std::uint32_t>(target_fd);
    attr.attach_type = static_cast<std::uint32_t>(type);
    attr.query_flags = query_flags;
    attr.prog_ids = ptr(result.prog_ids.data());
    attr.prog_cnt = count;
    if (level >= with_prog_flags) attr.prog_attach_flags = ptr(result.prog_attach_flags.data());
    if (level >= with_links) {
      attr.link_ids = ptr(result.link_ids.data());
      attr.link_attach_flags = ptr(link_attach_flags.data());
    }
    if (sys_bpf(BPF_PROG_QUERY, &attr, EBPF_OFFSETOFEND(prog_query_attr, revision)) < 0) {
      // ENOSPC: programs were attached since the count was read; ask again.
      if (errno == ENOSPC) continue;
      if ((errno == EINVAL || errno == E2BIG) && level != ids_only) {
        level = level == with_links ? with_prog_flags : ids_only;
        continue;
      }
      throw_errno(errno, context(subject, "query"));
    }
    count = std::min<std::uint32_t>(count, attr.prog_cnt);  // programs detached meanwhile
    result.prog_ids.resize(count);
    if (!result.prog_attach_flags.empty()) result.prog_attach_flags.resize(count);
    if (!result.link_ids.empty()) result.link_ids.resize(count);
    result.attach_flags = attr.attach_flags;
    result.revision = attr.revision;
    return result;
  }
  throw_errno(EAGAIN, context(subject, "query: programs kept changing while being listed"));
}

void prog_attach_full(int target_fd, int prog_fd, attach_type type, std::uint32_t flags,
                      int replace_prog_fd, std::uint32_t relative_fd_or_id,
                      std::uint64_t expected_revision, std::string_view subject) {
  compat::prog_attach_attr attr;
  std::memset(&attr, 0, sizeof attr);
  std::size_t size = EBPF_OFFSETOFEND(compat::prog_attach_attr, attach_flags);
  attr.target_fd = static_cast<std::uint32_t>(target_fd);
  attr.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd);
  attr.attach_type = static_cast<std::uint32_t>(type);
  attr.attach_flags = flags;
  if (replace_prog_fd >= 0) {
    attr.attach_flags |= attach_replace;
    attr.replace_bpf_fd = static_cast<std::uint32_t>(replace_prog_fd);
    size = EBPF_OFFSETOFEND(compat::prog_attach_attr, replace_bpf_fd);
  }
  if (relative_fd_or_id != 0 || expected_revision != 0) {
    attr.relative_fd = relative_fd_or_id;
    attr.expected_revision = expected_revision;
    size = EBPF_OFFSETOFEND(compat::prog_attach_attr, expected_revision);
  }
  if (sys_bpf(BPF_PROG_ATTACH, &attr, size) < 0) throw_errno(errno, context(subject, "attach"));
}

void socket_attach_reuseport(int sock_fd, int prog_fd, std::string_view subject) {
  if (::setsockopt(sock_fd, SOL_SOCKET, so_attach_reuseport_ebpf, &prog_fd, sizeof prog_fd) != 0) {
    throw_errno(errno, context(subject, "attach to socket"));
  }
}

bool socket_detach_reuseport(int sock_fd) noexcept {
  int unused = 0;
  return ::setsockopt(sock_fd, SOL_SOCKET, so_detach_reuseport_bpf, &unused, sizeof unused) == 0;
}

}  // namespace ebpf::sys
