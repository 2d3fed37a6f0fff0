#include <ebpf/btf.hpp>
#include <ebpf/error.hpp>

#include "btf_builder.hpp"

#include <algorithm>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <set>

namespace {

using ebpf::btf;
using ebpf::btf_kind;
using ebpf::core_relocation_kind;
using ebpf::errc;
using ebpf::parse_btf_ext;
using ebpf::test::btf_builder;
using ebpf::test::btf_ext_builder;
using testing::HasSubstr;

// A .BTF with two functions and the strings a .BTF.ext refers to.
struct fixture {
  btf_builder b;
  std::uint32_t int_id, proto_id, prog_id, sub_id;
  std::uint32_t xdp, text, file, line1, line2, access;
  btf types;

  fixture() {
    int_id = b.add_int("int", 4, ebpf::btf_int_signed);
    proto_id = b.add_function_proto(int_id, {{"ctx", int_id}});
    prog_id = b.add_function("prog", proto_id, 1);
    sub_id = b.add_function("sub", proto_id, 0);
    xdp = b.str("xdp");
    text = b.str(".text");
    file = b.str("/src/prog.bpf.c");
    line1 = b.str("int prog(void *ctx) {");
    line2 = b.str("  return sub(ctx);");
    access = b.str("0:1");
    types = btf::parse(b.build());
  }

  // func_info for "xdp" (prog at 0) and ".text" (sub at 0), line_info and core_relo for "xdp".
  btf_ext_builder ext() const {
    btf_ext_builder e;
    e.func_info.groups = {{xdp, {{0, prog_id}}, {}}, {text, {{0, sub_id}}, {}}};
    e.line_info.groups = {{xdp, {{0, file, line1, 3u << 10 | 5}, {16, file, line2, 4u << 10 | 3}}, {}}};
    e.core_relo.groups = {{xdp, {{24, int_id, access, 2}}, {}}};
    return e;
  }
};

void expect_invalid(const std::vector<std::byte>& blob, const btf& types, const std::string& expected) {
  try {
    (void)parse_btf_ext(blob, types);
    ADD_FAILURE() << "parse succeeded, expected an error containing: " << expected;
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_btf) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(expected));
  }
}

void put_u32(std::vector<std::byte>& blob, std::size_t at, std::uint32_t v) { std::memcpy(&blob[at], &v, 4); }

void expect_records(const std::vector<ebpf::btf_ext_section>& sections, const fixture& f) {
  ASSERT_EQ(sections.size(), 2u);
  const auto& xdp = sections[0];
  EXPECT_EQ(xdp.section, "xdp");
  ASSERT_EQ(xdp.func_info.size(), 1u);
  EXPECT_EQ(xdp.func_info[0].instruction, 0u);
  EXPECT_EQ(xdp.func_info[0].type_id, f.prog_id);
  ASSERT_EQ(xdp.line_info.size(), 2u);
  EXPECT_EQ(xdp.line_info[1].instruction, 2u);  // byte 16
  EXPECT_EQ(f.types.string_at(xdp.line_info[1].file_name_offset), "/src/prog.bpf.c");
  EXPECT_EQ(f.types.string_at(xdp.line_info[1].line_offset), "  return sub(ctx);");
  EXPECT_EQ(xdp.line_info[1].line_column >> 10, 4u);
  EXPECT_EQ(xdp.line_info[1].line_column & 0x3ff, 3u);
  ASSERT_EQ(xdp.core_relocations.size(), 1u);
  EXPECT_EQ(xdp.core_relocations[0].instruction, 3u);  // byte 24
  EXPECT_EQ(xdp.core_relocations[0].type_id, f.int_id);
  EXPECT_EQ(xdp.core_relocations[0].access_string, "0:1");
  EXPECT_EQ(xdp.core_relocations[0].kind, core_relocation_kind::field_exists);
  const auto& text = sections[1];
  EXPECT_EQ(text.section, ".text");
  ASSERT_EQ(text.func_info.size(), 1u);
  EXPECT_EQ(text.func_info[0].type_id, f.sub_id);
  EXPECT_TRUE(text.line_info.empty());
  EXPECT_TRUE(text.core_relocations.empty());
}

