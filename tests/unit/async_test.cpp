// The Asio mechanics of ebpf::async readers, over fake sources: an eventfd stands for the ring's
// readiness fd, and heap memory laid out like a BPF ring buffer (read by the real
// ebpf::ring::ringbuf_consumer) or a deque of byte vectors stands for the ring. The fake
// behaves like the kernel where it
// matters here: it wakes the fd only when the consumer has caught up (so a reader that sleeps
// without draining hangs), and it overwrites records once their position is committed (so a
// reader that commits too early delivers poisoned bytes).
#include <ebpf/async/perf_buffer.hpp>
#include <ebpf/async/ring_buffer.hpp>
#include <ebpf/async/user_ring_buffer.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

constexpr std::byte poison{0xee};

// The shared state of a fake ring buffer set: what the test produces and what the reader's
// source consumes, in memory laid out as the kernel maps a BPF ring buffer (positions, data
// mapped twice: here written twice), read by the real ebpf::ring::ringbuf_consumer. Locked, so a
// producer thread can race the reader.
struct fake_rings {
  static constexpr std::uint64_t capacity = 1 << 16;
  struct ring {
    ring() : data(2 * capacity), consumer(&consumer_pos, &producer_pos, data) {}
    std::uint64_t consumer_pos = 0;  // the published position
    std::uint64_t producer_pos = 0;
    std::vector<std::byte> data;
    ebpf::ring::ringbuf_consumer consumer;

    // Writes `bytes` at `position` of the data, in both copies.
    void write(std::uint64_t position, std::span<const std::byte> bytes) {
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        const std::uint64_t at = (position + i) & (capacity - 1);
        data[at] = data[at + capacity] = bytes[i];
      }
    }
  };

  explicit fake_rings(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) rings.push_back(std::make_unique<ring>());
    event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  ~fake_rings() { ::close(event); }

  // Appends a record to ring `index` (header, data, padding, as __bpf_ringbuf_reserve lays it
  // out); wakes the fd when the consumer had caught up with the committed position (as
  // bpf_ringbuf_commit does), unless `signal` is false.
  void produce(std::vector<std::byte> bytes, std::size_t index = 0, bool signal = true) {
    std::lock_guard lock(mutex);
    ring& r = *rings[index];
    const bool caught_up = r.consumer_pos == r.producer_pos;
    const std::uint64_t footprint = ebpf::ring::record_footprint(bytes.size());
    EXPECT_LE(r.producer_pos + footprint - r.consumer_pos, capacity) << "the fake ring is full";
    const auto len = static_cast<std::uint32_t>(bytes.size());
    std::byte header[ebpf::ring::header_size]{};
    std::memcpy(header, &len, sizeof len);
    r.write(r.producer_pos, header);
    r.write(r.producer_pos + ebpf::ring::header_size, bytes);
    r.producer_pos += footprint;
    if (caught_up && signal) wake();
  }
  void produce_u32(std::uint32_t value, std::size_t index = 0) {
    std::vector<std::byte> bytes(sizeof value);
    std::memcpy(bytes.data(), &value, sizeof value);
    produce(std::move(bytes), index);
  }
  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event, &one, sizeof one);
  }

  std::mutex mutex;
  std::vector<std::unique_ptr<ring>> rings;
  int event = -1;
  std::size_t commits = 0;  // commit() calls that moved a position
  bool corrupt = false;
};

// The source: ebpf::ring_buffer's interface over fake_rings.
class fake_ring_source {
 public:
  explicit fake_ring_source(std::shared_ptr<fake_rings> rings) : rings_(std::move(rings)) {}

  int fd() const noexcept { return rings_->event; }
  std::size_t size() const noexcept { return rings_->rings.size(); }
  ebpf::ring::record_window window(std::size_t index) noexcept {
    std::lock_guard lock(rings_->mutex);
    return rings_->rings[index]->consumer.window();
  }
  void advance_to(std::size_t index, std::uint64_t position, std::uint64_t records, std::uint64_t bytes,
                  std::uint64_t discarded, ebpf::ring::read_state stopped_by) noexcept {
    std::lock_guard lock(rings_->mutex);
    rings_->rings[index]->consumer.advance_to(position, records, bytes, discarded, stopped_by);
  }
  void commit() noexcept {
    std::lock_guard lock(rings_->mutex);
    commit_locked();
  }
  bool prepare_wait() noexcept {
    std::lock_guard lock(rings_->mutex);
    commit_locked();
    std::uint64_t counter;
    [[maybe_unused]] auto n = ::read(rings_->event, &counter, sizeof counter);  // reset readiness
    for (auto& r : rings_->rings)
      if (r->consumer.read_position() != r->producer_pos) return true;
    return false;
  }
  bool corrupt() const noexcept { return rings_->corrupt; }

 private:
  void commit_locked() {
    bool moved = false;
    for (auto& r : rings_->rings) {
      const std::uint64_t from = r->consumer_pos;
      r->consumer.commit();
      // The kernel may reuse committed space: poison it.
      const std::vector<std::byte> poisoned(r->consumer_pos - from, poison);
      r->write(from, poisoned);
      moved = moved || r->consumer_pos != from;
    }
    if (moved) ++rings_->commits;
  }

  std::shared_ptr<fake_rings> rings_;
};

using fake_reader = ebpf::async::basic_ring_buffer<asio::any_io_executor, fake_ring_source>;

