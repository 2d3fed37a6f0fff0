// ebpf::async readers against real maps, fed by the deterministic producers of
// tests/bpf/ringbuf_producer.bpf.c (BPF_PROG_TEST_RUN): exact counts, contents and order,
// kernel wakeups, cancellation while waiting and between batches, close, destruction with work
// pending, several readers on one io_context, perf-buffer loss counts, user ring buffer
// backpressure, and async::load. The fixture fails a test that leaks an fd.
#include <ebpf/async.hpp>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "fixture.hpp"
#include "ring_producer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using ebpf_test::is_record;
using ebpf_test::produce_ringbuf;

// gtest's ASSERT_* return void, which a coroutine cannot: fail and co_return instead.
#define CO_ASSERT_TRUE(condition)  \
  do {                             \
    EXPECT_TRUE(condition);        \
    if (!(condition)) co_return;   \
  } while (false)

class AsyncTest : public ebpf_test::kernel_test {
 protected:
  // Runs a coroutine on `io` to completion (at most `limit`) and rethrows what it threw.
  template <class Awaitable>
  void run(Awaitable&& coroutine, std::chrono::seconds limit = 30s) {
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(io, std::forward<Awaitable>(coroutine), [&](std::exception_ptr e) {
      failure = e;
      done = true;
    });
    io.run_for(limit);
    io.restart();
    ASSERT_TRUE(done) << "the coroutine did not finish within " << limit.count() << " s";
    if (failure) std::rethrow_exception(failure);
  }

  // The io_context's own fds (epoll, eventfd, timerfd) are created with its first I/O object,
  // inside the test: close them before the fixture's fd-leak check.
  void TearDown() override {
    context_.reset();
    kernel_test::TearDown();
  }

  std::unique_ptr<asio::io_context> context_ = std::make_unique<asio::io_context>();
  asio::io_context& io = *context_;
};

// A record of produce_perf(..., size = 64): the header and 48 payload bytes.
struct record64 {
  ring_record header;
  std::uint8_t payload[48];
};
static_assert(sizeof(record64) == 64);

TEST_F(AsyncTest, RingBufferDeliversEveryRecordOnceInOrder) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, object.map("ring"), 64);
  auto out = produce_ringbuf(object, 1000, 40, 7000);
  ASSERT_EQ(out.produced, 1000u);
  std::uint64_t next = 7000;
  std::size_t batches = 0;
  run([&]() -> asio::awaitable<void> {
    while (next < 8000) {
      auto batch = co_await events.async_read_some(asio::use_awaitable);
      CO_ASSERT_TRUE(batch.size() <= 64u);
      ++batches;
      for (auto record : batch) {
        EXPECT_TRUE(is_record(record.data, next, 40));
        EXPECT_EQ(record.ring, 0u);
        ++next;
      }
    }
  }());
  EXPECT_EQ(next, 8000u);
  EXPECT_EQ(batches, (1000u + 63) / 64);
  // The last batch is committed when the next read starts; start one that finds nothing.
  std::error_code ec;
  events.async_wait([&](std::error_code e) { ec = e; });
  io.run_for(20ms);
  events.cancel();
  io.run();
  EXPECT_EQ(ec, asio::error::operation_aborted);
  const auto& ring = events.source().consumer(0);
  EXPECT_EQ(ring.committed_position(), ring.producer_position());
  EXPECT_EQ(events.source().records(), 1000u);
}

TEST_F(AsyncTest, TypedReceiveReadsRecordsOfExactlyTheTypeSize) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, object.map("ring"));
  produce_ringbuf(object, 3, sizeof(ring_record), 10);
  produce_ringbuf(object, 1, 64, 13);  // not a bare ring_record
  run([&]() -> asio::awaitable<void> {
    for (std::uint64_t seq = 10; seq < 13; ++seq) {
      auto record = co_await events.async_receive<ring_record>(asio::use_awaitable);
      EXPECT_EQ(record.seq, seq);
      EXPECT_EQ(record.size, sizeof(ring_record));
    }
    auto [ec, record] =
        co_await events.async_receive<ring_record>(asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(ec, ebpf::errc::type_mismatch);
  }());
}

