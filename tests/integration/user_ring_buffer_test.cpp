// ebpf::user_ring_buffer against a real user_ringbuf map, drained in the kernel by drain_user
// (ringbuf_producer.bpf.c, bpf_user_ringbuf_drain) through BPF_PROG_TEST_RUN: order and sums,
// a full ring refusing records until drained, discarded records skipped, waiting for space.
#include <ebpf/ebpf.hpp>
#include <ebpf/user_ring_buffer.hpp>

#include "fixture.hpp"
#include "ring_producer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <poll.h>
#include <thread>

namespace {

using namespace std::chrono_literals;
using ebpf_test::drain_user;

class UserRingBufferTest : public ebpf_test::kernel_test {};

bool ready(int fd, short events, int timeout_ms = 0) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & events) != 0;
}

TEST_F(UserRingBufferTest, TheProgramDrainsRecordsInOrder) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::user_ring_buffer commands(object.map("user_ring"));
  EXPECT_EQ(commands.capacity(), PRODUCER_USER_RING_BYTES);
  EXPECT_EQ(commands.free_bytes(), PRODUCER_USER_RING_BYTES);
  std::uint64_t sum = 0;
  for (std::uint64_t seq = 0; seq < 100; ++seq) {
    ASSERT_TRUE(commands.write(user_record{seq, seq * seq}));
    sum += seq * seq;
  }
  EXPECT_EQ(commands.free_bytes(), PRODUCER_USER_RING_BYTES - 100 * 24);
  auto out = drain_user(object);
  EXPECT_EQ(out.produced, 100u);
  EXPECT_EQ(out.out_of_order, 0u);
  EXPECT_EQ(out.sum, sum);
  EXPECT_EQ(commands.free_bytes(), PRODUCER_USER_RING_BYTES);
  EXPECT_EQ(drain_user(object, out.next_seq).produced, 0u) << "nothing twice";
}

TEST_F(UserRingBufferTest, FullRingRefusesUntilDrained) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::user_ring_buffer commands(object.map("user_ring"));
  std::uint64_t seq = 0, sum = 0;
  while (commands.write(user_record{seq, seq + 7})) sum += seq++ + 7;
  EXPECT_EQ(seq, PRODUCER_USER_RING_BYTES / 24) << "filled completely: 24 bytes per record";
  EXPECT_FALSE(commands.fits(sizeof(user_record)));
  EXPECT_LT(commands.free_bytes(), 24u);
  EXPECT_FALSE(commands.reserve(sizeof(user_record)));

  auto out = drain_user(object);
  EXPECT_EQ(out.produced, seq);
  EXPECT_EQ(out.sum, sum);
  EXPECT_EQ(out.out_of_order, 0u);
  EXPECT_TRUE(commands.fits(sizeof(user_record)));
  EXPECT_TRUE(commands.wait_for_space(1000ms)) << "the drain woke the producer";
  EXPECT_TRUE(ready(commands.map_fd(), POLLOUT));
  // Wrap around a few times.
  for (int round = 0; round < 10; ++round) {
    std::uint64_t first = seq;
    while (commands.write(user_record{seq, 1})) ++seq;
    out = drain_user(object, first);
    EXPECT_EQ(out.produced, seq - first);
    EXPECT_EQ(out.out_of_order, 0u);
  }
}

TEST_F(UserRingBufferTest, DiscardedRecordsAreSkipped) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::user_ring_buffer commands(object.map("user_ring"));
  auto a = commands.reserve(sizeof(user_record));
  auto b = commands.reserve(sizeof(user_record));
  auto c = commands.reserve(sizeof(user_record));
  ASSERT_TRUE(a && b && c);
  user_record records[3] = {{0, 10}, {1, 20}, {1, 30}};
  std::memcpy(a->data(), &records[0], sizeof(user_record));
  std::memcpy(b->data(), &records[1], sizeof(user_record));
  std::memcpy(c->data(), &records[2], sizeof(user_record));
  commands.submit(*c);
  EXPECT_EQ(drain_user(object).produced, 0u) << "held back by the outstanding reservation a";
  commands.submit(*a);
  commands.discard(*b);
  auto out = drain_user(object);
  EXPECT_EQ(out.produced, 2u);
  EXPECT_EQ(out.sum, 40u);
  EXPECT_EQ(out.out_of_order, 0u) << "b (seq 1) was skipped, c took its place";
  EXPECT_THROW(commands.submit(*a), ebpf::error) << "already submitted";
}

TEST_F(UserRingBufferTest, ReserveBlockingWaitsForTheKernel) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::user_ring_buffer commands(object.map("user_ring"));
  std::uint64_t seq = 0;
  while (commands.write(user_record{seq, 1})) ++seq;
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(commands.reserve_blocking(sizeof(user_record), 50ms)) << "nobody drains";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);

  std::thread kernel_side([&] {
    std::this_thread::sleep_for(100ms);
    drain_user(object);
  });
  auto record = commands.reserve_blocking(sizeof(user_record), 10s);
  kernel_side.join();
  ASSERT_TRUE(record);
  user_record value{seq, 5};
  std::memcpy(record->data(), &value, sizeof value);
  commands.submit(*record);
  auto out = drain_user(object, seq);
  EXPECT_EQ(out.produced, 1u);
  EXPECT_EQ(out.sum, 5u);
}

TEST_F(UserRingBufferTest, FdSignalsDrains) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::user_ring_buffer commands(object.map("user_ring"));
  ASSERT_GE(commands.fd(), 3);
  EXPECT_TRUE(kernel_test::is_cloexec(commands.fd()));
  EXPECT_TRUE(commands.wait_for_space(0ms)) << "the first look reports the free space";
  EXPECT_FALSE(ready(commands.fd(), POLLIN)) << "then only drains wake it";
  ASSERT_TRUE(commands.write(user_record{0, 1}));
  EXPECT_FALSE(ready(commands.fd(), POLLIN, 50));
  EXPECT_EQ(drain_user(object).produced, 1u);
  EXPECT_TRUE(ready(commands.fd(), POLLIN, 1000));
  EXPECT_TRUE(commands.wait_for_space(0ms));
  EXPECT_FALSE(commands.wait_for_space(0ms));
}

TEST_F(UserRingBufferTest, MisuseIsAnError) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::user_ring_buffer commands(object.map("user_ring"));
  EXPECT_EQ(commands.max_record_size(), PRODUCER_USER_RING_BYTES - 8);
  try {
    (void)commands.reserve(PRODUCER_USER_RING_BYTES);
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("map 'user_ring': user ring buffer: reserve"),
              std::string::npos)
        << e.what();
  }
  std::byte elsewhere[16];
  EXPECT_THROW(commands.submit(elsewhere), ebpf::error);
  EXPECT_THROW(ebpf::user_ring_buffer(object.map("ring")), ebpf::error);
  ebpf::user_ring_buffer moved(std::move(commands));
  EXPECT_FALSE(commands.fits(1));
  EXPECT_TRUE(moved.write(user_record{0, 1}));
}

}  // namespace
