// ebpfpp: USDT notes and x86-64 argument specs (lib/object/usdt_note.hpp).

#include "usdt_note.hpp"

#include "elf_binary.hpp"

#include <ebpf/error.hpp>

#include <cstring>
#include <elf.h>

namespace ebpf::detail {
namespace {

constexpr std::uint32_t nt_stapsdt = 3;  // <sys/sdt.h> _SDT_NOTE_TYPE

std::uint64_t align4(std::uint64_t value) { return (value + 3) & ~std::uint64_t{3}; }

// x86-64 struct pt_regs (arch/x86/include/asm/ptrace.h): what a uprobe program's ctx points at.
struct register_name {
  std::string_view name;
  std::uint16_t offset;
};
constexpr register_name x86_64_registers[] = {
    {"rax", 80}, {"eax", 80}, {"ax", 80}, {"al", 80},
    {"rbx", 40}, {"ebx", 40}, {"bx", 40}, {"bl", 40},
    {"rcx", 88}, {"ecx", 88}, {"cx", 88}, {"cl", 88},
    {"rdx", 96}, {"edx", 96}, {"dx", 96}, {"dl", 96},
    {"rsi", 104}, {"esi", 104}, {"si", 104}, {"sil", 104},
    {"rdi", 112}, {"edi", 112}, {"di", 112}, {"dil", 112},
    {"rbp", 32}, {"ebp", 32}, {"bp", 32}, {"bpl", 32},
    {"rsp", 152}, {"esp", 152}, {"sp", 152}, {"spl", 152},
    {"rip", 128},
    {"r8", 72}, {"r8d", 72}, {"r8w", 72}, {"r8b", 72},
    {"r9", 64}, {"r9d", 64}, {"r9w", 64}, {"r9b", 64},
    {"r10", 56}, {"r10d", 56}, {"r10w", 56}, {"r10b", 56},
    {"r11", 48}, {"r11d", 48}, {"r11w", 48}, {"r11b", 48},
    {"r12", 24}, {"r12d", 24}, {"r12w", 24}, {"r12b", 24},
    {"r13", 16}, {"r13d", 16}, {"r13w", 16}, {"r13b", 16},
    {"r14", 8}, {"r14d", 8}, {"r14w", 8}, {"r14b", 8},
    {"r15", 0}, {"r15d", 0}, {"r15w", 0}, {"r15b", 0},
};

class arg_parser {
 public:
  arg_parser(std::string_view text, std::string_view context) : text_(text), context_(context) {}

  usdt_arg_spec parse() {
    usdt_arg_spec spec;
    // "[-]size@"
    bool negative = accept('-');
    std::int64_t size = 0;
    if (!number(size, false) || !accept('@')) fail("expected [-]<size>@<operand>");
    if (size != 1 && size != 2 && size != 4 && size != 8) fail("size must be 1, 2, 4 or 8");
    spec.size = static_cast<std::uint8_t>(size);
    spec.is_signed = negative;

    if (accept('$')) {  // immediate
      spec.type = usdt_arg_spec::kind::constant;
      if (!number(spec.value_or_offset, true)) fail("expected a number after '$'");
    } else if (peek() == '%') {  // register
      spec.type = usdt_arg_spec::kind::reg;
      spec.reg_offset = reg();
    } else {  // memory: [offset](%base[,%index[,scale]])
      std::int64_t offset = 0;
      if (peek() != '(' && !number(offset, true)) {
        fail("expected a register, an immediate or a memory operand (symbolic offsets are not "
             "supported)");
      }
      spec.value_or_offset = offset;
      if (!accept('(')) fail("expected '(' of a memory operand");
      spec.reg_offset = reg();
      spec.type = usdt_arg_spec::kind::reg_deref;
      if (accept(',')) {
        spec.type = usdt_arg_spec::kind::reg_sib_deref;
        spec.index_reg_offset = reg();
        std::int64_t scale = 1;
        if (accept(',') && !number(scale, false)) fail("expected a scale");
        switch (scale) {
          case 1: spec.scale_shift = 0; break;
          case 2: spec.scale_shift = 1; break;
          case 4: spec.scale_shift = 2; break;
          case 8: spec.scale_shift = 3; break;
          default: fail("scale must be 1, 2, 4 or 8");
        }
      }
      if (!accept(')')) fail("expected ')'");
    }
    if (pos_ != text_.size()) fail("unexpected '" + std::string(text_.substr(pos_)) + "'");
    return spec;
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  // Decimal or 0x hex, optionally signed, fitting in 64 bits.
  bool number(std::int64_t& out, bool allow_sign) {
    bool negative = allow_sign && accept('-');
    std::uint64_t value = 0;
    unsigned base = 10;
    if (text_.substr(pos_, 2) == "0x" || text_.substr(pos_, 2) == "0X") {
      base = 16;
      pos_ += 2;
    }
    std::size_t digits = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      unsigned digit;
      if (c >= '0' && c <= '9') digit = static_cast<unsigned>(c - '0');
      else if (base == 16 && c >= 'a' && c <= 'f') digit = static_cast<unsigned>(c - 'a' + 10);
      else if (base == 16 && c >= 'A' && c <= 'F') digit = static_cast<unsigned>(c - 'A' + 10);
      else break;
      if (value > (~std::uint64_t{0} - digit) / base) fail("number out of range");
      value = value * base + digit;
      ++pos_;
      ++digits;
    }
    if (digits == 0) return false;
    out = static_cast<std::int64_t>(negative ? ~value + 1 : value);
    return true;
  }
  std::uint16_t reg() {
    if (!accept('%')) fail("expected a register");
    std::size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z') ||
                                   (text_[pos_] >= '0' && text_[pos_] <= '9'))) {
      ++pos_;
    }
    std::string_view name = text_.substr(start, pos_ - start);
    for (const register_name& known : x86_64_registers) {
      if (known.name == name) return known.offset;
    }
    fail("unknown register '%" + std::string(name) + "'");
  }
  [[noreturn]] void fail(const std::string& why) {
    throw_error(errc::invalid_object, context_ + ": argument '" + std::string(text_) + "': " + why);
  }