TEST_F(AsyncTest, WaitsForTheKernelToWakeItAndSkipsDiscardedRecords) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, object.map("ring"));
  // Another thread produces 50 runs of 20 records (every 4th discarded), pausing between them,
  // so the reader catches up and sleeps on the fd many times.
  std::thread producer([&] {
    for (std::uint64_t run = 0; run < 50; ++run) {
      std::this_thread::sleep_for(1ms);
      produce_ringbuf(object, 20, 48, run * 20, RING_BIG, 4);
    }
  });
  std::vector<std::uint64_t> seqs;
  run([&]() -> asio::awaitable<void> {
    while (seqs.size() < 50 * 15) {
      auto batch = co_await events.async_read_some(asio::use_awaitable);
      for (auto record : batch) seqs.push_back(ebpf_test::header_of(record.data).seq);
    }
  }());
  producer.join();
  ASSERT_EQ(seqs.size(), 750u);
  std::size_t i = 0;
  for (std::uint64_t seq = 0; seq < 1000; ++seq) {
    if (seq % 4 == 3) continue;  // discarded
    EXPECT_EQ(seqs[i++], seq);
  }
  // The source's counters move with the consumer position: the last batch counts once it is
  // given back (the next read, commit() or close()).
  EXPECT_TRUE(events.commit());
  EXPECT_EQ(events.source().discarded(), 250u);
}

TEST_F(AsyncTest, OnePageRingWrapsAroundManyTimes) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, object.map("small_ring"));
  std::uint64_t next = 0;
  run([&]() -> asio::awaitable<void> {
    for (std::uint64_t round = 0; round < 200; ++round) {
      // 30 records of 100 bytes (112 with header and padding): 3360 of 4096 bytes.
      auto out = produce_ringbuf(object, 30, 100, round * 30, RING_SMALL);
      EXPECT_EQ(out.failed, 0u) << "round " << round;
      CO_ASSERT_TRUE(out.produced == 30u);
      for (std::uint64_t got = 0; got < 30;) {
        auto batch = co_await events.async_read_some(asio::use_awaitable);
        for (auto record : batch) EXPECT_TRUE(is_record(record.data, next++, 100));
        got += batch.size();
      }
      // The producer runs before the next read starts: give the room back now.
      EXPECT_TRUE(events.commit());
    }
  }());
  EXPECT_EQ(next, 6000u);
}

TEST_F(AsyncTest, TimerCancellingAWaitingReadLosesNothing) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, object.map("ring"));
  run([&]() -> asio::awaitable<void> {
    asio::steady_timer timer(co_await asio::this_coro::executor, 10ms);
    auto first = co_await (events.async_read_some(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
    EXPECT_EQ(first.index(), 1u) << "nothing to read: the timer wins";
    produce_ringbuf(object, 5, 40, 0);
    auto batch = co_await events.async_read_some(asio::use_awaitable);
    CO_ASSERT_TRUE(batch.size() == 5u);
    for (std::uint64_t i = 0; i < 5; ++i) EXPECT_TRUE(is_record(batch[i].data, i, 40));
  }());
}

TEST_F(AsyncTest, CancellationBetweenBatchesLosesNothing) {
  // Every other read is cancelled right after it started (the records were ready, so it had
  // read them): the next read must deliver those same records, and the total must be exact.
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, object.map("ring"), 32);
  produce_ringbuf(object, 1000, 40, 0);
  std::uint64_t next = 0;
  std::size_t aborted = 0;
  while (next < 1000) {
    asio::cancellation_signal cancel;
    std::error_code result;
    std::vector<std::uint64_t> got;
    events.async_read_some(asio::bind_cancellation_slot(
        cancel.slot(), [&](std::error_code ec, ebpf::async::ring_batch batch) {
          result = ec;
          for (auto record : batch) got.push_back(ebpf_test::header_of(record.data).seq);
        }));
    if ((next / 32) % 2 == 0 && aborted < 16) cancel.emit(asio::cancellation_type::terminal);
    io.run();
    io.restart();
    if (result == asio::error::operation_aborted) {
      EXPECT_TRUE(got.empty());
      ++aborted;
      // Records of the aborted read come with the next one.
      events.async_read_some([&](std::error_code ec, ebpf::async::ring_batch batch) {
        result = ec;
        for (auto record : batch) got.push_back(ebpf_test::header_of(record.data).seq);
      });
      io.run();
      io.restart();
    }
    ASSERT_FALSE(result) << result.message();
    ASSERT_FALSE(got.empty());
    for (auto seq : got) ASSERT_EQ(seq, next++);
  }
  EXPECT_EQ(next, 1000u);
  EXPECT_GE(aborted, 10u);
}

