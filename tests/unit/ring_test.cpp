// The ring algorithms (include/ebpf/ring.hpp) over heap buffers, against fake producers and
// consumers that follow the kernel's side of each protocol (kernel/bpf/ringbuf.c,
// kernel/events/ring_buffer.c).
#include <ebpf/error.hpp>
#include <ebpf/ring.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ebpf::ring::busy_bit;
using ebpf::ring::discard_bit;
using ebpf::ring::header_size;
using ebpf::ring::perf_record;
using ebpf::ring::read_state;
using ebpf::ring::record_footprint;
using bytes = std::span<const std::byte>;

std::uint64_t load(const std::uint64_t& word) { return __atomic_load_n(&word, __ATOMIC_ACQUIRE); }
void store(std::uint64_t& word, std::uint64_t value) { __atomic_store_n(&word, value, __ATOMIC_RELEASE); }

// The byte a record with sequence number `seq` holds at offset `i`.
std::byte pattern(std::uint64_t seq, std::size_t i) {
  return static_cast<std::byte>((seq * 31 + i * 7 + 1) & 0xff);
}

bool matches(bytes record, std::uint64_t seq) {
  for (std::size_t i = 0; i < record.size(); ++i)
    if (record[i] != pattern(seq, i)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// A BPF ring buffer whose producer behaves like the kernel's (__bpf_ringbuf_reserve,
// bpf_ringbuf_commit). The data area is 2 * capacity bytes; every write goes to both halves,
// standing in for the kernel's double mapping of the data pages.
class fake_ringbuf {
 public:
  explicit fake_ringbuf(std::size_t capacity) : capacity_(capacity), storage_(capacity / 4) {}

  std::uint64_t consumer_pos = 0;
  std::uint64_t producer_pos = 0;

  std::span<std::byte> data() { return {reinterpret_cast<std::byte*>(storage_.data()), 2 * capacity_}; }
  ebpf::ring::ringbuf_consumer consumer() { return {&consumer_pos, &producer_pos, data()}; }

  // Reserves `size` bytes as the kernel does (at most capacity - 1 bytes ahead of the consumer);
  // the record's position, or nullopt when full.
  std::optional<std::uint64_t> reserve(std::uint32_t size) {
    std::uint64_t footprint = record_footprint(size);
    std::uint64_t position = producer_pos;
    if (position + footprint - load(consumer_pos) > capacity_ - 1) return std::nullopt;
    write_header(position, size | busy_bit);
    store(producer_pos, position + footprint);
    return position;
  }
  void fill(std::uint64_t position, std::uint32_t size, std::uint64_t seq) {
    for (std::uint32_t i = 0; i < size; ++i) put(position + header_size + i, pattern(seq, i));
  }
  void commit(std::uint64_t position, bool discard = false) {
    std::uint32_t len = header(position) & ~busy_bit;
    if (discard) len |= discard_bit;
    write_header(position, len);
  }
  // reserve + fill + commit; false when full.
  bool output(std::uint32_t size, std::uint64_t seq, bool discard = false) {
    auto position = reserve(size);
    if (!position) return false;
    fill(*position, size, seq);
    commit(*position, discard);
    return true;
  }
  std::uint32_t header(std::uint64_t position) {
    std::uint32_t len;
    std::memcpy(&len, data().data() + (position & (capacity_ - 1)), 4);
    return len;
  }
  void write_header(std::uint64_t position, std::uint32_t len) {
    std::size_t offset = position & (capacity_ - 1);
    for (std::size_t copy : {offset, offset + capacity_}) {
      __atomic_store_n(reinterpret_cast<std::uint32_t*>(data().data() + copy), len, __ATOMIC_RELEASE);
    }
  }
  void put(std::uint64_t position, std::byte value) {
    std::size_t offset = position & (capacity_ - 1);
    data()[offset] = value;
    data()[offset + capacity_] = value;
  }

 private:
  std::size_t capacity_;
  std::vector<std::uint64_t> storage_;  // 8-byte aligned, 2 * capacity bytes
};

TEST(RingbufConsumerTest, EmptyRingHasNothing) {
  fake_ringbuf ring(64);
  auto consumer = ring.consumer();
  EXPECT_FALSE(consumer.next());
  EXPECT_EQ(consumer.state(), read_state::empty);
  EXPECT_EQ(consumer.capacity(), 64u);
  EXPECT_FALSE(consumer.prepare_wait());
  ebpf::ring::ringbuf_consumer nothing;
  EXPECT_FALSE(nothing.next());
  EXPECT_FALSE(nothing.prepare_wait());
  EXPECT_EQ(nothing.capacity(), 0u);
}

TEST(RingbufConsumerTest, ReadsRecordsInOrderWithTheirSizes) {
  fake_ringbuf ring(256);
  ASSERT_TRUE(ring.output(1, 0));
  ASSERT_TRUE(ring.output(8, 1));
  ASSERT_TRUE(ring.output(13, 2));
  ASSERT_TRUE(ring.output(0, 3));
  auto consumer = ring.consumer();
  std::array<bytes, 8> out{};
  ASSERT_EQ(consumer.read_batch(out), 4u);
  EXPECT_EQ(out[0].size(), 1u);
  EXPECT_EQ(out[1].size(), 8u);
  EXPECT_EQ(out[2].size(), 13u);
  EXPECT_EQ(out[3].size(), 0u);
  for (std::uint64_t seq = 0; seq < 4; ++seq) EXPECT_TRUE(matches(out[seq], seq)) << seq;
  EXPECT_EQ(consumer.state(), read_state::empty);
  EXPECT_EQ(consumer.records(), 4u);
  EXPECT_EQ(consumer.bytes(), 22u);
  // Headers and padding: 16 + 16 + 24 + 8.
  EXPECT_EQ(consumer.read_position(), 64u);
}

TEST(RingbufConsumerTest, CommitPublishesThePositionOncePerBatch) {
  fake_ringbuf ring(256);
  for (std::uint64_t seq = 0; seq < 5; ++seq) ASSERT_TRUE(ring.output(16, seq));
  auto consumer = ring.consumer();
  std::array<bytes, 2> out{};
  ASSERT_EQ(consumer.read_batch(out), 2u);
  EXPECT_EQ(consumer.state(), read_state::ready);
  EXPECT_EQ(ring.consumer_pos, 0u) << "reading does not commit: the views stay valid";
  EXPECT_TRUE(matches(out[0], 0));
  EXPECT_TRUE(matches(out[1], 1));
  ASSERT_EQ(consumer.read_batch(out), 2u);  // partial reads continue where the last stopped
  EXPECT_TRUE(matches(out[0], 2));
  EXPECT_TRUE(matches(out[1], 3));
  EXPECT_EQ(ring.consumer_pos, 0u);
  consumer.commit();
  EXPECT_EQ(ring.consumer_pos, 4 * record_footprint(16));
  EXPECT_EQ(consumer.committed_position(), ring.consumer_pos);
  ASSERT_EQ(consumer.read_batch(out), 1u);
  EXPECT_TRUE(matches(out[0], 4));
  consumer.commit();
  EXPECT_EQ(ring.consumer_pos, 5 * record_footprint(16));
}

TEST(RingbufConsumerTest, ResumesFromTheCommittedPosition) {
  fake_ringbuf ring(256);
  for (std::uint64_t seq = 0; seq < 3; ++seq) ASSERT_TRUE(ring.output(10, seq));
  {
    auto first = ring.consumer();
    ASSERT_TRUE(first.next());
    first.commit();
    ASSERT_TRUE(first.next());  // read but not committed: a later consumer sees it again
  }
  auto second = ring.consumer();
  auto record = second.next();
  ASSERT_TRUE(record);
  EXPECT_TRUE(matches(*record, 1));
}

TEST(RingbufConsumerTest, WrapsAroundOverManyRounds) {
  // 24-byte footprints do not divide the capacity, so records straddle its end and are read
  // through the second mapping; sizes vary so every offset is hit.
  fake_ringbuf ring(128);
  auto consumer = ring.consumer();
  std::uint64_t produced = 0, consumed = 0, straddling = 0;
  for (int round = 0; round < 2000; ++round) {
    std::uint32_t size = 1 + static_cast<std::uint32_t>(round % 37);
    while (ring.output(size, produced)) {
      std::uint64_t start = (ring.producer_pos - record_footprint(size)) % 128;
      if (start + record_footprint(size) > 128) ++straddling;
      ++produced;
    }
    std::array<bytes, 3> out{};
    for (;;) {
      std::size_t n = consumer.read_batch(out);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(out[i].size(), size);
        ASSERT_TRUE(matches(out[i], consumed)) << "record " << consumed;
        ++consumed;
      }
      consumer.commit();
      if (n < out.size()) break;
    }
    ASSERT_EQ(consumer.state(), read_state::empty);
  }
  EXPECT_EQ(consumed, produced);
  EXPECT_GT(ring.producer_pos, 100u * 128) << "positions went around the ring many times";
  EXPECT_GT(straddling, 100u);
}

TEST(RingbufConsumerTest, SkipsDiscardedRecords) {
  fake_ringbuf ring(256);
  ASSERT_TRUE(ring.output(12, 0));
  ASSERT_TRUE(ring.output(40, 1, /*discard=*/true));
  ASSERT_TRUE(ring.output(12, 2));
  ASSERT_TRUE(ring.output(4, 3, true));
  auto consumer = ring.consumer();
  std::array<bytes, 8> out{};
  ASSERT_EQ(consumer.read_batch(out), 2u);
  EXPECT_TRUE(matches(out[0], 0));
  EXPECT_TRUE(matches(out[1], 2));
  EXPECT_EQ(consumer.discarded(), 2u);
  consumer.commit();
  EXPECT_EQ(ring.consumer_pos, ring.producer_pos) << "discarded records are consumed too";
}

TEST(RingbufConsumerTest, StopsAtABusyRecordUntilItIsSubmitted) {
  fake_ringbuf ring(256);
  ASSERT_TRUE(ring.output(8, 0));
  auto pending = ring.reserve(8);  // reserved, still being written
  ASSERT_TRUE(pending);
  ASSERT_TRUE(ring.output(8, 2));  // submitted after it, out of order
  auto consumer = ring.consumer();
  std::array<bytes, 8> out{};
  ASSERT_EQ(consumer.read_batch(out), 1u);
  EXPECT_EQ(consumer.state(), read_state::busy);
  EXPECT_FALSE(consumer.next()) << "still busy";
  EXPECT_FALSE(consumer.prepare_wait()) << "a busy record is nothing to read yet";
  EXPECT_EQ(ring.consumer_pos, record_footprint(8)) << "prepare_wait commits up to the busy record";
  ring.fill(*pending, 8, 1);
  ring.commit(*pending);
  EXPECT_TRUE(consumer.prepare_wait());
  ASSERT_EQ(consumer.read_batch(out), 2u);
  EXPECT_TRUE(matches(out[0], 1));
  EXPECT_TRUE(matches(out[1], 2));
}

TEST(RingbufConsumerTest, PrepareWaitCommitsAndSeesNewRecords) {
  fake_ringbuf ring(256);
  auto consumer = ring.consumer();
  ASSERT_TRUE(ring.output(8, 0));
  EXPECT_TRUE(consumer.prepare_wait());
  ASSERT_TRUE(consumer.next());
  EXPECT_FALSE(consumer.prepare_wait());
  EXPECT_EQ(ring.consumer_pos, ring.producer_pos) << "caught up and published: the kernel wakes us";
  ASSERT_TRUE(ring.output(8, 1));
  EXPECT_TRUE(consumer.prepare_wait());
}

TEST(RingbufConsumerTest, DrainCallsBackCommitsAndStopsOnFalse) {
  fake_ringbuf ring(4096);
  for (std::uint64_t seq = 0; seq < 100; ++seq) ASSERT_TRUE(ring.output(8, seq));
  auto consumer = ring.consumer();
  std::uint64_t seen = 0;
  std::size_t count = consumer.drain([&](bytes record) {
    EXPECT_TRUE(matches(record, seen));
    return ++seen < 70;
  });
  EXPECT_EQ(count, 70u);
  EXPECT_EQ(ring.consumer_pos, 70 * record_footprint(8)) << "committed through the record that stopped it";
  count = consumer.drain([&](bytes record) { EXPECT_TRUE(matches(record, seen++)); });
  EXPECT_EQ(count, 30u);
  EXPECT_EQ(ring.consumer_pos, ring.producer_pos);
}

TEST(RingbufConsumerTest, DrainCommitsWhenTheCallbackThrows) {
  fake_ringbuf ring(256);
  for (std::uint64_t seq = 0; seq < 4; ++seq) ASSERT_TRUE(ring.output(8, seq));
  auto consumer = ring.consumer();
  int calls = 0;
  EXPECT_THROW(consumer.drain([&](bytes) {
    if (++calls == 2) throw std::runtime_error("callback failed");
  }),
               std::runtime_error);
  EXPECT_EQ(ring.consumer_pos, 2 * record_footprint(8)) << "no record is delivered twice";
  EXPECT_EQ(consumer.drain([](bytes) {}), 2u);
}

TEST(RingbufConsumerTest, DrainCommitsEvery64Records) {
  fake_ringbuf ring(8192);
  for (std::uint64_t seq = 0; seq < 130; ++seq) ASSERT_TRUE(ring.output(8, seq));
  auto consumer = ring.consumer();
  std::vector<std::uint64_t> committed_at;
  consumer.drain([&](bytes) { committed_at.push_back(ring.consumer_pos); });
  ASSERT_EQ(committed_at.size(), 130u);
  EXPECT_EQ(committed_at[63], 0u);
  EXPECT_EQ(committed_at[64], 64 * record_footprint(8));
  EXPECT_EQ(committed_at[129], 128 * record_footprint(8));
  EXPECT_EQ(ring.consumer_pos, 130 * record_footprint(8));
}

TEST(RingbufConsumerTest, InconsistentRingsStopWithoutReadingOutOfBounds) {
  {
    fake_ringbuf ring(64);
    ASSERT_TRUE(ring.output(8, 0));
    ring.write_header(0, 200);  // longer than what was produced
    auto consumer = ring.consumer();
    EXPECT_FALSE(consumer.next());
    EXPECT_EQ(consumer.state(), read_state::corrupt);
    EXPECT_EQ(consumer.read_position(), 0u) << "stays at the bad record";
    EXPECT_FALSE(consumer.next());
    EXPECT_EQ(consumer.state(), read_state::corrupt);
  }
  {
    fake_ringbuf ring(64);
    auto consumer = ring.consumer();
    ring.producer_pos = 1000;  // more than a capacity ahead
    EXPECT_FALSE(consumer.next());
    EXPECT_EQ(consumer.state(), read_state::corrupt);
  }
  {
    fake_ringbuf ring(64);
    auto consumer = ring.consumer();
    ring.producer_pos = 4;  // less than a header
    EXPECT_FALSE(consumer.next());
    EXPECT_EQ(consumer.state(), read_state::corrupt);
  }
}

TEST(RingbufConsumerTest, ConstructorChecksTheGeometry) {
  alignas(8) std::uint64_t positions[2] = {0, 0};
  std::vector<std::uint64_t> storage(64);
  auto data = std::as_writable_bytes(std::span(storage));
  using ebpf::ring::ringbuf_consumer;
  EXPECT_NO_THROW(ringbuf_consumer(&positions[0], &positions[1], data.first(128)));
  EXPECT_THROW(ringbuf_consumer(&positions[0], &positions[1], data.first(96)), ebpf::error)
      << "48 is not a power of two";
  EXPECT_THROW(ringbuf_consumer(&positions[0], &positions[1], data.first(8)), ebpf::error);
  EXPECT_THROW(ringbuf_consumer(nullptr, &positions[1], data.first(128)), ebpf::error);
  EXPECT_THROW(ringbuf_consumer(&positions[0], &positions[1], data.subspan(4, 128)), ebpf::error)
      << "misaligned data";
  positions[1] = 72;  // producer more than 64 bytes ahead
  try {
    ringbuf_consumer(&positions[0], &positions[1], data.first(128));
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("producer 72"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// A user ring buffer whose consumer behaves like the kernel's bpf_user_ringbuf_drain
// (__bpf_user_ringbuf_peek, __bpf_user_ringbuf_sample_release).
class fake_user_ringbuf {
 public:
  explicit fake_user_ringbuf(std::size_t capacity) : capacity_(capacity), storage_(capacity / 4) {}

  std::uint64_t consumer_pos = 0;
  std::uint64_t producer_pos = 0;

  std::span<std::byte> data() { return {reinterpret_cast<std::byte*>(storage_.data()), 2 * capacity_}; }
  ebpf::ring::user_ringbuf_producer producer() { return {&consumer_pos, &producer_pos, data()}; }

  struct drained {
    std::vector<std::vector<std::byte>> records;
    std::size_t discarded = 0;
    int error = 0;  // the kernel's errno for a malformed record
  };
  // Drains like the kernel; the producer writes a wrapped record past the end of the first copy,
  // which the real double mapping shows at the start: read it where it was written.
  drained drain() {
    drained result;
    for (;;) {
      std::uint64_t produced = load(producer_pos);
      if (produced % 8 != 0) return result.error = EINVAL, result;
      std::uint64_t consumed = load(consumer_pos);
      if (consumed >= produced) return result;
      const std::byte* header = data().data() + (consumed & (capacity_ - 1));
      std::uint32_t len = __atomic_load_n(reinterpret_cast<const std::uint32_t*>(header), __ATOMIC_ACQUIRE);
      std::uint32_t size = len & ~(busy_bit | discard_bit);
      std::uint64_t total = record_footprint(size);
      if (total > produced - consumed) return result.error = EINVAL, result;
      if (total > capacity_) return result.error = E2BIG, result;
      if (len & discard_bit) {
        ++result.discarded;
        store(consumer_pos, consumed + total);
        continue;
      }
      if (len & busy_bit) return result;  // -ENODATA: wait for it
      result.records.emplace_back(header + header_size, header + header_size + size);
      store(consumer_pos, consumed + total);
    }
  }

 private:
  std::size_t capacity_;
  std::vector<std::uint64_t> storage_;
};

void fill(std::span<std::byte> record, std::uint64_t seq) {
  for (std::size_t i = 0; i < record.size(); ++i) record[i] = pattern(seq, i);
}

bool matches(const std::vector<std::byte>& record, std::uint64_t seq) {
  return matches(bytes(record), seq);
}

TEST(UserRingbufProducerTest, SubmittedRecordsReachTheKernelInOrder) {
  fake_user_ringbuf ring(256);
  auto producer = ring.producer();
  for (std::uint64_t seq = 0; seq < 3; ++seq) {
    auto record = producer.reserve(5 + seq * 8);
    ASSERT_TRUE(record);
    ASSERT_EQ(record->size(), 5 + seq * 8);
    fill(*record, seq);
    EXPECT_TRUE(producer.submit(*record));
  }
  auto drained = ring.drain();
  ASSERT_EQ(drained.error, 0);
  ASSERT_EQ(drained.records.size(), 3u);
  for (std::uint64_t seq = 0; seq < 3; ++seq) EXPECT_TRUE(matches(drained.records[seq], seq));
  EXPECT_EQ(ring.consumer_pos, ring.producer_pos);
  EXPECT_EQ(producer.free_bytes(), 256u);
}

TEST(UserRingbufProducerTest, FullRingRefusesUntilTheKernelDrains) {
  fake_user_ringbuf ring(256);
  auto producer = ring.producer();
  std::uint64_t seq = 0;
  while (auto record = producer.reserve(24)) {  // 32 bytes each
    fill(*record, seq++);
    ASSERT_TRUE(producer.submit(*record));
  }
  EXPECT_EQ(seq, 8u) << "a user ring can be filled completely";
  EXPECT_EQ(producer.free_bytes(), 0u);
  EXPECT_FALSE(producer.reserve(0)) << "not even an empty record fits";
  auto drained = ring.drain();
  ASSERT_EQ(drained.records.size(), 8u);
  EXPECT_EQ(producer.free_bytes(), 256u);
  auto record = producer.reserve(24);
  ASSERT_TRUE(record);
  EXPECT_TRUE(producer.submit(*record));
}

TEST(UserRingbufProducerTest, DiscardedRecordsAreSkippedByTheKernel) {
  fake_user_ringbuf ring(256);
  auto producer = ring.producer();
  auto a = producer.reserve(8), b = producer.reserve(8), c = producer.reserve(8);
  ASSERT_TRUE(a && b && c);
  fill(*a, 0);
  fill(*c, 2);
  EXPECT_TRUE(producer.submit(*a));
  EXPECT_TRUE(producer.discard(*b));
  EXPECT_TRUE(producer.submit(*c));
  auto drained = ring.drain();
  ASSERT_EQ(drained.records.size(), 2u);
  EXPECT_TRUE(matches(drained.records[0], 0));
  EXPECT_TRUE(matches(drained.records[1], 2));
  EXPECT_EQ(drained.discarded, 1u);
}

TEST(UserRingbufProducerTest, AnOutstandingReservationHoldsBackLaterRecords) {
  fake_user_ringbuf ring(256);
  auto producer = ring.producer();
  auto first = producer.reserve(8);
  auto second = producer.reserve(8);
  ASSERT_TRUE(first && second);
  fill(*second, 1);
  ASSERT_TRUE(producer.submit(*second));
  EXPECT_TRUE(ring.drain().records.empty()) << "the kernel stops at the busy record";
  fill(*first, 0);
  ASSERT_TRUE(producer.submit(*first));
  auto drained = ring.drain();
  ASSERT_EQ(drained.records.size(), 2u);
  EXPECT_TRUE(matches(drained.records[0], 0));
  EXPECT_TRUE(matches(drained.records[1], 1));
}

TEST(UserRingbufProducerTest, RecordSizeLimits) {
  fake_user_ringbuf ring(256);
  auto producer = ring.producer();
  EXPECT_EQ(producer.max_record_size(), 248u);
  EXPECT_FALSE(producer.reserve(249)) << "never fits";
  auto whole = producer.reserve(248);
  ASSERT_TRUE(whole) << "the largest record fills an empty ring";
  EXPECT_EQ(producer.free_bytes(), 0u);
  ASSERT_TRUE(producer.discard(*whole));
  EXPECT_EQ(ring.drain().discarded, 1u);
  EXPECT_FALSE(producer.reserve(std::size_t{1} << 40));
}

TEST(UserRingbufProducerTest, SubmitRefusesWhatWasNotReserved) {
  fake_user_ringbuf ring(256);
  auto producer = ring.producer();
  auto record = producer.reserve(16);
  ASSERT_TRUE(record);
  std::vector<std::byte> elsewhere(16);
  EXPECT_FALSE(producer.submit(elsewhere));
  EXPECT_FALSE(producer.submit(record->subspan(8))) << "not the start of a record";
  EXPECT_FALSE(producer.submit(record->first(8))) << "not the reserved size";
  EXPECT_FALSE(producer.submit({})) << "empty";
  EXPECT_TRUE(producer.submit(*record));
  EXPECT_FALSE(producer.submit(*record)) << "already submitted";
  EXPECT_FALSE(producer.discard(*record));
  ebpf::ring::user_ringbuf_producer nothing;
  EXPECT_FALSE(nothing.reserve(1));
  EXPECT_FALSE(nothing.submit(*record));
  EXPECT_EQ(nothing.free_bytes(), 0u);
}

TEST(UserRingbufProducerTest, WrapsAroundOverManyRounds) {
  fake_user_ringbuf ring(128);
  auto producer = ring.producer();
  std::uint64_t produced = 0, consumed = 0;
  for (int round = 0; round < 2000; ++round) {
    std::size_t size = 1 + static_cast<std::size_t>(round % 53);
    while (auto record = producer.reserve(size)) {
      fill(*record, produced++);
      ASSERT_TRUE(producer.submit(*record));
    }
    auto drained = ring.drain();
    ASSERT_EQ(drained.error, 0);
    for (const auto& record : drained.records) {
      ASSERT_EQ(record.size(), size);
      ASSERT_TRUE(matches(record, consumed)) << consumed;
      ++consumed;
    }
  }
  EXPECT_EQ(consumed, produced);
  EXPECT_GT(produced, 4000u);
}

// ---------------------------------------------------------------------------------------------
// A perf ring whose writer behaves like the kernel's perf_output_begin/perf_output_end for a
// BPF output event with PERF_SAMPLE_RAW: a full ring drops the sample and counts it; the next
// sample that fits is preceded by one PERF_RECORD_LOST with the count.
class fake_perf_ring {
 public:
  fake_perf_ring(std::size_t page_size, std::size_t data_size)
      : page_size_(page_size), data_size_(data_size), storage_((page_size + data_size) / 8) {
    word(ebpf::ring::perf_data_offset_offset) = page_size;
    word(ebpf::ring::perf_data_size_offset) = data_size;
  }

  std::span<std::byte> mapping() {
    return {reinterpret_cast<std::byte*>(storage_.data()), page_size_ + data_size_};
  }
  std::uint64_t& word(std::size_t offset) {
    return *reinterpret_cast<std::uint64_t*>(mapping().data() + offset);
  }
  std::uint64_t& head() { return word(ebpf::ring::perf_data_head_offset); }
  std::uint64_t& tail() { return word(ebpf::ring::perf_data_tail_offset); }
  ebpf::ring::perf_ring reader(std::uint32_t cpu = 3) {
    return ebpf::ring::perf_ring::from_mapping(mapping(), page_size_, cpu);
  }

  // Writes a raw sample of `size` bytes; false when it was lost.
  bool sample(std::uint32_t size, std::uint64_t seq) {
    std::uint32_t raw = (size + 4 + 7) / 8 * 8 - 4;  // padded as perf_prepare_sample does
    std::uint64_t record = 8 + 4 + raw;
    std::uint64_t needed = record + (lost_ ? 24 : 0);
    std::uint64_t position = head();
    if (position + needed - load(tail()) > data_size_) {
      ++lost_;
      return false;
    }
    if (lost_) {
      write_header(position, ebpf::ring::perf_record_lost, 24);
      write_u64(position + 8, 77);  // event id
      write_u64(position + 16, lost_);
      lost_ = 0;
      position += 24;
    }
    write_header(position, ebpf::ring::perf_record_sample, static_cast<std::uint16_t>(record));
    write_bytes(position + 8, &raw, 4);
    for (std::uint32_t i = 0; i < raw; ++i) {
      std::byte value = i < size ? pattern(seq, i) : std::byte{0};
      write_bytes(position + 12 + i, &value, 1);
    }
    store(head(), position + record);
    return true;
  }
  void other_record(std::uint32_t type, std::uint16_t size) {
    write_header(head(), type, size);
    store(head(), head() + size);
  }
  void write_header(std::uint64_t position, std::uint32_t type, std::uint16_t size) {
    std::uint16_t misc = 0;
    write_bytes(position, &type, 4);
    write_bytes(position + 4, &misc, 2);
    write_bytes(position + 6, &size, 2);
  }
  void write_u64(std::uint64_t position, std::uint64_t value) { write_bytes(position, &value, 8); }
  void write_bytes(std::uint64_t position, const void* source, std::size_t size) {
    auto* in = static_cast<const std::byte*>(source);
    std::byte* data = mapping().data() + page_size_;
    for (std::size_t i = 0; i < size; ++i) data[(position + i) % data_size_] = in[i];
  }
  std::uint64_t pending_lost() const { return lost_; }

 private:
  std::size_t page_size_, data_size_;
  std::vector<std::uint64_t> storage_;
  std::uint64_t lost_ = 0;
};

TEST(PerfRingTest, ReadsSamplesWithTheirPadding) {
  fake_perf_ring ring(4096, 4096);
  ASSERT_TRUE(ring.sample(16, 0));  // 16 + 4 -> 24: 20 bytes of raw data
  ASSERT_TRUE(ring.sample(4, 1));   // 4 + 4 = 8: no padding
  ASSERT_TRUE(ring.sample(1, 2));   // 1 + 4 -> 8: 4 bytes
  auto reader = ring.reader();
  std::array<perf_record, 8> out{};
  ASSERT_EQ(reader.read_batch(out), 3u);
  EXPECT_EQ(out[0].data.size(), 20u);
  EXPECT_EQ(out[1].data.size(), 4u);
  EXPECT_EQ(out[2].data.size(), 4u);
  EXPECT_TRUE(matches(out[0].data.first(16), 0));
  EXPECT_EQ(out[0].data[16], std::byte{0}) << "padding is zero";
  EXPECT_TRUE(matches(out[1].data, 1));
  EXPECT_TRUE(matches(out[2].data.first(1), 2));
  for (const auto& record : std::span(out).first(3)) {
    EXPECT_EQ(record.cpu, 3u);
    EXPECT_FALSE(record.is_lost());
  }
  EXPECT_EQ(reader.samples(), 3u);
  EXPECT_EQ(ring.tail(), 0u) << "not committed yet";
  reader.commit();
  EXPECT_EQ(ring.tail(), ring.head());
}

TEST(PerfRingTest, WrappedRecordsAreCopiedWhole) {
  fake_perf_ring ring(4096, 256);
  auto reader = ring.reader(1);
  std::uint64_t produced = 0, consumed = 0, wrapped = 0;
  for (int round = 0; round < 3000; ++round) {
    std::uint32_t size = 1 + static_cast<std::uint32_t>(round % 61);
    while (ring.sample(size, produced)) ++produced;  // the call that fails is one lost sample
    std::array<perf_record, 4> out{};
    const std::byte* data = ring.mapping().data() + 4096;
    for (;;) {
      std::size_t n = reader.read_batch(out);
      for (std::size_t i = 0; i < n; ++i) {
        if (out[i].is_lost()) continue;
        ASSERT_GE(out[i].data.size(), size);
        ASSERT_TRUE(matches(out[i].data.first(size), consumed)) << consumed;
        if (out[i].data.data() < data || out[i].data.data() >= data + 256) ++wrapped;
        ++consumed;
      }
      reader.commit();
      if (n < out.size()) break;
    }
  }
  EXPECT_EQ(consumed, produced);
  EXPECT_GT(wrapped, 100u) << "records crossing the end came from the scratch copy";
  EXPECT_EQ(reader.lost(), 3000u - 1) << "the last round's loss is reported by a later sample";
}

TEST(PerfRingTest, LostRecordsComeInOrderWithTheirCount) {
  fake_perf_ring ring(4096, 512);
  for (std::uint64_t seq = 0; seq < 7; ++seq) ASSERT_TRUE(ring.sample(60, seq));  // 72 bytes each
  for (int i = 0; i < 9; ++i) ASSERT_FALSE(ring.sample(60, 100));
  auto reader = ring.reader(0);
  std::array<perf_record, 16> out{};
  ASSERT_EQ(reader.read_batch(out), 7u) << "no lost record until space frees up";
  reader.commit();
  ASSERT_TRUE(ring.sample(60, 7));
  ASSERT_EQ(reader.read_batch(out), 2u);
  EXPECT_TRUE(out[0].is_lost());
  EXPECT_EQ(out[0].lost, 9u);
  EXPECT_TRUE(out[0].data.empty());
  EXPECT_EQ(out[0].cpu, 0u);
  EXPECT_FALSE(out[1].is_lost());
  EXPECT_TRUE(matches(out[1].data.first(60), 7));
  EXPECT_EQ(reader.lost(), 9u);
  EXPECT_EQ(reader.samples(), 8u);
}

TEST(PerfRingTest, SkipsOtherRecordTypes) {
  fake_perf_ring ring(4096, 512);
  ASSERT_TRUE(ring.sample(8, 0));
  ring.other_record(5 /* PERF_RECORD_THROTTLE */, 24);
  ASSERT_TRUE(ring.sample(8, 1));
  auto reader = ring.reader();
  std::array<perf_record, 8> out{};
  ASSERT_EQ(reader.read_batch(out), 2u);
  EXPECT_TRUE(matches(out[0].data.first(8), 0));
  EXPECT_TRUE(matches(out[1].data.first(8), 1));
  EXPECT_EQ(reader.skipped(), 1u);
}

TEST(PerfRingTest, DrainAndPrepareWait) {
  fake_perf_ring ring(4096, 4096);
  auto reader = ring.reader();
  EXPECT_FALSE(reader.prepare_wait());
  for (std::uint64_t seq = 0; seq < 10; ++seq) ASSERT_TRUE(ring.sample(8, seq));
  EXPECT_TRUE(reader.prepare_wait());
  std::uint64_t seen = 0;
  EXPECT_EQ(reader.drain([&](const perf_record& record) { EXPECT_TRUE(matches(record.data.first(8), seen++)); }), 10u);
  EXPECT_EQ(ring.tail(), ring.head());
  EXPECT_FALSE(reader.prepare_wait());
}

TEST(PerfRingTest, InconsistentRecordsStop) {
  {
    fake_perf_ring ring(4096, 512);
    ring.other_record(9, 4);  // a size below the header's own
    auto reader = ring.reader();
    EXPECT_FALSE(reader.next());
    EXPECT_EQ(reader.state(), read_state::corrupt);
    EXPECT_EQ(reader.read_position(), 0u);
  }
  {
    fake_perf_ring ring(4096, 512);
    ASSERT_TRUE(ring.sample(8, 0));
    ring.write_bytes(8, "\xff\x00\x00\x00", 4);  // raw size beyond the record
    auto reader = ring.reader();
    EXPECT_FALSE(reader.next());
    EXPECT_EQ(reader.state(), read_state::corrupt);
  }
  {
    fake_perf_ring ring(4096, 512);
    ring.write_header(0, 9, 64);
    store(ring.head(), 16);  // the record claims more than was produced
    auto reader = ring.reader();
    EXPECT_FALSE(reader.next());
    EXPECT_EQ(reader.state(), read_state::corrupt);
  }
  {
    fake_perf_ring ring(4096, 512);
    auto reader = ring.reader();
    store(ring.head(), 4096);  // more than the ring holds
    EXPECT_FALSE(reader.next());
    EXPECT_EQ(reader.state(), read_state::corrupt);
  }
}

TEST(PerfRingTest, FromMappingChecksTheLayout) {
  fake_perf_ring ring(4096, 512);
  auto reader = ring.reader();
  EXPECT_EQ(reader.capacity(), 512u);
  // A kernel before 4.1 leaves data_offset/data_size at 0: the data follows the first page.
  ring.word(ebpf::ring::perf_data_offset_offset) = 0;
  ring.word(ebpf::ring::perf_data_size_offset) = 0;
  EXPECT_EQ(ring.reader().capacity(), 512u);
  ring.word(ebpf::ring::perf_data_offset_offset) = 4096;
  ring.word(ebpf::ring::perf_data_size_offset) = 1024;  // beyond the mapping
  EXPECT_THROW(ring.reader(), ebpf::error);
  ring.word(ebpf::ring::perf_data_size_offset) = 384;  // not a power of two
  EXPECT_THROW(ring.reader(), ebpf::error);
  ring.word(ebpf::ring::perf_data_offset_offset) = 8;  // inside the control page's fields
  ring.word(ebpf::ring::perf_data_size_offset) = 512;
  EXPECT_THROW(ring.reader(), ebpf::error);
  EXPECT_THROW(ebpf::ring::perf_ring::from_mapping(ring.mapping().first(4096), 4096, 0), ebpf::error);
}

}  // namespace
