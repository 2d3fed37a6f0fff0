// ebpfpp: live BPF maps and typed views of them.
//
// ebpf::map owns the fd of one kernel map and offers the byte-level operations of bpf(2)
// (lookup, update, delete, get_next_key, batches, pin, freeze, mmap). The typed views
// (hash_map<K, V>, array_map<V>, per_cpu_array<V>, queue<V>, lpm_trie<K, V>, ...) own a map and
// check at construction that the map's type and its key/value sizes fit K and V, so that
// every later call is a plain memcpy away from the kernel:
//
//   auto blocked = ebpf::hash_map<std::uint32_t, std::uint8_t>(std::move(m));
//   blocked.update(ebpf::ipv4("10.0.0.7"), 1);
//   for (auto [address, flag] : blocked.items()) ...
//
// Values of per-CPU maps (percpu_hash, percpu_array, lru_percpu_hash, percpu_cgroup_storage)
// are one slot per possible CPU, each slot value_size rounded up to 8 bytes: that is the layout
// the kernel copies in and out (kernel/bpf/syscall.c, bpf_map_value_size()).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <ebpf/error.hpp>
#include <ebpf/types.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

/// BPF_F_* map creation flags (map_create_spec::flags, map::flags()).
namespace map_flag {
inline constexpr std::uint32_t no_prealloc = 1u << 0;      ///< hash/lpm: allocate on update
inline constexpr std::uint32_t no_common_lru = 1u << 1;    ///< lru: one LRU list per CPU
inline constexpr std::uint32_t numa_node = 1u << 2;        ///< set by create() when numa_node is given
inline constexpr std::uint32_t rdonly = 1u << 3;           ///< user space may only read
inline constexpr std::uint32_t wronly = 1u << 4;           ///< user space may only write
inline constexpr std::uint32_t stack_build_id = 1u << 5;   ///< stack_trace stores build ids
inline constexpr std::uint32_t zero_seed = 1u << 6;        ///< hash seed 0 (testing)
inline constexpr std::uint32_t rdonly_prog = 1u << 7;      ///< programs may only read
inline constexpr std::uint32_t wronly_prog = 1u << 8;      ///< programs may only write
inline constexpr std::uint32_t clone = 1u << 9;            ///< sk_storage: clone on accept
inline constexpr std::uint32_t mmapable = 1u << 10;        ///< array/arena: map::mmap() allowed (5.5)
inline constexpr std::uint32_t preserve_elems = 1u << 11;  ///< perf_event_array: keep on close
inline constexpr std::uint32_t inner_map = 1u << 12;       ///< inner map template of any size
inline constexpr std::uint32_t segv_on_fault = 1u << 17;   ///< arena: no page-in on user fault (6.9)
inline constexpr std::uint32_t no_user_conv = 1u << 18;    ///< arena: no pointer conversion (6.9)
}  // namespace map_flag

/// Flags of an element update (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
enum class update_flags : std::uint64_t {
  any = 0,       ///< create or replace
  no_exist = 1,  ///< create only; the kernel gives EEXIST if the key is present
  exist = 2,     ///< replace only (ENOENT if absent); for queue/stack: overwrite when full
  lock = 4,      ///< take the value's bpf_spin_lock (the value type must have one)
};
constexpr update_flags operator|(update_flags a, update_flags b) noexcept {
  return static_cast<update_flags>(static_cast<std::uint64_t>(a) | static_cast<std::uint64_t>(b));
}

/// True for the map types whose values are one slot per possible CPU.
constexpr bool is_per_cpu(map_type type) noexcept {
  return type == map_type::percpu_hash || type == map_type::percpu_array ||
         type == map_type::lru_percpu_hash || type == map_type::percpu_cgroup_storage;
}

/// Number of possible CPUs (the population of /sys/devices/system/cpu/possible), read once and
/// cached; thread-safe. Per-CPU map values have this many slots.
/// Throws: ebpf::error if the file cannot be read or parsed (the next call tries again).
std::uint32_t possible_cpus();

/// The ids of every map in the kernel, ascending (BPF_MAP_GET_NEXT_ID, 4.13). A map can be freed
/// before it is opened: map::from_id then fails with ENOENT.
/// Throws: ebpf::error (EPERM without CAP_SYS_ADMIN).
std::vector<std::uint32_t> map_ids();

/// `dotted` ("10.0.0.7") as an IPv4 address in network byte order, ready to be a map key that a
/// BPF program compares with iph->saddr. Strict: four decimal parts 0-255, no leading zeros,
/// no spaces (the rules of inet_pton).
/// Throws: ebpf::error(errc::invalid_argument) naming the input.
std::uint32_t ipv4(std::string_view dotted);

class map;
class mapped_region;

/// What map::create() puts into BPF_MAP_CREATE. Only type, sizes and max_entries are needed for
/// the common maps.
struct map_create_spec {
  /// Kept whole for messages; the kernel gets the first 15 characters, with characters it
  /// rejects (anything but letters, digits, '_' and '.') replaced by '_'.
  std::string name;
  map_type type = map_type::unspec;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t flags = 0;  ///< map_flag::* bits

  /// array_of_maps / hash_of_maps: a map of the kind the outer map will hold...
  int inner_map_fd = -1;
  /// ...or, when inner_map_fd is -1, a description of one: create() makes a temporary map from
  /// it and closes it again once the outer map exists.
  std::shared_ptr<const map_create_spec> inner_map;

