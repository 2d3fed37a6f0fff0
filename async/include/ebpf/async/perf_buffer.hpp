// ebpfpp async: co_await records from a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4.4).
//
//   ebpf::async::perf_buffer events(co_await asio::this_coro::executor, object.map("events"));
//   for (;;) {
//     auto batch = co_await events.async_read_some(asio::use_awaitable);
//     if (batch.lost()) std::printf("lost %llu samples\n", (unsigned long long)batch.lost());
//     for (const exec_event& e : batch.as<exec_event>()) print(e);   // copies: see below
//   }
//
// Reads through ebpf::perf_buffer (include/ebpf/perf_buffer.hpp), which opens one perf event and
// ring per CPU and owns an epoll fd over them. The read loop and the cancellation guarantees are
// those of reader.hpp.
#pragma once

#include <ebpf/async/reader.hpp>
#include <ebpf/error.hpp>
#include <ebpf/perf_buffer.hpp>
#include <ebpf/ring.hpp>

#include <asio/execution_context.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>

namespace ebpf {
class map;
}

namespace ebpf::async {

namespace detail {

/// Perf sample data is padded by the kernel so that its size plus 4 is a multiple of 8: a
/// record of a T is sizeof(T) to sizeof(T) + 7 bytes.
template <class T>
constexpr bool fits_perf_sample(std::size_t size) noexcept {
  return size >= sizeof(T) && size - sizeof(T) < 8;
}

}  // namespace detail

/// One record of a perf buffer: ebpf::ring::perf_record, i.e. a sample's raw data (a view, valid
/// until the reader's next read operation starts) or a count of samples the kernel lost, and the
/// CPU of the ring either came from.
using perf_record = ring::perf_record;

/// The records one async_read_some delivered: samples and lost-sample counts in ring order
/// (CPU by CPU). Views valid until the reader's next read operation starts, or until it is
/// closed or destroyed.
class perf_batch {
 public:
  perf_batch() noexcept = default;
  explicit perf_batch(std::span<const perf_record> records) noexcept : records_(records) {}

  std::size_t size() const noexcept { return records_.size(); }
  bool empty() const noexcept { return records_.empty(); }
  const perf_record& operator[](std::size_t index) const noexcept { return records_[index]; }
  auto begin() const noexcept { return records_.begin(); }
  auto end() const noexcept { return records_.end(); }
  std::span<const perf_record> records() const noexcept { return records_; }
  /// Samples the kernel reported lost in this batch (the sum over its lost records).
  std::uint64_t lost() const noexcept {
    std::uint64_t total = 0;
    for (const auto& record : records_) total += record.lost;
    return total;
  }
  /// The number of samples (records that are not lost-sample counts).
  std::size_t samples() const noexcept {
    std::size_t total = 0;
    for (const auto& record : records_) total += record.is_lost() ? 0 : 1;
    return total;
  }

  /// The samples copied out as T, skipping lost records: a range of T values. A copy because
  /// perf sample data is only 4-byte aligned in the ring (it follows a 12-byte header).
  template <class T>
  class typed_range {
   public:
    class iterator {
     public:
      using iterator_category = std::forward_iterator_tag;
      using value_type = T;
      using difference_type = std::ptrdiff_t;
      using reference = T;
      using pointer = void;
      iterator() = default;
      iterator(const perf_record* at, const perf_record* end) noexcept : at_(at), end_(end) { skip(); }
      T operator*() const noexcept {
        T value;
        std::memcpy(static_cast<void*>(&value), at_->data.data(), sizeof(T));
        return value;
      }
      iterator& operator++() noexcept {
        ++at_;
        skip();
        return *this;
      }
      iterator operator++(int) noexcept {
        iterator copy = *this;
        ++*this;
        return copy;
      }
      friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.at_ == b.at_; }

     private:
      void skip() noexcept {
        while (at_ != end_ && at_->is_lost()) ++at_;
      }
      const perf_record* at_ = nullptr;
      const perf_record* end_ = nullptr;
    };
    explicit typed_range(std::span<const perf_record> records) noexcept : records_(records) {}
    iterator begin() const noexcept { return {records_.data(), records_.data() + records_.size()}; }
    iterator end() const noexcept {
      return {records_.data() + records_.size(), records_.data() + records_.size()};
    }

