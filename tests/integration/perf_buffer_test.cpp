// ebpf::perf_buffer against a real perf event array, fed by produce_perf
// (ringbuf_producer.bpf.c) run through BPF_PROG_TEST_RUN on a chosen CPU: records carry their
// CPU, exact counts and order per CPU, overflow reported as PERF_RECORD_LOST with the exact
// count, wrap-around of a one-page ring, wakeup by events or watermark.
#include <ebpf/ebpf.hpp>
#include <ebpf/perf_buffer.hpp>

#include "fixture.hpp"
#include "ring_producer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <map>
#include <poll.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ebpf::ring::perf_record;
using ebpf_test::is_record;
using ebpf_test::produce_perf;

class PerfBufferTest : public ebpf_test::kernel_test {
 protected:
  static std::uint64_t produced(ebpf::object& object) {
    return object.global<std::uint64_t>("perf_produced");
  }
  static std::uint64_t failed(ebpf::object& object) {
    return object.global<std::uint64_t>("perf_failed");
  }
};

bool readable(int fd, int timeout_ms = 0) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// A perf sample holds the record plus padding up to (size + 4) % 8 == 0.
std::size_t padded(std::size_t size) { return (size + 4 + 7) / 8 * 8 - 4; }

TEST_F(PerfBufferTest, RecordsCarryTheirCpu) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer events(object.map("events"));
  auto cpus = events.cpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_EQ(cpus.size(), events.size());
  for (std::uint32_t cpu : cpus) produce_perf(object, cpu, 100 + cpu, 36, cpu * 100000ull);

  std::map<std::uint32_t, std::uint64_t> next;
  std::size_t total = events.consume([&](const perf_record& record) {
    ASSERT_FALSE(record.is_lost());
    EXPECT_EQ(record.data.size(), padded(36));
    auto& expected = next.try_emplace(record.cpu, record.cpu * 100000ull).first->second;
    EXPECT_TRUE(is_record(record.data, expected, 36));
    EXPECT_EQ(ebpf_test::header_of(record.data).cpu, record.cpu) << "the program ran on that CPU";
    ++expected;
  });
  std::size_t expected_total = 0;
  for (std::uint32_t cpu : cpus) {
    expected_total += 100 + cpu;
    EXPECT_EQ(next[cpu], cpu * 100000ull + 100 + cpu) << "CPU " << cpu;
  }
  EXPECT_EQ(total, expected_total);
  EXPECT_EQ(events.samples(), expected_total);
  EXPECT_EQ(events.lost(), 0u);
  EXPECT_EQ(produced(object), expected_total);
  EXPECT_EQ(failed(object), 0u);
}

TEST_F(PerfBufferTest, OverflowIsReportedAsLostWithTheExactCount) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer_options options;
  options.pages_per_cpu = 1;
  ebpf::perf_buffer events(object.map("events"), options);
  const std::uint32_t cpu = events.cpus().front();

  produce_perf(object, cpu, 200, 64);  // 80 bytes each: 51 fit one page
  const std::uint64_t written = produced(object), dropped = failed(object);
  EXPECT_EQ(written + dropped, 200u);
  EXPECT_EQ(written, 4095u / 80);

  std::uint64_t expected = 0;
  events.consume([&](const perf_record& record) {
    ASSERT_FALSE(record.is_lost()) << "the loss is reported only when a later sample fits";
    EXPECT_TRUE(is_record(record.data, expected++, 64));
  });
  EXPECT_EQ(expected, written);

  produce_perf(object, cpu, 1, 64, 1000);
  std::vector<perf_record> records;
  events.consume([&](const perf_record& record) { records.push_back(record); });
  ASSERT_EQ(records.size(), 2u);
  EXPECT_TRUE(records[0].is_lost());
  EXPECT_EQ(records[0].lost, dropped);
  EXPECT_EQ(records[0].cpu, cpu);
  EXPECT_FALSE(records[1].is_lost());
  EXPECT_EQ(events.lost(), dropped);
  EXPECT_EQ(events.samples(), written + 1);
}