  /// Allocate on this NUMA node (sets map_flag::numa_node).
  std::optional<std::uint32_t> numa_node;
  /// bloom_filter: number of hash functions (low 4 bits); arena: address hint. (5.16)
  std::uint64_t map_extra = 0;

  /// BTF describing key and value (needed by sk/inode/task/cgrp storage, spin locks, timers,
  /// kptrs); -1 for none.
  int btf_fd = -1;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  /// struct_ops: id of `struct bpf_struct_ops_<name>` in vmlinux BTF (btf_fd must be valid too).
  std::uint32_t btf_vmlinux_value_type_id = 0;

  /// BTF names of the key and value types, shown in size-mismatch messages ("(BTF: __u32)").
  /// The object loader fills them from the object's BTF.
  std::string key_type_name;
  std::string value_type_name;
};

/// What the kernel reports about a map (BPF_OBJ_GET_INFO_BY_FD).
struct map_info {
  map_type type = map_type::unspec;
  std::uint32_t id = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t flags = 0;  ///< map_flag::* bits; the kernel keeps rdonly/wronly on the fd only
  std::string name;  ///< as created by us; the kernel's (at most 15 characters) otherwise
  std::uint32_t ifindex = 0;
  std::uint32_t btf_id = 0;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  std::uint32_t btf_vmlinux_value_type_id = 0;
  std::uint64_t map_extra = 0;
};

/// The position of a walk over a map in batches (map::lookup_batch and friends). Starts at the
/// beginning; done() once the kernel reported the end.
class batch_cursor {
 public:
  batch_cursor() = default;
  bool done() const noexcept { return done_; }
  /// Starts over from the beginning of the map.
  void reset() noexcept {
    started_ = false;
    done_ = false;
  }

 private:
  friend class map;
  std::vector<std::byte> token_;  // the kernel's opaque in_batch/out_batch position
  bool started_ = false;
  bool done_ = false;
};

/// Walks the keys of a map with BPF_MAP_GET_NEXT_KEY, one key ahead of the caller.
///
/// Behaviour under modification: the successor of the current key is fetched before the
/// current key is handed out, so deleting the current key (the usual "iterate and erase")
/// visits every other key exactly once. Keys inserted during the walk may or may not be seen.
/// If the successor itself disappears before the walk reaches it (another thread or a BPF
/// program deleted it), hash-like maps restart from their first key; keys can then be seen
/// twice, and a walk that has seen more than max_entries keys throws (EAGAIN) instead of
/// looping forever. Use lookup_batch for a consistent bulk read.
class key_cursor {
 public:
  /// The cursor reads `m`, which must outlive it.
  explicit key_cursor(const map& m);
  /// Moves to the next key; false at the end.
  /// Throws: ebpf::error for a kernel failure (EINVAL for map types without keys, such as
  /// queue, stack and bloom_filter) or when the walk restarted too often (EAGAIN).
  bool next();
  /// The current key; valid until the next call to next().
  std::span<const std::byte> key() const noexcept { return current_; }

 private:
  const map* map_;
  std::vector<std::byte> current_;
  std::vector<std::byte> upcoming_;
  std::uint64_t visited_ = 0;
  bool started_ = false;
  bool has_upcoming_ = false;
};

namespace detail {

/// An input range over whatever `Source::next()` yields (std::optional<value_type>): the
/// iterators of map walks. begin() may be called once; the range must outlive its iterators.
template <class Source>
class generated_range {
 public:
  using value_type = typename Source::value_type;

  explicit generated_range(Source source) : source_(std::move(source)) {}

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = typename Source::value_type;
    using difference_type = std::ptrdiff_t;
    using reference = const value_type&;
    using pointer = const value_type*;

    iterator() = default;
    reference operator*() const { return *range_->current_; }
    pointer operator->() const { return &*range_->current_; }
    iterator& operator++() {
      if (!range_->advance()) range_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.range_ == nullptr;
    }

   private:
    friend class generated_range;
    explicit iterator(generated_range* range) : range_(range) {}
    generated_range* range_ = nullptr;
  };

  iterator begin() { return iterator(advance() ? this : nullptr); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  bool advance() {
    current_ = source_.next();
    return current_.has_value();
  }
  Source source_;
  std::optional<value_type> current_;
};

struct raw_key_source {
  using value_type = std::span<const std::byte>;
  key_cursor cursor;
  std::optional<value_type> next() {
    if (!cursor.next()) return std::nullopt;
    return cursor.key();
  }
};

}  // namespace detail

/// The keys of a map as byte spans (each valid until the iterator advances).
using key_range = detail::generated_range<detail::raw_key_source>;

/// A memory mapping of a map (BPF_F_MMAPABLE array or arena); unmapped on destruction. The
/// mapping keeps the map alive in the kernel even after the map's fd is closed.
class mapped_region {
 public:
  mapped_region() noexcept;
  mapped_region(mapped_region&& other) noexcept;
  mapped_region& operator=(mapped_region&& other) noexcept;
  mapped_region(const mapped_region&) = delete;
  mapped_region& operator=(const mapped_region&) = delete;
  ~mapped_region();

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<std::byte> bytes() const noexcept { return {data_, size_}; }
  bool writable() const noexcept { return writable_; }
  explicit operator bool() const noexcept { return data_ != nullptr; }

