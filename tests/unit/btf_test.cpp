#include <ebpf/btf.hpp>
#include <ebpf/error.hpp>

#include "btf_builder.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <iostream>
#include <iterator>
#include <thread>
#include <unistd.h>

namespace {

using ebpf::btf;
using ebpf::btf_kind;
using ebpf::errc;
using ebpf::test::btf_builder;
using ebpf::test::btf_header_fields;
using testing::HasSubstr;

// Parses `blob`, expecting an invalid_btf error whose message contains `expected`.
void expect_invalid(const std::vector<std::byte>& blob, const std::string& expected) {
  try {
    (void)btf::parse(blob);
    ADD_FAILURE() << "parse succeeded, expected an error containing: " << expected;
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_btf) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(expected));
  }
}

template <typename F>
void expect_error(F&& f, errc code, const std::string& expected) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing: " << expected;
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(expected));
  }
}

// One type of every kind, as a C compiler would describe:
//   typedef int s32; struct point { s32 x; unsigned flags:3; ... }; etc.
struct every_kind {
  btf_builder b;
  std::uint32_t int_id, uint_id, ptr_id, array_id, struct_id, union_id, enum_id, fwd_id, typedef_id,
      volatile_id, const_id, restrict_id, proto_id, func_id, var_id, datasec_id, float_id,
      decl_tag_id, type_tag_id, enum64_id, bitfield_struct_id, signed_enum_id, long_id;

  every_kind() {
    int_id = b.add_int("int", 4, ebpf::btf_int_signed);
    uint_id = b.add_int("unsigned int", 4);
    long_id = b.add_int("long", 8, ebpf::btf_int_signed);
    ptr_id = b.add_pointer(int_id);
    array_id = b.add_array(int_id, uint_id, 16);
    struct_id = b.add_struct("point", 16, {{"x", int_id, 0}, {"y", int_id, 32}, {"next", ptr_id, 64}});
    union_id = b.add_union("either", 8, {{"i", int_id, 0}, {"l", long_id, 0}});
    enum_id = b.add_enum("color", 4, {{"red", 0}, {"big", 0xffffffff}});
    signed_enum_id = b.add_enum("sign", 4, {{"minus", -1}, {"plus", 1}}, true);
    fwd_id = b.add_forward("opaque", true);
    typedef_id = b.add_typedef("s32", int_id);
    volatile_id = b.add_volatile(typedef_id);
    const_id = b.add_const(volatile_id);
    restrict_id = b.add_restrict(ptr_id);
    proto_id = b.add_function_proto(int_id, {{"a", int_id}, {"p", ptr_id}, {"", 0}});
    func_id = b.add_function("handler", proto_id, 1);
    var_id = b.add_variable("counter", const_id, 1);
    datasec_id = b.add_datasec(".data", 0, {{var_id, 0, 4}});
    float_id = b.add_float("double", 8);
    decl_tag_id = b.add_decl_tag("user_arg", func_id, 1);
    type_tag_id = b.add_type_tag("user", int_id);
    enum64_id = b.add_enum64("wide", 8, {{"small", 1}, {"huge", 0x123456789abLL}, {"top", -2}});
    bitfield_struct_id = b.add_struct("bits", 8,
                                      {{"a", uint_id, 0, 3}, {"b", uint_id, 3, 5}, {"c", int_id, 32, 0}},
                                      /*kind_flag=*/true);
  }
};

TEST(BtfTest, ParsesOneTypeOfEveryKind) {
  every_kind k;
  std::vector<std::byte> blob = k.b.build();
  btf types = btf::parse(blob);
  EXPECT_EQ(types.type_count(), k.b.next_id());

  auto t = types.type(k.int_id);
  EXPECT_EQ(t.kind, btf_kind::integer);
  EXPECT_EQ(t.name, "int");
  EXPECT_EQ(t.size_or_type, 4u);
  EXPECT_EQ(types.integer(k.int_id).encoding, ebpf::btf_int_signed);
  EXPECT_EQ(types.integer(k.int_id).bits, 32);
  EXPECT_EQ(types.integer(k.int_id).bit_offset, 0);

  EXPECT_EQ(types.type(k.ptr_id).kind, btf_kind::pointer);
  EXPECT_EQ(types.type(k.ptr_id).size_or_type, k.int_id);
  EXPECT_EQ(types.type(k.ptr_id).name, "");

  auto a = types.array(k.array_id);
  EXPECT_EQ(a.element_type, k.int_id);
  EXPECT_EQ(a.index_type, k.uint_id);
  EXPECT_EQ(a.count, 16u);

  auto members = types.members(k.struct_id);
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[1].name, "y");
  EXPECT_EQ(members[1].type, k.int_id);
  EXPECT_EQ(members[1].bit_offset, 32u);
  EXPECT_EQ(members[1].bitfield_size, 0u);
  EXPECT_EQ(types.type(k.struct_id).vlen, 3u);

  auto union_members = types.members(k.union_id);
  ASSERT_EQ(union_members.size(), 2u);
  EXPECT_EQ(union_members[1].name, "l");
  EXPECT_EQ(types.type(k.union_id).kind, btf_kind::union_);

  auto unsigned_values = types.enumerators(k.enum_id);
  ASSERT_EQ(unsigned_values.size(), 2u);
  EXPECT_EQ(unsigned_values[1].name, "big");
  EXPECT_EQ(unsigned_values[1].value, 0xffffffffLL);  // kind_flag 0: zero-extended
  auto signed_values = types.enumerators(k.signed_enum_id);
  EXPECT_EQ(signed_values[0].value, -1);  // kind_flag 1: sign-extended
  EXPECT_TRUE(types.type(k.signed_enum_id).kind_flag);

  EXPECT_EQ(types.type(k.fwd_id).kind, btf_kind::forward);
  EXPECT_TRUE(types.type(k.fwd_id).kind_flag);  // a union forward

  EXPECT_EQ(types.type(k.typedef_id).name, "s32");
  EXPECT_EQ(types.type(k.volatile_id).kind, btf_kind::volatile_);
  EXPECT_EQ(types.type(k.const_id).kind, btf_kind::const_);
  EXPECT_EQ(types.type(k.restrict_id).kind, btf_kind::restrict_);

  auto params = types.parameters(k.proto_id);
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].name, "a");
  EXPECT_EQ(params[1].type, k.ptr_id);
  EXPECT_EQ(params[2].name, "");  // "..."
  EXPECT_EQ(params[2].type, 0u);
  EXPECT_EQ(types.type(k.proto_id).size_or_type, k.int_id);

  EXPECT_EQ(types.type(k.func_id).name, "handler");
  EXPECT_EQ(types.type(k.func_id).size_or_type, k.proto_id);
  EXPECT_EQ(types.func_linkage(k.func_id), 1u);

  EXPECT_EQ(types.var_linkage(k.var_id), 1u);
  auto vars = types.datasec_vars(k.datasec_id);
  ASSERT_EQ(vars.size(), 1u);
  EXPECT_EQ(vars[0].type, k.var_id);
  EXPECT_EQ(vars[0].size, 4u);

  EXPECT_EQ(types.type(k.float_id).kind, btf_kind::floating);
  EXPECT_EQ(types.decl_tag_component(k.decl_tag_id), 1);
  EXPECT_EQ(types.type(k.decl_tag_id).name, "user_arg");
  EXPECT_EQ(types.type(k.type_tag_id).kind, btf_kind::type_tag);

  auto wide = types.enumerators(k.enum64_id);
  ASSERT_EQ(wide.size(), 3u);
  EXPECT_EQ(wide[1].value, 0x123456789abLL);
  EXPECT_EQ(wide[2].value, -2);

  auto bits = types.members(k.bitfield_struct_id);
  ASSERT_EQ(bits.size(), 3u);
  EXPECT_EQ(bits[0].bitfield_size, 3u);
  EXPECT_EQ(bits[1].bit_offset, 3u);
  EXPECT_EQ(bits[1].bitfield_size, 5u);
  EXPECT_EQ(bits[2].bit_offset, 32u);
  EXPECT_EQ(bits[2].bitfield_size, 0u);
}

