// struct_ops without a kernel: the parser's struct_ops maps (from the compiled struct_ops.bpf.o)
// and lay_out_struct_ops on hand-made local and "kernel" BTF whose layouts differ.
#include <ebpf/error.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/struct_ops.hpp>

#include "btf_builder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ebpf::test::btf_builder;

std::vector<std::byte> read_object(const std::string& name) {
  std::ifstream in(std::string(EBPFPP_TEST_BPF_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::transform(chars.begin(), chars.end(), bytes.begin(), [](char c) { return std::byte(static_cast<unsigned char>(c)); });
  return bytes;
}

TEST(StructOpsSpec, EachVariableBecomesAStructOpsMapWithItsPrograms) {
  auto spec = ebpf::object_spec::parse(read_object("struct_ops.bpf.o"), "struct_ops.bpf.o");
  const auto* link_map = spec.find_map("test_cc");
  ASSERT_NE(link_map, nullptr);
  ASSERT_TRUE(link_map->struct_ops);
  EXPECT_EQ(link_map->type, ebpf::map_type::struct_ops);
  EXPECT_EQ(link_map->section, ".struct_ops.link");
  EXPECT_EQ(link_map->flags, 1u << 13);  // BPF_F_LINK
  EXPECT_EQ(link_map->key_size, 4u);
  EXPECT_EQ(link_map->max_entries, 1u);
  const auto& ops = *link_map->struct_ops;
  EXPECT_TRUE(ops.link);
  EXPECT_EQ(ops.type_name, "tcp_congestion_ops");
  // Local member order: init, ssthresh, cong_avoid, undo_cwnd, flags, name.
  EXPECT_THAT(ops.programs, ElementsAre(Pair(0u, "cc_init"), Pair(1u, "cc_ssthresh"), Pair(2u, "cc_cong_avoid"), Pair(3u, "cc_undo_cwnd")));
  ASSERT_EQ(ops.data.size(), 56u);
  // The function pointers' bytes are zeroed (the loader puts fds there); the name is data.
  EXPECT_TRUE(std::all_of(ops.data.begin(), ops.data.begin() + 32, [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ops.data.data() + 36)), "ebpfpp_test_cc");

  EXPECT_THAT(spec.find_map("test_cc_v2")->struct_ops->programs[0], Pair(0u, "cc_init_v2"));
  const auto* legacy = spec.find_map("test_cc_legacy");
  ASSERT_TRUE(legacy && legacy->struct_ops);
  EXPECT_FALSE(legacy->struct_ops->link);
  EXPECT_EQ(legacy->flags, 0u);
  EXPECT_EQ(legacy->section, ".struct_ops");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(legacy->struct_ops->data.data() + 36)), "ebpfpp_test_old");
  EXPECT_EQ(spec.find_program("cc_unused")->kind.type, ebpf::program_type::struct_ops);
}

TEST(StructOpsSpec, AMemberMustPointToAStructOpsProgram) {
  try {
    ebpf::object_spec::parse(read_object("struct_ops_bad.bpf.o"), "struct_ops_bad.bpf.o");
    FAIL() << "accepted an XDP program as a struct_ops member";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_object);
    EXPECT_THAT(e.what(), HasSubstr("object 'struct_ops_bad.bpf.o': struct_ops 'bad_cc': member 0 points to 'not_a_member', which is not a "
                                    "SEC(\"struct_ops/...\") program"));
  }
}

// Local (object) and kernel BTF for a struct "demo_ops" whose members sit at different offsets.
struct demo_btf {
  ebpf::btf local;
  ebpf::btf kernel;
  std::uint32_t local_struct = 0;
  std::uint32_t kernel_struct = 0;
  std::uint32_t kernel_wrapper = 0;
};

// Local: struct demo_ops { void (*run)(int); u32 flags; char name[8]; u64 extra; }  (32 bytes)
// Kernel: struct demo_ops { u64 (*other)(int); char name[8]; u32 flags; u32 pad;
//                           void (*run)(int); u64 extra; }                        (40 bytes)
//         struct bpf_struct_ops_demo_ops { struct common { u32 refcnt; u32 state; } common;
//                                          struct demo_ops data; }                (48 bytes)
demo_btf make_demo_btf(bool kernel_has_extra = true, bool kernel_has_wrapper = true, std::uint32_t kernel_flags_size = 4) {
  demo_btf out;
  {
    btf_builder b;
    auto u32 = b.add_int("u32", 4);
    auto u64 = b.add_int("u64", 8);
    auto character = b.add_int("char", 1, ebpf::btf_int_char);
    auto name = b.add_array(character, u32, 8);
    auto proto = b.add_function_proto(0, {{"", u32}});
    auto pointer = b.add_pointer(proto);
    out.local_struct = b.add_struct("demo_ops", 32, {{"run", pointer, 0}, {"flags", u32, 64}, {"name", name, 96}, {"extra", u64, 192}});
    out.local = ebpf::btf::parse(b.build());
  }
  {
    btf_builder b;
    auto u32 = b.add_int("u32", 4);
    auto u64 = b.add_int("u64", 8);
    auto u16 = b.add_int("u16", 2);
    auto character = b.add_int("char", 1, ebpf::btf_int_char);
    auto name = b.add_array(character, u32, 8);
    auto proto = b.add_function_proto(0, {{"", u32}});
    auto pointer = b.add_pointer(proto);
    std::vector<btf_builder::member> members = {{"other", pointer, 0}, {"name", name, 64},
                                                {"flags", kernel_flags_size == 4 ? u32 : u16, 128}, {"pad", u32, 160},
                                                {"run", pointer, 192}};
    if (kernel_has_extra) members.push_back({"extra", u64, 256});
    out.kernel_struct = b.add_struct("demo_ops", 40, members);
    auto common = b.add_struct("bpf_struct_ops_common_value", 8, {{"refcnt", u32, 0}, {"state", u32, 32}});
    if (kernel_has_wrapper)
      out.kernel_wrapper = b.add_struct("bpf_struct_ops_demo_ops", 48, {{"common", common, 0}, {"data", out.kernel_struct, 64}});
    out.kernel = ebpf::btf::parse(b.build());
  }
  return out;
}

