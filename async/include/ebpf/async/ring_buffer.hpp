// ebpfpp async: co_await records from BPF ring buffers (BPF_MAP_TYPE_RINGBUF, kernel 5.8).
//
//   asio::awaitable<void> monitor(ebpf::object& object) {
//     ebpf::async::ring_buffer events(co_await asio::this_coro::executor, object.map("events"));
//     for (;;) {
//       auto batch = co_await events.async_read_some(asio::use_awaitable);  // zero-copy views
//       for (const exec_event& e : batch.as<exec_event>()) print(e);
//     }                                       // the consumer position is committed per batch
//   }
//
// The reader reads through ebpf::ring_buffer (include/ebpf/ring_buffer.hpp), which owns the
// mappings and the epoll fd; this class only waits on that fd with Asio. See reader.hpp for the
// read loop and why cancellation loses nothing.
#pragma once

#include <ebpf/async/reader.hpp>
#include <ebpf/error.hpp>
#include <ebpf/ring_buffer.hpp>

#include <asio/execution_context.hpp>

#include <cstddef>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

namespace ebpf {
class map;
}

namespace ebpf::async {

namespace detail {

/// Records of a ring buffer are 8-byte aligned in the ring (8-byte header, positions in units of
/// 8): a record can be read in place as a T of at most that alignment.
template <class T>
constexpr void check_ring_record_type() {
  static_assert(std::is_trivially_copyable_v<T>, "a record type must be trivially copyable");
  static_assert(alignof(T) <= 8, "ring buffer records are only 8-byte aligned");
}

[[noreturn]] inline void throw_record_size(std::size_t index, std::size_t size, std::size_t expected) {
  throw_error(errc::type_mismatch, "ring buffer: record " + std::to_string(index) + " of the batch is " +
                                       std::to_string(size) + " bytes, the record type is " +
                                       std::to_string(expected) + " bytes");
}

/// One ring's share of a ring reader's open batch: the window of unread records taken when the
/// batch opened, where delivery resumes (`start`), what async_receive took one by one, and,
/// once a walk reached the end of this ring's share of a delivered batch, where it ended.
struct ring_lane {
  ring::record_window window;
  std::size_t ring = 0;
  std::uint64_t start = 0;
  std::uint64_t taken_records = 0;
  std::uint64_t taken_bytes = 0;
  std::uint64_t taken_discarded = 0;
  bool settled = false;  // end, count, bytes, discarded and stopped_by are final
  std::uint64_t end = 0;
  std::size_t count = 0;
  std::uint64_t bytes = 0;
  std::uint64_t discarded = 0;
  ring::read_state stopped_by = ring::read_state::ready;
};

/// A walk of a lane's records from `from`: stops at the window's limit, at a busy or corrupt
/// header, or after `budget` records.
inline void walk_lane(ring_lane& lane, std::uint64_t from, std::size_t budget) noexcept {
  std::uint64_t position = from;
  std::size_t count = 0;
  std::uint64_t bytes = 0, discarded = 0;
  ring::read_state stopped_by = ring::read_state::ready;
  for (;;) {
    if (count == budget) break;
    if (position == lane.window.limit) {
      stopped_by = ring::read_state::empty;
      break;
    }
    const ring::walk_result r = ring::walk_step(lane.window, position);
    if (r.kind == ring::walk_result::stop) {
      stopped_by = ring::read_state::busy;
      break;
    }
    if (r.kind == ring::walk_result::corrupt) {
      stopped_by = ring::read_state::corrupt;
      break;
    }
    position += r.footprint;
    if (r.kind == ring::walk_result::discarded) {
      ++discarded;
    } else {
      ++count;
      bytes += r.size;
    }
  }
  lane.settled = true;
  lane.end = position;
  lane.count = count;
  lane.bytes = bytes;
  lane.discarded = discarded;
  lane.stopped_by = stopped_by;
}

}  // namespace detail

/// One record read from a ring buffer: a view of its bytes in the ring (valid until the reader's
/// next read operation starts, or until it is closed or destroyed) and the index of the ring it
/// came from (the order the reader's maps were given in; 0 with one map).
struct ring_record {
  std::span<const std::byte> data;
  std::size_t ring = 0;

