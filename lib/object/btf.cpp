// BTF parsing and validation.
//
// Layout of a raw BTF blob (kernel include/uapi/linux/btf.h, Documentation/bpf/btf.rst):
//
//   0            hdr_len                                                          size
//   +------------+----------------------------------+-------------------------------+
//   | btf_header | type section (at hdr_len+type_off)| string section (hdr_len+str_off)|
//   +------------+----------------------------------+-------------------------------+
//
//   btf_header: u16 magic (0xeB9F) | u8 version (1) | u8 flags | u32 hdr_len |
//               u32 type_off | u32 type_len | u32 str_off | u32 str_len
//
//   each type:  u32 name_off | u32 info | u32 size_or_type | kind-specific tail
//               info = kind_flag << 31 | kind << 24 | vlen (16 bits)
//
// The checks follow the kernel's per-kind check_meta functions in kernel/bpf/btf.c (what a
// record may contain on its own) plus reference checks (every referenced id exists). The kernel's
// later "resolve" pass (sizes, loops through modifiers) is not repeated here: clang leaves DATASEC
// sizes at 0 until the loader fixes them up, and loops are caught where they would matter, in
// skip_modifiers_and_typedefs() and size_of(), which give up after type_count() steps.

#include <ebpf/btf.hpp>
#include <ebpf/error.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <atomic>
#include <cstring>
#include <mutex>
#include <functional>
#include <new>
#include <utility>

namespace ebpf {
namespace {

constexpr std::uint16_t btf_magic = 0xeB9F;
constexpr std::uint32_t header_size = 24;  // sizeof(struct btf_header)
constexpr std::uint32_t type_record_size = 12;  // sizeof(struct btf_type)
constexpr std::uint32_t last_kind = 19;  // BTF_KIND_ENUM64

// Tail entry sizes (struct btf_member, btf_enum, btf_param, btf_var_secinfo, btf_enum64).
constexpr std::uint32_t member_size = 12;
constexpr std::uint32_t enum_size = 8;
constexpr std::uint32_t param_size = 8;
constexpr std::uint32_t secinfo_size = 12;
constexpr std::uint32_t enum64_size = 12;

std::uint32_t load_u32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);  // the blob is little-endian, as is every host we support
  return v;
}