TEST_F(AsyncTest, CloseWhileWaitingAbortsAndReleasesEverything) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, object.map("ring"));
  std::vector<std::error_code> results;
  events.async_read_some([&](std::error_code ec, ebpf::async::ring_batch) { results.push_back(ec); });
  asio::steady_timer later(io, 10ms);
  later.async_wait([&](std::error_code) { events.close(); });
  io.run();
  io.restart();
  events.async_receive([&](std::error_code ec, ebpf::async::ring_record) { results.push_back(ec); });
  io.run();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], asio::error::operation_aborted);
  EXPECT_EQ(results[1], asio::error::bad_descriptor);
  EXPECT_FALSE(events.is_open());
  // The fixture checks that the mappings' and epoll fds are all closed by now (the reader
  // object still exists).
}

TEST_F(AsyncTest, ReadersDestroyedWithWorkPending) {
  auto object = ebpf_test::load_ringbuf_producer();
  std::vector<std::error_code> results;
  {
    auto waiting = std::make_unique<ebpf::async::ring_buffer>(io, object.map("ring"));
    auto posted = std::make_unique<ebpf::async::ring_buffer>(io, object.map("second_ring"));
    produce_ringbuf(object, 10, 40, 0, RING_SECOND);  // ready: this read posts itself
    waiting->async_read_some([&](std::error_code ec, ebpf::async::ring_batch) { results.push_back(ec); });
    posted->async_read_some([&](std::error_code ec, ebpf::async::ring_batch) { results.push_back(ec); });
    waiting.reset();
    posted.reset();
  }
  io.run();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0], asio::error::operation_aborted);
  EXPECT_EQ(results[1], asio::error::operation_aborted);
}

TEST_F(AsyncTest, AReaderClosedAfterABatchGivesItsRoomBack) {
  // The records of the last delivered batch are committed when the reader goes away, so the
  // next consumer of the ring starts after them instead of reading them again.
  auto object = ebpf_test::load_ringbuf_producer();
  ASSERT_EQ(produce_ringbuf(object, 20, 32).produced, 20u);
  std::size_t delivered = 0;
  {
    ebpf::async::ring_buffer first(io, object.map("ring"), /*batch_size=*/8);
    first.async_read_some([&](std::error_code ec, ebpf::async::ring_batch batch) {
      EXPECT_FALSE(ec);
      delivered = batch.size();
    });
    io.run();
    io.restart();
  }
  ASSERT_EQ(delivered, 8u);
  ebpf::ring_buffer next(object.map("ring"));
  std::vector<std::uint64_t> seqs;
  next.consume([&](std::span<const std::byte> record) { seqs.push_back(ebpf_test::header_of(record).seq); });
  ASSERT_EQ(seqs.size(), 12u) << "the 8 delivered records are not read again";
  EXPECT_EQ(seqs.front(), 8u);
}

TEST_F(AsyncTest, SeveralReadersOnOneIoContext) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer first(io, object.map("ring"));
  ebpf::async::ring_buffer second(io, object.map("second_ring"));
  ebpf::async::perf_buffer perf(io, object.map("events"));
  std::thread producer([&] {
    for (std::uint64_t run = 0; run < 20; ++run) {
      produce_ringbuf(object, 25, 40, run * 25, RING_BIG);
      produce_ringbuf(object, 25, 56, 10000 + run * 25, RING_SECOND);
      ebpf_test::produce_perf(object, static_cast<std::uint32_t>(run % 2), 5, 64, 20000 + run * 5);
      std::this_thread::sleep_for(500us);
    }
  });
  std::uint64_t next_first = 0, next_second = 10000;
  std::vector<std::vector<std::uint64_t>> perf_seqs(2);
  auto read_ring = [&](ebpf::async::ring_buffer& reader, std::uint64_t& next, std::uint64_t end,
                       std::uint32_t size) -> asio::awaitable<void> {
    while (next < end) {
      auto batch = co_await reader.async_read_some(asio::use_awaitable);
      for (auto record : batch) EXPECT_TRUE(is_record(record.data, next++, size));
    }
  };
  asio::co_spawn(io, read_ring(first, next_first, 500, 40), asio::detached);
  asio::co_spawn(io, read_ring(second, next_second, 10500, 56), asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    std::size_t samples = 0;
    while (samples < 100) {
      auto batch = co_await perf.async_read_some(asio::use_awaitable);
      EXPECT_EQ(batch.lost(), 0u);
      for (const auto& record : batch) {
        perf_seqs.at(record.cpu).push_back(ebpf_test::header_of(record.data).seq);
        ++samples;
      }
    }
  }, asio::detached);
  io.run_for(30s);
  producer.join();
  EXPECT_EQ(next_first, 500u);
  EXPECT_EQ(next_second, 10500u);
  // Per CPU, perf records are in order.
  for (std::uint32_t cpu = 0; cpu < 2; ++cpu) {
    EXPECT_EQ(perf_seqs[cpu].size(), 50u) << "CPU " << cpu;
    for (std::size_t i = 1; i < perf_seqs[cpu].size(); ++i) EXPECT_LT(perf_seqs[cpu][i - 1], perf_seqs[cpu][i]);
  }
}