  std::size_t size() const noexcept { return data.size(); }
  /// The record as a T, in place. Throws: ebpf::error(errc::type_mismatch) unless the record
  /// is exactly sizeof(T) bytes.
  template <class T>
  const T& as() const {
    detail::check_ring_record_type<T>();
    if (data.size() != sizeof(T)) detail::throw_record_size(0, data.size(), sizeof(T));
    return *reinterpret_cast<const T*>(data.data());
  }
};

/// The records one async_read_some delivered, in ring order (ring by ring when the reader has
/// several), at most the reader's batch_size(). The records stay where the kernel wrote them and
/// are found by walking the ring headers while you iterate: handling a batch is one pass over
/// the ring, like a hand-written consumer's (an array of views, written by one pass and read by
/// a second, cost 40% of the drain throughput: bench/ringbuf). The batch ends where the first
/// complete walk stopped (a record still being written, the producer position seen when the
/// batch opened, or the batch size); later walks, size() and the next read use that end.
///
/// Valid until the reader's next read operation starts, or until it is closed or destroyed.
/// Cheap to copy; copies share the walk's results. Iteration (range for, as<T>()) is the fast
/// path; views() and operator[] write the views into the reader's batch array on first use.
/// Not thread-safe, like the reader.
class ring_batch {
 public:
  ring_batch() noexcept = default;
  /// For readers: the batch's `lanes` (one per ring, in order), at most `budget` records;
  /// `views` is where views() writes (resized then).
  ring_batch(std::span<detail::ring_lane> lanes, std::size_t budget,
             std::vector<std::span<const std::byte>>* views) noexcept
      : lanes_(lanes), budget_(budget), views_(views) {}

  /// Iterates ring_record values, walking the rings' record headers.
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = ring_record;
    using difference_type = std::ptrdiff_t;
    using reference = ring_record;
    using pointer = void;
    iterator() = default;
    ring_record operator*() const noexcept {
      return {{data_ + (position_ & mask_) + ring::header_size, size_}, ring_};
    }
    iterator& operator++() noexcept {
      position_ += footprint_;
      ++count_;
      bytes_ += size_;
      --budget_;
      // The common case inline (a submitted record that fits); find() does the rest.
      if (budget_ != 0 && position_ != limit_) {
        const std::uint32_t len = __atomic_load_n(
            reinterpret_cast<const std::uint32_t*>(data_ + (position_ & mask_)), __ATOMIC_ACQUIRE);
        if ((len & (ring::busy_bit | ring::discard_bit)) == 0) {
          const std::uint64_t footprint = ring::record_footprint(len);
          if (footprint <= limit_ - position_) {
            size_ = len;
            footprint_ = footprint;
            return *this;
          }
        }
      }
      find();
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator copy = *this;
      ++*this;
      return copy;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept {
      return a.lane_ == b.lane_ && a.position_ == b.position_;
    }

   private:
    friend class ring_batch;

    // Enters lane `index` (or ends when there is none) and finds its first record.
    void enter(std::size_t index) noexcept {
      lane_ = index;
      if (index >= lanes_.size()) {
        position_ = 0;
        return;
      }
      const detail::ring_lane& lane = lanes_[index];
      data_ = lane.window.data;
      mask_ = lane.window.mask;
      limit_ = lane.settled ? lane.end : lane.window.limit;
      position_ = lane.start;
      ring_ = lane.ring;
      count_ = 0;
      bytes_ = 0;
      discarded_ = 0;
      find();
    }

    // Moves to the record at or after position_; at the end of the lane, records where it
    // ended (the first complete walk decides the batch's extent) and enters the next one.
    void find() noexcept {
      for (;;) {
        ring::read_state stopped_by = ring::read_state::ready;
        if (budget_ != 0 && position_ != limit_) {
          const ring::record_window window{data_, mask_, position_, limit_, false};
          const ring::walk_result r = ring::walk_step(window, position_);
          if (r.kind == ring::walk_result::record) {
            size_ = r.size;
            footprint_ = r.footprint;
            return;
          }
          if (r.kind == ring::walk_result::discarded) {
            position_ += r.footprint;
            ++discarded_;
            continue;
          }
          stopped_by = r.kind == ring::walk_result::corrupt ? ring::read_state::corrupt : ring::read_state::busy;
        } else if (budget_ != 0) {
          stopped_by = ring::read_state::empty;
        }
        detail::ring_lane& lane = lanes_[lane_];
        if (!lane.settled) {
          lane.settled = true;
          lane.end = position_;
          lane.count = count_;
          lane.bytes = bytes_;
          lane.discarded = discarded_;
          lane.stopped_by = stopped_by;
        }
        if (budget_ == 0) {
          // The batch is full: the later lanes hold none of it.
          for (std::size_t i = lane_ + 1; i < lanes_.size(); ++i) {
            if (lanes_[i].settled) continue;
            lanes_[i].settled = true;
            lanes_[i].end = lanes_[i].start;
            lanes_[i].count = 0;
          }
          lane_ = lanes_.size();
          position_ = 0;
          return;
        }
        enter(lane_ + 1);
        return;
      }
    }

    std::span<detail::ring_lane> lanes_;
    std::size_t lane_ = 0;
    const std::byte* data_ = nullptr;
    std::uint64_t mask_ = 0;
    std::uint64_t limit_ = 0;
    std::uint64_t position_ = 0;  // header of the current record (0 at the end)
    std::uint32_t size_ = 0;
    std::uint64_t footprint_ = 0;
    std::size_t ring_ = 0;
    std::size_t budget_ = 0;
    std::size_t count_ = 0;
    std::uint64_t bytes_ = 0;
    std::uint64_t discarded_ = 0;
  };

