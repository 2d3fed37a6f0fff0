#include "elf_reader.hpp"

#include <ebpf/error.hpp>

#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <memory>

namespace ebpf::detail {
namespace {

constexpr std::uint16_t em_bpf = 247;  // EM_BPF; older elf.h lack it

[[noreturn]] void fail(const std::string& subject, const std::string& what) {
  throw_error(errc::invalid_object, subject + ": " + what);
}

std::string libelf_message() {
  const char* message = elf_errmsg(-1);
  return message ? message : "unknown libelf error";
}

// Reads a NUL-terminated string at `offset` inside `table`, or fails.
std::string_view string_in(std::span<const std::byte> table, std::uint64_t offset, const std::string& subject,
                           const char* what) {
  if (offset >= table.size()) fail(subject, std::string(what) + " name offset " + std::to_string(offset) +
                                                " is outside the string table (" + std::to_string(table.size()) + " bytes)");
  auto* begin = reinterpret_cast<const char*>(table.data()) + offset;
  auto* end = static_cast<const char*>(std::memchr(begin, '\0', table.size() - offset));
  if (!end) fail(subject, std::string(what) + " name at offset " + std::to_string(offset) + " is not NUL-terminated");
  return {begin, static_cast<std::size_t>(end - begin)};
}

}  // namespace

elf_reader::elf_reader(std::span<const std::byte> bytes, std::string_view object_name)
    : subject_("object '" + std::string(object_name) + "'"), image_(bytes.begin(), bytes.end()) {
  if (image_.size() < EI_NIDENT) fail(subject_, "truncated: " + std::to_string(image_.size()) + " bytes is not an ELF file");
  const auto* ident = reinterpret_cast<const unsigned char*>(image_.data());
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) fail(subject_, "not an ELF file (bad magic)");
  if (ident[EI_CLASS] != ELFCLASS64) fail(subject_, "not a 64-bit ELF file (eBPF objects are ELFCLASS64)");
  if (ident[EI_DATA] != ELFDATA2LSB)
    fail(subject_, "big-endian object: this little-endian host cannot load it (compile with -target bpfel or -target bpf)");
  if (image_.size() < sizeof(Elf64_Ehdr)) fail(subject_, "truncated ELF header");
  Elf64_Ehdr header;
  std::memcpy(&header, image_.data(), sizeof header);
  if (header.e_machine != em_bpf)
    fail(subject_, "wrong machine " + std::to_string(header.e_machine) + " (expected EM_BPF = 247: compile with clang -target bpf)");
  if (header.e_type != ET_REL) fail(subject_, "not a relocatable object (e_type " + std::to_string(header.e_type) + ")");
  // Check the section header table ourselves before libelf walks it.
  if (header.e_shoff > image_.size()) fail(subject_, "section header table offset " + std::to_string(header.e_shoff) + " is past the end of the file");
  // The count the header declares: e_shnum, or section 0's sh_size when e_shnum is 0 (the gABI's
  // extended section numbering). libelf quietly trims a count that does not fit the file, which
  // would turn a truncated table into a misleading error later: say what is wrong here.
  std::uint64_t declared_count = header.e_shnum;
  if (declared_count == 0 && header.e_shoff != 0) {
    if (image_.size() - header.e_shoff < sizeof(Elf64_Shdr))
      fail(subject_, "section header table at offset " + std::to_string(header.e_shoff) + " is truncated");
    Elf64_Shdr first;
    std::memcpy(&first, image_.data() + header.e_shoff, sizeof first);
    declared_count = first.sh_size;
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr) && declared_count != 0)
    fail(subject_, "section header size " + std::to_string(header.e_shentsize) + " is not " + std::to_string(sizeof(Elf64_Shdr)));
  if (declared_count > (image_.size() - header.e_shoff) / sizeof(Elf64_Shdr))
    fail(subject_, std::to_string(declared_count) + " section headers at offset " + std::to_string(header.e_shoff) +
                       " do not fit in " + std::to_string(image_.size()) + " bytes");

  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(reinterpret_cast<char*>(image_.data()), image_.size());
  if (!elf) fail(subject_, "libelf: " + libelf_message());
  // A constructor that throws never runs the destructor: until the end of the constructor the
  // guard owns the Elf (every malformed input used to leak libelf's descriptor).
  std::unique_ptr<Elf, int (*)(Elf*)> elf_guard(elf, elf_end);

  std::size_t section_count = 0;
  if (elf_getshdrnum(elf, &section_count) != 0) fail(subject_, "cannot read the section count: " + libelf_message());
  // Each header must lie inside the file (libelf trusts e_shnum for an in-memory image).
  if (section_count > (image_.size() - header.e_shoff) / sizeof(Elf64_Shdr))
    fail(subject_, std::to_string(section_count) + " section headers at offset " + std::to_string(header.e_shoff) +
                       " do not fit in " + std::to_string(image_.size()) + " bytes");
  std::size_t names_index = 0;
  if (elf_getshdrstrndx(elf, &names_index) != 0) fail(subject_, "cannot find the section name table: " + libelf_message());
  if (names_index >= section_count) fail(subject_, "section name table index " + std::to_string(names_index) + " out of range");

  // First pass: raw headers and data, bounds-checked against the file.
  struct raw { Elf64_Shdr header; };
  std::vector<raw> raws(section_count);
  sections_.resize(section_count);
  for (std::size_t i = 0; i < section_count; ++i) {
    Elf_Scn* scn = elf_getscn(elf, i);
    if (!scn || !elf64_getshdr(scn)) fail(subject_, "section " + std::to_string(i) + ": cannot read its header: " + libelf_message());
    // Copy the header from the image (checked above to hold section_count headers at e_shoff):
    // for an in-memory image libelf returns a pointer straight into the file, and e_shoff need
    // not be aligned, so dereferencing that Elf64_Shdr* would be a misaligned load.
    std::memcpy(&raws[i].header, image_.data() + header.e_shoff + i * sizeof(Elf64_Shdr), sizeof(Elf64_Shdr));
    const Elf64_Shdr* shdr = &raws[i].header;
    auto& section = sections_[i];
    section.index = static_cast<std::uint32_t>(i);
    section.type = shdr->sh_type;
    section.flags = shdr->sh_flags;
    section.link = shdr->sh_link;
    section.info = shdr->sh_info;
    section.size = shdr->sh_size;
    section.entry_size = shdr->sh_entsize;
    if (i == 0 || shdr->sh_type == SHT_NOBITS || shdr->sh_type == SHT_NULL) continue;
    if (shdr->sh_offset > image_.size() || shdr->sh_size > image_.size() - shdr->sh_offset)
      fail(subject_, "section " + std::to_string(i) + ": offset " + std::to_string(shdr->sh_offset) + " + size " +
                         std::to_string(shdr->sh_size) + " is past the end of the file (" + std::to_string(image_.size()) + " bytes)");
    // Our own view of the file image: the same bytes libelf would return for a little-endian
    // ELF on a little-endian host, without libelf's lazy conversions.
    section.data = std::span<const std::byte>(image_.data() + shdr->sh_offset, shdr->sh_size);
  }
  const auto& names = sections_[names_index];
  if (names.type != SHT_STRTAB) fail(subject_, "section name table (section " + std::to_string(names_index) + ") is not a string table");
  for (std::size_t i = 1; i < section_count; ++i)
    sections_[i].name = string_in(names.data, raws[i].header.sh_name, subject_, ("section " + std::to_string(i)).c_str());

  // The symbol table (at most one in a relocatable object).
  for (const auto& section : sections_) {
    if (section.type != SHT_SYMTAB) continue;
    if (section.entry_size != sizeof(Elf64_Sym))
      fail(subject_, "section '" + std::string(section.name) + "': symbol size " + std::to_string(section.entry_size) + " is not " + std::to_string(sizeof(Elf64_Sym)));
    if (section.data.size() % sizeof(Elf64_Sym) != 0)
      fail(subject_, "section '" + std::string(section.name) + "': size " + std::to_string(section.data.size()) + " is not a multiple of the symbol size");
    if (section.link == 0 || section.link >= section_count || sections_[section.link].type != SHT_STRTAB)
      fail(subject_, "section '" + std::string(section.name) + "': link " + std::to_string(section.link) + " is not a string table");
    const auto& strings = sections_[section.link].data;
    std::size_t count = section.data.size() / sizeof(Elf64_Sym);
    symbols_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      Elf64_Sym raw_symbol;
      std::memcpy(&raw_symbol, section.data.data() + i * sizeof(Elf64_Sym), sizeof raw_symbol);
      elf_symbol symbol;
      symbol.index = static_cast<std::uint32_t>(i);
      symbol.name = string_in(strings, raw_symbol.st_name, subject_, ("symbol " + std::to_string(i)).c_str());
      symbol.type = ELF64_ST_TYPE(raw_symbol.st_info);
      symbol.binding = ELF64_ST_BIND(raw_symbol.st_info);
      symbol.visibility = ELF64_ST_VISIBILITY(raw_symbol.st_other);
      symbol.section_index = raw_symbol.st_shndx;
      symbol.value = raw_symbol.st_value;
      symbol.size = raw_symbol.st_size;
      if (symbol.section_index != SHN_UNDEF && symbol.section_index < SHN_LORESERVE && symbol.section_index >= section_count)
        fail(subject_, "symbol '" + std::string(symbol.name) + "': section index " + std::to_string(symbol.section_index) + " out of range");
      // Symbols that name a section (STT_SECTION) have no name of their own: use the section's.
      if (symbol.type == STT_SECTION && symbol.section_index < section_count) symbol.name = sections_[symbol.section_index].name;
      symbols_.push_back(symbol);
    }
    break;
  }
  elf_ = elf_guard.release();
}

