// ebpfpp: ebpf::perf_buffer, the live glue between a perf event array, one BPF output perf event
// per CPU and ring::perf_ring. The setup follows libbpf's perf_buffer__new (src/libbpf.c): events
// on the online CPUs below max_entries, each ring mapped read-write, each event fd stored in the
// map at its CPU's index, all of them in one epoll set.

#include <ebpf/perf_buffer.hpp>

#include <ebpf/error.hpp>
#include <ebpf/map.hpp>

#include <bit>
#include <cerrno>
#include <string>
#include <utility>

#include "sys/bpf.hpp"
#include "sys/ring.hpp"

namespace ebpf {

struct perf_buffer::resources {
  struct cpu_ring {
    std::uint32_t cpu = 0;
    unique_fd event;
    sys::mapped_region mapping;
    bool in_map = false;  // our event fd is stored at key `cpu`
  };
  map events;  // a dup of the user's map, to delete our entries at the end
  unique_fd epoll;
  std::vector<cpu_ring> rings;

  resources() = default;
  resources(const resources&) = delete;
  resources& operator=(const resources&) = delete;
  // A program writing to a deleted slot gets -ENOENT instead of feeding a ring nobody reads.
  ~resources() {
    for (auto& ring : rings) {
      if (!ring.in_map) continue;
      try {
        std::uint32_t key = ring.cpu;
        sys::map_delete_elem(events.fd(), &key, "perf buffer");
      } catch (...) {  // destructors never throw; the map goes away with its last fd anyway
      }
    }
  }
};

perf_buffer::perf_buffer() noexcept = default;
// Moves leave the source empty (no consumer pointing into mappings it no longer owns).
perf_buffer::perf_buffer(perf_buffer&& other) noexcept
    : resources_(std::move(other.resources_)),
      rings_(std::exchange(other.rings_, {})),
      next_ring_(std::exchange(other.next_ring_, 0)) {}
perf_buffer& perf_buffer::operator=(perf_buffer&& other) noexcept {
  if (this != &other) {
    rings_ = std::exchange(other.rings_, {});
    resources_ = std::move(other.resources_);
    next_ring_ = std::exchange(other.next_ring_, 0);
  }
  return *this;
}
perf_buffer::~perf_buffer() = default;

perf_buffer::perf_buffer(const map& events, const perf_buffer_options& options) {
  detail::check_map_type(events, "perf_buffer", {map_type::perf_event_array});
  const std::string subject = "map '" + events.name() + "': perf buffer";
  if (options.pages_per_cpu == 0 || !std::has_single_bit(options.pages_per_cpu)) {
    throw_error(errc::invalid_argument, subject + ": pages_per_cpu is " +
                                            std::to_string(options.pages_per_cpu) +
                                            ", it must be a power of two");
  }
  const std::size_t page = sys::page_size();
  const std::size_t data_size = options.pages_per_cpu * page;
  if (options.watermark_bytes > data_size) {
    throw_error(errc::invalid_argument,
                subject + ": watermark_bytes " + std::to_string(options.watermark_bytes) +
                    " exceeds the ring size of " + std::to_string(data_size) + " bytes");
  }

  auto owned = std::make_unique<resources>();
  owned->events = events.dup();
  owned->epoll = sys::epoll_create(subject);
  std::vector<std::uint32_t> cpus;
  for (std::uint32_t cpu : sys::online_cpus()) {
    if (cpu < events.max_entries()) cpus.push_back(cpu);  // libbpf: cpu_cnt capped at max_entries
  }
  if (cpus.empty()) {
    throw_error(errc::invalid_argument,
                subject + ": max_entries " + std::to_string(events.max_entries()) +
                    " leaves no online CPU a slot");
  }
  owned->rings.reserve(cpus.size());
  rings_.reserve(cpus.size());
  for (std::uint32_t cpu : cpus) {
    auto& slot = owned->rings.emplace_back();
    slot.cpu = cpu;
    slot.event = sys::perf_event_open_bpf_output(static_cast<int>(cpu), options.wakeup_events,
                                                 options.watermark_bytes, subject);
    // Read-write: a read-only mapping puts the ring in overwrite mode, where the kernel ignores
    // data_tail (kernel/events/core.c perf_mmap, rb->overwrite).
    slot.mapping = sys::mapped_region::map(
        slot.event.get(), page + data_size,
        sys::mapped_region::prot_read | sys::mapped_region::prot_write,
        sys::mapped_region::map_shared, 0, subject + ": CPU " + std::to_string(cpu));
    rings_.push_back(ring::perf_ring::from_mapping(slot.mapping.bytes(), page, cpu));
    std::uint32_t key = cpu;
    std::uint32_t value = static_cast<std::uint32_t>(slot.event.get());
    sys::map_update_elem(owned->events.fd(), &key, &value, sys::update_any,
                         subject + ": CPU " + std::to_string(cpu));
    slot.in_map = true;
    sys::epoll_add(owned->epoll.get(), slot.event.get(), sys::epoll_in, rings_.size() - 1,
                   subject);
  }
  resources_ = std::move(owned);
}

int perf_buffer::fd() const noexcept { return resources_ ? resources_->epoll.get() : -1; }

unique_fd perf_buffer::dup_fd() const {
  if (!resources_) throw_errno(EBADF, "perf buffer: dup fd: empty");
  return resources_->epoll.dup();
}

std::vector<std::uint32_t> perf_buffer::cpus() const {
  std::vector<std::uint32_t> result;
  result.reserve(rings_.size());
  for (const auto& r : rings_) result.push_back(r.cpu());
  return result;
}

namespace {
[[noreturn]] void bad_index(std::size_t index, std::size_t size) {
  throw_error(errc::invalid_argument, "perf buffer: ring index " + std::to_string(index) +
                                          " out of range (" + std::to_string(size) + " rings)");
}
}  // namespace

int perf_buffer::event_fd(std::size_t index) const {
  if (index >= rings_.size()) bad_index(index, rings_.size());
  return resources_->rings[index].event.get();
}

const ring::perf_ring& perf_buffer::consumer(std::size_t index) const {
  if (index >= rings_.size()) bad_index(index, rings_.size());
  return rings_[index];
}

std::size_t perf_buffer::read_batch(std::span<ring::perf_record> out) noexcept {
  const std::size_t count = rings_.size();
  if (count == 0) return 0;
  const std::size_t start = next_ring_ < count ? next_ring_ : 0;
  next_ring_ = start + 1 == count ? 0 : start + 1;
  std::size_t filled = 0;
  for (std::size_t k = 0; k < count && filled < out.size(); ++k) {
    std::size_t index = start + k < count ? start + k : start + k - count;
    filled += rings_[index].read_batch(out.subspan(filled));
  }
  return filled;
}

void perf_buffer::commit() noexcept {
  for (auto& r : rings_) r.commit();
}

bool perf_buffer::prepare_wait() noexcept {
  bool ready = false;
  for (auto& r : rings_) ready = r.prepare_wait() || ready;
  return ready;
}

bool perf_buffer::wait(std::chrono::milliseconds timeout) {
  if (prepare_wait()) return true;
  if (!resources_) return false;
  return sys::epoll_wait(resources_->epoll.get(), {}, timeout, "perf buffer") > 0;
}

bool perf_buffer::corrupt() const noexcept {
  for (const auto& r : rings_)
    if (r.state() == ring::read_state::corrupt) return true;
  return false;
}

std::uint64_t perf_buffer::samples() const noexcept {
  std::uint64_t total = 0;
  for (const auto& r : rings_) total += r.samples();
  return total;
}

std::uint64_t perf_buffer::lost() const noexcept {
  std::uint64_t total = 0;
  for (const auto& r : rings_) total += r.lost();
  return total;
}

void perf_buffer::throw_corrupt(std::size_t index) const {
  const auto& r = rings_[index];
  throw_errno(EBADMSG, "map '" + resources_->events.name() + "': perf buffer: CPU " +
                           std::to_string(r.cpu()) +
                           ": inconsistent record or positions at position " +
                           std::to_string(r.read_position()) + " (head at " +
                           std::to_string(r.head_position()) + ", size " +
                           std::to_string(r.capacity()) + ")");
}

}  // namespace ebpf
