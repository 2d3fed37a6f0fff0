// ebpf::ring_buffer against real ringbuf maps, fed by produce_ringbuf (ringbuf_producer.bpf.c)
// through BPF_PROG_TEST_RUN: exact counts, contents and order, discarded records skipped,
// wrap-around of a one-page ring, zero-copy batches, several rings, epoll readiness and a
// producer on another thread.
#include <ebpf/ebpf.hpp>
#include <ebpf/ring_buffer.hpp>

#include "fixture.hpp"
#include "ring_producer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <poll.h>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using bytes = std::span<const std::byte>;
using ebpf_test::is_record;
using ebpf_test::produce_ringbuf;

class RingBufferTest : public ebpf_test::kernel_test {};

bool readable(int fd, int timeout_ms = 0) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

TEST_F(RingBufferTest, ConsumesEveryRecordInOrder) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("ring"));
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(events.ring_name(0), "ring");
  EXPECT_EQ(events.consumer(0).capacity(), PRODUCER_RING_BYTES);

  auto out = produce_ringbuf(object, 1000, 40, 5000);
  ASSERT_EQ(out.produced, 1000u);
  ASSERT_EQ(out.failed, 0u);

  std::uint64_t expected = 5000;
  std::size_t count = events.consume([&](bytes record) {
    EXPECT_TRUE(is_record(record, expected, 40));
    EXPECT_EQ(record.size(), 40u) << "a ring buffer record is exactly what the program wrote";
    ++expected;
  });
  EXPECT_EQ(count, 1000u);
  EXPECT_EQ(expected, 6000u);
  EXPECT_EQ(events.records(), 1000u);
  EXPECT_EQ(events.bytes(), 40000u);
  EXPECT_EQ(events.consume([](bytes) { ADD_FAILURE() << "nothing left"; }), 0u);
  const auto& ring = events.consumer(0);
  EXPECT_EQ(ring.committed_position(), ring.producer_position()) << "everything committed";
  EXPECT_EQ(ring.committed_position(), 1000 * ebpf::ring::record_footprint(40));
}

TEST_F(RingBufferTest, SkipsDiscardedRecords) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("ring"));
  auto out = produce_ringbuf(object, 300, 24, 0, RING_BIG, /*discard_every=*/3);
  ASSERT_EQ(out.produced, 200u);
  ASSERT_EQ(out.discarded, 100u);
  std::vector<std::uint64_t> seqs;
  events.consume([&](bytes record) {
    EXPECT_EQ(record.size(), 24u);
    seqs.push_back(ebpf_test::header_of(record).seq);
  });
  ASSERT_EQ(seqs.size(), 200u);
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(seqs[i], i / 2 * 3 + i % 2) << "every third record (index 2, 5, ...) was discarded";
  }
  EXPECT_EQ(events.discarded(), 100u);
  EXPECT_EQ(events.consumer(0).committed_position(), events.consumer(0).producer_position());
}

TEST_F(RingBufferTest, SmallRingWrapsAroundOverManyRounds) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("small_ring"));
  // 40-byte records take 48 bytes: 4096 is no multiple of that, so records keep straddling the
  // end of the data and are read through the second mapping of the data pages.
  constexpr std::uint32_t per_round = 80, rounds = 60;
  std::uint64_t expected = 0;
  for (std::uint32_t round = 0; round < rounds; ++round) {
    std::uint32_t size = round % 2 ? 40 : 17 + round % 23;  // vary where records fall
    auto out = produce_ringbuf(object, per_round, size, expected, RING_SMALL);
    ASSERT_EQ(out.produced, per_round) << "round " << round;
    ASSERT_EQ(out.failed, 0u);
    std::size_t got = events.consume([&](bytes record) {
      EXPECT_TRUE(is_record(record, expected, size));
      ++expected;
    });
    ASSERT_EQ(got, per_round);
  }
  EXPECT_EQ(expected, std::uint64_t{per_round} * rounds);
  EXPECT_GT(events.consumer(0).committed_position(), 20u * PRODUCER_SMALL_RING_BYTES)
      << "the positions went around the ring many times";
}

