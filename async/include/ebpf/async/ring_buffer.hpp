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

/// Records [0, end) of the batch array came from ring `ring` (after the previous run's end).
struct ring_run {
  std::size_t end;
  std::size_t ring;
};

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
/// several). Views into the rings: valid until the reader's next read operation starts, or until
/// it is closed or destroyed. Cheap to copy (it refers to the reader's batch array).
class ring_batch {
 public:
  ring_batch() noexcept = default;
  /// For readers (and tests): `views` are records [first, first + views.size()) of a batch
  /// array whose ring of origin `runs` describes (empty: all from ring 0).
  ring_batch(std::span<const std::span<const std::byte>> views,
             std::span<const detail::ring_run> runs, std::size_t first) noexcept
      : views_(views), runs_(runs), first_(first) {}

  std::size_t size() const noexcept { return views_.size(); }
  bool empty() const noexcept { return views_.empty(); }
  /// Record `index` (< size()).
  ring_record operator[](std::size_t index) const noexcept { return {views_[index], ring_of(index)}; }
  /// The records' bytes, without the ring indexes.
  std::span<const std::span<const std::byte>> views() const noexcept { return views_; }
  /// Bytes of record data in the batch.
  std::size_t bytes() const noexcept {
    std::size_t total = 0;
    for (auto view : views_) total += view.size();
    return total;
  }

  /// Iterates ring_record values.
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = ring_record;
    using difference_type = std::ptrdiff_t;
    using reference = ring_record;
    using pointer = void;
    iterator() = default;
    ring_record operator*() const noexcept { return (*batch_)[index_]; }
    iterator& operator++() noexcept {
      ++index_;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator copy = *this;
      ++index_;
      return copy;
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.index_ == b.index_; }

   private:
    friend class ring_batch;
    iterator(const ring_batch* batch, std::size_t index) : batch_(batch), index_(index) {}
    const ring_batch* batch_ = nullptr;
    std::size_t index_ = 0;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, views_.size()}; }

  /// The records read in place as T: a range of const T&.
  template <class T>
  class typed_range {
   public:
    class iterator {
     public:
      using iterator_category = std::forward_iterator_tag;
      using value_type = T;
      using difference_type = std::ptrdiff_t;
      using reference = const T&;
      using pointer = const T*;
      iterator() = default;
      explicit iterator(const std::span<const std::byte>* at) noexcept : at_(at) {}
      const T& operator*() const noexcept { return *reinterpret_cast<const T*>(at_->data()); }
      const T* operator->() const noexcept { return reinterpret_cast<const T*>(at_->data()); }
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
      const std::span<const std::byte>* at_ = nullptr;
    };
    explicit typed_range(std::span<const std::span<const std::byte>> views) noexcept : views_(views) {}
    iterator begin() const noexcept { return iterator(views_.data()); }
    iterator end() const noexcept { return iterator(views_.data() + views_.size()); }
    std::size_t size() const noexcept { return views_.size(); }
    const T& operator[](std::size_t index) const noexcept {
      return *reinterpret_cast<const T*>(views_[index].data());
    }

   private:
    std::span<const std::span<const std::byte>> views_;
  };

  /// The records as T, read in place (no copy): for (const event& e : batch.as<event>()).
  /// Throws: ebpf::error(errc::type_mismatch) naming the first record that is not exactly
  /// sizeof(T) bytes (checked for every record before anything is read).
  template <class T>
  typed_range<T> as() const {
    detail::check_ring_record_type<T>();
    for (std::size_t i = 0; i < views_.size(); ++i)
      if (views_[i].size() != sizeof(T)) detail::throw_record_size(i, views_[i].size(), sizeof(T));
    return typed_range<T>(views_);
  }

  /// The ring record `index` came from.
  std::size_t ring_of(std::size_t index) const noexcept {
    const std::size_t position = first_ + index;
    for (const auto& run : runs_)
      if (position < run.end) return run.ring;
    return 0;
  }

 private:
  std::span<const std::span<const std::byte>> views_;
  std::span<const detail::ring_run> runs_;
  std::size_t first_ = 0;
};