std::uint16_t load_u16(const std::byte* p) noexcept {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void store_u32(std::byte* p, std::uint32_t v) noexcept { std::memcpy(p, &v, sizeof v); }

btf_kind kind_of(std::uint32_t info) noexcept { return static_cast<btf_kind>((info >> 24) & 0x1f); }
std::uint32_t vlen_of(std::uint32_t info) noexcept { return info & 0xffff; }
bool kflag_of(std::uint32_t info) noexcept { return (info >> 31) != 0; }

// Bytes that follow the 12-byte btf_type for this kind, or -1 for an unknown kind. A table:
// parse() calls this once per type (126,000 times for vmlinux), where a switch showed up at 8%.
struct tail_rule {
  std::int32_t fixed;     // bytes regardless of vlen; -1: unknown kind
  std::int32_t per_vlen;  // bytes per vlen entry
};
constexpr tail_rule tail_rules[32] = {
    {-1, 0},                  // 0 unknown
    {4, 0},                   // 1 int: encoding word
    {0, 0},                   // 2 ptr
    {12, 0},                  // 3 array: btf_array
    {0, member_size},         // 4 struct
    {0, member_size},         // 5 union
    {0, enum_size},           // 6 enum
    {0, 0},                   // 7 fwd
    {0, 0},                   // 8 typedef
    {0, 0},                   // 9 volatile
    {0, 0},                   // 10 const
    {0, 0},                   // 11 restrict
    {0, 0},                   // 12 func
    {0, param_size},          // 13 func_proto
    {4, 0},                   // 14 var: linkage
    {0, secinfo_size},        // 15 datasec
    {0, 0},                   // 16 float
    {4, 0},                   // 17 decl_tag: component_idx
    {0, 0},                   // 18 type_tag
    {0, enum64_size},         // 19 enum64
    {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {-1, 0},
};

inline std::int64_t tail_size(btf_kind kind, std::uint32_t vlen) noexcept {
  const tail_rule rule = tail_rules[static_cast<std::uint32_t>(kind) & 0x1f];
  if (rule.fixed < 0) return -1;
  return rule.fixed + std::int64_t{rule.per_vlen} * vlen;
}

std::string hex(std::uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return "0x" + out;
}

std::string num(std::uint64_t v) { return std::to_string(v); }

[[noreturn]] void fail(std::string message) { throw_error(errc::invalid_btf, "BTF: " + message); }

}  // namespace

namespace detail {

// Reads and checks everything a record may be checked for once the blob is indexed: names,
// referenced ids and the kernel's per-kind rules. For split BTF, names and references may be
// the base's.
class btf_checker {
 public:
  explicit btf_checker(const btf& types)
      : types_(types), str_len_(types.string_limit()), count_(types.type_count()) {}

  void check(std::uint32_t id) {
    id_ = id;
    const std::byte* record = types_.raw_record(id);
    off_ = static_cast<std::uint32_t>(record - types_.data_);
    info_ = load_u32(record + 4);
    name_off_ = load_u32(record);
    size_or_type_ = load_u32(record + 8);
    kind_ = kind_of(info_);
    vlen_ = vlen_of(info_);
    kflag_ = kflag_of(info_);
    if (name_off_ >= str_len_) {
      fail("type " + num(id) + " (" + std::string(to_string(kind_)) + ") at offset " + hex(off_) +
           ": name offset " + num(name_off_) + " is beyond the string section (" + num(str_len_) +
           " bytes)");
    }
    const std::byte* tail = record + type_record_size;
    switch (kind_) {
      case btf_kind::integer: {
        no_vlen();
        no_kflag();
        std::uint32_t data = load_u32(tail);
        if (data & ~0x0fffffffu) bad("integer data " + hex(data) + " has reserved bits set");
        std::uint32_t bits = (data & 0xff) + ((data >> 16) & 0xff);
        if (bits > 128) bad("bit offset + bits = " + num(bits) + " exceeds 128");
        if ((bits + 7) / 8 > size_or_type_) {
          bad("bit offset + bits = " + num(bits) + " does not fit in its size of " +
              num(size_or_type_) + " bytes");
        }
        std::uint32_t encoding = (data >> 24) & 0x0f;
        if (encoding != 0 && encoding != btf_int_signed && encoding != btf_int_char &&
            encoding != btf_int_bool) {
          bad("encoding " + num(encoding) + " is not one of signed, char or bool");
        }
        break;
      }
      case btf_kind::pointer:
      case btf_kind::volatile_:
      case btf_kind::const_:
      case btf_kind::restrict_:
        no_vlen();
        no_kflag();
        if (name_off_ != 0) bad("a " + std::string(to_string(kind_)) + " must not have a name");
        ref(size_or_type_, "refers to");
        break;
      case btf_kind::typedef_:
        no_vlen();
        no_kflag();
        need_name();
        ref(size_or_type_, "refers to");
        break;
      case btf_kind::type_tag:  // kind_flag set means an attribute rather than a tag (6.14)
        no_vlen();
        need_name();
        ref(size_or_type_, "refers to");
        break;
      case btf_kind::array: {
        no_vlen();
        no_kflag();
        if (name_off_ != 0) bad("an array must not have a name");
        if (size_or_type_ != 0) bad("size " + num(size_or_type_) + " must be 0 for an array");
        std::uint32_t element = load_u32(tail);
        std::uint32_t index = load_u32(tail + 4);
        if (element == 0) bad("element type is void");
        if (index == 0) bad("index type is void");
        ref(element, "element refers to");
        ref(index, "index refers to");
        break;
      }
      case btf_kind::struct_:
      case btf_kind::union_: check_members(tail); break;
      case btf_kind::enum_:
      case btf_kind::enum64: {
        if (size_or_type_ == 0 || size_or_type_ > 8 || (size_or_type_ & (size_or_type_ - 1)) != 0) {
          bad("size " + num(size_or_type_) + " is not 1, 2, 4 or 8");
        }
        std::uint32_t step = kind_ == btf_kind::enum_ ? enum_size : enum64_size;
        for (std::uint32_t i = 0; i < vlen_; ++i) {
          std::uint32_t name = load_u32(tail + i * step);
          if (name == 0) bad("enumerator " + num(i) + " has no name");
          string_in_range(name, "enumerator", i);
        }
        break;
      }
      case btf_kind::forward:  // kind_flag set means a union
        no_vlen();
        need_name();
        if (size_or_type_ != 0) bad("type " + num(size_or_type_) + " must be 0 for a forward");
        break;
      case btf_kind::function:
        no_kflag();
        need_name();
        // vlen is the linkage; 2 (extern) never reaches the kernel but clang emits it.
        if (vlen_ > 2) bad("linkage " + num(vlen_) + " is not static, global or extern");
        ref(size_or_type_, "refers to");
        if (size_or_type_ == 0 || kind_at(size_or_type_) != btf_kind::function_proto) {
          bad("refers to type " + num(size_or_type_) + ", which is not a func_proto");
        }
        break;
      case btf_kind::function_proto:
        no_kflag();
        if (name_off_ != 0) bad("a func_proto must not have a name");
        ref(size_or_type_, "return type refers to");
        for (std::uint32_t i = 0; i < vlen_; ++i) {
          std::uint32_t name = load_u32(tail + i * param_size);
          std::uint32_t type = load_u32(tail + i * param_size + 4);
          string_in_range(name, "parameter", i);
          ref(type, "parameter", i);
          // void marks "..." and only as the last, unnamed parameter.
          if (type == 0 && i + 1 != vlen_) bad("parameter " + num(i) + " is void");
          if (type == 0 && name != 0) bad("parameter " + num(i) + " (varargs) has a name");
        }
        break;
      case btf_kind::variable: {
        no_vlen();
        no_kflag();
        need_name();
        if (size_or_type_ == 0) bad("type is void");
        ref(size_or_type_, "refers to");
        std::uint32_t linkage = load_u32(tail);
        if (linkage > 2) bad("linkage " + num(linkage) + " is not static, global or extern");
        break;
      }
      case btf_kind::datasec: {
        no_kflag();
        need_name();
        for (std::uint32_t i = 0; i < vlen_; ++i) {
          const std::byte* vsi = tail + i * secinfo_size;
          std::uint32_t type = load_u32(vsi);
          std::uint64_t offset = load_u32(vsi + 4);
          std::uint64_t size = load_u32(vsi + 8);
          if (type == 0) bad("variable " + num(i) + " is void");
          ref(type, "variable", i);
          btf_kind k = kind_at(type);
          if (k != btf_kind::variable && k != btf_kind::function) {
            bad("variable " + num(i) + " refers to type " + num(type) + ", a " +
                std::string(to_string(k)) + " (must be a var or func)");
          }
          // Clang leaves the section size 0 until the loader sets it; check only when known.
          if (size_or_type_ != 0 && offset + size > size_or_type_) {
            bad("variable " + num(i) + " at offset " + num(offset) + " with size " + num(size) +
                " ends beyond the section size " + num(size_or_type_));
          }
        }
        break;
      }
      case btf_kind::floating:
        no_vlen();
        no_kflag();
        if (size_or_type_ != 2 && size_or_type_ != 4 && size_or_type_ != 8 && size_or_type_ != 12 &&
            size_or_type_ != 16) {
          bad("size " + num(size_or_type_) + " is not 2, 4, 8, 12 or 16");
        }
        break;
      case btf_kind::decl_tag: {  // kind_flag set means an attribute rather than a tag (6.14)
        no_vlen();
        need_name();
        if (size_or_type_ == 0) bad("tags void");
        ref(size_or_type_, "refers to");
        auto component = static_cast<std::int32_t>(load_u32(tail));
        if (component < -1) bad("component index " + std::to_string(component) + " is below -1");
        if (component >= 0) check_component(static_cast<std::uint32_t>(component));
        break;
      }
      case btf_kind::unknown: break;  // rejected while indexing
    }
  }

 private:
  std::string_view name_at(std::uint32_t name_off) const {
    if (name_off >= str_len_) return {};
    return types_.raw_string(name_off);
  }

  std::string subject() const {
    std::string s = "type " + num(id_) + " (" + std::string(to_string(kind_));
    std::string_view name = name_at(name_off_);
    if (!name.empty()) {
      s += " '";
      s += name.substr(0, 80);
      if (name.size() > 80) s += "...";
      s += "'";
    }
    return s + ")";
  }

  [[noreturn]] void bad(const std::string& what) const { fail(subject() + ": " + what); }

  void no_vlen() const {
    if (vlen_ != 0) bad("vlen " + num(vlen_) + " must be 0");
  }
  void no_kflag() const {
    if (kflag_) bad("kind_flag must be 0");
  }
  void need_name() const {
    if (name_at(name_off_).empty()) bad("has no name");
  }
  // The checks below run for every member of every type (millions for vmlinux): they build a
  // message only when the check fails.
  void string_in_range(std::uint32_t name_off, const char* item, std::uint32_t i) const {
    if (name_off >= str_len_) {
      bad(std::string(item) + " " + num(i) + " name offset " + num(name_off) +
          " is beyond the string section (" + num(str_len_) + " bytes)");
    }
  }
  void ref(std::uint32_t type, const char* what) const {
    if (type >= count_) {
      bad(std::string(what) + " type " + num(type) + ", beyond the last type " + num(count_ - 1));
    }
  }
  void ref(std::uint32_t type, const char* item, std::uint32_t i) const {
    if (type >= count_) {
      bad(std::string(item) + " " + num(i) + " refers to type " + num(type) + ", beyond the last type " +
          num(count_ - 1));
    }
  }
  btf_kind kind_at(std::uint32_t type) const {
    if (type == 0) return btf_kind::unknown;
    return kind_of(load_u32(types_.raw_record(type) + 4));
  }

  void check_members(const std::byte* tail) const {
    bool is_union = kind_ == btf_kind::union_;
        std::uint32_t last_offset = 0;
    for (std::uint32_t i = 0; i < vlen_; ++i) {
      const std::byte* m = tail + i * member_size;
      std::uint32_t name = load_u32(m);
      std::uint32_t type = load_u32(m + 4);
      std::uint32_t offset = load_u32(m + 8);
      string_in_range(name, "member", i);
      if (type == 0) bad("member " + num(i) + " is void");
      ref(type, "member", i);
      // With kind_flag the offset word is bitfield_size << 24 | bit_offset.
      std::uint32_t bit_offset = kflag_ ? (offset & 0xffffff) : offset;
      if (is_union && bit_offset != 0) {
        bad("member " + num(i) + " has bit offset " + num(bit_offset) + " in a union");
      }
      // ">" not ">=": a flexible array member shares the offset of what follows it (kernel).
      if (last_offset > bit_offset) {
        bad("member " + num(i) + " at bit offset " + num(bit_offset) +
            " comes before the previous member at " + num(last_offset));
      }
      if ((std::uint64_t{bit_offset} + 7) / 8 > size_or_type_) {
        bad("member " + num(i) + " at bit offset " + num(bit_offset) + " is beyond the size of " +
            num(size_or_type_) + " bytes");
      }
      last_offset = bit_offset;
    }
  }

  // A decl_tag's component index names a member of a struct/union or a parameter of a function.
  void check_component(std::uint32_t component) const {
    std::uint32_t target = size_or_type_;
    std::uint32_t target_info = load_u32(types_.raw_record(target) + 4);
    btf_kind target_kind = kind_of(target_info);
    std::uint32_t limit = 0;
    if (target_kind == btf_kind::struct_ || target_kind == btf_kind::union_) {
      limit = vlen_of(target_info);
    } else if (target_kind == btf_kind::function) {
      std::uint32_t proto = load_u32(types_.raw_record(target) + 8);
      if (proto != 0 && proto < count_ && kind_at(proto) == btf_kind::function_proto) {
        limit = vlen_of(load_u32(types_.raw_record(proto) + 4));
      }
    } else {
      bad("component index " + num(component) + " on type " + num(target) + ", a " +
          std::string(to_string(target_kind)) + " (only struct, union and func have components)");
    }
    if (component >= limit) {
      bad("component index " + num(component) + " is beyond the " + num(limit) +
          " components of type " + num(target));
    }
  }

  const btf& types_;
  std::uint32_t str_len_;
  std::uint32_t count_;

  std::uint32_t id_ = 0;
  std::uint32_t off_ = 0;
  std::uint32_t info_ = 0;
  std::uint32_t name_off_ = 0;
  std::uint32_t size_or_type_ = 0;
  btf_kind kind_ = btf_kind::unknown;
  std::uint32_t vlen_ = 0;
  bool kflag_ = false;
};

}  // namespace detail

// Name -> ids with that name, in increasing id order, one table per kind, each built on the first
// lookup of its kind. parse() keeps one byte per type (its kind, and whether it has a name) while
// it walks the records anyway, so a kind's ids come from a scan of those bytes (126 KB for
// vmlinux) instead of a walk of the records (5 MB); a kind's table then hashes only that kind's
// names (a tp_btf target is one of vmlinux's ~2,000 typedefs, not one of its ~71,000 names).
// Open addressing (no allocation per name: a node-based map took ~30 ms to fill for vmlinux):
// `slots` holds the position in `ids` of the lowest id of each name with its hash, `next` chains
// each position to the next with the same name (positions are stored plus one; 0 ends a chain).
struct btf::name_index {
  struct slot {
    std::uint32_t position = 0;  // 0: empty, else position in ids + 1
    std::uint32_t hash = 0;
  };
  struct kind_table {
    std::once_flag collected;        // ids
    std::once_flag built;            // slots and next
    std::atomic<std::uint32_t> scans{0};  // lookups answered by a scan (lookup_own)
    std::vector<std::uint32_t> ids;  // own named types of this kind, ascending
    std::vector<slot> slots;         // size is a power of two, at most half full
    std::vector<std::uint32_t> next;
  };
  static constexpr std::uint8_t named_bit = 0x80;
  // Per own type (id - first_own_id()): its kind, | named_bit when it has a name. From parse();
  // after an edit (a fresh index), from the records on first use.
  std::vector<std::uint8_t> type_kinds;
  bool described = false;
  std::once_flag describing;
  kind_table tables[32];  // by the 5-bit kind field
};

namespace {

constexpr std::size_t huge_page = std::size_t{2} << 20;  // x86-64 PMD size
constexpr std::size_t own_mapping_threshold = std::size_t{512} << 10;

}  // namespace

namespace detail {

void* allocate_btf_table(std::size_t bytes) {
  if (bytes < own_mapping_threshold) return ::operator new(bytes);
  // Room to align to a huge page, then the unaligned head and tail given back.
  const std::size_t length = (bytes + huge_page - 1) / huge_page * huge_page;
  void* raw = ::mmap(nullptr, length + huge_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const auto aligned = (start + huge_page - 1) & ~(huge_page - 1);
  if (aligned > start) ::munmap(raw, aligned - start);
  if (const std::uintptr_t tail = start + length + huge_page - (aligned + length); tail > 0)
    ::munmap(reinterpret_cast<void*>(aligned + length), tail);
  // Only advice: without THP (disabled, or "never") the pages are ordinary ones.
  (void)::madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void free_btf_table(void* at, std::size_t bytes) noexcept {
  if (bytes < own_mapping_threshold) {
    ::operator delete(at);
    return;
  }
  ::munmap(at, (bytes + huge_page - 1) / huge_page * huge_page);
}

}  // namespace detail

namespace {

// Calls `at(i)` for each index i of `bytes` (ascending) whose byte is `wanted`, until it returns
// false. memchr finds them with vector instructions: a byte-by-byte loop over vmlinux's kind
// bytes branches unpredictably (~0.4 ms a scan of 126,690 bytes, against tens of microseconds).
template <typename At>
void for_each_byte_equal(const std::vector<std::uint8_t>& bytes, std::uint8_t wanted, At&& at) {
  const std::uint8_t* p = bytes.data();
  const std::size_t n = bytes.size();
  for (std::size_t i = 0; i < n; ++i) {
    const void* hit = std::memchr(p + i, wanted, n - i);
    if (hit == nullptr) return;
    i = static_cast<std::size_t>(static_cast<const std::uint8_t*>(hit) - p);
    if (!at(i)) return;
  }
}

// Type sections from this size on get their tables' pages populated up front (parse).
constexpr std::uint32_t populate_threshold = 1u << 20;

// Makes the whole pages inside [at, at + bytes) present and writable with one madvise
// (MADV_POPULATE_WRITE, Linux 5.14). Only a hint: older kernels refuse it (EINVAL) and the pages
// then fault in as they are written, as they would have without it.
void populate_for_writing(void* at, std::size_t bytes) noexcept {
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;  // include/uapi/asm-generic/mman-common.h
#endif
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = (reinterpret_cast<std::uintptr_t>(at) + page - 1) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(at) + bytes) & ~(page - 1);
  if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
}

}  // namespace

std::string_view to_string(btf_kind kind) noexcept {
  switch (kind) {
    case btf_kind::unknown: return "void";
    case btf_kind::integer: return "int";
    case btf_kind::pointer: return "ptr";
    case btf_kind::array: return "array";
    case btf_kind::struct_: return "struct";
    case btf_kind::union_: return "union";
    case btf_kind::enum_: return "enum";
    case btf_kind::forward: return "fwd";
    case btf_kind::typedef_: return "typedef";
    case btf_kind::volatile_: return "volatile";
    case btf_kind::const_: return "const";
    case btf_kind::restrict_: return "restrict";
    case btf_kind::function: return "func";
    case btf_kind::function_proto: return "func_proto";
    case btf_kind::variable: return "var";
    case btf_kind::datasec: return "datasec";
    case btf_kind::floating: return "float";
    case btf_kind::decl_tag: return "decl_tag";
    case btf_kind::type_tag: return "type_tag";
    case btf_kind::enum64: return "enum64";
  }
  return "unknown kind";
}

btf::btf() noexcept = default;
btf::~btf() = default;

btf::btf(btf&& other) noexcept
    : bytes_(std::move(other.bytes_)),
      owner_(std::move(other.owner_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      type_offsets_(std::move(other.type_offsets_)),
      type_section_offset_(std::exchange(other.type_section_offset_, 0)),
      string_section_offset_(std::exchange(other.string_section_offset_, 0)),
      string_section_size_(std::exchange(other.string_section_size_, 0)),
      base_(std::move(other.base_)),
      base_types_(std::exchange(other.base_types_, 0)),
      base_strings_(std::exchange(other.base_strings_, 0)),
      index_(std::move(other.index_)) {
  other.type_offsets_.clear();
}

btf& btf::operator=(btf&& other) noexcept {
  if (this != &other) {
    this->~btf();
    new (this) btf(std::move(other));
  }
  return *this;
}

btf::btf(const btf& other)
    : bytes_(other.bytes_),
      owner_(other.owner_),
      data_(other.owner_ ? other.data_ : bytes_.data()),
      size_(other.size_),
      type_offsets_(other.type_offsets_),
      type_section_offset_(other.type_section_offset_),
      string_section_offset_(other.string_section_offset_),
      string_section_size_(other.string_section_size_),
      base_(other.base_),
      base_types_(other.base_types_),
      base_strings_(other.base_strings_),
      index_(other.index_ ? std::make_unique<name_index>() : nullptr) {
  if (index_) {
    index_->type_kinds = other.type_kinds();
    index_->described = true;
  }
}

btf& btf::operator=(const btf& other) {
  if (this != &other) *this = btf(other);
  return *this;
}

btf btf::parse(std::span<const std::byte> bytes) { return parse(bytes, btf_parse_options{}); }

btf btf::parse(std::span<const std::byte> bytes, const btf_parse_options& options) {
  if (bytes.size() < header_size) {
    fail("header: truncated: the blob has " + num(bytes.size()) + " bytes, the header needs " +
         num(header_size));
  }
  if (bytes.size() > 0xffffffffu) fail("blob of " + num(bytes.size()) + " bytes is beyond 4 GiB");
  const std::byte* raw = bytes.data();
  std::uint16_t magic = load_u16(raw);
  if (magic != btf_magic) {
    if (magic == 0x9FEB) fail("header: big-endian BTF is not supported");
    fail("header: bad magic " + hex(magic) + " (expected 0xeb9f)");
  }
  auto version = static_cast<std::uint8_t>(raw[2]);
  auto flags = static_cast<std::uint8_t>(raw[3]);
  if (version != 1) fail("header: unsupported version " + num(version) + " (expected 1)");
  if (flags != 0) fail("header: unsupported flags " + hex(flags));
  std::uint32_t hdr_len = load_u32(raw + 4);
  std::uint32_t type_off = load_u32(raw + 8);
  std::uint32_t type_len = load_u32(raw + 12);
  std::uint32_t str_off = load_u32(raw + 16);
  std::uint32_t str_len = load_u32(raw + 20);
  std::uint64_t size = bytes.size();
  if (hdr_len < header_size) fail("header: hdr_len " + num(hdr_len) + " is below " + num(header_size));
  if (hdr_len > size) {
    fail("header: hdr_len " + num(hdr_len) + " is beyond the blob of " + num(size) + " bytes");
  }
  if (hdr_len % 4 != 0) fail("header: hdr_len " + num(hdr_len) + " is not a multiple of 4");
  // A longer header from a newer kernel is fine as long as its extra fields are unused (zero),
  // which is what the kernel's btf_parse_hdr accepts too.
  for (std::uint32_t i = header_size; i < hdr_len; ++i) {
    if (raw[i] != std::byte{0}) {
      fail("header: byte " + num(i) + " of the " + num(hdr_len) +
           "-byte header is not zero (a field this parser does not know)");
    }
  }
  std::uint64_t type_start = std::uint64_t{hdr_len} + type_off;
  std::uint64_t type_end = type_start + type_len;
  std::uint64_t str_start = std::uint64_t{hdr_len} + str_off;
  std::uint64_t str_end = str_start + str_len;
  if (type_off % 4 != 0) fail("header: type section offset " + num(type_off) + " is not a multiple of 4");
  if (type_end > size) {
    fail("header: type section [" + num(type_start) + ", " + num(type_end) +
         ") is beyond the blob of " + num(size) + " bytes");
  }
  if (str_end > size) {
    fail("header: string section [" + num(str_start) + ", " + num(str_end) +
         ") is beyond the blob of " + num(size) + " bytes");
  }
  if (type_len != 0 && type_start < str_end && str_start < type_end) {
    fail("header: type section [" + num(type_start) + ", " + num(type_end) +
         ") overlaps string section [" + num(str_start) + ", " + num(str_end) + ")");
  }
  const btf* base = options.base.get();
  if (base && base->type_count() == 0) fail("split BTF: the base BTF is empty");
  if (base) {
    // Split BTF's strings continue the base's: its own section need not start with the empty
    // string (offset 0 is the base's), and may be empty (kernel btf_parse_str_sec, libbpf
    // btf_parse_str_sec).
    if (std::uint64_t{base->string_limit()} + str_len > 0xffffffffu)
      fail("split BTF: the base's and this string section together are beyond 4 GiB");
  } else {
    if (str_len == 0) fail("string section: empty (it must hold at least the empty string)");
    if (raw[str_start] != std::byte{0}) fail("string section: does not start with '\\0'");
  }
  // With a terminating NUL at the end every in-range offset names a terminated string, so a
  // name check is a single comparison (the kernel requires the same in btf_parse_str_sec).
  if (str_len != 0 && raw[str_end - 1] != std::byte{0}) fail("string section: does not end with '\\0'");

  btf result;
  if (options.owner) {
    result.owner_ = options.owner;
    result.data_ = bytes.data();
  } else {
    result.bytes_.assign(bytes.begin(), bytes.end());
    result.data_ = result.bytes_.data();
  }
  result.size_ = bytes.size();
  result.type_section_offset_ = static_cast<std::uint32_t>(type_start);
  result.string_section_offset_ = static_cast<std::uint32_t>(str_start);
  result.string_section_size_ = str_len;
  if (base) {
    result.base_ = options.base;
    result.base_types_ = base->type_count();
    result.base_strings_ = base->string_limit();
  }
  const std::uint32_t strings = result.string_limit();

  // Pass 1: find where each record starts; every record and its tail must lie in the section.
  // Without the kind rules (pass 2) the name offset of each record is checked here, which is
  // all that type() and find() need to stay inside the blob; the other accessors check the
  // offsets and ids they read.
  auto& offsets = result.type_offsets_;
  offsets.reserve(type_len / 16 + 1);
  if (!base) offsets.push_back(0);  // id 0 is void and has no record
  const std::byte* blob = result.data_;
  std::vector<std::uint8_t> type_kinds;  // for the name index (see name_index)
  type_kinds.reserve(type_len / 16 + 1);
  if (!base) type_kinds.push_back(0);  // void
  if (type_len >= populate_threshold) {
    // Kernel BTF (vmlinux: 126,690 types) fills about 500 KB of offsets and 126 KB of kind bytes.
    // Faulting those pages in one at a time as the walk writes them cost more than the walk
    // itself on a VM (measured here, pvm: 20 us a page fault, 7 us a page populated by madvise;
    // 2.1-3.1 ms against 0.9-1.5 ms for 150 pages). Ask for the pages the walk will write, by
    // the average record of vmlinux (6.18: 3.1 MB of types, 24.6 bytes a record), in one call.
    const std::size_t expected = type_len / 24;
    populate_for_writing(offsets.data(), std::min(offsets.capacity(), expected) * sizeof(std::uint32_t));
    populate_for_writing(type_kinds.data(), std::min(type_kinds.capacity(), expected));
  }
  // The walk writes each record's offset and kind byte into small local arrays first, appended
  // to the vectors a chunk at a time: a byte stored through a vector may alias anything, so
  // push_back of the kind byte made the compiler reload both vectors' pointers for every record
  // (measured 1.9x the walk's time on vmlinux).
  constexpr std::size_t chunk = 256;
  std::uint32_t chunk_offsets[chunk];
  std::uint8_t chunk_kinds[chunk];
  std::size_t filled = 0;
  const auto flush = [&] {
    offsets.insert(offsets.end(), chunk_offsets, chunk_offsets + filled);
    type_kinds.insert(type_kinds.end(), chunk_kinds, chunk_kinds + filled);
    filled = 0;
  };
  auto off = static_cast<std::uint32_t>(type_start);
  const auto end = static_cast<std::uint32_t>(type_end);
  const bool check_names = !options.check_kind_rules;
  while (off < end) {
    if (end - off < type_record_size) {
      const auto id = result.base_types_ + static_cast<std::uint32_t>(offsets.size() + filled);
      fail("type " + num(id) + " at offset " + hex(off) + ": truncated: " + num(end - off) +
           " bytes left in the type section, a type needs " + num(type_record_size));
    }
    const std::uint32_t name_off = load_u32(blob + off);
    const std::uint32_t info = load_u32(blob + off + 4);
    const btf_kind kind = kind_of(info);
    const std::int64_t tail = tail_size(kind, vlen_of(info));
    const std::uint64_t record_end = std::uint64_t{off} + type_record_size + static_cast<std::uint64_t>(tail);
    if (tail < 0 || static_cast<std::uint32_t>(kind) > last_kind || record_end > end ||
        (check_names && name_off >= strings)) {
      const auto id = result.base_types_ + static_cast<std::uint32_t>(offsets.size() + filled);
      if (tail < 0 || static_cast<std::uint32_t>(kind) > last_kind) {
        fail("type " + num(id) + " at offset " + hex(off) + ": unknown kind " +
             num(static_cast<std::uint32_t>(kind)));
      }
      if (record_end > end) {
        fail("type " + num(id) + " (" + std::string(to_string(kind)) + ") at offset " + hex(off) +
             ": vlen " + num(vlen_of(info)) + " needs " + num(static_cast<std::uint64_t>(tail)) +
             " bytes after the type, beyond the end of the type section at " + hex(end));
      }
      fail("type " + num(id) + " (" + std::string(to_string(kind)) + ") at offset " + hex(off) +
           ": name offset " + num(name_off) + " is beyond the string section (" + num(strings) + " bytes)");
    }
    chunk_offsets[filled] = off;
    chunk_kinds[filled] =
        static_cast<std::uint8_t>(static_cast<std::uint32_t>(kind) | (name_off != 0 ? name_index::named_bit : 0));
    if (++filled == chunk) flush();
    off = static_cast<std::uint32_t>(record_end);
  }
  flush();
  if (std::uint64_t{result.base_types_} + offsets.size() > 0x7fffffffu) fail("more than 2^31 types");

  // Pass 2: with every id known, check names, references and each kind's rules.
  if (options.check_kind_rules) {
    detail::btf_checker check(result);
    for (std::uint32_t id = result.first_own_id(); id < result.type_count(); ++id) check.check(id);
  }

  // Below this many types find() scans instead of building the name index (index_ stays null).
  constexpr std::uint32_t index_threshold = 128;
  if (offsets.size() > index_threshold) {
    result.index_ = std::make_unique<name_index>();
    result.index_->type_kinds = std::move(type_kinds);
    result.index_->described = true;
  }
  return result;
}

std::uint32_t btf::type_count() const noexcept {
  return base_types_ + static_cast<std::uint32_t>(type_offsets_.size());
}

const std::byte* btf::raw_record(std::uint32_t id) const noexcept {
  if (id < base_types_) return base_->raw_record(id);
  return data_ + type_offsets_[id - base_types_];
}

const char* btf::raw_string(std::uint32_t offset) const noexcept {
  if (offset < base_strings_) return base_->raw_string(offset);
  return reinterpret_cast<const char*>(data_ + string_section_offset_ + (offset - base_strings_));
}

btf_type btf::type(std::uint32_t id) const {
  if (id >= type_count()) {
    if (type_count() == 0) throw_error(errc::not_found, "BTF: type " + num(id) + ": the BTF is empty");
    throw_error(errc::not_found, "BTF: type " + num(id) + ": no such type (the last is " +
                                     num(type_count() - 1) + ")");
  }
  btf_type t;
  t.id = id;
  if (id == 0) return t;
  const std::byte* p = raw_record(id);
  std::uint32_t info = load_u32(p + 4);
  t.kind = kind_of(info);
  t.kind_flag = kflag_of(info);
  t.vlen = vlen_of(info);
  t.size_or_type = load_u32(p + 8);
  t.name = raw_string(load_u32(p));
  return t;
}

btf_kind btf::kind(std::uint32_t id) const {
  if (id == 0 || id >= type_count()) return type(id).kind;  // void, or the range error
  return kind_of(load_u32(raw_record(id) + 4));
}

std::string_view btf::string_at(std::uint32_t offset) const {
  if (offset >= string_limit()) {
    throw_error(errc::invalid_btf, "BTF: string offset " + num(offset) +
                                       " is beyond the string section (" +
                                       num(string_limit()) + " bytes)");
  }
  // parse() checked that the section ends with a NUL, so this stays inside it.
  return raw_string(offset);
}

namespace {

std::uint32_t hash_name(std::string_view name) noexcept {
  return static_cast<std::uint32_t>(std::hash<std::string_view>{}(name));
}

}  // namespace

namespace {

// The lowest id of `table` (a name_index::kind_table; deduced, as the type is private) named
// `name`, or 0; builds the table's hash on first use. `name_of(id)` reads a type's name.
template <typename Table, typename NameOf>
std::uint32_t lookup(Table& table, std::string_view name, const NameOf& name_of) {
  if (table.ids.empty()) return 0;
  std::call_once(table.built, [&] {
    std::size_t capacity = 16;
    while (capacity < table.ids.size() * 2) capacity *= 2;
    table.slots.assign(capacity, {});
    table.next.assign(table.ids.size(), 0);
    const std::size_t mask = capacity - 1;
    // Highest id first, so that each one found again becomes the new head: chains end up ascending.
    for (std::size_t position = table.ids.size(); position-- > 0;) {
      const std::string_view own = name_of(table.ids[position]);
      if (own.empty()) continue;
      const std::uint32_t hash = hash_name(own);
      for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
        auto& s = table.slots[i];
        if (s.position == 0) {
          s.position = static_cast<std::uint32_t>(position + 1);
          s.hash = hash;
          break;
        }
        if (s.hash == hash && own == name_of(table.ids[s.position - 1])) {
          table.next[position] = s.position;
          s.position = static_cast<std::uint32_t>(position + 1);
          break;
        }
      }
    }
  });
  const std::uint32_t hash = hash_name(name);
  const std::size_t mask = table.slots.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const auto& s = table.slots[i];
    if (s.position == 0) return 0;
    if (s.hash == hash && name == name_of(table.ids[s.position - 1])) return table.ids[s.position - 1];
  }
}

}  // namespace

// The index covers this BTF's own types; split BTF asks its base first (first_named, find).
// Only with an index (more than a few types); recomputed from the records after an edit.
const std::vector<std::uint8_t>& btf::type_kinds() const {
  name_index& index = *index_;
  std::call_once(index.describing, [&] {
    if (index.described) return;
    index.type_kinds.reserve(type_offsets_.size());
    for (std::uint32_t i = 0; i < type_offsets_.size(); ++i) {
      const std::uint32_t id = base_types_ + i;
      if (id == 0) {
        index.type_kinds.push_back(0);
        continue;
      }
      const std::byte* record = raw_record(id);
      index.type_kinds.push_back(static_cast<std::uint8_t>(((load_u32(record + 4) >> 24) & 0x1f) |
                                                           (load_u32(record) != 0 ? name_index::named_bit : 0)));
    }
    index.described = true;
  });
  return index.type_kinds;
}

void btf::named_ids_by_kind(std::uint32_t kinds, std::array<std::vector<std::uint32_t>, 32>& out) const {
  if (!index_) {
    // Small BTF (see parse) keeps no kind bytes: read the few records.
    for (std::uint32_t id = first_own_id(); id < type_count(); ++id) {
      const std::byte* record = raw_record(id);
      const std::uint32_t kind = (load_u32(record + 4) >> 24) & 0x1f;
      if (load_u32(record) != 0 && (kinds >> kind & 1u)) out[kind].push_back(id);
    }
    return;
  }
  const std::vector<std::uint8_t>& bytes = type_kinds();
  const std::uint8_t* p = bytes.data();
  const std::size_t n = bytes.size();
  // Counted first, so that each list is allocated once at its size: growing them by doubling
  // wrote twice the memory, and fresh memory is what costs here (a page fault per new page,
  // 20 us on our VM, against about 30 us for this whole counting pass over vmlinux).
  std::array<std::uint32_t, 32> counts{};
  for (std::size_t i = 0; i < n; ++i) counts[p[i] & 0x1f] += (p[i] & name_index::named_bit) != 0 ? 1u : 0u;
  for (std::uint32_t kind = 0; kind < 32; ++kind)
    if ((kinds >> kind & 1u) && counts[kind] != 0) out[kind].reserve(out[kind].size() + counts[kind]);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t b = p[i];
    if ((b & name_index::named_bit) && (kinds >> (b & 0x1f) & 1u)) out[b & 0x1f].push_back(base_types_ + static_cast<std::uint32_t>(i));
  }
}

void btf::for_each_named_id(std::uint32_t kinds, const std::function<void(std::uint32_t id, btf_kind kind)>& visit) const {
  if (!index_) {
    for (std::uint32_t id = first_own_id(); id < type_count(); ++id) {
      const std::byte* record = raw_record(id);
      const std::uint32_t kind = (load_u32(record + 4) >> 24) & 0x1f;
      if (load_u32(record) != 0 && (kinds >> kind & 1u)) visit(id, static_cast<btf_kind>(kind));
    }
    return;
  }
  const std::vector<std::uint8_t>& bytes = type_kinds();
  if (std::has_single_bit(kinds)) {
    // One kind: its named types are the bytes equal to kind | named_bit.
    const auto kind = static_cast<std::uint32_t>(std::countr_zero(kinds));
    for_each_byte_equal(bytes, static_cast<std::uint8_t>(kind | name_index::named_bit), [&](std::size_t i) {
      visit(base_types_ + static_cast<std::uint32_t>(i), static_cast<btf_kind>(kind));
      return true;
    });
    return;
  }
  const std::uint8_t* p = bytes.data();
  const std::size_t n = bytes.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t b = p[i];
    if ((b & name_index::named_bit) && (kinds >> (b & 0x1f) & 1u))
      visit(base_types_ + static_cast<std::uint32_t>(i), static_cast<btf_kind>(b & 0x1f));
  }
}

