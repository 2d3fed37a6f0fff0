// ebpf::object end to end: loader.bpf.o's maps created, globals set before load and read/written
// through mmap after, subprograms, bpf_loop callbacks, map-in-map and prog-array `values`, all
// checked by running the programs with BPF_PROG_TEST_RUN.
#include <ebpf/object.hpp>

#include "fixture.hpp"
#include "../bpf/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace {

using ::testing::HasSubstr;

std::string bpf_object(const char* name) { return std::string(EBPFPP_TEST_BPF_DIR) + "/" + name; }

class ObjectTest : public ebpf_test::kernel_test {};

std::uint64_t result(ebpf::object& object, std::uint32_t index) {
  auto results = object.map<ebpf::array_map<std::uint64_t>>("results");
  return results.lookup(index);
}

loader_args run_all(ebpf::object& object, std::uint64_t input, std::uint32_t loops) {
  loader_args args{};
  args.input = input;
  args.loops = loops;
  ebpf::test_run_options options;
  options.ctx = std::as_bytes(std::span(&args, 1));
  options.ctx_out_size = sizeof(args);
  auto run = object.program("run_all").test_run(options);
  EXPECT_EQ(run.retval, 0u);
  EXPECT_EQ(run.ctx_out.size(), sizeof(args));
  loader_args out{};
  std::memcpy(&out, run.ctx_out.data(), std::min(sizeof out, run.ctx_out.size()));
  return out;
}

TEST_F(ObjectTest, RunsSubprogramsCallbacksAndGlobals) {
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  object.set_global("rodata_factor", std::uint32_t{5});
  object.set_global("data_counter", std::uint64_t{100});
  object.load();

  auto out = run_all(object, 7, 5);
  EXPECT_EQ(out.output, 7u * 5 + 1) << "ctx written back by the program";
  EXPECT_EQ(result(object, RESULT_TRIPLE), 35u) << "static subprogram reading .rodata set before load";
  EXPECT_EQ(result(object, RESULT_GLOBAL_HELPER), 7u + 1000 + 1) << "global subprogram calling a static one reading .data.custom";
  EXPECT_EQ(result(object, RESULT_LOOP_SUM), 0u + 1 + 2 + 3 + 4) << "bpf_loop callback";
  EXPECT_EQ(result(object, RESULT_DATA_COUNTER), 101u);

  // Globals through the mmapped maps, both ways.
  EXPECT_EQ(object.global<std::uint64_t>("data_counter"), 101u);
  EXPECT_EQ(object.global<std::uint64_t>("bss_total"), 7u);
  EXPECT_EQ(object.global<std::uint32_t>("rodata_factor"), 5u);
  object.write_global("data_counter", std::uint64_t{500});
  run_all(object, 1, 0);
  EXPECT_EQ(result(object, RESULT_DATA_COUNTER), 501u);
  EXPECT_EQ(object.global<std::uint64_t>("bss_total"), 8u);

  // Maps the program touched.
  auto counts = object.map<ebpf::hash_map<std::uint32_t, std::uint64_t>>("counts");
  EXPECT_EQ(counts.lookup(7).value_or(0), 1u);
  EXPECT_EQ(counts.lookup(1).value_or(0), 1u);
  auto per_cpu = object.map<ebpf::per_cpu_array<std::uint64_t>>("per_cpu");
  EXPECT_EQ(per_cpu.sum(0), 2u);
  auto inner_b = object.map<ebpf::array_map<std::uint64_t>>("inner_b");
  EXPECT_EQ(inner_b.lookup(0), 77u) << "outer's slot 2 was initialised with inner_b";
  auto inner_a = object.map<ebpf::array_map<std::uint64_t>>("inner_a");
  EXPECT_EQ(inner_a.lookup(0), 0u);
}

TEST_F(ObjectTest, RodataIsFrozenAfterLoad) {
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  object.load();
  try {
    object.write_global("rodata_factor", std::uint32_t{9});
    FAIL() << "wrote to .rodata";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("read-only '.rodata'"));
  }
  std::uint32_t zero = 0;
  std::vector<std::byte> value(object.map(".rodata").value_size());
  try {
    object.map(".rodata").update(std::as_bytes(std::span(&zero, 1)), value);
    FAIL() << "updated a frozen map";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), std::error_code(EPERM, std::system_category()));
  }
  EXPECT_THROW(object.set_global("rodata_factor", std::uint32_t{1}), ebpf::error) << "set_global after load";
}

TEST_F(ObjectTest, TailCallThroughProgArrayValues) {
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  object.load();
  std::vector<std::byte> packet(64);
  ebpf::test_run_options options;
  options.data = packet;
  EXPECT_EQ(object.program("tail_caller").test_run(options).retval, 9u) << "jump_table slot 1 = tail_target";
}

TEST_F(ObjectTest, XdpProgramCountsPacketSizes) {
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  object.load();
  std::vector<std::byte> packet(60);
  ebpf::test_run_options options;
  options.data = packet;
  options.repeat = 3;
  EXPECT_EQ(object.program("xdp_count_and_pass").test_run(options).retval, 2u) << "XDP_PASS";
  auto counts = object.map<ebpf::hash_map<std::uint32_t, std::uint64_t>>("counts");
  EXPECT_EQ(counts.lookup(60).value_or(0), 3u);
  EXPECT_THROW(object.program("xdp_optional"), ebpf::error) << "SEC(\"?xdp\") is not autoloaded";
}

