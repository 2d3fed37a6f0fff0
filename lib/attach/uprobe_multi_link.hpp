// ebpfpp internal: the uprobe_multi link that program::attach_uprobe_multi and attach_usdt both
// create (lib/attach/uprobe.cpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <ebpf/types.hpp>

#include "link_attachment.hpp"
#include "sys/bpf.hpp"

namespace ebpf::detail {

/// Creates a uprobe_multi link of `type` (trace_uprobe_multi, or trace_uprobe_session) for the
/// program `prog_fd`, loaded with expected attach type `loaded_for`. The kernel answers EINVAL
/// both when it has no such links (before 6.6) and when the program was not loaded for them;
/// the error then says which (the cached kernel_feature::uprobe_multi_link probe tells them
/// apart), and `fallback` (e.g. "attach one uprobe per function with attach_uprobe") is
/// suggested for the first.
/// Throws: ebpf::error "<subject>: create link: <errno> (<why>)", with the kernel's errno.
std::unique_ptr<attachment> create_uprobe_multi_link(int prog_fd, std::optional<attach_type> loaded_for,
                                                     attach_type type, const sys::link_uprobe_multi& multi,
                                                     const std::string& subject, std::string_view fallback);

}  // namespace ebpf::detail
