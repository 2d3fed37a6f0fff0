// ebpfpp: BPF Type Format (BTF) and its .BTF.ext companion, parsed and validated. Pure: no kernel.
//
// Format reference: Documentation/bpf/btf.rst and include/uapi/linux/btf.h in the kernel.
// A btf object owns a copy of the raw bytes (header, type section, string section) and an index
// from type id to the type's offset; every accessor is bounds-checked at parse time, so lookups
// afterwards cannot read outside the blob.
#pragma once

#include <array>
#include <functional>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf {

namespace detail {

/// Storage for btf's id -> offset table. Tables of 512 KiB or more (kernel BTF: vmlinux's
/// reservation is about 780 KB) get a mapping of their own, aligned and advised for a
/// transparent huge page: filling 500 KB of fresh 4 KiB pages cost a process about 1 ms more
/// than one huge page on our VM, where every new page traps to the hypervisor. Smaller tables
/// come from operator new. Throws: std::bad_alloc.
void* allocate_btf_table(std::size_t bytes);
void free_btf_table(void* at, std::size_t bytes) noexcept;

template <class T>
struct btf_table_allocator {
  using value_type = T;
  btf_table_allocator() noexcept = default;
  template <class U>
  btf_table_allocator(const btf_table_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_btf_table(n * sizeof(T))); }
  void deallocate(T* at, std::size_t n) noexcept { free_btf_table(at, n * sizeof(T)); }
  friend bool operator==(const btf_table_allocator&, const btf_table_allocator&) noexcept { return true; }
};

}  // namespace detail

/// BTF_KIND_* values.
enum class btf_kind : std::uint8_t {
  unknown = 0,  // BTF_KIND_UNKN: only type id 0 ("void")
  integer = 1,
  pointer = 2,
  array = 3,
  struct_ = 4,
  union_ = 5,
  enum_ = 6,
  forward = 7,
  typedef_ = 8,
  volatile_ = 9,
  const_ = 10,
  restrict_ = 11,
  function = 12,        // BTF_KIND_FUNC
  function_proto = 13,  // BTF_KIND_FUNC_PROTO
  variable = 14,        // BTF_KIND_VAR
  datasec = 15,
  floating = 16,   // BTF_KIND_FLOAT, 5.13
  decl_tag = 17,   // 5.16
  type_tag = 18,   // 5.17
  enum64 = 19,     // 6.0
};

/// The kind's name as bpftool prints it in lower case: "int", "struct", "func_proto", ...
std::string_view to_string(btf_kind kind) noexcept;

/// A member of a struct or union. Offsets are in bits from the start of the aggregate.
struct btf_member {
  std::string_view name;
  std::uint32_t type = 0;
  std::uint32_t bit_offset = 0;
  std::uint32_t bitfield_size = 0;  ///< 0 unless the struct has kind_flag set and this is a bitfield
};

/// An enumerator of an enum or enum64 (value sign-extended or zero-extended per the type's kind_flag).
struct btf_enumerator {
  std::string_view name;
  std::int64_t value = 0;
};

/// A parameter of a function prototype (name empty for unnamed parameters and for "...").
struct btf_parameter {
  std::string_view name;
  std::uint32_t type = 0;
};

/// One variable (or function, for .ksyms) in a DATASEC, offset and size in bytes.
struct btf_var_section_info {
  std::uint32_t type = 0;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
};

/// BTF_INT_* encoding bits.
enum btf_int_encoding : std::uint8_t { btf_int_signed = 1, btf_int_char = 2, btf_int_bool = 4 };

/// A view of one type. Cheap to copy; valid while its btf lives.
struct btf_type {
  std::uint32_t id = 0;
  btf_kind kind = btf_kind::unknown;
  std::string_view name;
  bool kind_flag = false;
  std::uint32_t vlen = 0;
  /// size in bytes for integer/struct/union/enum/enum64/datasec/float; referenced type id for
  /// pointer/typedef/modifiers/function/function_proto(return type)/variable/decl_tag/type_tag.
  std::uint32_t size_or_type = 0;
};

class btf;
namespace detail {
class btf_checker;
}