 private:
  friend class map;
  struct impl;  // the kernel layer's mapping, which unmaps on destruction
  std::unique_ptr<impl> impl_;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  bool writable_ = false;
};

/// A BPF map in the kernel. Owns one fd; move-only (share with dup()). A default-constructed
/// map has no fd: every operation on it fails with EBADF.
///
/// Byte-level operations take the key and value as byte spans whose sizes must be exactly
/// key_size() and value_buffer_size() (which is value_size() except for per-CPU maps). Maps
/// without keys (queue, stack, bloom_filter) take an empty key span.
///
/// Element operations do not modify the map object (the kernel serializes them), so one map can
/// be used from several threads at once.
class map {
 public:
  map() = default;
  map(map&&) noexcept = default;
  map& operator=(map&&) noexcept = default;
  map(const map&) = delete;
  map& operator=(const map&) = delete;

  /// Creates a map (BPF_MAP_CREATE).
  /// Throws: ebpf::error "map '<name>': create (<type>, key <k>, value <v>, max_entries <n>,
  /// flags 0x<f>): <errno>" with a hint for the usual mistakes (lpm_trie without no_prealloc,
  /// ringbuf size not a power-of-two multiple of the page size, ...); errc::invalid_argument for
  /// a map-in-map spec without an inner map.
  static map create(const map_create_spec& spec);
  /// Takes ownership of `fd` and asks the kernel what map it is.
  /// Throws: errc::invalid_argument if `fd` is not a BPF map; ebpf::error with the errno if the
  /// info query fails.
  static map from_fd(unique_fd fd);
  /// Opens the map with this id (BPF_MAP_GET_FD_BY_ID). Throws: ebpf::error (ENOENT: no such map).
  static map from_id(std::uint32_t id);
  /// Opens a map pinned in bpffs (BPF_OBJ_GET). Throws: ebpf::error naming the path; errc::
  /// invalid_argument if the pinned object is not a map.
  static map from_pin(const std::string& path);

  const std::string& name() const noexcept { return info_.name; }
  map_type type() const noexcept { return info_.type; }
  std::uint32_t key_size() const noexcept { return info_.key_size; }
  std::uint32_t value_size() const noexcept { return info_.value_size; }
  std::uint32_t max_entries() const noexcept { return info_.max_entries; }
  std::uint32_t flags() const noexcept { return info_.flags; }
  std::uint32_t id() const noexcept { return info_.id; }
  int fd() const noexcept { return fd_.get(); }
  const map_info& info() const noexcept { return info_; }
  /// Bytes of one value as lookup/update exchange it: value_size(), or, for per-CPU maps,
  /// value_size() rounded up to 8 times possible_cpus().
  std::size_t value_buffer_size() const;

  /// BTF names of the key/value types ("" when unknown), used in size-mismatch messages.
  const std::string& key_type_name() const noexcept { return key_type_name_; }
  const std::string& value_type_name() const noexcept { return value_type_name_; }
  void set_type_names(std::string key_type_name, std::string value_type_name) {
    key_type_name_ = std::move(key_type_name);
    value_type_name_ = std::move(value_type_name);
  }

  /// Pins the map at `path` in a bpffs mount (BPF_OBJ_PIN).
  /// Throws: ebpf::error naming the path (EEXIST: already pinned there; errc::invalid_argument:
  /// the directory is not on a BPF filesystem, with the mount command as a hint).
  void pin(const std::string& path) const;
  /// Removes the pin at `path` after checking it is this map (unpin never removes another
  /// object's pin). Throws: ebpf::error naming the path; errc::invalid_argument if the pin
  /// belongs to another object.
  void unpin(const std::string& path) const;
  /// Makes the map read-only for user space from now on (BPF_MAP_FREEZE, 5.2). Later updates
  /// fail with EPERM. Throws: ebpf::error (EBUSY: a writable mmap exists or the map is frozen).
  void freeze();
  /// A second handle on the same kernel map (same id, names and type names).
  /// Throws: ebpf::error with the errno.
  map dup() const;

  /// Copies the value of `key` into `value`; false if the key is absent (or the queue/stack is
  /// empty). For bloom_filter, `value` is the input: true if it may be in the filter.
  /// Throws: errc::invalid_argument for wrong span sizes; ebpf::error for kernel failures other
  /// than ENOENT.
  bool lookup(std::span<const std::byte> key, std::span<std::byte> value) const;
  /// Creates or replaces `key` (queue/stack/bloom_filter: pushes `value`).
  /// Throws: errc::invalid_argument for wrong span sizes; ebpf::error with the errno (EEXIST
  /// for no_exist, ENOENT for exist, E2BIG when full, EPERM when frozen).
  void update(std::span<const std::byte> key, std::span<const std::byte> value,
              update_flags flags = update_flags::any);
  /// Deletes `key`; false if it was absent. Throws: as lookup (EINVAL: arrays cannot delete).
  bool erase(std::span<const std::byte> key);
  /// Copies out and deletes `key` in one step (hash maps 5.14; queue/stack: pop with an empty
  /// key); false if absent/empty. Throws: as lookup.
  bool lookup_and_delete(std::span<const std::byte> key, std::span<std::byte> value);
  /// The key after `key` (the first key when `key` is empty) into `next_key`; false at the end.
  /// Throws: as lookup.
  bool get_next_key(std::span<const std::byte> key, std::span<std::byte> next_key) const;
  /// All keys; see key_cursor for what happens when the map changes during the walk.
  /// The range reads this map, which must outlive it.
  key_range keys() const { return key_range(detail::raw_key_source{key_cursor(*this)}); }