// The lowest own id of `kind` named `name` (0 if none), from that kind's table: its ids collected
// on first use, then hashed by lookup().
std::uint32_t btf::lookup_own(std::uint32_t kind, std::string_view name, bool may_scan) const {
  name_index::kind_table& table = index_->tables[kind & 0x1f];
  // The first few lookups of a kind scan the kind bytes and compare names in place: a loader
  // asks vmlinux for a handful of names (a tp_btf program's typedef, bpf_func_id), and listing
  // then hashing all of a kind's names (3,100 typedefs, 56,000 functions) costs more than a few
  // scans, mostly in the fresh memory the lists and the hash take.
  constexpr std::uint32_t scan_limit = 4;
  if (may_scan && table.scans.load(std::memory_order_relaxed) < scan_limit &&
      table.scans.fetch_add(1, std::memory_order_relaxed) < scan_limit) {
    // The lowest id with the name: the first match of an ascending scan.
    std::uint32_t found = 0;
    for_each_byte_equal(type_kinds(), static_cast<std::uint8_t>((kind & 0x1f) | name_index::named_bit), [&](std::size_t i) {
      const std::uint32_t id = base_types_ + static_cast<std::uint32_t>(i);
      const char* own = raw_string(load_u32(raw_record(id)));
      if (own[0] == name[0] && name == own) found = id;
      return found == 0;
    });
    return found;
  }
  std::call_once(table.collected, [&] {
    std::array<std::vector<std::uint32_t>, 32> lists;
    named_ids_by_kind(1u << (kind & 0x1f), lists);
    table.ids = std::move(lists[kind & 0x1f]);
  });
  const auto name_of = [this](std::uint32_t id) { return std::string_view(raw_string(load_u32(raw_record(id)))); };
  return lookup(table, name, name_of);
}

