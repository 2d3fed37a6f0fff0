// ebpfpp: the ring algorithms over plain memory.
//
// Pure: the three classes here read and write positions and records in memory they are handed,
// and make no system call. ebpf::ring_buffer, ebpf::perf_buffer and ebpf::user_ring_buffer map
// the kernel's memory and hand it to them; the unit tests hand them heap buffers. The record
// paths (next, read_batch, drain, commit, reserve, submit) are inline, never allocate and never
// throw; only the constructors validate their input and throw.
//
// BPF ring buffer (BPF_MAP_TYPE_RINGBUF 5.8 and BPF_MAP_TYPE_USER_RINGBUF 6.1), as user space
// maps it (kernel/bpf/ringbuf.c):
//
//   offset 0          consumer page: u64 consumer_pos
//   offset page       producer page: u64 producer_pos
//   offset 2 pages    data: `capacity` bytes (a power of two, a multiple of the page size),
//                     then the same pages mapped a second time
//
// Positions count bytes since the map was created and only grow; a position's place in the data
// is position & (capacity - 1). A record is an 8-byte header { u32 len; u32 pg_off; } and len
// bytes, padded to a multiple of 8. len's top bits say BUSY (being written) and DISCARD (to be
// skipped). Because the data pages are mapped twice, a record that runs past the end of the data
// is contiguous in memory: record views never need a copy. Here the data area is a byte span of
// 2 * capacity bytes whose two halves hold the same bytes.
//
// Ordering: positions and headers are read with acquire and written with release, pairing with
// the kernel's smp_store_release/smp_load_acquire/xchg on the same words.
//
// Perf ring (perf_event_open(2) with an mmap; struct perf_event_mmap_page in <linux/perf_event.h>):
//
//   offset 0          struct perf_event_mmap_page: u64 data_head at byte 1024 (written by the
//                     kernel), u64 data_tail at 1032 (written by the reader), u64 data_offset at
//                     1040 and u64 data_size at 1048 (4.1)
//   data_offset       data_size bytes (2^n pages), mapped once
//
// Records are a struct perf_event_header { u32 type; u16 misc; u16 size; } and size - 8 more
// bytes. They are not mapped twice, so a record that runs past the end of the data is copied
// into a scratch buffer the perf_ring owns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace ebpf::ring {

/// Header bits of a BPF ring buffer record's length (BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT).
inline constexpr std::uint32_t busy_bit = 1u << 31;
inline constexpr std::uint32_t discard_bit = 1u << 30;
/// Size of a BPF ring buffer record header (BPF_RINGBUF_HDR_SZ).
inline constexpr std::uint32_t header_size = 8;

/// Bytes a record of `size` data bytes occupies in a BPF ring buffer: header plus data, rounded up
/// to 8 (kernel/bpf/ringbuf.c, __bpf_ringbuf_reserve).
constexpr std::uint64_t record_footprint(std::uint64_t size) noexcept {
  return (size + header_size + 7) / 8 * 8;
}

/// Byte offsets in struct perf_event_mmap_page (static_asserted against <linux/perf_event.h> in
/// lib/sys/ring.cpp).
inline constexpr std::size_t perf_data_head_offset = 1024;
inline constexpr std::size_t perf_data_tail_offset = 1032;
inline constexpr std::size_t perf_data_offset_offset = 1040;
inline constexpr std::size_t perf_data_size_offset = 1048;
/// perf_event_header.type values the perf ring understands.
inline constexpr std::uint32_t perf_record_lost = 2;    ///< PERF_RECORD_LOST: u64 id, u64 lost
inline constexpr std::uint32_t perf_record_sample = 9;  ///< PERF_RECORD_SAMPLE: u32 size, raw data
/// The largest perf record: perf_event_header.size is 16 bits.
inline constexpr std::size_t perf_max_record_size = 0xffff;