  /// Reads the next batch into `keys` and `values` (room for keys.size() / key_size() entries;
  /// values must have room for as many) and returns how many were read; sets cursor.done() at
  /// the end. The kernel's "ENOENT with n > 0" end marker is not an error. (5.6)
  /// Throws: errc::unsupported for map types without batch operations (the kernel's
  /// ENOTSUPP/EINVAL); ENOSPC when one hash bucket holds more entries than the buffers.
  std::size_t lookup_batch(batch_cursor& cursor, std::span<std::byte> keys,
                           std::span<std::byte> values) const;
  /// As lookup_batch, and deletes what it read.
  std::size_t lookup_and_delete_batch(batch_cursor& cursor, std::span<std::byte> keys,
                                      std::span<std::byte> values);
  /// Updates keys.size() / key_size() entries; returns that count. Only update_flags::any and
  /// update_flags::lock are accepted by the kernel here.
  /// Throws: as lookup_batch; on a kernel failure the message says how many were done.
  std::size_t update_batch(std::span<const std::byte> keys, std::span<const std::byte> values,
                           update_flags flags = update_flags::any);
  /// Deletes the keys in order and returns how many were deleted: the kernel stops at the
  /// first key that is not in the map. Throws: as lookup_batch.
  std::size_t delete_batch(std::span<const std::byte> keys);

  /// Maps the values of a BPF_F_MMAPABLE array (value_size * max_entries, page-rounded) or an
  /// arena (max_entries pages) into memory. writable=false maps read-only (needed for frozen
  /// and rdonly_prog maps). Throws: errc::invalid_argument for other maps; ebpf::error (EPERM:
  /// writable mapping of a frozen map).
  mapped_region mmap(bool writable = true) const;

 private:
  std::size_t read_batch(batch_cursor& cursor, std::span<std::byte> keys,
                         std::span<std::byte> values, bool and_delete) const;
  std::size_t batch_count(std::size_t keys_bytes, std::optional<std::size_t> values_bytes,
                          std::string_view action) const;
  std::string subject() const;

  unique_fd fd_;
  map_info info_;
  std::string key_type_name_;
  std::string value_type_name_;
};

namespace detail {

/// Throws errc::type_mismatch unless m.type() is one of `types`:
/// "map 'x': <view> needs a map of type hash or lru_hash, this one is array".
void check_map_type(const map& m, std::string_view view, std::initializer_list<map_type> types);
/// Throws errc::type_mismatch if the sizes differ:
/// "map 'blocklist': key type is 8 bytes, the map's key is 4 bytes (BTF: __u32)".
void check_key_size(const map& m, std::size_t size);
void check_value_size(const map& m, std::size_t size);
/// Throws errc::invalid_argument if index >= m.max_entries().
void check_index(const map& m, std::uint32_t index, std::string_view action);
/// Reads the whole map with lookup_batch (or lookup_and_delete_batch), growing the batch when a
/// hash bucket does not fit. Returns the number of entries; keys/values hold them back to back.
std::size_t read_all_batched(const map& m, bool and_delete, std::size_t chunk,
                             std::vector<std::byte>& keys, std::vector<std::byte>& values);

template <class T>
std::span<const std::byte> bytes_of(const T& value) noexcept {
  return std::as_bytes(std::span<const T, 1>(&value, 1));
}
template <class T>
std::span<std::byte> writable_bytes_of(T& value) noexcept {
  return std::as_writable_bytes(std::span<T, 1>(&value, 1));
}
template <class T>
T from_bytes(const std::byte* bytes) noexcept {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}
/// Bytes between per-CPU slots: sizeof(T) rounded up to 8.
template <class T>
inline constexpr std::size_t per_cpu_stride = (sizeof(T) + 7) / 8 * 8;

template <class T>
concept plain_data =
    std::is_trivially_copyable_v<T> && std::default_initializable<T> && !std::is_pointer_v<T>;

/// Throws errc::invalid_argument unless `count` == possible_cpus().
void check_per_cpu_count(const map& m, std::size_t count);

/// One T per possible CPU laid out as the kernel wants a per-CPU value.
template <class T>
std::vector<std::byte> pack_per_cpu(const map& m, std::span<const T> values) {
  check_per_cpu_count(m, values.size());
  std::vector<std::byte> buffer(m.value_buffer_size());
  for (std::size_t cpu = 0; cpu < values.size(); ++cpu)
    std::memcpy(buffer.data() + cpu * per_cpu_stride<T>, &values[cpu], sizeof(T));
  return buffer;
}
template <class T>
std::vector<T> unpack_per_cpu(std::span<const std::byte> buffer) {
  std::vector<T> values(buffer.size() / per_cpu_stride<T>);
  for (std::size_t cpu = 0; cpu < values.size(); ++cpu)
    values[cpu] = from_bytes<T>(buffer.data() + cpu * per_cpu_stride<T>);
  return values;
}

/// The map behind a typed view: either borrowed (the view was made from a `map&`, which must
/// outlive it; object::map<View>() does this) or owned (made from a `map&&`).
class typed_map_base {
 public:
  typed_map_base(typed_map_base&& other) noexcept
      : owned_(std::move(other.owned_)),
        map_(other.map_ == &other.owned_ ? &owned_ : other.map_) {
    other.map_ = &other.owned_;
  }
  typed_map_base& operator=(typed_map_base&& other) noexcept {
    if (this != &other) {
      owned_ = std::move(other.owned_);
      map_ = other.map_ == &other.owned_ ? &owned_ : other.map_;
      other.map_ = &other.owned_;
    }
    return *this;
  }
  typed_map_base(const typed_map_base&) = delete;
  typed_map_base& operator=(const typed_map_base&) = delete;