std::uint32_t btf::first_named(std::string_view name) const {
  if (name.empty()) return 0;
  if (base_) {
    if (std::uint32_t id = base_->first_named(name)) return id;
  }
  if (!index_) {
    // Small BTF (see parse) has no index: a scan of a few dozen names is cheaper than building
    // one (allocation, hashing, call_once), and a small object's parse is a few microseconds.
    for (std::uint32_t id = first_own_id(); id < type_count(); ++id) {
      const char* candidate = raw_string(load_u32(raw_record(id)));
      if (candidate[0] == name[0] && name == candidate) return id;
    }
    return 0;
  }
  // Any kind: the lowest id over every kind's table (which builds them all).
  std::uint32_t lowest = 0;
  for (std::uint32_t kind = 0; kind < 32; ++kind) {
    const std::uint32_t id = lookup_own(kind, name, false);  // every kind: build the tables
    if (id != 0 && (lowest == 0 || id < lowest)) lowest = id;
  }
  return lowest;
}

std::optional<std::uint32_t> btf::find(std::string_view name, btf_kind kind) const {
  if (name.empty()) return std::nullopt;
  if (base_) {
    if (auto id = base_->find(name, kind)) return id;
  }
  if (!index_) {
    for (std::uint32_t id = first_own_id(); id < type_count(); ++id) {
      const std::byte* record = raw_record(id);
      if (kind_of(load_u32(record + 4)) != kind) continue;
      const char* candidate = raw_string(load_u32(record));
      if (candidate[0] == name[0] && name == candidate) return id;
    }
    return std::nullopt;
  }
  if (std::uint32_t id = lookup_own(static_cast<std::uint32_t>(kind), name, true)) return id;
  return std::nullopt;
}