TEST(BtfTest, KindNames) {
  EXPECT_EQ(ebpf::to_string(btf_kind::struct_), "struct");
  EXPECT_EQ(ebpf::to_string(btf_kind::function_proto), "func_proto");
  EXPECT_EQ(ebpf::to_string(btf_kind::enum64), "enum64");
  EXPECT_EQ(ebpf::to_string(btf_kind::unknown), "void");
  EXPECT_EQ(ebpf::to_string(static_cast<btf_kind>(25)), "unknown kind");
}

TEST(BtfTest, VoidAndOutOfRangeIds) {
  every_kind k;
  btf types = btf::parse(k.b.build());
  auto v = types.type(0);
  EXPECT_EQ(v.kind, btf_kind::unknown);
  EXPECT_EQ(v.id, 0u);
  expect_error([&] { (void)types.type(types.type_count()); }, errc::not_found, "no such type");
  expect_error([&] { (void)types.members(999); }, errc::not_found, "type 999");
}

TEST(BtfTest, OnlyVoidIsFine) {
  btf_builder b;
  btf types = btf::parse(b.build());
  EXPECT_EQ(types.type_count(), 1u);
  EXPECT_FALSE(types.find("int"));
}

TEST(BtfTest, AccessorOfTheWrongKindIsInvalidArgument) {
  every_kind k;
  btf types = btf::parse(k.b.build());
  expect_error([&] { (void)types.members(k.int_id); }, errc::invalid_argument,
               "BTF: type 1 (int 'int'): members: not a struct or union");
  expect_error([&] { (void)types.enumerators(k.struct_id); }, errc::invalid_argument, "not a enum or enum64");
  expect_error([&] { (void)types.parameters(k.func_id); }, errc::invalid_argument, "not a func_proto");
  expect_error([&] { (void)types.datasec_vars(k.var_id); }, errc::invalid_argument, "not a datasec");
  expect_error([&] { (void)types.array(k.ptr_id); }, errc::invalid_argument, "not a array");
  expect_error([&] { (void)types.integer(k.float_id); }, errc::invalid_argument, "not a int");
  expect_error([&] { (void)types.var_linkage(k.func_id); }, errc::invalid_argument, "not a var");
  expect_error([&] { (void)types.func_linkage(k.var_id); }, errc::invalid_argument, "not a func");
  expect_error([&] { (void)types.decl_tag_component(k.type_tag_id); }, errc::invalid_argument,
               "not a decl_tag");
  expect_error([&] { types.set_datasec_size(k.struct_id, 8); }, errc::invalid_argument, "not a datasec");
}

TEST(BtfTest, FindByNameAndKind) {
  btf_builder b;
  auto fwd = b.add_forward("task");
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto task = b.add_struct("task", 4, {{"pid", i, 0}});
  auto td = b.add_typedef("task", task);
  auto other = b.add_struct("other", 0, {});
  btf types = btf::parse(b.build());
  EXPECT_EQ(types.find("task"), fwd);  // lowest id of any kind
  EXPECT_EQ(types.find("task", btf_kind::struct_), task);
  EXPECT_EQ(types.find("task", btf_kind::typedef_), td);
  EXPECT_EQ(types.find("task", btf_kind::forward), fwd);
  EXPECT_EQ(types.find("task", btf_kind::union_), std::nullopt);
  EXPECT_EQ(types.find("other", btf_kind::struct_), other);
  EXPECT_EQ(types.find("missing"), std::nullopt);
  EXPECT_EQ(types.find(""), std::nullopt);
  EXPECT_EQ(types.find("pid"), std::nullopt);  // member names are not type names
}