/// How btf::parse reads its input (the defaults: copy the bytes, check everything, no base).
struct btf_parse_options {
  /// Split BTF (a kernel module's /sys/kernel/btf/<module>, libbpf's btf__parse_split): the BTF
  /// it extends. Its own type ids continue after the base's last one, and string offsets below
  /// the base's string section size name the base's strings; references may go into the base.
  std::shared_ptr<const btf> base;
  /// Non-null: the bytes are used where they are, not copied, and this keeps them alive (an
  /// mmap of /sys/kernel/btf/vmlinux, a buffer read once). The bytes must not change.
  std::shared_ptr<const void> owner;
  /// false: check only what keeps every accessor inside the blob (header, sections, record
  /// bounds, kinds, type name offsets) and skip the kernel's per-kind rules (member offsets,
  /// integer encodings, reference targets, ...). For BTF the kernel itself checked with those
  /// rules (/sys/kernel/btf/*): re-checking vmlinux's 126,000 types costs milliseconds.
  bool check_kind_rules = true;
};

/// Parsed, validated BTF. Immutable except for the explicit fix-ups used before loading into the
/// kernel. Type ids start at 1 (0 is void); for split BTF, ids continue after the base.
class btf {
 public:
  /// An empty btf: type_count() is 0 and bytes() is empty. Use parse() to get a real one.
  btf() noexcept;
  ~btf();
  /// Copies the blob; the copy builds its own name index when first needed.
  btf(const btf& other);
  btf& operator=(const btf& other);
  /// Moving keeps string_views into the blob (and the name index) valid.
  btf(btf&& other) noexcept;
  btf& operator=(btf&& other) noexcept;

  /// Parses and validates a raw .BTF blob (header + types + strings), copying it.
  /// Throws: ebpf::error(errc::invalid_btf) naming the offset and what is wrong (bad magic,
  /// truncated header or section, type of unknown kind, member referring to a missing type,
  /// string offset outside the string section, ...).
  static btf parse(std::span<const std::byte> bytes);
  /// Parses with options: in place (options.owner), as split BTF over options.base, or with
  /// only the structural checks (options.check_kind_rules = false).
  /// Throws: as parse(bytes); for split BTF also when a reference or name offset is beyond the
  /// base and the split part together.
  static btf parse(std::span<const std::byte> bytes, const btf_parse_options& options);

  /// The base of split BTF; null for standalone BTF.
  const btf* base() const noexcept { return base_.get(); }
  /// The lowest id of this BTF's own types: 1, or the base's type_count() for split BTF.
  std::uint32_t first_own_id() const noexcept { return base_ ? base_types_ : 1; }
  /// The kind of type `id`, without reading its name (cheaper than type(id).kind).
  /// Throws: as type().
  btf_kind kind(std::uint32_t id) const;

  /// Number of type ids, including void (so valid ids are 0 .. type_count()-1).
  std::uint32_t type_count() const noexcept;
  /// The type with this id. Throws: ebpf::error(errc::not_found) when the id is out of range.
  btf_type type(std::uint32_t id) const;
  /// The string at `offset` of the string section. Throws: errc::invalid_btf when out of range.
  std::string_view string_at(std::uint32_t offset) const;

  /// First type (lowest id) with this name and kind (names are not unique across kinds).
  /// The name index is built on the first call (a few ms for vmlinux); concurrent calls on a
  /// const btf are safe. An empty name finds nothing. Split BTF searches its base first.
  std::optional<std::uint32_t> find(std::string_view name, btf_kind kind) const;
  /// First type (lowest id) with this name, of any kind.
  std::optional<std::uint32_t> find(std::string_view name) const;

  /// Sorts the ids of own types that have a name into out[kind] (appended, ascending) for each
  /// kind whose bit (1u << kind) is set in `kinds`. One pass over a byte per type that parse()
  /// kept (no record is read): enumerating vmlinux's structs costs a scan of 126 KB, not a walk
  /// of 5 MB of records. Split BTF: its own types only. Throws: std::bad_alloc only.
  void named_ids_by_kind(std::uint32_t kinds, std::array<std::vector<std::uint32_t>, 32>& out) const;
  /// The same ids, ascending, handed to `visit` with their kind instead of stored (a search that
  /// keeps few of them need not write lists of thousands). Throws what `visit` throws.
  void for_each_named_id(std::uint32_t kinds, const std::function<void(std::uint32_t id, btf_kind kind)>& visit) const;

