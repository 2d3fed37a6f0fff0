// ebpfpp async: the machinery shared by the readers (ebpf::async::ring_buffer, perf_buffer).
//
// A reader wraps a core consumer (the "source": ebpf::ring_buffer, ebpf::perf_buffer, or a fake
// in the unit tests) and an asio::posix::stream_descriptor over a dup() of the source's
// readiness fd. Every read operation runs the same loop:
//
//   start ──▶ records already read but not delivered? ──yes──▶ post ──▶ deliver
//     │                 │ no
//     │        commit, read a batch from the source ──some──▶ post ──▶ deliver
//     │                 │ none
//     │        source.prepare_wait(): ready now? ──yes──▶ post ──▶ read again
//     │                 │ no (caught up, position published: the kernel will wake the fd)
//     └──────▶ descriptor.async_wait(wait_read) ──▶ read again ...
//
// Records are read into a batch owned by the reader (the perf reader: an array of records; the
// ring reader: a window on each ring, walked in place), and the consumer position is committed
// only when every record of that batch has been delivered, at the start of the next read. That
// one rule gives the guarantees of the public classes:
//   - zero copy: a delivered view stays valid until the next read operation starts;
//   - one commit per batch (one release store per ring);
//   - cancellation loses nothing: a cancelled operation completes with operation_aborted
//     without delivering, and what it had read stays in the array for the next operation. A
//     cancellation that arrives after the records were handed to the completion handler is
//     too late and does nothing (Asio's rule), so nothing is delivered twice either.
//
// The source interface (what ebpf::ring_buffer / ebpf::perf_buffer provide):
//   int fd() const noexcept;              readiness fd: readable when a record may be ready
//   void commit() noexcept;               publish the read position
//   bool prepare_wait() noexcept;         commit; true when a record can be read now
// plus the reading calls each reader's traits use (read_batch) and a way to tell corruption.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <ebpf/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace ebpf::async {

/// The most records a reader delivers from one batch, unless its constructor is told otherwise.
/// 4096 rather than a few hundred: each read operation costs about 2 us of Asio and coroutine
/// machinery (bench/ringbuf, profiled), so larger batches are what brings the async drain close
/// to a raw consumer's, and a reader that catches up less often costs the producer fewer
/// wakeups. The reader keeps an array of that many views (64 KiB): the perf reader's batch, the
/// ring reader's ring_batch::views().
inline constexpr std::size_t default_batch_size = 4096;

/// The ring buffer reader's default: a ring_batch is walked in place and needs no array (its
/// views() array is allocated on first use), so a larger batch costs no memory, and fewer
/// batches cost less Asio and coroutine machinery per record (bench/ringbuf drain of 16-byte
/// records: 0.86 of a raw consumer with 4096, 0.96 with 16384).
inline constexpr std::size_t default_ring_batch_size = 16384;

namespace detail {

/// A CLOEXEC duplicate of `fd` above 2, owned by the caller (the descriptor it is assigned to).
/// Throws: ebpf::error with the errno.
inline int dup_readiness_fd(int fd, const char* subject) {
  if (fd < 0) throw_error(errc::invalid_argument, std::string(subject) + ": the source has no readiness fd");
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) throw_errno(errno, std::string(subject) + ": dup readiness fd");
  return copy;
}

/// The state of one reader, shared by the reader and its outstanding operation: an operation
/// keeps it alive, so the reader may be destroyed while it waits (the operation then completes
/// with operation_aborted).
///
/// Traits (one per reader kind) say what the batch array holds and how to fill it:
///   using source_type; using record_type; struct extra_type (per-batch bookkeeping);
///   static void prepare(source_type&, extra_type&, std::vector<record_type>& array);  // once, at
///                                                      construction (may allocate, or free the array)
///   static std::size_t read(source_type&, std::span<record_type>, extra_type&) noexcept;
///   static std::error_code error(const source_type&) noexcept;   // non-zero: unreadable
///   static bool pending(State&) noexcept;           // records read and not delivered
///   static void settle(source_type&, State&) noexcept;  // before each commit
template <class Traits, class Executor>
struct reader_state {
  using traits_type = Traits;
  using source_type = typename Traits::source_type;
  using record_type = typename Traits::record_type;
  using descriptor_type = asio::posix::basic_stream_descriptor<Executor>;

  reader_state(const Executor& executor, source_type&& src, std::size_t batch_size,
               const char* subject)
      : descriptor(executor), source(std::move(src)), records(batch_size == 0 ? 1 : batch_size),
        batch_limit(records.size()) {
    descriptor.assign(dup_readiness_fd(source->fd(), subject));
    Traits::prepare(*source, extra, records);
  }

  bool open() const noexcept { return source.has_value() && descriptor.is_open(); }
  /// True when records were read but not delivered yet (the ring reader checks its rings).
  bool pending() noexcept { return Traits::pending(*this); }