std::uint32_t as_u32(std::span<const std::byte> bytes) {
  std::uint32_t value = 0;
  if (bytes.size() == sizeof value) std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

// gtest's ASSERT_* return void, which a coroutine cannot: fail and co_return instead.
#define CO_ASSERT_EQ(a, b)     \
  do {                         \
    EXPECT_EQ(a, b);           \
    if (!((a) == (b))) co_return; \
  } while (false)

// Runs a coroutine on `io` to completion and rethrows what it threw.
template <class Awaitable>
void run(asio::io_context& io, Awaitable&& coroutine) {
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, std::forward<Awaitable>(coroutine), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  io.run();
  io.restart();
  ASSERT_TRUE(done) << "the coroutine did not finish";
  if (failure) std::rethrow_exception(failure);
}

class AsyncReaderTest : public ::testing::Test {
 protected:
  asio::io_context io;
  std::shared_ptr<fake_rings> rings = std::make_shared<fake_rings>(1);
};

TEST_F(AsyncReaderTest, ReceivesRecordsInOrder) {
  fake_reader reader(io, fake_ring_source(rings));
  for (std::uint32_t i = 1; i <= 3; ++i) rings->produce_u32(i);
  run(io, [&]() -> asio::awaitable<void> {
    for (std::uint32_t i = 1; i <= 3; ++i) {
      auto record = co_await reader.async_receive(asio::use_awaitable);
      EXPECT_EQ(as_u32(record.data), i);
      EXPECT_EQ(record.ring, 0u);
    }
  }());
}

TEST_F(AsyncReaderTest, WaitsUntilTheProducerWakesIt) {
  fake_reader reader(io, fake_ring_source(rings));
  asio::steady_timer later(io, 20ms);
  later.async_wait([&](std::error_code) { rings->produce_u32(42); });
  const auto start = std::chrono::steady_clock::now();
  run(io, [&]() -> asio::awaitable<void> {
    auto record = co_await reader.async_receive(asio::use_awaitable);
    EXPECT_EQ(as_u32(record.data), 42u);
  }());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 15ms);
}

TEST_F(AsyncReaderTest, DrainsBeforeWaitingSoAnUnsignalledRecordIsRead) {
  // A record is there but the fd was never signalled (the kernel does not signal a consumer
  // that is behind): a reader that waited first would hang.
  rings->produce({std::byte{7}, std::byte{0}, std::byte{0}, std::byte{0}}, 0, /*signal=*/false);
  fake_reader reader(io, fake_ring_source(rings));
  run(io, [&]() -> asio::awaitable<void> {
    auto record = co_await reader.async_receive(asio::use_awaitable);
    EXPECT_EQ(as_u32(record.data), 7u);
  }());
}

TEST_F(AsyncReaderTest, ReadSomeDeliversEverythingReadyAndCommitsOncePerBatch) {
  fake_reader reader(io, fake_ring_source(rings), 4);
  for (std::uint32_t i = 0; i < 10; ++i) rings->produce_u32(i);
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<std::size_t> sizes;
    std::uint32_t expected = 0;
    for (int batch_number = 0; batch_number < 3; ++batch_number) {
      auto batch = co_await reader.async_read_some(asio::use_awaitable);
      // Nothing of this batch is committed while the caller looks at it.
      EXPECT_EQ(rings->commits, static_cast<std::size_t>(batch_number));
      sizes.push_back(batch.size());
      for (std::uint32_t value : batch.as<std::uint32_t>()) EXPECT_EQ(value, expected++);
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2}));
  }());
  EXPECT_EQ(reader.batch_size(), 4u);
}

TEST_F(AsyncReaderTest, BatchIsWalkedInPlaceAndAPartlyIteratedBatchLosesNothing) {
  // Two rings, discarded records among the others, a batch of at most 5.
  rings = std::make_shared<fake_rings>(2);
  fake_reader reader(io, fake_ring_source(rings), 5);
  for (std::uint32_t i = 0; i < 4; ++i) rings->produce_u32(i, 0);
  {
    // A discarded record (the DISCARD bit in its header) between 103 and 104.
    rings->produce_u32(103, 1);
    std::lock_guard lock(rings->mutex);
    auto& r = *rings->rings[1];
    const std::uint32_t len = 4 | ebpf::ring::discard_bit;
    std::byte header[ebpf::ring::header_size]{};
    std::memcpy(header, &len, sizeof len);
    r.write(r.producer_pos, header);
    r.producer_pos += ebpf::ring::record_footprint(4);
  }
  rings->produce_u32(104, 1);
  run(io, [&]() -> asio::awaitable<void> {
    auto batch = co_await reader.async_read_some(asio::use_awaitable);
    // Ring 0's four, then one of ring 1's: the batch size bounds the walk across rings.
    std::vector<std::uint32_t> first_walk;
    for (auto record : batch) {
      first_walk.push_back(as_u32(record.data));
      if (first_walk.size() == 2) break;  // a loop that stops early
    }
    EXPECT_EQ(batch.size(), 5u);
    EXPECT_EQ(batch.bytes(), 20u);
    CO_ASSERT_EQ(batch.views().size(), 5u);
    EXPECT_EQ(as_u32(batch[4].data), 103u);
    EXPECT_EQ(batch[4].ring, 1u);
    EXPECT_EQ(batch.ring_of(3), 0u);
    std::vector<std::uint32_t> second_walk;
    for (auto record : batch) second_walk.push_back(as_u32(record.data));
    EXPECT_EQ(second_walk, (std::vector<std::uint32_t>{0, 1, 2, 3, 103}));
    std::vector<std::uint32_t> visited;
    EXPECT_EQ(batch.for_each([&](const ebpf::async::ring_record& r) { visited.push_back(as_u32(r.data)); }), 5u);
    EXPECT_EQ(visited, second_walk);
    std::size_t rings_seen = 0;
    EXPECT_EQ(batch.for_each([&](const ebpf::async::ring_record& r) { return r.ring == 0 && ++rings_seen < 2; }), 2u);
    // The rest comes next, skipping the discarded record; nothing twice.
    auto rest = co_await reader.async_read_some(asio::use_awaitable);
    CO_ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(as_u32((*rest.begin()).data), 104u);
    EXPECT_EQ(rest[0].ring, 1u);
  }());
  EXPECT_TRUE(reader.commit());
  EXPECT_EQ(reader.source().size(), 2u);
}