std::optional<std::uint32_t> btf::find(std::string_view name) const {
  std::uint32_t id = first_named(name);
  if (id == 0) return std::nullopt;
  return id;
}

namespace {

bool is_modifier(btf_kind kind) noexcept {
  return kind == btf_kind::typedef_ || kind == btf_kind::volatile_ || kind == btf_kind::const_ ||
         kind == btf_kind::restrict_ || kind == btf_kind::type_tag;
}

}  // namespace

std::uint32_t btf::skip_modifiers_and_typedefs(std::uint32_t id) const {
  btf_type t = type(id);
  // A chain longer than the number of types must revisit one: a loop (the kernel rejects those).
  for (std::uint32_t steps = 0; is_modifier(t.kind); ++steps) {
    if (steps >= type_count()) {
      fail("type " + num(id) + ": the chain of modifiers and typedefs loops");
    }
    t = type(t.size_or_type);
  }
  return t.id;
}
std::uint64_t btf::size_of(std::uint32_t id) const {
  std::uint64_t multiplier = 1;
  btf_type t = type(id);
  for (std::uint32_t steps = 0;; ++steps) {
    if (steps >= type_count()) fail("type " + num(id) + ": size: the chain of types loops");
    std::uint64_t size = 0;
    switch (t.kind) {
      case btf_kind::integer:
      case btf_kind::struct_:
      case btf_kind::union_:
      case btf_kind::enum_:
      case btf_kind::enum64:
      case btf_kind::floating:
      case btf_kind::datasec: size = t.size_or_type; break;
      case btf_kind::pointer: size = 8; break;
      case btf_kind::typedef_:
      case btf_kind::volatile_:
      case btf_kind::const_:
      case btf_kind::restrict_:
      case btf_kind::type_tag:
      case btf_kind::variable:
        t = type(t.size_or_type);
        continue;
      case btf_kind::array: {
        array_info a = array(t.id);
        if (a.count != 0 && multiplier > UINT64_MAX / a.count) {
          fail("type " + num(id) + ": size: array sizes overflow 64 bits");
        }
        multiplier *= a.count;
        t = type(a.element_type);
        continue;
      }
      default: {
        std::string name(t.name);
        fail("type " + num(id) + ": size: type " + num(t.id) + " (" + std::string(to_string(t.kind)) +
             (name.empty() ? "" : " '" + name + "'") + ") has no size");
      }
    }
    if (size != 0 && multiplier > UINT64_MAX / size) {
      fail("type " + num(id) + ": size: array sizes overflow 64 bits");
    }
    return size * multiplier;
  }
}

