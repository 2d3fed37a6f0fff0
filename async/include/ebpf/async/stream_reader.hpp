// ebpfpp async: co_await a program's output stream (what it writes with bpf_stream_printk, and the
// kernel's own reports on BPF_STDERR), kernel 6.17.
//
//   ebpf::async::stream_reader out(co_await asio::this_coro::executor, object.program("worker"),
//                                  ebpf::program_stream::out);
//   for (;;) std::cout << co_await out.async_read_line(asio::use_awaitable) << '\n';
//
// A BPF stream has no readiness fd (BPF_PROG_STREAM_READ_BY_FD only copies out what is pending,
// and nothing signals new output), so the reader polls: it reads, and when nothing is pending it
// waits `poll_interval` on a timer before reading again. Reading is cheap (one syscall, no copy
// when empty); choose the interval for the latency you want.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <ebpf/error.hpp>
#include <ebpf/program.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace ebpf::async {

/// An Asio reader of one program stream (BPF_STDOUT or BPF_STDERR). Holds its own handle on the
/// program (a dup), so the program object may be destroyed; the stream lives as long as the
/// program is loaded.
///
/// Operations: async_read_some (whatever text is pending, at least one byte) and async_read_line
/// (one line without its '\n'). Text read past a line's end is kept for the next operation, so
/// mixing them loses nothing. At most one operation may be outstanding.
///
/// Cancellation: cancel(), close(), destruction, or a per-operation cancellation slot complete a
/// waiting operation with operation_aborted; text it had read stays buffered for the next one.
///
/// Errors: operation_aborted; bad_descriptor (closed); already_started (another operation is
/// outstanding); the errno of BPF_PROG_STREAM_READ_BY_FD (EINVAL before 6.17).
/// Thread-safety: like Asio's I/O objects: one reader, one thread (or strand) at a time.
template <class Executor = asio::any_io_executor>
class basic_stream_reader {
 public:
  using executor_type = Executor;

  /// Throws: ebpf::error from dup() of the program fd.
  basic_stream_reader(const executor_type& executor, const program& source, program_stream stream,
                      std::chrono::steady_clock::duration poll_interval = std::chrono::milliseconds(50))
      : state_(std::make_shared<state>(executor, source.dup(), stream, poll_interval)) {}
  basic_stream_reader(basic_stream_reader&&) noexcept = default;
  basic_stream_reader& operator=(basic_stream_reader&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  basic_stream_reader(const basic_stream_reader&) = delete;
  basic_stream_reader& operator=(const basic_stream_reader&) = delete;
  ~basic_stream_reader() { close(); }

  executor_type get_executor() const noexcept { return state_->timer.get_executor(); }
  bool is_open() const noexcept { return state_ && state_->source.has_value(); }

  /// Waits until the stream has output and delivers all of it that is pending (and any text a
  /// previous async_read_line left buffered). Completion signature: void(std::error_code,
  /// std::string); the string is never empty on success. Kernel 6.17.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_read_some(Token&& token = asio::default_completion_token_t<executor_type>()) {
    return asio::async_compose<Token, void(std::error_code, std::string)>(read_op(state_, false), token,
                                                                         state_->timer);
  }

  /// Waits for a complete line and delivers it without the '\n'. Completion signature:
  /// void(std::error_code, std::string). Kernel 6.17.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_read_line(Token&& token = asio::default_completion_token_t<executor_type>()) {
    return asio::async_compose<Token, void(std::error_code, std::string)>(read_op(state_, true), token,
                                                                         state_->timer);
  }

  /// Completes the outstanding operation with operation_aborted (buffered text is kept).
  void cancel() noexcept {
    if (!state_) return;
    ++state_->generation;
    state_->timer.cancel();
  }

  /// Cancels, and releases the program handle: later operations fail with bad_descriptor.
  void close() noexcept {
    if (!state_) return;
    cancel();
    state_->source.reset();
  }

 private:
  struct state {
    state(const executor_type& executor, program&& handle, program_stream which,
          std::chrono::steady_clock::duration interval)
        : timer(executor), source(std::move(handle)), stream(which), poll_interval(interval) {}
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, executor_type> timer;
    std::optional<program> source;
    program_stream stream;
    std::chrono::steady_clock::duration poll_interval;
    std::string pending;  // read from the kernel, not delivered yet
    std::uint64_t generation = 0;
    bool busy = false;
  };

  struct read_op {
    read_op(std::shared_ptr<state> shared, bool by_line) : s(std::move(shared)), line(by_line) {}

    std::shared_ptr<state> s;
    bool line;
    enum { starting, polling, done } phase = starting;
    std::uint64_t generation = 0;
    bool owns_busy = false;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}) {
      if (phase == starting) {
        phase = polling;
        if (!s->source) return finish_later(self, asio::error::bad_descriptor);
        if (s->busy) return finish_later(self, asio::error::already_started);
        s->busy = owns_busy = true;
        generation = s->generation;
        self.reset_cancellation_state(asio::enable_total_cancellation());
        return asio::post(s->timer.get_executor(), std::move(self));  // never complete inline
      }
      if (phase == done) return finish(self, failure);
      if (ec == asio::error::operation_aborted || self.get_cancellation_state().cancelled() != asio::cancellation_type::none ||
          generation != s->generation || !s->source) {
        return finish(self, asio::error::operation_aborted);
      }
      if (ec) return finish(self, ec);
      // Take what the kernel has, then see whether it makes a result.
      try {
        s->pending += s->source->read_stream(s->stream);
      } catch (const error& e) {
        return finish(self, e.code());
      }
      if (line) {
        if (auto newline = s->pending.find('\n'); newline != std::string::npos) {
          std::string result = s->pending.substr(0, newline);
          s->pending.erase(0, newline + 1);
          return finish(self, {}, std::move(result));
        }
      } else if (!s->pending.empty()) {
        return finish(self, {}, std::exchange(s->pending, std::string()));
      }
      s->timer.expires_after(s->poll_interval);
      s->timer.async_wait(std::move(self));
    }

    std::error_code failure;

    template <class Self>
    void finish_later(Self& self, std::error_code ec) {
      phase = done;
      failure = ec;
      asio::post(s->timer.get_executor(), std::move(self));
    }

    template <class Self>
    void finish(Self& self, std::error_code ec, std::string text = {}) {
      if (owns_busy) s->busy = false;
      owns_busy = false;
      self.complete(ec, std::move(text));
    }
  };

  std::shared_ptr<state> state_;
};

/// The reader on Asio's type-erased executor.
using stream_reader = basic_stream_reader<>;

}  // namespace ebpf::async