TEST(BtfExtTest, ParsesRecordsGroupedBySection) {
  fixture f;
  expect_records(parse_btf_ext(f.ext().build(), f.types), f);
}

TEST(BtfExtTest, LargerRecordsAreReadByTheirKnownPrefix) {
  fixture f;
  btf_ext_builder e = f.ext();
  e.func_info.record_size = 12;
  e.line_info.record_size = 24;
  e.core_relo.record_size = 20;
  for (auto* s : {&e.func_info, &e.line_info, &e.core_relo}) {
    for (auto& g : s->groups) {
      for (auto& r : g.records) {
        while (r.size() * 4 < s->record_size) r.push_back(0xdeadbeef);
      }
    }
  }
  expect_records(parse_btf_ext(e.build(), f.types), f);
}

TEST(BtfExtTest, HeaderWithoutCoreReloAndLongerHeaders) {
  fixture f;
  btf_ext_builder short_header = f.ext();
  short_header.hdr_len = 24;
  auto sections = parse_btf_ext(short_header.build(), f.types);
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_TRUE(sections[0].core_relocations.empty());
  EXPECT_EQ(sections[0].line_info.size(), 2u);

  btf_ext_builder long_header = f.ext();
  long_header.hdr_len = 40;  // a newer producer's extra fields
  expect_records(parse_btf_ext(long_header.build(), f.types), f);
}

TEST(BtfExtTest, EmptyExtHasNoSections) {
  fixture f;
  EXPECT_TRUE(parse_btf_ext(btf_ext_builder{}.build(), f.types).empty());
}

TEST(BtfExtTest, RejectsBadHeaders) {
  fixture f;
  std::vector<std::byte> good = f.ext().build();
  expect_invalid(std::vector<std::byte>(good.begin(), good.begin() + 20), f.types,
                 "BTF.ext: header: truncated: 20 bytes, the header needs at least 24");
  expect_invalid({}, f.types, "truncated: 0 bytes");
  auto bad = good;
  bad[0] = std::byte{0x12};
  expect_invalid(bad, f.types, "header: bad magic 0xeb12 (expected 0xeb9f)");
  bad = good;
  bad[2] = std::byte{2};
  expect_invalid(bad, f.types, "unsupported version 2");
  bad = good;
  bad[3] = std::byte{4};
  expect_invalid(bad, f.types, "unsupported flags 4");
  bad = good;
  put_u32(bad, 4, 16);
  expect_invalid(bad, f.types, "hdr_len 16 is below 24");
  bad = good;
  put_u32(bad, 4, 100000);
  expect_invalid(bad, f.types, "hdr_len 100000 is beyond the section");
}

TEST(BtfExtTest, RejectsSubSectionsOutOfRange) {
  fixture f;
  std::vector<std::byte> good = f.ext().build();
  auto bad = good;
  put_u32(bad, 12, 0xfffffff0);  // func_info_len
  expect_invalid(bad, f.types, "func_info: [32, ");
  bad = good;
  put_u32(bad, 16, 0xffffffff);  // line_info_off
  expect_invalid(bad, f.types, "line_info: [");
  bad = good;
  put_u32(bad, 24, 2);  // core_relo_off
  put_u32(bad, 28, 4);
  expect_invalid(bad, f.types, "core_relo: offset 34 is not a multiple of 4");
  bad = good;
  put_u32(bad, 12, 2);
  expect_invalid(bad, f.types, "func_info: 2 bytes cannot hold the record size");
}

TEST(BtfExtTest, RejectsRecordSizes) {
  fixture f;
  for (std::uint32_t size : {0u, 4u}) {
    btf_ext_builder e = f.ext();
    e.func_info.record_size = size;
    expect_invalid(e.build(), f.types,
                   "func_info: record size " + std::to_string(size) + " is below the 8 bytes of a record");
  }
  btf_ext_builder odd = f.ext();
  odd.func_info.record_size = 10;
  expect_invalid(odd.build(), f.types, "func_info: record size 10 is not a multiple of 4");
  btf_ext_builder line = f.ext();
  line.line_info.record_size = 12;
  expect_invalid(line.build(), f.types, "line_info: record size 12 is below the 16 bytes");
  btf_ext_builder core = f.ext();
  core.core_relo.record_size = 8;
  expect_invalid(core.build(), f.types, "core_relo: record size 8 is below the 16 bytes");
}