  /// The underlying map, for byte-level operations.
  map& raw() noexcept { return *map_; }
  const map& raw() const noexcept { return *map_; }
  const std::string& name() const noexcept { return map_->name(); }
  int fd() const noexcept { return map_->fd(); }
  std::uint32_t max_entries() const noexcept { return map_->max_entries(); }

 protected:
  typed_map_base() noexcept = default;
  explicit typed_map_base(map& borrowed) noexcept : map_(&borrowed) {}
  explicit typed_map_base(map&& owned) noexcept : owned_(std::move(owned)) {}
  ~typed_map_base() = default;

  map owned_;
  map* map_ = &owned_;  // never null: an empty view uses the empty owned_ (EBADF on use)
};

template <class K>
struct typed_key_source {
  using value_type = K;
  key_cursor cursor;
  std::optional<K> next() {
    if (!cursor.next()) return std::nullopt;
    return from_bytes<K>(cursor.key().data());
  }
};

template <class K, class V>
struct typed_item_source {
  using value_type = std::pair<K, V>;
  const map* m;
  key_cursor cursor;
  std::optional<value_type> next() {
    V value;
    while (cursor.next()) {
      // A key deleted between get_next_key and lookup is skipped, not reported.
      if (m->lookup(cursor.key(), writable_bytes_of(value)))
        return value_type(from_bytes<K>(cursor.key().data()), value);
    }
    return std::nullopt;
  }
};

template <class K, class V>
struct per_cpu_item_source {
  using value_type = std::pair<K, std::vector<V>>;
  const map* m;
  key_cursor cursor;
  std::vector<std::byte> buffer;
  std::optional<value_type> next() {
    buffer.resize(m->value_buffer_size());
    while (cursor.next()) {
      if (!m->lookup(cursor.key(), buffer)) continue;
      return value_type(from_bytes<K>(cursor.key().data()), unpack_per_cpu<V>(buffer));
    }
    return std::nullopt;
  }
};

/// Key/value operations shared by hash_map and lpm_trie.
template <class K, class V>
class keyed_map : public typed_map_base {
 public:
  /// Typed key walk; see key_cursor for behaviour under modification.
  using key_range = generated_range<typed_key_source<K>>;
  /// (key, value) walk: each key is looked up as it is reached; keys deleted meanwhile are
  /// skipped.
  using item_range = generated_range<typed_item_source<K, V>>;

  /// The value of `key`, or nullopt. Throws: ebpf::error for kernel failures.
  std::optional<V> lookup(const K& key) const {
    V value;
    if (!map_->lookup(bytes_of(key), writable_bytes_of(value))) return std::nullopt;
    return value;
  }
  bool contains(const K& key) const { return lookup(key).has_value(); }
  /// Throws: ebpf::error with the errno (EEXIST, ENOENT, E2BIG when full, EPERM when frozen).
  void update(const K& key, const V& value, update_flags flags = update_flags::any) {
    map_->update(bytes_of(key), bytes_of(value), flags);
  }
  /// False if `key` was absent.
  bool erase(const K& key) { return map_->erase(bytes_of(key)); }
  key_range keys() const { return key_range(typed_key_source<K>{key_cursor(*map_)}); }
  item_range items() const { return item_range(typed_item_source<K, V>{map_, key_cursor(*map_)}); }

 protected:
  keyed_map() = default;
  template <class M>
  keyed_map(M&& m, std::string_view view, std::initializer_list<map_type> types)
      : typed_map_base(std::forward<M>(m)) {
    check_map_type(*map_, view, types);
    check_key_size(*map_, sizeof(K));
    check_value_size(*map_, sizeof(V));
  }
};

}  // namespace detail

/// A hash or LRU hash map with key K and value V.
///
///   auto blocked = object.map<ebpf::hash_map<std::uint32_t, std::uint8_t>>("blocklist");
///   blocked.update(ebpf::ipv4("10.0.0.7"), 1);
template <detail::plain_data K, detail::plain_data V>
class hash_map : public detail::keyed_map<K, V> {
 public:
  hash_map() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch if `m` is not a hash/lru_hash map or sizeof(K)/sizeof(V) differ
  /// from its key/value size ("map 'blocklist': key type is 8 bytes, the map's key is 4 bytes").
  explicit hash_map(map& m)
      : detail::keyed_map<K, V>(m, "hash_map", {map_type::hash, map_type::lru_hash}) {}
  /// A view that owns `m`. Throws: as above.
  explicit hash_map(map&& m)
      : detail::keyed_map<K, V>(std::move(m), "hash_map", {map_type::hash, map_type::lru_hash}) {}

  /// Looks up and deletes `key` in one step (5.14). Throws: ebpf::error.
  std::optional<V> lookup_and_delete(const K& key) {
    V value;
    if (!this->map_->lookup_and_delete(detail::bytes_of(key), detail::writable_bytes_of(value)))
      return std::nullopt;
    return value;
  }