TEST_F(ObjectTest, OnlyLoadsTheNamedProgramsAndTheirMaps) {
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  ebpf::load_options options;
  options.only = {"xdp_count_and_pass"};
  object.load(options);
  EXPECT_EQ(object.program_names(), std::vector<std::string>{"xdp_count_and_pass"});
  EXPECT_EQ(object.map_names(), std::vector<std::string>{"counts"});
  try {
    object.map("results");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_THAT(e.what(), HasSubstr("not created"));
  }
}

TEST_F(ObjectTest, ProgramInfoHasIdTagAndName) {
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  object.load();
  auto info = object.program("xdp_count_and_pass").info();
  EXPECT_GT(info.id, 0u);
  EXPECT_EQ(info.tag_string().size(), 16u);
  EXPECT_EQ(info.name, "xdp_count_and_p");
  EXPECT_GT(info.xlated_length, 0u);
  EXPECT_GT(info.btf_id, 0u) << "the object's BTF was loaded";
}

TEST_F(ObjectTest, RejectedProgramGivesVerifierErrorWithLog) {
  auto object = ebpf::object::open(bpf_object("rejected.bpf.o"));
  try {
    object.load();
    FAIL() << "the verifier accepted an unchecked map value";
  } catch (const ebpf::verifier_error& e) {
    EXPECT_THAT(e.log(), HasSubstr("invalid mem access 'map_value_or_null'"));
    EXPECT_THAT(e.what(), HasSubstr("object 'rejected': program 'unchecked_lookup': verifier rejected it"));
  }
}

TEST_F(ObjectTest, KeepGoingReportsEachProgram) {
  auto object = ebpf::object::open(bpf_object("rejected.bpf.o"));
  ebpf::load_options options;
  options.keep_going = true;
  object.load(options);
  const auto& report = object.load_report();
  ASSERT_EQ(report.size(), 2u);
  for (const auto& status : report) {
    if (status.name == "fine") {
      EXPECT_TRUE(status.loaded);
    } else {
      EXPECT_FALSE(status.loaded);
      EXPECT_THAT(status.error, HasSubstr("verifier rejected it"));
      EXPECT_THAT(status.verifier_log, HasSubstr("map_value_or_null"));
    }
  }
  EXPECT_NO_THROW(object.program("fine"));
}

TEST_F(ObjectTest, LegacyMapsWork) {
  auto object = ebpf::object::open(bpf_object("legacy_maps.bpf.o"));
  object.load();
  std::vector<std::byte> packet(64);
  ebpf::test_run_options options;
  options.data = packet;
  object.program("legacy_filter").test_run(options);
  auto legacy_hash = object.map<ebpf::hash_map<std::uint32_t, std::uint64_t>>("legacy_hash");
  EXPECT_EQ(legacy_hash.lookup(1).value_or(0), 5u);
  auto legacy_array = object.map<ebpf::array_map<std::uint32_t>>("legacy_array");
  EXPECT_EQ(legacy_array.lookup(1), 6u);
}

TEST_F(ObjectTest, ObjectBuiltWithLibbpfHeadersLoads) {
  auto object = ebpf::object::open(bpf_object("libbpf_headers.bpf.o"));
  object.load();
  EXPECT_FALSE(object.program_names().empty());
}

TEST_F(ObjectTest, MapKeyTypeMismatchNamesBtfType) {
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  object.load();
  try {
    object.map<ebpf::hash_map<std::uint64_t, std::uint64_t>>("counts");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
    EXPECT_THAT(e.what(), HasSubstr("__u32"));
  }
}

TEST_F(ObjectTest, MissingFileAndMissingNames) {
  EXPECT_THROW(ebpf::object::open(bpf_object("does-not-exist.bpf.o")), ebpf::error);
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  EXPECT_THROW(object.set_global("nope", 1), ebpf::error);
  EXPECT_THROW(object.set_global("data_counter", std::uint32_t{1}), ebpf::error) << "size mismatch";
  object.load();
  EXPECT_THROW(object.map("nope"), ebpf::error);
  EXPECT_THROW(object.program("nope"), ebpf::error);
}

}  // namespace

namespace {

TEST_F(ObjectTest, MapsPinnedByNameAreSharedBetweenObjects) {
  ebpf::load_options options;
  options.pin_root = bpffs();
  auto first = ebpf::object::open(bpf_object("pinned.bpf.o"));
  first.load(options);
  auto second = ebpf::object::open(bpf_object("pinned.bpf.o"));
  second.load(options);
  EXPECT_EQ(first.map("shared_counts").id(), second.map("shared_counts").id());

  std::vector<std::byte> packet(64);
  ebpf::test_run_options run;
  run.data = packet;
  first.program("bump_shared").test_run(run);
  second.program("bump_shared").test_run(run);
  auto counts = second.map<ebpf::hash_map<std::uint32_t, std::uint64_t>>("shared_counts");
  EXPECT_EQ(counts.lookup(1).value_or(0), 2u);
}

TEST_F(ObjectTest, IncompatiblePinnedMapIsRefusedWithTheDifference) {
  ebpf::load_options options;
  options.pin_root = bpffs();
  ebpf::map_create_spec other;
  other.name = "shared_counts";
  other.type = ebpf::map_type::hash;
  other.key_size = 4;
  other.value_size = 4;  // the object says 8
  other.max_entries = 16;
  ebpf::map::create(other).pin(options.pin_root + "/shared_counts");
  auto object = ebpf::object::open(bpf_object("pinned.bpf.o"));
  try {
    object.load(options);
    FAIL() << "reused an incompatible pinned map";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
    EXPECT_THAT(e.what(), HasSubstr("value 4"));
    EXPECT_THAT(e.what(), HasSubstr("value 8"));
  }
}

}  // namespace