namespace detail {

template <class T>
T load_acquire(const T* word) noexcept {
  return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}
template <class T>
void store_release(T* word, T value) noexcept {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
}

/// Calls f(args...); a callback that returns bool says whether to go on, any other callback
/// always goes on.
template <class F, class... Args>
bool invoke_and_continue(F& f, Args&&... args) {
  if constexpr (std::is_convertible_v<std::invoke_result_t<F&, Args...>, bool>) {
    return static_cast<bool>(std::invoke(f, std::forward<Args>(args)...));
  } else {
    std::invoke(f, std::forward<Args>(args)...);
    return true;
  }
}

/// Throws the type_mismatch of perf_record::as<T>() (lib/ring/ring.cpp).
[[noreturn]] void throw_perf_sample_size(std::size_t size, std::size_t expected, std::uint32_t cpu,
                                         bool lost);

}  // namespace detail

/// Why a reader returned no record.
enum class read_state : std::uint8_t {
  ready,    ///< the last call returned a record (more may follow)
  empty,    ///< caught up with the producer
  busy,     ///< the next record is reserved but not yet submitted (BPF ring buffer): records
            ///< after it wait until it is, as the kernel's own consumer does
  corrupt,  ///< positions or a header are inconsistent (not written by a kernel); reading stopped
            ///< at the bad record and will stop there again
};

/// The unread part of a BPF ring buffer as a reader that walks the records itself sees it
/// (ringbuf_consumer::window): the data area (mapped twice, so a record never wraps), the read
/// position and the producer position loaded when the window was taken. Records between the
/// two are read with walk_step() in order; the walk stops at a busy record, which must not be
/// passed (the producer commits out of order across CPUs).
struct record_window {
  const std::byte* data = nullptr;
  std::uint64_t mask = 0;      // capacity - 1
  std::uint64_t begin = 0;     // the read position
  std::uint64_t limit = 0;     // the producer position
  bool corrupt = false;        // the positions are inconsistent: nothing can be read
};

/// What walk_step() found at a position of a window.
struct walk_result {
  enum kind_type : std::uint8_t { record, discarded, stop, corrupt } kind = stop;
  std::uint32_t size = 0;        // data bytes (record, discarded)
  std::uint64_t footprint = 0;   // bytes to the next header (record, discarded)
};

/// Reads the header at `position` (< window.limit) with acquire, pairing with the producer's
/// xchg in bpf_ringbuf_commit: a record whose header is not busy has its bytes visible.
inline walk_result walk_step(const record_window& window, std::uint64_t position) noexcept {
  const std::byte* header = window.data + (position & window.mask);
  const std::uint32_t len = __atomic_load_n(reinterpret_cast<const std::uint32_t*>(header), __ATOMIC_ACQUIRE);
  walk_result r;
  if (len & busy_bit) return r;  // stop
  r.size = len & ~(busy_bit | discard_bit);
  r.footprint = record_footprint(r.size);
  // Bounds: limit - begin <= capacity (window() checked), so a record that fits before the
  // limit ends inside the twice-mapped data.
  if (r.footprint > window.limit - position) {
    r.kind = walk_result::corrupt;
    return r;
  }
  r.kind = (len & discard_bit) ? walk_result::discarded : walk_result::record;
  return r;
}

/// Consumer side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF): reads records the producer
/// submitted, skips discarded ones, stops at one still being written.
///
/// Reading and committing are separate: next()/read_batch()/drain() advance a private read
/// position and hand out views into the ring; commit() publishes that position to the producer
/// in one release store. A view stays valid until the position past it is committed (then the
/// producer may overwrite it). Not thread-safe: one consumer per ring, one thread at a time.
class ringbuf_consumer {
 public:
  /// A consumer over nothing (every read finds it empty).
  ringbuf_consumer() noexcept = default;
  /// A consumer over a ring: `consumer_pos` and `producer_pos` are the position words (consumer
  /// and producer pages), `data` the data area mapped twice (2 * capacity bytes; capacity a power
  /// of two of at least 8). Reading starts at the current consumer position.
  /// Throws: ebpf::error(errc::invalid_argument) for null or misaligned positions, a data area
  /// that is not twice a power of two, or positions that do not fit that capacity.
  ringbuf_consumer(std::uint64_t* consumer_pos, const std::uint64_t* producer_pos,
                   std::span<const std::byte> data);