   private:
    std::span<const perf_record> records_;
  };

  /// The samples as T values (lost records skipped).
  /// Throws: ebpf::error(errc::type_mismatch) naming the first sample whose size is not
  /// sizeof(T) plus the kernel's padding (0 to 7 bytes), checked before anything is read.
  template <class T>
  typed_range<T> as() const {
    static_assert(std::is_trivially_copyable_v<T>, "a record type must be trivially copyable");
    for (std::size_t i = 0; i < records_.size(); ++i) {
      const auto& record = records_[i];
      if (!record.is_lost() && !detail::fits_perf_sample<T>(record.data.size())) {
        throw_error(errc::type_mismatch,
                    "perf buffer: record " + std::to_string(i) + " of the batch (CPU " +
                        std::to_string(record.cpu) + ") is " + std::to_string(record.data.size()) +
                        " bytes, the record type is " + std::to_string(sizeof(T)) + " bytes");
      }
    }
    return typed_range<T>(records_);
  }

 private:
  std::span<const perf_record> records_;
};

/// A typed perf sample: the value and the CPU it came from.
template <class T>
struct perf_sample {
  T value{};
  std::uint32_t cpu = 0;
};

namespace detail {

/// How a perf reader fills its batch array from a source with ebpf::perf_buffer's interface:
/// read_batch(out), commit(), prepare_wait(), corrupt(), fd().
template <class Source>
struct perf_traits {
  using source_type = Source;
  using record_type = perf_record;
  struct extra_type {};

  static void prepare(Source&, extra_type&, std::vector<record_type>&) {}
  static std::size_t read(Source& source, std::span<record_type> out, extra_type&) noexcept {
    return source.read_batch(out);
  }
  static std::error_code error(const Source& source) noexcept {
    return source.corrupt() ? std::make_error_code(std::errc::bad_message) : std::error_code{};
  }
  template <class State>
  static bool pending(const State& state) noexcept {
    return state.next < state.count;
  }
  template <class State>
  static void settle(Source&, State&) noexcept {}  // read_batch moved the read position already
};

}  // namespace detail

/// An Asio reader of a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY, kernel 4.4) that
/// programs write to with bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU, ...).
///
/// Owns an ebpf::perf_buffer (one PERF_COUNT_SW_BPF_OUTPUT event and ring per CPU, and an epoll
/// fd over them) and an asio::posix::stream_descriptor over a dup() of that epoll fd. Records
/// carry their CPU; when a ring was full the kernel dropped samples and reports how many in a
/// lost record (perf_record::lost, perf_batch::lost(), source().lost() for the total).
/// Records of one CPU are in order; records of different CPUs are not ordered with each other.
///
/// Wakeups follow perf_buffer_options: every wakeup_events samples (1 by default), or at a
/// watermark (fewer wakeups under load; records below it wait for more, or for the next read
/// that starts while they are there).
///
/// Lifetimes, cancellation, errors and thread-safety: as ebpf::async::ring_buffer (the same
/// machinery, reader.hpp). A sample that wrapped around its ring's end is a view into the
/// ring's scratch copy, with the same lifetime as the others.
template <class Executor = asio::any_io_executor, class Source = ebpf::perf_buffer>
class basic_perf_buffer : public detail::reader_base<detail::perf_traits<Source>, Executor> {
  using base = detail::reader_base<detail::perf_traits<Source>, Executor>;
  static constexpr const char* subject = "async perf buffer";

 public:
  using executor_type = Executor;
  using source_type = Source;

  template <class OtherExecutor>
  struct rebind_executor {
    using other = basic_perf_buffer<OtherExecutor, Source>;
  };

  /// A reader of `events` (a perf_event_array map; the reader keeps its own fds).
  /// Throws: ebpf::error as ebpf::perf_buffer's constructor (errc::type_mismatch;
  /// perf_event_open / mmap errnos, EPERM without CAP_PERFMON), or from dup().
  basic_perf_buffer(const executor_type& executor, const map& events,
                    const perf_buffer_options& options = {},
                    std::size_t batch_size = default_batch_size)
    requires std::is_constructible_v<Source, const map&, const perf_buffer_options&>
      : base(executor, Source(events, options), batch_size, subject) {}
  /// A reader of an existing perf_buffer, which it takes over.
  basic_perf_buffer(const executor_type& executor, Source&& source,
                    std::size_t batch_size = default_batch_size)
      : base(executor, std::move(source), batch_size, subject) {}
  /// The same, with the executor of an execution context (an asio::io_context).
  template <class Context, class... Args>
    requires std::is_convertible_v<Context&, asio::execution_context&> &&
             std::is_constructible_v<basic_perf_buffer, const executor_type&, Args&&...>
  basic_perf_buffer(Context& context, Args&&... args)
      : basic_perf_buffer(executor_type(context.get_executor()), std::forward<Args>(args)...) {}