  /// Gives the kernel back the room of every delivered record (Traits::settle first tells the
  /// source where delivery got to, for readers that walk the rings themselves).
  void publish() noexcept {
    Traits::settle(*source, *this);
    source->commit();
  }

  /// Reads the next batch into the array; only called when every record of the previous one
  /// was delivered, so committing first gives the kernel back exactly the delivered records.
  std::size_t refill() noexcept {
    publish();
    next = 0;
    count = Traits::read(*source, std::span<record_type>(records), extra);
    return count;
  }

  /// True when the operation can complete without waiting: records are in the array or could
  /// be read into it, or the source is broken (the operation then completes with its error).
  bool ready() noexcept {
    if (pending() || refill() > 0) return true;
    if (Traits::error(*source)) return true;
    // prepare_wait() commits and re-checks after a full fence: false means the kernel will
    // wake the fd for the next record, so sleeping is safe.
    return source->prepare_wait();
  }

  void close() noexcept {
    std::error_code ignored;
    descriptor.close(ignored);  // the outstanding async_wait completes with operation_aborted
    // Give the kernel back what was delivered: otherwise the next consumer of the same ring
    // (another reader, a later process) would read the last batch again (bench/ringbuf found
    // it). Records read ahead but not delivered stay unread, as they must.
    if (source && !pending()) publish();
    source.reset();             // unmaps the rings, closes the source's fds
    count = next = 0;
    ++generation;
  }

  descriptor_type descriptor;
  std::optional<source_type> source;
  std::vector<record_type> records;
  std::size_t batch_limit;  // the most records one batch delivers
  typename Traits::extra_type extra{};
  std::size_t count = 0;  // records in the array
  std::size_t next = 0;   // the first record not yet delivered
  // Bumped by cancel() and close(): an operation that was posted (not waiting on the
  // descriptor) sees the change when it resumes and completes with operation_aborted.
  std::uint64_t generation = 0;
  bool busy = false;  // a read operation is outstanding
};

/// What a read operation delivers. Each mode says how to take records out of the array:
///   using value_type (void for wait_mode);
///   static bool take(State&, value_type& out, std::error_code& ec): true when done (with a
///   value, or an error in ec); false when it consumed what was there without a result (the
///   perf reader's typed receive skipping lost-sample records) and should read on.
struct wait_mode {
  using value_type = void;
};

template <class Value, class Take>
struct take_mode {
  using value_type = Value;
  Take take;
};

/// The composed operation behind async_wait / async_receive / async_read_some.
template <class State, class Mode>
class read_op {
 public:
  using value_type = typename Mode::value_type;

  read_op(std::shared_ptr<State> state, Mode mode) : state_(std::move(state)), mode_(std::move(mode)) {}

  template <class Self>
  void operator()(Self& self, std::error_code ec = {}) {
    State& s = *state_;
    switch (phase_) {
      case phase::start: {
        phase_ = phase::resume;
        if (!s.open()) return fail_later(self, asio::error::bad_descriptor);
        if (s.busy) return fail_later(self, asio::error::already_started);
        s.busy = true;
        owns_busy_ = true;
        generation_ = s.generation;
        // The operation has no side effect until it delivers, so every cancellation type is
        // honoured (terminal, partial and total).
        self.reset_cancellation_state(asio::enable_total_cancellation());
        // Never complete inside the initiating function: post, then deliver.
        if (s.ready()) return asio::post(std::move(self));
        return s.descriptor.async_wait(asio::posix::descriptor_base::wait_read, std::move(self));
      }
      case phase::resume: {
        if (ec) return finish(self, ec);
        // (get_cancellation_state(): Asio 1.22's composed_op keeps cancelled() protected.)
        if (self.get_cancellation_state().cancelled() != asio::cancellation_type::none || s.generation != generation_ ||
            !s.open()) {
          return finish(self, asio::error::operation_aborted);
        }
        // Read what is there; when it is nothing, sleep until the kernel wakes the fd. One
        // extra pass when prepare_wait() saw a record appear after the read.
        for (int pass = 0; pass < 2; ++pass) {
          if constexpr (std::is_void_v<value_type>) {
            if (s.pending() || s.refill() > 0) return finish(self, std::error_code{});
          } else {
            while (s.pending() || s.refill() > 0) {
              value_type value{};
              std::error_code result;
              if (mode_.take(s, value, result)) return finish(self, result, std::move(value));
            }
          }
          if (auto broken = State::traits_type::error(*s.source)) return finish(self, broken);
          if (!s.source->prepare_wait()) break;
        }
        return s.descriptor.async_wait(asio::posix::descriptor_base::wait_read, std::move(self));
      }
      case phase::failed:
        return finish(self, failure_);
    }
  }

 private:
  enum class phase : std::uint8_t { start, resume, failed };

  template <class Self>
  void fail_later(Self& self, const std::error_code& ec) {
    phase_ = phase::failed;
    failure_ = ec;
    asio::post(std::move(self));
  }

