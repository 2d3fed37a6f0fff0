// object_spec::parse and link_program on objects compiled from tests/bpf at build time.
#include <ebpf/error.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/relocation.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <cstring>

namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::vector<std::byte> read_object(const std::string& name) {
  std::ifstream in(std::string(EBPFPP_TEST_BPF_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::transform(chars.begin(), chars.end(), bytes.begin(), [](char c) { return std::byte(static_cast<unsigned char>(c)); });
  return bytes;
}

const ebpf::object_spec& loader() {
  static const ebpf::object_spec spec = ebpf::object_spec::parse(read_object("loader.bpf.o"), "loader.bpf.o");
  return spec;
}

TEST(ObjectSpecTest, ReadsLicenseNameAndPrograms) {
  const auto& spec = loader();
  EXPECT_EQ(spec.name, "loader");
  EXPECT_EQ(spec.license, "GPL");
  ASSERT_NE(spec.find_program("run_all"), nullptr);
  EXPECT_EQ(spec.find_program("run_all")->kind.type, ebpf::program_type::syscall);
  EXPECT_EQ(spec.find_program("xdp_count_and_pass")->kind.type, ebpf::program_type::xdp);
  EXPECT_EQ(spec.find_program("tail_caller")->kind.type, ebpf::program_type::socket_filter);
  EXPECT_TRUE(spec.find_program("run_all")->autoload);
  EXPECT_FALSE(spec.find_program("xdp_optional")->autoload) << "SEC(\"?xdp\") is not autoloaded";
  // Subprograms are functions, not programs.
  EXPECT_EQ(spec.find_program("triple"), nullptr);
  EXPECT_EQ(spec.find_program("global_helper"), nullptr);
  EXPECT_EQ(spec.programs.size(), 5u);
}

TEST(ObjectSpecTest, ReadsBtfDefinedMaps) {
  const auto& spec = loader();
  const auto* counts = spec.find_map("counts");
  ASSERT_NE(counts, nullptr);
  EXPECT_EQ(counts->type, ebpf::map_type::hash);
  EXPECT_EQ(counts->key_size, 4u);
  EXPECT_EQ(counts->value_size, 8u);
  EXPECT_EQ(counts->max_entries, 64u);
  EXPECT_EQ(counts->key_type_name, "__u32");
  EXPECT_NE(counts->btf_key_type_id, 0u);
  const auto* per_cpu = spec.find_map("per_cpu");
  ASSERT_NE(per_cpu, nullptr);
  EXPECT_EQ(per_cpu->type, ebpf::map_type::percpu_array);
  EXPECT_EQ(per_cpu->key_size, 4u) << "__uint(key_size, ...) form";
  EXPECT_EQ(per_cpu->btf_key_type_id, 0u);
}

TEST(ObjectSpecTest, ReadsMapInMapAndProgArrayValues) {
  const auto& spec = loader();
  const auto* outer = spec.find_map("outer");
  ASSERT_NE(outer, nullptr);
  EXPECT_EQ(outer->type, ebpf::map_type::array_of_maps);
  ASSERT_TRUE(outer->inner);
  EXPECT_EQ(outer->inner->type, ebpf::map_type::array);
  EXPECT_EQ(outer->inner->value_size, 8u);
  EXPECT_THAT(outer->initial_slots, UnorderedElementsAre(Pair(0u, "inner_a"), Pair(2u, "inner_b")));
  const auto* jump_table = spec.find_map("jump_table");
  ASSERT_NE(jump_table, nullptr);
  EXPECT_EQ(jump_table->type, ebpf::map_type::prog_array);
  EXPECT_THAT(jump_table->initial_slots, ElementsAre(Pair(1u, "tail_target")));
}

TEST(ObjectSpecTest, ReadsGlobalData) {
  const auto& spec = loader();
  const auto* data = spec.find_map(".data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->origin, ebpf::map_origin::data);
  EXPECT_EQ(data->type, ebpf::map_type::array);
  const auto* rodata = spec.find_map(".rodata");
  ASSERT_NE(rodata, nullptr);
  EXPECT_EQ(rodata->origin, ebpf::map_origin::rodata);
  EXPECT_TRUE(rodata->flags & (1u << 7)) << "BPF_F_RDONLY_PROG";
  const auto* bss = spec.find_map(".bss");
  ASSERT_NE(bss, nullptr);
  EXPECT_TRUE(bss->initial_data.empty());
  ASSERT_NE(spec.find_map(".data.custom"), nullptr);

  const auto* counter = spec.find_global("data_counter");
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter->map, ".data");
  EXPECT_EQ(counter->size, 8u);
  std::uint64_t initial = 0;
  std::memcpy(&initial, data->initial_data.data() + counter->offset, 8);
  EXPECT_EQ(initial, 42u);
  const auto* factor = spec.find_global("rodata_factor");
  ASSERT_NE(factor, nullptr);
  EXPECT_EQ(factor->map, ".rodata");
  const auto* custom = spec.find_global("custom_value");
  ASSERT_NE(custom, nullptr);
  EXPECT_EQ(custom->map, ".data.custom");
  EXPECT_EQ(spec.kernel_map_name(*rodata), "loader.rodata");
  EXPECT_EQ(spec.kernel_map_name(*spec.find_map(".data.custom")), ".data.custom");
}

TEST(ObjectSpecTest, DatasecSizesAreFixedUpForTheKernel) {
  const auto& spec = loader();
  ASSERT_TRUE(spec.types);
  auto id = spec.types->find(".data", ebpf::btf_kind::datasec);
  ASSERT_TRUE(id);
  EXPECT_EQ(spec.types->type(*id).size_or_type, spec.find_map(".data")->value_size);
}

TEST(ObjectSpecTest, LinksSubprogramsCallbacksMapsAndGlobals) {
  const auto& spec = loader();
  const auto& program = *spec.find_program("run_all");
  std::map<std::string, int> fds;
  int next_fd = 100;
  auto linked = ebpf::link_program(spec, program, [&](const std::string& name) {
    auto [it, inserted] = fds.emplace(name, next_fd);
    if (inserted) ++next_fd;
    return it->second;
  });
  std::vector<std::string> functions;
  for (const auto& [name, start] : linked.layout) functions.push_back(name);
  EXPECT_EQ(functions.front(), "run_all");
  for (const char* name : {"triple", "global_helper", "add_custom", "add_index"})
    EXPECT_NE(std::find(functions.begin(), functions.end(), name), functions.end()) << name;

  std::set<std::size_t> starts;
  for (const auto& [name, start] : linked.layout) starts.insert(start);
  std::size_t calls = 0, callbacks = 0, map_fds = 0, map_values = 0;
  for (std::size_t i = 0; i < linked.instructions.size(); ++i) {
    const auto& insn = linked.instructions[i];
    if (insn.code == 0x85 && insn.src() == 1) {
      ++calls;
      EXPECT_TRUE(starts.count(i + insn.imm + 1)) << "call at " << i << " lands inside a function";
    }
    if (insn.code == 0x18) {
      if (insn.src() == 4) {
        ++callbacks;
        EXPECT_TRUE(starts.count(i + insn.imm + 1)) << "callback at " << i;
      }
      if (insn.src() == 1) {
        ++map_fds;
        EXPECT_GE(insn.imm, 100);
      }
      if (insn.src() == 2) {
        ++map_values;
        EXPECT_GE(insn.imm, 100);
      }
      ++i;  // skip the second half
    }
  }
  EXPECT_GE(calls, 3u);
  EXPECT_EQ(callbacks, 1u);
  EXPECT_GE(map_fds, 4u);
  EXPECT_GE(map_values, 3u);
  for (const char* name : {"counts", "results", "per_cpu", "outer", ".data", ".rodata", ".bss", ".data.custom"})
    EXPECT_TRUE(fds.count(name)) << name;

  // One func_info per function, at each function's first instruction, in order.
  ASSERT_EQ(linked.func_info.size(), linked.layout.size());
  for (std::size_t i = 0; i < linked.layout.size(); ++i) EXPECT_EQ(linked.func_info[i].instruction, linked.layout[i].second);
  EXPECT_FALSE(linked.line_info.empty());
  EXPECT_EQ(linked.line_info.front().instruction, 0u);
}

TEST(ObjectSpecTest, MapsUsedByFollowsCallsAndMapInMap) {
  const auto& spec = loader();
  auto used = ebpf::maps_used_by(spec, *spec.find_program("run_all"));
  EXPECT_TRUE(used.count(".data.custom")) << "reached only through global_helper -> add_custom";
  EXPECT_TRUE(used.count("inner_a")) << "reached only through outer's values";
  EXPECT_FALSE(used.count("jump_table"));
  auto xdp = ebpf::maps_used_by(spec, *spec.find_program("xdp_count_and_pass"));
  EXPECT_EQ(xdp, (std::set<std::string>{"counts"}));
}

TEST(ObjectSpecTest, ReadsLegacyMaps) {
  auto spec = ebpf::object_spec::parse(read_object("legacy_maps.bpf.o"), "legacy_maps.bpf.o");
  const auto* hash = spec.find_map("legacy_hash");
  ASSERT_NE(hash, nullptr);
  EXPECT_EQ(hash->origin, ebpf::map_origin::legacy_maps);
  EXPECT_EQ(hash->type, ebpf::map_type::hash);
  EXPECT_EQ(hash->value_size, 8u);
  EXPECT_EQ(hash->max_entries, 16u);
  const auto* array = spec.find_map("legacy_array");
  ASSERT_NE(array, nullptr);
  EXPECT_EQ(array->type, ebpf::map_type::array);
  EXPECT_EQ(array->value_size, 4u);
  auto linked = ebpf::link_program(spec, *spec.find_program("legacy_filter"), [](const std::string& name) {
    return name == "legacy_hash" ? 7 : 8;
  });
  int seen = 0;
  for (const auto& insn : linked.instructions)
    if (insn.code == 0x18 && insn.src() == 1) seen |= insn.imm == 7 ? 1 : insn.imm == 8 ? 2 : 4;
  EXPECT_EQ(seen, 3);
}

TEST(ObjectSpecTest, ReadsUlongAttributesAndEveryMapType) {
  auto spec = ebpf::object_spec::parse(read_object("headers_smoke.bpf.o"), "headers_smoke.bpf.o");
  const auto* arena = spec.find_map("arena_map");
  ASSERT_NE(arena, nullptr);
  EXPECT_EQ(arena->type, ebpf::map_type::arena);
  EXPECT_EQ(arena->map_extra, 1ull << 44) << "__ulong(map_extra, ...) is a one-value enum";
  std::set<ebpf::map_type> types;
  for (const auto& map : spec.maps) types.insert(map.type);
  EXPECT_GE(types.size(), 30u);
}

TEST(ObjectSpecTest, RejectsNonElfInput) {
  std::vector<std::byte> garbage(64, std::byte{0x41});
  try {
    ebpf::object_spec::parse(garbage, "garbage.o");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_object);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("object 'garbage.o': not an ELF file"));
  }
}

TEST(ObjectSpecTest, KernelProgramNamesAreTruncatedAndSanitized) {
  EXPECT_EQ(ebpf::kernel_program_name("a_very_long_program_name"), "a_very_long_pro");
  EXPECT_EQ(ebpf::kernel_program_name("x-y"), "x_y");
}

}  // namespace
