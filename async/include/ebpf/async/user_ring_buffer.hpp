// ebpfpp async: feed a BPF program through a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF, 6.1)
// with backpressure: async_reserve waits until the program has drained enough.
//
//   ebpf::async::user_ring_buffer commands(co_await asio::this_coro::executor, object.map("commands"));
//   auto record = co_await commands.async_reserve(sizeof(command), asio::use_awaitable);
//   std::memcpy(record.data(), &next, sizeof next);
//   commands.submit(record);                        // or: co_await commands.async_write(next, ...)
//
// Writes through ebpf::user_ring_buffer (include/ebpf/user_ring_buffer.hpp), which owns the
// mappings and an epoll fd that becomes readable when bpf_user_ringbuf_drain() frees space.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/execution_context.hpp>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <ebpf/async/reader.hpp>
#include <ebpf/error.hpp>
#include <ebpf/user_ring_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>

namespace ebpf {
class map;
}

namespace ebpf::async {

namespace detail {

template <class Source, class Executor>
struct writer_state {
  writer_state(const Executor& executor, Source&& src)
      : descriptor(executor), source(std::move(src)) {
    descriptor.assign(dup_readiness_fd(source->fd(), "async user ring buffer"));
  }
  bool open() const noexcept { return source.has_value() && descriptor.is_open(); }
  void close() noexcept {
    std::error_code ignored;
    descriptor.close(ignored);
    source.reset();
    ++generation;
  }

  asio::posix::basic_stream_descriptor<Executor> descriptor;
  std::optional<Source> source;
  std::uint64_t generation = 0;
  bool busy = false;  // a reserve is outstanding
};

/// The composed operation behind async_reserve (and async_write, which copies into the record
/// and submits it before completing).
///
///   start ──post──▶ cancelled? ──▶ reserve ok? ──yes──▶ complete
///                                      │ no
///                  drain happened since the last look (wait_for_space(0))? ──yes──▶ reserve again
///                                      │ no
///                  descriptor.async_wait(wait_read) ──▶ cancelled? ──▶ reserve ...
///
/// Nothing is reserved before the operation knows it completes with success, so a cancelled
/// reserve leaves the ring untouched. wait_for_space(0) consumes the core's edge-triggered
/// drain notification: without it the epoll fd would stay readable while the ring has a little
/// room but not enough for this record, and the wait would spin.
template <class State, bool Submit>
class reserve_op {
 public:
  reserve_op(std::shared_ptr<State> state, std::size_t size, std::span<const std::byte> copy_from)
      : state_(std::move(state)), size_(size), copy_from_(copy_from) {}

  template <class Self>
  void operator()(Self& self, std::error_code ec = {}) {
    State& s = *state_;
    if (!started_) {
      started_ = true;
      if (!s.open()) return fail_later(self, asio::error::bad_descriptor);
      if (size_ > s.source->max_record_size()) return fail_later(self, make_error_code(errc::invalid_argument));
      if (s.busy) return fail_later(self, asio::error::already_started);
      s.busy = true;
      owns_busy_ = true;
      generation_ = s.generation;
      self.reset_cancellation_state(asio::enable_total_cancellation());
      return asio::post(std::move(self));  // never complete inside the initiating function
    }
    if (failed_) return finish(self, failure_);
    if (ec) return finish(self, ec);
    if (self.get_cancellation_state().cancelled() != asio::cancellation_type::none ||
        s.generation != generation_ || !s.open()) {
      return finish(self, asio::error::operation_aborted);
    }
    for (;;) {
      if (auto record = s.source->reserve(size_)) {
        if constexpr (Submit) {
          if (!copy_from_.empty()) std::memcpy(record->data(), copy_from_.data(), copy_from_.size());
          s.source->submit(*record);
          return finish(self, std::error_code{});
        } else {
          return finish(self, std::error_code{}, *record);
        }
      }
      if (!s.source->wait_for_space(std::chrono::milliseconds(0))) break;
    }
    s.descriptor.async_wait(asio::posix::descriptor_base::wait_read, std::move(self));
  }

 private:
  template <class Self>
  void fail_later(Self& self, const std::error_code& ec) {
    failed_ = true;
    failure_ = ec;
    asio::post(std::move(self));
  }

  template <class Self>
  void finish(Self& self, const std::error_code& ec, std::span<std::byte> record = {}) {
    if (owns_busy_) state_->busy = false;
    owns_busy_ = false;
    if constexpr (Submit) {
      (void)record;
      self.complete(ec);
    } else {
      self.complete(ec, record);
    }
  }

  std::shared_ptr<State> state_;
  std::size_t size_;
  std::span<const std::byte> copy_from_;
  std::error_code failure_;
  std::uint64_t generation_ = 0;
  bool started_ = false;
  bool failed_ = false;
  bool owns_busy_ = false;
};

}  // namespace detail

/// An Asio producer for a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF, kernel 6.1), which a BPF
/// program drains with bpf_user_ringbuf_drain().
///
/// Owns an ebpf::user_ring_buffer and an asio::posix::stream_descriptor over a dup() of its
/// epoll fd, readable when the kernel drained records. async_reserve / async_write wait for
/// room when the ring is full: backpressure from a slow program, without a thread or a poll
/// loop. Records are drained in reservation order.
///
/// Cancellation: cancel(), close(), destruction or the operation's cancellation slot (any
/// type) complete an outstanding reserve/write with asio::error::operation_aborted, and then
/// nothing was reserved or written.
///
/// Errors: operation_aborted, bad_descriptor (closed before the operation), already_started
/// (another reserve/write is outstanding), ebpf::errc::invalid_argument (the record is larger
/// than max_record_size(): it would never fit).
///
/// Thread-safety: distinct objects, safe; one object, unsafe: start operations, cancel() and
/// close() from one thread at a time (a strand), at most one async_reserve/async_write
/// outstanding. submit()/discard() of a reserved record may run on any thread (the core's rule).
template <class Executor = asio::any_io_executor, class Source = ebpf::user_ring_buffer>
class basic_user_ring_buffer {
  using state_type = detail::writer_state<Source, Executor>;