  template <class Self, class... Value>
  void finish(Self& self, const std::error_code& ec, Value&&... value) {
    if (owns_busy_) state_->busy = false;  // before the handler runs: it may start the next read
    owns_busy_ = false;
    complete(self, ec, std::forward<Value>(value)...);
  }

  template <class Self, class... Value>
  void complete(Self& self, const std::error_code& ec, Value&&... value) {
    if constexpr (std::is_void_v<value_type>) {
      self.complete(ec);
    } else if constexpr (sizeof...(Value) == 0) {
      self.complete(ec, value_type{});
    } else {
      self.complete(ec, std::forward<Value>(value)...);
    }
  }

  std::shared_ptr<State> state_;
  Mode mode_;
  std::error_code failure_;
  std::uint64_t generation_ = 0;
  phase phase_ = phase::start;
  bool owns_busy_ = false;
};

template <class Signature, class State, class Mode, class Token>
auto start_read(const std::shared_ptr<State>& state, Mode mode, Token&& token) {
  return asio::async_compose<Token, Signature>(read_op<State, Mode>(state, std::move(mode)), token,
                                               state->descriptor);
}

/// The reader object itself: owns the shared state; closes it when destroyed.
template <class Traits, class Executor>
class reader_base {
 public:
  using executor_type = Executor;
  using source_type = typename Traits::source_type;

  reader_base(const reader_base&) = delete;
  reader_base& operator=(const reader_base&) = delete;
  reader_base(reader_base&&) noexcept = default;
  reader_base& operator=(reader_base&& other) noexcept {
    if (this != &other) {
      if (state_) state_->close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~reader_base() {
    if (state_) state_->close();
  }

  /// The executor the reader's operations use by default (and wait on).
  executor_type get_executor() const noexcept { return state_->descriptor.get_executor(); }
  /// False after close() (and for a moved-from reader).
  bool is_open() const noexcept { return state_ && state_->open(); }
  /// The core consumer, e.g. for its counters. Throws: errc::invalid_argument after close().
  source_type& source() {
    if (!is_open()) throw_error(errc::invalid_argument, "async reader: source: the reader is closed");
    return *state_->source;
  }
  const source_type& source() const {
    if (!is_open()) throw_error(errc::invalid_argument, "async reader: source: the reader is closed");
    return *state_->source;
  }
  /// The batch array's capacity: the most records one async_read_some delivers.
  std::size_t batch_size() const noexcept { return state_ ? state_->batch_limit : 0; }

  /// Gives the kernel back the room of every record delivered so far now, instead of when the
  /// next read operation starts: views from earlier reads become invalid. Useful when a read
  /// loop pauses between batches, since the last batch's room stays taken until then (a full
  /// ring drops new records). Returns false, doing nothing, while records that async_receive
  /// read ahead are still undelivered (the core publishes whole read positions).
  /// Not thread-safe: call it from the reader's executor.
  bool commit() noexcept {
    if (!is_open() || state_->pending()) return false;
    state_->publish();
    return true;
  }

  /// Makes the outstanding operation complete with operation_aborted. Records it had read stay
  /// in the reader for the next operation. Not thread-safe: call it from the reader's executor.
  void cancel() noexcept {
    if (!state_) return;
    ++state_->generation;
    std::error_code ignored;
    state_->descriptor.cancel(ignored);
  }

  /// Closes the reader: the outstanding operation completes with operation_aborted, later ones
  /// with bad_descriptor; the source (its mappings and fds) is released, so record views
  /// delivered earlier become invalid. Not thread-safe: call it from the reader's executor.
  void close() noexcept {
    if (state_) state_->close();
  }

 protected:
  using state_type = reader_state<Traits, Executor>;

  /// The state, with the records that are ready now read into the batch array (undelivered
  /// ones first, else a refill, which commits what was delivered): what try_read_some() takes
  /// from. Throws: errc::invalid_argument when closed or while a read operation is
  /// outstanding (both would read the same array); ebpf::error(EBADMSG) when the source is
  /// broken.
  state_type& read_ready(const char* subject) {
    if (!is_open()) throw_error(errc::invalid_argument, std::string(subject) + ": try_read_some: the reader is closed");
    state_type& s = *state_;
    if (s.busy)
      throw_error(errc::invalid_argument, std::string(subject) + ": try_read_some: a read operation is outstanding");
    if (!s.pending()) s.refill();
    if (!s.pending()) {
      if (Traits::error(*s.source)) throw_errno(EBADMSG, std::string(subject) + ": try_read_some: the ring's memory is inconsistent");
    }
    return s;
  }

  reader_base(const executor_type& executor, source_type&& source, std::size_t batch_size,
              const char* subject)
      : state_(std::make_shared<state_type>(executor, std::move(source), batch_size, subject)) {}

  std::shared_ptr<state_type> state_;
};

}  // namespace detail
}  // namespace ebpf::async