TEST_F(RingBufferTest, FullRingRefusesWhatDoesNotFitAndLosesNothingElse) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("small_ring"));
  // The kernel keeps the producer less than a capacity ahead: 85 records of 48 bytes fit 4096.
  auto out = produce_ringbuf(object, 200, 40, 0, RING_SMALL);
  EXPECT_EQ(out.produced, 85u);
  EXPECT_EQ(out.failed, 115u);
  std::uint64_t expected = 0;
  events.consume([&](bytes record) { EXPECT_TRUE(is_record(record, expected++, 40)); });
  EXPECT_EQ(expected, 85u);
  // Room again.
  out = produce_ringbuf(object, 10, 40, 1000, RING_SMALL);
  EXPECT_EQ(out.produced, 10u);
  expected = 1000;
  events.consume([&](bytes record) { EXPECT_TRUE(is_record(record, expected++, 40)); });
  EXPECT_EQ(expected, 1010u);
}

TEST_F(RingBufferTest, BatchViewsStayValidUntilCommit) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("small_ring"));
  ASSERT_EQ(produce_ringbuf(object, 40, 48, 0, RING_SMALL).produced, 40u);  // 56 bytes each

  std::array<bytes, 64> views{};
  std::size_t n = events.read_batch(views);
  ASSERT_EQ(n, 40u);
  const auto& ring = events.consumer(0);
  EXPECT_EQ(ring.committed_position(), 0u) << "reading commits nothing";
  // The kernel sees the space as used: only what is left after the uncommitted batch fits.
  auto more = produce_ringbuf(object, 100, 48, 40, RING_SMALL);
  EXPECT_EQ(more.produced, (4095u - 40 * 56) / 56);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(is_record(views[i], i, 48)) << "the batch is intact while uncommitted";
  }
  events.commit();
  EXPECT_EQ(ring.committed_position(), 40u * 56) << "one store for the whole batch";
  std::uint64_t expected = 40;
  events.consume([&](bytes record) { EXPECT_TRUE(is_record(record, expected++, 48)); });
  EXPECT_EQ(expected, 40 + more.produced);
}

TEST_F(RingBufferTest, PartialBatches) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("ring"));
  ASSERT_EQ(produce_ringbuf(object, 10, 16).produced, 10u);
  std::array<bytes, 4> views{};
  std::uint64_t expected = 0;
  for (std::size_t want : {4u, 4u, 2u, 0u}) {
    std::size_t n = events.read_batch(views);
    ASSERT_EQ(n, want);
    for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(is_record(views[i], expected++, 16));
    events.commit();
  }
  EXPECT_EQ(events.consumer(0).state(), ebpf::ring::read_state::empty);
}

TEST_F(RingBufferTest, SeveralRingsInOneReader) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events{object.map("ring"), object.map("second_ring")};
  ASSERT_EQ(events.size(), 2u);
  ASSERT_EQ(produce_ringbuf(object, 100, 32, 0, RING_BIG).produced, 100u);
  ASSERT_EQ(produce_ringbuf(object, 50, 64, 10000, RING_SECOND).produced, 50u);
  std::uint64_t next[2] = {0, 10000};
  std::size_t count = events.consume([&](bytes record, std::size_t ring) {
    ASSERT_LT(ring, 2u);
    EXPECT_TRUE(is_record(record, next[ring]++, ring == 0 ? 32 : 64));
  });
  EXPECT_EQ(count, 150u);
  EXPECT_EQ(next[0], 100u);
  EXPECT_EQ(next[1], 10050u);

  // Batches take records from every ring.
  ASSERT_EQ(produce_ringbuf(object, 3, 32, 100, RING_BIG).produced, 3u);
  ASSERT_EQ(produce_ringbuf(object, 3, 64, 10050, RING_SECOND).produced, 3u);
  std::array<bytes, 16> views{};
  ASSERT_EQ(events.read_batch(views), 6u);
  events.commit();
  // ...or from one ring.
  ASSERT_EQ(produce_ringbuf(object, 2, 64, 10053, RING_SECOND).produced, 2u);
  EXPECT_EQ(events.read_batch(0, views), 0u);
  ASSERT_EQ(events.read_batch(1, views), 2u);
  EXPECT_TRUE(is_record(views[0], 10053, 64));
  events.commit();
}

