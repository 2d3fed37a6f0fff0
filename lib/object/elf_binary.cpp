// ebpfpp: user-space ELF binaries for uprobes (lib/object/elf_binary.hpp).
//
// Models read: libbpf src/elf.c (elf_find_func_offset: .symtab before .dynsym, versioned names,
// ambiguity between non-weak symbols; elf_sym_offset), cilium/ebpf link/uprobe.go and
// internal/linux/... (address -> file offset through PT_LOAD), glibc elf/dl-cache.c and
// sysdeps/generic/dl-cache.h (the ld.so.cache layout).

#include "elf_binary.hpp"
#include "glob.hpp"

#include <ebpf/error.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <elf.h>

namespace ebpf::detail {
namespace {

template <class T>
bool read_at(std::span<const std::byte> bytes, std::uint64_t offset, T& out) noexcept {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  std::memcpy(&out, bytes.data() + offset, sizeof(T));
  return true;
}

bool in_bounds(std::span<const std::byte> bytes, std::uint64_t offset, std::uint64_t size) noexcept {
  return offset <= bytes.size() && size <= bytes.size() - offset;
}

std::string hex(std::uint64_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  do {
    text.insert(text.begin(), digits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + text;
}

// A NUL-terminated string at `offset` of a string table, or nullopt when it runs off the end.
std::optional<std::string_view> string_at(std::span<const std::byte> table, std::uint64_t offset) {
  if (offset >= table.size()) return std::nullopt;
  const char* begin = reinterpret_cast<const char*>(table.data()) + offset;
  const void* end = std::memchr(begin, 0, table.size() - offset);
  if (end == nullptr) return std::nullopt;
  return std::string_view(begin, static_cast<std::size_t>(static_cast<const char*>(end) - begin));
}

std::string_view base_name(std::string_view symbol) {
  return symbol.substr(0, symbol.find('@'));
}

// "GLIBC_2.2.5" of "malloc@@GLIBC_2.2.5" / "malloc@GLIBC_2.2.5"; empty when unversioned.
std::string_view version_of(std::string_view symbol) {
  auto at = symbol.find('@');
  if (at == std::string_view::npos) return {};
  symbol.remove_prefix(at + 1);
  if (!symbol.empty() && symbol.front() == '@') symbol.remove_prefix(1);
  return symbol;
}

// Unversioned, or the default version ("@@"): what the dynamic linker binds an unversioned
// reference to.
bool is_default_version(std::string_view symbol) {
  auto at = symbol.find('@');
  return at == std::string_view::npos || symbol.substr(at, 2) == "@@";
}

}  // namespace

elf_binary::elf_binary(std::span<const std::byte> bytes, std::string name)
    : subject_("binary '" + name + "'"), bytes_(bytes) {
  auto fail = [&](const std::string& what) { throw_error(errc::invalid_object, subject_ + ": " + what); };

  Elf64_Ehdr header;
  if (!read_at(bytes, 0, header)) fail("too small for an ELF header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) fail("not an ELF file");
  if (header.e_ident[EI_CLASS] != ELFCLASS64) fail("not a 64-bit ELF file");
  if (header.e_ident[EI_DATA] != ELFDATA2LSB || std::endian::native != std::endian::little) {
    fail("not a little-endian ELF file of this machine's byte order");
  }
  if (header.e_type != ET_EXEC && header.e_type != ET_DYN) {
    fail("not an executable or shared library (e_type " + std::to_string(header.e_type) + ")");
  }
  elf_type_ = header.e_type;
  machine_ = header.e_machine;

  // Program headers: the PT_LOAD segments map addresses to file offsets.
  if (header.e_phnum != 0) {
    if (header.e_phentsize != sizeof(Elf64_Phdr)) fail("unexpected program header size");
    if (!in_bounds(bytes, header.e_phoff, std::uint64_t{header.e_phnum} * sizeof(Elf64_Phdr))) {
      fail("program headers lie outside the file");
    }
    for (std::uint16_t i = 0; i < header.e_phnum; ++i) {
      Elf64_Phdr phdr;
      read_at(bytes, header.e_phoff + std::uint64_t{i} * sizeof(Elf64_Phdr), phdr);
      if (phdr.p_type != PT_LOAD) continue;
      if (!in_bounds(bytes, phdr.p_offset, phdr.p_filesz)) {
        fail("segment " + std::to_string(i) + " lies outside the file");
      }
      segments_.push_back({phdr.p_vaddr, phdr.p_memsz, phdr.p_offset, phdr.p_filesz, phdr.p_flags});
    }
  }

  // Section headers (a stripped file may have none: then only the segments are usable).
  if (header.e_shoff != 0) {
    if (header.e_shentsize != sizeof(Elf64_Shdr)) fail("unexpected section header size");
    Elf64_Shdr first;
    if (!read_at(bytes, header.e_shoff, first)) fail("section headers lie outside the file");
    // More than SHN_LORESERVE sections: the count and the name-table index move into section 0.
    std::uint64_t count = header.e_shnum != 0 ? header.e_shnum : first.sh_size;
    std::uint64_t names_index = header.e_shstrndx != SHN_XINDEX ? header.e_shstrndx : first.sh_link;
    if (count > (bytes.size() - header.e_shoff) / sizeof(Elf64_Shdr)) {
      fail("section headers lie outside the file");
    }
    std::vector<Elf64_Shdr> headers(count);
    for (std::uint64_t i = 0; i < count; ++i) read_at(bytes, header.e_shoff + i * sizeof(Elf64_Shdr), headers[i]);
    std::span<const std::byte> names;
    if (names_index != SHN_UNDEF) {
      if (names_index >= count) fail("section name table index out of range");
      const Elf64_Shdr& shdr = headers[names_index];
      if (shdr.sh_type == SHT_NOBITS || !in_bounds(bytes, shdr.sh_offset, shdr.sh_size)) {
        fail("section name table lies outside the file");
      }
      names = bytes.subspan(shdr.sh_offset, shdr.sh_size);
    }
    for (std::uint64_t i = 0; i < count; ++i) {
      const Elf64_Shdr& shdr = headers[i];
      binary_section section;
      if (!names.empty()) {
        auto section_name = string_at(names, shdr.sh_name);
        if (!section_name) fail("section " + std::to_string(i) + " has a name outside the name table");
        section.name = *section_name;
      }
      section.type = shdr.sh_type;
      section.addr = shdr.sh_addr;
      section.offset = shdr.sh_offset;
      section.size = shdr.sh_size;
      if (shdr.sh_type != SHT_NOBITS && shdr.sh_type != SHT_NULL) {
        if (!in_bounds(bytes, shdr.sh_offset, shdr.sh_size)) {
          fail("section '" + std::string(section.name) + "' lies outside the file");
        }
        section.data = bytes.subspan(shdr.sh_offset, shdr.sh_size);
      }
      sections_.push_back(section);
    }
    // The symbol tables need their string tables (sh_link) and, for .dynsym, the versions.
    for (std::uint64_t i = 0; i < count; ++i) {
      if (headers[i].sh_type == SHT_SYMTAB) parse_symbols(sections_[i], false);
    }
    for (std::uint64_t i = 0; i < count; ++i) {
      if (headers[i].sh_type == SHT_DYNSYM) parse_symbols(sections_[i], true);
    }
  }
}

void elf_binary::parse_symbols(const binary_section& table, bool dynamic) {
  auto fail = [&](const std::string& what) {
    throw_error(errc::invalid_object, subject_ + ": section '" + std::string(table.name) + "': " + what);
  };
  // Find sh_link again from the raw header: binary_section keeps what callers need only.
  std::size_t index = static_cast<std::size_t>(&table - sections_.data());
  Elf64_Ehdr header;
  read_at(bytes_, 0, header);
  Elf64_Shdr shdr;
  read_at(bytes_, header.e_shoff + index * sizeof(Elf64_Shdr), shdr);
  if (shdr.sh_entsize != sizeof(Elf64_Sym)) fail("unexpected symbol size");
  if (shdr.sh_link >= sections_.size()) fail("string table index out of range");
  std::span<const std::byte> strings = sections_[shdr.sh_link].data;

  // GNU symbol versions (.gnu.version parallel to .dynsym, names from .gnu.version_d): glibc
  // exports "malloc" as malloc@@GLIBC_2.2.5 and keeps old ABIs as hidden "name@VERSION".
  std::span<const std::byte> versym;
  std::vector<std::string_view> version_names;  // by version index
  if (dynamic) {
    for (const binary_section& section : sections_) {
      if (section.type == SHT_GNU_versym) versym = section.data;
    }
    for (std::size_t s = 0; s < sections_.size(); ++s) {
      if (sections_[s].type != SHT_GNU_verdef) continue;
      Elf64_Shdr verdef_header;
      read_at(bytes_, header.e_shoff + s * sizeof(Elf64_Shdr), verdef_header);
      if (verdef_header.sh_link >= sections_.size()) fail("version names table out of range");
      std::span<const std::byte> verdef_strings = sections_[verdef_header.sh_link].data;
      std::span<const std::byte> verdef = sections_[s].data;
      std::uint64_t offset = 0;
      // sh_info is the number of entries; bound the walk by it and by the section size.
      for (std::uint32_t n = 0; n < verdef_header.sh_info && n < 0x10000; ++n) {
        Elf64_Verdef entry;
        if (!read_at(verdef, offset, entry)) fail("truncated version definition");
        Elf64_Verdaux aux;
        if (entry.vd_cnt > 0 && read_at(verdef, offset + entry.vd_aux, aux)) {
          if (auto version = string_at(verdef_strings, aux.vda_name)) {
            std::uint16_t ndx = entry.vd_ndx & 0x7fff;
            if (version_names.size() <= ndx) version_names.resize(std::size_t{ndx} + 1);
            version_names[ndx] = *version;
          }
        }
        if (entry.vd_next == 0) break;
        offset += entry.vd_next;
      }
    }
  }

  std::size_t count = table.data.size() / sizeof(Elf64_Sym);
  for (std::size_t i = 1; i < count; ++i) {
    Elf64_Sym sym;
    read_at(table.data, i * sizeof(Elf64_Sym), sym);
    unsigned type = ELF64_ST_TYPE(sym.st_info);
    if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
    if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
    auto name = string_at(strings, sym.st_name);
    if (!name) fail("symbol " + std::to_string(i) + " has a name outside the string table");
    if (name->empty()) continue;
    binary_symbol symbol;
    symbol.name = std::string(*name);
    symbol.value = sym.st_value;
    symbol.size = sym.st_size;
    symbol.type = static_cast<std::uint8_t>(type);
    symbol.binding = static_cast<std::uint8_t>(ELF64_ST_BIND(sym.st_info));
    symbol.dynamic = dynamic;
    std::uint16_t version = 0;
    if (dynamic && read_at(versym, i * sizeof(std::uint16_t), version)) {
      std::uint16_t ndx = version & 0x7fff;
      // 0 is local, 1 the unversioned global base definition.
      if (ndx > 1 && ndx < version_names.size() && !version_names[ndx].empty()) {
        symbol.name += (version & 0x8000) ? "@" : "@@";
        symbol.name += version_names[ndx];
      }
    }
    functions_.push_back(std::move(symbol));
  }
}

const binary_section* elf_binary::find_section(std::string_view name) const noexcept {
  for (const binary_section& section : sections_) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

std::optional<std::uint64_t> elf_binary::vaddr_to_offset(std::uint64_t vaddr,
                                                         bool executable) const noexcept {
  for (const binary_segment& segment : segments_) {
    if (executable && (segment.flags & PF_X) == 0) continue;
    if (vaddr >= segment.vaddr && vaddr - segment.vaddr < segment.filesz) {
      return vaddr - segment.vaddr + segment.offset;
    }
  }
  return std::nullopt;
}

function_location elf_binary::find_function(std::string_view name) const {
  std::string_view wanted_base = base_name(name);
  std::string_view wanted_version = version_of(name);
  bool versioned = wanted_base.size() != name.size();

  // .symtab first; .dynsym only when .symtab has nothing (a stripped library).
  std::vector<const binary_symbol*> matches;
  for (bool dynamic : {false, true}) {
    for (const binary_symbol& symbol : functions_) {
      if (symbol.dynamic != dynamic || base_name(symbol.name) != wanted_base) continue;
      if (versioned && version_of(symbol.name) != wanted_version) continue;
      matches.push_back(&symbol);
    }
    if (!matches.empty()) break;
  }
  if (matches.empty()) {
    throw_error(errc::unknown_symbol, subject_ + ": no function '" + std::string(name) + "'");
  }

  // Aliases (weak + strong, several versions of one implementation) share an address: one
  // function. Otherwise narrow down to non-weak, then to the default version.
  auto distinct = [](const std::vector<const binary_symbol*>& list) {
    for (const binary_symbol* symbol : list) {
      if (symbol->value != list.front()->value) return false;
    }
    return true;
  };
  auto narrow = [&](auto keep) {
    std::vector<const binary_symbol*> kept;
    for (const binary_symbol* symbol : matches) {
      if (keep(*symbol)) kept.push_back(symbol);
    }
    if (!kept.empty()) matches = std::move(kept);
  };
  if (!distinct(matches)) narrow([](const binary_symbol& s) { return s.binding != STB_WEAK; });
  if (!distinct(matches)) narrow([](const binary_symbol& s) { return is_default_version(s.name); });
  if (!distinct(matches)) {
    std::string list;
    for (const binary_symbol* symbol : matches) {
      if (!list.empty()) list += ", ";
      list += symbol->name + " at " + hex(symbol->value);
    }
    throw_error(errc::invalid_object,
                subject_ + ": function '" + std::string(name) + "' is ambiguous: " + list);
  }
  const binary_symbol& symbol = *matches.front();
  auto offset = vaddr_to_offset(symbol.value, true);
  if (!offset) {
    throw_error(errc::invalid_object, subject_ + ": function '" + symbol.name + "' at " +
                                          hex(symbol.value) + " is in no executable segment");
  }
  return {symbol.name, symbol.value, *offset};
}

std::vector<function_location> elf_binary::match_functions(std::string_view pattern) const {
  std::vector<function_location> result;
  for (bool dynamic : {false, true}) {
    for (const binary_symbol& symbol : functions_) {
      if (symbol.dynamic != dynamic || !glob_match(base_name(symbol.name), pattern)) continue;
      bool seen = std::any_of(result.begin(), result.end(), [&](const function_location& l) {
        return l.address == symbol.value;
      });
      if (seen) continue;
      auto offset = vaddr_to_offset(symbol.value, true);
      if (!offset) {
        throw_error(errc::invalid_object, subject_ + ": function '" + symbol.name + "' at " +
                                              hex(symbol.value) + " is in no executable segment");
      }
      result.push_back({symbol.name, symbol.value, *offset});
    }
    if (!result.empty()) break;
  }
  std::sort(result.begin(), result.end(),
            [](const function_location& a, const function_location& b) { return a.address < b.address; });
  return result;
}

std::vector<ld_cache_entry> parse_ld_so_cache(std::span<const std::byte> bytes) {
  // glibc sysdeps/generic/dl-cache.h: an optional old table ("ld.so-1.7.0", 16-byte header and
  // 12-byte entries), then at the next 8-byte boundary the new one: a 48-byte header
  // ("glibc-ld.so.cache" "1.1", nlibs, len_strings, ...) and 24-byte entries whose string offsets
  // count from that header.
  constexpr std::string_view old_magic = "ld.so-1.7.0";
  constexpr std::string_view new_magic = "glibc-ld.so.cache1.1";
  auto starts_with = [&](std::uint64_t offset, std::string_view magic) {
    return in_bounds(bytes, offset, magic.size()) &&
           std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
  };
  std::uint64_t start = 0;
  if (starts_with(0, old_magic)) {
    std::uint32_t old_count = 0;
    read_at(bytes, 12, old_count);
    start = (16 + std::uint64_t{old_count} * 12 + 7) & ~std::uint64_t{7};
  }
  if (!starts_with(start, new_magic)) {
    throw_error(errc::invalid_object, "ld.so.cache: no glibc-ld.so.cache1.1 header");
  }
  std::uint32_t count = 0;
  read_at(bytes, start + 20, count);
  std::span<const std::byte> data = bytes.subspan(start);
  std::vector<ld_cache_entry> entries;
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t at = 48 + i * 24;
    std::int32_t flags = 0;
    std::uint32_t key = 0, value = 0;
    if (!read_at(data, at, flags) || !read_at(data, at + 4, key) || !read_at(data, at + 8, value)) {
      break;  // a truncated table: keep what was whole
    }
    auto name = string_at(data, key);
    auto path = string_at(data, value);
    if (!name || !path) continue;
    entries.push_back({std::string(*name), std::string(*path), static_cast<std::uint32_t>(flags)});
  }
  return entries;
}

std::uint32_t ld_cache_native_flags() noexcept {
#if defined(__x86_64__)
  return 0x0303;  // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
#elif defined(__aarch64__)
  return 0x0a03;  // FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64
#else
  return 0;
#endif
}

std::vector<process_mapping> parse_proc_maps(std::string_view text) {
  // "7f0e1c000000-7f0e1c022000 r-xp 00028000 08:01 1234    /usr/lib/x86_64-linux-gnu/libc.so.6"
  std::vector<process_mapping> result;
  auto parse_hex = [](std::string_view field, std::uint64_t& out) {
    if (field.empty() || field.size() > 16) return false;
    std::uint64_t value = 0;
    for (char c : field) {
      unsigned digit;
      if (c >= '0' && c <= '9') digit = static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') digit = static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') digit = static_cast<unsigned>(c - 'A' + 10);
      else return false;
      value = value << 4 | digit;
    }
    out = value;
    return true;
  };
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    std::string_view fields[5];
    std::size_t pos = 0;
    bool ok = true;
    for (std::string_view& field : fields) {
      while (pos < line.size() && line[pos] == ' ') ++pos;
      std::size_t end = line.find(' ', pos);
      if (end == std::string_view::npos) {
        ok = false;
        break;
      }
      field = line.substr(pos, end - pos);
      pos = end;
    }
    if (!ok) continue;
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::string_view path = line.substr(pos);
    if (path.empty() || path.front() != '/') continue;
    process_mapping mapping;
    auto dash = fields[0].find('-');
    if (dash == std::string_view::npos || !parse_hex(fields[0].substr(0, dash), mapping.start) ||
        !parse_hex(fields[0].substr(dash + 1), mapping.end) ||
        !parse_hex(fields[2], mapping.offset) || fields[1].size() < 3) {
      continue;
    }
    mapping.executable = fields[1][2] == 'x';
    mapping.path = std::string(path);
    result.push_back(std::move(mapping));
  }
  return result;
}

bool library_name_matches(std::string_view file_name, std::string_view wanted) noexcept {
  if (wanted.empty() || file_name.substr(0, wanted.size()) != wanted) return false;
  if (file_name.size() == wanted.size()) return true;
  char next = file_name[wanted.size()];
  return next == '.' || next == '-';
}

}  // namespace ebpf::detail
