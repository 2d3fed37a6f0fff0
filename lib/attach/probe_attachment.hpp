// ebpfpp internal: a program attached to a kprobe/uprobe perf event (lib/sys/probe_event.hpp).
//
// Shared by the kprobe and uprobe attach calls. The attachment is a perf_event bpf_link (5.15,
// carries the BPF cookie) or, on older kernels, PERF_EVENT_IOC_SET_BPF (4.1; no cookie). When the
// perf event was made through tracefs {kprobe,uprobe}_events, closing the attachment also removes
// that tracefs event, which would otherwise outlive the process.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "link_attachment.hpp"
#include "sys/probe_event.hpp"

namespace ebpf::detail {

/// Attaches program `prog_fd` (borrowed: it is duplicated) to `event` and enables it. `subject`
/// names the attachment in errors ("program 'f': uprobe '/bin/x:0x1139'"). On failure the tracefs
/// event, if any, is removed. A non-zero `cookie` on a kernel without perf_event links is refused
/// rather than silently dropped.
/// Throws: ebpf::error "<subject>: create link: ..." / "<subject>: attach to perf event: ...";
/// errc::unsupported for a cookie before 5.15.
std::unique_ptr<attachment> attach_probe_event(sys::probe_event event, sys::probe_kind kind,
                                               int prog_fd, std::uint64_t cookie,
                                               std::string subject);

}  // namespace ebpf::detail
