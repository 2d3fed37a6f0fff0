// ebpfpp: the validating constructors of the ring algorithms (include/ebpf/ring.hpp). Pure: no
// system call, no lib/sys include. The record paths are inline in the header.

#include <ebpf/error.hpp>
#include <ebpf/ring.hpp>

#include <bit>
#include <string>

namespace ebpf::ring {

void detail::throw_perf_sample_size(std::size_t size, std::size_t expected, std::uint32_t cpu,
                                    bool lost) {
  const std::string where = "perf buffer: record of CPU " + std::to_string(cpu);
  if (lost) throw_error(errc::type_mismatch, where + " is a lost-sample count, not a sample");
  throw_error(errc::type_mismatch, where + " is " + std::to_string(size) +
                                       " bytes, the record type is " + std::to_string(expected) +
                                       " bytes (plus up to 7 bytes of padding)");
}

namespace {

bool aligned8(const void* pointer) noexcept {
  return reinterpret_cast<std::uintptr_t>(pointer) % 8 == 0;
}

// The data area of a BPF ring buffer as user space maps it: twice a power-of-two capacity.
// Returns the capacity. `what` names the ring in messages ("ring buffer", "user ring buffer").
std::uint64_t check_ringbuf(const void* consumer_pos, const void* producer_pos,
                            const void* data, std::size_t data_size, const char* what) {
  std::string subject = std::string(what) + ": ";
  if (consumer_pos == nullptr || producer_pos == nullptr || data == nullptr) {
    throw_error(errc::invalid_argument, subject + "positions and data must not be null");
  }
  if (!aligned8(consumer_pos) || !aligned8(producer_pos) || !aligned8(data)) {
    throw_error(errc::invalid_argument,
                subject + "positions and data must be 8-byte aligned (they are page-aligned in "
                          "a kernel mapping)");
  }
  const std::uint64_t capacity = data_size / 2;
  if (data_size % 2 != 0 || capacity < 8 || !std::has_single_bit(capacity)) {
    throw_error(errc::invalid_argument,
                subject + "data area is " + std::to_string(data_size) +
                    " bytes; it must be the data mapped twice: 2 * capacity, the capacity a power "
                    "of two of at least 8");
  }
  return capacity;
}

void check_positions(std::uint64_t consumer, std::uint64_t producer, std::uint64_t capacity,
                     const char* what) {
  // The producer runs at most one capacity ahead of the consumer, and never behind it.
  if (producer - consumer > capacity || consumer % 8 != 0 || producer % 8 != 0) {
    throw_error(errc::invalid_argument,
                std::string(what) + ": positions do not fit the ring: consumer " +
                    std::to_string(consumer) + ", producer " + std::to_string(producer) +
                    ", capacity " + std::to_string(capacity));
  }
}

}  // namespace

ringbuf_consumer::ringbuf_consumer(std::uint64_t* consumer_pos, const std::uint64_t* producer_pos,
                                   std::span<const std::byte> data)
    : consumer_pos_(consumer_pos), producer_pos_(producer_pos), data_(data.data()) {
  const std::uint64_t capacity =
      check_ringbuf(consumer_pos, producer_pos, data.data(), data.size(), "ring buffer");
  mask_ = capacity - 1;
  const std::uint64_t consumer = detail::load_acquire(consumer_pos);
  check_positions(consumer, detail::load_acquire(producer_pos), capacity, "ring buffer");
  read_ = committed_ = limit_ = consumer;
}

user_ringbuf_producer::user_ringbuf_producer(const std::uint64_t* consumer_pos,
                                             std::uint64_t* producer_pos,
                                             std::span<std::byte> data)
    : consumer_pos_(consumer_pos), producer_pos_(producer_pos), data_(data.data()) {
  capacity_ =
      check_ringbuf(consumer_pos, producer_pos, data.data(), data.size(), "user ring buffer");
  produced_ = detail::load_acquire(producer_pos);
  check_positions(detail::load_acquire(consumer_pos), produced_, capacity_, "user ring buffer");
}

perf_ring::perf_ring(const std::uint64_t* data_head, std::uint64_t* data_tail,
                     std::span<const std::byte> data, std::uint32_t cpu)
    : data_head_(data_head), data_tail_(data_tail), data_(data.data()), cpu_(cpu) {
  std::string subject = "perf ring of CPU " + std::to_string(cpu) + ": ";
  if (data_head == nullptr || data_tail == nullptr || data.data() == nullptr) {
    throw_error(errc::invalid_argument, subject + "positions and data must not be null");
  }
  if (!aligned8(data_head) || !aligned8(data_tail)) {
    throw_error(errc::invalid_argument, subject + "data_head and data_tail must be 8-byte aligned");
  }
  if (data.size() < 8 || !std::has_single_bit(data.size())) {
    throw_error(errc::invalid_argument, subject + "data area is " + std::to_string(data.size()) +
                                            " bytes, not a power of two of at least 8");
  }
  mask_ = data.size() - 1;
  const std::uint64_t tail = detail::load_acquire(data_tail);
  const std::uint64_t head = detail::load_acquire(data_head);
  if (head - tail > data.size()) {
    throw_error(errc::invalid_argument, subject + "positions do not fit the ring: tail " +
                                            std::to_string(tail) + ", head " +
                                            std::to_string(head) + ", size " +
                                            std::to_string(data.size()));
  }
  read_ = committed_ = limit_ = tail;
  // At most one record of the uncommitted window (never more than the data size) crosses the
  // end of the data, and no record is longer than 64 KiB - 1.
  scratch_.resize(data.size() < perf_max_record_size + 1 ? data.size() : perf_max_record_size + 1);
}

perf_ring perf_ring::from_mapping(std::span<std::byte> mapping, std::size_t page_size,
                                  std::uint32_t cpu) {
  std::string subject = "perf ring of CPU " + std::to_string(cpu) + ": ";
  if (page_size < perf_data_size_offset + 8 || mapping.size() <= page_size ||
      !aligned8(mapping.data())) {
    throw_error(errc::invalid_argument,
                subject + "a mapping of " + std::to_string(mapping.size()) +
                    " bytes cannot hold the perf_event_mmap_page (" + std::to_string(page_size) +
                    " bytes) and data pages");
  }
  std::byte* base = mapping.data();
  auto word = [&](std::size_t offset) { return reinterpret_cast<std::uint64_t*>(base + offset); };
  std::uint64_t offset = *word(perf_data_offset_offset);
  std::uint64_t size = *word(perf_data_size_offset);
  if (offset == 0 && size == 0) {  // before 4.1: the data pages follow the first page
    offset = page_size;
    size = mapping.size() - page_size;
  }
  if (offset < perf_data_size_offset + 8 || offset > mapping.size() ||
      size > mapping.size() - offset) {
    throw_error(errc::invalid_argument,
                subject + "data_offset " + std::to_string(offset) + " and data_size " +
                    std::to_string(size) + " do not fit the mapping of " +
                    std::to_string(mapping.size()) + " bytes");
  }
  return perf_ring(word(perf_data_head_offset), word(perf_data_tail_offset),
                   std::span<const std::byte>(base + offset, static_cast<std::size_t>(size)), cpu);
}

}  // namespace ebpf::ring