  iterator begin() const noexcept {
    iterator it;
    it.lanes_ = lanes_;
    it.budget_ = budget_;
    it.enter(0);
    return it;
  }
  iterator end() const noexcept {
    iterator it;
    it.lanes_ = lanes_;
    it.lane_ = lanes_.size();
    return it;
  }

  /// Calls f(ring_record) for each record in order; an f that returns bool stops the walk by
  /// returning false. Returns the number of records passed to f. The fastest way through a
  /// batch inside a coroutine: the loop runs here, with its state in registers, whereas g++
  /// keeps a coroutine's own locals (a range-for's iterator too) in the coroutine's heap frame,
  /// where each step's stores may share a cache line with memory another thread writes
  /// (bench/ringbuf: 2x slower when they did). A loop in a plain function does as well.
  template <class F>
  std::size_t for_each(F&& f) const {
    std::size_t count = 0;
    for (iterator it = begin(), last = end(); it != last; ++it) {
      ++count;
      if (!ring::detail::invoke_and_continue(f, *it)) break;
    }
    return count;
  }

  /// The number of records (walks the batch once if no walk completed yet).
  std::size_t size() const noexcept {
    settle();
    std::size_t total = 0;
    for (const auto& lane : lanes_) total += lane.count;
    return total;
  }
  bool empty() const noexcept { return begin() == end(); }
  /// Bytes of record data in the batch.
  std::size_t bytes() const noexcept {
    settle();
    std::size_t total = 0;
    for (const auto& lane : lanes_) total += lane.bytes;
    return total;
  }

  /// The records' bytes as an array, written on the first call into the reader's array (which
  /// is allocated then). Throws: std::bad_alloc only.
  std::span<const std::span<const std::byte>> views() const {
    if (!materialized_) {
      const std::size_t count = size();
      if (views_->size() < count) views_->resize(count);
      std::size_t i = 0;
      for (const ring_record record : *this) (*views_)[i++] = record.data;
      materialized_ = true;
      materialized_count_ = i;
    }
    return std::span<const std::span<const std::byte>>(views_->data(), materialized_count_);
  }
  /// Record `index` (< size()), through views().
  ring_record operator[](std::size_t index) const { return {views()[index], ring_of(index)}; }
  /// The ring record `index` came from.
  std::size_t ring_of(std::size_t index) const noexcept {
    settle();
    for (const auto& lane : lanes_) {
      if (index < lane.count) return lane.ring;
      index -= lane.count;
    }
    return 0;
  }

  /// The records read in place as T: a range of const T& (defined below).
  template <class T>
  class typed_range;

  /// The records as T, read in place (no copy): for (const event& e : batch.as<event>()).
  /// Throws: ebpf::error(errc::type_mismatch) naming the first record that is not exactly
  /// sizeof(T) bytes (checked for every record before anything is read).
  template <class T>
  typed_range<T> as() const {
    detail::check_ring_record_type<T>();
    std::size_t i = 0;
    for (const ring_record record : *this) {
      if (record.size() != sizeof(T)) detail::throw_record_size(i, record.size(), sizeof(T));
      ++i;
    }
    return typed_range<T>(*this);
  }