TEST_F(AsyncReaderTest, TryReadSomeTakesWhatIsReadyWithoutWaiting) {
  fake_reader reader(io, fake_ring_source(rings), 4);
  EXPECT_TRUE(reader.try_read_some().empty());
  for (std::uint32_t i = 0; i < 6; ++i) rings->produce_u32(i);
  std::vector<std::uint32_t> seen;
  for (auto batch = reader.try_read_some(); !batch.empty(); batch = reader.try_read_some())
    for (std::uint32_t value : batch.as<std::uint32_t>()) seen.push_back(value);
  EXPECT_EQ(seen, (std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(rings->commits, 2u);  // once per batch: the first when the second was read
  // A read operation in flight owns the batch array: a synchronous read is refused.
  bool delivered = false;
  reader.async_receive([&](std::error_code ec, ebpf::async::ring_record record) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(as_u32(record.data), 6u);
    delivered = true;
  });
  EXPECT_THROW(reader.try_read_some(), ebpf::error);
  rings->produce_u32(6);
  io.run();
  EXPECT_TRUE(delivered);
  reader.close();
  try {
    reader.try_read_some();
    ADD_FAILURE() << "try_read_some on a closed reader did not throw";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
  }
}

TEST_F(AsyncReaderTest, TryReadSomeDeliversWhatACancelledOperationHadReadFirst) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(1);
  rings->produce_u32(2);
  std::error_code result;
  reader.async_read_some([&](std::error_code ec, ebpf::async::ring_batch) { result = ec; });
  reader.cancel();  // the operation had read both records into the array, then was posted
  io.run();
  EXPECT_EQ(result, asio::error::operation_aborted);
  auto batch = reader.try_read_some();
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(as_u32(batch[0].data), 1u);
  EXPECT_EQ(as_u32(batch[1].data), 2u);
}

TEST_F(AsyncReaderTest, ViewsStayValidUntilTheNextReadStarts) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(0x11111111);
  rings->produce_u32(0x22222222);
  run(io, [&]() -> asio::awaitable<void> {
    auto first = co_await reader.async_read_some(asio::use_awaitable);
    CO_ASSERT_EQ(first.size(), 2u);
    auto view = first[0].data;
    rings->produce_u32(0x33333333);
    EXPECT_EQ(as_u32(view), 0x11111111u);  // not committed yet: intact
    auto second = co_await reader.async_read_some(asio::use_awaitable);
    CO_ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(as_u32(second[0].data), 0x33333333u);
    EXPECT_EQ(view[0], poison);  // committed when the second read started: the kernel reuses it
  }());
}

TEST_F(AsyncReaderTest, CallbacksWork) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(5);
  std::vector<std::uint32_t> seen;
  std::function<void(std::error_code, ebpf::async::ring_batch)> on_batch =
      [&](std::error_code ec, ebpf::async::ring_batch batch) {
        ASSERT_FALSE(ec) << ec.message();
        for (auto record : batch) seen.push_back(as_u32(record.data));
        if (seen.size() < 3) reader.async_read_some(on_batch);
      };
  reader.async_read_some(on_batch);
  asio::post(io, [&] {
    rings->produce_u32(6);
    rings->produce_u32(7);
  });
  io.run();
  EXPECT_EQ(seen, (std::vector<std::uint32_t>{5, 6, 7}));
}

TEST_F(AsyncReaderTest, HandlerIsNeverCalledFromTheInitiatingFunction) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(1);
  bool called = false;
  reader.async_receive([&](std::error_code, ebpf::async::ring_record) { called = true; });
  EXPECT_FALSE(called);
  io.run();
  EXPECT_TRUE(called);
}

TEST_F(AsyncReaderTest, RedirectErrorAndAsTupleReportErrorsWithoutThrowing) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(9);
  run(io, [&]() -> asio::awaitable<void> {
    std::error_code ec;
    auto record = co_await reader.async_receive(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_FALSE(ec);
    EXPECT_EQ(as_u32(record.data), 9u);
    reader.close();
    auto [closed_ec, batch] =
        co_await reader.async_read_some(asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(closed_ec, asio::error::bad_descriptor);
    EXPECT_TRUE(batch.empty());
    co_await reader.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(ec, asio::error::bad_descriptor);
  }());
}

TEST_F(AsyncReaderTest, TypedReceiveChecksTheSize) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(77);
  rings->produce({std::byte{1}, std::byte{2}});  // 2 bytes: not a u32
  rings->produce_u32(78);
  run(io, [&]() -> asio::awaitable<void> {
    EXPECT_EQ(co_await reader.async_receive<std::uint32_t>(asio::use_awaitable), 77u);
    auto [ec, value] =
        co_await reader.async_receive<std::uint32_t>(asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(ec, ebpf::errc::type_mismatch);
    EXPECT_EQ(value, 0u);
    EXPECT_EQ(co_await reader.async_receive<std::uint32_t>(asio::use_awaitable), 78u);
  }());
}

TEST_F(AsyncReaderTest, BatchAsThrowsOnAWrongSize) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(1);
  rings->produce({std::byte{1}});
  run(io, [&]() -> asio::awaitable<void> {
    auto batch = co_await reader.async_read_some(asio::use_awaitable);
    CO_ASSERT_EQ(batch.size(), 2u);
    EXPECT_THROW(batch.as<std::uint32_t>(), ebpf::error);
    try {
      batch.as<std::uint32_t>();
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
      EXPECT_STREQ(e.what(), "ring buffer: record 1 of the batch is 1 bytes, the record type is 4 bytes");
    }
  }());
}