TEST_F(PerfBufferTest, OnePageRingWrapsAroundOverManyRounds) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer_options options;
  options.pages_per_cpu = 1;
  ebpf::perf_buffer events(object.map("events"), options);
  const std::uint32_t cpu = events.cpus().back();
  // 40-byte records take 56 bytes: 4096 is no multiple of that, so records straddle the end of
  // the data and come out of the scratch copy.
  std::uint64_t expected = 0;
  for (int round = 0; round < 50; ++round) {
    std::uint32_t size = round % 2 ? 40 : 16 + round % 29;
    produce_perf(object, cpu, 60, size, expected);
    std::size_t got = events.consume([&](const perf_record& record) {
      ASSERT_FALSE(record.is_lost());
      EXPECT_EQ(record.cpu, cpu);
      EXPECT_TRUE(is_record(record.data, expected++, size));
    });
    ASSERT_EQ(got, 60u) << "round " << round;
  }
  EXPECT_EQ(failed(object), 0u);
  EXPECT_GT(events.consumer(events.size() - 1).committed_position(), 30u * 4096);
}

TEST_F(PerfBufferTest, BatchesCommitOnce) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer events(object.map("events"));
  const std::uint32_t cpu = events.cpus().front();
  produce_perf(object, cpu, 30, 16);
  std::array<perf_record, 64> batch{};
  std::size_t n = events.read_batch(batch);
  ASSERT_EQ(n, 30u);
  const auto& ring = events.consumer(0);
  EXPECT_EQ(ring.committed_position(), 0u);
  for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(is_record(batch[i].data, i, 16));
  events.commit();
  EXPECT_EQ(ring.committed_position(), ring.head_position());
  EXPECT_FALSE(events.prepare_wait());
}

TEST_F(PerfBufferTest, WakeupEveryNEvents) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer_options options;
  options.wakeup_events = 10;
  ebpf::perf_buffer events(object.map("events"), options);
  const std::uint32_t cpu = events.cpus().front();
  EXPECT_FALSE(readable(events.fd()));
  produce_perf(object, cpu, 9, 16);
  EXPECT_FALSE(readable(events.fd(), 100)) << "9 samples do not wake the reader";
  produce_perf(object, cpu, 1, 16, 9);
  EXPECT_TRUE(readable(events.fd(), 1000)) << "the 10th does";
  EXPECT_EQ(events.consume([](const perf_record&) {}), 10u);
}

TEST_F(PerfBufferTest, WakeupAtTheWatermark) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer_options options;
  options.pages_per_cpu = 2;
  options.watermark_bytes = 2048;
  ebpf::perf_buffer events(object.map("events"), options);
  const std::uint32_t cpu = events.cpus().front();
  produce_perf(object, cpu, 5, 32);  // 5 * 48 bytes
  EXPECT_FALSE(readable(events.fd(), 100)) << "below the watermark: no wakeup";
  EXPECT_EQ(events.poll(10ms, [](const perf_record&) {}), 5u)
      << "but the records are there for whoever looks";
  produce_perf(object, cpu, 50, 32, 5);  // 2400 bytes
  EXPECT_TRUE(readable(events.fd(), 1000));
  EXPECT_EQ(events.consume([](const perf_record&) {}), 50u);
}

TEST_F(PerfBufferTest, PollWaitsForAWakeup) {
  auto object = ebpf_test::load_ringbuf_producer();
  ebpf::perf_buffer events(object.map("events"));
  EXPECT_EQ(events.poll(10ms, [](const perf_record&) {}), 0u);
  for (std::uint32_t cpu : events.cpus()) produce_perf(object, cpu, 3, 16);
  std::size_t total = 0;
  for (int i = 0; i < 10 && total < 3 * events.size(); ++i) {
    total += events.poll(1000ms, [](const perf_record&) {});
  }
  EXPECT_EQ(total, 3 * events.size());
}

TEST_F(PerfBufferTest, DestructionClearsTheMapSlots) {
  auto object = ebpf_test::load_ringbuf_producer();
  std::uint32_t cpu = 0;
  {
    ebpf::perf_buffer events(object.map("events"));
    cpu = events.cpus().front();
    produce_perf(object, cpu, 4, 16);
    EXPECT_EQ(produced(object), 4u);
  }
  produce_perf(object, cpu, 4, 16);
  EXPECT_EQ(produced(object), 4u);
  EXPECT_EQ(failed(object), 4u) << "no event in the slot any more (-ENOENT)";
}

TEST_F(PerfBufferTest, RefusesOtherMapTypesAndBadOptions) {
  auto object = ebpf_test::load_ringbuf_producer();
  try {
    ebpf::perf_buffer events(object.map("ring"));
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
  }
  ebpf::perf_buffer_options options;
  options.pages_per_cpu = 3;
  try {
    ebpf::perf_buffer events(object.map("events"), options);
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("power of two"), std::string::npos) << e.what();
  }
}

}  // namespace
