// ebpfpp internal: pieces of the tracing attach code (lib/attach/tracing.cpp, kprobe.cpp) that
// other live code uses too.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "link_attachment.hpp"

namespace ebpf::detail {

/// The BTF id of global function `function` in the BTF of the loaded program `prog_fd` (the
/// attach_btf_id of a freplace program, or of fentry/fexit on a BPF program, whose
/// attach_prog_fd is that program). Reads the program's BTF back from the kernel
/// (BPF_OBJ_GET_INFO_BY_FD btf_id, BPF_BTF_GET_FD_BY_ID, 5.0).
/// Throws: errc::not_found "<subject>: ... has no BTF" / "... has no function '<function>' in
/// its BTF"; ebpf::error (errno) from the kernel calls.
std::uint32_t program_function_btf_id(int prog_fd, std::string_view function,
                                      const std::string& subject);

/// Several attachments behind one ebpf::link (a perf_event program on every online CPU):
/// closing or detaching it does so for each; pin/update are refused; info() and fd() are those
/// of the first.
std::unique_ptr<attachment> make_attachment_group(std::vector<std::unique_ptr<attachment>> parts,
                                                  std::string subject, std::string kind);

/// Attaches `prog_fd` (duplicated) to the open perf event `perf_fd` and enables the event: a
/// perf_event bpf_link (5.15, with `cookie`), else PERF_EVENT_IOC_SET_BPF (no cookie: a non-zero
/// one is refused with errc::unsupported).
std::unique_ptr<attachment> attach_to_perf_event(unique_fd perf_fd, int prog_fd,
                                                 std::uint64_t cookie, const std::string& subject);

}  // namespace ebpf::detail