  std::string_view text_;
  std::string context_;
  std::size_t pos_ = 0;
};

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace

std::vector<usdt_note> parse_stapsdt_notes(std::span<const std::byte> section,
                                           std::string_view subject) {
  std::string context = std::string(subject) + ": .note.stapsdt";
  auto fail = [&](std::uint64_t at, const std::string& why) {
    throw_error(errc::invalid_object, context + " at offset " + std::to_string(at) + ": " + why);
  };
  std::vector<usdt_note> notes;
  std::uint64_t at = 0;
  while (at < section.size()) {
    std::uint32_t header[3];
    if (section.size() - at < sizeof header) fail(at, "truncated note header");
    std::memcpy(header, section.data() + at, sizeof header);
    std::uint64_t name_size = header[0], desc_size = header[1];
    std::uint32_t type = header[2];
    std::uint64_t name_at = at + sizeof header;
    std::uint64_t desc_at = name_at + align4(name_size);
    std::uint64_t next = desc_at + align4(desc_size);
    // The sizes come from the file: compare without overflowing (each is at most 2^32).
    if (desc_at > section.size() || desc_size > section.size() - desc_at) {
      fail(at, "note sizes overrun the section");
    }
    auto name = std::string_view(reinterpret_cast<const char*>(section.data() + name_at),
                                 static_cast<std::size_t>(name_size));
    if (type == nt_stapsdt && name == std::string_view("stapsdt", 8)) {
      std::span<const std::byte> desc = section.subspan(desc_at, desc_size);
      if (desc.size() < 3 * sizeof(std::uint64_t)) fail(at, "descriptor too small for its addresses");
      usdt_note note;
      std::memcpy(&note.pc, desc.data(), 8);
      std::memcpy(&note.base, desc.data() + 8, 8);
      std::memcpy(&note.semaphore, desc.data() + 16, 8);
      std::string_view strings(reinterpret_cast<const char*>(desc.data() + 24), desc.size() - 24);
      std::string_view* fields[] = {nullptr, nullptr, nullptr};
      std::string_view provider, probe, args;
      fields[0] = &provider;
      fields[1] = &probe;
      fields[2] = &args;
      for (std::string_view* field : fields) {
        auto end = strings.find('\0');
        if (end == std::string_view::npos) fail(at, "descriptor lacks its provider, name and arguments strings");
        *field = strings.substr(0, end);
        strings.remove_prefix(end + 1);
      }
      if (provider.empty() || probe.empty()) fail(at, "empty provider or probe name");
      note.provider = std::string(provider);
      note.name = std::string(probe);
      note.args = std::string(args);
      notes.push_back(std::move(note));
    }
    if (next <= at) break;  // cannot happen (header is 12 bytes), but never loop forever
    at = next;
  }
  return notes;
}

std::vector<usdt_arg_spec> parse_usdt_args(std::string_view text, std::string_view subject) {
  std::string context = std::string(subject) + ": USDT arguments '" + std::string(text) + "'";
  std::vector<usdt_arg_spec> args;
  std::size_t pos = 0;
  while (true) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (pos == text.size()) break;
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    if (args.size() == usdt_max_args) {
      throw_error(errc::invalid_object,
                  context + ": more than " + std::to_string(usdt_max_args) + " arguments");
    }
    args.push_back(arg_parser(text.substr(pos, end - pos), context).parse());
    pos = end;
  }
  return args;
}