TEST_F(AsyncReaderTest, CancellationSlotAbortsAWaitingReadAndLosesNothing) {
  fake_reader reader(io, fake_ring_source(rings));
  asio::cancellation_signal cancel;
  std::error_code result;
  reader.async_read_some(asio::bind_cancellation_slot(
      cancel.slot(), [&](std::error_code ec, ebpf::async::ring_batch) { result = ec; }));
  asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
  io.run();
  io.restart();
  EXPECT_EQ(result, asio::error::operation_aborted);
  // The reader is still usable.
  rings->produce_u32(3);
  run(io, [&]() -> asio::awaitable<void> {
    auto record = co_await reader.async_receive(asio::use_awaitable);
    EXPECT_EQ(as_u32(record.data), 3u);
  }());
}

TEST_F(AsyncReaderTest, CancellationAfterTheRecordsWereReadKeepsThemForTheNextRead) {
  // Records are ready at initiation: the operation reads them and posts itself. A cancellation
  // that arrives before it resumes aborts it, and the next read delivers those same records.
  fake_reader reader(io, fake_ring_source(rings));
  for (std::uint32_t i = 0; i < 5; ++i) rings->produce_u32(i);
  asio::cancellation_signal cancel;
  std::error_code result;
  std::size_t delivered = 0;
  reader.async_read_some(asio::bind_cancellation_slot(
      cancel.slot(), [&](std::error_code ec, ebpf::async::ring_batch batch) {
        result = ec;
        delivered = batch.size();
      }));
  cancel.emit(asio::cancellation_type::partial);  // any type: the operation has no side effect
  io.run();
  io.restart();
  EXPECT_EQ(result, asio::error::operation_aborted);
  EXPECT_EQ(delivered, 0u);
  run(io, [&]() -> asio::awaitable<void> {
    auto batch = co_await reader.async_read_some(asio::use_awaitable);
    CO_ASSERT_EQ(batch.size(), 5u);
    std::uint32_t expected = 0;
    for (std::uint32_t value : batch.as<std::uint32_t>()) EXPECT_EQ(value, expected++);
  }());
}

TEST_F(AsyncReaderTest, CancelAbortsBothWaitingAndPostedOperations) {
  fake_reader reader(io, fake_ring_source(rings));
  std::vector<std::error_code> results;
  reader.async_wait([&](std::error_code ec) { results.push_back(ec); });  // waits on the fd
  asio::post(io, [&] { reader.cancel(); });
  io.run();
  io.restart();
  rings->produce_u32(1);
  reader.async_wait([&](std::error_code ec) { results.push_back(ec); });  // ready: posted
  reader.cancel();
  io.run();
  io.restart();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], asio::error::operation_aborted);
  EXPECT_EQ(results[1], asio::error::operation_aborted);
  // cancel() with nothing outstanding does not affect the next operation.
  reader.cancel();
  reader.async_wait([&](std::error_code ec) { results.push_back(ec); });
  io.run();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[2]);
}

TEST_F(AsyncReaderTest, TimerRacingEveryReadLosesAndDuplicatesNothing) {
  // A producer thread writes 5000 numbered records at an uneven pace; the consumer races every
  // read against a short timer with awaitable operators. Every record must arrive exactly once,
  // in order, however the races fall.
  fake_reader reader(io, fake_ring_source(rings), 16);
  constexpr std::uint32_t total = 5000;
  std::atomic<std::size_t> timeouts{0};
  std::thread producer([&] {
    std::minstd_rand random(1);
    for (std::uint32_t i = 0; i < total; ++i) {
      // Every 500 records, wait until the consumer's timer has won a race, so timeouts happen
      // mid-stream however fast or slow (sanitizers, a loaded machine) either side runs.
      if (i % 500 == 0)
        for (std::size_t seen = timeouts.load(); timeouts.load() == seen;) std::this_thread::sleep_for(std::chrono::microseconds(20));
      rings->produce_u32(i);
      if (random() % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(random() % 300));
    }
  });
  std::uint32_t next = 0;
  run(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (next < total) {
      timer.expires_after(std::chrono::microseconds(50 + next % 200));
      auto outcome = co_await (reader.async_read_some(asio::use_awaitable) ||
                               timer.async_wait(asio::use_awaitable));
      if (outcome.index() == 1) {
        ++timeouts;
        continue;
      }
      for (std::uint32_t value : std::get<0>(outcome).as<std::uint32_t>()) {
        if (value != next) throw std::runtime_error("got " + std::to_string(value) + ", expected " + std::to_string(next));
        ++next;
      }
    }
  }());
  producer.join();
  EXPECT_EQ(next, total);
  EXPECT_GE(timeouts.load(), total / 500) << "the timer won at least the races the producer waited for";
}