void btf::check_kind(std::uint32_t id, btf_kind a, btf_kind b, const char* accessor) const {
  btf_type t = type(id);
  if (t.kind == a || t.kind == b) return;
  std::string expected(to_string(a));
  if (b != a) expected += " or " + std::string(to_string(b));
  throw_error(errc::invalid_argument,
              "BTF: type " + num(id) + " (" + std::string(to_string(t.kind)) +
                  (t.name.empty() ? "" : " '" + std::string(t.name) + "'") + "): " + accessor +
                  ": not a " + expected);
}

std::vector<btf_member> btf::members(std::uint32_t id) const {
  check_kind(id, btf_kind::struct_, btf_kind::union_, "members");
  const std::byte* p = raw_record(id);
  std::uint32_t info = load_u32(p + 4);
  bool kflag = kflag_of(info);
  std::uint32_t vlen = vlen_of(info);
  std::vector<btf_member> out(vlen);
  for (std::uint32_t i = 0; i < vlen; ++i) {
    const std::byte* m = p + type_record_size + i * member_size;
    out[i].name = string_at(load_u32(m));
    out[i].type = load_u32(m + 4);
    std::uint32_t offset = load_u32(m + 8);
    out[i].bit_offset = kflag ? (offset & 0xffffff) : offset;
    out[i].bitfield_size = kflag ? (offset >> 24) : 0;
  }
  return out;
}