ebpf::struct_ops_spec demo_spec(const demo_btf& types, std::uint32_t flags = 0x1234, std::uint64_t extra = 0x1122334455667788ull) {
  ebpf::struct_ops_spec spec;
  spec.type_name = "demo_ops";
  spec.type_id = types.local_struct;
  spec.data.resize(32);
  std::memcpy(spec.data.data() + 8, &flags, 4);
  std::memcpy(spec.data.data() + 12, "demo", 5);
  std::memcpy(spec.data.data() + 24, &extra, 8);
  spec.programs = {{0u, "run_prog"}};
  spec.link = true;
  return spec;
}

template <typename T>
T read_at(const std::vector<std::byte>& bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

TEST(StructOpsLayout, MembersGoToTheKernelOffsetsByName) {
  auto types = make_demo_btf();
  auto layout = ebpf::lay_out_struct_ops(types.local, demo_spec(types), types.kernel, "struct_ops 'demo'");
  EXPECT_EQ(layout.kernel_type_id, types.kernel_struct);
  EXPECT_EQ(layout.kernel_value_type_id, types.kernel_wrapper);
  EXPECT_EQ(layout.data_offset, 8u);
  ASSERT_EQ(layout.value.size(), 48u);
  EXPECT_EQ(read_at<std::uint32_t>(layout.value, 8 + 16), 0x1234u);                // flags
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(layout.value.data() + 8 + 8)), "demo");  // name
  EXPECT_EQ(read_at<std::uint64_t>(layout.value, 8 + 32), 0x1122334455667788ull);  // extra
  EXPECT_EQ(read_at<std::uint64_t>(layout.value, 0), 0u);        // common: zero for the kernel
  EXPECT_EQ(read_at<std::uint64_t>(layout.value, 8 + 24), 0u);   // run: the fd goes in later
  ASSERT_EQ(layout.programs.size(), 1u);
  EXPECT_EQ(layout.programs[0].program, "run_prog");
  EXPECT_EQ(layout.programs[0].member, "run");
  EXPECT_EQ(layout.programs[0].member_index, 4u);  // the kernel's index: expected_attach_type
  EXPECT_EQ(layout.programs[0].value_offset, 8u + 24u);
}

TEST(StructOpsLayout, UnsetMembersTheKernelLacksAreAccepted) {
  auto types = make_demo_btf(/*kernel_has_extra=*/false);
  auto layout = ebpf::lay_out_struct_ops(types.local, demo_spec(types, 7, 0), types.kernel, "s");
  EXPECT_EQ(read_at<std::uint32_t>(layout.value, 8 + 16), 7u);
  try {
    ebpf::lay_out_struct_ops(types.local, demo_spec(types, 7, 42), types.kernel, "struct_ops 'demo'");
    FAIL() << "a set member the kernel lacks was dropped";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_THAT(e.what(), HasSubstr("struct_ops 'demo': member 'extra': struct demo_ops of this kernel has no such member"));
  }
}

TEST(StructOpsLayout, ErrorsNameTheStructMemberOrProgram) {
  auto types = make_demo_btf();
  auto spec = demo_spec(types);
  spec.type_name = "no_such_ops";
  try {
    ebpf::lay_out_struct_ops(types.local, spec, types.kernel, "object 'o': struct_ops 'x'");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_THAT(e.what(), HasSubstr("object 'o': struct_ops 'x': struct no_such_ops is not in the kernel's BTF"));
  }

  auto no_wrapper = make_demo_btf(true, /*kernel_has_wrapper=*/false);
  try {
    ebpf::lay_out_struct_ops(no_wrapper.local, demo_spec(no_wrapper), no_wrapper.kernel, "s");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_THAT(e.what(), HasSubstr("no struct bpf_struct_ops_demo_ops"));
  }

  auto narrow = make_demo_btf(true, true, /*kernel_flags_size=*/2);
  try {
    ebpf::lay_out_struct_ops(narrow.local, demo_spec(narrow), narrow.kernel, "s");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::type_mismatch);
    EXPECT_THAT(e.what(), HasSubstr("member 'flags': is 4 bytes in the object, 2 bytes in the kernel's struct demo_ops"));
  }

  // A program on a member the kernel does not have.
  auto missing = make_demo_btf(/*kernel_has_extra=*/false);
  auto bad = demo_spec(missing, 1, 0);
  bad.programs = {{3u, "extra_prog"}};
  try {
    ebpf::lay_out_struct_ops(missing.local, bad, missing.kernel, "s");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_THAT(e.what(), HasSubstr("member 'extra'"));
    EXPECT_THAT(e.what(), HasSubstr("program 'extra_prog'"));
  }
}

}  // namespace