TEST(BtfExtTest, RejectsBadGroups) {
  fixture f;
  btf_ext_builder huge = f.ext();
  huge.func_info.groups[1].count = 0x40000000;
  expect_invalid(huge.build(), f.types,
                 "func_info: section '.text' at offset 60: 1073741824 records of 8 bytes overflow the 8 bytes left");
  btf_ext_builder none = f.ext();
  none.line_info.groups[0].records.clear();
  expect_invalid(none.build(), f.types, "line_info: section 'xdp' at offset ");
  expect_invalid(none.build(), f.types, "has no records");
  btf_ext_builder name = f.ext();
  name.func_info.groups[0].section_name_off = 9999;
  expect_invalid(name.build(), f.types, "func_info: at offset 36: section name: BTF: string offset 9999 is beyond");
  btf_ext_builder empty_name = f.ext();
  empty_name.core_relo.groups[0].section_name_off = 0;
  expect_invalid(empty_name.build(), f.types, "core_relo: at offset ");
  expect_invalid(empty_name.build(), f.types, "section name is empty");
  // A group header cut short by the sub-section's end.
  btf_ext_builder cut = f.ext();
  std::vector<std::byte> blob = cut.build();
  put_u32(blob, 12, 4 + 8 + 8 + 4);  // func_info_len: record size, group 1, half of group 2's header
  expect_invalid(blob, f.types, "func_info: at offset 52: 4 bytes left, a section header needs 8");
}

TEST(BtfExtTest, RejectsBadRecords) {
  fixture f;
  struct bad_case {
    std::function<void(btf_ext_builder&)> change;
    std::string expected;
  };
  std::vector<bad_case> cases = {
      {[](btf_ext_builder& e) { e.func_info.groups[0].records[0][0] = 12; },
       "func_info: section 'xdp': record 0 at offset 44: instruction offset 12 is not a multiple of 8"},
      {[](btf_ext_builder& e) { e.func_info.groups[1].records[0][1] = 77; },
       "func_info: section '.text': record 0 at offset 60: refers to type 77, beyond the last type 4"},
      {[&](btf_ext_builder& e) { e.func_info.groups[1].records[0][1] = f.proto_id; },
       "type 2 is a func_proto, not a func"},
      {[](btf_ext_builder& e) { e.line_info.groups[0].records[1][0] = 17; },
       "line_info: section 'xdp': record 1 at offset"},
      {[](btf_ext_builder& e) { e.line_info.groups[0].records[1][1] = 5000; },
       "line_info: section 'xdp': record 1 at offset 96: file name: BTF: string offset 5000 is beyond"},
      {[](btf_ext_builder& e) { e.line_info.groups[0].records[0][2] = 5000; }, "line: BTF: string offset 5000"},
      {[](btf_ext_builder& e) { e.core_relo.groups[0].records[0][1] = 5; }, "refers to type 5, beyond the last type 4"},
      {[](btf_ext_builder& e) { e.core_relo.groups[0].records[0][2] = 5000; }, "access string: BTF: string offset 5000"},
      {[](btf_ext_builder& e) { e.core_relo.groups[0].records[0][2] = 0; }, "access string is empty"},
      {[](btf_ext_builder& e) { e.core_relo.groups[0].records[0][3] = 13; }, "unknown CO-RE relocation kind 13"},
  };
  for (const bad_case& c : cases) {
    SCOPED_TRACE(c.expected);
    btf_ext_builder e = f.ext();
    c.change(e);
    expect_invalid(e.build(), f.types, c.expected);
  }
}

// --- real clang output ------------------------------------------------------------------------