 private:
  // Walks the batch once unless a complete walk already fixed its extent.
  void settle() const noexcept {
    for (const auto& lane : lanes_) {
      if (!lane.settled) {
        for (iterator it = begin(), last = end(); it != last; ++it) {
        }
        return;
      }
    }
  }

  std::span<detail::ring_lane> lanes_;
  std::size_t budget_ = 0;
  std::vector<std::span<const std::byte>>* views_ = nullptr;
  mutable bool materialized_ = false;
  mutable std::size_t materialized_count_ = 0;
};

/// ring_batch::as<T>(): the records read in place as T.
template <class T>
class ring_batch::typed_range {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using reference = const T&;
    using pointer = const T*;
    iterator() = default;
    explicit iterator(ring_batch::iterator at) noexcept : at_(at) {}
    const T& operator*() const noexcept { return *reinterpret_cast<const T*>((*at_).data.data()); }
    const T* operator->() const noexcept { return reinterpret_cast<const T*>((*at_).data.data()); }
    iterator& operator++() noexcept {
      ++at_;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator copy = *this;
      ++at_;
      return copy;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.at_ == b.at_; }

   private:
    ring_batch::iterator at_;
  };
  explicit typed_range(const ring_batch& batch) noexcept : batch_(batch) {}
  iterator begin() const noexcept { return iterator(batch_.begin()); }
  iterator end() const noexcept { return iterator(batch_.end()); }
  std::size_t size() const noexcept { return batch_.size(); }
  const T& operator[](std::size_t index) const {
    return *reinterpret_cast<const T*>(batch_.views()[index].data());
  }

 private:
  ring_batch batch_;  // a copy: it shares the walk's results
};


namespace detail {

/// How a ring reader reads from a source with ebpf::ring_buffer's interface: size(),
/// window(index), advance_to(...), commit(), prepare_wait(), corrupt(), fd(). Nothing is read
/// ahead into an array: a batch opens one window per ring with records, async_receive takes
/// records from its lanes one by one, async_read_some hands the rest out as a ring_batch that
/// walks them, and settle() gives each ring's consumer the position delivery reached before
/// the commit.
template <class Source>
struct ring_traits {
  using source_type = Source;
  using record_type = std::span<const std::byte>;  // the batch array: where views() writes
  struct extra_type {
    std::vector<ring_lane> lanes;  // capacity: one per ring, reserved up front
    std::size_t lane = 0;          // the lane of the next undelivered record
    std::size_t budget = 0;        // records the open batch may still deliver
    std::size_t handed_out_budget = 0;
    bool handed_out = false;       // async_read_some delivered the rest as a ring_batch
    std::size_t next_ring = 0;     // round-robin start of the next batch
    std::size_t limit = 0;         // the reader's batch size
  };

  // The array is only views()'s: freed here, allocated by the first views() call.
  static void prepare(Source& source, extra_type& extra, std::vector<record_type>& array) {
    extra.lanes.reserve(source.size());
    extra.limit = array.size();
    std::vector<record_type>().swap(array);
  }

  /// Opens a batch of up to the reader's batch size of records: a window on each ring with unread records,
  /// starting one ring further each batch so a busy ring cannot starve the others. Returns 1
  /// when a record can be delivered, else 0.
  static std::size_t read(Source& source, std::span<record_type>, extra_type& extra) noexcept {
    extra.lanes.clear();
    extra.lane = 0;
    extra.budget = extra.limit;
    extra.handed_out = false;
    const std::size_t rings = source.size();
    if (rings == 0) return 0;
    const std::size_t start = extra.next_ring < rings ? extra.next_ring : 0;
    extra.next_ring = start + 1 == rings ? 0 : start + 1;
    for (std::size_t k = 0; k < rings; ++k) {
      const std::size_t index = start + k < rings ? start + k : start + k - rings;
      const ring::record_window window = source.window(index);
      if (window.corrupt || window.begin == window.limit) continue;  // corrupt: error() says so
      ring_lane lane;
      lane.window = window;
      lane.ring = index;
      lane.start = window.begin;
      extra.lanes.push_back(lane);  // within the capacity prepare() reserved
    }
    return undelivered(source, extra) ? 1 : 0;
  }

