// Runs the deterministic producers of tests/bpf/ringbuf_producer.bpf.c for the ring integration
// tests, and checks the records they emit.
#pragma once

#include <ebpf/ebpf.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "../bpf/ringbuf_producer.h"

namespace ebpf_test {

inline ebpf::object load_ringbuf_producer() {
  auto object = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/ringbuf_producer.bpf.o");
  object.load();
  return object;
}

/// Runs produce_ringbuf: `count` records of `size` bytes into ring `which`, seqs from
/// `first_seq`; returns the context as the program wrote it back.
inline produce_args produce_ringbuf(ebpf::object& object, std::uint32_t count, std::uint32_t size,
                                    std::uint64_t first_seq = 0, std::uint32_t which = RING_BIG,
                                    std::uint32_t discard_every = 0) {
  produce_args args{};
  args.first_seq = first_seq;
  args.count = count;
  args.size = size;
  args.ring = which;
  args.discard_every = discard_every;
  ebpf::test_run_options options;
  options.ctx = std::as_bytes(std::span(&args, 1));
  auto run = object.program("produce_ringbuf").test_run(options);
  EXPECT_EQ(run.retval, 0u);
  produce_args out{};
  std::memcpy(&out, run.ctx_out.data(), std::min(sizeof out, run.ctx_out.size()));
  return out;
}

/// Runs produce_perf on `cpu`: `count` records of `size` bytes, seqs from `first_seq`.
inline void produce_perf(ebpf::object& object, std::uint32_t cpu, std::uint64_t count,
                         std::uint64_t size, std::uint64_t first_seq = 0) {
  std::uint64_t args[PERF_ARG_N] = {};
  args[PERF_ARG_COUNT] = count;
  args[PERF_ARG_SIZE] = size;
  args[PERF_ARG_FIRST_SEQ] = first_seq;
  ebpf::test_run_options options;
  options.ctx = std::as_bytes(std::span(args));
  // bpf_prog_test_run_raw_tp refuses data, output buffers and repeat (EINVAL).
  options.ctx_out_size = 0;
  options.data_out_size = 0;
  options.repeat = 0;
  options.flags = 1;  // BPF_F_TEST_RUN_ON_CPU
  options.cpu = cpu;
  auto run = object.program("produce_perf").test_run(options);
  EXPECT_EQ(run.retval, 0u);
}

/// Runs drain_user: drains the user ring, expecting seqs from `next_seq`.
inline produce_args drain_user(ebpf::object& object, std::uint64_t next_seq = 0) {
  produce_args args{};
  args.next_seq = next_seq;
  ebpf::test_run_options options;
  options.ctx = std::as_bytes(std::span(&args, 1));
  auto run = object.program("drain_user").test_run(options);
  EXPECT_EQ(run.retval, 0u);
  produce_args out{};
  std::memcpy(&out, run.ctx_out.data(), std::min(sizeof out, run.ctx_out.size()));
  return out;
}

/// The header of a record the producers emitted.
inline ring_record header_of(std::span<const std::byte> record) {
  ring_record header{};
  std::memcpy(&header, record.data(), std::min(sizeof header, record.size()));
  return header;
}

/// Whether `record` is record `seq` of `size` bytes as the producers write it (header and
/// payload). `record` may be longer (perf samples are padded).
inline ::testing::AssertionResult is_record(std::span<const std::byte> record, std::uint64_t seq,
                                            std::uint32_t size) {
  if (record.size() < size || size < sizeof(ring_record)) {
    return ::testing::AssertionFailure() << "record of " << record.size() << " bytes, expected "
                                         << size << " (seq " << seq << ")";
  }
  auto header = header_of(record);
  if (header.seq != seq || header.size != size) {
    return ::testing::AssertionFailure() << "record seq " << header.seq << " size " << header.size
                                         << ", expected seq " << seq << " size " << size;
  }
  for (std::size_t i = sizeof(ring_record); i < size; ++i) {
    auto expected = static_cast<std::byte>(producer_pattern(seq, i - sizeof(ring_record)));
    if (record[i] != expected) {
      return ::testing::AssertionFailure() << "record seq " << seq << ": byte " << i << " differs";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace ebpf_test
