// Fuzz target: a whole object. The input is the bytes of an ELF file; it goes through
// object_spec::parse, then maps_used_by and link_program for every program, as ebpf::object
// would before loading. Bad input may only be refused with an ebpf::error of the library's own
// category that names the object; anything else escaping (std::out_of_range, bad_alloc, ...) or a
// crash is a finding. What parses and links is checked for the invariants the loader relies on
// (indices in range, calls landing on function starts, map fds in place).
//
// Seeds: tests/fuzz/corpus/object/ (the test objects of tests/bpf, their debug-stripped forms,
// and some of tests/data/malformed/).
#include <ebpf/error.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/relocation.hpp>

#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace {

constexpr int fake_map_fd = 100;

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

void check_error(const ebpf::error& e, std::string_view subject) {
  FUZZ_CHECK(e.code().category() == ebpf::error_category());
  FUZZ_CHECK(starts_with(e.what(), subject));
}

void check_spec(const ebpf::object_spec& spec) {
  for (const auto& program : spec.programs) FUZZ_CHECK(program.function < spec.functions.size());
  for (const auto& function : spec.functions) {
    FUZZ_CHECK(!function.instructions.empty());
    for (const auto& relocation : function.relocations) {
      FUZZ_CHECK(relocation.instruction < function.instructions.size());
      if (relocation.kind == ebpf::relocation_kind::map_fd || relocation.kind == ebpf::relocation_kind::map_value) {
        const auto* map = spec.find_map(relocation.symbol);
        FUZZ_CHECK(map != nullptr);
        // ld_imm64 takes two slots.
        FUZZ_CHECK(relocation.instruction + 1 < function.instructions.size());
        if (relocation.kind == ebpf::relocation_kind::map_value)
          FUZZ_CHECK(relocation.target < std::max<std::uint64_t>(map->value_size, 1));
      }
    }
  }
  for (const auto& global : spec.globals) {
    const auto* map = spec.find_map(global.map);
    FUZZ_CHECK(map != nullptr);
    FUZZ_CHECK(std::uint64_t{global.offset} + global.size <= map->value_size);
  }
  // Global data comes with all its bytes, or none (zero-filled at load, like .bss).
  for (const auto& map : spec.maps)
    if (map.is_global_data()) FUZZ_CHECK(map.initial_data.empty() || map.initial_data.size() == map.value_size);
}

void check_linked(const ebpf::linked_program& linked) {
  FUZZ_CHECK(!linked.layout.empty() && linked.layout.front().second == 0);
  std::set<std::size_t> starts;
  for (const auto& [name, start] : linked.layout) {
    FUZZ_CHECK(start < linked.instructions.size());
    starts.insert(start);
  }
  const auto count = static_cast<std::int64_t>(linked.instructions.size());
  for (std::int64_t i = 0; i < count; ++i) {
    const auto& insn = linked.instructions[static_cast<std::size_t>(i)];
    bool pseudo_call = insn.code == 0x85 && insn.src() == 1;
    bool pseudo_func = insn.code == 0x18 && insn.src() == 4;
    if (pseudo_call || pseudo_func) {
      // BPF-to-BPF calls and callback addresses must land on the first instruction of a function
      // laid out in this program.
      std::int64_t target = i + insn.imm + 1;
      FUZZ_CHECK(target >= 0 && target < count);
      FUZZ_CHECK(starts.count(static_cast<std::size_t>(target)) == 1);
    }
  }
  for (std::size_t i = 1; i < linked.func_info.size(); ++i)
    FUZZ_CHECK(linked.func_info[i - 1].instruction <= linked.func_info[i].instruction);
  for (std::size_t i = 1; i < linked.line_info.size(); ++i)
    FUZZ_CHECK(linked.line_info[i - 1].instruction <= linked.line_info[i].instruction);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  std::optional<ebpf::object_spec> spec;
  try {
    spec = ebpf::object_spec::parse(bytes, "fuzz.o");
  } catch (const ebpf::error& e) {
    check_error(e, "object 'fuzz.o'");
    return 0;
  }
  check_spec(*spec);
  for (const auto& program : spec->programs) {
    try {
      auto used = ebpf::maps_used_by(*spec, program);
      for (const auto& name : used) FUZZ_CHECK(spec->find_map(name) != nullptr);
      auto linked = ebpf::link_program(*spec, program, [&](const std::string& map) {
        FUZZ_CHECK(used.count(map) == 1);  // link never asks for a map maps_used_by missed
        return fake_map_fd;
      });
      check_linked(linked);
    } catch (const ebpf::error& e) {
      check_error(e, "object 'fuzz': program '" + program.name + "'");
    }
  }
  return 0;
}
