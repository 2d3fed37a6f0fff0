// Test helpers: build raw BTF and .BTF.ext blobs type by type (valid or deliberately broken), and
// read a section out of a compiled .bpf.o with libelf.
#pragma once

#include <ebpf/btf.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <gelf.h>
#include <libelf.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace ebpf::test {

/// The fields of struct btf_header, in order; build() fills them for a well-formed blob and a
/// test may change any of them before the bytes are produced.
struct btf_header_fields {
  std::uint16_t magic = 0xeB9F;
  std::uint8_t version = 1;
  std::uint8_t flags = 0;
  std::uint32_t hdr_len = 24;
  std::uint32_t type_off = 0;
  std::uint32_t type_len = 0;
  std::uint32_t str_off = 0;
  std::uint32_t str_len = 0;
};

// Little-endian, like the hosts we run on. (push_back, not insert of a 4-byte array: g++ 12 warns
// falsely about the latter with -Wstringop-overflow.)
inline void append_u32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

inline void append_u16(std::vector<std::byte>& out, std::uint16_t v) {
  out.push_back(static_cast<std::byte>(v & 0xff));
  out.push_back(static_cast<std::byte>(v >> 8));
}

/// Builds a BTF blob: the type section as 32-bit words (easy to corrupt), the string section as
/// a string starting with '\0'. Type ids are handed out from 1 in the order of the add_* calls.
class btf_builder {
 public:
  struct member {
    std::string_view name;
    std::uint32_t type = 0;
    std::uint32_t bit_offset = 0;
    std::uint32_t bitfield_size = 0;  // only encoded when the struct has kind_flag
  };
  struct enumerator {
    std::string_view name;
    std::int64_t value = 0;
  };
  struct parameter {
    std::string_view name;
    std::uint32_t type = 0;
  };

  btf_builder() : strings_(1, '\0') {}

  /// Offset of `s` in the string section, adding it once.
  std::uint32_t str(std::string_view s) {
    if (s.empty()) return 0;
    std::string needle(s);
    needle += '\0';
    auto at = strings_.find(needle);
    if (at != std::string::npos && (at == 0 || strings_[at - 1] == '\0')) {
      return static_cast<std::uint32_t>(at);
    }
    auto offset = static_cast<std::uint32_t>(strings_.size());
    strings_ += needle;
    return offset;
  }

  /// Appends a raw record; returns its id.
  std::uint32_t raw(std::uint32_t name_off, btf_kind kind, std::uint32_t vlen, bool kind_flag,
                    std::uint32_t size_or_type, const std::vector<std::uint32_t>& tail = {}) {
    words_.push_back(name_off);
    words_.push_back((kind_flag ? 1u << 31 : 0u) | (static_cast<std::uint32_t>(kind) << 24) | vlen);
    words_.push_back(size_or_type);
    words_.insert(words_.end(), tail.begin(), tail.end());
    return next_id_++;
  }

