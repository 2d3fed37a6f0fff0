// A bounds-checked view of a relocatable eBPF ELF object. The only code that talks to libelf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf::detail {

struct elf_section {
  std::uint32_t index = 0;
  std::string_view name;
  std::uint32_t type = 0;   // SHT_*
  std::uint64_t flags = 0;  // SHF_*
  std::uint32_t link = 0;
  std::uint32_t info = 0;
  std::uint64_t size = 0;     // sh_size (also for SHT_NOBITS, which has no data)
  std::uint64_t entry_size = 0;
  std::span<const std::byte> data;  // empty for SHT_NOBITS
};

struct elf_symbol {
  std::uint32_t index = 0;
  std::string_view name;
  std::uint8_t type = 0;     // STT_*
  std::uint8_t binding = 0;  // STB_*
  std::uint8_t visibility = 0;
  std::uint16_t section_index = 0;  // st_shndx (SHN_UNDEF = 0 for externs)
  std::uint64_t value = 0;
  std::uint64_t size = 0;
};

struct elf_relocation {
  std::uint64_t offset = 0;
  std::uint32_t symbol = 0;
  std::uint32_t type = 0;
};

/// Parses the ELF header, section headers and symbol table up front and validates every offset,
/// size and index, so the accessors below cannot read out of bounds.
class elf_reader {
 public:
  /// Throws: ebpf::error(errc::invalid_object) "object 'NAME': ..." for anything malformed,
  /// including the wrong machine, class or byte order.
  elf_reader(std::span<const std::byte> bytes, std::string_view object_name);
  ~elf_reader();
  elf_reader(const elf_reader&) = delete;
  elf_reader& operator=(const elf_reader&) = delete;

  const std::vector<elf_section>& sections() const noexcept { return sections_; }
  const elf_section* find_section(std::string_view name) const noexcept;
  const elf_section& section(std::uint32_t index) const;  // throws errc::invalid_object
  const std::vector<elf_symbol>& symbols() const noexcept { return symbols_; }
  const elf_symbol& symbol(std::uint32_t index) const;  // throws errc::invalid_object
  /// Relocations of an SHT_REL section, validated against the symbol table and the target.
  std::vector<elf_relocation> relocations(const elf_section& rel_section) const;

  /// "object 'NAME'" for messages.
  const std::string& subject() const noexcept { return subject_; }

 private:
  std::string subject_;
  std::vector<std::byte> image_;  // libelf wants a mutable buffer
  void* elf_ = nullptr;           // Elf*
  std::vector<elf_section> sections_;
  std::vector<elf_symbol> symbols_;
};

}  // namespace ebpf::detail
