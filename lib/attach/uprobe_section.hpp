// ebpfpp internal: program::attach() for the uprobe family of sections (lib/attach/uprobe.cpp).
#pragma once

#include <string>

#include <ebpf/link.hpp>
#include <ebpf/section.hpp>

namespace ebpf {
class program;
namespace detail {

/// Attaches as "uprobe/<path>:<function>[+<offset>]" (or ":<file offset>"), "uretprobe/...",
/// "uprobe.multi/<path>:<glob>", "uprobe.session/<path>:<glob>" or
/// "usdt/<path>:<provider>:<name>" say. `where` prefixes messages.
/// Throws: errc::invalid_argument for a section without a usable target; like the attach call.
link attach_uprobe_section(const program& prog, const section_info& section, const std::string& where);

}  // namespace detail
}  // namespace ebpf