  static std::error_code error(const Source& source) noexcept {
    return source.corrupt() ? std::make_error_code(std::errc::bad_message) : std::error_code{};
  }

  template <class State>
  static bool pending(State& state) noexcept {
    return !state.extra.handed_out && state.source && undelivered(*state.source, state.extra);
  }

  /// Tells each ring's consumer where delivery got to: the end of a delivered batch (walking
  /// the part no iteration completed), or the next record async_receive would take.
  template <class State>
  static void settle(Source& source, State& state) noexcept {
    extra_type& extra = state.extra;
    std::size_t budget = extra.handed_out_budget;
    for (ring_lane& lane : extra.lanes) {
      if (extra.handed_out) {
        if (!lane.settled) walk_lane(lane, lane.start, budget);
        budget -= lane.count < budget ? lane.count : budget;
        source.advance_to(lane.ring, lane.end, lane.taken_records + lane.count, lane.taken_bytes + lane.bytes,
                          lane.taken_discarded + lane.discarded, lane.stopped_by);
      } else {
        source.advance_to(lane.ring, lane.start, lane.taken_records, lane.taken_bytes, lane.taken_discarded,
                          ring::read_state::ready);
      }
    }
    extra.lanes.clear();
    extra.lane = 0;
    extra.budget = 0;
    extra.handed_out = false;
  }

  /// The undelivered records as a batch, marked delivered (an empty batch when there are none).
  template <class State>
  static ring_batch batch(State& state) noexcept {
    if (!pending(state)) return {};
    extra_type& extra = state.extra;
    // Lanes before the current one gave all their records to async_receive: none of the batch.
    for (std::size_t i = 0; i < extra.lane; ++i) {
      extra.lanes[i].settled = true;
      extra.lanes[i].end = extra.lanes[i].start;
      extra.lanes[i].count = 0;
    }
    extra.handed_out = true;
    extra.handed_out_budget = extra.budget;
    return ring_batch(std::span<ring_lane>(extra.lanes).subspan(extra.lane), extra.budget, &state.records);
  }

  /// The next undelivered record (pending() said there is one), marked delivered.
  template <class State>
  static ring_record take_one(State& state) noexcept {
    extra_type& extra = state.extra;
    ring_lane& lane = extra.lanes[extra.lane];
    const ring::walk_result r = ring::walk_step(lane.window, lane.start);
    const ring_record record{{lane.window.data + (lane.start & lane.window.mask) + ring::header_size, r.size},
                             lane.ring};
    lane.start += r.footprint;
    ++lane.taken_records;
    lane.taken_bytes += r.size;
    --extra.budget;
    return record;
  }

 private:
  // Moves the receive cursor to the next submitted record (skipping discarded ones, leaving
  // lanes that have none ready); false when there is none within the budget. A corrupt header
  // is handed to its ring's consumer at once, so that error() reports it.
  static bool undelivered(Source& source, extra_type& extra) noexcept {
    if (extra.budget == 0) return false;
    for (; extra.lane < extra.lanes.size(); ++extra.lane) {
      ring_lane& lane = extra.lanes[extra.lane];
      while (lane.start != lane.window.limit) {
        const ring::walk_result r = ring::walk_step(lane.window, lane.start);
        if (r.kind == ring::walk_result::record) return true;
        if (r.kind == ring::walk_result::discarded) {
          lane.start += r.footprint;
          ++lane.taken_discarded;
          continue;
        }
        if (r.kind == ring::walk_result::corrupt) {
          source.advance_to(lane.ring, lane.start, lane.taken_records, lane.taken_bytes, lane.taken_discarded,
                            ring::read_state::corrupt);
          lane.taken_records = lane.taken_bytes = lane.taken_discarded = 0;
          lane.window.limit = lane.start;  // nothing more from this lane
        }
        break;
      }
    }
    return false;
  }
};

}  // namespace detail

