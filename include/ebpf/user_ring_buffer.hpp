// ebpfpp: feeding a BPF program through a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF, kernel
// 6.1); the program takes the records with bpf_user_ringbuf_drain().
//
//   ebpf::user_ring_buffer commands(object.map("commands"));
//   if (!commands.write(command{...}))          // false: full until the program drains it
//     commands.wait_for_space(std::chrono::milliseconds(100));
//
//   if (auto record = commands.reserve(size)) {  // zero-copy: write in place, then submit
//     std::memcpy(record->data(), bytes, size);
//     commands.submit(*record);
//   }
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>

#include <ebpf/ring.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

class map;

/// Producer of a user ring buffer. Owns a duplicate of the map's fd, its mappings (consumer
/// page read-only; producer page and data read-write, the data mapped twice so a record is
/// contiguous) and an epoll fd that signals when the kernel drained records.
///
/// Records are drained in reservation order: an outstanding reservation holds back the records
/// reserved after it until it is submitted or discarded.
///
/// Thread-safety: reserve() (and write()) must not run concurrently with each other; submit()
/// and discard() of different records may run on any thread. One producer per map.
class user_ring_buffer {
 public:
  user_ring_buffer() noexcept;
  /// A producer for `ring` (a user_ringbuf map), which may be destroyed afterwards.
  /// Throws: errc::type_mismatch for another map type; ebpf::error "map '<name>': user ring
  /// buffer: mmap ...: <errno>" from the kernel.
  explicit user_ring_buffer(const map& ring);
  user_ring_buffer(user_ring_buffer&&) noexcept;
  user_ring_buffer& operator=(user_ring_buffer&&) noexcept;
  user_ring_buffer(const user_ring_buffer&) = delete;
  user_ring_buffer& operator=(const user_ring_buffer&) = delete;
  ~user_ring_buffer();

  /// Reserves a record of `size` bytes; its bytes are uninitialised. nullopt when the ring has
  /// no room for it now (wait for the program to drain: wait_for_space() or fd()). Never
  /// allocates. Throws: errc::invalid_argument when size > max_record_size() (it never fits).
  std::optional<std::span<std::byte>> reserve(std::size_t size) {
    if (size > producer_.max_record_size()) throw_too_large(size);
    return producer_.reserve(size);
  }
  /// Hands a reserved record to the kernel. Throws: errc::invalid_argument when `record` is not
  /// an outstanding reservation of this ring (already submitted, discarded, or foreign).
  void submit(std::span<std::byte> record) {
    if (!producer_.submit(record)) throw_not_reserved("submit");
  }
  /// Gives a reserved record back; the kernel skips it. Throws: as submit().
  void discard(std::span<std::byte> record) {
    if (!producer_.discard(record)) throw_not_reserved("discard");
  }

  /// Copies `bytes` into a new record and submits it; false (nothing written) when the ring has
  /// no room now. Throws: as reserve().
  bool write(std::span<const std::byte> bytes) {
    auto record = reserve(bytes.size());
    if (!record) return false;
    if (!bytes.empty()) std::memcpy(record->data(), bytes.data(), bytes.size());
    producer_.submit(*record);
    return true;
  }
  /// write() of the bytes of a trivially copyable value (the struct the program reads).
  template <class T>
    requires(std::is_trivially_copyable_v<T> &&
             !std::is_convertible_v<const T&, std::span<const std::byte>>)
  bool write(const T& value) {
    return write(std::span<const std::byte>(reinterpret_cast<const std::byte*>(&value), sizeof(T)));
  }

  /// Reserves, waiting up to `timeout` (negative: forever) for the kernel to drain enough.
  /// nullopt on timeout. Throws: as reserve(); ebpf::error from epoll_wait.
  std::optional<std::span<std::byte>> reserve_blocking(std::size_t size,
                                                       std::chrono::milliseconds timeout);
  /// Waits up to `timeout` (negative: forever) for the kernel to drain records; returns at once
  /// when the first call finds free space. True when woken, false on timeout. A wakeup means
  /// some space was freed, not necessarily enough for a given record: reserve again.
  /// Throws: ebpf::error from epoll_wait.
  bool wait_for_space(std::chrono::milliseconds timeout);

  /// An epoll fd that becomes readable each time bpf_user_ringbuf_drain() consumed records (it
  /// watches the map fd edge-triggered for EPOLLOUT), so a reader that is woken and still finds
  /// no room sleeps again instead of spinning. -1 when empty. Owned; dup it to hand it to
  /// something that closes its fd.
  int fd() const noexcept;
  /// A duplicate of fd() (CLOEXEC, above 2) for an owner that closes what it is given, such as
  /// asio::posix::stream_descriptor. Throws: ebpf::error (EBADF when empty, or the dup errno).
  unique_fd dup_fd() const;
  /// The map fd (a dup owned by this object): writable (EPOLLOUT, level) whenever the ring is
  /// not completely full.
  int map_fd() const noexcept;

  /// Bytes the ring can take now (a record of n bytes takes ring::record_footprint(n)).
  std::uint64_t free_bytes() const noexcept { return producer_.free_bytes(); }
  /// True when a record of `size` bytes fits now.
  bool fits(std::size_t size) const noexcept {
    return size <= producer_.max_record_size() && ring::record_footprint(size) <= free_bytes();
  }
  /// The data capacity, and the largest record an empty ring takes.
  std::uint64_t capacity() const noexcept { return producer_.capacity(); }
  std::size_t max_record_size() const noexcept { return producer_.max_record_size(); }
  /// The algorithm state (positions).
  const ring::user_ringbuf_producer& producer() const noexcept { return producer_; }

 private:
  [[noreturn]] void throw_too_large(std::size_t size) const;
  [[noreturn]] void throw_not_reserved(const char* action) const;

  struct resources;  // fds and mappings (lib/user_ring_buffer.cpp)
  std::unique_ptr<resources> resources_;
  ring::user_ringbuf_producer producer_;
};

}  // namespace ebpf
