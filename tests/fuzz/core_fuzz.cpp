// Fuzz target: CO-RE relocation over a pair of arbitrary BTF blobs. Input layout (little-endian;
// tests/fuzz/make_core_seeds.py writes seeds in it):
//   u32 N, N bytes of local .BTF, u32 M, M bytes of target .BTF, then records of 32 bytes:
//   u32 instruction, u32 type id, u32 access string offset (into the local strings), u32 kind,
//   and two instructions (16 bytes) for the relocation to patch.
// Each record is computed against the target (one candidate cache for all records, so the
// narrowing of candidate lists is exercised too) and against the local BTF itself, then applied
// to its instructions. Only ebpf::error may come out, with the codes the API documents.
#include <ebpf/btf.hpp>
#include <ebpf/core.hpp>
#include <ebpf/error.hpp>

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

namespace {

constexpr std::size_t record_size = 32;
constexpr std::size_t max_records = 64;

std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Takes a u32-length-prefixed blob off the front of `data`.
std::optional<std::span<const std::byte>> take_blob(const std::uint8_t*& data, std::size_t& size) {
  if (size < 4) return std::nullopt;
  std::uint32_t length = load_u32(data);
  if (length > size - 4) return std::nullopt;
  std::span<const std::byte> blob(reinterpret_cast<const std::byte*>(data + 4), length);
  data += 4 + length;
  size -= 4 + length;
  return blob;
}

bool is_field_kind(ebpf::core_relocation_kind k) { return static_cast<std::uint32_t>(k) <= 5; }

void check_result(const ebpf::core_relocation_result& r, const ebpf::btf_core_relocation& record) {
  using kind = ebpf::core_relocation_kind;
  FUZZ_CHECK(r.instruction == record.instruction && r.kind == record.kind && r.local_type_id == record.type_id);
  FUZZ_CHECK(!ebpf::describe(r).empty());
  if (r.poisoned) {
    // Only kinds without an "absent" value poison, and only when nothing matched.
    FUZZ_CHECK((is_field_kind(r.kind) && r.kind != kind::field_exists) || r.kind == kind::enumval_value);
    FUZZ_CHECK(r.candidates == 0 && r.target_type_id == 0);
  }
  if (r.kind == kind::type_id_local) {
    FUZZ_CHECK(r.local_value == record.type_id && r.target_value == record.type_id && !r.validate);
  } else {
    FUZZ_CHECK((r.candidates == 0) == (r.target_type_id == 0));
  }
  if (r.candidates == 0 && (r.kind == kind::field_exists || r.kind == kind::type_exists ||
                            r.kind == kind::type_matches || r.kind == kind::enumval_exists ||
                            r.kind == kind::type_size || r.kind == kind::type_id_target)) {
    FUZZ_CHECK(r.target_value == 0 && !r.poisoned);
  }
  if (r.candidates > 0 && (r.kind == kind::field_exists || r.kind == kind::type_exists ||
                           r.kind == kind::type_matches || r.kind == kind::enumval_exists)) {
    FUZZ_CHECK(r.target_value == 1);
  }
}

void relocate(const ebpf::btf& local, const ebpf::btf_core_relocation& record, const ebpf::btf& target,
              ebpf::core_candidate_cache& cache, const ebpf::instruction (&original)[2]) {
  std::optional<ebpf::core_relocation_result> result;
  try {
    result = ebpf::compute_core_relocation(local, record, target, cache);
  } catch (const ebpf::error& e) {
    if (record.type_id >= local.type_count()) {
      FUZZ_CHECK(e.code() == ebpf::errc::invalid_argument);
    } else {
      FUZZ_CHECK(e.code() == ebpf::errc::relocation_failed);
    }
    FUZZ_CHECK(e.what()[0] != '\0');
    return;
  }
  FUZZ_CHECK(record.type_id < local.type_count());
  check_result(*result, record);

  ebpf::instruction code[2] = {original[0], original[1]};
  try {
    ebpf::apply_core_relocation(code, *result);
  } catch (const ebpf::error& e) {
    FUZZ_CHECK(e.code() == ebpf::errc::relocation_failed);
    return;
  }
  FUZZ_CHECK(result->instruction < 2);
  const ebpf::instruction& patched = code[result->instruction];
  if (result->poisoned) FUZZ_CHECK(patched.code == 0x85 && patched.imm == ebpf::core_poison_imm);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto local_bytes = take_blob(data, size);
  if (!local_bytes) return 0;
  auto target_bytes = take_blob(data, size);
  if (!target_bytes) return 0;
  std::optional<ebpf::btf> local, target;
  try {
    local = ebpf::btf::parse(*local_bytes);
    target = ebpf::btf::parse(*target_bytes);
  } catch (const ebpf::error&) {
    return 0;  // btf_fuzz covers BTF parsing
  }
  ebpf::core_candidate_cache against_target(*target);
  ebpf::core_candidate_cache against_itself(*local);
  for (std::size_t n = 0; size >= record_size && n < max_records; ++n, data += record_size, size -= record_size) {
    ebpf::btf_core_relocation record;
    record.instruction = load_u32(data) & 3;  // two instructions: 2 and 3 are out of range
    record.type_id = load_u32(data + 4);
    try {
      record.access_string = local->string_at(load_u32(data + 8));
    } catch (const ebpf::error&) {
      continue;  // parse_btf_ext rejects such records (btf_ext_fuzz)
    }
    record.kind = static_cast<ebpf::core_relocation_kind>(load_u32(data + 12) % 14);  // 13: unknown
    ebpf::instruction code[2];
    std::memcpy(code, data + 16, sizeof code);
    relocate(*local, record, *target, against_target, code);
    relocate(*local, record, *local, against_itself, code);
  }
  return 0;
}
