// ebpfpp: ebpf::ring_buffer, the live glue between ringbuf maps and ring::ringbuf_consumer.

#include <ebpf/ring_buffer.hpp>

#include <ebpf/error.hpp>
#include <ebpf/map.hpp>

#include <cerrno>
#include <string>
#include <utility>

#include "sys/bpf.hpp"
#include "sys/ring.hpp"

namespace ebpf {

struct ring_buffer::resources {
  struct mapped_ring {
    map ring;  // a dup of the user's map: its fd is registered in the epoll fd
    sys::mapped_region consumer_page;
    sys::mapped_region producer_and_data;
  };
  unique_fd epoll;
  std::vector<mapped_ring> rings;
};

namespace {

std::string subject_of(const map& m) { return "map '" + m.name() + "': ring buffer"; }

}  // namespace

ring_buffer::ring_buffer() noexcept = default;
// Moves leave the source empty (no consumer pointing into mappings it no longer owns).
ring_buffer::ring_buffer(ring_buffer&& other) noexcept
    : resources_(std::move(other.resources_)),
      rings_(std::exchange(other.rings_, {})),
      next_ring_(std::exchange(other.next_ring_, 0)) {}
ring_buffer& ring_buffer::operator=(ring_buffer&& other) noexcept {
  if (this != &other) {
    rings_ = std::exchange(other.rings_, {});
    resources_ = std::move(other.resources_);
    next_ring_ = std::exchange(other.next_ring_, 0);
  }
  return *this;
}
ring_buffer::~ring_buffer() = default;

ring_buffer::ring_buffer(const map& m) { add(m); }

ring_buffer::ring_buffer(std::initializer_list<std::reference_wrapper<const map>> rings) {
  for (const map& m : rings) add(m);
}

void ring_buffer::add(const map& m) {
  detail::check_map_type(m, "ring_buffer", {map_type::ringbuf});
  const std::string subject = subject_of(m);
  if (!resources_) {
    auto fresh = std::make_unique<resources>();
    fresh->epoll = sys::epoll_create(subject);
    resources_ = std::move(fresh);
  }
  // Make room first, so that nothing can fail after the ring is registered with epoll.
  resources_->rings.reserve(resources_->rings.size() + 1);
  rings_.reserve(rings_.size() + 1);

  resources::mapped_ring mapped{m.dup(), {}, {}};
  const std::size_t page = sys::page_size();
  const std::uint64_t capacity = mapped.ring.max_entries();
  // The layout of kernel/bpf/ringbuf.c as libbpf's ring_buffer__add maps it: the consumer page
  // is the only writable part (ringbuf_map_mmap_kern refuses a writable mapping of anything
  // else); the producer page and the data follow, the data pages mapped twice by the kernel.
  mapped.consumer_page =
      sys::mapped_region::map(mapped.ring.fd(), page,
                              sys::mapped_region::prot_read | sys::mapped_region::prot_write,
                              sys::mapped_region::map_shared, 0, subject + ": consumer page");
  mapped.producer_and_data = sys::mapped_region::map(
      mapped.ring.fd(), page + 2 * static_cast<std::size_t>(capacity),
      sys::mapped_region::prot_read, sys::mapped_region::map_shared, page,
      subject + ": producer page and data");
  const auto* producer_page = static_cast<const std::byte*>(mapped.producer_and_data.data());
  ring::ringbuf_consumer consumer(
      static_cast<std::uint64_t*>(mapped.consumer_page.data()),
      reinterpret_cast<const std::uint64_t*>(producer_page),
      std::span<const std::byte>(producer_page + page, 2 * static_cast<std::size_t>(capacity)));
  sys::epoll_add(resources_->epoll.get(), mapped.ring.fd(), sys::epoll_in, rings_.size(), subject);
  resources_->rings.push_back(std::move(mapped));
  rings_.push_back(consumer);
}

int ring_buffer::fd() const noexcept { return resources_ ? resources_->epoll.get() : -1; }

unique_fd ring_buffer::dup_fd() const {
  if (!resources_) throw_errno(EBADF, "ring buffer: dup fd: empty");
  return resources_->epoll.dup();
}

namespace {
[[noreturn]] void bad_index(std::size_t index, std::size_t size) {
  throw_error(errc::invalid_argument, "ring buffer: ring index " + std::to_string(index) +
                                          " out of range (" + std::to_string(size) + " rings)");
}
}  // namespace

int ring_buffer::ring_fd(std::size_t index) const {
  if (index >= rings_.size()) bad_index(index, rings_.size());
  return resources_->rings[index].ring.fd();
}

const std::string& ring_buffer::ring_name(std::size_t index) const {
  if (index >= rings_.size()) bad_index(index, rings_.size());
  return resources_->rings[index].ring.name();
}

const ring::ringbuf_consumer& ring_buffer::consumer(std::size_t index) const {
  if (index >= rings_.size()) bad_index(index, rings_.size());
  return rings_[index];
}

std::size_t ring_buffer::read_batch(std::span<std::span<const std::byte>> out) noexcept {
  const std::size_t count = rings_.size();
  if (count == 0) return 0;
  // Round-robin: a busy ring cannot starve the others from batch to batch.
  const std::size_t start = next_ring_ < count ? next_ring_ : 0;
  next_ring_ = start + 1 == count ? 0 : start + 1;
  std::size_t filled = 0;
  for (std::size_t k = 0; k < count && filled < out.size(); ++k) {
    std::size_t index = start + k < count ? start + k : start + k - count;
    filled += rings_[index].read_batch(out.subspan(filled));
  }
  return filled;
}

std::size_t ring_buffer::read_batch(std::size_t index,
                                    std::span<std::span<const std::byte>> out) noexcept {
  if (index >= rings_.size()) return 0;
  return rings_[index].read_batch(out);
}

void ring_buffer::commit() noexcept {
  for (auto& r : rings_) r.commit();
}

bool ring_buffer::prepare_wait() noexcept {
  bool ready = false;
  // Every ring must publish its position, so do not stop at the first ready one.
  for (auto& r : rings_) ready = r.prepare_wait() || ready;
  return ready;
}

bool ring_buffer::wait(std::chrono::milliseconds timeout) {
  if (prepare_wait()) return true;
  if (!resources_) return false;
  return sys::epoll_wait(resources_->epoll.get(), {}, timeout, "ring buffer") > 0;
}

bool ring_buffer::corrupt() const noexcept {
  for (const auto& r : rings_)
    if (r.state() == ring::read_state::corrupt) return true;
  return false;
}

std::uint64_t ring_buffer::records() const noexcept {
  std::uint64_t total = 0;
  for (const auto& r : rings_) total += r.records();
  return total;
}

std::uint64_t ring_buffer::bytes() const noexcept {
  std::uint64_t total = 0;
  for (const auto& r : rings_) total += r.bytes();
  return total;
}

std::uint64_t ring_buffer::discarded() const noexcept {
  std::uint64_t total = 0;
  for (const auto& r : rings_) total += r.discarded();
  return total;
}

void ring_buffer::throw_corrupt(std::size_t index) const {
  const auto& r = rings_[index];
  throw_errno(EBADMSG, "map '" + resources_->rings[index].ring.name() +
                           "': ring buffer: inconsistent record or positions at position " +
                           std::to_string(r.read_position()) + " (producer at " +
                           std::to_string(r.producer_position()) + ", capacity " +
                           std::to_string(r.capacity()) + ")");
}

}  // namespace ebpf