std::vector<btf_enumerator> btf::enumerators(std::uint32_t id) const {
  check_kind(id, btf_kind::enum_, btf_kind::enum64, "enumerators");
  const std::byte* p = raw_record(id);
  std::uint32_t info = load_u32(p + 4);
  bool is_signed = kflag_of(info);
  std::uint32_t vlen = vlen_of(info);
  std::vector<btf_enumerator> out(vlen);
  bool wide = kind_of(info) == btf_kind::enum64;
  for (std::uint32_t i = 0; i < vlen; ++i) {
    const std::byte* e = p + type_record_size + i * (wide ? enum64_size : enum_size);
    out[i].name = string_at(load_u32(e));
    if (wide) {
      std::uint64_t value = load_u32(e + 4) | (std::uint64_t{load_u32(e + 8)} << 32);
      out[i].value = static_cast<std::int64_t>(value);
    } else {
      std::uint32_t value = load_u32(e + 4);
      out[i].value = is_signed ? std::int64_t{static_cast<std::int32_t>(value)} : std::int64_t{value};
    }
  }
  return out;
}

std::vector<btf_parameter> btf::parameters(std::uint32_t id) const {
  check_kind(id, btf_kind::function_proto, btf_kind::function_proto, "parameters");
  const std::byte* p = raw_record(id);
  std::uint32_t vlen = vlen_of(load_u32(p + 4));
  std::vector<btf_parameter> out(vlen);
  for (std::uint32_t i = 0; i < vlen; ++i) {
    const std::byte* a = p + type_record_size + i * param_size;
    out[i].name = string_at(load_u32(a));
    out[i].type = load_u32(a + 4);
  }
  return out;
}

std::vector<btf_var_section_info> btf::datasec_vars(std::uint32_t id) const {
  check_kind(id, btf_kind::datasec, btf_kind::datasec, "datasec variables");
  const std::byte* p = raw_record(id);
  std::uint32_t vlen = vlen_of(load_u32(p + 4));
  std::vector<btf_var_section_info> out(vlen);
  for (std::uint32_t i = 0; i < vlen; ++i) {
    const std::byte* v = p + type_record_size + i * secinfo_size;
    out[i].type = load_u32(v);
    out[i].offset = load_u32(v + 4);
    out[i].size = load_u32(v + 8);
  }
  return out;
}

btf::array_info btf::array(std::uint32_t id) const {
  check_kind(id, btf_kind::array, btf_kind::array, "array");
  const std::byte* tail = raw_record(id) + type_record_size;
  return {load_u32(tail), load_u32(tail + 4), load_u32(tail + 8)};
}

btf::int_info btf::integer(std::uint32_t id) const {
  check_kind(id, btf_kind::integer, btf_kind::integer, "integer");
  std::uint32_t data = load_u32(raw_record(id) + type_record_size);
  return {static_cast<std::uint8_t>((data >> 24) & 0x0f), static_cast<std::uint8_t>((data >> 16) & 0xff),
          static_cast<std::uint8_t>(data & 0xff)};
}

std::uint32_t btf::var_linkage(std::uint32_t id) const {
  check_kind(id, btf_kind::variable, btf_kind::variable, "variable linkage");
  return load_u32(raw_record(id) + type_record_size);
}

std::uint32_t btf::func_linkage(std::uint32_t id) const {
  check_kind(id, btf_kind::function, btf_kind::function, "function linkage");
  return vlen_of(load_u32(raw_record(id) + 4));
}