  /// The next submitted record after the read position (skipping discarded ones), or nullopt
  /// (state() says why). The view is valid until that record is committed.
  std::optional<std::span<const std::byte>> next() noexcept {
    std::optional<std::span<const std::byte>> result;
    scan(1, [&](std::size_t, std::span<const std::byte> record) noexcept {
      result = record;
      return true;
    });
    return result;
  }

  /// Reads up to out.size() records into `out` without committing; returns how many. The views
  /// are valid until commit() (or the destruction of the memory).
  std::size_t read_batch(std::span<std::span<const std::byte>> out) noexcept {
    // By index from a base that never changes: a moving output pointer would live in memory
    // (the lambda is passed by reference) and make each store wait for the previous one.
    return scan(out.size(), [base = out.data()](std::size_t index,
                                                std::span<const std::byte> record) noexcept {
      base[index] = record;
      return true;
    });
  }

  /// The unread records as a window for a reader that walks them itself (one acquire load of
  /// the producer position). Give the position the walk reached back with advance_to() before
  /// commit(). A corrupt window (inconsistent positions) also marks the consumer corrupt.
  record_window window() noexcept {
    // A corrupt ring stays stopped at the bad record (as next() and read_batch() do).
    if (state_ == read_state::corrupt) return {data_, mask_, read_, read_, true};
    cursor c(*this);
    record_window w{data_, mask_, c.read, c.read, false};
    if (refresh(c)) {
      w.limit = c.limit;
    } else {
      w.corrupt = c.state == read_state::corrupt;
      w.limit = c.read;
    }
    return w;
  }

  /// Moves the read position to where a walk of window() stopped (between the window's begin
  /// and limit), counting what it read; `stopped_by` is the state the walk ended in.
  void advance_to(std::uint64_t position, std::uint64_t records, std::uint64_t bytes, std::uint64_t discarded,
                  read_state stopped_by) noexcept {
    read_ = position;
    records_ += records;
    bytes_ += bytes;
    discarded_ += discarded;
    state_ = stopped_by;
  }

  /// Publishes the read position (one release store; nothing when it did not move): the
  /// producer may reuse the space of every record read so far, and views into it become invalid.
  void commit() noexcept {
    if (read_ == committed_) return;
    // Pairs with the producer's smp_load_acquire(&rb->consumer_pos) in __bpf_ringbuf_reserve:
    // our reads of the records happen before the producer reuses their space.
    detail::store_release(consumer_pos_, read_);
    committed_ = read_;
  }

  /// Commits, then tells whether a record can be read now. When false, the ring is caught up (or
  /// its next record is busy) and its committed position equals the read position, so the
  /// kernel wakes the ring's fd when the next record is submitted: it is then safe to sleep.
  /// The full fence orders our consumer_pos store before the re-read of producer_pos and the
  /// header, mirroring the full barrier of the producer's xchg before it reads consumer_pos
  /// (bpf_ringbuf_commit); without it a record submitted meanwhile could wake nobody.
  bool prepare_wait() noexcept {
    commit();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    cursor c(*this);
    // A corrupt ring counts as ready: the reader must find out rather than sleep forever.
    if (c.read == c.limit && !refresh(c)) return c.state == read_state::corrupt;
    const std::byte* header = data_ + (c.read & mask_);
    return (detail::load_acquire(reinterpret_cast<const std::uint32_t*>(header)) & busy_bit) == 0;
  }

  /// Reads records and calls f(std::span<const std::byte>) for each, at most `max` of them;
  /// commits every 64 records and at the end (also when f throws: the record f threw on counts
  /// as consumed). A callback returning bool stops the drain by returning false. Returns the
  /// number of records passed to f.
  template <class F>
  std::size_t drain(F&& f, std::size_t max = std::numeric_limits<std::size_t>::max()) {
    struct committer {
      ringbuf_consumer* self;
      ~committer() { self->commit(); }
    } guard{this};
    std::size_t count = 0;
    bool go_on = true;
    while (go_on && count < max) {
      const std::size_t chunk = max - count < 64 ? max - count : 64;
      const std::size_t got = scan(chunk, [&](std::size_t, std::span<const std::byte> record) {
        go_on = detail::invoke_and_continue(f, record);
        return go_on;
      });
      count += got;
      if (got < chunk) break;
      commit();
    }
    return count;
  }