  /// Follows typedef, const, volatile, restrict and type_tag to the underlying type id.
  /// Throws: errc::not_found for an id out of range, errc::invalid_btf for a loop of modifiers.
  std::uint32_t skip_modifiers_and_typedefs(std::uint32_t id) const;
  /// Size in bytes of a type (follows typedefs/modifiers and variables, multiplies arrays,
  /// pointers are 8).
  /// Throws: errc::invalid_btf for types without a size (function, void, forward, ...), for a
  /// loop of modifiers or arrays, and for sizes beyond 64 bits.
  std::uint64_t size_of(std::uint32_t id) const;

  // Kind-specific accessors. Each throws errc::invalid_argument if `id` is of another kind.
  std::vector<btf_member> members(std::uint32_t id) const;          // struct_, union_
  std::vector<btf_enumerator> enumerators(std::uint32_t id) const;  // enum_, enum64
  std::vector<btf_parameter> parameters(std::uint32_t id) const;    // function_proto
  std::vector<btf_var_section_info> datasec_vars(std::uint32_t id) const;  // datasec
  struct array_info {
    std::uint32_t element_type = 0;
    std::uint32_t index_type = 0;
    std::uint32_t count = 0;
  };
  array_info array(std::uint32_t id) const;  // array
  struct int_info {
    std::uint8_t encoding = 0;  // btf_int_encoding bits
    std::uint8_t bit_offset = 0;
    std::uint8_t bits = 0;
  };
  int_info integer(std::uint32_t id) const;  // integer
  std::uint32_t var_linkage(std::uint32_t id) const;       // variable: 0 static, 1 global, 2 extern
  std::uint32_t func_linkage(std::uint32_t id) const;      // function: 0 static, 1 global, 2 extern
  std::int32_t decl_tag_component(std::uint32_t id) const;  // decl_tag: -1 or member/param index

  /// The raw blob as it would be loaded into the kernel (reflects fix-ups). For split BTF, only
  /// the split part.
  std::span<const std::byte> bytes() const noexcept;

  /// Sets a DATASEC's size / one of its variables' offset.
  /// Clang leaves these 0 for sections whose layout is fixed only in the ELF (libbpf does the
  /// same fix-up in btf_fixup_datasec before loading).
  /// Throws: errc::invalid_argument if `datasec_id` is not a datasec.
  void set_datasec_size(std::uint32_t datasec_id, std::uint32_t size);
  /// Throws: errc::invalid_argument also if `index` is not below the datasec's vlen.
  void set_datasec_var_offset(std::uint32_t datasec_id, std::uint32_t index, std::uint32_t offset);
  /// Orders a DATASEC's variables by offset, which the kernel requires (libbpf sorts them in
  /// btf_fixup_datasec too; clang does not promise an order). Throws: as set_datasec_size.
  void sort_datasec_vars(std::uint32_t datasec_id);

  // Raw editing, for the loader's fix-ups before the kernel sees the BTF (externs made loadable,
  // features the kernel lacks rewritten). Edits are not re-validated: the caller keeps every
  // record's size (kind and vlen) and every reference valid. Each edit invalidates btf_type
  // views and string_views taken before it.

  /// The record of type `id` (12-byte header: name_off, info, size_or_type; then its tail), to
  /// edit in place (BTF parsed in place is copied first). Throws: errc::not_found for id 0, an
  /// id out of range or one of the base's (split BTF).
  std::span<std::byte> record(std::uint32_t id);
  /// The offset of a type's name in the string section. Throws: as type().
  std::uint32_t name_offset(std::uint32_t id) const;
  /// Appends a string to the string section and returns its offset.
  /// Throws: errc::invalid_argument for a string containing '\0'.
  std::uint32_t add_string(std::string_view text);
  /// Appends a type record (header and tail, as record() returns them) and returns its id.
  /// Throws: errc::invalid_argument when the record is shorter than its kind and vlen need.
  std::uint32_t add_type(std::span<const std::byte> record);