  std::uint32_t add_int(std::string_view name, std::uint32_t size, std::uint8_t encoding = 0,
                        std::uint32_t bits = 0, std::uint32_t bit_offset = 0) {
    if (bits == 0) bits = size * 8;
    return raw(str(name), btf_kind::integer, 0, false, size,
               {std::uint32_t{encoding} << 24 | bit_offset << 16 | bits});
  }
  std::uint32_t add_pointer(std::uint32_t type) { return raw(0, btf_kind::pointer, 0, false, type); }
  std::uint32_t add_array(std::uint32_t element, std::uint32_t index, std::uint32_t count) {
    return raw(0, btf_kind::array, 0, false, 0, {element, index, count});
  }
  std::uint32_t add_struct(std::string_view name, std::uint32_t size, const std::vector<member>& members,
                           bool kind_flag = false) {
    return aggregate(btf_kind::struct_, name, size, members, kind_flag);
  }
  std::uint32_t add_union(std::string_view name, std::uint32_t size, const std::vector<member>& members,
                          bool kind_flag = false) {
    return aggregate(btf_kind::union_, name, size, members, kind_flag);
  }
  std::uint32_t add_enum(std::string_view name, std::uint32_t size,
                         const std::vector<enumerator>& values, bool is_signed = false) {
    std::vector<std::uint32_t> tail;
    for (const enumerator& e : values) {
      tail.push_back(str(e.name));
      tail.push_back(static_cast<std::uint32_t>(e.value));
    }
    return raw(str(name), btf_kind::enum_, static_cast<std::uint32_t>(values.size()), is_signed, size, tail);
  }
  std::uint32_t add_enum64(std::string_view name, std::uint32_t size,
                           const std::vector<enumerator>& values, bool is_signed = false) {
    std::vector<std::uint32_t> tail;
    for (const enumerator& e : values) {
      auto v = static_cast<std::uint64_t>(e.value);
      tail.push_back(str(e.name));
      tail.push_back(static_cast<std::uint32_t>(v));
      tail.push_back(static_cast<std::uint32_t>(v >> 32));
    }
    return raw(str(name), btf_kind::enum64, static_cast<std::uint32_t>(values.size()), is_signed, size, tail);
  }
  std::uint32_t add_forward(std::string_view name, bool is_union = false) {
    return raw(str(name), btf_kind::forward, 0, is_union, 0);
  }
  std::uint32_t add_typedef(std::string_view name, std::uint32_t type) {
    return raw(str(name), btf_kind::typedef_, 0, false, type);
  }
  std::uint32_t add_volatile(std::uint32_t type) { return raw(0, btf_kind::volatile_, 0, false, type); }
  std::uint32_t add_const(std::uint32_t type) { return raw(0, btf_kind::const_, 0, false, type); }
  std::uint32_t add_restrict(std::uint32_t type) { return raw(0, btf_kind::restrict_, 0, false, type); }
  std::uint32_t add_function(std::string_view name, std::uint32_t proto, std::uint32_t linkage = 1) {
    return raw(str(name), btf_kind::function, linkage, false, proto);
  }
  std::uint32_t add_function_proto(std::uint32_t return_type, const std::vector<parameter>& params) {
    std::vector<std::uint32_t> tail;
    for (const parameter& p : params) {
      tail.push_back(str(p.name));
      tail.push_back(p.type);
    }
    return raw(0, btf_kind::function_proto, static_cast<std::uint32_t>(params.size()), false,
               return_type, tail);
  }
  std::uint32_t add_variable(std::string_view name, std::uint32_t type, std::uint32_t linkage = 1) {
    return raw(str(name), btf_kind::variable, 0, false, type, {linkage});
  }
  std::uint32_t add_datasec(std::string_view name, std::uint32_t size,
                            const std::vector<btf_var_section_info>& vars) {
    std::vector<std::uint32_t> tail;
    for (const btf_var_section_info& v : vars) {
      tail.push_back(v.type);
      tail.push_back(v.offset);
      tail.push_back(v.size);
    }
    return raw(str(name), btf_kind::datasec, static_cast<std::uint32_t>(vars.size()), false, size, tail);
  }
  std::uint32_t add_float(std::string_view name, std::uint32_t size) {
    return raw(str(name), btf_kind::floating, 0, false, size);
  }
  std::uint32_t add_decl_tag(std::string_view value, std::uint32_t type, std::int32_t component = -1) {
    return raw(str(value), btf_kind::decl_tag, 0, false, type, {static_cast<std::uint32_t>(component)});
  }
  std::uint32_t add_type_tag(std::string_view value, std::uint32_t type) {
    return raw(str(value), btf_kind::type_tag, 0, false, type);
  }

  /// The type section as words, to corrupt a record after adding it.
  std::vector<std::uint32_t>& words() { return words_; }
  /// The string section, to corrupt it.
  std::string& strings() { return strings_; }
  std::uint32_t next_id() const { return next_id_; }

  /// header, types, strings; `patch` may change the header fields (and `extra_header` bytes are
  /// placed between the 24-byte header and the type section, hdr_len grows to include them).
  std::vector<std::byte> build(const std::function<void(btf_header_fields&)>& patch = {},
                               const std::vector<std::byte>& extra_header = {}) const {
    btf_header_fields h;
    h.hdr_len = static_cast<std::uint32_t>(24 + extra_header.size());
    h.type_off = 0;
    h.type_len = static_cast<std::uint32_t>(words_.size() * 4);
    h.str_off = h.type_len;
    h.str_len = static_cast<std::uint32_t>(strings_.size());
    if (patch) patch(h);
    std::vector<std::byte> out;
    append_u16(out, h.magic);
    out.push_back(std::byte{h.version});
    out.push_back(std::byte{h.flags});
    append_u32(out, h.hdr_len);
    append_u32(out, h.type_off);
    append_u32(out, h.type_len);
    append_u32(out, h.str_off);
    append_u32(out, h.str_len);
    for (std::byte x : extra_header) out.push_back(x);
    for (std::uint32_t w : words_) append_u32(out, w);
    for (char c : strings_) out.push_back(static_cast<std::byte>(c));
    return out;
  }

