// BPF_PROG_ATTACH / DETACH / QUERY on the multi-program attach points (tcx 6.6, netkit 6.7).
//
// Studied: kernel/bpf/mprog.c (bpf_mprog_attach / bpf_mprog_query), kernel/bpf/tcx.c and
// cilium/ebpf link/tcx.go + internal/sys query attrs. The attrs are compat:: mirrors with the 6.18
// layout (lib/sys/compat.hpp), sized to the last field we use.

#include "sys/mprog.hpp"

#include <ebpf/error.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/compat.hpp"

#define EBPF_MPROG_OFFSETOFEND(type, field) \
  (offsetof(type, field) + sizeof(static_cast<type*>(nullptr)->field))

namespace ebpf::sys {
namespace {

/// BPF_PROG_QUERY with the 6.6 layout (target_ifindex, count, link_ids, revision).
struct prog_query_attr {
  std::uint32_t target_fd;  // or target_ifindex (6.6)
  std::uint32_t attach_type;
  std::uint32_t query_flags;
  std::uint32_t attach_flags;
  compat::aligned_u64 prog_ids;
  std::uint32_t count;  // prog_cnt
  std::uint32_t unused;
  compat::aligned_u64 prog_attach_flags;  // 5.19
  compat::aligned_u64 link_ids;           // 6.6
  compat::aligned_u64 link_attach_flags;  // 6.6
  compat::aligned_u64 revision;           // 6.6
};
static_assert(offsetof(prog_query_attr, prog_ids) == offsetof(union bpf_attr, query.prog_ids));
static_assert(offsetof(prog_query_attr, count) == offsetof(union bpf_attr, query.prog_cnt));
static_assert(offsetof(prog_query_attr, prog_attach_flags) ==
              offsetof(union bpf_attr, query.prog_attach_flags));
static_assert(offsetof(prog_query_attr, revision) == 56);  // from the 6.18 BTF

template <class Attr>
long sys_bpf(int cmd, Attr& attr, std::size_t size) noexcept {
  return ::syscall(__NR_bpf, cmd, &attr, size);
}

std::string context_of(std::string_view subject, std::string_view action) {
  std::string out(subject);
  if (!out.empty()) out += ": ";
  out += action;
  return out;
}

std::uint64_t ptr(const void* pointer) noexcept {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

}  // namespace

void mprog_attach(int ifindex, int prog_fd, attach_type type, const mprog_placement& placement,
                  std::string_view subject) {
  compat::prog_attach_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<std::uint32_t>(ifindex);
  attr.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd);
  attr.attach_type = static_cast<std::uint32_t>(type);
  attr.attach_flags = placement.flags;
  attr.relative_fd = placement.relative_fd_or_id;
  attr.expected_revision = placement.expected_revision;
  if (sys_bpf(BPF_PROG_ATTACH, attr,
              EBPF_MPROG_OFFSETOFEND(compat::prog_attach_attr, expected_revision)) != 0) {
    throw_errno(errno, context_of(subject, "attach"));
  }
}

void mprog_replace(int ifindex, int prog_fd, int old_prog_fd, attach_type type,
                   std::string_view subject) {
  compat::prog_attach_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<std::uint32_t>(ifindex);
  attr.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd);
  attr.attach_type = static_cast<std::uint32_t>(type);
  // BPF_F_REPLACE names the program to swap out in replace_bpf_fd; mprog keeps its position.
  attr.attach_flags = BPF_F_REPLACE;
  attr.replace_bpf_fd = static_cast<std::uint32_t>(old_prog_fd);
  if (sys_bpf(BPF_PROG_ATTACH, attr,
              EBPF_MPROG_OFFSETOFEND(compat::prog_attach_attr, expected_revision)) != 0) {
    throw_errno(errno, context_of(subject, "replace"));
  }
}

int mprog_detach(int ifindex, int prog_fd, attach_type type) noexcept {
  compat::prog_attach_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<std::uint32_t>(ifindex);
  attr.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd);
  attr.attach_type = static_cast<std::uint32_t>(type);
  if (sys_bpf(BPF_PROG_DETACH, attr,
              EBPF_MPROG_OFFSETOFEND(compat::prog_attach_attr, expected_revision)) != 0) {
    return errno;
  }
  return 0;
}

mprog_query_result mprog_query(int ifindex, attach_type type, std::string_view subject) {
  // Ask for the count first, then for that many ids; retry while the attach point grows between
  // the two calls (the kernel gives ENOSPC and the new count).
  std::vector<std::uint32_t> prog_ids, link_ids;
  for (int attempt = 0; attempt < 8; ++attempt) {
    prog_query_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<std::uint32_t>(ifindex);
    attr.attach_type = static_cast<std::uint32_t>(type);
    attr.count = static_cast<std::uint32_t>(prog_ids.size());
    if (!prog_ids.empty()) {
      attr.prog_ids = ptr(prog_ids.data());
      attr.link_ids = ptr(link_ids.data());
    }
    if (sys_bpf(BPF_PROG_QUERY, attr, EBPF_MPROG_OFFSETOFEND(prog_query_attr, revision)) != 0) {
      if (errno == ENOSPC) {
        prog_ids.assign(attr.count, 0);
        link_ids.assign(attr.count, 0);
        continue;
      }
      throw_errno(errno, context_of(subject, "query"));
    }
    if (attr.count > prog_ids.size()) {  // the first call, with no room: size and ask again
      prog_ids.assign(attr.count, 0);
      link_ids.assign(attr.count, 0);
      continue;
    }
    mprog_query_result result;
    result.revision = attr.revision;
    prog_ids.resize(attr.count);
    link_ids.resize(attr.count);
    result.prog_ids = std::move(prog_ids);
    result.link_ids = std::move(link_ids);
    return result;
  }
  throw_errno(EAGAIN, context_of(subject, "query (the attach point kept changing)"));
}

}  // namespace ebpf::sys