/// An Asio reader of one or several BPF ring buffers (BPF_MAP_TYPE_RINGBUF, kernel 5.8).
///
/// Owns an ebpf::ring_buffer (the maps' mappings and an epoll fd over them) and an
/// asio::posix::stream_descriptor over a dup() of that epoll fd. Operations drain what is ready
/// and only then wait for the kernel's wakeup. Records are delivered in ring order, each ring's
/// records in the order the programs submitted them; discarded records are skipped.
///
/// Lifetimes: views (ring_record::data, ring_batch) point into the ring and stay valid until the
/// next read operation on this reader starts, or until close() or destruction. Copy what must
/// live longer. The consumer position is committed once per batch, when the next read
/// starts after every record of it was delivered (or at commit()): until then the ring's room
/// for those records stays taken, so a loop that pauses between reads should commit() first.
///
/// Counters: source().records(), bytes() and discarded() count a batch when the consumer
/// position moves past it, at the next read operation, commit() or close().
///
/// Cancellation: cancel(), close(), destruction, or a per-operation cancellation slot (terminal,
/// partial or total, e.g. a timer racing the read with asio::experimental::awaitable_operators)
/// complete the outstanding operation with asio::error::operation_aborted. It delivers nothing
/// then, and records it had read are delivered by the next operation: nothing is lost or
/// delivered twice.
///
/// Errors (the std::error_code of the completion): operation_aborted (cancelled / closed while
/// outstanding), bad_descriptor (closed before the operation), already_started (another read is
/// outstanding), std::errc::bad_message (the ring's memory is inconsistent),
/// ebpf::errc::type_mismatch (typed receive of a record of the wrong size).
///
/// Thread-safety: distinct readers, safe; one reader, unsafe: start operations, cancel() and
/// close() from one thread at a time (an io_context run by one thread, or a strand), with at
/// most one read operation (async_wait, async_receive, async_read_some) outstanding. Many
/// readers may share one io_context or one strand. Each ring must have a single consumer.
template <class Executor = asio::any_io_executor, class Source = ebpf::ring_buffer>
class basic_ring_buffer : public detail::reader_base<detail::ring_traits<Source>, Executor> {
  using base = detail::reader_base<detail::ring_traits<Source>, Executor>;
  using traits = detail::ring_traits<Source>;
  static constexpr const char* subject = "async ring buffer";

 public:
  using executor_type = Executor;
  using source_type = Source;

 private:
  template <class... Maps>
  static Source make_source(const Maps&... maps) {
    Source source;
    (source.add(maps), ...);
    return source;
  }

 public:
  /// Rebinds the reader to another executor type (as Asio's I/O objects do).
  template <class OtherExecutor>
  struct rebind_executor {
    using other = basic_ring_buffer<OtherExecutor, Source>;
  };

  /// A reader of `ring` (a BPF_MAP_TYPE_RINGBUF map; the reader keeps its own fd, so the map
  /// object may be destroyed afterwards). `batch_size`: the most records read per batch.
  /// Throws: ebpf::error as ebpf::ring_buffer's constructor (errc::type_mismatch for another
  /// map type; mmap/epoll errnos), or for dup() of the epoll fd.
  basic_ring_buffer(const executor_type& executor, const map& ring,
                    std::size_t batch_size = default_ring_batch_size)
    requires std::is_constructible_v<Source, const map&>
      : base(executor, Source(ring), batch_size, subject) {}
  /// A reader of several rings, multiplexed on one wait; ring_record::ring is the index in
  /// this list. Throws: as above.
  basic_ring_buffer(const executor_type& executor,
                    std::initializer_list<std::reference_wrapper<const map>> rings,
                    std::size_t batch_size = default_ring_batch_size)
    requires std::is_constructible_v<Source, std::initializer_list<std::reference_wrapper<const map>>>
      : base(executor, Source(rings), batch_size, subject) {}
  /// A reader of two or more rings given one by one: ring_record::ring is the position in the
  /// argument list. Unlike the braced-list constructor, it also works inside a coroutine with
  /// g++ 12 (which miscompiles an initializer_list temporary there). Throws: as above.
  template <class... More>
    requires(sizeof...(More) > 0 && (std::is_convertible_v<const More&, const map&> && ...) &&
             std::is_default_constructible_v<Source>)
  basic_ring_buffer(const executor_type& executor, const map& first, const More&... more)
      : base(executor, make_source(first, more...), default_ring_batch_size, subject) {}
  /// A reader of an existing consumer (its rings, positions and counters), which it takes over.
  /// Throws: errc::invalid_argument when it has no ring (fd() -1); ebpf::error from dup().
  basic_ring_buffer(const executor_type& executor, Source&& source,
                    std::size_t batch_size = default_ring_batch_size)
      : base(executor, std::move(source), batch_size, subject) {}