  /// Why the last read stopped: ready when it returned as many records as asked (more may
  /// follow) or its callback stopped it; otherwise empty, busy or corrupt.
  read_state state() const noexcept { return state_; }
  /// The data capacity in bytes (0 for a default-constructed consumer).
  std::uint64_t capacity() const noexcept { return mask_ == 0 ? 0 : mask_ + 1; }
  /// Position after the last record read.
  std::uint64_t read_position() const noexcept { return read_; }
  /// The position last committed.
  std::uint64_t committed_position() const noexcept { return committed_; }
  /// The producer position now (acquire load).
  std::uint64_t producer_position() const noexcept {
    return producer_pos_ ? detail::load_acquire(producer_pos_) : 0;
  }
  /// Bytes produced but not yet read (records, headers, padding, discarded records).
  std::uint64_t unread_bytes() const noexcept { return producer_position() - read_; }
  /// Records returned since construction.
  std::uint64_t records() const noexcept { return records_; }
  /// Data bytes of the records returned.
  std::uint64_t bytes() const noexcept { return bytes_; }
  /// Discarded records skipped.
  std::uint64_t discarded() const noexcept { return discarded_; }

 private:
  // The read state in locals for the length of one scan: every header load is an acquire,
  // which would otherwise make the compiler reload and store each member around it. Written
  // back on destruction, also when a callback throws.
  struct cursor {
    ringbuf_consumer& self;
    std::uint64_t read;
    std::uint64_t limit;
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;
    std::uint64_t discarded = 0;
    read_state state = read_state::ready;
    explicit cursor(ringbuf_consumer& owner) noexcept
        : self(owner), read(owner.read_), limit(owner.limit_) {}
    cursor(const cursor&) = delete;
    cursor& operator=(const cursor&) = delete;
    ~cursor() {
      self.read_ = read;
      self.limit_ = limit;
      self.records_ += records;
      self.bytes_ += bytes;
      self.discarded_ += discarded;
      self.state_ = state;
    }
  };

  // Passes up to `max` records to sink(index, span) (which returns false to stop after the
  // record); returns how many it passed.
  template <class Sink>
  std::size_t scan(std::size_t max, Sink&& sink) {
    cursor c(*this);
    const std::byte* const data = data_;
    const std::uint64_t mask = mask_;
    std::size_t count = 0;
    while (count < max) {
      if (c.read == c.limit && !refresh(c)) break;
      const std::uint64_t available = c.limit - c.read;
      // In bounds whatever the positions say: the read position is 8-aligned (the constructor
      // checks the start, footprints are multiples of 8) and below a capacity, and the data is
      // two capacities long. A producer position less than a header ahead is caught below, as
      // every footprint is at least a header.
      const std::byte* header = data + (c.read & mask);
      // Pairs with the producer's xchg of the header in bpf_ringbuf_commit: the record's bytes
      // are visible once its header says it is no longer busy.
      const std::uint32_t len =
          detail::load_acquire(reinterpret_cast<const std::uint32_t*>(header));
      if (len & busy_bit) {
        c.state = read_state::busy;
        break;
      }
      const std::uint32_t size = len & ~(busy_bit | discard_bit);
      const std::uint64_t footprint = record_footprint(size);
      // Bounds: available <= capacity (checked in refresh), so the record ends inside the
      // twice-mapped data span.
      if (footprint > available) {
        c.state = read_state::corrupt;
        break;
      }
      c.read += footprint;
      if (len & discard_bit) {
        ++c.discarded;
        continue;
      }
      ++c.records;
      c.bytes += size;
      if (!sink(count++, std::span<const std::byte>(header + header_size, size))) break;
    }
    return count;
  }

