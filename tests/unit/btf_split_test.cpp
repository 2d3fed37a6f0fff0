// Split BTF (kernel module BTF over vmlinux, libbpf's btf__parse_split), BTF parsed in place, the
// structural-only check used for kernel BTF, and CO-RE candidates over split BTF. The split blobs
// are made here the way pahole makes module BTF: type ids continue after the base's last id,
// string offsets after the base's string section.
#include <ebpf/btf.hpp>
#include <ebpf/core.hpp>
#include <ebpf/error.hpp>

#include "btf_builder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace {

using ebpf::btf;
using ebpf::btf_kind;
using ebpf::btf_parse_options;
using ebpf::errc;
using ebpf::test::btf_builder;
using testing::HasSubstr;

struct fixture {
  std::shared_ptr<const btf> base;
  std::uint32_t base_int = 0, base_task = 0, base_strings = 0;
};

// base: [1] int, [2] struct task_struct { int pid; }, [3] struct shared_name { int a; }
fixture make_base() {
  btf_builder b;
  fixture f;
  f.base_int = b.add_int("int", 4, ebpf::btf_int_signed);
  f.base_task = b.add_struct("task_struct", 4, {{"pid", f.base_int, 0}});
  b.add_struct("shared_name", 4, {{"a", f.base_int, 0}});
  f.base_strings = static_cast<std::uint32_t>(b.strings().size());
  f.base = std::make_shared<const btf>(btf::parse(b.build()));
  return f;
}

// Module part: its own strings (their offsets shifted past the base's), ids from 4.
//   [4] struct mod_state { struct task_struct *owner; int count; }  (refers to base ids 2, 1)
//   [5] ptr -> [2]
//   [6] struct shared_name { int a; int b; }   (same name as a base type)
//   [7] struct only_in_module { int x; }
std::vector<std::byte> make_split(const fixture& f, std::uint32_t reference = 0) {
  btf_builder m;
  auto s = [&](std::string_view name) { return f.base_strings + m.str(name); };
  const std::uint32_t ptr_id = f.base->type_count() + 1;
  // (Names first: the order in which a call's arguments are evaluated is unspecified.)
  const std::uint32_t state = s("mod_state"), owner = s("owner"), count = s("count"), shared = s("shared_name"),
                      a = s("a"), b = s("b"), only = s("only_in_module"), x = s("x");
  m.raw(state, btf_kind::struct_, 2, false, 16, {owner, ptr_id, 0, count, reference ? reference : f.base_int, 64});
  m.raw(0, btf_kind::pointer, 0, false, f.base_task);
  m.raw(shared, btf_kind::struct_, 2, false, 8, {a, f.base_int, 0, b, f.base_int, 32});
  m.raw(only, btf_kind::struct_, 1, false, 4, {x, f.base_int, 0});
  // pahole's split string section starts with its own '\0' as the builder's does; the kernel and
  // libbpf accept it either way.
  return m.build();
}

btf parse_split(const fixture& f, const std::vector<std::byte>& bytes) {
  btf_parse_options options;
  options.base = f.base;
  return btf::parse(bytes, options);
}

TEST(BtfSplitTest, IdsAndStringsContinueTheBase) {
  const fixture f = make_base();
  const auto bytes = make_split(f);
  const btf split = parse_split(f, bytes);
  ASSERT_EQ(split.base(), f.base.get());
  EXPECT_EQ(split.first_own_id(), 4u);
  EXPECT_EQ(split.type_count(), 8u);
  // Base ids read through to the base.
  EXPECT_EQ(split.type(f.base_task).name, "task_struct");
  EXPECT_EQ(split.kind(f.base_int), btf_kind::integer);
  // Own types, their names from the split string section, references into the base.
  const auto state = split.type(4);
  EXPECT_EQ(state.kind, btf_kind::struct_);
  EXPECT_EQ(state.name, "mod_state");
  const auto members = split.members(4);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].name, "owner");
  EXPECT_EQ(members[0].type, 5u);
  EXPECT_EQ(split.type(split.type(5).size_or_type).name, "task_struct");
  EXPECT_EQ(split.size_of(4), 16u);
  EXPECT_EQ(split.string_at(1), "int");  // a base offset
  EXPECT_GT(split.name_offset(4), f.base_strings);
  EXPECT_EQ(split.string_at(split.name_offset(4)), "mod_state");
  EXPECT_EQ(split.string_at(f.base_strings + 1), "mod_state");  // the split part's first string
  // bytes() is the split part only, as the kernel takes it (BPF_BTF_LOAD with btf_fd = base).
  EXPECT_EQ(split.bytes().size(), bytes.size());
}

TEST(BtfSplitTest, FindSearchesTheBaseFirst) {
  const fixture f = make_base();
  const btf split = parse_split(f, make_split(f));
  EXPECT_EQ(split.find("task_struct", btf_kind::struct_), f.base_task);
  EXPECT_EQ(split.find("shared_name", btf_kind::struct_), 3u);  // the base's, not [6]
  EXPECT_EQ(split.find("only_in_module", btf_kind::struct_), 7u);
  EXPECT_EQ(split.find("mod_state"), 4u);
  EXPECT_FALSE(split.find("nowhere").has_value());
}