  /// Updates keys[i] to values[i] in one syscall (5.6); returns the count.
  /// Throws: errc::invalid_argument if the spans differ in length; ebpf::error.
  std::size_t update_batch(std::span<const K> keys, std::span<const V> values,
                           update_flags flags = update_flags::any) {
    if (keys.size() != values.size())
      throw_error(errc::invalid_argument, "map '" + this->name() + "': update batch: " +
                                              std::to_string(keys.size()) + " keys but " +
                                              std::to_string(values.size()) + " values");
    return this->map_->update_batch(std::as_bytes(keys), std::as_bytes(values), flags);
  }
  /// Deletes `keys` in one syscall (5.6); returns how many were deleted (the kernel stops at the
  /// first absent key). Throws: ebpf::error.
  std::size_t erase_batch(std::span<const K> keys) {
    return this->map_->delete_batch(std::as_bytes(keys));
  }
  /// Every entry, read with BPF_MAP_LOOKUP_BATCH `chunk` entries per syscall (grown when a
  /// bucket does not fit); 0 picks a default. (5.6) Throws: ebpf::error.
  std::vector<std::pair<K, V>> lookup_batch(std::size_t chunk = 0) const {
    return read_all(false, chunk);
  }
  /// Every entry, removed from the map as it is read (BPF_MAP_LOOKUP_AND_DELETE_BATCH, 5.6).
  std::vector<std::pair<K, V>> lookup_and_delete_batch(std::size_t chunk = 0) {
    return read_all(true, chunk);
  }

 private:
  std::vector<std::pair<K, V>> read_all(bool and_delete, std::size_t chunk) const {
    std::vector<std::byte> keys, values;
    std::size_t n = detail::read_all_batched(*this->map_, and_delete, chunk, keys, values);
    std::vector<std::pair<K, V>> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      out.emplace_back(detail::from_bytes<K>(keys.data() + i * sizeof(K)),
                       detail::from_bytes<V>(values.data() + i * sizeof(V)));
    return out;
  }
};

/// An LRU hash map: the same operations as hash_map (which accepts both types).
template <detail::plain_data K, detail::plain_data V>
using lru_hash_map = hash_map<K, V>;

/// A BPF_MAP_TYPE_ARRAY of V, indexed 0 .. max_entries()-1. Elements always exist (zeroed at
/// creation) and cannot be deleted.
template <detail::plain_data V>
class array_map : public detail::typed_map_base {
 public:
  using item_range = detail::generated_range<detail::typed_item_source<std::uint32_t, V>>;

  array_map() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type or value size.
  explicit array_map(map& m) : typed_map_base(m) { check(); }
  /// A view that owns `m`. Throws: as above.
  explicit array_map(map&& m) : typed_map_base(std::move(m)) { check(); }
  /// The value at `index`. Throws: errc::invalid_argument if index >= max_entries().
  V lookup(std::uint32_t index) const {
    detail::check_index(*map_, index, "lookup");
    V value;
    if (!map_->lookup(detail::bytes_of(index), detail::writable_bytes_of(value)))
      throw_error(errc::not_found, "map '" + name() + "': lookup: index " +
                                       std::to_string(index) + " is absent");
    return value;
  }
  /// Throws: errc::invalid_argument for a bad index; ebpf::error (EPERM when frozen).
  void update(std::uint32_t index, const V& value, update_flags flags = update_flags::any) {
    detail::check_index(*map_, index, "update");
    map_->update(detail::bytes_of(index), detail::bytes_of(value), flags);
  }
  /// (index, value) for every index.
  item_range items() const {
    return item_range(detail::typed_item_source<std::uint32_t, V>{map_, key_cursor(*map_)});
  }
  /// Maps the array (it must have map_flag::mmapable). See map::mmap.
  mapped_region mmap(bool writable = true) const { return map_->mmap(writable); }

 private:
  void check() const {
    detail::check_map_type(*map_, "array_map", {map_type::array});
    detail::check_value_size(*map_, sizeof(V));
  }
};

/// A BPF_MAP_TYPE_PERCPU_ARRAY of V: each index has one V per possible CPU.
template <detail::plain_data V>
class per_cpu_array : public detail::typed_map_base {
 public:
  per_cpu_array() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type or value size.
  explicit per_cpu_array(map& m) : typed_map_base(m) { check(); }
  /// A view that owns `m`. Throws: as above.
  explicit per_cpu_array(map&& m) : typed_map_base(std::move(m)) { check(); }
  /// One value per possible CPU. Throws: errc::invalid_argument for a bad index.
  std::vector<V> lookup(std::uint32_t index) const {
    detail::check_index(*map_, index, "lookup");
    std::vector<std::byte> buffer(map_->value_buffer_size());
    map_->lookup(detail::bytes_of(index), buffer);
    return detail::unpack_per_cpu<V>(buffer);
  }
  /// The sum over all CPUs of the value at `index` (the usual way to read a counter).
  V sum(std::uint32_t index) const
    requires std::is_arithmetic_v<V>
  {
    V total{};
    for (const V& value : lookup(index)) total += value;
    return total;
  }
  /// Sets `value` on every CPU.
  void update(std::uint32_t index, const V& value, update_flags flags = update_flags::any) {
    std::vector<V> values(possible_cpus(), value);
    update(index, std::span<const V>(values), flags);
  }
  /// Sets one value per CPU. Throws: errc::invalid_argument unless values.size() ==
  /// possible_cpus() and index < max_entries().
  void update(std::uint32_t index, std::span<const V> values,
              update_flags flags = update_flags::any) {
    detail::check_index(*map_, index, "update");
    map_->update(detail::bytes_of(index), detail::pack_per_cpu(*map_, values), flags);
  }