  // Loads the producer position; false when there is nothing new (state empty or corrupt).
  bool refresh(cursor& c) const noexcept {
    if (producer_pos_ == nullptr) {
      c.state = read_state::empty;
      return false;
    }
    // Pairs with the producer's smp_store_release(&rb->producer_pos) in __bpf_ringbuf_reserve.
    const std::uint64_t producer = detail::load_acquire(producer_pos_);
    if (producer == c.read) {
      c.state = read_state::empty;
      return false;
    }
    // The producer never runs more than a capacity ahead of the committed position, and never
    // backwards; anything else is not a kernel's ring.
    if (producer - committed_ > mask_ + 1 || producer - c.read > producer - committed_) {
      c.state = read_state::corrupt;
      return false;
    }
    c.limit = producer;
    return true;
  }

  std::uint64_t* consumer_pos_ = nullptr;
  const std::uint64_t* producer_pos_ = nullptr;
  const std::byte* data_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t read_ = 0;       // position after the last record read
  std::uint64_t committed_ = 0;  // last position stored to *consumer_pos_
  std::uint64_t limit_ = 0;      // last producer position seen
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t discarded_ = 0;
  read_state state_ = read_state::empty;
};

/// Producer side of a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF, 6.1), drained in the kernel by
/// bpf_user_ringbuf_drain(): reserve space, write the record, submit (or discard) it. The
/// protocol is libbpf's user_ring_buffer (src/ringbuf.c) and the kernel's
/// __bpf_user_ringbuf_peek (kernel/bpf/ringbuf.c): reserve writes a BUSY header and advances
/// producer_pos at once; submit clears BUSY with an exchange. The kernel stops draining at a
/// busy record, so records are drained in reservation order.
///
/// Thread-safety: reserve() must not run concurrently with another reserve(); submit() and
/// discard() of different records may run on any thread.
class user_ringbuf_producer {
 public:
  user_ringbuf_producer() noexcept = default;
  /// A producer over a ring: `consumer_pos` (written by the kernel), `producer_pos` (ours) and
  /// the data area mapped twice (2 * capacity bytes). Writing starts at the current producer
  /// position. Throws: ebpf::error(errc::invalid_argument) as ringbuf_consumer does.
  user_ringbuf_producer(const std::uint64_t* consumer_pos, std::uint64_t* producer_pos,
                        std::span<std::byte> data);

  /// Reserves a record of `size` bytes and returns its (uninitialised) bytes, contiguous even
  /// when they run past the end of the ring; nullopt when the ring has no room now, or when size
  /// exceeds max_record_size() (it never will). Records must be submitted or discarded.
  std::optional<std::span<std::byte>> reserve(std::size_t size) noexcept {
    if (size > max_record_size()) return std::nullopt;
    const std::uint64_t footprint = record_footprint(size);
    // Pairs with the kernel's smp_store_release of consumer_pos after a drained record: the
    // kernel is done with the space we are about to reuse.
    const std::uint64_t consumer = detail::load_acquire(consumer_pos_);
    const std::uint64_t used = produced_ - consumer;
    if (used > capacity_ || capacity_ - used < footprint) return std::nullopt;
    std::byte* header = data_ + (produced_ & (capacity_ - 1));
    auto* len = reinterpret_cast<std::uint32_t*>(header);
    len[0] = static_cast<std::uint32_t>(size) | busy_bit;
    len[1] = 0;
    produced_ += footprint;
    // Pairs with the kernel's smp_load_acquire(&rb->producer_pos): it sees the busy header
    // before it sees the space as produced.
    detail::store_release(producer_pos_, produced_);
    return std::span<std::byte>(header + header_size, size);
  }

  /// Hands a reserved record to the kernel. False (and nothing done) when `record` is not a
  /// reservation of this ring that is still outstanding.
  bool submit(std::span<std::byte> record) noexcept { return finish(record, 0); }
  /// Gives back a reserved record; the kernel skips it. False as for submit().
  bool discard(std::span<std::byte> record) noexcept { return finish(record, discard_bit); }

