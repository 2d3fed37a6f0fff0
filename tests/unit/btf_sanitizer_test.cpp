// The BTF sanitizer: each of libbpf's rewrites (bpf_object__sanitize_btf) on hand-made BTF, one
// feature switched off at a time; type ids and record sizes stay, and the result parses again
// under every kind rule.
#include <ebpf/btf.hpp>
#include <ebpf/btf_sanitizer.hpp>
#include <ebpf/error.hpp>

#include "btf_builder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace {

using ebpf::btf;
using ebpf::btf_features;
using ebpf::btf_kind;
using ebpf::test::btf_builder;

btf_features without(bool btf_features::*feature) {
  btf_features f;
  f.*feature = false;
  return f;
}

// Sanitizes, checks the invariants every rewrite keeps, and returns the result parsed again.
btf sanitized(const btf& input, const btf_features& features) {
  EXPECT_TRUE(ebpf::needs_sanitizing(input, features));
  btf out = ebpf::sanitize_btf(input, features);
  EXPECT_FALSE(ebpf::needs_sanitizing(out, features));
  EXPECT_GE(out.type_count(), input.type_count());  // only the enum64 placeholder may be added
  btf reparsed = btf::parse(out.bytes());           // every kind rule holds
  EXPECT_EQ(reparsed.type_count(), out.type_count());
  return reparsed;
}

TEST(BtfSanitizerTest, CurrentKernelNeedsNothing) {
  btf_builder b;
  const auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  const auto v = b.add_variable("x", i);
  b.add_datasec(".data", 4, {{v, 0, 4}});
  b.add_float("double", 8);
  b.add_type_tag("user", i);
  b.add_enum64("big", 8, {{"A", 1LL << 40}});
  const btf input = btf::parse(b.build());
  EXPECT_FALSE(ebpf::needs_sanitizing(input, btf_features{}));
  const btf out = ebpf::sanitize_btf(input, btf_features{});
  EXPECT_TRUE(std::equal(out.bytes().begin(), out.bytes().end(), input.bytes().begin(), input.bytes().end()));
}

TEST(BtfSanitizerTest, VarBecomesOneByteIntAndDatasecAStructOfItsVariables) {
  btf_builder b;
  const auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  const auto c = b.add_int("char", 1, ebpf::btf_int_char);
  const auto x = b.add_variable("x", i);
  const auto y = b.add_variable("y", c, 0);
  const auto sec = b.add_datasec(".data.rel", 8, {{x, 0, 4}, {y, 4, 1}});
  const btf out = sanitized(btf::parse(b.build()), without(&btf_features::datasec));
  for (auto var : {x, y}) {
    const auto t = out.type(var);
    EXPECT_EQ(t.kind, btf_kind::integer);
    EXPECT_EQ(t.size_or_type, 1u);
    EXPECT_EQ(out.integer(var).bits, 8);
    EXPECT_EQ(out.integer(var).encoding, 0);
  }
  EXPECT_EQ(out.type(x).name, "x");
  const auto s = out.type(sec);
  EXPECT_EQ(s.kind, btf_kind::struct_);
  EXPECT_EQ(s.name, "_data_rel");
  EXPECT_EQ(s.size_or_type, 8u);
  const auto members = out.members(sec);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].name, "x");
  EXPECT_EQ(members[0].type, x);
  EXPECT_EQ(members[0].bit_offset, 0u);
  EXPECT_EQ(members[1].name, "y");
  EXPECT_EQ(members[1].bit_offset, 32u);
}

TEST(BtfSanitizerTest, QuestionMarkDatasecNameGetsAnUnderscore) {
  btf_builder b;
  const auto i = b.add_int("int", 4);
  const auto x = b.add_variable("x", i);
  const auto sec = b.add_datasec("?.data.opt", 4, {{x, 0, 4}});
  const btf out = sanitized(btf::parse(b.build()), without(&btf_features::qmark_datasec));
  EXPECT_EQ(out.type(sec).kind, btf_kind::datasec);
  EXPECT_EQ(out.type(sec).name, "_.data.opt");
  EXPECT_EQ(out.type(x).kind, btf_kind::variable);  // datasec itself is supported
}

TEST(BtfSanitizerTest, WithoutFuncProtosBecomeEnumsAndFuncsTypedefs) {
  btf_builder b;
  const auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  const auto proto = b.add_function_proto(i, {{"ctx", i}, {"flags", i}});
  const auto f = b.add_function("handler", proto, 1);
  const btf out = sanitized(btf::parse(b.build()), without(&btf_features::func));
  EXPECT_EQ(out.type(proto).kind, btf_kind::enum_);
  EXPECT_EQ(out.type(proto).size_or_type, 4u);
  const auto values = out.enumerators(proto);
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0].name, "ctx");
  EXPECT_EQ(values[0].value, i);
  EXPECT_EQ(values[1].name, "flags");
  EXPECT_EQ(out.type(f).kind, btf_kind::typedef_);
  EXPECT_EQ(out.type(f).name, "handler");
  EXPECT_EQ(out.type(f).size_or_type, proto);
  EXPECT_EQ(out.type(f).vlen, 0u);
}