TEST_F(AsyncReaderTest, CloseWhileWaitingAbortsAndLaterOperationsFail) {
  fake_reader reader(io, fake_ring_source(rings));
  std::vector<std::error_code> results;
  reader.async_receive([&](std::error_code ec, ebpf::async::ring_record) { results.push_back(ec); });
  asio::post(io, [&] { reader.close(); });
  io.run();
  io.restart();
  EXPECT_FALSE(reader.is_open());
  reader.async_receive([&](std::error_code ec, ebpf::async::ring_record) { results.push_back(ec); });
  io.run();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], asio::error::operation_aborted);
  EXPECT_EQ(results[1], asio::error::bad_descriptor);
  EXPECT_THROW(reader.source(), ebpf::error);
}

TEST_F(AsyncReaderTest, CloseWhilePostedAborts) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->produce_u32(1);
  std::error_code result;
  reader.async_receive([&](std::error_code ec, ebpf::async::ring_record) { result = ec; });
  reader.close();
  io.run();
  EXPECT_EQ(result, asio::error::operation_aborted);
}

TEST_F(AsyncReaderTest, ReaderDestroyedWhileWaitingCompletesTheOperation) {
  auto reader = std::make_unique<fake_reader>(io, fake_ring_source(rings));
  std::error_code result;
  bool called = false;
  reader->async_read_some([&](std::error_code ec, ebpf::async::ring_batch) {
    result = ec;
    called = true;
  });
  asio::post(io, [&] { reader.reset(); });
  io.run();
  EXPECT_TRUE(called);
  EXPECT_EQ(result, asio::error::operation_aborted);
}

TEST_F(AsyncReaderTest, ReaderDestroyedInsideItsOwnHandler) {
  auto reader = std::make_unique<fake_reader>(io, fake_ring_source(rings));
  rings->produce_u32(1);
  bool called = false;
  reader->async_receive([&](std::error_code ec, ebpf::async::ring_record record) {
    EXPECT_FALSE(ec);
    EXPECT_EQ(as_u32(record.data), 1u);
    reader.reset();
    called = true;
  });
  io.run();
  EXPECT_TRUE(called);
}

TEST_F(AsyncReaderTest, IoContextDestroyedWithAnOperationOutstanding) {
  // The handler (and the reader state it keeps alive) is destroyed with the io_context.
  auto context = std::make_unique<asio::io_context>();
  {
    fake_reader reader(*context, fake_ring_source(rings));
    reader.async_wait([](std::error_code) {});
    context->poll();
  }
  context.reset();
  SUCCEED();
}

TEST_F(AsyncReaderTest, SecondConcurrentReadFailsWithAlreadyStarted) {
  fake_reader reader(io, fake_ring_source(rings));
  std::vector<std::error_code> results;
  reader.async_receive([&](std::error_code ec, ebpf::async::ring_record) { results.push_back(ec); });
  reader.async_read_some([&](std::error_code ec, ebpf::async::ring_batch) { results.push_back(ec); });
  asio::post(io, [&] { rings->produce_u32(1); });
  io.run();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], asio::error::already_started);
  EXPECT_FALSE(results[1]);
}

TEST_F(AsyncReaderTest, CorruptSourceCompletesWithBadMessage) {
  fake_reader reader(io, fake_ring_source(rings));
  rings->corrupt = true;
  rings->wake();
  std::error_code result;
  reader.async_read_some([&](std::error_code ec, ebpf::async::ring_batch) { result = ec; });
  io.run();
  EXPECT_EQ(result, std::errc::bad_message);
}

TEST_F(AsyncReaderTest, SeveralRingsInOneReaderKeepTheirIndexAndTakeTurns) {
  rings = std::make_shared<fake_rings>(3);
  fake_reader reader(io, fake_ring_source(rings), 4);
  for (std::uint32_t i = 0; i < 6; ++i) {
    rings->produce_u32(100 + i, 0);
    rings->produce_u32(200 + i, 1);
  }
  rings->produce_u32(300, 2);
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<std::vector<std::uint32_t>> per_ring(3);
    std::vector<std::size_t> first_ring_of_batch;
    while (per_ring[0].size() + per_ring[1].size() + per_ring[2].size() < 13) {
      auto batch = co_await reader.async_read_some(asio::use_awaitable);
      first_ring_of_batch.push_back(batch[0].ring);
      for (auto record : batch) per_ring[record.ring].push_back(as_u32(record.data));
    }
    EXPECT_EQ(per_ring[0], (std::vector<std::uint32_t>{100, 101, 102, 103, 104, 105}));
    EXPECT_EQ(per_ring[1], (std::vector<std::uint32_t>{200, 201, 202, 203, 204, 205}));
    EXPECT_EQ(per_ring[2], (std::vector<std::uint32_t>{300}));
    // Round-robin: each batch starts one ring further.
    // Batches of 4: ring 0 x4 | ring 1 x4 | ring 2 x1, ring 0 x2, ring 1 x1 | ring 1 x1.
    EXPECT_EQ(first_ring_of_batch, (std::vector<std::size_t>{0, 1, 2, 1}));
  }());
}