 private:
  void check() const {
    detail::check_map_type(*map_, "per_cpu_array", {map_type::percpu_array});
    detail::check_value_size(*map_, sizeof(V));
  }
};

/// A per-CPU hash (percpu_hash or lru_percpu_hash) from K to one V per possible CPU.
template <detail::plain_data K, detail::plain_data V>
class per_cpu_hash : public detail::typed_map_base {
 public:
  using key_range = detail::generated_range<detail::typed_key_source<K>>;
  using item_range = detail::generated_range<detail::per_cpu_item_source<K, V>>;

  per_cpu_hash() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type or key/value size.
  explicit per_cpu_hash(map& m) : typed_map_base(m) { check(); }
  /// A view that owns `m`. Throws: as above.
  explicit per_cpu_hash(map&& m) : typed_map_base(std::move(m)) { check(); }
  /// One value per possible CPU, or nullopt if `key` is absent.
  std::optional<std::vector<V>> lookup(const K& key) const {
    std::vector<std::byte> buffer(map_->value_buffer_size());
    if (!map_->lookup(detail::bytes_of(key), buffer)) return std::nullopt;
    return detail::unpack_per_cpu<V>(buffer);
  }
  /// The sum over all CPUs, or nullopt if `key` is absent.
  std::optional<V> sum(const K& key) const
    requires std::is_arithmetic_v<V>
  {
    auto values = lookup(key);
    if (!values) return std::nullopt;
    V total{};
    for (const V& value : *values) total += value;
    return total;
  }
  bool contains(const K& key) const { return lookup(key).has_value(); }
  /// Sets `value` on every CPU.
  void update(const K& key, const V& value, update_flags flags = update_flags::any) {
    std::vector<V> values(possible_cpus(), value);
    update(key, std::span<const V>(values), flags);
  }
  /// Sets one value per CPU. Throws: errc::invalid_argument unless values.size() ==
  /// possible_cpus().
  void update(const K& key, std::span<const V> values, update_flags flags = update_flags::any) {
    map_->update(detail::bytes_of(key), detail::pack_per_cpu(*map_, values), flags);
  }
  bool erase(const K& key) { return map_->erase(detail::bytes_of(key)); }
  key_range keys() const { return key_range(detail::typed_key_source<K>{key_cursor(*map_)}); }
  /// (key, per-CPU values) for every key.
  item_range items() const {
    return item_range(detail::per_cpu_item_source<K, V>{map_, key_cursor(*map_), {}});
  }

 private:
  void check() const {
    detail::check_map_type(*map_, "per_cpu_hash",
                           {map_type::percpu_hash, map_type::lru_percpu_hash});
    detail::check_key_size(*map_, sizeof(K));
    detail::check_value_size(*map_, sizeof(V));
  }
};

namespace detail {

/// queue and stack: the same calls, FIFO or LIFO order chosen by the kernel map type.
template <class V>
class queue_stack : public typed_map_base {
 public:
  /// Adds `value`. update_flags::exist replaces the oldest element when full; otherwise a full
  /// map gives E2BIG. Throws: ebpf::error.
  void push(const V& value, update_flags flags = update_flags::any) {
    map_->update({}, bytes_of(value), flags);
  }
  /// Removes and returns the next element, or nullopt when empty.
  std::optional<V> pop() {
    V value;
    if (!map_->lookup_and_delete({}, writable_bytes_of(value))) return std::nullopt;
    return value;
  }
  /// The next element without removing it, or nullopt when empty.
  std::optional<V> peek() const {
    V value;
    if (!map_->lookup({}, writable_bytes_of(value))) return std::nullopt;
    return value;
  }

 protected:
  queue_stack() = default;
  template <class M>
  queue_stack(M&& m, std::string_view view, map_type type) : typed_map_base(std::forward<M>(m)) {
    check_map_type(*map_, view, {type});
    check_value_size(*map_, sizeof(V));
  }
};

}  // namespace detail

/// A BPF_MAP_TYPE_QUEUE (FIFO) of V (4.20).
template <detail::plain_data V>
class queue : public detail::queue_stack<V> {
 public:
  queue() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type or value size.
  explicit queue(map& m) : detail::queue_stack<V>(m, "queue", map_type::queue) {}
  /// A view that owns `m`. Throws: as above.
  explicit queue(map&& m) : detail::queue_stack<V>(std::move(m), "queue", map_type::queue) {}
};

/// A BPF_MAP_TYPE_STACK (LIFO) of V (4.20).
template <detail::plain_data V>
class stack : public detail::queue_stack<V> {
 public:
  stack() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type or value size.
  explicit stack(map& m) : detail::queue_stack<V>(m, "stack", map_type::stack) {}
  /// A view that owns `m`. Throws: as above.
  explicit stack(map&& m) : detail::queue_stack<V>(std::move(m), "stack", map_type::stack) {}
};