elf_reader::~elf_reader() {
  if (elf_) elf_end(static_cast<Elf*>(elf_));
}

const elf_section* elf_reader::find_section(std::string_view name) const noexcept {
  for (const auto& section : sections_)
    if (section.index != 0 && section.name == name) return &section;
  return nullptr;
}

const elf_section& elf_reader::section(std::uint32_t index) const {
  if (index == 0 || index >= sections_.size())
    fail(subject_, "section index " + std::to_string(index) + " out of range (" + std::to_string(sections_.size()) + " sections)");
  return sections_[index];
}

const elf_symbol& elf_reader::symbol(std::uint32_t index) const {
  if (index >= symbols_.size())
    fail(subject_, "symbol index " + std::to_string(index) + " out of range (" + std::to_string(symbols_.size()) + " symbols)");
  return symbols_[index];
}

std::vector<elf_relocation> elf_reader::relocations(const elf_section& rel_section) const {
  const std::string where = "section '" + std::string(rel_section.name) + "'";
  if (rel_section.entry_size != sizeof(Elf64_Rel))
    fail(subject_, where + ": relocation size " + std::to_string(rel_section.entry_size) + " is not " + std::to_string(sizeof(Elf64_Rel)));
  if (rel_section.data.size() % sizeof(Elf64_Rel) != 0)
    fail(subject_, where + ": size " + std::to_string(rel_section.data.size()) + " is not a multiple of the relocation size");
  const auto& target = section(rel_section.info);
  std::vector<elf_relocation> result;
  std::size_t count = rel_section.data.size() / sizeof(Elf64_Rel);
  result.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Elf64_Rel raw;
    std::memcpy(&raw, rel_section.data.data() + i * sizeof(Elf64_Rel), sizeof raw);
    elf_relocation relocation{raw.r_offset, static_cast<std::uint32_t>(ELF64_R_SYM(raw.r_info)),
                              static_cast<std::uint32_t>(ELF64_R_TYPE(raw.r_info))};
    if (relocation.symbol >= symbols_.size())
      fail(subject_, where + ": relocation " + std::to_string(i) + " refers to symbol " + std::to_string(relocation.symbol) +
                         ", but there are " + std::to_string(symbols_.size()));
    if (relocation.offset >= target.size)
      fail(subject_, where + ": relocation " + std::to_string(i) + " at offset " + std::to_string(relocation.offset) +
                         " is outside section '" + std::string(target.name) + "' (" + std::to_string(target.size) + " bytes)");
    result.push_back(relocation);
  }
  return result;
}

}  // namespace ebpf::detail
