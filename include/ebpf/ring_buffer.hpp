// ebpfpp: reading BPF ring buffers (BPF_MAP_TYPE_RINGBUF, kernel 5.8).
//
//   ebpf::ring_buffer events(object.map("events"));
//   for (;;) {
//     events.poll(std::chrono::milliseconds(-1), [](std::span<const std::byte> record) {
//       const auto& e = *reinterpret_cast<const exec_event*>(record.data());  // size checked by you
//       ...
//     });
//   }
//
// Zero-copy batches, for an event loop that owns the waiting (Asio, a hand-written epoll loop):
//
//   std::array<std::span<const std::byte>, 64> views;
//   std::size_t n = events.read_batch(views);   // views into the ring, nothing committed yet
//   ... use views[0..n) ...
//   events.commit();                            // one store: the kernel may reuse the space
//   if (!events.prepare_wait()) wait until events.fd() is readable;
//
// One ring_buffer may read several maps; fd() is an epoll fd readable when any of them has data.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <ebpf/ring.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

class map;

/// Consumer of one or several BPF ring buffers. Owns a duplicate of each map's fd, the
/// mappings of each ring (consumer page read-write; producer page and data read-only, the data
/// mapped twice so records are contiguous), and an epoll fd covering every ring.
///
/// Record views point into the kernel's ring: a view is valid until the consumer position past
/// it is committed (commit(), the end of consume()/poll(), or every 64 records of a long
/// drain), and while the ring_buffer lives. Discarded records are skipped and counted.
///
/// Drops: when a ring is full the kernel refuses the reservation (bpf_ringbuf_reserve returns
/// NULL, bpf_ringbuf_output -EAGAIN) and keeps no count a consumer could read; the producing
/// program must count its own failures if they matter.
///
/// Thread-safety: none inside; use one ring_buffer from one thread (or strand) at a time. fd()
/// may be watched by another thread. Each ring must have a single consumer: two ring_buffers
/// over the same map would race on its consumer position.
class ring_buffer {
 public:
  /// A reader of no ring (fd() is -1); add() rings to it.
  ring_buffer() noexcept;
  /// A reader of `ring` (a BPF_MAP_TYPE_RINGBUF map), which may be destroyed afterwards.
  /// Throws: as add().
  explicit ring_buffer(const map& ring);
  /// A reader of several rings, in this order (the ring index of the callbacks).
  /// Throws: as add().
  ring_buffer(std::initializer_list<std::reference_wrapper<const map>> rings);
  ring_buffer(ring_buffer&&) noexcept;
  ring_buffer& operator=(ring_buffer&&) noexcept;
  ring_buffer(const ring_buffer&) = delete;
  ring_buffer& operator=(const ring_buffer&) = delete;
  ~ring_buffer();

  /// Adds `ring` with the next ring index: dups its fd, maps it and adds it to the epoll fd.
  /// Reading starts at the ring's current consumer position.
  /// Throws: errc::type_mismatch if it is not a ringbuf map; ebpf::error "map '<name>': ring
  /// buffer: mmap ...: <errno>" or "...: epoll_ctl ...: <errno>" from the kernel.
  void add(const map& ring);

  /// The epoll fd: readable (poll/epoll/Asio wait_read) while any ring has unread data that
  /// the kernel signalled. -1 when there is no ring. Owned by the ring_buffer; dup it to hand it
  /// to something that closes its fd.
  int fd() const noexcept;
  /// A duplicate of fd() (CLOEXEC, above 2) for an owner that closes what it is given, such as
  /// asio::posix::stream_descriptor. Throws: ebpf::error (EBADF when empty, or the dup errno).
  unique_fd dup_fd() const;
  /// The number of rings.
  std::size_t size() const noexcept { return rings_.size(); }
  /// Ring `index`'s own map fd (a dup owned by the ring_buffer), readable when that ring has
  /// data. Throws: errc::invalid_argument for an index >= size().
  int ring_fd(std::size_t index) const;
  /// The name of ring `index`'s map. Throws: errc::invalid_argument for a bad index.
  const std::string& ring_name(std::size_t index) const;
  /// The algorithm state of ring `index` (positions, counters). Throws: errc::invalid_argument.
  const ring::ringbuf_consumer& consumer(std::size_t index) const;