 private:
  std::uint32_t aggregate(btf_kind kind, std::string_view name, std::uint32_t size,
                          const std::vector<member>& members, bool kind_flag) {
    std::vector<std::uint32_t> tail;
    for (const member& m : members) {
      tail.push_back(str(m.name));
      tail.push_back(m.type);
      tail.push_back(kind_flag ? (m.bitfield_size << 24 | m.bit_offset) : m.bit_offset);
    }
    return raw(str(name), kind, static_cast<std::uint32_t>(members.size()), kind_flag, size, tail);
  }

  std::vector<std::uint32_t> words_;
  std::string strings_;
  std::uint32_t next_id_ = 1;
};

/// Builds a .BTF.ext blob. Each sub-section is a record size followed by per-section groups; a
/// record is given as its 32-bit words (any number: tests use more than the known size too).
class btf_ext_builder {
 public:
  struct group {
    std::uint32_t section_name_off = 0;
    std::vector<std::vector<std::uint32_t>> records;
    std::optional<std::uint32_t> count;  // overrides records.size() in the group header
  };
  struct sub_section {
    std::uint32_t record_size = 0;
    std::vector<group> groups;
  };

  sub_section func_info{8, {}};
  sub_section line_info{16, {}};
  sub_section core_relo{16, {}};
  std::uint32_t hdr_len = 32;  // 24 drops core_relo

  static std::vector<std::byte> encode(const sub_section& s) {
    std::vector<std::byte> out;
    if (s.groups.empty()) return out;
    append_u32(out, s.record_size);
    for (const group& g : s.groups) {
      append_u32(out, g.section_name_off);
      append_u32(out, g.count ? *g.count : static_cast<std::uint32_t>(g.records.size()));
      for (const auto& r : g.records) {
        for (std::uint32_t w : r) append_u32(out, w);
      }
    }
    return out;
  }

  std::vector<std::byte> build() const {
    std::vector<std::byte> func = encode(func_info), line = encode(line_info), core = encode(core_relo);
    std::vector<std::byte> out;
    append_u16(out, 0xeB9F);
    out.push_back(std::byte{1});
    out.push_back(std::byte{0});
    append_u32(out, hdr_len);
    auto func_off = 0u;
    auto line_off = static_cast<std::uint32_t>(func.size());
    auto core_off = static_cast<std::uint32_t>(func.size() + line.size());
    append_u32(out, func_off);
    append_u32(out, static_cast<std::uint32_t>(func.size()));
    append_u32(out, line_off);
    append_u32(out, static_cast<std::uint32_t>(line.size()));
    if (hdr_len >= 32) {
      append_u32(out, core_off);
      append_u32(out, static_cast<std::uint32_t>(core.size()));
    }
    while (out.size() < hdr_len) out.push_back(std::byte{0});
    out.insert(out.end(), func.begin(), func.end());
    out.insert(out.end(), line.begin(), line.end());
    if (hdr_len >= 32) out.insert(out.end(), core.begin(), core.end());
    return out;
  }
};

/// The contents of section `name` of the ELF file at `path`, or nullopt when it has none.
/// Throws std::runtime_error when the file cannot be read as ELF.
inline std::optional<std::vector<std::byte>> read_elf_section(const std::string& path, std::string_view name) {
  if (elf_version(EV_CURRENT) == EV_NONE) throw std::runtime_error("libelf: version mismatch");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open '" + path + "' failed");
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  std::optional<std::vector<std::byte>> result;
  std::size_t shstrndx = 0;
  if (elf == nullptr || elf_getshdrstrndx(elf, &shstrndx) != 0) {
    if (elf) elf_end(elf);
    ::close(fd);
    throw std::runtime_error("'" + path + "' is not an ELF file");
  }
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* section_name = elf_strptr(elf, shstrndx, shdr.sh_name);
    if (section_name == nullptr || name != section_name) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    std::vector<std::byte> bytes;
    if (data != nullptr && data->d_buf != nullptr) {
      const auto* p = static_cast<const std::byte*>(data->d_buf);
      bytes.assign(p, p + data->d_size);
    }
    result = std::move(bytes);
    break;
  }
  elf_end(elf);
  ::close(fd);
  return result;
}

}  // namespace ebpf::test