  /// Waits until a record can be read. Completion signature: void(std::error_code). Kernel 4.4.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_wait(Token&& token = asio::default_completion_token_t<executor_type>()) {
    return detail::start_read<void(std::error_code)>(this->state_, detail::wait_mode{},
                                                     std::forward<Token>(token));
  }

  /// Receives one record: a sample or a lost-sample count, with its CPU.
  /// Completion signature: void(std::error_code, ebpf::async::perf_record). Kernel 4.4.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_receive(Token&& token = asio::default_completion_token_t<executor_type>()) {
    auto take = [](auto& state, perf_record& out, std::error_code&) noexcept {
      out = state.records[state.next++];
      return true;
    };
    return detail::start_read<void(std::error_code, perf_record)>(
        this->state_, detail::take_mode<perf_record, decltype(take)>{take}, std::forward<Token>(token));
  }

  /// Receives the next sample copied into a T, with its CPU; lost records are skipped (they
  /// are counted in source().lost()). A sample whose size is not sizeof(T) plus the kernel's
  /// padding (0 to 7 bytes) is consumed and completes with ebpf::errc::type_mismatch.
  /// Completion signature: void(std::error_code, ebpf::async::perf_sample<T>). Kernel 4.4.
  template <class T, class Token = asio::default_completion_token_t<executor_type>>
  auto async_receive(Token&& token = asio::default_completion_token_t<executor_type>()) {
    static_assert(std::is_trivially_copyable_v<T> && std::is_default_constructible_v<T>,
                  "async_receive<T>: T must be trivially copyable and default constructible");
    auto take = [](auto& state, perf_sample<T>& out, std::error_code& ec) noexcept {
      const perf_record& record = state.records[state.next++];
      if (record.is_lost()) return false;  // read on
      out.cpu = record.cpu;
      if (!detail::fits_perf_sample<T>(record.data.size())) {
        ec = make_error_code(errc::type_mismatch);
      } else {
        std::memcpy(static_cast<void*>(&out.value), record.data.data(), sizeof(T));
      }
      return true;
    };
    return detail::start_read<void(std::error_code, perf_sample<T>)>(
        this->state_, detail::take_mode<perf_sample<T>, decltype(take)>{take},
        std::forward<Token>(token));
  }

  /// Receives every record that is ready (at most batch_size()), waiting for the first one.
  /// Completion signature: void(std::error_code, ebpf::async::perf_batch); never empty on
  /// success. Kernel 4.4.
  template <class Token = asio::default_completion_token_t<executor_type>>
  auto async_read_some(Token&& token = asio::default_completion_token_t<executor_type>()) {
    auto take = [](auto& state, perf_batch& out, std::error_code&) noexcept {
      out = perf_batch(std::span<const perf_record>(state.records).subspan(state.next, state.count - state.next));
      state.next = state.count;
      return true;
    };
    return detail::start_read<void(std::error_code, perf_batch)>(
        this->state_, detail::take_mode<perf_batch, decltype(take)>{take}, std::forward<Token>(token));
  }
  /// Reads the records that are ready now (at most batch_size()) without waiting: an empty
  /// batch when there are none. The same views and commit rule as async_read_some.
  /// Throws: errc::invalid_argument when the reader is closed or a read operation is
  /// outstanding; ebpf::error(EBADMSG) when a ring's memory is inconsistent. Kernel 4.4.
  perf_batch try_read_some() {
    auto& state = this->read_ready(subject);
    perf_batch out(std::span<const perf_record>(state.records).subspan(state.next, state.count - state.next));
    state.next = state.count;
    return out;
  }
};

/// The reader on Asio's type-erased executor.
using perf_buffer = basic_perf_buffer<>;

}  // namespace ebpf::async
