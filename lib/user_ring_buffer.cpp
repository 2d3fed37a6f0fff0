// ebpfpp: ebpf::user_ring_buffer, the live glue between a user_ringbuf map and
// ring::user_ringbuf_producer. Mapping as libbpf's user_ring_buffer__new (src/ringbuf.c).

#include <ebpf/user_ring_buffer.hpp>

#include <ebpf/error.hpp>
#include <ebpf/map.hpp>

#include <cerrno>
#include <string>
#include <utility>

#include "sys/bpf.hpp"
#include "sys/ring.hpp"

namespace ebpf {

struct user_ring_buffer::resources {
  map ring;  // a dup of the user's map
  sys::mapped_region consumer_page;
  sys::mapped_region producer_and_data;
  unique_fd epoll;
  std::string subject;
};

user_ring_buffer::user_ring_buffer() noexcept = default;
// Moves leave the source empty (no producer pointing into mappings it no longer owns).
user_ring_buffer::user_ring_buffer(user_ring_buffer&& other) noexcept
    : resources_(std::move(other.resources_)),
      producer_(std::exchange(other.producer_, {})) {}
user_ring_buffer& user_ring_buffer::operator=(user_ring_buffer&& other) noexcept {
  if (this != &other) {
    producer_ = std::exchange(other.producer_, {});
    resources_ = std::move(other.resources_);
  }
  return *this;
}
user_ring_buffer::~user_ring_buffer() = default;

user_ring_buffer::user_ring_buffer(const map& m) {
  detail::check_map_type(m, "user_ring_buffer", {map_type::user_ringbuf});
  auto owned = std::make_unique<resources>();
  owned->subject = "map '" + m.name() + "': user ring buffer";
  owned->ring = m.dup();
  const std::size_t page = sys::page_size();
  const std::size_t capacity = owned->ring.max_entries();
  // kernel/bpf/ringbuf.c ringbuf_map_mmap_user: the consumer page may only be mapped read-only
  // (the kernel owns consumer_pos); the producer page and the data are ours to write.
  owned->consumer_page =
      sys::mapped_region::map(owned->ring.fd(), page, sys::mapped_region::prot_read,
                              sys::mapped_region::map_shared, 0, owned->subject + ": consumer page");
  owned->producer_and_data = sys::mapped_region::map(
      owned->ring.fd(), page + 2 * capacity,
      sys::mapped_region::prot_read | sys::mapped_region::prot_write,
      sys::mapped_region::map_shared, page, owned->subject + ": producer page and data");
  auto* producer_page = static_cast<std::byte*>(owned->producer_and_data.data());
  producer_ = ring::user_ringbuf_producer(
      static_cast<const std::uint64_t*>(owned->consumer_page.data()),
      reinterpret_cast<std::uint64_t*>(producer_page),
      std::span<std::byte>(producer_page + page, 2 * capacity));
  // Edge-triggered: bpf_user_ringbuf_drain wakes the map's wait queue after draining
  // (kernel/bpf/ringbuf.c), and the map polls EPOLLOUT whenever the ring is not full. Level-
  // triggered, a ring with a little room but not enough for our record would wake us in a loop.
  owned->epoll = sys::epoll_create(owned->subject);
  sys::epoll_add(owned->epoll.get(), owned->ring.fd(), sys::epoll_out | sys::epoll_edge_triggered,
                 0, owned->subject);
  resources_ = std::move(owned);
}

bool user_ring_buffer::wait_for_space(std::chrono::milliseconds timeout) {
  if (!resources_) return false;
  return sys::epoll_wait(resources_->epoll.get(), {}, timeout, resources_->subject) > 0;
}

std::optional<std::span<std::byte>> user_ring_buffer::reserve_blocking(
    std::size_t size, std::chrono::milliseconds timeout) {
  const bool forever = timeout.count() < 0;
  const auto deadline = std::chrono::steady_clock::now() + (forever ? timeout.zero() : timeout);
  for (;;) {
    if (auto record = reserve(size)) return record;
    auto left = forever ? std::chrono::milliseconds(-1)
                        : std::chrono::ceil<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now());
    if (!forever && left.count() <= 0) return std::nullopt;
    wait_for_space(left);
  }
}

int user_ring_buffer::fd() const noexcept { return resources_ ? resources_->epoll.get() : -1; }

unique_fd user_ring_buffer::dup_fd() const {
  if (!resources_) throw_errno(EBADF, "user ring buffer: dup fd: empty");
  return resources_->epoll.dup();
}

int user_ring_buffer::map_fd() const noexcept { return resources_ ? resources_->ring.fd() : -1; }

void user_ring_buffer::throw_too_large(std::size_t size) const {
  throw_error(errc::invalid_argument,
              (resources_ ? resources_->subject : std::string("user ring buffer")) +
                  ": reserve: a record of " + std::to_string(size) +
                  " bytes never fits; the largest is " +
                  std::to_string(producer_.max_record_size()) + " bytes");
}

void user_ring_buffer::throw_not_reserved(const char* action) const {
  throw_error(errc::invalid_argument,
              (resources_ ? resources_->subject : std::string("user ring buffer")) + ": " +
                  action + ": the span is not an outstanding reservation of this ring");
}

}  // namespace ebpf
