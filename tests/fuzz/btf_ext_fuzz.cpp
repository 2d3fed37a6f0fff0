// Fuzz target: parse_btf_ext against a BTF. Input layout: u32 (little-endian) length N, N bytes of
// .BTF, then the .BTF.ext bytes (tests/fuzz/make_seeds.py writes seeds in this layout).
#include <ebpf/btf.hpp>
#include <ebpf/error.hpp>

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace {

bool is_string(const ebpf::btf& types, std::uint32_t offset) {
  try {
    (void)types.string_at(offset);
    return true;
  } catch (const ebpf::error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  std::uint32_t btf_size;
  std::memcpy(&btf_size, data, 4);
  if (btf_size > size - 4) return 0;
  auto bytes = reinterpret_cast<const std::byte*>(data);
  std::span<const std::byte> btf_bytes(bytes + 4, btf_size);
  std::span<const std::byte> ext_bytes(bytes + 4 + btf_size, size - 4 - btf_size);
  std::optional<ebpf::btf> parsed;
  try {
    parsed = ebpf::btf::parse(btf_bytes);
  } catch (const ebpf::error&) {
    return 0;  // btf_fuzz covers BTF itself
  }
  const ebpf::btf& types = *parsed;
  try {
    auto sections = ebpf::parse_btf_ext(ext_bytes, types);
    for (const auto& s : sections) {
      FUZZ_CHECK(!s.section.empty());
      FUZZ_CHECK(!s.func_info.empty() || !s.line_info.empty() || !s.core_relocations.empty());
      for (const auto& f : s.func_info) {
        FUZZ_CHECK(types.type(f.type_id).kind == ebpf::btf_kind::function);
      }
      for (const auto& l : s.line_info) {
        FUZZ_CHECK(is_string(types, l.file_name_offset) && is_string(types, l.line_offset));
      }
      for (const auto& r : s.core_relocations) {
        FUZZ_CHECK(r.type_id < types.type_count());
        FUZZ_CHECK(!r.access_string.empty());
        FUZZ_CHECK(static_cast<std::uint32_t>(r.kind) <= 12);
        FUZZ_CHECK(r.access_string.data() >= reinterpret_cast<const char*>(types.bytes().data()) &&
                   r.access_string.data() + r.access_string.size() <
                       reinterpret_cast<const char*>(types.bytes().data() + types.bytes().size()));
      }
    }
  } catch (const ebpf::error& e) {
    FUZZ_CHECK(e.code() == ebpf::errc::invalid_btf && e.what()[0] != '\0');
  }
  return 0;
}