std::int32_t btf::decl_tag_component(std::uint32_t id) const {
  check_kind(id, btf_kind::decl_tag, btf_kind::decl_tag, "decl_tag component");
  return static_cast<std::int32_t>(load_u32(raw_record(id) + type_record_size));
}

std::span<const std::byte> btf::bytes() const noexcept { return {data_, size_}; }

void btf::set_datasec_size(std::uint32_t datasec_id, std::uint32_t size) {
  check_kind(datasec_id, btf_kind::datasec, btf_kind::datasec, "set size");
  store_u32(own_record(datasec_id, "set size") + 8, size);
}

void btf::set_datasec_var_offset(std::uint32_t datasec_id, std::uint32_t index, std::uint32_t offset) {
  check_kind(datasec_id, btf_kind::datasec, btf_kind::datasec, "set variable offset");
  std::byte* p = own_record(datasec_id, "set variable offset");
  std::uint32_t vlen = vlen_of(load_u32(p + 4));
  if (index >= vlen) {
    throw_error(errc::invalid_argument, "BTF: type " + num(datasec_id) + " (datasec '" +
                                            std::string(type(datasec_id).name) +
                                            "'): set variable offset: index " + num(index) +
                                            " is beyond its " + num(vlen) + " variables");
  }
  store_u32(p + type_record_size + index * secinfo_size + 4, offset);
}

void btf::sort_datasec_vars(std::uint32_t datasec_id) {
  check_kind(datasec_id, btf_kind::datasec, btf_kind::datasec, "sort variables");
  std::byte* p = own_record(datasec_id, "sort variables");
  const std::uint32_t vlen = vlen_of(load_u32(p + 4));
  struct secinfo {
    std::uint32_t type, offset, size;
  };
  std::vector<secinfo> entries(vlen);
  std::memcpy(entries.data(), p + type_record_size, std::size_t{vlen} * secinfo_size);
  std::sort(entries.begin(), entries.end(), [](const secinfo& a, const secinfo& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.type < b.type;
  });
  std::memcpy(p + type_record_size, entries.data(), std::size_t{vlen} * secinfo_size);
}

// ---- editing ---------------------------------------------------------------------------------

void btf::names_changed() {
  // The index maps names to ids; an edit may rename or add types, so start a fresh one (built on
  // the next find(), as after parse()).
  if (index_ || type_offsets_.size() > 128) index_ = std::make_unique<name_index>();
}

void btf::make_owned() {
  if (!owner_) return;
  bytes_.assign(data_, data_ + size_);
  data_ = bytes_.data();
  owner_.reset();
}

std::byte* btf::own_record(std::uint32_t id, const char* action) {
  if (id == 0 || id >= type_count() || id < first_own_id()) {
    throw_error(errc::not_found, "BTF: type " + num(id) + ": " + action + ": " +
                                     (id != 0 && id < first_own_id() ? "a type of the base BTF cannot be edited"
                                                                     : "no such type to edit"));
  }
  make_owned();
  names_changed();
  return bytes_.data() + type_offsets_[id - base_types_];
}

std::span<std::byte> btf::record(std::uint32_t id) {
  std::byte* p = own_record(id, "record");
  const std::uint32_t info = load_u32(p + 4);
  const auto size = type_record_size + static_cast<std::uint32_t>(tail_size(kind_of(info), vlen_of(info)));
  return std::span<std::byte>(p, size);
}

std::uint32_t btf::name_offset(std::uint32_t id) const {
  if (id >= type_count()) type(id);  // throws the range error
  return id == 0 ? 0 : load_u32(raw_record(id));
}

// Lays the own part out again as header | types (+ extra_types) | strings (+ extra_string and its
// NUL), whatever order and gaps the parsed blob had.
void btf::rebuild(std::span<const std::byte> extra_types, std::string_view extra_string) {
  const std::uint32_t first_index = base_ ? 0 : 1;  // index 0 is void without a base
  std::uint32_t type_len = 0;
  for (std::uint32_t i = first_index; i < type_offsets_.size(); ++i) {
    const std::uint32_t info = load_u32(data_ + type_offsets_[i] + 4);
    type_len += type_record_size + static_cast<std::uint32_t>(tail_size(kind_of(info), vlen_of(info)));
  }
  const auto extra_string_size = extra_string.empty() ? 0u : static_cast<std::uint32_t>(extra_string.size() + 1);
  const auto new_type_len = type_len + static_cast<std::uint32_t>(extra_types.size());
  const auto new_str_len = string_section_size_ + extra_string_size;
  std::vector<std::byte> out(header_size + std::size_t{new_type_len} + new_str_len);
  // Header: magic, version 1, flags 0, hdr_len 24, then the section offsets relative to its end.
  const std::uint16_t magic = btf_magic;
  std::memcpy(out.data(), &magic, 2);
  out[2] = std::byte{1};
  out[3] = std::byte{0};
  store_u32(out.data() + 4, header_size);
  store_u32(out.data() + 8, 0);
  store_u32(out.data() + 12, new_type_len);
  store_u32(out.data() + 16, new_type_len);
  store_u32(out.data() + 20, new_str_len);
  decltype(type_offsets_) offsets;
  offsets.reserve(type_offsets_.size() + 1);
  if (!base_) offsets.push_back(0);
  std::uint32_t at = header_size;
  for (std::uint32_t i = first_index; i < type_offsets_.size(); ++i) {
    const std::uint32_t info = load_u32(data_ + type_offsets_[i] + 4);
    const auto size = type_record_size + static_cast<std::uint32_t>(tail_size(kind_of(info), vlen_of(info)));
    std::memcpy(out.data() + at, data_ + type_offsets_[i], size);
    offsets.push_back(at);
    at += size;
  }
  if (!extra_types.empty()) {
    std::memcpy(out.data() + at, extra_types.data(), extra_types.size());
    offsets.push_back(at);
    at += static_cast<std::uint32_t>(extra_types.size());
  }
  if (string_section_size_ != 0) std::memcpy(out.data() + at, data_ + string_section_offset_, string_section_size_);
  if (extra_string_size) std::memcpy(out.data() + at + string_section_size_, extra_string.data(), extra_string.size());
  // (the vector is zero-initialised: the new string's NUL is already there)
  bytes_ = std::move(out);
  owner_.reset();
  data_ = bytes_.data();
  size_ = bytes_.size();
  type_offsets_ = std::move(offsets);
  type_section_offset_ = header_size;
  string_section_offset_ = header_size + new_type_len;
  string_section_size_ = new_str_len;
  names_changed();
}

std::uint32_t btf::add_string(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    throw_error(errc::invalid_argument, "BTF: add string: the string contains a NUL byte");
  if (text.empty()) return 0;  // offset 0 is the empty string (the base's, for split BTF)
  const std::uint32_t offset = string_limit();
  rebuild({}, text);
  return offset;
}

std::uint32_t btf::add_type(std::span<const std::byte> record) {
  if (record.size() < type_record_size)
    throw_error(errc::invalid_argument, "BTF: add type: a record needs at least " + num(type_record_size) + " bytes");
  const std::uint32_t info = load_u32(record.data() + 4);
  const std::int64_t tail = tail_size(kind_of(info), vlen_of(info));
  if (tail < 0 || record.size() != type_record_size + static_cast<std::uint64_t>(tail))
    throw_error(errc::invalid_argument, "BTF: add type: the record's size does not match its kind and vlen");
  const auto id = type_count();
  rebuild(record, {});
  return id;
}

}  // namespace ebpf