  /// The same, with the executor of an execution context (an asio::io_context).
  template <class Context, class... Args>
    requires std::is_convertible_v<Context&, asio::execution_context&> &&
             std::is_constructible_v<basic_ring_buffer, const executor_type&, Args&&...>
  basic_ring_buffer(Context& context, Args&&... args)
      : basic_ring_buffer(executor_type(context.get_executor()), std::forward<Args>(args)...) {}
  /// Several rings, with the executor of an execution context (a braced list cannot go through
  /// the forwarding constructor above).
  template <class Context>
    requires std::is_convertible_v<Context&, asio::execution_context&> &&
             std::is_constructible_v<Source, std::initializer_list<std::reference_wrapper<const map>>>
  basic_ring_buffer(Context& context, std::initializer_list<std::reference_wrapper<const map>> rings,
                    std::size_t batch_size = default_ring_batch_size)
      : basic_ring_buffer(executor_type(context.get_executor()), rings, batch_size) {}

  /// Waits until a record can be read, without reading it for the caller.
  /// Completion signature: void(std::error_code). Kernel 5.8.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_wait(Token&& token = asio::default_completion_token_t<executor_type>()) {
    return detail::start_read<void(std::error_code)>(this->state_, detail::wait_mode{},
                                                     std::forward<Token>(token));
  }

  /// Receives one record (a view, valid until the next read operation starts).
  /// Completion signature: void(std::error_code, ebpf::async::ring_record). Kernel 5.8.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_receive(Token&& token = asio::default_completion_token_t<executor_type>()) {
    auto take = [](auto& state, ring_record& out, std::error_code&) noexcept {
      out = traits::take_one(state);
      return true;
    };
    return detail::start_read<void(std::error_code, ring_record)>(
        this->state_, detail::take_mode<ring_record, decltype(take)>{take}, std::forward<Token>(token));
  }

  /// Receives one record copied into a T (trivially copyable). A record that is not exactly
  /// sizeof(T) bytes is consumed and completes the operation with ebpf::errc::type_mismatch.
  /// Completion signature: void(std::error_code, T). Kernel 5.8.
  template <class T, class Token = asio::default_completion_token_t<executor_type>>
  auto async_receive(Token&& token = asio::default_completion_token_t<executor_type>()) {
    static_assert(std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>,
                  "async_receive<T>: T must be trivially copyable and default constructible");
    auto take = [](auto& state, T& out, std::error_code& ec) noexcept {
      const std::span<const std::byte> record = traits::take_one(state).data;
      if (record.size() != sizeof(T)) {
        ec = make_error_code(errc::type_mismatch);
      } else {
        std::memcpy(static_cast<void*>(&out), record.data(), sizeof(T));
      }
      return true;
    };
    return detail::start_read<void(std::error_code, T)>(
        this->state_, detail::take_mode<T, decltype(take)>{take}, std::forward<Token>(token));
  }

  /// Receives every record that is ready, at most batch_size() of them, waiting for the first
  /// one: zero-copy views, valid until the next read operation starts. The consumer position
  /// moves past them when that next operation starts (one store per ring).
  /// Completion signature: void(std::error_code, ebpf::async::ring_batch); the batch is never
  /// empty on success. Kernel 5.8.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_read_some(Token&& token = asio::default_completion_token_t<executor_type>()) {
    auto take = [](auto& state, ring_batch& out, std::error_code&) noexcept {
      out = traits::batch(state);
      return true;
    };
    return detail::start_read<void(std::error_code, ring_batch)>(
        this->state_, detail::take_mode<ring_batch, decltype(take)>{take}, std::forward<Token>(token));
  }

  /// Reads the records that are ready now, at most batch_size(), without waiting: an empty
  /// batch when there are none (then co_await async_read_some or async_wait). The same views
  /// and commit rule as async_read_some (records a cancelled operation had read come first), so
  /// a loop may mix both: drain with try_read_some, sleep with async_read_some.
  /// Throws: errc::invalid_argument when the reader is closed or a read operation is
  /// outstanding; ebpf::error(EBADMSG) when a ring's memory is inconsistent. Kernel 5.8.
  ring_batch try_read_some() {
    auto& state = this->read_ready(subject);
    return traits::batch(state);
  }
};

/// The reader on Asio's type-erased executor: ebpf::async::ring_buffer events(executor, map).
using ring_buffer = basic_ring_buffer<>;

}  // namespace ebpf::async
