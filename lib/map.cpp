// The live map API over lib/sys: argument checks, messages that name the map, and the kernel
// behaviours callers should not have to know (batch end markers, per-CPU value layout,
// get_next_key restarts).
#include <ebpf/map.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <unistd.h>

#include "sys/bpf.hpp"
#include "sys/map_extra.hpp"

namespace ebpf {

// The public flag values are the UAPI numbers lib/sys sends (and static_asserts against
// <linux/bpf.h>).
static_assert(map_flag::no_prealloc == sys::map_no_prealloc);
static_assert(map_flag::no_common_lru == sys::map_no_common_lru);
static_assert(map_flag::numa_node == sys::map_numa_node);
static_assert(map_flag::rdonly == sys::map_rdonly);
static_assert(map_flag::wronly == sys::map_wronly);
static_assert(map_flag::stack_build_id == sys::map_stack_build_id);
static_assert(map_flag::zero_seed == sys::map_zero_seed);
static_assert(map_flag::rdonly_prog == sys::map_rdonly_prog);
static_assert(map_flag::wronly_prog == sys::map_wronly_prog);
static_assert(map_flag::clone == sys::map_clone);
static_assert(map_flag::mmapable == sys::map_mmapable);
static_assert(map_flag::preserve_elems == sys::map_preserve_elems);
static_assert(map_flag::inner_map == sys::map_inner_map);
static_assert(map_flag::segv_on_fault == sys::map_segv_on_fault);
static_assert(map_flag::no_user_conv == sys::map_no_user_conv);
static_assert(static_cast<std::uint64_t>(update_flags::any) == sys::update_any);
static_assert(static_cast<std::uint64_t>(update_flags::no_exist) == sys::update_noexist);
static_assert(static_cast<std::uint64_t>(update_flags::exist) == sys::update_exist);
static_assert(static_cast<std::uint64_t>(update_flags::lock) == sys::update_lock);

namespace {

// ENOTSUPP is kernel-internal (include/linux/errno.h) but leaks to user space: kernel/bpf/
// syscall.c's BPF_DO_BATCH returns it for map types without the batch callback.
constexpr int enotsupp = 524;

std::string quoted_subject(std::string_view name) {
  std::string subject = "map '";
  subject += name;
  subject += '\'';
  return subject;
}

// The kernel accepts only letters, digits, '_' and '.' in object names (kernel/bpf/syscall.c,
// bpf_obj_name_cpy) and at most BPF_OBJ_NAME_LEN - 1 = 15 of them.
std::string kernel_name(std::string_view name) {
  std::string out(name.substr(0, 15));
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.';
    if (!ok) c = '_';
  }
  return out;
}

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

bool is_power_of_two(std::uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

// What probably went wrong when BPF_MAP_CREATE says EINVAL; empty if nothing specific.
std::string create_hint(const map_create_spec& spec, std::uint32_t flags) {
  std::uint64_t page = sys::page_size();
  switch (spec.type) {
    case map_type::lpm_trie:
      if (!(flags & map_flag::no_prealloc)) return "lpm_trie needs map_flag::no_prealloc";
      if (spec.key_size <= 4) return "an lpm_trie key is a u32 prefix length plus data";
      break;
    case map_type::ringbuf:
    case map_type::user_ringbuf:
      if (spec.max_entries % page != 0 || !is_power_of_two(spec.max_entries))
        return "max_entries of a ring buffer is its size in bytes: a power of two and a "
               "multiple of the page size (" + std::to_string(page) + ")";
      break;
    case map_type::queue:
    case map_type::stack:
    case map_type::bloom_filter:
      if (spec.key_size != 0)
        return std::string(to_string(spec.type)) + " maps have no key: key_size must be 0";
      break;
    case map_type::sk_storage:
    case map_type::inode_storage:
    case map_type::task_storage:
    case map_type::cgrp_storage:
      if (spec.btf_fd < 0) return "local storage maps need BTF for key and value (btf_fd)";
      if (!(flags & map_flag::no_prealloc)) return "local storage maps need map_flag::no_prealloc";
      break;
    case map_type::struct_ops:
      if (spec.btf_fd < 0 || spec.btf_vmlinux_value_type_id == 0)
        return "struct_ops maps need btf_vmlinux_value_type_id and a valid btf_fd";
      break;
    case map_type::arena:
      if (!(flags & map_flag::mmapable)) return "arena maps need map_flag::mmapable";
      break;
    default:
      break;
  }
  if (spec.max_entries == 0 && spec.type != map_type::cgroup_storage &&
      spec.type != map_type::percpu_cgroup_storage && spec.type != map_type::sk_storage &&
      spec.type != map_type::inode_storage && spec.type != map_type::task_storage &&
      spec.type != map_type::cgrp_storage)
    return "max_entries is 0";
  return {};
}

bool is_map_in_map(map_type type) {
  return type == map_type::array_of_maps || type == map_type::hash_of_maps;
}

map_info to_info(const sys::map_info& in) {
  map_info out;
  out.type = in.type;
  out.id = in.id;
  out.key_size = in.key_size;
  out.value_size = in.value_size;
  out.max_entries = in.max_entries;
  out.flags = in.flags;
  out.name = in.name;
  out.ifindex = in.ifindex;
  out.btf_id = in.btf_id;
  out.btf_key_type_id = in.btf_key_type_id;
  out.btf_value_type_id = in.btf_value_type_id;
  out.btf_vmlinux_value_type_id = in.btf_vmlinux_value_type_id;
  out.map_extra = in.map_extra;
  return out;
}

void check_is_map(int fd, const std::string& what) {
  std::string kind = sys::anon_inode_kind(fd);
  if (!kind.empty() && kind != "bpf-map")
    throw_error(errc::invalid_argument, what + " is not a BPF map (it is a " + kind + ")");
}

bool is_system_errno(const std::error_code& code, int value) {
  return code.category() == std::system_category() && code.value() == value;
}

// A write refused with EPERM usually means the map is frozen or the fd is read-only, not that
// privileges are missing (which the generic EPERM hint would suggest). Call from a catch.
[[noreturn]] void rethrow_write(const error& e, const map& m, std::string_view action) {
  if (is_system_errno(e.code(), EPERM)) {
    std::string why;
    sys::map_fd_status status = sys::map_fd_status_of(m.fd());
    if (status.frozen)
      why = "the map is frozen: user space can only read it";
    else if (status.known && !status.writable)
      why = "this fd is read-only: the map was created or opened with map_flag::rdonly";
    if (!why.empty())
      throw error(e.code(), quoted_subject(m.name()) + ": " + std::string(action) + ": " +
                                std::strerror(EPERM) + " (" + why + ")");
  }
  throw;
}

}  // namespace

// ---- free functions ------------------------------------------------------------------------

std::uint32_t possible_cpus() {
  // lib/sys parses /sys/devices/system/cpu/possible once and caches it (thread-safe).
  return sys::possible_cpus();
}

std::vector<std::uint32_t> map_ids() {
  std::vector<std::uint32_t> ids;
  for (auto id = sys::map_get_next_id(0); id; id = sys::map_get_next_id(*id)) ids.push_back(*id);
  return ids;
}

std::uint32_t ipv4(std::string_view dotted) {
  auto fail = [&](const char* why) -> void {
    throw_error(errc::invalid_argument,
                "ipv4 '" + std::string(dotted) + "': not a dotted IPv4 address (" + why + ")");
  };
  std::uint8_t parts[4] = {};
  std::size_t position = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (position >= dotted.size() || dotted[position] != '.') fail("expected 4 parts");
      ++position;
    }
    std::size_t start = position;
    unsigned value = 0;
    while (position < dotted.size() && dotted[position] >= '0' && dotted[position] <= '9') {
      value = value * 10 + static_cast<unsigned>(dotted[position] - '0');
      if (value > 255) fail("a part is above 255");
      ++position;
    }
    if (position == start) fail("a part is not a decimal number");
    // Leading zeros are rejected as inet_pton does: "010" would be octal to inet_aton.
    if (position - start > 1 && dotted[start] == '0') fail("a part has a leading zero");
    parts[part] = static_cast<std::uint8_t>(value);
  }
  if (position != dotted.size()) fail("trailing characters");
  // Network byte order means the bytes in memory are a.b.c.d, whatever the host order.
  std::uint32_t address;
  std::memcpy(&address, parts, sizeof address);
  return address;
}