std::vector<usdt_site> find_usdt_sites(const elf_binary& binary, std::string_view provider,
                                       std::string_view name) {
  const binary_section* notes_section = binary.find_section(".note.stapsdt");
  std::string probe = std::string(provider) + ":" + std::string(name);
  if (notes_section == nullptr) {
    throw_error(errc::not_found, binary.subject() + ": USDT probe '" + probe +
                                     "': the binary has no .note.stapsdt section (no USDT probes)");
  }
  if (binary.machine() != EM_X86_64) {
    throw_error(errc::unsupported, binary.subject() + ": USDT probe '" + probe +
                                       "': argument specs are only understood for x86-64");
  }
  std::vector<usdt_note> notes = parse_stapsdt_notes(notes_section->data, binary.subject());
  // Prelink moves .stapsdt.base with the code, so the distance from the note's recorded base to
  // the section's current address is how far the pc moved (libbpf usdt.c, collect_usdt_targets).
  const binary_section* base_section = binary.find_section(".stapsdt.base");

  std::vector<usdt_site> sites;
  std::string available;
  for (const usdt_note& note : notes) {
    if ((!provider.empty() && note.provider != provider) || (!name.empty() && note.name != name)) {
      std::string entry = note.provider + ":" + note.name;
      if (available.find(entry) == std::string::npos && available.size() < 400) {
        available += (available.empty() ? "" : ", ") + entry;
      }
      continue;
    }
    std::string context = binary.subject() + ": USDT probe '" + probe + "' at " + hex(note.pc);
    usdt_site site;
    site.provider = note.provider;
    site.name = note.name;
    site.address = note.pc;
    if (base_section != nullptr && note.base != 0) site.address += base_section->addr - note.base;
    auto offset = binary.vaddr_to_offset(site.address, true);
    if (!offset) throw_error(errc::invalid_object, context + ": the address is in no executable segment");
    site.offset = *offset;
    if (note.semaphore != 0) {
      auto semaphore = binary.vaddr_to_offset(note.semaphore, false);
      if (!semaphore) {
        throw_error(errc::invalid_object,
                    context + ": semaphore " + hex(note.semaphore) + " is in no segment of the file");
      }
      site.semaphore = note.semaphore;
      site.semaphore_offset = *semaphore;
    }
    site.args_text = note.args;
    site.args = parse_usdt_args(note.args, context);
    sites.push_back(std::move(site));
  }
  if (sites.empty()) {
    throw_error(errc::not_found, binary.subject() + ": no USDT probe '" + probe + "'" +
                                     (available.empty() ? std::string()
                                                        : " (the binary has: " + available + ")"));
  }
  return sites;
}

std::array<std::byte, usdt_spec_size> encode_usdt_spec(std::span<const usdt_arg_spec> args,
                                                       std::uint64_t cookie) {
  // struct ebpfpp_usdt_arg { s64 value_or_offset; u16 reg_offset; u16 index_reg_offset;
  //                          u8 kind; u8 size; u8 is_signed; u8 scale_shift; }     16 bytes
  // struct ebpfpp_usdt_spec { struct ebpfpp_usdt_arg args[16]; u64 cookie; u16 arg_count;
  //                           u16 pad[3]; }                                           272 bytes
  std::array<std::byte, usdt_spec_size> out{};
  auto put = [&](std::size_t at, const void* value, std::size_t size) {
    std::memcpy(out.data() + at, value, size);
  };
  std::size_t count = args.size() < usdt_max_args ? args.size() : usdt_max_args;
  for (std::size_t i = 0; i < count; ++i) {
    const usdt_arg_spec& arg = args[i];
    std::size_t at = i * 16;
    put(at, &arg.value_or_offset, 8);
    put(at + 8, &arg.reg_offset, 2);
    put(at + 10, &arg.index_reg_offset, 2);
    auto kind = static_cast<std::uint8_t>(arg.type);
    std::uint8_t is_signed = arg.is_signed ? 1 : 0;
    put(at + 12, &kind, 1);
    put(at + 13, &arg.size, 1);
    put(at + 14, &is_signed, 1);
    put(at + 15, &arg.scale_shift, 1);
  }
  put(256, &cookie, 8);
  auto arg_count = static_cast<std::uint16_t>(count);
  put(264, &arg_count, 2);
  return out;
}

}  // namespace ebpf::detail