TEST(BtfSplitTest, ReferencesAndNamesMustStayInsideBaseAndSplit) {
  const fixture f = make_base();
  try {
    (void)parse_split(f, make_split(f, 99));
    ADD_FAILURE() << "a member type beyond the split part parsed";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_btf);
    EXPECT_THAT(e.what(), HasSubstr("beyond the last type 7"));
  }
  // A standalone parse of the split part fails: its references and names need the base.
  EXPECT_THROW((void)btf::parse(make_split(f)), ebpf::error);
  // Name offset past base + split strings, with either level of checking.
  btf_builder m;
  m.raw(f.base_strings + 1000, btf_kind::struct_, 0, false, 0);
  for (bool kind_rules : {true, false}) {
    btf_parse_options options;
    options.base = f.base;
    options.check_kind_rules = kind_rules;
    try {
      (void)btf::parse(m.build(), options);
      ADD_FAILURE() << "a name offset beyond the strings parsed";
    } catch (const ebpf::error& e) {
      EXPECT_THAT(e.what(), HasSubstr("beyond the string section"));
    }
  }
}

TEST(BtfSplitTest, EditsStayInTheSplitPart) {
  const fixture f = make_base();
  btf split = parse_split(f, make_split(f));
  EXPECT_THROW(split.record(f.base_task), ebpf::error);
  const auto offset = split.add_string("added");
  EXPECT_GT(offset, f.base_strings);
  EXPECT_EQ(split.string_at(offset), "added");
  EXPECT_EQ(split.type(4).name, "mod_state");
  EXPECT_EQ(split.type(f.base_task).name, "task_struct");
  // The rebuilt split part parses again over the same base.
  const btf again = parse_split(f, std::vector<std::byte>(split.bytes().begin(), split.bytes().end()));
  EXPECT_EQ(again.type_count(), split.type_count());
  EXPECT_EQ(again.string_at(offset), "added");
}

TEST(BtfSplitTest, ParsedInPlaceUsesTheBytesUntilEdited) {
  btf_builder b;
  const auto i = b.add_int("int", 4);
  const auto v = b.add_variable("x", i);
  const auto sec = b.add_datasec(".data", 0, {{v, 0, 4}});
  auto bytes = std::make_shared<const std::vector<std::byte>>(b.build());
  btf_parse_options options;
  options.owner = bytes;
  btf types = btf::parse(*bytes, options);
  EXPECT_EQ(types.bytes().data(), bytes->data());
  btf copy = types;  // copies share the borrowed bytes
  EXPECT_EQ(copy.bytes().data(), bytes->data());
  types.set_datasec_size(sec, 4);  // an edit copies first: the borrowed bytes never change
  EXPECT_NE(types.bytes().data(), bytes->data());
  EXPECT_EQ(types.type(sec).size_or_type, 4u);
  EXPECT_EQ(copy.type(sec).size_or_type, 0u);
  btf moved = std::move(copy);
  EXPECT_EQ(moved.type(v).name, "x");
}

TEST(BtfSplitTest, StructuralCheckSkipsOnlyTheKindRules) {
  btf_builder b;
  b.add_int("int", 4, 7);  // encoding 7 breaks a kind rule, not memory safety
  const auto blob = b.build();
  EXPECT_THROW((void)btf::parse(blob), ebpf::error);
  btf_parse_options options;
  options.check_kind_rules = false;
  const btf types = btf::parse(blob, options);
  EXPECT_EQ(types.type(1).name, "int");
  // A record running past the type section is refused either way.
  btf_builder truncated;
  truncated.add_struct("s", 4, {{"a", 1, 0}});
  const auto short_blob = truncated.build([](ebpf::test::btf_header_fields& h) { h.type_len -= 4; });
  EXPECT_THROW((void)btf::parse(short_blob, options), ebpf::error);
}

TEST(BtfSplitTest, CoreCandidatesPreferTheBaseLikeLibbpf) {
  const fixture f = make_base();
  const btf split = parse_split(f, make_split(f));
  const ebpf::core_target_index index(split);
  // In both: only the base's candidate (vmlinux first; modules only when vmlinux has none).
  EXPECT_EQ(index.candidates("shared_name", btf_kind::struct_), std::vector<std::uint32_t>{3});
  EXPECT_EQ(index.candidates("task_struct___v2", btf_kind::struct_), std::vector<std::uint32_t>{f.base_task});
  // Only in the module: found there.
  EXPECT_EQ(index.candidates("only_in_module", btf_kind::struct_), std::vector<std::uint32_t>{7});
  EXPECT_TRUE(index.candidates("only_in_module", btf_kind::union_).empty());
  // One pass over base and module gives the same lists.
  const std::vector<std::pair<std::string_view, btf_kind>> queries{{"shared_name", btf_kind::struct_},
                                                                   {"task_struct___v2", btf_kind::struct_},
                                                                   {"only_in_module", btf_kind::struct_},
                                                                   {"only_in_module", btf_kind::union_}};
  const auto lists = index.candidates(queries);
  for (std::size_t q = 0; q < queries.size(); ++q)
    EXPECT_EQ(lists[q], index.candidates(queries[q].first, queries[q].second)) << queries[q].first;
}

}  // namespace