TEST_F(RingBufferTest, FdIsReadableExactlyWhileDataWaits) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events{object.map("ring"), object.map("second_ring")};
  ASSERT_GE(events.fd(), 3);
  EXPECT_TRUE(kernel_test::is_cloexec(events.fd()));
  EXPECT_FALSE(readable(events.fd()));
  EXPECT_FALSE(events.prepare_wait());

  ASSERT_EQ(produce_ringbuf(object, 1, 16, 0, RING_SECOND).produced, 1u);
  // The kernel signals from irq_work, a moment after the submit.
  EXPECT_TRUE(readable(events.fd(), 1000));
  EXPECT_TRUE(readable(events.ring_fd(1), 1000));
  EXPECT_FALSE(readable(events.ring_fd(0)));
  EXPECT_TRUE(events.prepare_wait());
  EXPECT_EQ(events.consume([](bytes) {}), 1u);
  EXPECT_FALSE(readable(events.ring_fd(1))) << "consumed and committed";
  EXPECT_FALSE(readable(events.fd()));

  // poll(): times out when there is nothing, consumes when something arrives.
  EXPECT_EQ(events.poll(10ms, [](bytes) {}), 0u);
  ASSERT_EQ(produce_ringbuf(object, 3, 16, 0, RING_BIG).produced, 3u);
  EXPECT_EQ(events.poll(1000ms, [](bytes) {}), 3u);
  EXPECT_THROW((void)events.ring_fd(2), ebpf::error);
}

TEST_F(RingBufferTest, ProducerOnAnotherThreadLosesNothing) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("small_ring"));
  // Rounds smaller than the ring, each produced only once the previous one was consumed, so
  // nothing can be refused; every wakeup must arrive or a poll would time out.
  constexpr std::uint32_t rounds = 300, per_round = 20;
  std::atomic<std::uint64_t> consumed{0};
  std::atomic<bool> failed{false};
  std::thread producer([&] {
    for (std::uint32_t round = 0; round < rounds; ++round) {
      while (consumed.load() < std::uint64_t{round} * per_round) std::this_thread::yield();
      try {
        auto out = produce_ringbuf(object, per_round, 24 + round % 9 * 8,
                                   std::uint64_t{round} * per_round, RING_SMALL);
        if (out.produced != per_round) failed = true;
      } catch (...) {
        failed = true;
      }
    }
  });
  std::uint64_t expected = 0;
  int timeouts = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (expected < std::uint64_t{rounds} * per_round && std::chrono::steady_clock::now() < deadline) {
    auto started = std::chrono::steady_clock::now();
    std::size_t n = events.poll(5000ms, [&](bytes record) {
      auto header = ebpf_test::header_of(record);
      EXPECT_EQ(header.seq, expected);
      EXPECT_TRUE(is_record(record, expected, header.size));
      ++expected;
    });
    // An empty return is legitimate when the wakeup found a record the producer had reserved but
    // not yet submitted (busy bit set): the submit wakes us again. Only a full wait means a lost
    // wakeup.
    if (n == 0 && std::chrono::steady_clock::now() - started >= 4900ms) ++timeouts;
    consumed = expected;
  }
  producer.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(expected, std::uint64_t{rounds} * per_round);
  EXPECT_EQ(timeouts, 0) << "a wakeup went missing";
}

TEST_F(RingBufferTest, CallbackCanStopAndThrow) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events(object.map("ring"));
  ASSERT_EQ(produce_ringbuf(object, 10, 16).produced, 10u);
  std::uint64_t seen = 0;
  EXPECT_EQ(events.consume([&](bytes) { return ++seen < 3; }), 3u);
  EXPECT_THROW(events.consume([&](bytes record) {
    if (ebpf_test::header_of(record).seq == 5) throw std::runtime_error("stop");
  }),
               std::runtime_error);
  std::vector<std::uint64_t> rest;
  events.consume([&](bytes record) { rest.push_back(ebpf_test::header_of(record).seq); });
  EXPECT_EQ(rest, (std::vector<std::uint64_t>{6, 7, 8, 9})) << "nothing delivered twice or lost";
}

TEST_F(RingBufferTest, OutlivesTheMapObjectAndMoves) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::ring_buffer events;
  EXPECT_EQ(events.fd(), -1);
  EXPECT_EQ(events.consume([](bytes) {}), 0u);
  {
    auto map = object.map("ring").dup();
    events = ebpf::ring_buffer(map);
  }
  ASSERT_EQ(produce_ringbuf(object, 5, 16).produced, 5u);
  ebpf::ring_buffer moved(std::move(events));
  EXPECT_EQ(events.size(), 0u);
  EXPECT_EQ(events.read_batch(std::span<bytes>()), 0u);
  EXPECT_EQ(moved.consume([](bytes) {}), 5u);
}

TEST_F(RingBufferTest, RefusesOtherMapTypes) {
  auto object = ebpf_test::load_ringbuf_producer();
  try {
    ebpf::ring_buffer events(object.map("user_ring"));
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
    EXPECT_NE(std::string(e.what()).find("ring_buffer needs a map of type ringbuf"), std::string::npos)
        << e.what();
  }
}

}  // namespace
