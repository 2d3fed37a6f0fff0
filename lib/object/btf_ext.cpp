// .BTF.ext parsing: func_info, line_info and CO-RE relocation records per ELF section.
//
// Layout (kernel tools/lib/bpf/libbpf_internal.h, struct btf_ext_header; libbpf src/btf.c
// btf_ext_parse_hdr and btf_ext_parse_sec):
//
//   header: u16 magic (0xeB9F) | u8 version (1) | u8 flags | u32 hdr_len |
//           u32 func_info_off | u32 func_info_len | u32 line_info_off | u32 line_info_len |
//           [u32 core_relo_off | u32 core_relo_len]      (only when hdr_len >= 32)
//   offsets are relative to the end of the header.
//
//   each sub-section: u32 record_size, then until its end:
//           u32 sec_name_off (into .BTF strings) | u32 num_info | num_info * record_size bytes
//
//   records (the prefix we know; record_size may be larger in newer producers):
//     func_info  (8):  u32 insn_off | u32 type_id
//     line_info  (16): u32 insn_off | u32 file_name_off | u32 line_off | u32 line_col
//     core_relo  (16): u32 insn_off | u32 type_id | u32 access_str_off | u32 kind
//
// Clang writes insn_off in bytes; we hand out instruction indices (libbpf divides by 8 too, in
// btf_ext_parse_sec / bpf_program__... before loading, because the kernel counts instructions).

#include <ebpf/btf.hpp>
#include <ebpf/error.hpp>

#include <cstring>

namespace ebpf {
namespace {

constexpr std::uint16_t btf_ext_magic = 0xeB9F;
constexpr std::uint32_t min_header_size = 24;   // up to line_info_len
constexpr std::uint32_t core_header_size = 32;  // with core_relo_off/len
constexpr std::uint32_t instruction_size = 8;
constexpr std::uint32_t last_core_kind = static_cast<std::uint32_t>(core_relocation_kind::type_matches);

std::uint32_t load_u32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string num(std::uint64_t v) { return std::to_string(v); }

std::string hex(std::uint32_t v) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[v & 0xf]);
    v >>= 4;
  } while (v != 0);
  return "0x" + out;
}

[[noreturn]] void fail(std::string message) {
  throw_error(errc::invalid_btf, "BTF.ext: " + message);
}

enum class info_kind { func, line, core };

const char* name_of(info_kind kind) {
  switch (kind) {
    case info_kind::func: return "func_info";
    case info_kind::line: return "line_info";
    case info_kind::core: return "core_relo";
  }
  return "?";
}

std::uint32_t min_record_size(info_kind kind) {
  return kind == info_kind::func ? 8 : 16;
}

class ext_parser {
 public:
  ext_parser(std::span<const std::byte> bytes, const btf& types) : bytes_(bytes), types_(types) {}

  std::vector<btf_ext_section> parse() {
    const std::byte* raw = bytes_.data();
    std::uint64_t size = bytes_.size();
    if (size < min_header_size) {
      fail("header: truncated: " + num(size) + " bytes, the header needs at least " +
           num(min_header_size));
    }
    std::uint16_t magic;
    std::memcpy(&magic, raw, sizeof magic);
    if (magic != btf_ext_magic) {
      if (magic == 0x9FEB) fail("header: big-endian BTF.ext is not supported");
      fail("header: bad magic " + hex(magic) + " (expected 0xeb9f)");
    }
    auto version = static_cast<std::uint8_t>(raw[2]);
    auto flags = static_cast<std::uint8_t>(raw[3]);
    if (version != 1) fail("header: unsupported version " + num(version) + " (expected 1)");
    if (flags != 0) fail("header: unsupported flags " + num(flags));
    std::uint32_t hdr_len = load_u32(raw + 4);
    if (hdr_len < min_header_size) {
      fail("header: hdr_len " + num(hdr_len) + " is below " + num(min_header_size));
    }
    if (hdr_len > size) {
      fail("header: hdr_len " + num(hdr_len) + " is beyond the section of " + num(size) + " bytes");
    }
    hdr_len_ = hdr_len;
    // Sub-sections a newer producer adds after core_relo are ignored (libbpf does the same:
    // it reads the header fields it knows).
    sub_section(info_kind::func, load_u32(raw + 8), load_u32(raw + 12));
    sub_section(info_kind::line, load_u32(raw + 16), load_u32(raw + 20));
    if (hdr_len >= core_header_size) {
      sub_section(info_kind::core, load_u32(raw + 24), load_u32(raw + 28));
    }
    return std::move(sections_);
  }