// ---- key_cursor ----------------------------------------------------------------------------

key_cursor::key_cursor(const map& m)
    : map_(&m), current_(m.key_size()), upcoming_(m.key_size()) {}

bool key_cursor::next() {
  if (!started_) {
    started_ = true;
    has_upcoming_ = map_->get_next_key({}, upcoming_);
  }
  if (!has_upcoming_) return false;
  std::swap(current_, upcoming_);
  // A hash or LPM map answers get_next_key for a key it no longer holds with its first key
  // (kernel/bpf/hashtab.c htab_map_get_next_key, lpm_trie.c trie_get_next_key), so a walk
  // whose successor was deleted by someone else starts over. No map holds more than
  // max_entries keys, so more visits than that mean the walk restarted and may never end.
  ++visited_;
  if (map_->max_entries() != 0 && visited_ > map_->max_entries())
    throw error(std::error_code(EAGAIN, std::system_category()),
                quoted_subject(map_->name()) + ": iterate keys: visited more than max_entries (" +
                    std::to_string(map_->max_entries()) +
                    ") keys: the map changed during the walk, which restarted; retry, or read "
                    "it with lookup_batch");
  // Fetch the successor now, before the caller sees the current key: the caller may delete it.
  has_upcoming_ = map_->get_next_key(current_, upcoming_);
  return true;
}

