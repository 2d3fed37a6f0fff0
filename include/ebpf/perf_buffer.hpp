// ebpfpp: reading a BPF perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY) that programs write to
// with bpf_perf_event_output() (kernel 4.4).
//
//   ebpf::perf_buffer events(object.map("events"));       // one perf event + ring per CPU
//   events.poll(std::chrono::milliseconds(100), [](const ebpf::ring::perf_record& r) {
//     if (r.is_lost()) std::printf("CPU %u lost %llu\n", r.cpu, (unsigned long long)r.lost);
//     else handle(r.cpu, r.data);
//   });
//
// The same read_batch / commit / prepare_wait / fd() shape as ebpf::ring_buffer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include <ebpf/ring.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

class map;

/// How perf_buffer sets up its per-CPU events.
struct perf_buffer_options {
  /// Data pages of each CPU's ring: a power of two (the mmap is one more page). 8 pages = 32 KiB
  /// on x86-64.
  std::size_t pages_per_cpu = 8;
  /// Wake the reader every this many samples (perf_event_attr.wakeup_events). 1 wakes on every
  /// sample: lowest latency, one interrupt each. Ignored when watermark_bytes is set.
  std::uint32_t wakeup_events = 1;
  /// When not 0: wake the reader each time another this many bytes were written to a ring since
  /// its last wakeup (perf_event_attr.watermark + wakeup_watermark; the kernel counts written,
  /// not unread, bytes: __perf_output_begin), instead of per sample: fewer wakeups under load,
  /// but the last records below the watermark wait until consume() is called (e.g. on a timer)
  /// or more arrive.
  std::uint32_t watermark_bytes = 0;
};

/// Reader of a perf event array: for each online CPU (below the map's max_entries) it opens a
/// PERF_COUNT_SW_BPF_OUTPUT event with PERF_SAMPLE_RAW, maps its ring (read-write, so the
/// kernel honours our data_tail and never overwrites unread records) and stores the event's fd
/// in the map at the CPU's index, where bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, ...)
/// finds it. The destructor deletes those map entries and closes everything.
///
/// Records carry their CPU. When a ring is full the kernel drops samples and later writes one
/// PERF_RECORD_LOST with the count before the next sample that fits: those come out as records
/// with is_lost() and are summed in lost(). Sample data can be up to 7 bytes longer than what
/// the program passed (see ring::perf_record).
///
/// Views are valid until commit() (or the end of consume()/poll(), or every 64 records of a
/// long drain); a record that wrapped around its ring's end is a view into a per-CPU scratch copy
/// with the same lifetime.
///
/// Thread-safety: none inside; one perf_buffer per map, used from one thread (or strand) at a
/// time. fd() may be watched by another thread.
class perf_buffer {
 public:
  perf_buffer() noexcept;
  /// Sets up the per-CPU events and rings of `events` (a perf_event_array map), which may be
  /// destroyed afterwards (a dup of its fd is kept to delete the entries at the end).
  /// Throws: errc::type_mismatch for another map type; errc::invalid_argument when
  /// pages_per_cpu is not a power of two; ebpf::error "map '<name>': perf buffer:
  /// perf_event_open (bpf output, CPU n): <errno>" / "mmap ..." / "update ..." from the kernel
  /// (EPERM without CAP_PERFMON; ENOMEM / EPERM when the rings exceed perf_event_mlock_kb).
  explicit perf_buffer(const map& events, const perf_buffer_options& options = {});
  perf_buffer(perf_buffer&&) noexcept;
  perf_buffer& operator=(perf_buffer&&) noexcept;
  perf_buffer(const perf_buffer&) = delete;
  perf_buffer& operator=(const perf_buffer&) = delete;
  ~perf_buffer();

  /// An epoll fd over every CPU's event: readable when the kernel woke a reader (every
  /// wakeup_events samples, or at the watermark). -1 for an empty perf_buffer. Owned; dup it
  /// to hand it to something that closes its fd. After it fired, read every ring (consume() or
  /// read_batch() do): a perf event's readiness is consumed by whoever polls it first.
  int fd() const noexcept;
  /// A duplicate of fd() (CLOEXEC, above 2) for an owner that closes what it is given, such as
  /// asio::posix::stream_descriptor. Throws: ebpf::error (EBADF when empty, or the dup errno).
  unique_fd dup_fd() const;
  /// The number of per-CPU rings.
  std::size_t size() const noexcept { return rings_.size(); }
  /// The CPU of each ring, in ring order.
  std::vector<std::uint32_t> cpus() const;
  /// The perf event fd of ring `index` (owned by the perf_buffer).
  /// Throws: errc::invalid_argument for a bad index.
  int event_fd(std::size_t index) const;
  /// The algorithm state of ring `index`. Throws: errc::invalid_argument for a bad index.
  const ring::perf_ring& consumer(std::size_t index) const;

  /// Reads every ring until it is caught up, calling callback(const ring::perf_record&) for
  /// each sample and lost record, and commits. A callback returning false stops early. Returns
  /// the number of records passed to the callback.
  /// Throws: whatever the callback throws; ebpf::error(EBADMSG) for an inconsistent ring.
  template <class F>
  std::size_t consume(F&& callback) {
    std::size_t total = 0;
    for (std::size_t i = 0; i < rings_.size(); ++i) {
      bool go_on = true;
      total += rings_[i].drain([&](const ring::perf_record& record) {
        go_on = ring::detail::invoke_and_continue(callback, record);
        return go_on;
      });
      check(i);
      if (!go_on) break;
    }
    return total;
  }

  /// Consumes; if nothing was there, waits up to `timeout` (negative: forever) for a wakeup and
  /// consumes again. Returns the number of records passed to the callback.
  /// Throws: as consume(); ebpf::error from epoll_wait.
  template <class F>
  std::size_t poll(std::chrono::milliseconds timeout, F&& callback) {
    std::size_t total = consume(callback);
    if (total > 0 || !wait(timeout)) return total;
    return consume(callback);
  }

  /// Reads up to out.size() records from the rings, round-robin, without committing; returns
  /// how many. Never allocates or throws.
  std::size_t read_batch(std::span<ring::perf_record> out) noexcept;
  /// Commits every ring's read position.
  void commit() noexcept;
  /// Commits, then tells whether any ring has a record to read now.
  bool prepare_wait() noexcept;
  /// prepare_wait(), then, if nothing is ready, waits on fd() up to `timeout` (negative:
  /// forever). True when something may be ready. Throws: ebpf::error from epoll_wait.
  bool wait(std::chrono::milliseconds timeout);

  /// True if a ring's memory was found inconsistent.
  bool corrupt() const noexcept;
  /// Samples delivered and samples the kernel reported lost, over all CPUs.
  std::uint64_t samples() const noexcept;
  std::uint64_t lost() const noexcept;

 private:
  void check(std::size_t index) const {
    if (rings_[index].state() == ring::read_state::corrupt) throw_corrupt(index);
  }
  [[noreturn]] void throw_corrupt(std::size_t index) const;

  struct resources;  // map fd, event fds, mappings (lib/perf_buffer.cpp)
  std::unique_ptr<resources> resources_;
  std::vector<ring::perf_ring> rings_;
  std::size_t next_ring_ = 0;
};

}  // namespace ebpf