 public:
  using executor_type = Executor;
  using source_type = Source;

  template <class OtherExecutor>
  struct rebind_executor {
    using other = basic_user_ring_buffer<OtherExecutor, Source>;
  };

  /// A producer for `ring` (a user_ringbuf map; the object keeps its own fd).
  /// Throws: ebpf::error as ebpf::user_ring_buffer's constructor, or from dup().
  basic_user_ring_buffer(const executor_type& executor, const map& ring)
    requires std::is_constructible_v<Source, const map&>
      : state_(std::make_shared<state_type>(executor, Source(ring))) {}
  /// A producer over an existing user_ring_buffer, which it takes over.
  basic_user_ring_buffer(const executor_type& executor, Source&& source)
      : state_(std::make_shared<state_type>(executor, std::move(source))) {}
  /// The same, with the executor of an execution context (an asio::io_context).
  template <class Context, class... Args>
    requires std::is_convertible_v<Context&, asio::execution_context&> &&
             std::is_constructible_v<basic_user_ring_buffer, const executor_type&, Args&&...>
  basic_user_ring_buffer(Context& context, Args&&... args)
      : basic_user_ring_buffer(executor_type(context.get_executor()), std::forward<Args>(args)...) {}

  basic_user_ring_buffer(basic_user_ring_buffer&&) noexcept = default;
  basic_user_ring_buffer& operator=(basic_user_ring_buffer&& other) noexcept {
    if (this != &other) {
      if (state_) state_->close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ~basic_user_ring_buffer() {
    if (state_) state_->close();
  }

  executor_type get_executor() const noexcept { return state_->descriptor.get_executor(); }
  bool is_open() const noexcept { return state_ && state_->open(); }
  /// The core producer (free_bytes(), capacity(), sync reserve/write). Throws:
  /// errc::invalid_argument after close().
  source_type& source() {
    if (!is_open()) throw_error(errc::invalid_argument, "async user ring buffer: source: closed");
    return *state_->source;
  }

  /// Reserves a record of `size` bytes, waiting until the program has drained enough room.
  /// Write the record, then submit() or discard() it. Records reserved later wait behind it.
  /// Completion signature: void(std::error_code, std::span<std::byte>) (empty on error).
  /// Kernel 6.1.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_reserve(std::size_t size, Token&& token = asio::default_completion_token_t<executor_type>()) {
    return asio::async_compose<Token, void(std::error_code, std::span<std::byte>)>(
        detail::reserve_op<state_type, false>(state_, size, {}), token, state_->descriptor);
  }

  /// Copies `bytes` into a new record and submits it, waiting for room first. `bytes` must stay
  /// valid until the operation completes (they are copied when room is found).
  /// Completion signature: void(std::error_code). Kernel 6.1.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_write(std::span<const std::byte> bytes,
                   Token&& token = asio::default_completion_token_t<executor_type>()) {
    return asio::async_compose<Token, void(std::error_code)>(
        detail::reserve_op<state_type, true>(state_, bytes.size(), bytes), token, state_->descriptor);
  }
  /// async_write of a trivially copyable value, which must stay valid until completion.
  /// Completion signature: void(std::error_code). Kernel 6.1.
  template <class T, class Token = asio::default_completion_token_t<executor_type>>
    requires(std::is_trivially_copyable_v<T> && !std::is_convertible_v<const T&, std::span<const std::byte>>)
  auto async_write(const T& value, Token&& token = asio::default_completion_token_t<executor_type>()) {
    return async_write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(&value), sizeof(T)),
                       std::forward<Token>(token));
  }

  /// Hands a record from async_reserve to the kernel. Throws: as ebpf::user_ring_buffer::submit
  /// (errc::invalid_argument when `record` is not an outstanding reservation), or after close().
  void submit(std::span<std::byte> record) { source().submit(record); }
  /// Gives a reserved record back; the kernel skips it. Throws: as submit().
  void discard(std::span<std::byte> record) { source().discard(record); }

  /// Completes the outstanding reserve/write with operation_aborted (nothing reserved).
  void cancel() noexcept {
    if (!state_) return;
    ++state_->generation;
    std::error_code ignored;
    state_->descriptor.cancel(ignored);
  }
  /// Closes: the outstanding operation completes with operation_aborted, later ones with
  /// bad_descriptor; the ring is unmapped (records reserved and not submitted are lost to the
  /// kernel: it stops draining at them).
  void close() noexcept {
    if (state_) state_->close();
  }

 private:
  std::shared_ptr<state_type> state_;
};

/// The producer on Asio's type-erased executor.
using user_ring_buffer = basic_user_ring_buffer<>;

}  // namespace ebpf::async