// ---- mapped_region -------------------------------------------------------------------------

struct mapped_region::impl {
  sys::mapped_region region;
};

mapped_region::mapped_region() noexcept = default;
mapped_region::mapped_region(mapped_region&& other) noexcept
    : impl_(std::move(other.impl_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      writable_(std::exchange(other.writable_, false)) {}
mapped_region& mapped_region::operator=(mapped_region&& other) noexcept {
  if (this != &other) {
    impl_ = std::move(other.impl_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    writable_ = std::exchange(other.writable_, false);
  }
  return *this;
}
mapped_region::~mapped_region() = default;

// ---- map: lifetime -------------------------------------------------------------------------

std::string map::subject() const { return quoted_subject(info_.name); }

map map::create(const map_create_spec& spec) {
  std::string subject = quoted_subject(spec.name);
  std::string name = kernel_name(spec.name);

  sys::map_create_options options;
  options.type = spec.type;
  options.key_size = spec.key_size;
  options.value_size = spec.value_size;
  options.max_entries = spec.max_entries;
  options.flags = spec.flags;
  options.name = name;
  options.btf_fd = spec.btf_fd;
  options.btf_key_type_id = spec.btf_key_type_id;
  options.btf_value_type_id = spec.btf_value_type_id;
  options.btf_vmlinux_value_type_id = spec.btf_vmlinux_value_type_id;
  options.map_extra = spec.map_extra;
  if (spec.numa_node) {
    options.flags |= map_flag::numa_node;
    options.numa_node = *spec.numa_node;
  }

  map inner;  // a temporary inner map made from spec.inner_map, closed once we are created
  if (is_map_in_map(spec.type)) {
    if (spec.inner_map_fd >= 0) {
      options.inner_map_fd = spec.inner_map_fd;
    } else if (spec.inner_map) {
      map_create_spec inner_spec = *spec.inner_map;
      if (inner_spec.name.empty()) inner_spec.name = spec.name + ".inner";
      inner = create(inner_spec);
      options.inner_map_fd = inner.fd();
    } else {
      throw_error(errc::invalid_argument,
                  subject + ": create: " + std::string(to_string(spec.type)) +
                      " needs an inner map (map_create_spec::inner_map_fd or inner_map)");
    }
  } else if (spec.inner_map_fd >= 0 || spec.inner_map) {
    throw_error(errc::invalid_argument, subject + ": create: only array_of_maps and "
                                                  "hash_of_maps take an inner map, this is " +
                                            std::string(to_string(spec.type)));
  }

  unique_fd fd;
  try {
    fd = sys::map_create(options, subject);
  } catch (const error& e) {
    std::string message = e.what();
    message += " [requested ";
    message += to_string(spec.type);
    message += ", key " + std::to_string(spec.key_size) + ", value " +
               std::to_string(spec.value_size) + ", max_entries " +
               std::to_string(spec.max_entries) + ", flags " + hex(options.flags) + "]";
    if (is_system_errno(e.code(), EINVAL)) {
      std::string hint = create_hint(spec, options.flags);
      if (!hint.empty()) message += " (" + hint + ")";
    }
    throw error(e.code(), std::move(message));
  }

  map result;
  result.info_ = to_info(sys::map_get_info(fd.get(), subject));
  result.info_.name = spec.name;
  result.fd_ = std::move(fd);
  result.key_type_name_ = spec.key_type_name;
  result.value_type_name_ = spec.value_type_name;
  return result;
}

map map::from_fd(unique_fd fd) {
  std::string what = "fd " + std::to_string(fd.get());
  check_is_map(fd.get(), what);
  map result;
  result.info_ = to_info(sys::map_get_info(fd.get(), "map " + what));
  result.fd_ = std::move(fd);
  return result;
}

map map::from_id(std::uint32_t id) {
  std::string subject = "map id " + std::to_string(id);
  unique_fd fd = sys::map_get_fd_by_id(id, 0, subject);
  map result;
  result.info_ = to_info(sys::map_get_info(fd.get(), subject));
  result.fd_ = std::move(fd);
  return result;
}

map map::from_pin(const std::string& path) {
  std::string subject = "map pinned at '" + path + "'";
  unique_fd fd = sys::obj_get(path, 0, subject);
  check_is_map(fd.get(), "the object pinned at '" + path + "'");
  map result;
  result.info_ = to_info(sys::map_get_info(fd.get(), subject));
  result.fd_ = std::move(fd);
  return result;
}

void map::pin(const std::string& path) const {
  try {
    sys::obj_pin(fd_.get(), path, subject());
  } catch (const error& e) {
    // Pinning outside bpffs fails with EPERM, which would otherwise read as a privilege problem.
    if (e.code().category() == std::system_category() && !sys::on_bpffs(path))
      throw_error(errc::invalid_argument,
                  subject() + ": pin '" + path + "': the directory is not on a BPF filesystem "
                                                 "(mount one: mount -t bpf bpf /sys/fs/bpf)");
    throw;
  }
}

void map::unpin(const std::string& path) const {
  map pinned = from_pin(path);
  if (pinned.id() != id())
    throw_error(errc::invalid_argument,
                subject() + ": unpin '" + path + "': the pin is map id " +
                    std::to_string(pinned.id()) + ", this map is id " + std::to_string(id()));
  if (::unlink(path.c_str()) != 0) throw_errno(errno, subject() + ": unpin '" + path + "'");
}

void map::freeze() {
  try {
    sys::map_freeze(fd_.get(), subject());
  } catch (const error& e) {
    // A second freeze: 6.18 refuses the write access a freeze needs (EPERM, handled below);
    // older kernels (6.1) test "already frozen" first and say EBUSY.
    if (is_system_errno(e.code(), EBUSY) && sys::map_fd_status_of(fd()).frozen)
      throw error(e.code(), quoted_subject(name()) + ": freeze: " + std::strerror(EBUSY) +
                                " (the map is frozen already)");
    rethrow_write(e, *this, "freeze");
  }
}

map map::dup() const {
  map copy;
  copy.fd_ = fd_.dup();
  copy.info_ = info_;
  copy.key_type_name_ = key_type_name_;
  copy.value_type_name_ = value_type_name_;
  return copy;
}

std::size_t map::value_buffer_size() const {
  if (!is_per_cpu(info_.type)) return info_.value_size;
  // Per-CPU values travel as one 8-byte-aligned slot per possible CPU (kernel/bpf/syscall.c,
  // bpf_map_value_size: round_up(value_size, 8) * num_possible_cpus()).
  return (static_cast<std::size_t>(info_.value_size) + 7) / 8 * 8 * possible_cpus();
}

// ---- map: element operations ---------------------------------------------------------------

namespace {

// A key span of the map's key size (or empty for maps without keys), as the kernel pointer.
const void* key_pointer(const map& m, std::span<const std::byte> key, std::string_view action,
                        bool empty_means_first = false) {
  if (m.fd() < 0)
    throw error(std::error_code(EBADF, std::system_category()),
                quoted_subject(m.name()) + ": " + std::string(action) +
                    ": no map (default-constructed or moved from)");
  if (key.empty() && (m.key_size() == 0 || empty_means_first)) return nullptr;
  if (key.size() != m.key_size())
    throw_error(errc::invalid_argument,
                quoted_subject(m.name()) + ": " + std::string(action) + ": key is " +
                    std::to_string(key.size()) + " bytes, the map's key is " +
                    std::to_string(m.key_size()) + " bytes");
  return key.data();
}

void check_value_span(const map& m, std::size_t size, std::string_view action) {
  std::size_t expected = m.value_buffer_size();
  if (size != expected)
    throw_error(errc::invalid_argument,
                quoted_subject(m.name()) + ": " + std::string(action) + ": value buffer is " +
                    std::to_string(size) + " bytes, the map's value is " +
                    std::to_string(expected) + " bytes" +
                    (is_per_cpu(m.type()) ? " (per-CPU: " + std::to_string(possible_cpus()) +
                                                " slots of value_size rounded up to 8)"
                                          : std::string()));
}

}  // namespace

bool map::lookup(std::span<const std::byte> key, std::span<std::byte> value) const {
  const void* k = key_pointer(*this, key, "lookup");
  check_value_span(*this, value.size(), "lookup");
  return sys::map_lookup_elem(fd_.get(), k, value.data(), 0, subject());
}

void map::update(std::span<const std::byte> key, std::span<const std::byte> value,
                 update_flags flags) {
  const void* k = key_pointer(*this, key, "update");
  check_value_span(*this, value.size(), "update");
  try {
    sys::map_update_elem(fd_.get(), k, value.data(), static_cast<std::uint64_t>(flags), subject());
  } catch (const error& e) {
    rethrow_write(e, *this, "update");
  }
}

bool map::erase(std::span<const std::byte> key) {
  const void* k = key_pointer(*this, key, "delete");
  try {
    return sys::map_delete_elem(fd_.get(), k, subject());
  } catch (const error& e) {
    rethrow_write(e, *this, "delete");
  }
}

bool map::lookup_and_delete(std::span<const std::byte> key, std::span<std::byte> value) {
  const void* k = key_pointer(*this, key, "lookup and delete");
  check_value_span(*this, value.size(), "lookup and delete");
  try {
    return sys::map_lookup_and_delete_elem(fd_.get(), k, value.data(), 0, subject());
  } catch (const error& e) {
    rethrow_write(e, *this, "lookup and delete");
  }
}

bool map::get_next_key(std::span<const std::byte> key, std::span<std::byte> next_key) const {
  const void* k = key_pointer(*this, key, "next key", /*empty_means_first=*/true);
  if (next_key.size() != info_.key_size)
    throw_error(errc::invalid_argument, subject() + ": next key: buffer is " +
                                            std::to_string(next_key.size()) +
                                            " bytes, the map's key is " +
                                            std::to_string(info_.key_size) + " bytes");
  return sys::map_get_next_key(fd_.get(), k, next_key.data(), subject());
}

// ---- map: batches --------------------------------------------------------------------------

namespace {

// Turns the kernel's "this map type has no batch callback" into errc::unsupported, and adds a
// hint to ENOSPC; anything else is rethrown unchanged.
[[noreturn]] void rethrow_batch(const error& e, const map& m, std::string_view action) {
  const std::error_code& code = e.code();
  if (is_system_errno(code, enotsupp) || is_system_errno(code, EOPNOTSUPP) ||
      (is_system_errno(code, EINVAL) && m.key_size() == 0))
    throw error(errc::unsupported, quoted_subject(m.name()) + ": " + std::string(action) +
                                       ": map type " + std::string(to_string(m.type())) +
                                       " has no batch operations (kernel: " + e.what() + ")");
  if (is_system_errno(code, ENOSPC))
    throw error(code, std::string(e.what()) +
                          " (one hash bucket holds more entries than the batch has room for: "
                          "pass larger key and value buffers)");
  rethrow_write(e, m, action);
}

}  // namespace

std::size_t map::batch_count(std::size_t keys_bytes, std::optional<std::size_t> values_bytes,
                             std::string_view action) const {
  if (fd_.get() < 0)
    throw error(std::error_code(EBADF, std::system_category()),
                subject() + ": " + std::string(action) +
                    ": no map (default-constructed or moved from)");
  if (info_.key_size == 0)
    throw error(errc::unsupported, subject() + ": " + std::string(action) + ": map type " +
                                       std::string(to_string(info_.type)) +
                                       " has no keys and no batch operations");
  std::size_t stride = value_buffer_size();
  std::size_t count = keys_bytes / info_.key_size;
  if (keys_bytes % info_.key_size != 0 || (values_bytes && *values_bytes != count * stride))
    throw_error(errc::invalid_argument,
                subject() + ": " + std::string(action) + ": " + std::to_string(keys_bytes) +
                    " bytes of keys and " + std::to_string(values_bytes.value_or(0)) +
                    " bytes of values are not the same number of " +
                    std::to_string(info_.key_size) + "-byte keys and " + std::to_string(stride) +
                    "-byte values");
  if (count > std::numeric_limits<std::uint32_t>::max())
    throw_error(errc::invalid_argument,
                subject() + ": " + std::string(action) + ": more than 2^32-1 entries");
  return count;
}

std::size_t map::read_batch(batch_cursor& cursor, std::span<std::byte> keys,
                            std::span<std::byte> values, bool and_delete) const {
  std::string_view action = and_delete ? "lookup and delete batch" : "lookup batch";
  std::size_t count = batch_count(keys.size(), values.size(), action);
  if (cursor.done_ || count == 0) return 0;
  // The position token is a bucket index (u32) for hash maps and a key for the others
  // (kernel/bpf/hashtab.c __htab_map_lookup_and_delete_batch, syscall.c
  // generic_map_lookup_batch): room for either.
  std::size_t token_size = std::max<std::size_t>(info_.key_size, 8);
  cursor.token_.resize(token_size);
  std::vector<std::byte> out(token_size);
  const void* in = cursor.started_ ? cursor.token_.data() : nullptr;
  sys::batch_result result;
  try {
    result = and_delete
                 ? sys::map_lookup_and_delete_batch(fd_.get(), in, out.data(), keys.data(),
                                                    values.data(),
                                                    static_cast<std::uint32_t>(count), 0,
                                                    subject())
                 : sys::map_lookup_batch(fd_.get(), in, out.data(), keys.data(), values.data(),
                                         static_cast<std::uint32_t>(count), 0, subject());
  } catch (const error& e) {
    rethrow_batch(e, *this, action);
  }
  cursor.started_ = true;
  cursor.token_ = std::move(out);
  // The kernel ends a walk with ENOENT, possibly together with the last entries (count > 0).
  if (result.done) cursor.done_ = true;
  return std::min<std::size_t>(result.count, count);
}

std::size_t map::lookup_batch(batch_cursor& cursor, std::span<std::byte> keys,
                              std::span<std::byte> values) const {
  return read_batch(cursor, keys, values, false);
}

std::size_t map::lookup_and_delete_batch(batch_cursor& cursor, std::span<std::byte> keys,
                                         std::span<std::byte> values) {
  return read_batch(cursor, keys, values, true);
}

std::size_t map::update_batch(std::span<const std::byte> keys, std::span<const std::byte> values,
                              update_flags flags) {
  std::size_t count = batch_count(keys.size(), values.size(), "update batch");
  if (count == 0) return 0;
  try {
    return sys::map_update_batch(fd_.get(), keys.data(), values.data(),
                                 static_cast<std::uint32_t>(count),
                                 static_cast<std::uint64_t>(flags), subject());
  } catch (const error& e) {
    rethrow_batch(e, *this, "update batch");
  }
}

std::size_t map::delete_batch(std::span<const std::byte> keys) {
  std::size_t count = batch_count(keys.size(), std::nullopt, "delete batch");
  if (count == 0) return 0;
  try {
    return sys::map_delete_batch_until_missing(fd_.get(), keys.data(),
                                               static_cast<std::uint32_t>(count), 0, subject())
        .count;
  } catch (const error& e) {
    rethrow_batch(e, *this, "delete batch");
  }
}

// ---- map: mmap -----------------------------------------------------------------------------

mapped_region map::mmap(bool writable) const {
  std::uint64_t page = sys::page_size();
  std::uint64_t size = 0;
  void* hint = nullptr;
  bool mmapable = (info_.flags & map_flag::mmapable) != 0;
  if (info_.type == map_type::array && mmapable) {
    // kernel/bpf/arraymap.c array_map_mmap: the values, page-aligned, from offset 0.
    size = (static_cast<std::uint64_t>(info_.value_size) * info_.max_entries + page - 1) / page *
           page;
  } else if (info_.type == map_type::arena) {
    // kernel/bpf/arena.c: max_entries is the number of pages; map_extra, when set, is the
    // user address the arena must be mapped at.
    size = static_cast<std::uint64_t>(info_.max_entries) * page;
    hint = reinterpret_cast<void*>(static_cast<std::uintptr_t>(info_.map_extra));
  } else {
    throw_error(errc::invalid_argument,
                subject() + ": mmap: only arrays created with map_flag::mmapable and arenas can "
                            "be mapped, this is " +
                    std::string(to_string(info_.type)) +
                    (info_.type == map_type::array ? " without mmapable" : ""));
  }
  int prot = sys::mapped_region::prot_read | (writable ? sys::mapped_region::prot_write : 0);
  auto region = sys::mapped_region::map(fd_.get(), static_cast<std::size_t>(size), prot,
                                        sys::mapped_region::map_shared, 0, subject(), hint);
  mapped_region result;
  result.data_ = static_cast<std::byte*>(region.data());
  result.size_ = region.size();
  result.writable_ = writable;
  result.impl_ = std::make_unique<mapped_region::impl>(mapped_region::impl{std::move(region)});
  return result;
}

// ---- checks for the typed views ------------------------------------------------------------

namespace detail {

void check_map_type(const map& m, std::string_view view, std::initializer_list<map_type> types) {
  for (map_type type : types)
    if (m.type() == type) return;
  std::string wanted;
  std::size_t i = 0;
  for (map_type type : types) {
    if (i > 0) wanted += i + 1 == types.size() ? " or " : ", ";
    wanted += to_string(type);
    ++i;
  }
  throw_error(errc::type_mismatch, quoted_subject(m.name()) + ": " + std::string(view) +
                                       " needs a map of type " + wanted + ", this one is " +
                                       std::string(to_string(m.type())));
}

namespace {
void check_size(const map& m, std::string_view what, std::size_t size, std::uint32_t expected,
                const std::string& btf_name) {
  if (size == expected) return;
  std::string message = quoted_subject(m.name()) + ": " + std::string(what) + " type is " +
                        std::to_string(size) + " bytes, the map's " + std::string(what) + " is " +
                        std::to_string(expected) + " bytes";
  if (!btf_name.empty()) message += " (BTF: " + btf_name + ")";
  throw_error(errc::type_mismatch, std::move(message));
}
}  // namespace

void check_key_size(const map& m, std::size_t size) {
  check_size(m, "key", size, m.key_size(), m.key_type_name());
}

void check_value_size(const map& m, std::size_t size) {
  check_size(m, "value", size, m.value_size(), m.value_type_name());
}

void check_index(const map& m, std::uint32_t index, std::string_view action) {
  if (index >= m.max_entries())
    throw_error(errc::invalid_argument, quoted_subject(m.name()) + ": " + std::string(action) +
                                            ": index " + std::to_string(index) +
                                            " is out of range (max_entries " +
                                            std::to_string(m.max_entries()) + ")");
}

void check_per_cpu_count(const map& m, std::size_t count) {
  if (count != possible_cpus())
    throw_error(errc::invalid_argument, quoted_subject(m.name()) + ": update: " +
                                            std::to_string(count) + " values for " +
                                            std::to_string(possible_cpus()) + " possible CPUs");
}

std::size_t read_all_batched(const map& m, bool and_delete, std::size_t chunk,
                             std::vector<std::byte>& keys, std::vector<std::byte>& values) {
  std::size_t key_size = m.key_size();
  std::size_t stride = m.value_buffer_size();
  if (chunk == 0) chunk = std::clamp<std::size_t>(m.max_entries(), 16, 1024);
  // The deleting walk changes only kernel state, never the map object itself.
  map& mutable_map = const_cast<map&>(m);
  batch_cursor cursor;
  std::size_t total = 0;
  keys.clear();
  values.clear();
  while (!cursor.done()) {
    keys.resize((total + chunk) * key_size);
    values.resize((total + chunk) * stride);
    std::span<std::byte> key_span(keys.data() + total * key_size, chunk * key_size);
    std::span<std::byte> value_span(values.data() + total * stride, chunk * stride);
    std::size_t n = 0;
    try {
      n = and_delete ? mutable_map.lookup_and_delete_batch(cursor, key_span, value_span)
                     : m.lookup_batch(cursor, key_span, value_span);
    } catch (const error& e) {
      // A hash bucket bigger than the batch: nothing was read, so retry with room for more.
      if (is_system_errno(e.code(), ENOSPC) && chunk < (std::size_t{1} << 20)) {
        chunk *= 2;
        continue;
      }
      throw;
    }
    if (n == 0 && !cursor.done())
      throw error(std::error_code(EAGAIN, std::system_category()),
                  quoted_subject(m.name()) + ": lookup batch: the kernel returned no entries "
                                             "and no end marker");
    total += n;
  }
  keys.resize(total * key_size);
  values.resize(total * stride);
  return total;
}

}  // namespace detail

// ---- map_of_maps, prog_array ---------------------------------------------------------------

map_of_maps::map_of_maps(map& m) : typed_map_base(m) {
  detail::check_map_type(*map_, "map_of_maps", {map_type::array_of_maps, map_type::hash_of_maps});
}
map_of_maps::map_of_maps(map&& m) : typed_map_base(std::move(m)) {
  detail::check_map_type(*map_, "map_of_maps", {map_type::array_of_maps, map_type::hash_of_maps});
}

prog_array::prog_array(map& m) : typed_map_base(m) {
  detail::check_map_type(*map_, "prog_array", {map_type::prog_array});
}
prog_array::prog_array(map&& m) : typed_map_base(std::move(m)) {
  detail::check_map_type(*map_, "prog_array", {map_type::prog_array});
}

void prog_array::set(std::uint32_t index, int program_fd) {
  detail::check_index(*map_, index, "update");
  auto fd = static_cast<std::uint32_t>(program_fd);
  map_->update(detail::bytes_of(index), detail::bytes_of(fd));
}

std::optional<std::uint32_t> prog_array::lookup(std::uint32_t index) const {
  detail::check_index(*map_, index, "lookup");
  std::uint32_t id = 0;
  if (!map_->lookup(detail::bytes_of(index), detail::writable_bytes_of(id))) return std::nullopt;
  return id;
}

bool prog_array::erase(std::uint32_t index) {
  detail::check_index(*map_, index, "delete");
  return map_->erase(detail::bytes_of(index));
}

}  // namespace ebpf
