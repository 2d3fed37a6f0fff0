// ebpfpp internal: kprobe and uprobe perf events, the hooks a kprobe/uprobe program hangs on.
//
// Two ways to make one, newest first:
//   1. the dynamic PMU (kprobe 4.17, uprobe 4.17): perf_event_open with attr.type read from
//      /sys/bus/event_source/devices/{kprobe,uprobe}/type, the target in config1/config2, the
//      return-probe bit and the uprobe semaphore offset where .../format/ says (kernel
//      kernel/events/core.c perf_kprobe_init/perf_uprobe_init). Nothing to clean up but the fd.
//   2. tracefs: append "p:kprobes/<name> <target>" to kprobe_events (uprobe_events), then
//      perf_event_open(PERF_TYPE_TRACEPOINT) on events/kprobes/<name>/id. The event outlives our
//      fd, so the caller removes it (remove_tracefs_probe_event) after closing the perf event.
#pragma once

#include <ebpf/unique_fd.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ebpf::sys {

enum class probe_kind { kprobe, uprobe };

struct probe_event_options {
  probe_kind kind = probe_kind::kprobe;
  bool retprobe = false;
  std::string target;                // kprobe: function symbol (empty: `offset` is an address); uprobe: binary path
  std::uint64_t offset = 0;          // kprobe: offset into the symbol (or address); uprobe: file offset
  std::uint64_t ref_ctr_offset = 0;  // uprobe semaphore (4.20)
  int pid = -1;                      // uprobe: -1 = every process
  int cpu = -1;
};

struct probe_event {
  unique_fd perf_fd;
  std::string tracefs_event;  // non-empty when made through tracefs kprobe_events/uprobe_events: remove after close
};

/// How errors name a probe: "uprobe '/usr/bin/x:0x1139'", "kretprobe 'do_sys_open+0x0'",
/// "kprobe '0xffffffff81000000'".
std::string describe_probe(const probe_event_options& options);

/// Opens a kprobe/uprobe perf event: the PMU first, tracefs {kprobe,uprobe}_events when the
/// kernel has no such PMU (or no retprobe bit). The perf event is enabled (attr.disabled = 0).
/// Throws: ebpf::error "<subject>: <describe_probe>: <action>: <errno>" (ENOENT with a hint when
/// the kernel has neither mechanism, e.g. CONFIG_KPROBES=n; ENOENT/EINVAL from the kernel for an
/// unknown symbol or a bad offset); errc::invalid_argument for targets tracefs cannot express.
probe_event open_probe_event(const probe_event_options& options, std::string_view subject);

/// The tracefs way only, whatever PMUs the kernel has (what open_probe_event falls back to; for
/// tests of that path on kernels that have the PMU). Throws: as open_probe_event.
probe_event open_probe_event_tracefs(const probe_event_options& options, std::string_view subject);

/// Removes a tracefs probe event made by open_probe_event (`event` is probe_event::tracefs_event,
/// the name without its group). Close every perf event on it first: the kernel refuses (EBUSY)
/// while one is open, so this retries briefly. Never throws; false when it could not be removed.
bool remove_tracefs_probe_event(probe_kind kind, const std::string& event) noexcept;

}  // namespace ebpf::sys