  /// Reads every ring until it is caught up, calling `callback` for each record, and commits.
  /// `callback` is f(std::span<const std::byte>) or f(std::span<const std::byte>, std::size_t
  /// ring_index); returning false stops early (the record counts as consumed). Returns the
  /// number of records passed to the callback.
  /// Throws: whatever the callback throws (records before it and the one it threw on are
  /// consumed); ebpf::error(EBADMSG) if a ring's memory is inconsistent (not a kernel ring).
  template <class F>
  std::size_t consume(F&& callback) {
    std::size_t total = 0;
    const std::size_t count = rings_.size();
    for (std::size_t i = 0; i < count; ++i) {
      bool go_on = true;
      total += rings_[i].drain([&](std::span<const std::byte> record) {
        if constexpr (std::is_invocable_v<F&, std::span<const std::byte>, std::size_t>) {
          go_on = ring::detail::invoke_and_continue(callback, record, i);
        } else {
          go_on = ring::detail::invoke_and_continue(callback, record);
        }
        return go_on;
      });
      check(i);
      if (!go_on) break;
    }
    return total;
  }

  /// Waits up to `timeout` (negative: forever) until a ring has data, then consume()s.
  /// Returns the number of records passed to the callback (0 on timeout or when a signal
  /// interrupted the wait). Throws: as consume(); ebpf::error from epoll_wait.
  template <class F>
  std::size_t poll(std::chrono::milliseconds timeout, F&& callback) {
    std::size_t total = consume(callback);
    if (total > 0 || !wait(timeout)) return total;
    return consume(callback);
  }

  /// Reads up to out.size() records from the rings, round-robin from the ring after the one the
  /// previous batch started with, without committing; returns how many. Views are valid until
  /// commit(). Never allocates or throws.
  std::size_t read_batch(std::span<std::span<const std::byte>> out) noexcept;
  /// The same from ring `index` only (0 for a bad index).
  std::size_t read_batch(std::size_t index, std::span<std::span<const std::byte>> out) noexcept;
  /// Ring `index`'s unread records as a window, for a reader that walks them itself
  /// (ring::ringbuf_consumer::window); hand the position reached back with advance_to() before
  /// commit(). An empty window for a bad index. Never throws.
  ring::record_window window(std::size_t index) noexcept {
    return index < rings_.size() ? rings_[index].window() : ring::record_window{};
  }
  /// See ring::ringbuf_consumer::advance_to. Nothing for a bad index.
  void advance_to(std::size_t index, std::uint64_t position, std::uint64_t records, std::uint64_t bytes,
                  std::uint64_t discarded, ring::read_state stopped_by) noexcept {
    if (index < rings_.size()) rings_[index].advance_to(position, records, bytes, discarded, stopped_by);
  }
  /// Commits every ring's read position (one store per ring that moved).
  void commit() noexcept;
  /// Commits, then tells whether any ring has a record to read now. When false, every ring is
  /// caught up with its consumer position published, so fd() will become readable when a new
  /// record is submitted: wait on fd() only after this returned false.
  bool prepare_wait() noexcept;
  /// prepare_wait(), then, if nothing is ready, waits on fd() up to `timeout` (negative:
  /// forever). True when something may be ready. Throws: ebpf::error from epoll_wait.
  bool wait(std::chrono::milliseconds timeout);

  /// True if a ring's memory was found inconsistent (read stopped there; see ring::read_state).
  bool corrupt() const noexcept;
  /// Records delivered, their data bytes, and discarded records skipped, over all rings.
  std::uint64_t records() const noexcept;
  std::uint64_t bytes() const noexcept;
  std::uint64_t discarded() const noexcept;

 private:
  void check(std::size_t index) const {
    if (rings_[index].state() == ring::read_state::corrupt) throw_corrupt(index);
  }
  [[noreturn]] void throw_corrupt(std::size_t index) const;

  struct resources;  // fds and mappings (lib/ring_buffer.cpp)
  std::unique_ptr<resources> resources_;
  std::vector<ring::ringbuf_consumer> rings_;
  std::size_t next_ring_ = 0;  // where the next read_batch starts
};

}  // namespace ebpf