 private:
  void sub_section(info_kind kind, std::uint32_t off, std::uint32_t len) {
    if (len == 0) return;
    const std::string what = name_of(kind);
    std::uint64_t start = std::uint64_t{hdr_len_} + off;
    std::uint64_t end = start + len;
    if (end > bytes_.size()) {
      fail(what + ": [" + num(start) + ", " + num(end) + ") is beyond the section of " +
           num(bytes_.size()) + " bytes");
    }
    if (start % 4 != 0) fail(what + ": offset " + num(start) + " is not a multiple of 4");
    if (len < 4) fail(what + ": " + num(len) + " bytes cannot hold the record size");
    std::uint32_t record_size = load_u32(bytes_.data() + start);
    // Newer producers may append fields (we read the prefix we know), never drop them.
    if (record_size < min_record_size(kind)) {
      fail(what + ": record size " + num(record_size) + " is below the " +
           num(min_record_size(kind)) + " bytes of a record");
    }
    if (record_size % 4 != 0) fail(what + ": record size " + num(record_size) + " is not a multiple of 4");
    std::uint64_t pos = start + 4;
    while (pos < end) {
      if (end - pos < 8) {
        fail(what + ": at offset " + num(pos) + ": " + num(end - pos) +
             " bytes left, a section header needs 8");
      }
      std::uint32_t name_off = load_u32(bytes_.data() + pos);
      std::uint32_t count = load_u32(bytes_.data() + pos + 4);
      std::string section_name = section_name_at(what, pos, name_off);
      std::string subject = what + ": section '" + section_name + "'";
      if (count == 0) fail(subject + " at offset " + num(pos) + ": has no records");
      pos += 8;
      if (std::uint64_t{count} * record_size > end - pos) {
        fail(subject + " at offset " + num(pos) + ": " + num(count) + " records of " +
             num(record_size) + " bytes overflow the " + num(end - pos) + " bytes left");
      }
      btf_ext_section& section = section_for(std::move(section_name));
      for (std::uint32_t i = 0; i < count; ++i, pos += record_size) {
        record(kind, section, subject, i, pos);
      }
    }
  }

  std::string section_name_at(const std::string& what, std::uint64_t pos, std::uint32_t name_off) {
    std::string_view name;
    try {
      name = types_.string_at(name_off);
    } catch (const error& e) {
      fail(what + ": at offset " + num(pos) + ": section name: " + e.what());
    }
    if (name.empty()) fail(what + ": at offset " + num(pos) + ": section name is empty");
    return std::string(name);
  }

  btf_ext_section& section_for(std::string name) {
    // Few sections (one per program section), so a linear search beats a map.
    for (btf_ext_section& s : sections_) {
      if (s.section == name) return s;
    }
    sections_.push_back(btf_ext_section{std::move(name), {}, {}, {}});
    return sections_.back();
  }

  // `where` builds the message prefix only when something is wrong (records are many).
  template <typename Where>
  std::string_view string(const Where& where, const char* field, std::uint32_t offset) const {
    try {
      return types_.string_at(offset);
    } catch (const error& e) {
      fail(where() + ": " + field + ": " + e.what());
    }
  }

  void record(info_kind kind, btf_ext_section& section, const std::string& subject, std::uint32_t i,
              std::uint64_t pos) {
    const std::byte* r = bytes_.data() + pos;
    std::uint32_t insn_off = load_u32(r);
    auto where = [&] { return subject + ": record " + num(i) + " at offset " + num(pos); };
    if (insn_off % instruction_size != 0) {
      fail(where() + ": instruction offset " + num(insn_off) + " is not a multiple of 8");
    }
    std::uint32_t instruction = insn_off / instruction_size;
    switch (kind) {
      case info_kind::func: {
        std::uint32_t type_id = load_u32(r + 4);
        check_type(where, type_id);
        if (types_.type(type_id).kind != btf_kind::function) {
          fail(where() + ": type " + num(type_id) + " is a " +
               std::string(to_string(types_.type(type_id).kind)) + ", not a func");
        }
        section.func_info.push_back({instruction, type_id});
        break;
      }
      case info_kind::line: {
        btf_line_info info;
        info.instruction = instruction;
        info.file_name_offset = load_u32(r + 4);
        info.line_offset = load_u32(r + 8);
        info.line_column = load_u32(r + 12);
        string(where, "file name", info.file_name_offset);
        string(where, "line", info.line_offset);
        section.line_info.push_back(info);
        break;
      }
      case info_kind::core: {
        btf_core_relocation relo;
        relo.instruction = instruction;
        relo.type_id = load_u32(r + 4);
        check_type(where, relo.type_id);
        relo.access_string = string(where, "access string", load_u32(r + 8));
        if (relo.access_string.empty()) fail(where() + ": access string is empty");
        std::uint32_t kind_value = load_u32(r + 12);
        if (kind_value > last_core_kind) {
          fail(where() + ": unknown CO-RE relocation kind " + num(kind_value));
        }
        relo.kind = static_cast<core_relocation_kind>(kind_value);
        section.core_relocations.push_back(relo);
        break;
      }
    }
  }

  template <typename Where>
  void check_type(const Where& where, std::uint32_t type_id) const {
    if (type_id >= types_.type_count()) {
      fail(where() + ": refers to type " + num(type_id) + ", beyond the last type " +
           num(types_.type_count() == 0 ? 0 : types_.type_count() - 1));
    }
  }

  std::span<const std::byte> bytes_;
  const btf& types_;
  std::uint32_t hdr_len_ = 0;
  std::vector<btf_ext_section> sections_;
};

}  // namespace

std::vector<btf_ext_section> parse_btf_ext(std::span<const std::byte> bytes, const btf& types) {
  return ext_parser(bytes, types).parse();
}

}  // namespace ebpf