  /// The data capacity in bytes.
  std::uint64_t capacity() const noexcept { return capacity_; }
  /// The largest record that fits an empty ring: capacity minus the header, at most what a
  /// bpf_dynptr can describe (2^24 - 1 bytes, bpf_dynptr_check_size).
  std::size_t max_record_size() const noexcept {
    if (capacity_ < header_size) return 0;
    const std::uint64_t limit = capacity_ - header_size;
    return static_cast<std::size_t>(limit < max_dynptr_size ? limit : max_dynptr_size);
  }
  /// Bytes the ring can take now (a record of n data bytes needs record_footprint(n)).
  std::uint64_t free_bytes() const noexcept {
    if (consumer_pos_ == nullptr) return 0;
    const std::uint64_t used = produced_ - detail::load_acquire(consumer_pos_);
    return used > capacity_ ? 0 : capacity_ - used;
  }
  /// Bytes reserved (submitted or not) that the kernel has not drained yet.
  std::uint64_t unconsumed_bytes() const noexcept { return capacity_ - free_bytes(); }
  /// Our producer position.
  std::uint64_t producer_position() const noexcept { return produced_; }

 private:
  static constexpr std::uint64_t max_dynptr_size = (1u << 24) - 1;

  bool finish(std::span<std::byte> record, std::uint32_t flags) noexcept {
    if (data_ == nullptr || record.data() == nullptr) return false;
    // reserve() hands out spans that start header_size bytes after an 8-aligned header inside
    // the first copy of the data; anything else was not reserved here.
    const auto start = reinterpret_cast<std::uintptr_t>(data_);
    const auto address = reinterpret_cast<std::uintptr_t>(record.data());
    if (address < start + header_size || address - start > capacity_) return false;
    const std::uint64_t offset = address - start - header_size;
    if (offset % 8 != 0) return false;
    auto* len = reinterpret_cast<std::uint32_t*>(data_ + offset);
    const std::uint32_t current = __atomic_load_n(len, __ATOMIC_RELAXED);
    if ((current & busy_bit) == 0 || (current & ~(busy_bit | discard_bit)) != record.size()) {
      return false;
    }
    // Pairs with the kernel's smp_load_acquire(hdr) in __bpf_user_ringbuf_peek: the record's
    // bytes are written before the header says it is ready.
    __atomic_exchange_n(len, (current & ~busy_bit) | flags, __ATOMIC_ACQ_REL);
    return true;
  }

  const std::uint64_t* consumer_pos_ = nullptr;
  std::uint64_t* producer_pos_ = nullptr;
  std::byte* data_ = nullptr;
  std::uint64_t capacity_ = 0;
  std::uint64_t produced_ = 0;
};

/// One record read from a perf ring: a sample's raw data, or a count of samples the kernel lost.
struct perf_record {
  /// PERF_RECORD_SAMPLE: the raw data. The kernel pads it so that its size plus 4 is a multiple
  /// of 8, so it can be up to 7 bytes longer than what the program passed (zero bytes at the end).
  /// Empty for a lost record.
  std::span<const std::byte> data;
  /// PERF_RECORD_LOST: how many samples the kernel dropped here because the ring was full (> 0).
  /// 0 for a sample.
  std::uint64_t lost = 0;
  /// The CPU whose ring the record came from.
  std::uint32_t cpu = 0;

  /// True for a PERF_RECORD_LOST record.
  bool is_lost() const noexcept { return lost != 0; }

  /// The sample copied into a T: a copy, because sample data is only 4-byte aligned in the ring
  /// (it follows the 12-byte header). Throws: ebpf::error(errc::type_mismatch) for a lost
  /// record, or when the size is not sizeof(T) plus the kernel's padding (0 to 7 bytes).
  template <class T>
  T as() const {
    static_assert(std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>,
                  "perf_record::as<T>: T must be trivially copyable and default constructible");
    if (is_lost() || data.size() < sizeof(T) || data.size() - sizeof(T) >= 8)
      detail::throw_perf_sample_size(data.size(), sizeof(T), cpu, is_lost());
    T value;
    std::memcpy(static_cast<void*>(&value), data.data(), sizeof(T));
    return value;
  }
};