/// A BPF_MAP_TYPE_BLOOM_FILTER of V (5.16): push adds, contains answers "maybe" (true, with
/// the filter's false-positive rate) or "certainly not" (false).
template <detail::plain_data V>
class bloom_filter : public detail::typed_map_base {
 public:
  bloom_filter() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type or value size.
  explicit bloom_filter(map& m) : typed_map_base(m) { check(); }
  /// A view that owns `m`. Throws: as above.
  explicit bloom_filter(map&& m) : typed_map_base(std::move(m)) { check(); }
  void push(const V& value) { map_->update({}, detail::bytes_of(value)); }
  bool contains(const V& value) const {
    V probe = value;  // the kernel reads the value to test (BPF_MAP_LOOKUP_ELEM peeks)
    return map_->lookup({}, detail::writable_bytes_of(probe));
  }

 private:
  void check() const {
    detail::check_map_type(*map_, "bloom_filter", {map_type::bloom_filter});
    detail::check_value_size(*map_, sizeof(V));
  }
};

/// The usual LPM trie key: a prefix length in bits, then N bytes of data in network order
/// (struct bpf_lpm_trie_key_u8 with a fixed-size data array; no padding for any N).
template <std::size_t N>
struct lpm_key {
  std::uint32_t prefix_len = 0;
  std::uint8_t data[N] = {};
};

/// A BPF_MAP_TYPE_LPM_TRIE: lookup(K) returns the value of the longest stored prefix that
/// matches K's data (K's prefix_len is the number of bits to match; use the full width). K must
/// start with a 32-bit prefix length (see lpm_key). The map needs map_flag::no_prealloc.
template <detail::plain_data K, detail::plain_data V>
class lpm_trie : public detail::keyed_map<K, V> {
  static_assert(sizeof(K) > sizeof(std::uint32_t), "an LPM key is a u32 prefix length plus data");

 public:
  lpm_trie() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type or key/value size.
  explicit lpm_trie(map& m) : detail::keyed_map<K, V>(m, "lpm_trie", {map_type::lpm_trie}) {}
  /// A view that owns `m`. Throws: as above.
  explicit lpm_trie(map&& m)
      : detail::keyed_map<K, V>(std::move(m), "lpm_trie", {map_type::lpm_trie}) {}
};

/// array_of_maps / hash_of_maps. Values are maps of the inner kind; a lookup returns the inner
/// map's id. Keys are any trivially copyable type of the map's key size (u32 for arrays).
class map_of_maps : public detail::typed_map_base {
 public:
  map_of_maps() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type.
  explicit map_of_maps(map& m);
  /// A view that owns `m`. Throws: as above.
  explicit map_of_maps(map&& m);

  /// Stores `inner` under `key`. Throws: errc::type_mismatch for a wrong key size; ebpf::error
  /// (EINVAL: `inner` does not match the outer map's inner template).
  template <detail::plain_data K>
  void set(const K& key, const map& inner, update_flags flags = update_flags::any) {
    set(key, inner.fd(), flags);
  }
  template <detail::plain_data K>
  void set(const K& key, int inner_fd, update_flags flags = update_flags::any) {
    detail::check_key_size(*map_, sizeof(K));
    std::uint32_t fd = static_cast<std::uint32_t>(inner_fd);
    map_->update(detail::bytes_of(key), detail::bytes_of(fd), flags);
  }
  /// The id of the inner map at `key`, or nullopt.
  template <detail::plain_data K>
  std::optional<std::uint32_t> lookup(const K& key) const {
    detail::check_key_size(*map_, sizeof(K));
    std::uint32_t id = 0;
    if (!map_->lookup(detail::bytes_of(key), detail::writable_bytes_of(id))) return std::nullopt;
    return id;
  }
  /// Opens the inner map at `key` (by its id), or nullopt. Throws: ebpf::error.
  template <detail::plain_data K>
  std::optional<map> get(const K& key) const {
    auto id = lookup(key);
    if (!id) return std::nullopt;
    return map::from_id(*id);
  }
  template <detail::plain_data K>
  bool erase(const K& key) {
    detail::check_key_size(*map_, sizeof(K));
    return map_->erase(detail::bytes_of(key));
  }
};

/// A BPF_MAP_TYPE_PROG_ARRAY for tail calls: index -> program.
class prog_array : public detail::typed_map_base {
 public:
  prog_array() = default;
  /// A view of `m` (borrowed: `m` must outlive the view).
  /// Throws: errc::type_mismatch for another map type.
  explicit prog_array(map& m);
  /// A view that owns `m`. Throws: as above.
  explicit prog_array(map&& m);

  /// Puts the program `program_fd` at `index`. Throws: errc::invalid_argument for a bad index;
  /// ebpf::error (EINVAL: program type differs from the other programs of the array).
  void set(std::uint32_t index, int program_fd);
  /// Puts `program` (anything with fd(), such as ebpf::program) at `index`.
  template <class Program>
    requires requires(const Program& p) {
      { p.fd() } -> std::convertible_to<int>;
    }
  void set(std::uint32_t index, const Program& program) {
    set(index, static_cast<int>(program.fd()));
  }
  /// The id of the program at `index`, or nullopt.
  std::optional<std::uint32_t> lookup(std::uint32_t index) const;
  /// False if the slot was empty.
  bool erase(std::uint32_t index);
};

}  // namespace ebpf