TEST_F(AsyncTest, OneReaderMultiplexesTwoRings) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::ring_buffer events(io, {std::cref(object.map("ring")), std::cref(object.map("second_ring"))}, 16);
  produce_ringbuf(object, 40, 40, 0, RING_BIG);
  produce_ringbuf(object, 40, 40, 100, RING_SECOND);
  std::vector<std::vector<std::uint64_t>> seqs(2);
  run([&]() -> asio::awaitable<void> {
    while (seqs[0].size() + seqs[1].size() < 80) {
      auto batch = co_await events.async_read_some(asio::use_awaitable);
      for (auto record : batch) seqs.at(record.ring).push_back(ebpf_test::header_of(record.data).seq);
    }
  }());
  ASSERT_EQ(seqs[0].size(), 40u);
  ASSERT_EQ(seqs[1].size(), 40u);
  for (std::uint64_t i = 0; i < 40; ++i) {
    EXPECT_EQ(seqs[0][i], i);
    EXPECT_EQ(seqs[1][i], 100 + i);
  }
}

TEST_F(AsyncTest, RingsGivenOneByOneInsideACoroutineAndDrainedWithTryReadSome) {
  auto object = ebpf_test::load_ringbuf_producer();
  produce_ringbuf(object, 30, 30, 0, RING_BIG);
  produce_ringbuf(object, 20, 20, 500, RING_SECOND);
  std::vector<std::vector<std::uint64_t>> seqs(2);
  run([&]() -> asio::awaitable<void> {
    // Built inside the coroutine, where g++ 12 cannot take a braced list of maps.
    ebpf::async::ring_buffer events(co_await asio::this_coro::executor, object.map("ring"),
                                    object.map("second_ring"));
    // Everything is ready already: try_read_some drains it without a single wait.
    for (auto batch = events.try_read_some(); !batch.empty(); batch = events.try_read_some())
      for (auto record : batch) seqs.at(record.ring).push_back(ebpf_test::header_of(record.data).seq);
    CO_ASSERT_TRUE(seqs[0].size() == 30 && seqs[1].size() == 20);
    // Caught up: the next record arrives through the awaited path.
    produce_ringbuf(object, 1, 1, 900, RING_SECOND);
    auto batch = co_await events.async_read_some(asio::use_awaitable);
    CO_ASSERT_TRUE(batch.size() == 1);
    EXPECT_EQ(batch[0].ring, 1u);
    EXPECT_EQ(ebpf_test::header_of(batch[0].data).seq, 900u);
  }());
  for (std::uint64_t i = 0; i < 30; ++i) EXPECT_EQ(seqs[0][i], i);
  for (std::uint64_t i = 0; i < 20; ++i) EXPECT_EQ(seqs[1][i], 500 + i);
}

TEST_F(AsyncTest, PerfBufferReportsTheCpuAndExactLostCounts) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer_options options;
  options.pages_per_cpu = 1;
  ebpf::async::perf_buffer events(io, object.map("events"), options);
  const std::uint32_t cpu = events.source().cpus().front();
  ebpf_test::produce_perf(object, cpu, 200, 64);  // 80 bytes each: 51 fit one page
  const auto written = object.global<std::uint64_t>("perf_produced");
  const auto dropped = object.global<std::uint64_t>("perf_failed");
  ASSERT_EQ(written + dropped, 200u);
  ASSERT_GT(dropped, 0u);
  run([&]() -> asio::awaitable<void> {
    for (std::uint64_t seq = 0; seq < written; ++seq) {
      auto sample = co_await events.async_receive<record64>(asio::use_awaitable);
      EXPECT_EQ(sample.value.header.seq, seq);
      EXPECT_EQ(sample.cpu, cpu);
    }
    // The loss is reported before the next sample that fits, which needs the room back.
    EXPECT_TRUE(events.commit());
    ebpf_test::produce_perf(object, cpu, 1, 64, 1000);
    std::uint64_t lost = 0, samples = 0;
    while (samples == 0) {
      auto batch = co_await events.async_read_some(asio::use_awaitable);
      lost += batch.lost();
      samples += batch.samples();
    }
    EXPECT_EQ(lost, dropped);
    EXPECT_EQ(samples, 1u);
  }());
  EXPECT_EQ(events.source().lost(), dropped);
}

