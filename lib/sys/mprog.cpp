// BPF_PROG_ATTACH / DETACH on the multi-program attach points (tcx 6.6, netkit 6.7); their
// BPF_PROG_QUERY is sys::prog_query (lib/sys/network.cpp), shared with cgroups.
//
// Studied: kernel/bpf/mprog.c (bpf_mprog_attach), kernel/bpf/tcx.c and cilium/ebpf link/tcx.go.
// The attr is the compat:: mirror with the 6.18 layout (lib/sys/compat.hpp), sized to the last
// field we use.

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

}  // namespace ebpf::sys