/// Reader of one perf ring (the mmap of a perf event, e.g. a PERF_COUNT_SW_BPF_OUTPUT event that
/// bpf_perf_event_output() writes to). Returns samples and lost-sample counts in ring order;
/// skips other record types. Same read/commit split as ringbuf_consumer: a view is valid until
/// commit(); a record that runs past the end of the data is copied into the ring's scratch
/// buffer (at most one record of the uncommitted window can do that, so one buffer suffices).
/// Not thread-safe.
class perf_ring {
 public:
  perf_ring() = default;
  /// A reader over `data_head` (written by the kernel), `data_tail` (ours) and the data area
  /// (data.size() a power of two of at least 8). Reading starts at the current data_tail.
  /// Allocates the scratch buffer (min(data.size(), 64 KiB)).
  /// Throws: ebpf::error(errc::invalid_argument) for null or misaligned positions, a data size
  /// that is not a power of two, or positions that do not fit it.
  perf_ring(const std::uint64_t* data_head, std::uint64_t* data_tail,
            std::span<const std::byte> data, std::uint32_t cpu);
  /// A reader over a whole perf mmap (the perf_event_mmap_page, then the data pages): data_offset
  /// and data_size come from the page (for kernels before 4.1, where they are 0: one page, then
  /// the rest). Throws: ebpf::error(errc::invalid_argument) when the mapping is too small or the
  /// page's data_offset/data_size do not fit inside it.
  static perf_ring from_mapping(std::span<std::byte> mapping, std::size_t page_size,
                                std::uint32_t cpu);

  /// The next sample or lost record, or nullopt (state() says why: empty or corrupt).
  std::optional<perf_record> next() noexcept {
    for (;;) {
      if (read_ == limit_ && !refresh()) return std::nullopt;
      const std::uint64_t available = limit_ - read_;
      if (available < 8) return stop(read_state::corrupt);
      const std::size_t offset = static_cast<std::size_t>(read_ & mask_);
      const std::size_t size_of_data = static_cast<std::size_t>(mask_) + 1;
      std::uint32_t type;
      std::uint16_t size;
      if (offset + 8 <= size_of_data) {
        std::memcpy(&type, data_ + offset, 4);
        std::memcpy(&size, data_ + offset + 6, 2);
      } else {
        // Records are 8-byte aligned in practice, so a header never wraps; handle it anyway.
        std::byte header[8];
        copy_out(offset, 8, header);
        std::memcpy(&type, header, 4);
        std::memcpy(&size, header + 6, 2);
      }
      if (size < 8 || size > available) return stop(read_state::corrupt);
      const std::byte* record = data_ + offset;
      if (offset + size > size_of_data) {
        if (size > scratch_.size()) return stop(read_state::corrupt);
        copy_out(offset, size, scratch_.data());
        record = scratch_.data();
      }
      if (type == perf_record_sample) {
        std::uint32_t raw_size;
        if (size < 12) return stop(read_state::corrupt);
        std::memcpy(&raw_size, record + 8, 4);
        if (raw_size > static_cast<std::uint32_t>(size - 12)) return stop(read_state::corrupt);
        read_ += size;
        ++samples_;
        state_ = read_state::ready;
        return perf_record{std::span<const std::byte>(record + 12, raw_size), 0, cpu_};
      }
      if (type == perf_record_lost) {
        std::uint64_t lost;
        if (size < 24) return stop(read_state::corrupt);
        std::memcpy(&lost, record + 16, 8);
        read_ += size;
        if (lost == 0) continue;
        lost_ += lost;
        state_ = read_state::ready;
        return perf_record{{}, lost, cpu_};
      }
      read_ += size;
      ++skipped_;  // another record type (none is expected for a BPF output event)
    }
  }

  /// Reads up to out.size() records into `out` without committing; returns how many.
  std::size_t read_batch(std::span<perf_record> out) noexcept {
    std::size_t count = 0;
    while (count < out.size()) {
      auto record = next();
      if (!record) break;
      out[count++] = *record;
    }
    return count;
  }