TEST_F(AsyncTest, UserRingBufferWaitsForTheProgramToDrain) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::user_ring_buffer commands(io, object.map("user_ring"));
  // 4096 bytes hold 170 records of 16 (+8 header) bytes: write 400, the program drains on a
  // timer, and every write completes, in order.
  std::uint64_t drained = 0, sum = 0, out_of_order = 0, drains = 0;
  asio::steady_timer program(io);
  std::function<void(std::error_code)> drain = [&](std::error_code ec) {
    if (ec) return;
    auto out = ebpf_test::drain_user(object, drained);
    drained += out.produced;
    sum += out.sum;
    out_of_order += out.out_of_order;
    ++drains;
    if (drained < 400) {
      program.expires_after(5ms);
      program.async_wait(drain);
    }
  };
  program.expires_after(5ms);
  program.async_wait(drain);
  std::size_t waited = 0;
  run([&]() -> asio::awaitable<void> {
    for (std::uint64_t seq = 0; seq < 400; ++seq) {
      const user_record record{seq, seq * 3};
      if (!commands.source().fits(sizeof record)) ++waited;
      co_await commands.async_write(record, asio::use_awaitable);
    }
  }());
  io.run_for(5s);
  EXPECT_EQ(drained, 400u);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(sum, 3u * (399u * 400u / 2));
  EXPECT_GT(waited, 0u) << "the ring never filled: no backpressure was exercised";
  EXPECT_GE(drains, 3u);
}

TEST_F(AsyncTest, UserRingBufferReserveInPlace) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::async::user_ring_buffer commands(io, object.map("user_ring"));
  run([&]() -> asio::awaitable<void> {
    auto record = co_await commands.async_reserve(sizeof(user_record), asio::use_awaitable);
    const user_record value{0, 42};
    std::memcpy(record.data(), &value, sizeof value);
    commands.submit(record);
  }());
  auto out = ebpf_test::drain_user(object, 0);
  EXPECT_EQ(out.produced, 1u);
  EXPECT_EQ(out.sum, 42u);
}

TEST_F(AsyncTest, LoadRunsOnThePoolAndCompletesOnTheCallersExecutor) {
  auto object = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/ringbuf_producer.bpf.o");
  const auto io_thread = std::this_thread::get_id();
  std::thread::id resumed_on;
  run([&]() -> asio::awaitable<void> {
    co_await ebpf::async::load(object, asio::use_awaitable);
    resumed_on = std::this_thread::get_id();
  }());
  EXPECT_TRUE(object.loaded());
  EXPECT_EQ(resumed_on, io_thread);
  // The loaded object works.
  EXPECT_EQ(produce_ringbuf(object, 1, 40).produced, 1u);
}

TEST_F(AsyncTest, LoadKeepsTheLoopResponsiveAndReportsFailures) {
  auto rejected = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/rejected.bpf.o");
  asio::thread_pool pool(1);
  std::size_t ticks = 0;
  const ebpf::load_options options;  // named: see the GCC 12 note in async/load.hpp
  run([&]() -> asio::awaitable<void> {
    try {
      co_await ebpf::async::load(rejected, options, pool, asio::use_awaitable);
      ADD_FAILURE() << "the verifier accepted rejected.bpf.o";
    } catch (const ebpf::verifier_error& e) {
      EXPECT_FALSE(e.log().empty());
    }
  }());
  // A callback bound to the io_context's executor gets the exception_ptr.
  auto again = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/rejected.bpf.o");
  std::exception_ptr failure;
  ebpf::async::load(again, options, pool, asio::bind_executor(io, [&](std::exception_ptr e) { failure = e; }));
  asio::steady_timer tick(io, 0ms);
  std::function<void(std::error_code)> on_tick = [&](std::error_code) {
    ++ticks;
    if (!failure) {
      tick.expires_after(100us);
      tick.async_wait(on_tick);
    }
  };
  tick.async_wait(on_tick);
  io.run_for(30s);
  ASSERT_TRUE(failure);
  EXPECT_THROW(std::rethrow_exception(failure), ebpf::verifier_error);
  EXPECT_GE(ticks, 1u);
  pool.join();
}

}  // namespace
