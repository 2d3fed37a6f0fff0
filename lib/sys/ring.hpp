// ebpfpp internal: the kernel calls behind the ring readers (lib/ring_buffer.cpp,
// lib/perf_buffer.cpp, lib/user_ring_buffer.cpp): epoll, poll, the BPF output perf event and the
// online CPU list. Errors follow lib/sys/bpf.hpp: "<subject>: <action>: <errno>".
#pragma once

#include <ebpf/unique_fd.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ebpf::sys {

/// EPOLLIN / EPOLLOUT / EPOLLET (static_asserted against <sys/epoll.h> in ring.cpp).
inline constexpr std::uint32_t epoll_in = 0x001;
inline constexpr std::uint32_t epoll_out = 0x004;
inline constexpr std::uint32_t epoll_edge_triggered = 1u << 31;

/// epoll_create1(EPOLL_CLOEXEC), the fd moved above 2.
/// Throws: ebpf::error "<subject>: epoll_create: ...".
unique_fd epoll_create(std::string_view subject);

/// EPOLL_CTL_ADD `fd` to `epoll_fd` for `events`, with `data` as the event's user data.
/// Throws: ebpf::error "<subject>: epoll_ctl add fd N: ...".
void epoll_add(int epoll_fd, int fd, std::uint32_t events, std::uint64_t data,
               std::string_view subject);

/// epoll_wait for up to `timeout_ms` (-1: forever, 0: just look). Writes the user data of the
/// ready entries into `ready` (at most ready.size(); with an empty span, one entry is waited for
/// and its data dropped) and returns how many were ready; 0 on timeout or when a signal
/// interrupted the wait (EINTR). Throws: ebpf::error "<subject>: epoll_wait: ..." otherwise.
int epoll_wait(int epoll_fd, std::span<std::uint64_t> ready, int timeout_ms,
               std::string_view subject);
/// The same with a std::chrono timeout (negative: forever), clamped to what epoll_wait takes.
inline int epoll_wait(int epoll_fd, std::span<std::uint64_t> ready, std::chrono::milliseconds timeout,
                      std::string_view subject) {
  const int ms = timeout.count() < 0 ? -1
                 : timeout.count() > 0x7fffffff ? 0x7fffffff
                                                 : static_cast<int>(timeout.count());
  return epoll_wait(epoll_fd, ready, ms, subject);
}

/// A PERF_TYPE_SOFTWARE / PERF_COUNT_SW_BPF_OUTPUT event on `cpu` for every process, with
/// sample_type PERF_SAMPLE_RAW and sample_period 1: what bpf_perf_event_output() writes to
/// (4.4). The reader is woken every `wakeup_events` samples, or, when `wakeup_watermark` is not
/// 0, when that many bytes are in the ring. Opened enabled, CLOEXEC, above 2.
/// Throws: ebpf::error "<subject>: perf_event_open (bpf output, CPU n): ..." (ENODEV: the CPU is
/// offline).
unique_fd perf_event_open_bpf_output(int cpu, std::uint32_t wakeup_events,
                                     std::uint32_t wakeup_watermark, std::string_view subject);

/// The CPUs in /sys/devices/system/cpu/online, ascending (perf events cannot be opened on the
/// others). Throws: ebpf::error "online CPUs: ..." when the file cannot be read or parsed.
std::vector<std::uint32_t> online_cpus();

/// Parses a kernel CPU list such as "0-3,8,10-11\n". Returns an empty vector for malformed text.
std::vector<std::uint32_t> parse_cpu_list(std::string_view text);

}  // namespace ebpf::sys
