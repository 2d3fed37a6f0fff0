// ebpfpp internal: a bounds-checked view of a user-space executable or shared library (ELF64,
// little-endian), for uprobes and USDT. Pure: bytes in, values out.
//
// Why not elf_reader: that one reads relocatable eBPF objects (EM_BPF, libelf). A uprobe target is
// an ET_EXEC or ET_DYN file of the host machine; we need its symbol tables (.symtab, .dynsym with
// GNU symbol versions), its program headers (to turn a virtual address into the file offset the
// kernel's uprobe wants) and its notes (.note.stapsdt). Parsing those few structures by hand keeps
// the checks in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf::detail {

/// One function symbol of an executable or shared library.
struct binary_symbol {
  std::string name;     ///< as in the table; .dynsym names get "@VER" / "@@VER" appended
  std::uint64_t value = 0;  ///< st_value: the virtual address
  std::uint64_t size = 0;
  std::uint8_t type = 0;     ///< STT_FUNC or STT_GNU_IFUNC
  std::uint8_t binding = 0;  ///< STB_GLOBAL / STB_WEAK / STB_LOCAL
  bool dynamic = false;      ///< from .dynsym
};

/// A PT_LOAD segment.
struct binary_segment {
  std::uint64_t vaddr = 0;
  std::uint64_t memsz = 0;
  std::uint64_t offset = 0;
  std::uint64_t filesz = 0;
  std::uint32_t flags = 0;  ///< PF_X = 1, PF_W = 2, PF_R = 4
};

struct binary_section {
  std::string_view name;
  std::uint32_t type = 0;
  std::uint64_t addr = 0;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::span<const std::byte> data;  ///< empty for SHT_NOBITS
};

/// A resolved uprobe target: the symbol and its file offset.
struct function_location {
  std::string name;          ///< the symbol that matched (with its version, if any)
  std::uint64_t address = 0; ///< st_value
  std::uint64_t offset = 0;  ///< file offset, what a uprobe takes
};

class elf_binary {
 public:
  /// Parses the header, program headers, section headers and both symbol tables. `name` is used
  /// in messages ("binary '/usr/lib/libc.so.6'"). The bytes must outlive the object.
  /// Throws: ebpf::error(errc::invalid_object) "binary 'NAME': ..." for anything malformed
  /// (not ELF64 little-endian, not ET_EXEC/ET_DYN, offsets or sizes outside the file).
  elf_binary(std::span<const std::byte> bytes, std::string name);

  const std::string& subject() const noexcept { return subject_; }
  std::uint16_t elf_type() const noexcept { return elf_type_; }  ///< ET_EXEC = 2, ET_DYN = 3
  std::uint16_t machine() const noexcept { return machine_; }
  const std::vector<binary_segment>& segments() const noexcept { return segments_; }
  const std::vector<binary_section>& sections() const noexcept { return sections_; }
  const binary_section* find_section(std::string_view name) const noexcept;
  /// Function symbols (STT_FUNC / STT_GNU_IFUNC, defined, non-zero address) of .symtab, then of
  /// .dynsym.
  const std::vector<binary_symbol>& functions() const noexcept { return functions_; }

  /// The file offset of virtual address `vaddr`: inside a PT_LOAD segment's file image, vaddr -
  /// p_vaddr + p_offset. With `executable`, only segments with PF_X count.
  std::optional<std::uint64_t> vaddr_to_offset(std::uint64_t vaddr, bool executable) const noexcept;

  /// Resolves a function by name, as libbpf's elf_find_func_offset does: "malloc" matches
  /// "malloc", "malloc@GLIBC_2.2.5" and "malloc@@GLIBC_2.2.5"; "malloc@@GLIBC_2.2.5" (or with
  /// one '@') asks for that version. .symtab is searched first, .dynsym only when .symtab has no
  /// match. Several matches at one address are one function; otherwise a single non-weak match
  /// wins over weak ones.
  /// Throws: ebpf::error(errc::unknown_symbol) when nothing matches; errc::invalid_object when
  /// the match is ambiguous or its address lies outside every executable segment.
  function_location find_function(std::string_view name) const;

  /// Every function whose name (without its version) matches the glob `pattern` ('*', '?'), one
  /// entry per distinct address, in address order. Empty when none matches.
  /// Throws: errc::invalid_object when a match lies outside every executable segment.
  std::vector<function_location> match_functions(std::string_view pattern) const;

 private:
  void parse_symbols(const binary_section& table, bool dynamic);

  std::string subject_;
  std::span<const std::byte> bytes_;
  std::uint16_t elf_type_ = 0;
  std::uint16_t machine_ = 0;
  std::vector<binary_segment> segments_;
  std::vector<binary_section> sections_;
  std::vector<binary_symbol> functions_;
};

/// One entry of /etc/ld.so.cache ("libc.so.6" -> "/lib/x86_64-linux-gnu/libc.so.6").
struct ld_cache_entry {
  std::string name;
  std::string path;
  std::uint32_t flags = 0;  ///< FLAG_ELF_LIBC6 = 3 in the low byte; machine in 0xff00
};

/// Parses the glibc ld.so.cache, new format ("glibc-ld.so.cache1.1"), also when it follows the
/// old "ld.so-1.7.0" table. Entries whose strings fall outside the file are skipped.
/// Throws: ebpf::error(errc::invalid_object) when there is no new-format header.
std::vector<ld_cache_entry> parse_ld_so_cache(std::span<const std::byte> bytes);

/// The ld.so.cache machine flag of this build (x86-64: 0x0300, aarch64: 0x0a00), 0 if unknown.
std::uint32_t ld_cache_native_flags() noexcept;

/// One mapping of /proc/PID/maps with a path.
struct process_mapping {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint64_t offset = 0;
  bool executable = false;
  std::string path;
};

/// Parses /proc/PID/maps text; lines without a path (anonymous, [heap], [vdso]) are dropped.
std::vector<process_mapping> parse_proc_maps(std::string_view text);

/// Whether a library file name is what `wanted` asks for: equal, or `wanted` followed by '.' or
/// '-' ("libc" matches "libc.so.6" and "libc-2.31.so"; "libc.so" matches "libc.so.6").
bool library_name_matches(std::string_view file_name, std::string_view wanted) noexcept;

}  // namespace ebpf::detail