  /// Publishes the read position as data_tail (one release store, as perf's own
  /// ring_buffer_write_tail does): the kernel may overwrite what was read; views become invalid.
  void commit() noexcept {
    if (read_ == committed_) return;
    detail::store_release(data_tail_, read_);
    committed_ = read_;
  }

  /// Commits, then tells whether a record can be read now (see ringbuf_consumer::prepare_wait;
  /// perf wakes readers every wakeup_events samples or at the watermark, whatever the reader's
  /// position, so this is only about not sleeping on data that is already there).
  bool prepare_wait() noexcept {
    commit();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return read_ != limit_ || refresh() || state_ == read_state::corrupt;
  }

  /// As ringbuf_consumer::drain, with f(const perf_record&).
  template <class F>
  std::size_t drain(F&& f, std::size_t max = std::numeric_limits<std::size_t>::max()) {
    struct committer {
      perf_ring* self;
      ~committer() { self->commit(); }
    } guard{this};
    std::size_t count = 0;
    while (count < max) {
      auto record = next();
      if (!record) break;
      ++count;
      if (!detail::invoke_and_continue(f, static_cast<const perf_record&>(*record))) break;
      if (count % 64 == 0) commit();
    }
    return count;
  }

  /// Why the last next() returned nothing (ready after a record).
  read_state state() const noexcept { return state_; }
  /// The CPU this ring belongs to (copied into every record).
  std::uint32_t cpu() const noexcept { return cpu_; }
  /// The data size in bytes (0 for a default-constructed reader).
  std::uint64_t capacity() const noexcept { return data_ == nullptr ? 0 : mask_ + 1; }
  /// Position after the last record read.
  std::uint64_t read_position() const noexcept { return read_; }
  /// The position last committed (data_tail).
  std::uint64_t committed_position() const noexcept { return committed_; }
  /// The kernel's data_head now (acquire load).
  std::uint64_t head_position() const noexcept {
    return data_head_ ? detail::load_acquire(data_head_) : 0;
  }
  /// Samples returned since construction.
  std::uint64_t samples() const noexcept { return samples_; }
  /// Samples the kernel reported lost (the sum of the lost records returned).
  std::uint64_t lost() const noexcept { return lost_; }
  /// Records of other types skipped.
  std::uint64_t skipped() const noexcept { return skipped_; }

 private:
  bool refresh() noexcept {
    if (data_head_ == nullptr) return fail(read_state::empty);
    // Pairs with the kernel's smp_store_release of data_head (perf_output_put_handle): the
    // records before the head are written.
    const std::uint64_t head = detail::load_acquire(data_head_);
    if (head == read_) return fail(read_state::empty);
    if (head - committed_ > mask_ + 1 || head - read_ > head - committed_) {
      return fail(read_state::corrupt);
    }
    limit_ = head;
    return true;
  }
  std::nullopt_t stop(read_state why) noexcept {
    state_ = why;
    return std::nullopt;
  }
  bool fail(read_state why) noexcept {
    state_ = why;
    return false;
  }
  // Copies `size` bytes starting at data offset `offset`, wrapping at the end of the data.
  void copy_out(std::size_t offset, std::size_t size, std::byte* out) const noexcept {
    const std::size_t size_of_data = static_cast<std::size_t>(mask_) + 1;
    const std::size_t first = size < size_of_data - offset ? size : size_of_data - offset;
    std::memcpy(out, data_ + offset, first);
    std::memcpy(out + first, data_, size - first);
  }

  const std::uint64_t* data_head_ = nullptr;
  std::uint64_t* data_tail_ = nullptr;
  const std::byte* data_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t read_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t limit_ = 0;
  std::uint64_t samples_ = 0;
  std::uint64_t lost_ = 0;
  std::uint64_t skipped_ = 0;
  std::vector<std::byte> scratch_;
  std::uint32_t cpu_ = 0;
  read_state state_ = read_state::empty;
};

}  // namespace ebpf::ring