 private:
  friend class detail::btf_checker;
  struct name_index;  // kind bytes from parse(); tables built on the first find() (see btf.cpp)
  const std::vector<std::uint8_t>& type_kinds() const;
  std::uint32_t lookup_own(std::uint32_t kind, std::string_view name, bool may_scan) const;
  std::uint32_t first_named(std::string_view name) const;  // lowest id with this name, 0 if none
  void rebuild(std::span<const std::byte> extra_types, std::string_view extra_string);
  void names_changed();
  void make_owned();
  void check_kind(std::uint32_t id, btf_kind a, btf_kind b, const char* accessor) const;
  // The record of a valid, non-zero id (own or the base's) and the string at a valid offset.
  const std::byte* raw_record(std::uint32_t id) const noexcept;
  const char* raw_string(std::uint32_t offset) const noexcept;
  std::uint32_t string_limit() const noexcept { return base_strings_ + string_section_size_; }
  std::byte* own_record(std::uint32_t id, const char* action);  // copies a borrowed blob first

  std::vector<std::byte> bytes_;          // the blob when owned (empty when borrowed)
  std::shared_ptr<const void> owner_;     // keeps a borrowed blob alive
  const std::byte* data_ = nullptr;       // the blob: bytes_.data() or the borrowed bytes
  std::size_t size_ = 0;
  // Own type id - base_types_ -> offset of its btf_type in the blob (index 0 is void when
  // there is no base).
  std::vector<std::uint32_t, detail::btf_table_allocator<std::uint32_t>> type_offsets_;
  std::uint32_t type_section_offset_ = 0;     // where the type section starts in the blob
  std::uint32_t string_section_offset_ = 0;
  std::uint32_t string_section_size_ = 0;
  std::shared_ptr<const btf> base_;  // split BTF: the base
  std::uint32_t base_types_ = 0;     // base_->type_count(), 0 without a base
  std::uint32_t base_strings_ = 0;   // base_->string_limit(), 0 without a base
  std::unique_ptr<name_index> index_;  // null for small BTF (find() scans), default-constructed or moved-from
};

/// One BTF.ext func_info record: the function starting at `instruction` (index in instructions,
/// relative to the section start) has BTF FUNC type `type_id`.
struct btf_func_info {
  std::uint32_t instruction = 0;
  std::uint32_t type_id = 0;
};

/// One BTF.ext line_info record (instruction index relative to the section start).
struct btf_line_info {
  std::uint32_t instruction = 0;
  std::uint32_t file_name_offset = 0;  ///< into the .BTF string section
  std::uint32_t line_offset = 0;       ///< into the .BTF string section
  std::uint32_t line_column = 0;       ///< line << 10 | column, as the kernel wants it
};

/// BPF_CORE_* relocation kinds (enum bpf_core_relo_kind).
enum class core_relocation_kind : std::uint32_t {
  field_byte_offset = 0,
  field_byte_size = 1,
  field_exists = 2,
  field_signed = 3,
  field_lshift_u64 = 4,
  field_rshift_u64 = 5,
  type_id_local = 6,
  type_id_target = 7,
  type_exists = 8,
  type_size = 9,
  enumval_exists = 10,
  enumval_value = 11,
  type_matches = 12,
};

/// One BTF.ext CO-RE relocation record (instruction index relative to the section start).
struct btf_core_relocation {
  std::uint32_t instruction = 0;
  std::uint32_t type_id = 0;
  std::string_view access_string;  ///< e.g. "0:1:2", valid while the owning btf lives
  core_relocation_kind kind = core_relocation_kind::field_byte_offset;
};

/// The records of .BTF.ext, grouped by ELF section name.
struct btf_ext_section {
  std::string section;
  std::vector<btf_func_info> func_info;
  std::vector<btf_line_info> line_info;
  std::vector<btf_core_relocation> core_relocations;
};

/// Parsed .BTF.ext. Strings (section names, access strings) are resolved against `types`.
/// Throws: ebpf::error(errc::invalid_btf) naming the sub-section and offset for truncated or
/// inconsistent input (record size too small, count overflowing the section, unaligned
/// instruction offset, string offset out of range).
std::vector<btf_ext_section> parse_btf_ext(std::span<const std::byte> bytes, const btf& types);

}  // namespace ebpf