TEST_F(AsyncReaderTest, ManyReadersShareOneIoContext) {
  constexpr int count = 8;
  std::vector<std::shared_ptr<fake_rings>> sources;
  std::vector<std::unique_ptr<fake_reader>> readers;
  for (int i = 0; i < count; ++i) {
    sources.push_back(std::make_shared<fake_rings>(1));
    readers.push_back(std::make_unique<fake_reader>(io, fake_ring_source(sources.back())));
  }
  std::vector<std::uint32_t> sums(count, 0);
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(io, [&, i]() -> asio::awaitable<void> {
      for (int n = 0; n < 100;) {
        auto batch = co_await readers[i]->async_read_some(asio::use_awaitable);
        for (std::uint32_t v : batch.as<std::uint32_t>()) sums[i] += v;
        n += static_cast<int>(batch.size());
      }
    }, asio::detached);
  }
  std::thread producer([&] {
    for (std::uint32_t n = 1; n <= 100; ++n)
      for (int i = 0; i < count; ++i) sources[i]->produce_u32(n * static_cast<std::uint32_t>(i + 1));
  });
  io.run();
  producer.join();
  for (int i = 0; i < count; ++i) EXPECT_EQ(sums[i], 5050u * static_cast<std::uint32_t>(i + 1)) << "reader " << i;
}

TEST_F(AsyncReaderTest, ReadersOnAStrandOfAThreadPool) {
  asio::thread_pool pool(2);
  auto strand = asio::make_strand(pool);
  constexpr int count = 4;
  std::vector<std::shared_ptr<fake_rings>> sources;
  std::vector<std::unique_ptr<fake_reader>> readers;
  for (int i = 0; i < count; ++i) {
    sources.push_back(std::make_shared<fake_rings>(1));
    readers.push_back(std::make_unique<fake_reader>(strand, fake_ring_source(sources.back())));
  }
  std::atomic<std::uint64_t> total{0};
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(strand, [&, i]() -> asio::awaitable<void> {
      for (int n = 0; n < 1000;) {
        auto batch = co_await readers[i]->async_read_some(asio::use_awaitable);
        if (inside.fetch_add(1) != 0) overlapped = true;  // the strand serialises the readers
        for (std::uint32_t v : batch.as<std::uint32_t>()) total += v;
        n += static_cast<int>(batch.size());
        inside.fetch_sub(1);
      }
    }, asio::detached);
  }
  for (std::uint32_t n = 1; n <= 1000; ++n)
    for (int i = 0; i < count; ++i) sources[i]->produce_u32(n);
  pool.join();
  EXPECT_EQ(total.load(), 500500u * count);
  EXPECT_FALSE(overlapped.load());
}

TEST_F(AsyncReaderTest, AsyncWaitReportsReadinessWithoutConsuming) {
  fake_reader reader(io, fake_ring_source(rings));
  asio::post(io, [&] { rings->produce_u32(4); });
  run(io, [&]() -> asio::awaitable<void> {
    co_await reader.async_wait(asio::use_awaitable);
    auto record = co_await reader.async_receive(asio::use_awaitable);
    EXPECT_EQ(as_u32(record.data), 4u);
  }());
}

TEST_F(AsyncReaderTest, ReaderFromAnExecutorAndMoves) {
  fake_reader first(io.get_executor(), fake_ring_source(rings));
  fake_reader second(std::move(first));
  EXPECT_FALSE(first.is_open());
  EXPECT_TRUE(second.is_open());
  rings->produce_u32(12);
  run(io, [&]() -> asio::awaitable<void> {
    EXPECT_EQ(co_await second.async_receive<std::uint32_t>(asio::use_awaitable), 12u);
  }());
}

// ---------------------------------------------------------------------------------------------
// Perf buffer: ebpf::perf_buffer's interface over a deque of samples and lost counts.

struct fake_perf {
  fake_perf() { event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
  ~fake_perf() { ::close(event); }
  void sample(std::uint32_t cpu, std::vector<std::byte> bytes) {
    std::lock_guard lock(mutex);
    data.push_back(std::move(bytes));
    records.push_back({std::span<const std::byte>(data.back()), 0, cpu});
    wake();
  }
  void lost(std::uint32_t cpu, std::uint64_t count) {
    std::lock_guard lock(mutex);
    records.push_back({{}, count, cpu});
    wake();
  }
  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event, &one, sizeof one);
  }
  std::mutex mutex;
  std::deque<std::vector<std::byte>> data;
  std::deque<ebpf::ring::perf_record> records;
  std::size_t read = 0;
  std::uint64_t lost_total = 0;
  int event = -1;
};

class fake_perf_source {
 public:
  explicit fake_perf_source(std::shared_ptr<fake_perf> perf) : perf_(std::move(perf)) {}
  int fd() const noexcept { return perf_->event; }
  std::size_t read_batch(std::span<ebpf::ring::perf_record> out) noexcept {
    std::lock_guard lock(perf_->mutex);
    std::size_t n = 0;
    while (n < out.size() && perf_->read < perf_->records.size()) {
      out[n] = perf_->records[perf_->read++];
      perf_->lost_total += out[n++].lost;
    }
    return n;
  }
  void commit() noexcept {}
  bool prepare_wait() noexcept {
    std::lock_guard lock(perf_->mutex);
    std::uint64_t counter;
    [[maybe_unused]] auto n = ::read(perf_->event, &counter, sizeof counter);
    return perf_->read < perf_->records.size();
  }
  bool corrupt() const noexcept { return false; }
  std::uint64_t lost() const noexcept { return perf_->lost_total; }

 private:
  std::shared_ptr<fake_perf> perf_;
};

using fake_perf_reader = ebpf::async::basic_perf_buffer<asio::any_io_executor, fake_perf_source>;

std::vector<std::byte> u32_bytes(std::uint32_t value, std::size_t padding = 0) {
  std::vector<std::byte> bytes(sizeof value + padding);
  std::memcpy(bytes.data(), &value, sizeof value);
  return bytes;
}