TEST(BtfExtTest, ParsesClangOutput) {
  std::string path = std::string(EBPFPP_TEST_BPF_DIR) + "/btf_types.bpf.o";
  auto btf_section = ebpf::test::read_elf_section(path, ".BTF");
  auto ext_section = ebpf::test::read_elf_section(path, ".BTF.ext");
  auto xdp_code = ebpf::test::read_elf_section(path, "xdp");
  auto text_code = ebpf::test::read_elf_section(path, ".text");
  ASSERT_TRUE(btf_section && ext_section && xdp_code && text_code) << path;
  btf types = btf::parse(*btf_section);
  auto sections = parse_btf_ext(*ext_section, types);

  std::map<std::string, const ebpf::btf_ext_section*> by_name;
  for (const auto& s : sections) by_name[s.section] = &s;
  ASSERT_TRUE(by_name.count("xdp"));
  ASSERT_TRUE(by_name.count(".text"));
  EXPECT_EQ(sections.size(), 2u);
  const auto& xdp = *by_name["xdp"];
  const auto& text = *by_name[".text"];

  // One function per section, starting at its first instruction.
  ASSERT_EQ(xdp.func_info.size(), 1u);
  EXPECT_EQ(xdp.func_info[0].instruction, 0u);
  EXPECT_EQ(types.type(xdp.func_info[0].type_id).name, "btf_types_prog");
  ASSERT_EQ(text.func_info.size(), 1u);
  EXPECT_EQ(types.type(text.func_info[0].type_id).name, "add_tagged");

  // Line info: starts at instruction 0, never goes backwards, stays inside the code, and names
  // our source file and lines.
  for (const auto* s : {&xdp, &text}) {
    std::size_t instructions = (s == &xdp ? xdp_code->size() : text_code->size()) / 8;
    ASSERT_GE(s->line_info.size(), 2u) << s->section;
    EXPECT_EQ(s->line_info[0].instruction, 0u);
    for (std::size_t i = 0; i < s->line_info.size(); ++i) {
      const auto& l = s->line_info[i];
      EXPECT_LT(l.instruction, instructions);
      if (i > 0) {
        EXPECT_GE(l.instruction, s->line_info[i - 1].instruction);
      }
      EXPECT_THAT(std::string(types.string_at(l.file_name_offset)), testing::EndsWith("btf_types.bpf.c"));
      EXPECT_GT(l.line_column >> 10, 0u);
    }
  }
  bool saw_call_line = false;
  for (const auto& l : xdp.line_info) {
    if (types.string_at(l.line_offset).find("add_tagged(data_counter") != std::string_view::npos) {
      saw_call_line = true;
    }
  }
  EXPECT_TRUE(saw_call_line);

  // The five CO-RE builtins in btf_types_prog, in instruction order.
  ASSERT_EQ(xdp.core_relocations.size(), 5u);
  EXPECT_TRUE(text.core_relocations.empty());
  std::multiset<core_relocation_kind> kinds;
  auto core_target = types.find("core_target", btf_kind::struct_);
  auto color = types.find("color", btf_kind::enum_);
  ASSERT_TRUE(core_target && color);
  for (std::size_t i = 0; i < xdp.core_relocations.size(); ++i) {
    const auto& r = xdp.core_relocations[i];
    kinds.insert(r.kind);
    EXPECT_LT(r.instruction, xdp_code->size() / 8);
    if (i > 0) {
      EXPECT_GT(r.instruction, xdp.core_relocations[i - 1].instruction);
    }
    switch (r.kind) {
      case core_relocation_kind::field_byte_offset:
      case core_relocation_kind::field_exists:
        EXPECT_EQ(r.type_id, *core_target);
        EXPECT_EQ(r.access_string, "0:1");  // member 1 (tgid) of the pointed-to struct
        break;
      case core_relocation_kind::type_size:
      case core_relocation_kind::type_id_local:
        EXPECT_EQ(r.type_id, *core_target);
        EXPECT_EQ(r.access_string, "0");
        break;
      case core_relocation_kind::enumval_value:
        EXPECT_EQ(r.type_id, *color);
        EXPECT_EQ(r.access_string, "1");  // color_green is enumerator 1
        break;
      default: ADD_FAILURE() << "unexpected kind " << static_cast<int>(r.kind);
    }
  }
  EXPECT_EQ(kinds, (std::multiset<core_relocation_kind>{
                       core_relocation_kind::field_byte_offset, core_relocation_kind::field_exists,
                       core_relocation_kind::type_size, core_relocation_kind::enumval_value,
                       core_relocation_kind::type_id_local}));
}

}  // namespace