TEST(BtfTest, NamedIdsByKindFollowParseCopiesAndEdits) {
  // Enough types for the kind bytes and the name index (small BTF reads its records instead).
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  std::vector<std::uint32_t> structs;
  for (int n = 0; n < 200; ++n) {
    structs.push_back(b.add_struct("s" + std::to_string(n), 4, {{"v", i, 0}}));
    b.add_struct("", 4, {{"anon", i, 0}});  // anonymous: never listed
  }
  auto fwd = b.add_forward("s0");
  btf types = btf::parse(b.build());
  std::array<std::vector<std::uint32_t>, 32> lists;
  const auto bit = [](btf_kind k) { return 1u << static_cast<std::uint32_t>(k); };
  types.named_ids_by_kind(bit(btf_kind::struct_) | bit(btf_kind::forward), lists);
  EXPECT_EQ(lists[static_cast<std::size_t>(btf_kind::struct_)], structs);
  EXPECT_EQ(lists[static_cast<std::size_t>(btf_kind::forward)], std::vector<std::uint32_t>{fwd});
  EXPECT_TRUE(lists[static_cast<std::size_t>(btf_kind::integer)].empty());  // not asked for
  // A copy lists the same; an edit that renames a type is seen by the lists and by find().
  const btf copy = types;
  std::array<std::vector<std::uint32_t>, 32> copied;
  copy.named_ids_by_kind(bit(btf_kind::struct_), copied);
  EXPECT_EQ(copied[static_cast<std::size_t>(btf_kind::struct_)], structs);
  EXPECT_EQ(types.find("s7", btf_kind::struct_), structs[7]);
  const std::uint32_t empty_name = 0;
  std::memcpy(types.record(structs[7]).data(), &empty_name, 4);
  std::array<std::vector<std::uint32_t>, 32> after;
  types.named_ids_by_kind(bit(btf_kind::struct_), after);
  EXPECT_EQ(after[static_cast<std::size_t>(btf_kind::struct_)].size(), structs.size() - 1);
  EXPECT_EQ(types.find("s7", btf_kind::struct_), std::nullopt);
  EXPECT_EQ(copy.find("s7", btf_kind::struct_), structs[7]);
  // The visitor sees what the lists hold, with each id's kind.
  std::vector<std::uint32_t> visited;
  copy.for_each_named_id(bit(btf_kind::struct_) | bit(btf_kind::forward), [&](std::uint32_t id, btf_kind kind) {
    EXPECT_EQ(kind, copy.kind(id));
    visited.push_back(id);
  });
  std::vector<std::uint32_t> expected = structs;
  expected.push_back(fwd);
  EXPECT_EQ(visited, expected);
  // Small BTF: the same answer from its records.
  btf_builder small_builder;
  auto small_int = small_builder.add_int("int", 4, ebpf::btf_int_signed);
  auto small_struct = small_builder.add_struct("one", 4, {{"v", small_int, 0}});
  std::array<std::vector<std::uint32_t>, 32> small_lists;
  btf::parse(small_builder.build()).named_ids_by_kind(bit(btf_kind::struct_), small_lists);
  EXPECT_EQ(small_lists[static_cast<std::size_t>(btf_kind::struct_)], std::vector<std::uint32_t>{small_struct});
  std::vector<std::uint32_t> small_visited;
  btf::parse(small_builder.build()).for_each_named_id(bit(btf_kind::struct_), [&](std::uint32_t id, btf_kind kind) {
    EXPECT_EQ(kind, btf_kind::struct_);
    small_visited.push_back(id);
  });
  EXPECT_EQ(small_visited, std::vector<std::uint32_t>{small_struct});
}

TEST(BtfTest, FindAnswersTheSameByScanAndByHash) {
  // The first lookups of a kind scan the kind bytes; later ones use the hash. Same answers,
  // the lowest id of duplicates included.
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  std::vector<std::uint32_t> first;
  for (int n = 0; n < 300; ++n) first.push_back(b.add_typedef("t" + std::to_string(n % 100), i));
  const std::vector<std::string> names{"t0", "t99", "t57", "missing", "t1", "t0", "t42", "int", "t99"};
  const btf scanned = btf::parse(b.build());
  std::vector<std::optional<std::uint32_t>> answers;
  for (const auto& name : names) answers.push_back(scanned.find(name, btf_kind::typedef_));
  EXPECT_EQ(answers[0], first[0]);
  EXPECT_EQ(answers[1], first[99]);
  EXPECT_EQ(answers[3], std::nullopt);
  EXPECT_EQ(answers[7], std::nullopt);  // an int, not a typedef
  for (std::size_t n = 0; n < names.size(); ++n)  // the hash by now
    EXPECT_EQ(scanned.find(names[n], btf_kind::typedef_), answers[n]) << names[n];
}