TEST(AsyncPerfBufferTest, RecordsCarryTheirCpuAndLostCounts) {
  asio::io_context io;
  auto perf = std::make_shared<fake_perf>();
  fake_perf_reader reader(io, fake_perf_source(perf));
  perf->sample(1, u32_bytes(10, 4));  // the kernel pads samples: 4 + 4 bytes
  perf->lost(0, 7);
  perf->sample(0, u32_bytes(11));
  run(io, [&]() -> asio::awaitable<void> {
    auto first = co_await reader.async_receive(asio::use_awaitable);
    EXPECT_EQ(first.cpu, 1u);
    EXPECT_FALSE(first.is_lost());
    auto batch = co_await reader.async_read_some(asio::use_awaitable);
    CO_ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch.lost(), 7u);
    EXPECT_EQ(batch.samples(), 1u);
    EXPECT_EQ(batch[0].cpu, 0u);
    std::vector<std::uint32_t> values;
    for (std::uint32_t v : batch.as<std::uint32_t>()) values.push_back(v);  // lost skipped
    EXPECT_EQ(values, (std::vector<std::uint32_t>{11}));
  }());
}

TEST(AsyncPerfBufferTest, TypedReceiveSkipsLostRecordsAndAllowsThePadding) {
  asio::io_context io;
  auto perf = std::make_shared<fake_perf>();
  fake_perf_reader reader(io, fake_perf_source(perf));
  perf->lost(1, 3);
  perf->sample(1, u32_bytes(20, 4));
  perf->sample(0, u32_bytes(21, 8));  // 12 bytes: more than any padding of a 4-byte record
  perf->sample(0, u32_bytes(22));
  run(io, [&]() -> asio::awaitable<void> {
    auto first = co_await reader.async_receive<std::uint32_t>(asio::use_awaitable);
    EXPECT_EQ(first.value, 20u);
    EXPECT_EQ(first.cpu, 1u);
    auto [ec, second] =
        co_await reader.async_receive<std::uint32_t>(asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(ec, ebpf::errc::type_mismatch);
    EXPECT_EQ(second.cpu, 0u);
    auto third = co_await reader.async_receive<std::uint32_t>(asio::use_awaitable);
    EXPECT_EQ(third.value, 22u);
  }());
  EXPECT_EQ(reader.source().lost(), 3u);
}

TEST(AsyncPerfBufferTest, TryReadSomeAndRecordAsCopyTheSample) {
  asio::io_context io;
  auto perf = std::make_shared<fake_perf>();
  fake_perf_reader reader(io, fake_perf_source(perf));
  EXPECT_TRUE(reader.try_read_some().empty());
  perf->sample(1, u32_bytes(30, 4));  // padded by the kernel
  perf->lost(0, 2);
  perf->sample(0, u32_bytes(31, 8));  // 12 bytes: not a 4-byte record
  auto batch = reader.try_read_some();
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].as<std::uint32_t>(), 30u);
  EXPECT_EQ(batch[0].cpu, 1u);
  try {
    (void)batch[1].as<std::uint32_t>();
    ADD_FAILURE() << "a lost record read as a sample";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
    EXPECT_NE(std::string(e.what()).find("lost"), std::string::npos) << e.what();
  }
  try {
    (void)batch[2].as<std::uint32_t>();
    ADD_FAILURE() << "a 12-byte sample read as 4 bytes";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
    EXPECT_NE(std::string(e.what()).find("12 bytes"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(reader.try_read_some().empty());
}

TEST(AsyncPerfBufferTest, BatchAsThrowsOnAWrongSize) {
  asio::io_context io;
  auto perf = std::make_shared<fake_perf>();
  fake_perf_reader reader(io, fake_perf_source(perf));
  perf->sample(3, {std::byte{1}, std::byte{2}});
  run(io, [&]() -> asio::awaitable<void> {
    auto batch = co_await reader.async_read_some(asio::use_awaitable);
    try {
      batch.as<std::uint32_t>();
      ADD_FAILURE() << "no exception";
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
      EXPECT_STREQ(e.what(), "perf buffer: record 0 of the batch (CPU 3) is 2 bytes, the record type is 4 bytes");
    }
  }());
}

// ---------------------------------------------------------------------------------------------
// User ring buffer: ebpf::user_ring_buffer's interface over a byte budget; the test plays the
// kernel and drains.

struct fake_user_ring {
  explicit fake_user_ring(std::size_t capacity_bytes) : capacity(capacity_bytes) {
    event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  ~fake_user_ring() { ::close(event); }
  // The program drains every submitted record: frees their room and signals (edge).
  std::vector<std::uint32_t> drain() {
    std::vector<std::uint32_t> values;
    while (!submitted.empty() && submitted.front().second) {
      values.push_back(as_u32(*submitted.front().first));
      used -= submitted.front().first->size();
      submitted.pop_front();
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(event, &one, sizeof one);
    return values;
  }
  std::size_t capacity;
  std::size_t used = 0;
  std::deque<std::pair<std::shared_ptr<std::vector<std::byte>>, bool>> submitted;  // record, ready
  std::size_t reserve_calls = 0;
  int event = -1;
};

class fake_user_source {
 public:
  explicit fake_user_source(std::shared_ptr<fake_user_ring> ring) : ring_(std::move(ring)) {}
  int fd() const noexcept { return ring_->event; }
  std::size_t max_record_size() const noexcept { return ring_->capacity; }
  std::optional<std::span<std::byte>> reserve(std::size_t size) {
    ++ring_->reserve_calls;
    if (ring_->used + size > ring_->capacity) return std::nullopt;
    ring_->used += size;
    auto record = std::make_shared<std::vector<std::byte>>(size);
    ring_->submitted.push_back({record, false});
    return std::span<std::byte>(*record);
  }
  void submit(std::span<std::byte> record) { finish(record); }
  void discard(std::span<std::byte> record) { finish(record); }
  bool wait_for_space(std::chrono::milliseconds) {
    std::uint64_t counter = 0;
    return ::read(ring_->event, &counter, sizeof counter) == sizeof counter;
  }

 private:
  void finish(std::span<std::byte> record) {
    for (auto& [bytes, ready] : ring_->submitted)
      if (bytes->data() == record.data()) ready = true;
  }
  std::shared_ptr<fake_user_ring> ring_;
};

using fake_writer = ebpf::async::basic_user_ring_buffer<asio::any_io_executor, fake_user_source>;

TEST(AsyncUserRingBufferTest, WriteWaitsUntilTheProgramDrains) {
  asio::io_context io;
  auto ring = std::make_shared<fake_user_ring>(8);  // room for two u32 records
  fake_writer writer(io, fake_user_source(ring));
  std::vector<std::uint32_t> drained;
  asio::steady_timer program(io, 20ms);
  program.async_wait([&](std::error_code) {
    for (auto v : ring->drain()) drained.push_back(v);
  });
  const auto start = std::chrono::steady_clock::now();
  run(io, [&]() -> asio::awaitable<void> {
    for (std::uint32_t i = 1; i <= 3; ++i) {
      std::uint32_t value = i;
      co_await writer.async_write(value, asio::use_awaitable);
    }
  }());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 15ms) << "the third write waited for room";
  for (auto v : ring->drain()) drained.push_back(v);
  EXPECT_EQ(drained, (std::vector<std::uint32_t>{1, 2, 3}));
}

TEST(AsyncUserRingBufferTest, ReserveThenSubmitInPlace) {
  asio::io_context io;
  auto ring = std::make_shared<fake_user_ring>(64);
  fake_writer writer(io, fake_user_source(ring));
  run(io, [&]() -> asio::awaitable<void> {
    auto record = co_await writer.async_reserve(4, asio::use_awaitable);
    CO_ASSERT_EQ(record.size(), 4u);
    const std::uint32_t value = 99;
    std::memcpy(record.data(), &value, sizeof value);
    writer.submit(record);
  }());
  EXPECT_EQ(ring->drain(), (std::vector<std::uint32_t>{99}));
}

TEST(AsyncUserRingBufferTest, AWakeupWithTooLittleRoomWaitsAgainInsteadOfSpinning) {
  asio::io_context io;
  auto ring = std::make_shared<fake_user_ring>(8);
  fake_writer writer(io, fake_user_source(ring));
  ring->used = 6;  // 2 bytes free: a u32 does not fit
  std::error_code result;
  bool done = false;
  std::uint32_t value = 5;
  writer.async_write(value, [&](std::error_code ec) {
    result = ec;
    done = true;
  });
  // Wake it three times without freeing room, then free it.
  for (int i = 0; i < 3; ++i) {
    io.run_for(5ms);
    ring->drain();  // nothing submitted: no room freed, but a wakeup
  }
  EXPECT_FALSE(done);
  EXPECT_LE(ring->reserve_calls, 10u) << "the reserve loop spun";
  ring->used = 0;
  ring->drain();
  io.run_for(100ms);
  EXPECT_TRUE(done);
  EXPECT_FALSE(result);
}

TEST(AsyncUserRingBufferTest, CancelledReserveReservesNothing) {
  asio::io_context io;
  auto ring = std::make_shared<fake_user_ring>(4);
  fake_writer writer(io, fake_user_source(ring));
  ring->used = 4;
  asio::cancellation_signal cancel;
  std::error_code result;
  writer.async_reserve(4, asio::bind_cancellation_slot(cancel.slot(), [&](std::error_code ec, std::span<std::byte> r) {
    result = ec;
    EXPECT_TRUE(r.empty());
  }));
  asio::post(io, [&] { cancel.emit(asio::cancellation_type::terminal); });
  io.run();
  EXPECT_EQ(result, asio::error::operation_aborted);
  EXPECT_TRUE(ring->submitted.empty());
}

TEST(AsyncUserRingBufferTest, ErrorsArriveThroughTheCompletion) {
  asio::io_context io;
  auto ring = std::make_shared<fake_user_ring>(16);
  fake_writer writer(io, fake_user_source(ring));
  std::vector<std::error_code> results;
  writer.async_reserve(17, [&](std::error_code ec, std::span<std::byte>) { results.push_back(ec); });
  io.run();
  io.restart();
  ring->used = 16;
  writer.async_reserve(4, [&](std::error_code ec, std::span<std::byte>) { results.push_back(ec); });
  writer.async_reserve(4, [&](std::error_code ec, std::span<std::byte>) { results.push_back(ec); });
  asio::post(io, [&] { writer.close(); });
  io.run();
  io.restart();
  writer.async_reserve(4, [&](std::error_code ec, std::span<std::byte>) { results.push_back(ec); });
  io.run();
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0], ebpf::errc::invalid_argument);
  EXPECT_EQ(results[1], asio::error::already_started);
  EXPECT_EQ(results[2], asio::error::operation_aborted);
  EXPECT_EQ(results[3], asio::error::bad_descriptor);
}

}  // namespace