namespace detail {

/// How a ring reader fills its batch array from a source with ebpf::ring_buffer's interface:
/// size(), read_batch(index, out), commit(), prepare_wait(), corrupt(), fd().
template <class Source>
struct ring_traits {
  using source_type = Source;
  using record_type = std::span<const std::byte>;
  struct extra_type {
    std::vector<ring_run> runs;  // capacity: one run per ring, reserved up front
    std::size_t next_ring = 0;   // round-robin start of the next batch
  };

  static void prepare(Source& source, extra_type& extra) { extra.runs.reserve(source.size()); }

  /// Reads up to out.size() records, ring by ring, starting one ring further each batch so a
  /// busy ring cannot starve the others.
  static std::size_t read(Source& source, std::span<record_type> out, extra_type& extra) noexcept {
    const std::size_t rings = source.size();
    extra.runs.clear();
    if (rings <= 1) return rings == 0 ? 0 : source.read_batch(0, out);
    const std::size_t start = extra.next_ring < rings ? extra.next_ring : 0;
    extra.next_ring = start + 1 == rings ? 0 : start + 1;
    std::size_t filled = 0;
    for (std::size_t k = 0; k < rings && filled < out.size(); ++k) {
      const std::size_t index = start + k < rings ? start + k : start + k - rings;
      const std::size_t n = source.read_batch(index, out.subspan(filled));
      if (n == 0) continue;
      filled += n;
      if (extra.runs.size() < extra.runs.capacity()) extra.runs.push_back({filled, index});
    }
    return filled;
  }

  static std::error_code error(const Source& source) noexcept {
    return source.corrupt() ? std::make_error_code(std::errc::bad_message) : std::error_code{};
  }

  template <class State>
  static ring_batch batch(const State& state, std::size_t first, std::size_t last) noexcept {
    return ring_batch(std::span<const record_type>(state.records).subspan(first, last - first),
                      std::span<const ring_run>(state.extra.runs), first);
  }
  template <class State>
  static ring_record record(const State& state, std::size_t index) noexcept {
    return batch(state, index, index + 1)[0];
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
/// live longer. The consumer position is committed once per batch array, when the next read
/// starts after every record of it was delivered (or at commit()): until then the ring's room
/// for those records stays taken, so a loop that pauses between reads should commit() first.
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
                    std::size_t batch_size = default_batch_size)
    requires std::is_constructible_v<Source, const map&>
      : base(executor, Source(ring), batch_size, subject) {}
  /// A reader of several rings, multiplexed on one wait; ring_record::ring is the index in
  /// this list. Throws: as above.
  basic_ring_buffer(const executor_type& executor,
                    std::initializer_list<std::reference_wrapper<const map>> rings,
                    std::size_t batch_size = default_batch_size)
    requires std::is_constructible_v<Source, std::initializer_list<std::reference_wrapper<const map>>>
      : base(executor, Source(rings), batch_size, subject) {}
  /// A reader of two or more rings given one by one: ring_record::ring is the position in the
  /// argument list. Unlike the braced-list constructor, it also works inside a coroutine with
  /// g++ 12 (which miscompiles an initializer_list temporary there). Throws: as above.
  template <class... More>
    requires(sizeof...(More) > 0 && (std::is_convertible_v<const More&, const map&> && ...) &&
             std::is_default_constructible_v<Source>)
  basic_ring_buffer(const executor_type& executor, const map& first, const More&... more)
      : base(executor, make_source(first, more...), default_batch_size, subject) {}
  /// A reader of an existing consumer (its rings, positions and counters), which it takes over.
  /// Throws: errc::invalid_argument when it has no ring (fd() -1); ebpf::error from dup().
  basic_ring_buffer(const executor_type& executor, Source&& source,
                    std::size_t batch_size = default_batch_size)
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
                    std::size_t batch_size = default_batch_size)
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
      out = traits::record(state, state.next++);
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
      const std::span<const std::byte> record = state.records[state.next++];
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
      out = traits::batch(state, state.next, state.count);
      state.next = state.count;
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
    ring_batch out = traits::batch(state, state.next, state.count);
    state.next = state.count;
    return out;
  }
};

/// The reader on Asio's type-erased executor: ebpf::async::ring_buffer events(executor, map).
using ring_buffer = basic_ring_buffer<>;

}  // namespace ebpf::async