TEST(BtfSanitizerTest, WithoutGlobalFuncsLinkageBecomesStatic) {
  btf_builder b;
  const auto i = b.add_int("int", 4);
  const auto proto = b.add_function_proto(i, {});
  const auto global = b.add_function("g", proto, 1);
  const auto local = b.add_function("s", proto, 0);
  const btf input = btf::parse(b.build());
  const btf out = sanitized(input, without(&btf_features::func_global));
  EXPECT_EQ(out.type(global).kind, btf_kind::function);
  EXPECT_EQ(out.func_linkage(global), 0u);
  EXPECT_EQ(out.func_linkage(local), 0u);
  EXPECT_EQ(out.type(proto).kind, btf_kind::function_proto);  // funcs themselves are supported
}

TEST(BtfSanitizerTest, FloatBecomesAnAnonymousStructOfItsSize) {
  btf_builder b;
  const auto d = b.add_float("double", 8);
  const auto ld = b.add_float("long double", 16);
  const btf out = sanitized(btf::parse(b.build()), without(&btf_features::floating));
  for (auto [id, size] : {std::pair{d, 8u}, std::pair{ld, 16u}}) {
    EXPECT_EQ(out.type(id).kind, btf_kind::struct_);
    EXPECT_EQ(out.type(id).name, "");
    EXPECT_EQ(out.type(id).size_or_type, size);
    EXPECT_EQ(out.type(id).vlen, 0u);
  }
}

TEST(BtfSanitizerTest, DeclTagBecomesOneByteInt) {
  btf_builder b;
  const auto i = b.add_int("int", 4);
  const auto x = b.add_variable("x", i);
  const auto tag = b.add_decl_tag("kptr", x, -1);
  const btf out = sanitized(btf::parse(b.build()), without(&btf_features::decl_tag));
  EXPECT_EQ(out.type(tag).kind, btf_kind::integer);
  EXPECT_EQ(out.type(tag).name, "kptr");
  EXPECT_EQ(out.type(tag).size_or_type, 1u);
  EXPECT_EQ(out.integer(tag).bits, 8);
  EXPECT_EQ(out.type(x).kind, btf_kind::variable);
}

TEST(BtfSanitizerTest, TypeTagBecomesConst) {
  btf_builder b;
  const auto i = b.add_int("int", 4);
  const auto tag = b.add_type_tag("user", i);
  const auto ptr = b.add_pointer(tag);
  const btf out = sanitized(btf::parse(b.build()), without(&btf_features::type_tag));
  EXPECT_EQ(out.type(tag).kind, btf_kind::const_);
  EXPECT_EQ(out.type(tag).name, "");
  EXPECT_EQ(out.type(tag).size_or_type, i);
  EXPECT_EQ(out.skip_modifiers_and_typedefs(out.type(ptr).size_or_type), i);
}

TEST(BtfSanitizerTest, WithoutEnum64SignedEnumLosesSignAndEnum64BecomesUnion) {
  btf_builder b;
  const auto e = b.add_enum("state", 4, {{"NEG", -1}, {"POS", 1}}, true);
  const auto e64 = b.add_enum64("wide", 8, {{"LOW", 1}, {"HIGH", 1LL << 40}});
  const btf input = btf::parse(b.build());
  const btf out = sanitized(input, without(&btf_features::enum64));
  EXPECT_EQ(out.type(e).kind, btf_kind::enum_);
  EXPECT_FALSE(out.type(e).kind_flag);
  EXPECT_EQ(out.enumerators(e)[0].value, 0xffffffffLL);  // unsigned now
  const auto u = out.type(e64);
  EXPECT_EQ(u.kind, btf_kind::union_);
  EXPECT_EQ(u.name, "wide");
  EXPECT_EQ(u.size_or_type, 8u);
  ASSERT_EQ(out.type_count(), input.type_count() + 1);
  const auto placeholder = input.type_count();
  EXPECT_EQ(out.type(placeholder).kind, btf_kind::integer);
  EXPECT_EQ(out.type(placeholder).name, "enum64_placeholder");
  EXPECT_EQ(out.type(placeholder).size_or_type, 1u);
  const auto members = out.members(e64);
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].name, "LOW");
  EXPECT_EQ(members[1].name, "HIGH");
  for (const auto& m : members) {
    EXPECT_EQ(m.type, placeholder);
    EXPECT_EQ(m.bit_offset, 0u);
  }
}

TEST(BtfSanitizerTest, EverythingOffRewritesEveryKindAndStillParses) {
  btf_builder b;
  const auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  const auto proto = b.add_function_proto(i, {{"a", i}});
  b.add_function("f", proto, 1);
  const auto x = b.add_variable("x", i);
  b.add_datasec("?.bss", 4, {{x, 0, 4}});
  b.add_float("float", 4);
  b.add_decl_tag("t", x, -1);
  b.add_type_tag("user", i);
  b.add_enum("s", 4, {{"A", -2}}, true);
  b.add_enum64("w", 8, {{"B", 1}});
  btf_features none;
  none.func = none.func_global = none.datasec = none.qmark_datasec = none.floating = none.decl_tag =
      none.type_tag = none.enum64 = false;
  const btf out = sanitized(btf::parse(b.build()), none);
  for (std::uint32_t id = 1; id < out.type_count(); ++id) {
    const auto kind = out.type(id).kind;
    EXPECT_TRUE(kind == btf_kind::integer || kind == btf_kind::struct_ || kind == btf_kind::union_ ||
                kind == btf_kind::enum_ || kind == btf_kind::typedef_ || kind == btf_kind::const_)
        << "type " << id << " is still a " << ebpf::to_string(kind);
  }
}

}  // namespace