TEST(BtfTest, ConcurrentFindOnAConstBtfAgrees) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  std::vector<std::uint32_t> ids;
  for (int n = 0; n < 2000; ++n) ids.push_back(b.add_typedef("t" + std::to_string(n), i));
  const btf types = btf::parse(b.build());
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < 2000; ++n) {
        auto found = types.find("t" + std::to_string(n), btf_kind::typedef_);
        if (!found || *found != ids[static_cast<std::size_t>(n)]) ++wrong[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

TEST(BtfTest, MoveKeepsViewsAndIndexCopyIsIndependent) {
  every_kind k;
  btf original = btf::parse(k.b.build());
  EXPECT_EQ(original.find("point"), k.struct_id);  // builds the index before the move
  std::string_view name = original.type(k.struct_id).name;
  btf moved = std::move(original);
  EXPECT_EQ(moved.type(k.struct_id).name.data(), name.data());
  EXPECT_EQ(moved.find("point", btf_kind::struct_), k.struct_id);
  btf assigned;
  EXPECT_EQ(assigned.type_count(), 0u);
  EXPECT_FALSE(assigned.find("point"));
  assigned = std::move(moved);
  EXPECT_EQ(assigned.find("handler", btf_kind::function), k.func_id);

  btf copy = assigned;
  copy.set_datasec_size(k.datasec_id, 64);
  EXPECT_EQ(copy.type(k.datasec_id).size_or_type, 64u);
  EXPECT_EQ(assigned.type(k.datasec_id).size_or_type, 0u);
  EXPECT_EQ(copy.find("color", btf_kind::enum_), k.enum_id);
  EXPECT_NE(copy.type(k.struct_id).name.data(), assigned.type(k.struct_id).name.data());
  btf copy_assigned;
  copy_assigned = copy;
  EXPECT_EQ(copy_assigned.find("wide"), k.enum64_id);
}

TEST(BtfTest, SkipModifiersAndSizes) {
  every_kind k;
  btf types = btf::parse(k.b.build());
  EXPECT_EQ(types.skip_modifiers_and_typedefs(k.const_id), k.int_id);  // const -> volatile -> typedef
  EXPECT_EQ(types.skip_modifiers_and_typedefs(k.type_tag_id), k.int_id);
  EXPECT_EQ(types.skip_modifiers_and_typedefs(k.restrict_id), k.ptr_id);
  EXPECT_EQ(types.skip_modifiers_and_typedefs(k.struct_id), k.struct_id);
  EXPECT_EQ(types.size_of(k.int_id), 4u);
  EXPECT_EQ(types.size_of(k.const_id), 4u);
  EXPECT_EQ(types.size_of(k.ptr_id), 8u);
  EXPECT_EQ(types.size_of(k.restrict_id), 8u);
  EXPECT_EQ(types.size_of(k.array_id), 64u);
  EXPECT_EQ(types.size_of(k.struct_id), 16u);
  EXPECT_EQ(types.size_of(k.union_id), 8u);
  EXPECT_EQ(types.size_of(k.enum64_id), 8u);
  EXPECT_EQ(types.size_of(k.float_id), 8u);
  EXPECT_EQ(types.size_of(k.var_id), 4u);
  expect_error([&] { (void)types.size_of(k.func_id); }, errc::invalid_btf, "(func 'handler') has no size");
  expect_error([&] { (void)types.size_of(k.fwd_id); }, errc::invalid_btf, "has no size");
  expect_error([&] { (void)types.size_of(0); }, errc::invalid_btf, "(void) has no size");
  expect_error([&] { (void)types.size_of(k.proto_id); }, errc::invalid_btf, "has no size");
}

TEST(BtfTest, NestedArraysMultiplyAndOverflowIsAnError) {
  btf_builder b;
  auto i = b.add_int("int", 4);
  auto inner = b.add_array(i, i, 3);
  auto outer = b.add_array(inner, i, 5);
  auto typedef_outer = b.add_typedef("grid", outer);
  auto huge1 = b.add_array(i, i, 0xffffffff);
  auto huge2 = b.add_array(huge1, i, 0xffffffff);
  auto huge3 = b.add_array(huge2, i, 0xffffffff);
  auto empty = b.add_array(huge3, i, 0);
  btf types = btf::parse(b.build());
  EXPECT_EQ(types.size_of(typedef_outer), 60u);
  EXPECT_EQ(types.size_of(huge1), 4ull * 0xffffffffull);
  expect_error([&] { (void)types.size_of(huge3); }, errc::invalid_btf, "overflow");
  EXPECT_EQ(types.size_of(empty), 0u);
}

TEST(BtfTest, ModifierLoopsAreErrorsNotHangs) {
  btf_builder b;
  auto first = b.add_typedef("a", 2);
  auto second = b.add_const(first);  // id 2 -> 1 -> 2 ...
  auto arr = b.add_array(4, 4, 1);  // id 3 -> array of id 4
  auto i = b.add_int("int", 4);
  (void)i;
  auto self_array = b.add_array(5, i, 2);  // id 5: array of itself
  btf types = btf::parse(b.build());  // the kernel's resolve pass would reject this; we do not walk it
  expect_error([&] { (void)types.skip_modifiers_and_typedefs(second); }, errc::invalid_btf, "loops");
  expect_error([&] { (void)types.size_of(first); }, errc::invalid_btf, "loops");
  expect_error([&] { (void)types.size_of(self_array); }, errc::invalid_btf, "loops");
  EXPECT_EQ(types.size_of(arr), 4u);
}

TEST(BtfTest, BytesRoundTripAndDatasecFixups) {
  every_kind k;
  std::vector<std::byte> blob = k.b.build();
  btf types = btf::parse(blob);
  EXPECT_TRUE(std::equal(blob.begin(), blob.end(), types.bytes().begin(), types.bytes().end()));
  types.set_datasec_size(k.datasec_id, 4);
  types.set_datasec_var_offset(k.datasec_id, 0, 0);
  btf reparsed = btf::parse(types.bytes());
  EXPECT_EQ(reparsed.type(k.datasec_id).size_or_type, 4u);
  types.set_datasec_size(k.datasec_id, 16);
  types.set_datasec_var_offset(k.datasec_id, 0, 12);
  reparsed = btf::parse(types.bytes());
  EXPECT_EQ(reparsed.datasec_vars(k.datasec_id)[0].offset, 12u);
  EXPECT_EQ(types.datasec_vars(k.datasec_id)[0].offset, 12u);
  expect_error([&] { types.set_datasec_var_offset(k.datasec_id, 1, 0); }, errc::invalid_argument,
               "index 1 is beyond its 1 variables");
  // A var ending beyond a known section size is rejected (the kernel's datasec check).
  types.set_datasec_size(k.datasec_id, 8);
  types.set_datasec_var_offset(k.datasec_id, 0, 6);
  expect_invalid(std::vector<std::byte>(types.bytes().begin(), types.bytes().end()),
                 "variable 0 at offset 6 with size 4 ends beyond the section size 8");
}

// --- malformed headers and sections -------------------------------------------------------

btf_builder small() {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  b.add_struct("foo", 4, {{"x", i, 0}});
  return b;
}

TEST(BtfTest, RejectsTruncatedHeaders) {
  std::vector<std::byte> blob = small().build();
  for (std::size_t n : {0u, 1u, 8u, 23u}) {
    expect_invalid(std::vector<std::byte>(blob.begin(), blob.begin() + static_cast<long>(n)),
                   "header: truncated: the blob has " + std::to_string(n) + " bytes, the header needs 24");
  }
}

TEST(BtfTest, RejectsBadHeaderFields) {
  btf_builder b = small();
  expect_invalid(b.build([](btf_header_fields& h) { h.magic = 0x1234; }), "bad magic 0x1234 (expected 0xeb9f)");
  expect_invalid(b.build([](btf_header_fields& h) { h.magic = 0x9FEB; }), "big-endian BTF is not supported");
  expect_invalid(b.build([](btf_header_fields& h) { h.version = 2; }), "unsupported version 2");
  expect_invalid(b.build([](btf_header_fields& h) { h.flags = 1; }), "unsupported flags 0x1");
  expect_invalid(b.build([](btf_header_fields& h) { h.hdr_len = 20; }), "hdr_len 20 is below 24");
  expect_invalid(b.build([](btf_header_fields& h) { h.hdr_len = 100000; }), "hdr_len 100000 is beyond the blob");
  expect_invalid(b.build([](btf_header_fields& h) { h.hdr_len = 26; }), "not a multiple of 4");
}

TEST(BtfTest, LongerHeaderIsFineWhenItsExtraFieldsAreZero) {
  btf_builder b = small();
  std::vector<std::byte> zeros(8, std::byte{0});
  btf types = btf::parse(b.build({}, zeros));
  EXPECT_EQ(types.find("foo", btf_kind::struct_), 2u);
  std::vector<std::byte> nonzero(8, std::byte{0});
  nonzero[5] = std::byte{1};
  expect_invalid(b.build({}, nonzero), "byte 29 of the 32-byte header is not zero");
}

TEST(BtfTest, RejectsSectionsOutOfRange) {
  btf_builder b = small();
  expect_invalid(b.build([](btf_header_fields& h) { h.type_len += 4; }), "overlaps string section");
  expect_invalid(b.build([](btf_header_fields& h) { h.type_len += 1000; }), "type section [24, 1064) is beyond");
  expect_invalid(b.build([](btf_header_fields& h) { h.str_len += 1; }), "string section [");
  expect_invalid(b.build([](btf_header_fields& h) { h.str_off = 0xffffffff; }), "beyond the blob");
  expect_invalid(b.build([](btf_header_fields& h) { h.type_off = 0xfffffffc; }), "beyond the blob");
  expect_invalid(b.build([](btf_header_fields& h) { h.type_len = 0xffffffff; }), "beyond the blob");
  expect_invalid(b.build([](btf_header_fields& h) { h.type_off = 2; h.type_len -= 4; }),
                 "type section offset 2 is not a multiple of 4");
  expect_invalid(b.build([](btf_header_fields& h) { h.str_off = 0; h.str_len = 8; }),
                 "overlaps string section");
}

TEST(BtfTest, RejectsBadStringSections) {
  btf_builder b = small();
  expect_invalid(b.build([](btf_header_fields& h) { h.str_len = 0; }), "string section: empty");
  btf_builder no_leading_nul = small();
  no_leading_nul.strings()[0] = 'x';
  expect_invalid(no_leading_nul.build(), "does not start with '\\0'");
  btf_builder no_trailing_nul = small();
  no_trailing_nul.strings().back() = 'x';
  expect_invalid(no_trailing_nul.build(), "does not end with '\\0'");
}

TEST(BtfTest, RejectsStringOffsetsOutOfRange) {
  btf_builder b = small();
  b.words()[0] = 5000;  // name of type 1
  expect_invalid(b.build(), "type 1 (int) at offset 0x18: name offset 5000 is beyond the string section");
  btf_builder m = small();
  m.words()[4 + 3] = 6000;  // name of member 0 of type 2
  expect_invalid(m.build(), "type 2 (struct 'foo'): member 0 name offset 6000 is beyond the string section");
}

TEST(BtfTest, RejectsDanglingTypeIds) {
  btf_builder b;
  auto i = b.add_int("int", 4);
  b.add_struct("foo", 12, {{"a", i, 0}, {"b", i, 32}, {"c", 99999, 64}});
  expect_invalid(b.build(), "BTF: type 2 (struct 'foo'): member 2 refers to type 99999, beyond the last type 2");
  btf_builder p;
  p.add_pointer(7);
  expect_invalid(p.build(), "type 1 (ptr): refers to type 7, beyond the last type 1");
  btf_builder f;
  f.add_function_proto(0, {{"x", 3}});
  expect_invalid(f.build(), "parameter 0 refers to type 3");
  btf_builder d;
  auto di = d.add_int("int", 4);
  d.add_datasec(".data", 0, {{di + 5, 0, 4}});
  expect_invalid(d.build(), "variable 0 refers to type 6");
  btf_builder t;
  t.add_decl_tag("tag", 40);
  expect_invalid(t.build(), "(decl_tag 'tag'): refers to type 40");
}

TEST(BtfTest, RejectsRecordsOverflowingTheTypeSection) {
  btf_builder b = small();
  b.words()[4 + 1] = (4u << 24) | 2;  // struct foo claims 2 members, has 1
  expect_invalid(b.build(), "type 2 (struct) at offset 0x28: vlen 2 needs 24 bytes after the type, beyond");
  btf_builder huge = small();
  huge.words()[4 + 1] = (15u << 24) | 0xffff;  // a datasec with 65535 variables and none there
  expect_invalid(huge.build(), "vlen 65535 needs 786420 bytes");
  btf_builder truncated = small();
  truncated.words().pop_back();  // half a record at the end
  expect_invalid(truncated.build(), "needs 12 bytes after the type");
  btf_builder short_record = small();
  short_record.words().push_back(0);  // 4 stray bytes: not even a btf_type
  expect_invalid(short_record.build(), "type 3 at offset 0x40: truncated: 4 bytes left");
}

TEST(BtfTest, RejectsUnknownKinds) {
  for (std::uint32_t kind : {0u, 20u, 31u}) {
    btf_builder b;
    b.raw(0, static_cast<btf_kind>(kind), 0, false, 0);
    expect_invalid(b.build(), "type 1 at offset 0x18: unknown kind " + std::to_string(kind));
  }
}

TEST(BtfTest, RejectsKindRuleViolations) {
  struct bad_case {
    const char* what;
    std::function<void(btf_builder&, std::uint32_t)> add;  // gets a valid int id
  };
  std::vector<bad_case> cases = {
      {"(int 'wide'): bit offset + bits = 129 exceeds 128",
       [](btf_builder& b, std::uint32_t) { b.add_int("wide", 16, 0, 129); }},
      {"does not fit in its size of 1 bytes", [](btf_builder& b, std::uint32_t) { b.add_int("c", 1, 0, 9); }},
      {"encoding 3 is not one of signed, char or bool",
       [](btf_builder& b, std::uint32_t) { b.add_int("x", 4, 3); }},
      {"has reserved bits set",
       [](btf_builder& b, std::uint32_t) { b.raw(b.str("x"), btf_kind::integer, 0, false, 4, {0x10000020}); }},
      {"(int 'k'): kind_flag must be 0",
       [](btf_builder& b, std::uint32_t) { b.raw(b.str("k"), btf_kind::integer, 0, true, 4, {32}); }},
      {"(int 'v'): vlen 1 must be 0",
       [](btf_builder& b, std::uint32_t) { b.raw(b.str("v"), btf_kind::integer, 1, false, 4, {32}); }},
      {"(ptr 'p'): a ptr must not have a name",
       [](btf_builder& b, std::uint32_t i) { b.raw(b.str("p"), btf_kind::pointer, 0, false, i); }},
      {"(typedef): has no name", [](btf_builder& b, std::uint32_t i) { b.add_typedef("", i); }},
      {"(type_tag): has no name", [](btf_builder& b, std::uint32_t i) { b.add_type_tag("", i); }},
      {"(array): element type is void", [](btf_builder& b, std::uint32_t i) { b.add_array(0, i, 1); }},
      {"(array): index type is void", [](btf_builder& b, std::uint32_t i) { b.add_array(i, 0, 1); }},
      {"size 4 must be 0 for an array",
       [](btf_builder& b, std::uint32_t i) { b.raw(0, btf_kind::array, 0, false, 4, {i, i, 1}); }},
      {"(struct 's'): member 0 is void", [](btf_builder& b, std::uint32_t) { b.add_struct("s", 4, {{"a", 0, 0}}); }},
      {"member 1 at bit offset 0 comes before the previous member at 32",
       [](btf_builder& b, std::uint32_t i) { b.add_struct("s", 8, {{"a", i, 32}, {"b", i, 0}}); }},
      {"member 0 at bit offset 64 is beyond the size of 4 bytes",
       [](btf_builder& b, std::uint32_t i) { b.add_struct("s", 4, {{"a", i, 64}}); }},
      {"(union 'u'): member 1 has bit offset 8 in a union",
       [](btf_builder& b, std::uint32_t i) { b.add_union("u", 4, {{"a", i, 0}, {"b", i, 8}}); }},
      {"(enum 'e'): size 3 is not 1, 2, 4 or 8", [](btf_builder& b, std::uint32_t) { b.add_enum("e", 3, {}); }},
      {"(enum64 'e'): size 16 is not 1, 2, 4 or 8",
       [](btf_builder& b, std::uint32_t) { b.add_enum64("e", 16, {}); }},
      {"enumerator 0 has no name", [](btf_builder& b, std::uint32_t) { b.add_enum("e", 4, {{"", 1}}); }},
      {"(fwd): has no name", [](btf_builder& b, std::uint32_t) { b.add_forward(""); }},
      {"type 5 must be 0 for a forward",
       [](btf_builder& b, std::uint32_t) { b.raw(b.str("f"), btf_kind::forward, 0, false, 5); }},
      {"(func 'f'): linkage 3 is not static, global or extern",
       [](btf_builder& b, std::uint32_t) { b.add_function("f", b.add_function_proto(0, {}), 3); }},
      {"(func 'f'): refers to type 1, which is not a func_proto",
       [](btf_builder& b, std::uint32_t i) { b.add_function("f", i); }},
      {"(func_proto): parameter 0 is void",
       [](btf_builder& b, std::uint32_t i) { b.add_function_proto(0, {{"", 0}, {"x", i}}); }},
      {"parameter 0 (varargs) has a name",
       [](btf_builder& b, std::uint32_t) { b.add_function_proto(0, {{"rest", 0}}); }},
      {"(var 'v'): linkage 3 is not static, global or extern",
       [](btf_builder& b, std::uint32_t i) { b.add_variable("v", i, 3); }},
      {"(var 'v'): type is void", [](btf_builder& b, std::uint32_t) { b.add_variable("v", 0); }},
      {"variable 0 refers to type 1, a int (must be a var or func)",
       [](btf_builder& b, std::uint32_t i) { b.add_datasec(".data", 0, {{i, 0, 4}}); }},
      {"(float 'half'): size 3 is not 2, 4, 8, 12 or 16",
       [](btf_builder& b, std::uint32_t) { b.add_float("half", 3); }},
      {"(decl_tag 't'): component index -2 is below -1",
       [](btf_builder& b, std::uint32_t i) { b.add_decl_tag("t", i, -2); }},
      {"component index 0 on type 1, a int (only struct, union and func have components)",
       [](btf_builder& b, std::uint32_t i) { b.add_decl_tag("t", i, 0); }},
      {"component index 1 is beyond the 1 components of type 2",
       [](btf_builder& b, std::uint32_t i) { b.add_decl_tag("t", b.add_struct("s", 4, {{"a", i, 0}}), 1); }},
      {"component index 2 is beyond the 2 components",
       [](btf_builder& b, std::uint32_t i) {
         b.add_decl_tag("t", b.add_function("f", b.add_function_proto(i, {{"a", i}, {"b", i}})), 2);
       }},
  };
  for (const bad_case& c : cases) {
    SCOPED_TRACE(c.what);
    btf_builder b;
    auto i = b.add_int("int", 4);
    c.add(b, i);
    expect_invalid(b.build(), c.what);
  }
}

TEST(BtfTest, AllowsWhatClangAndTheKernelEmit) {
  btf_builder b;
  auto i = b.add_int("int", 4);
  auto b128 = b.add_int("__int128", 16, ebpf::btf_int_signed, 128);
  auto boolean = b.add_int("_Bool", 1, ebpf::btf_int_bool, 1);
  auto proto = b.add_function_proto(0, {});  // void f(void)
  b.add_function("ext", proto, 2);            // extern function (in .ksyms)
  auto ext_var = b.add_variable("CONFIG_HZ", i, 2);
  b.add_datasec(".kconfig", 0, {{ext_var, 0, 4}});
  b.add_enum("empty", 4, {});  // a forward-declared enum
  b.raw(b.str("attr"), btf_kind::type_tag, 0, true, i);      // type_tag with kind_flag (attribute)
  b.raw(b.str("attr"), btf_kind::decl_tag, 0, true, i, {0xffffffff});
  b.add_struct("flex", 4, {{"n", i, 0}, {"data", b.add_array(i, i, 0), 32}});  // data[] at the end
  b.add_float("long double", 16);
  b.add_struct("anon_members", 4, {{"", b128, 0}});
  btf types = btf::parse(b.build());
  EXPECT_EQ(types.integer(boolean).encoding, ebpf::btf_int_bool);
  EXPECT_EQ(types.func_linkage(types.find("ext").value()), 2u);
}

// --- real inputs ------------------------------------------------------------------------------

std::vector<std::byte> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

TEST(BtfTest, ParsesTheRunningKernelsBtf) {
  const char* path = "/sys/kernel/btf/vmlinux";
  if (access(path, R_OK) != 0) GTEST_SKIP() << path << " is not readable on this machine";
  std::vector<std::byte> raw = read_file(path);
  ASSERT_GT(raw.size(), 1000000u);
  auto start = std::chrono::steady_clock::now();
  btf kernel = btf::parse(raw);
  auto parsed = std::chrono::steady_clock::now();
  auto task = kernel.find("task_struct", btf_kind::struct_);
  auto indexed = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::cout << "vmlinux: " << kernel.type_count() << " types, parse " << ms(parsed - start)
            << " ms, first find " << ms(indexed - parsed) << " ms\n";
  EXPECT_GT(kernel.type_count(), 10000u);
  // Not a benchmark: only catches something quadratic.
  EXPECT_LT(ms(parsed - start), 2000.0);

  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(kernel.type(*task).kind, btf_kind::struct_);
  bool found_pid = false;
  for (const auto& m : kernel.members(*task)) {
    if (m.name != "pid") continue;
    found_pid = true;
    EXPECT_EQ(kernel.size_of(m.type), 4u);
    EXPECT_EQ(kernel.type(kernel.skip_modifiers_and_typedefs(m.type)).kind, btf_kind::integer);
  }
  EXPECT_TRUE(found_pid);
  EXPECT_GT(kernel.size_of(*task), 1000u);
  auto int_id = kernel.find("int", btf_kind::integer);
  ASSERT_TRUE(int_id);
  EXPECT_EQ(kernel.integer(*int_id).encoding, ebpf::btf_int_signed);

  // Every accessor works on every type of a real, large BTF.
  std::size_t members = 0;
  for (std::uint32_t id = 1; id < kernel.type_count(); ++id) {
    auto t = kernel.type(id);
    switch (t.kind) {
      case btf_kind::struct_:
      case btf_kind::union_: members += kernel.members(id).size(); break;
      case btf_kind::enum_:
      case btf_kind::enum64: (void)kernel.enumerators(id); break;
      case btf_kind::function_proto: (void)kernel.parameters(id); break;
      case btf_kind::datasec: (void)kernel.datasec_vars(id); break;
      case btf_kind::array: (void)kernel.array(id); break;
      default: break;
    }
  }
  EXPECT_GT(members, 10000u);
  EXPECT_TRUE(std::equal(raw.begin(), raw.end(), kernel.bytes().begin(), kernel.bytes().end()));
}

std::string bpf_object(const char* name) { return std::string(EBPFPP_TEST_BPF_DIR) + "/" + name; }

TEST(BtfTest, ParsesClangOutput) {
  auto section = ebpf::test::read_elf_section(bpf_object("btf_types.bpf.o"), ".BTF");
  ASSERT_TRUE(section.has_value()) << "btf_types.bpf.o has no .BTF";
  btf types = btf::parse(*section);

  // struct flags { u32 low:3; u32 mid:5; int signed_bits:10; u64 wide; char name[6]; }
  auto flags = types.find("flags", btf_kind::struct_);
  ASSERT_TRUE(flags);
  EXPECT_TRUE(types.type(*flags).kind_flag);
  auto m = types.members(*flags);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].name, "low");
  EXPECT_EQ(m[0].bitfield_size, 3u);
  EXPECT_EQ(m[1].bit_offset, 3u);
  EXPECT_EQ(m[1].bitfield_size, 5u);
  EXPECT_EQ(m[2].bit_offset, 8u);
  EXPECT_EQ(m[2].bitfield_size, 10u);
  EXPECT_EQ(m[3].bit_offset, 64u);
  EXPECT_EQ(m[3].bitfield_size, 0u);
  EXPECT_EQ(types.type(m[3].type).name, "u64");
  EXPECT_EQ(types.size_of(m[4].type), 6u);
  EXPECT_EQ(types.size_of(*flags), 24u);
  auto flags_t = types.find("flags_t", btf_kind::typedef_);
  ASSERT_TRUE(flags_t);
  EXPECT_EQ(types.skip_modifiers_and_typedefs(*flags_t), *flags);

  auto color = types.find("color", btf_kind::enum_);
  ASSERT_TRUE(color);
  auto colors = types.enumerators(*color);
  ASSERT_EQ(colors.size(), 3u);
  EXPECT_EQ(colors[1].name, "color_green");
  EXPECT_EQ(colors[1].value, 5);
  EXPECT_EQ(colors[2].value, -1);
  auto big = types.find("big", btf_kind::enum64);
  ASSERT_TRUE(big);
  EXPECT_EQ(types.enumerators(*big)[1].value, 0x1234567890LL);

  auto value = types.find("value", btf_kind::union_);
  ASSERT_TRUE(value);
  EXPECT_EQ(types.members(*value).size(), 3u);
  EXPECT_EQ(types.size_of(*value), 4u);

  auto with_ptrs = types.find("with_ptrs", btf_kind::struct_);
  ASSERT_TRUE(with_ptrs);
  auto p = types.members(*with_ptrs);
  ASSERT_EQ(p.size(), 5u);
  auto user_ptr = types.type(p[0].type);
  ASSERT_EQ(user_ptr.kind, btf_kind::pointer);
  EXPECT_EQ(types.type(user_ptr.size_or_type).kind, btf_kind::type_tag);
  EXPECT_EQ(types.type(user_ptr.size_or_type).name, "user");
  auto cv = types.type(types.type(p[1].type).size_or_type);
  EXPECT_EQ(cv.kind, btf_kind::const_);
  EXPECT_EQ(types.type(cv.size_or_type).kind, btf_kind::volatile_);
  EXPECT_EQ(types.type(p[2].type).kind, btf_kind::restrict_);
  EXPECT_EQ(types.type(types.type(p[3].type).size_or_type).kind, btf_kind::forward);
  auto proto = types.type(types.type(p[4].type).size_or_type);
  ASSERT_EQ(proto.kind, btf_kind::function_proto);
  EXPECT_EQ(proto.size_or_type, *value);
  EXPECT_EQ(types.parameters(proto.id).size(), 2u);

  auto prog = types.find("btf_types_prog", btf_kind::function);
  ASSERT_TRUE(prog);
  EXPECT_EQ(types.func_linkage(*prog), 1u);
  auto sub = types.find("add_tagged", btf_kind::function);
  ASSERT_TRUE(sub);
  EXPECT_EQ(types.func_linkage(*sub), 0u);
  auto arg_tag = types.find("arg", btf_kind::decl_tag);
  ASSERT_TRUE(arg_tag);
  EXPECT_EQ(types.type(*arg_tag).size_or_type, *sub);
  EXPECT_EQ(types.decl_tag_component(*arg_tag), 0);
  auto var_tag = types.find("x", btf_kind::decl_tag);
  ASSERT_TRUE(var_tag);
  EXPECT_EQ(types.decl_tag_component(*var_tag), -1);
  EXPECT_EQ(types.type(types.type(*var_tag).size_or_type).name, "bss_tagged");

  auto ratio = types.find("data_ratio", btf_kind::variable);
  ASSERT_TRUE(ratio);
  EXPECT_EQ(types.type(types.type(*ratio).size_or_type).kind, btf_kind::floating);

  // .data holds data_counter, data_flags, data_ratio (data_ptrs is zero, so it went to .bss).
  auto data = types.find(".data", btf_kind::datasec);
  ASSERT_TRUE(data);
  std::vector<std::string_view> names;
  std::vector<std::uint32_t> sizes;
  for (const auto& v : types.datasec_vars(*data)) {
    names.push_back(types.type(v.type).name);
    sizes.push_back(v.size);
    EXPECT_EQ(types.var_linkage(v.type), 1u);
  }
  EXPECT_THAT(names, testing::ElementsAre("data_counter", "data_flags", "data_ratio"));
  EXPECT_THAT(sizes, testing::ElementsAre(4u, 24u, 8u));
  EXPECT_EQ(types.type(*data).size_or_type, 0u);  // clang leaves it to the loader

  auto rodata = types.find(".rodata", btf_kind::datasec);
  ASSERT_TRUE(rodata);
  EXPECT_EQ(types.datasec_vars(*rodata).size(), 2u);
  auto bss = types.find(".bss", btf_kind::datasec);
  ASSERT_TRUE(bss);
  EXPECT_EQ(types.datasec_vars(*bss).size(), 5u);

  // The loader's fix-up: set the real section size and offsets, then the blob still parses.
  types.set_datasec_size(*data, 40);
  types.set_datasec_var_offset(*data, 1, 8);
  types.set_datasec_var_offset(*data, 2, 32);
  btf fixed = btf::parse(types.bytes());
  EXPECT_EQ(fixed.datasec_vars(*data)[2].offset, 32u);
  EXPECT_EQ(fixed.type(*data).size_or_type, 40u);
}

}  // namespace

namespace {

TEST(BtfTableStorage, BigTablesGetAnAlignedMappingSmallOnesTheHeap) {
  // Big: a mapping of its own at a huge-page boundary (THP advice), fully writable.
  constexpr std::size_t big = std::size_t{3} << 20;
  auto* at = static_cast<unsigned char*>(ebpf::detail::allocate_btf_table(big));
  ASSERT_NE(at, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(at) % (std::size_t{2} << 20), 0u);
  at[0] = 1;
  at[big - 1] = 2;
  EXPECT_EQ(at[0] + at[big - 1], 3);
  ebpf::detail::free_btf_table(at, big);
  // Small: the heap; and the allocator behaves as a vector's.
  std::vector<std::uint32_t, ebpf::detail::btf_table_allocator<std::uint32_t>> table;
  for (std::uint32_t i = 0; i < 300000; ++i) table.push_back(i);  // grows past the threshold
  EXPECT_EQ(table[299999], 299999u);
  auto copy = table;
  EXPECT_EQ(copy, table);
}

}  // namespace
