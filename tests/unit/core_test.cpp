// CO-RE relocation (include/ebpf/core.hpp): every relocation kind and rule on hand-made
// local/target BTF pairs whose expected values are worked out by hand in the comments, the
// instruction patching, and a cross-check against clang: tests/bpf/core_layout.bpf.c compiled
// with two layouts of the same types, where the values clang wrote into the second object are
// what relocating the first one against the second one's BTF must give.
#include <ebpf/core.hpp>
#include <ebpf/error.hpp>
#include <ebpf/object_spec.hpp>

#include "btf_builder.hpp"
#include "core_compat.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>
#include <tuple>

namespace {

using ebpf::btf;
using ebpf::btf_kind;
using ebpf::core_candidate_cache;
using ebpf::core_relocation_kind;
using ebpf::core_relocation_result;
using ebpf::errc;
using ebpf::instruction;
using ebpf::test::btf_builder;
using testing::HasSubstr;
using kind = core_relocation_kind;

constexpr std::uint8_t signed_int = ebpf::btf_int_signed;

btf parse(const btf_builder& b) { return btf::parse(b.build()); }

// One relocation of `local` against `target` with a fresh cache.
core_relocation_result relocate(const btf& local, std::uint32_t type_id, std::string_view access, kind k,
                                const btf& target, std::uint32_t insn = 0) {
  core_candidate_cache cache(target);
  return ebpf::compute_core_relocation(local, {insn, type_id, access, k}, target, cache);
}

// The error of a relocation that must fail.
ebpf::error relocation_error(const btf& local, std::uint32_t type_id, std::string_view access, kind k,
                             const btf& target, std::uint32_t insn = 0) {
  try {
    (void)relocate(local, type_id, access, k, target, insn);
  } catch (const ebpf::error& e) {
    return e;
  }
  ADD_FAILURE() << "relocation of [" << type_id << "] '" << access << "' succeeded, expected an error";
  return ebpf::error(errc::invalid_argument, "no error");
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(CoreNames, EssentialNameDropsTheLastFlavor) {
  EXPECT_EQ(ebpf::core_essential_name("task_struct___old"), "task_struct");
  EXPECT_EQ(ebpf::core_essential_name("a___b___c"), "a___b");
  EXPECT_EQ(ebpf::core_essential_name("foo___1"), "foo");
  EXPECT_EQ(ebpf::core_essential_name("task_struct"), "task_struct");
  // X___Y needs a non-underscore on both sides.
  EXPECT_EQ(ebpf::core_essential_name("__u32"), "__u32");
  EXPECT_EQ(ebpf::core_essential_name("x___"), "x___");
  EXPECT_EQ(ebpf::core_essential_name("___x"), "___x");
  EXPECT_EQ(ebpf::core_essential_name("a____b"), "a____b");
  EXPECT_EQ(ebpf::core_essential_name("a___b"), "a");
  EXPECT_EQ(ebpf::core_essential_name(""), "");
}

TEST(CoreNames, KindsHaveLibbpfNames) {
  EXPECT_EQ(ebpf::to_string(kind::field_byte_offset), "byte_off");
  EXPECT_EQ(ebpf::to_string(kind::field_byte_size), "byte_sz");
  EXPECT_EQ(ebpf::to_string(kind::field_exists), "field_exists");
  EXPECT_EQ(ebpf::to_string(kind::field_signed), "signed");
  EXPECT_EQ(ebpf::to_string(kind::field_lshift_u64), "lshift_u64");
  EXPECT_EQ(ebpf::to_string(kind::field_rshift_u64), "rshift_u64");
  EXPECT_EQ(ebpf::to_string(kind::type_id_local), "local_type_id");
  EXPECT_EQ(ebpf::to_string(kind::type_id_target), "target_type_id");
  EXPECT_EQ(ebpf::to_string(kind::type_exists), "type_exists");
  EXPECT_EQ(ebpf::to_string(kind::type_size), "type_size");
  EXPECT_EQ(ebpf::to_string(kind::enumval_exists), "enumval_exists");
  EXPECT_EQ(ebpf::to_string(kind::enumval_value), "enumval_value");
  EXPECT_EQ(ebpf::to_string(kind::type_matches), "type_matches");
  EXPECT_EQ(ebpf::to_string(static_cast<kind>(13)), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Field offsets through nested structs, arrays and anonymous members.
//
// local:  struct inner  { int a; int b; }                                  size 8
//         struct sample { int pid;            // byte 0
//                         struct inner in;    // byte 4
//                         struct inner items[4];  // bytes 8..40
//                         union { int u_i; long long u_ll; };  // byte 40 (anonymous)
//                         int cnt;            // byte 48
//                         u32 count;          // byte 52
//                         void *ptr; }        // byte 56, size 64
// target: struct inner  { long long x; int b; int a; }                     size 16
//         struct sample { long long added;    // byte 0
//                         struct { int pad; union { long long u_ll; int u_i; }; };  // bytes 8..24
//                         struct inner items[8];  // bytes 24..152
//                         struct inner in;    // byte 152
//                         int pid;            // byte 168
//                         long long cnt;      // byte 176
//                         u64 count;          // byte 184
//                         unsigned int ptr_lo; void *ptr; }  // byte 192, 200; size 208
struct layout_pair {
  btf local, target;
  std::uint32_t local_sample = 0, target_sample = 0, local_inner = 0, local_anon_union = 0;

  layout_pair() {
    btf_builder l;
    auto l_int = l.add_int("int", 4, signed_int);
    auto l_ll = l.add_int("long long", 8, signed_int);
    auto l_u32 = l.add_int("unsigned int", 4);
    auto l_void_ptr = l.add_pointer(0);
    local_inner = l.add_struct("inner", 8, {{"a", l_int, 0}, {"b", l_int, 32}});
    auto l_items = l.add_array(local_inner, l_int, 4);
    local_anon_union = l.add_union("", 8, {{"u_i", l_int, 0}, {"u_ll", l_ll, 0}});
    local_sample = l.add_struct("sample", 64,
                                {{"pid", l_int, 0},
                                 {"in", local_inner, 32},
                                 {"items", l_items, 64},
                                 {"", local_anon_union, 320},
                                 {"cnt", l_int, 384},
                                 {"count", l_u32, 416},
                                 {"ptr", l_void_ptr, 448}});
    local = parse(l);

    btf_builder t;
    auto t_int = t.add_int("int", 4, signed_int);
    auto t_ll = t.add_int("long long", 8, signed_int);
    auto t_u64 = t.add_int("unsigned long long", 8);
    auto t_u32 = t.add_int("unsigned int", 4);
    auto t_void_ptr = t.add_pointer(0);
    auto t_inner = t.add_struct("inner", 16, {{"x", t_ll, 0}, {"b", t_int, 64}, {"a", t_int, 96}});
    auto t_items = t.add_array(t_inner, t_int, 8);
    auto t_union = t.add_union("", 8, {{"u_ll", t_ll, 0}, {"u_i", t_int, 0}});
    auto t_anon = t.add_struct("", 16, {{"pad", t_int, 0}, {"", t_union, 64}});
    target_sample = t.add_struct("sample", 208,
                                 {{"added", t_ll, 0},
                                  {"", t_anon, 64},
                                  {"items", t_items, 192},
                                  {"in", t_inner, 1216},
                                  {"pid", t_int, 1344},
                                  {"cnt", t_ll, 1408},
                                  {"count", t_u64, 1472},
                                  {"ptr_lo", t_u32, 1536},
                                  {"ptr", t_void_ptr, 1600}});
    target = parse(t);
  }

  core_relocation_result offset(std::string_view access, kind k = kind::field_byte_offset) const {
    return relocate(local, local_sample, access, k, target, 3);
  }
};

TEST(CoreFieldOffset, PlainField) {
  layout_pair p;
  auto r = p.offset("0:0");  // s->pid
  EXPECT_EQ(r.local_value, 0u);
  EXPECT_EQ(r.target_value, 168u);
  EXPECT_FALSE(r.poisoned);
  EXPECT_TRUE(r.validate);
  EXPECT_EQ(r.target_type_id, p.target_sample);
  EXPECT_EQ(r.target_access_string, "0:4");
  EXPECT_EQ(r.candidates, 1u);
  EXPECT_EQ(r.local_access, "sample.pid");
  EXPECT_EQ(r.local_type_name, "sample");
  EXPECT_EQ(r.local_type_kind, btf_kind::struct_);
  EXPECT_EQ(r.instruction, 3u);
  EXPECT_EQ(r.local_memory_size, 4u);
  EXPECT_EQ(r.target_memory_size, 4u);
  EXPECT_FALSE(r.memory_size_mismatch);
  EXPECT_THAT(r.reason, HasSubstr("struct sample [" + std::to_string(p.target_sample) + "]"));
}

TEST(CoreFieldOffset, NestedStructMember) {
  layout_pair p;
  auto r = p.offset("0:1:1");  // s->in.b: local 4 + 4, target 152 + 8
  EXPECT_EQ(r.local_value, 8u);
  EXPECT_EQ(r.target_value, 160u);
  EXPECT_EQ(r.target_access_string, "0:3:1");
  EXPECT_EQ(r.local_access, "sample.in.b");
}

TEST(CoreFieldOffset, ArrayElementMember) {
  layout_pair p;
  auto r = p.offset("0:2:2:0");  // s->items[2].a: local 8 + 2*8 + 0, target 24 + 2*16 + 12
  EXPECT_EQ(r.local_value, 24u);
  EXPECT_EQ(r.target_value, 68u);
  EXPECT_EQ(r.target_access_string, "0:2:2:2");
  EXPECT_EQ(r.local_access, "sample.items[2].a");
}

TEST(CoreFieldOffset, ArrayElementItself) {
  layout_pair p;
  auto off = p.offset("0:2:3");  // &s->items[3]: local 8 + 24, target 24 + 48
  EXPECT_EQ(off.local_value, 32u);
  EXPECT_EQ(off.target_value, 72u);
  // The access size of an element is the element's (not the array's).
  EXPECT_EQ(off.local_memory_size, 8u);
  EXPECT_EQ(off.target_memory_size, 16u);
  auto size = p.offset("0:2:3", kind::field_byte_size);
  EXPECT_EQ(size.local_value, 8u);
  EXPECT_EQ(size.target_value, 16u);
  auto whole = p.offset("0:2", kind::field_byte_size);  // sizeof(s->items)
  EXPECT_EQ(whole.local_value, 32u);
  EXPECT_EQ(whole.target_value, 128u);
}

TEST(CoreFieldOffset, AnonymousUnionMemberMovedIntoAnonymousStruct) {
  layout_pair p;
  auto r = p.offset("0:3:0");  // s->u_i: local 40, target 8 + 8 + 0 through two anonymous levels
  EXPECT_EQ(r.local_value, 40u);
  EXPECT_EQ(r.target_value, 16u);
  EXPECT_EQ(r.target_access_string, "0:1:1:1");
  EXPECT_EQ(r.local_access, "sample.u_i");
  auto size = p.offset("0:3:1", kind::field_byte_size);  // s->u_ll
  EXPECT_EQ(size.target_value, 8u);
}

TEST(CoreFieldOffset, RootArrayIndex) {
  layout_pair p;
  auto r = p.offset("1:0");  // p[1].pid: local 64 + 0, target 208 + 168
  EXPECT_EQ(r.local_value, 64u);
  EXPECT_EQ(r.target_value, 376u);
  EXPECT_EQ(r.local_access, "sample[1].pid");
}

TEST(CoreFieldOffset, SizeChangeOfUnsignedAndPointerIsAdjustable) {
  layout_pair p;
  auto count = p.offset("0:5");  // u32 -> u64
  EXPECT_EQ(count.target_value, 184u);
  EXPECT_EQ(count.local_memory_size, 4u);
  EXPECT_EQ(count.target_memory_size, 8u);
  EXPECT_FALSE(count.memory_size_mismatch);
  auto ptr = p.offset("0:6");
  EXPECT_EQ(ptr.target_value, 200u);
  EXPECT_FALSE(ptr.memory_size_mismatch);
}

TEST(CoreFieldOffset, SizeChangeOfSignedIntegerIsAMismatch) {
  layout_pair p;
  auto r = p.offset("0:4");  // int -> long long
  EXPECT_EQ(r.local_value, 48u);
  EXPECT_EQ(r.target_value, 176u);
  EXPECT_TRUE(r.memory_size_mismatch);
  EXPECT_FALSE(r.poisoned);  // only a load/store of it is poisoned, see CorePatch
}

TEST(CoreFieldOffset, SizesOfFields) {
  layout_pair p;
  EXPECT_EQ(p.offset("0:4", kind::field_byte_size).target_value, 8u);
  EXPECT_EQ(p.offset("0:1", kind::field_byte_size).target_value, 16u);  // struct inner
  EXPECT_EQ(p.offset("0:1", kind::field_byte_size).local_value, 8u);
  EXPECT_EQ(p.offset("0:0", kind::field_exists).target_value, 1u);
  // A non-bitfield: shifts that load the whole field.
  auto lshift = p.offset("0:4", kind::field_lshift_u64);
  EXPECT_EQ(lshift.local_value, 32u);  // 64 - 32
  EXPECT_EQ(lshift.target_value, 0u);  // 64 - 64
  auto rshift = p.offset("0:4", kind::field_rshift_u64);
  EXPECT_EQ(rshift.local_value, 32u);
  EXPECT_EQ(rshift.target_value, 0u);
  EXPECT_TRUE(rshift.validate);
}

TEST(CoreFieldOffset, TargetArrayTooShortPoisons) {
  // local items[8], target items[2]: index 5 exists only locally.
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_items = l.add_array(l_int, l_int, 8);
  auto l_s = l.add_struct("s", 32, {{"items", l_items, 0}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_items = t.add_array(t_int, t_int, 2);
  t.add_struct("s", 8, {{"items", t_items, 0}});
  auto local = parse(l), target = parse(t);
  auto r = relocate(local, l_s, "0:0:5", kind::field_byte_offset, target);
  EXPECT_EQ(r.local_value, 20u);
  EXPECT_TRUE(r.poisoned);
  EXPECT_THAT(r.reason, HasSubstr("index 5 is beyond the target's array of 2"));
  EXPECT_EQ(relocate(local, l_s, "0:0:5", kind::field_exists, target).target_value, 0u);
  EXPECT_EQ(relocate(local, l_s, "0:0:1", kind::field_byte_offset, target).target_value, 4u);
}

TEST(CoreFieldOffset, FlexibleArrayIndexesBeyondItsBounds) {
  // struct msg { int len; int data[]; } with data[10] accessed: the last member with 0 elements.
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_data = l.add_array(l_int, l_int, 0);
  auto l_msg = l.add_struct("msg", 4, {{"len", l_int, 0}, {"data", l_data, 32}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_ll = t.add_int("long long", 8, signed_int);
  auto t_data = t.add_array(t_int, t_int, 0);
  t.add_struct("msg", 16, {{"flags", t_ll, 0}, {"len", t_int, 64}, {"data", t_data, 96}});
  auto local = parse(l), target = parse(t);
  auto r = relocate(local, l_msg, "0:1:10", kind::field_byte_offset, target);
  EXPECT_EQ(r.local_value, 44u);   // 4 + 10*4
  EXPECT_EQ(r.target_value, 52u);  // 12 + 10*4
  EXPECT_FALSE(r.poisoned);
}

TEST(CoreFieldOffset, ZeroLengthArrayNotLastIsBounded) {
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_data = l.add_array(l_int, l_int, 0);
  auto l_s = l.add_struct("s", 4, {{"data", l_data, 0}, {"len", l_int, 0}});
  auto local = parse(l);
  auto e = relocation_error(local, l_s, "0:0:1", kind::field_byte_offset, local);
  EXPECT_EQ(e.code(), errc::relocation_failed);
  EXPECT_THAT(e.what(), HasSubstr("index 1 of an array of 0"));
}

TEST(CoreFieldOffset, MissingFieldPoisonsAndExistsIsZero) {
  layout_pair p;
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_sample = l.add_struct("sample", 8, {{"pid", l_int, 0}, {"gone", l_int, 32}});
  auto local = parse(l);
  auto r = relocate(local, l_sample, "0:1", kind::field_byte_offset, p.target);
  EXPECT_TRUE(r.poisoned);
  EXPECT_EQ(r.local_value, 4u);
  EXPECT_EQ(r.target_type_id, 0u);
  EXPECT_EQ(r.candidates, 0u);
  EXPECT_THAT(r.reason, HasSubstr("poisoned"));
  EXPECT_THAT(r.reason, HasSubstr("no field 'gone'"));
  auto exists = relocate(local, l_sample, "0:1", kind::field_exists, p.target);
  EXPECT_FALSE(exists.poisoned);
  EXPECT_EQ(exists.local_value, 1u);
  EXPECT_EQ(exists.target_value, 0u);
  for (kind k : {kind::field_byte_size, kind::field_signed, kind::field_lshift_u64, kind::field_rshift_u64}) {
    EXPECT_TRUE(relocate(local, l_sample, "0:1", k, p.target).poisoned) << ebpf::to_string(k);
  }
}

TEST(CoreFieldOffset, MissingTypePoisonsAndExistsIsZero) {
  layout_pair p;
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_gone = l.add_struct("nowhere", 4, {{"x", l_int, 0}});
  auto local = parse(l);
  auto r = relocate(local, l_gone, "0:0", kind::field_byte_offset, p.target);
  EXPECT_TRUE(r.poisoned);
  EXPECT_THAT(r.reason, HasSubstr("the target has no struct 'nowhere'"));
  EXPECT_EQ(relocate(local, l_gone, "0:0", kind::field_exists, p.target).target_value, 0u);
  EXPECT_FALSE(relocate(local, l_gone, "0:0", kind::field_exists, p.target).poisoned);
}

TEST(CoreFieldOffset, IncompatibleFieldTypeDoesNotMatch) {
  // local: struct s { int a; }  target: struct s { struct { int x; } a; }
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_s = l.add_struct("s", 4, {{"a", l_int, 0}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_in = t.add_struct("in", 4, {{"x", t_int, 0}});
  t.add_struct("s", 4, {{"a", t_in, 0}});
  auto local = parse(l), target = parse(t);
  auto r = relocate(local, l_s, "0:0", kind::field_byte_offset, target);
  EXPECT_TRUE(r.poisoned);
  EXPECT_THAT(r.reason, HasSubstr("field 'a' of struct s"));
  EXPECT_THAT(r.reason, HasSubstr("incompatible"));
}

TEST(CoreFieldOffset, CompatibleFieldTypes) {
  // Any two structs/unions, pointers, floats and integers of any size are compatible; enums by
  // name (or anonymous); arrays by element.
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_char = l.add_int("char", 1, ebpf::btf_int_char);
  auto l_ptr = l.add_pointer(l_int);
  auto l_e = l.add_enum("color", 4, {{"red", 0}});
  auto l_arr = l.add_array(l_char, l_int, 4);
  auto l_u = l.add_union("u", 4, {{"i", l_int, 0}});
  auto l_s = l.add_struct("s", 40, {{"i", l_int, 0}, {"p", l_ptr, 64}, {"e", l_e, 128}, {"arr", l_arr, 160},
                                    {"agg", l_u, 192}, {"named_enum", l_e, 224}});
  btf_builder t;
  auto t_ll = t.add_int("long long", 8, signed_int);
  auto t_ptr = t.add_pointer(0);
  auto t_e = t.add_enum64("", 8, {{"blue", 1}});
  auto t_e2 = t.add_enum("other", 4, {{"x", 1}});
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_arr = t.add_array(t_ll, t_int, 2);
  auto t_st = t.add_struct("st", 4, {{"x", t_int, 0}});
  t.add_struct("s", 64, {{"i", t_ll, 0}, {"p", t_ptr, 64}, {"e", t_e, 128}, {"arr", t_arr, 192},
                         {"agg", t_st, 320}, {"named_enum", t_e2, 352}});
  auto local = parse(l), target = parse(t);
  EXPECT_EQ(relocate(local, l_s, "0:0", kind::field_byte_offset, target).target_value, 0u);
  EXPECT_EQ(relocate(local, l_s, "0:1", kind::field_byte_offset, target).target_value, 8u);
  EXPECT_EQ(relocate(local, l_s, "0:2", kind::field_byte_offset, target).target_value, 16u);  // anonymous enum64
  EXPECT_EQ(relocate(local, l_s, "0:3", kind::field_byte_size, target).target_value, 16u);
  EXPECT_EQ(relocate(local, l_s, "0:4", kind::field_byte_offset, target).target_value, 40u);  // union vs struct
  // Two named enums must have the same essential name.
  EXPECT_TRUE(relocate(local, l_s, "0:5", kind::field_byte_offset, target).poisoned);
}

// ---------------------------------------------------------------------------------------------
// Bitfields.
//
// local  struct bits (kind_flag) { u32 a:3 @0; u32 b:9 @3; int c:5 @12; u32 d:4 @30; }  size 8
// target struct bits (kind_flag) { u32 pad:7 @0; u32 b:9 @7; u32 a:3 @16; int c:11 @40;
//                                  u32 d:4 @64; }  size 16
// libbpf's load: the field type's size, doubled until one naturally aligned load covers the bits.
//   local b: bits 3..12   -> 4-byte load at 0, lshift 64-12=52, rshift 64-9=55
//   target b: bits 7..16  -> 4-byte load at 0, lshift 64-16=48, rshift 55
//   local c: bits 12..17  -> load at 0, lshift 47, rshift 59, signed
//   target c: bits 40..51 -> 4-byte load at 4 (bits 8..19 of it), lshift 45, rshift 53
//   local d: bits 30..34 crosses 32 -> 8-byte load at 0, lshift 30, rshift 60
//   target d: bits 64..68 -> 4-byte load at 8, lshift 60, rshift 60
struct bitfield_pair {
  btf local, target;
  std::uint32_t local_bits = 0;
  bitfield_pair() {
    btf_builder l;
    auto l_u32 = l.add_int("unsigned int", 4);
    auto l_int = l.add_int("int", 4, signed_int);
    local_bits = l.add_struct("bits", 8, {{"a", l_u32, 0, 3}, {"b", l_u32, 3, 9}, {"c", l_int, 12, 5}, {"d", l_u32, 30, 4}},
                              true);
    local = parse(l);
    btf_builder t;
    auto t_u32 = t.add_int("unsigned int", 4);
    auto t_int = t.add_int("int", 4, signed_int);
    t.add_struct("bits", 16,
                 {{"pad", t_u32, 0, 7}, {"b", t_u32, 7, 9}, {"a", t_u32, 16, 3}, {"c", t_int, 40, 11}, {"d", t_u32, 64, 4}},
                 true);
    target = parse(t);
  }
  core_relocation_result get(std::string_view access, kind k) const {
    return relocate(local, local_bits, access, k, target);
  }
};

TEST(CoreBitfield, ByteOffsetSizeAndShifts) {
  bitfield_pair p;
  auto b_off = p.get("0:1", kind::field_byte_offset);
  EXPECT_EQ(b_off.local_value, 0u);
  EXPECT_EQ(b_off.target_value, 0u);
  EXPECT_FALSE(b_off.validate);  // clang may choose another load for a bitfield
  EXPECT_EQ(b_off.local_memory_size, 0u);  // no load/store resizing for bitfields
  EXPECT_EQ(p.get("0:1", kind::field_byte_size).target_value, 4u);
  EXPECT_FALSE(p.get("0:1", kind::field_byte_size).validate);
  auto b_l = p.get("0:1", kind::field_lshift_u64);
  EXPECT_EQ(b_l.local_value, 52u);
  EXPECT_EQ(b_l.target_value, 48u);
  EXPECT_FALSE(b_l.validate);
  auto b_r = p.get("0:1", kind::field_rshift_u64);
  EXPECT_EQ(b_r.local_value, 55u);
  EXPECT_EQ(b_r.target_value, 55u);
  EXPECT_TRUE(b_r.validate);  // the width is never ambiguous

  auto c_off = p.get("0:2", kind::field_byte_offset);
  EXPECT_EQ(c_off.target_value, 4u);
  EXPECT_EQ(p.get("0:2", kind::field_lshift_u64).local_value, 47u);
  EXPECT_EQ(p.get("0:2", kind::field_lshift_u64).target_value, 45u);
  EXPECT_EQ(p.get("0:2", kind::field_rshift_u64).local_value, 59u);
  EXPECT_EQ(p.get("0:2", kind::field_rshift_u64).target_value, 53u);
  auto c_signed = p.get("0:2", kind::field_signed);
  EXPECT_EQ(c_signed.local_value, 1u);
  EXPECT_EQ(c_signed.target_value, 1u);
  EXPECT_TRUE(c_signed.validate);

  auto a_l = p.get("0:0", kind::field_lshift_u64);  // target a: bits 16..19
  EXPECT_EQ(a_l.local_value, 61u);
  EXPECT_EQ(a_l.target_value, 45u);
  EXPECT_EQ(p.get("0:0", kind::field_signed).target_value, 0u);
}

TEST(CoreBitfield, StraddlingBitfieldGetsAWiderLoad) {
  bitfield_pair p;
  auto size = p.get("0:3", kind::field_byte_size);
  EXPECT_EQ(size.local_value, 8u);
  EXPECT_EQ(size.target_value, 4u);
  auto off = p.get("0:3", kind::field_byte_offset);
  EXPECT_EQ(off.local_value, 0u);
  EXPECT_EQ(off.target_value, 8u);
  EXPECT_EQ(p.get("0:3", kind::field_lshift_u64).local_value, 30u);
  EXPECT_EQ(p.get("0:3", kind::field_lshift_u64).target_value, 60u);
  EXPECT_EQ(p.get("0:3", kind::field_rshift_u64).target_value, 60u);
}

TEST(CoreBitfield, NoSingleLoadCoversItIsAnError) {
  // A packed u32 bitfield at bits 60..70 crosses an 8-byte boundary.
  btf_builder l;
  auto l_u32 = l.add_int("unsigned int", 4);
  auto l_s = l.add_struct("packed", 9, {{"x", l_u32, 60, 10}}, true);
  auto local = parse(l);
  auto e = relocation_error(local, l_s, "0:0", kind::field_lshift_u64, local, 9);
  EXPECT_EQ(e.code(), errc::relocation_failed);
  EXPECT_THAT(e.what(), HasSubstr("64-bit load"));
  EXPECT_THAT(e.what(), HasSubstr("instruction 9"));
}

// ---------------------------------------------------------------------------------------------
// Signedness.

TEST(CoreSigned, IntegersEnumsAndPointers) {
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_u32 = l.add_int("unsigned int", 4);
  auto l_char = l.add_int("char", 1, ebpf::btf_int_signed);
  auto l_uchar = l.add_int("uchar", 1, ebpf::btf_int_char);
  auto l_se = l.add_enum("se", 4, {{"neg", -1}}, true);
  auto l_ue = l.add_enum("ue", 4, {{"pos", 1}}, false);
  auto l_ptr = l.add_pointer(l_int);
  auto l_s = l.add_struct("sig", 40, {{"i", l_int, 0}, {"u", l_u32, 32}, {"ch", l_char, 64}, {"se", l_se, 96},
                                      {"ue", l_ue, 128}, {"p", l_ptr, 192}, {"uc", l_uchar, 256}});
  // The target flips int and unsigned.
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_u32 = t.add_int("unsigned int", 4);
  t.add_struct("sig", 8, {{"u", t_int, 0}, {"i", t_u32, 32}});
  auto local = parse(l), target = parse(t);

  auto i = relocate(local, l_s, "0:0", kind::field_signed, target);
  EXPECT_EQ(i.local_value, 1u);
  EXPECT_EQ(i.target_value, 0u);
  EXPECT_TRUE(i.validate);
  auto u = relocate(local, l_s, "0:1", kind::field_signed, target);
  EXPECT_EQ(u.local_value, 0u);
  EXPECT_EQ(u.target_value, 1u);
  // Against itself: a char with the signed encoding, enums by kind_flag, pointers unsigned; the
  // "char" encoding alone is not signed.
  EXPECT_EQ(relocate(local, l_s, "0:2", kind::field_signed, local).target_value, 1u);
  EXPECT_EQ(relocate(local, l_s, "0:3", kind::field_signed, local).target_value, 1u);
  EXPECT_EQ(relocate(local, l_s, "0:4", kind::field_signed, local).target_value, 0u);
  EXPECT_EQ(relocate(local, l_s, "0:5", kind::field_signed, local).target_value, 0u);
  EXPECT_EQ(relocate(local, l_s, "0:6", kind::field_signed, local).target_value, 0u);
}

// ---------------------------------------------------------------------------------------------
// Flavors.

TEST(CoreFlavor, LocalFlavorMatchesPlainTargetName) {
  // struct task___old { int pid; int old_field; } against struct task { long x; int pid; }.
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_old = l.add_struct("task___old", 8, {{"pid", l_int, 0}, {"old_field", l_int, 32}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_long = t.add_int("long", 8, signed_int);
  auto t_task = t.add_struct("task", 16, {{"x", t_long, 0}, {"pid", t_int, 64}});
  auto local = parse(l), target = parse(t);
  auto r = relocate(local, l_old, "0:0", kind::field_byte_offset, target);
  EXPECT_EQ(r.target_value, 8u);
  EXPECT_EQ(r.target_type_id, t_task);
  EXPECT_EQ(r.local_type_name, "task___old");
  EXPECT_EQ(r.local_access, "task___old.pid");
  // The flavor's other field is not in the target: exists is 0, a read is poisoned.
  EXPECT_EQ(relocate(local, l_old, "0:1", kind::field_exists, target).target_value, 0u);
  EXPECT_TRUE(relocate(local, l_old, "0:1", kind::field_byte_offset, target).poisoned);
}

TEST(CoreFlavor, PlainLocalNameMatchesFlavoredTarget) {
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_s = l.add_struct("sock", 4, {{"state", l_int, 0}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  t.add_struct("sock_common", 4, {{"state", t_int, 0}});  // a different essential name
  auto t_flavor = t.add_struct("sock___2", 8, {{"pad", t_int, 0}, {"state", t_int, 32}});
  auto local = parse(l), target = parse(t);
  auto r = relocate(local, l_s, "0:0", kind::field_byte_offset, target);
  EXPECT_EQ(r.target_value, 4u);
  EXPECT_EQ(r.target_type_id, t_flavor);
}

TEST(CoreFlavor, EnumeratorFlavors) {
  btf_builder l;
  auto l_e = l.add_enum("state", 4, {{"RUNNING___old", 1}});
  btf_builder t;
  t.add_enum("state", 4, {{"STOPPED", 0}, {"RUNNING", 7}});
  auto local = parse(l), target = parse(t);
  auto r = relocate(local, l_e, "0", kind::enumval_value, target);
  EXPECT_EQ(r.local_value, 1u);
  EXPECT_EQ(r.target_value, 7u);
  EXPECT_EQ(r.target_access_string, "1");
  EXPECT_EQ(r.local_access, "state::RUNNING___old");
}

// ---------------------------------------------------------------------------------------------
// Type-based kinds.
//
// local:  struct s { int a; } (4), typedef s_t, struct only_local, union s (a union named s)
// target: struct s { long long z; int a; } (16), typedef s_t
struct type_pair {
  btf local, target;
  std::uint32_t l_s = 0, l_s_t = 0, l_only = 0, l_union_s = 0, l_int = 0, t_s = 0, t_s_t = 0;
  type_pair() {
    btf_builder l;
    l_int = l.add_int("int", 4, signed_int);
    l_s = l.add_struct("s", 4, {{"a", l_int, 0}});
    l_s_t = l.add_typedef("s_t", l_s);
    l_only = l.add_struct("only_local", 4, {{"a", l_int, 0}});
    l_union_s = l.add_union("s", 4, {{"a", l_int, 0}});
    local = parse(l);
    btf_builder t;
    auto t_ll = t.add_int("long long", 8, signed_int);
    auto t_int = t.add_int("int", 4, signed_int);
    t_s = t.add_struct("s", 16, {{"z", t_ll, 0}, {"a", t_int, 64}});
    t_s_t = t.add_typedef("s_t", t_s);
    target = parse(t);
  }
};

TEST(CoreType, LocalTypeIdNeedsNoTarget) {
  type_pair p;
  auto r = relocate(p.local, p.l_only, "0", kind::type_id_local, p.target);
  EXPECT_EQ(r.local_value, p.l_only);
  EXPECT_EQ(r.target_value, p.l_only);
  EXPECT_FALSE(r.validate);
  EXPECT_FALSE(r.poisoned);
  EXPECT_EQ(r.local_access, "");
}

TEST(CoreType, TargetTypeId) {
  type_pair p;
  auto r = relocate(p.local, p.l_s, "0", kind::type_id_target, p.target);
  EXPECT_EQ(r.local_value, p.l_s);
  EXPECT_EQ(r.target_value, p.t_s);
  EXPECT_EQ(r.target_type_id, p.t_s);
  EXPECT_FALSE(r.validate);
  EXPECT_EQ(relocate(p.local, p.l_s_t, "0", kind::type_id_target, p.target).target_value, p.t_s_t);
  auto missing = relocate(p.local, p.l_only, "0", kind::type_id_target, p.target);
  EXPECT_EQ(missing.target_value, 0u);
  EXPECT_FALSE(missing.poisoned);
}

TEST(CoreType, ExistsAndSize) {
  type_pair p;
  auto exists = relocate(p.local, p.l_s, "0", kind::type_exists, p.target);
  EXPECT_EQ(exists.local_value, 1u);
  EXPECT_EQ(exists.target_value, 1u);
  EXPECT_TRUE(exists.validate);
  auto size = relocate(p.local, p.l_s, "0", kind::type_size, p.target);
  EXPECT_EQ(size.local_value, 4u);
  EXPECT_EQ(size.target_value, 16u);
  EXPECT_EQ(relocate(p.local, p.l_s_t, "0", kind::type_size, p.target).target_value, 16u);  // typedef candidates
  // Missing types give 0, not poison.
  auto gone = relocate(p.local, p.l_only, "0", kind::type_exists, p.target);
  EXPECT_EQ(gone.target_value, 0u);
  EXPECT_FALSE(gone.poisoned);
  EXPECT_EQ(relocate(p.local, p.l_only, "0", kind::type_size, p.target).target_value, 0u);
  // A union named like a target struct is not the same type.
  EXPECT_EQ(relocate(p.local, p.l_union_s, "0", kind::type_exists, p.target).target_value, 0u);
}

TEST(CoreType, Matches) {
  type_pair p;
  // Every local member exists in the target with a matching type.
  EXPECT_EQ(relocate(p.local, p.l_s, "0", kind::type_matches, p.target).target_value, 1u);
  EXPECT_EQ(relocate(p.local, p.l_s_t, "0", kind::type_matches, p.target).target_value, 1u);
  EXPECT_EQ(relocate(p.local, p.l_only, "0", kind::type_matches, p.target).target_value, 0u);

  // An int that changed size matches no longer, though the type still "exists".
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_s = l.add_struct("s", 8, {{"z", l_int, 0}, {"a", l_int, 32}});
  auto local = parse(l);
  EXPECT_EQ(relocate(local, l_s, "0", kind::type_matches, p.target).target_value, 0u);
  EXPECT_EQ(relocate(local, l_s, "0", kind::type_exists, p.target).target_value, 1u);
}

TEST(CoreType, MatchesRules) {
  // local:  struct m { struct x *p; enum e f; unsigned int arr[4]; int (*fn)(int); }
  // target: the same with x only a forward declaration, e with more enumerators.
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_u32 = l.add_int("unsigned int", 4);
  auto l_x = l.add_struct("x", 4, {{"v", l_int, 0}});
  auto l_px = l.add_pointer(l_x);
  auto l_e = l.add_enum("e", 4, {{"A", 0}, {"B", 1}});
  auto l_arr = l.add_array(l_u32, l_int, 4);
  auto l_proto = l.add_function_proto(l_int, {{"", l_int}});
  auto l_fn = l.add_pointer(l_proto);
  auto l_m = l.add_struct("m", 40, {{"p", l_px, 0}, {"f", l_e, 64}, {"arr", l_arr, 96}, {"fn", l_fn, 256}});
  auto local = parse(l);

  auto target_with = [&](std::uint32_t e_size, std::uint32_t count, bool fn_two_args, bool unsigned_elements) {
    btf_builder t;
    auto t_int = t.add_int("int", 4, signed_int);
    auto t_u32 = t.add_int("unsigned int", 4);
    auto t_x = t.add_forward("x");
    auto t_px = t.add_pointer(t_x);
    auto t_e = e_size == 8 ? t.add_enum64("e", 8, {{"B", 5}, {"C", 6}, {"A", 7}})
                           : t.add_enum("e", 4, {{"B", 5}, {"C", 6}, {"A", 7}});
    auto t_arr = t.add_array(unsigned_elements ? t_u32 : t_int, t_int, count);
    std::vector<btf_builder::parameter> params{{"", t_int}};
    if (fn_two_args) params.push_back({"", t_int});
    auto t_proto = t.add_function_proto(t_int, params);
    auto t_fn = t.add_pointer(t_proto);
    t.add_struct("m", 48, {{"p", t_px, 0}, {"f", t_e, 64}, {"arr", t_arr, 96}, {"fn", t_fn, 320}});
    return parse(t);
  };
  auto good = target_with(4, 4, false, true);
  EXPECT_EQ(relocate(local, l_m, "0", kind::type_matches, good).target_value, 1u);
  auto enum_size = target_with(8, 4, false, true);
  EXPECT_EQ(relocate(local, l_m, "0", kind::type_matches, enum_size).target_value, 0u);
  auto array_count = target_with(4, 5, false, true);
  EXPECT_EQ(relocate(local, l_m, "0", kind::type_matches, array_count).target_value, 0u);
  auto prototype = target_with(4, 4, true, true);
  EXPECT_EQ(relocate(local, l_m, "0", kind::type_matches, prototype).target_value, 0u);
  auto sign = target_with(4, 4, false, false);
  EXPECT_EQ(relocate(local, l_m, "0", kind::type_matches, sign).target_value, 0u);
  // The looser rules of type_exists accept all of them.
  for (const btf* t : {&enum_size, &array_count, &sign}) {
    EXPECT_EQ(relocate(local, l_m, "0", kind::type_exists, *t).target_value, 1u);
  }
}

TEST(CoreType, ExistsComparesPrototypes) {
  // typedef int (*handler_t)(int): compatible when arity matches.
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_proto = l.add_function_proto(l_int, {{"", l_int}});
  auto l_ptr = l.add_pointer(l_proto);
  auto l_h = l.add_typedef("handler_t", l_ptr);
  auto local = parse(l);
  btf_builder t;
  auto t_long = t.add_int("long", 8, signed_int);
  auto t_proto = t.add_function_proto(t_long, {{"", t_long}, {"", t_long}});
  auto t_ptr = t.add_pointer(t_proto);
  t.add_typedef("handler_t", t_ptr);
  auto target = parse(t);
  EXPECT_EQ(relocate(local, l_h, "0", kind::type_exists, target).target_value, 0u);
  EXPECT_EQ(relocate(local, l_h, "0", kind::type_exists, local).target_value, 1u);
}

// ---------------------------------------------------------------------------------------------
// Enumerator kinds.

struct enum_pair {
  btf local, target;
  std::uint32_t l_state = 0, l_wide = 0, l_neg = 0, l_narrow = 0;
  enum_pair() {
    btf_builder l;
    l_state = l.add_enum("state", 4, {{"IDLE", 0}, {"RUNNING", 1}, {"OLD", 3}});
    l_wide = l.add_enum64("wide", 8, {{"BIG", std::int64_t{1} << 32}});
    l_neg = l.add_enum("neg", 4, {{"MINUS", -1}}, true);
    l_narrow = l.add_enum("narrow", 4, {{"N", 2}});
    local = parse(l);
    btf_builder t;
    t.add_enum("state", 4, {{"RUNNING", 5}, {"IDLE", 3}});
    t.add_enum64("wide", 8, {{"BIG", std::int64_t{1} << 33}});
    // An unsigned 32-bit enum with its top bit set: libbpf sign-extends it anyway.
    t.add_enum("neg", 4, {{"MINUS", static_cast<std::int64_t>(0xfffffffeu)}}, false);
    t.add_enum64("narrow", 8, {{"N", 0x123456789}});  // enum vs enum64 are candidates of each other
    target = parse(t);
  }
};

TEST(CoreEnum, ValueAndExists) {
  enum_pair p;
  auto running = relocate(p.local, p.l_state, "1", kind::enumval_value, p.target);
  EXPECT_EQ(running.local_value, 1u);
  EXPECT_EQ(running.target_value, 5u);
  EXPECT_TRUE(running.validate);
  EXPECT_EQ(running.local_access, "state::RUNNING");
  EXPECT_EQ(relocate(p.local, p.l_state, "0", kind::enumval_value, p.target).target_value, 3u);
  EXPECT_EQ(relocate(p.local, p.l_state, "1", kind::enumval_exists, p.target).target_value, 1u);
  auto old_exists = relocate(p.local, p.l_state, "2", kind::enumval_exists, p.target);
  EXPECT_EQ(old_exists.local_value, 1u);
  EXPECT_EQ(old_exists.target_value, 0u);
  EXPECT_FALSE(old_exists.poisoned);
  auto old_value = relocate(p.local, p.l_state, "2", kind::enumval_value, p.target);
  EXPECT_TRUE(old_value.poisoned);
  EXPECT_EQ(old_value.local_value, 3u);
  EXPECT_THAT(old_value.reason, HasSubstr("no enumerator 'OLD'"));
}

TEST(CoreEnum, Enum64AndSignExtension) {
  enum_pair p;
  auto wide = relocate(p.local, p.l_wide, "0", kind::enumval_value, p.target);
  EXPECT_EQ(wide.local_value, std::uint64_t{1} << 32);
  EXPECT_EQ(wide.target_value, std::uint64_t{1} << 33);
  auto neg = relocate(p.local, p.l_neg, "0", kind::enumval_value, p.target);
  EXPECT_EQ(neg.local_value, ~std::uint64_t{0});
  EXPECT_EQ(neg.target_value, 0xfffffffffffffffeull);
  auto narrow = relocate(p.local, p.l_narrow, "0", kind::enumval_value, p.target);
  EXPECT_EQ(narrow.target_value, 0x123456789ull);
}

TEST(CoreEnum, MalformedAccess) {
  enum_pair p;
  EXPECT_THAT(relocation_error(p.local, p.l_state, "3", kind::enumval_value, p.target).what(),
              HasSubstr("not one enumerator index"));
  EXPECT_THAT(relocation_error(p.local, p.l_state, "1:0", kind::enumval_value, p.target).what(),
              HasSubstr("not one enumerator index"));
  type_pair t;
  EXPECT_THAT(relocation_error(t.local, t.l_s, "0", kind::enumval_exists, t.target).what(),
              HasSubstr("not an enum"));
}

// ---------------------------------------------------------------------------------------------
// Several candidates: they must agree, and each relocation narrows the list for the next ones.

TEST(CoreCandidates, DisagreeingOffsetsAreAnError) {
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_foo = l.add_struct("foo", 8, {{"a", l_int, 0}, {"b", l_int, 32}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  t.add_struct("foo", 8, {{"a", t_int, 0}, {"b", t_int, 32}});
  t.add_struct("foo___2", 8, {{"b", t_int, 0}, {"a", t_int, 32}});
  auto local = parse(l), target = parse(t);
  auto e = relocation_error(local, l_foo, "0:0", kind::field_byte_offset, target, 11);
  EXPECT_EQ(e.code(), errc::relocation_failed);
  EXPECT_THAT(e.what(), HasSubstr("ambiguous"));
  EXPECT_THAT(e.what(), HasSubstr("struct foo___2"));
  EXPECT_THAT(e.what(), HasSubstr("CO-RE relocation byte_off of struct foo [" + std::to_string(l_foo) +
                                  "] access 0:0 (foo.a) at instruction 11"));
  // A failed relocation leaves the candidate list alone (a dry run goes on after errors).
  core_candidate_cache cache(target);
  EXPECT_THROW((void)ebpf::compute_core_relocation(local, {0, l_foo, "0:1", kind::field_byte_offset}, target, cache),
               ebpf::error);
  EXPECT_EQ(cache.candidates(local, l_foo).size(), 2u);
}

TEST(CoreCandidates, AgreeingCandidatesAreFine) {
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_foo = l.add_struct("foo", 4, {{"a", l_int, 0}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_ll = t.add_int("long long", 8, signed_int);
  auto t_first = t.add_struct("foo", 4, {{"a", t_int, 0}});
  t.add_struct("foo___2", 16, {{"a", t_int, 0}, {"c", t_ll, 64}});
  auto local = parse(l), target = parse(t);
  auto r = relocate(local, l_foo, "0:0", kind::field_byte_offset, target);
  EXPECT_EQ(r.target_value, 0u);
  EXPECT_EQ(r.candidates, 2u);
  EXPECT_EQ(r.target_type_id, t_first);  // the first (lowest id) is reported
  // Same offset but different sizes: a decision ambiguity.
  auto e = relocation_error(local, l_foo, "0", kind::type_size, target);
  EXPECT_THAT(e.what(), HasSubstr("different values (4 and 16)"));
}

TEST(CoreCandidates, EarlierRelocationsNarrowTheCandidates) {
  // foo has x at 0 and y at 4; foo___2 has no x and y at 8. Relocating x first leaves only foo
  // for y, as in libbpf (its candidate cache keeps the matching candidates per local type); y
  // first sees both and they disagree.
  btf_builder l;
  auto l_int = l.add_int("int", 4, signed_int);
  auto l_foo = l.add_struct("foo", 12, {{"x", l_int, 0}, {"y", l_int, 32}, {"nope", l_int, 64}});
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto t_foo = t.add_struct("foo", 8, {{"x", t_int, 0}, {"y", t_int, 32}});
  auto t_foo2 = t.add_struct("foo___2", 12, {{"z", t_int, 0}, {"w", t_int, 32}, {"y", t_int, 64}});
  auto local = parse(l), target = parse(t);

  core_candidate_cache cache(target);
  auto x = ebpf::compute_core_relocation(local, {0, l_foo, "0:0", kind::field_byte_offset}, target, cache);
  EXPECT_EQ(x.candidates, 1u);
  EXPECT_THAT(x.reason, HasSubstr("1 other candidate(s) did not match"));
  EXPECT_EQ(cache.candidates(local, l_foo), std::vector<std::uint32_t>{t_foo});
  auto y = ebpf::compute_core_relocation(local, {1, l_foo, "0:1", kind::field_byte_offset}, target, cache);
  EXPECT_EQ(y.target_value, 4u);

  core_candidate_cache fresh(target);
  EXPECT_THROW((void)ebpf::compute_core_relocation(local, {1, l_foo, "0:1", kind::field_byte_offset}, target, fresh),
               ebpf::error);
  // A relocation that matches no candidate leaves the list as it was.
  core_candidate_cache third(target);
  auto nope = ebpf::compute_core_relocation(local, {2, l_foo, "0:2", kind::field_exists}, target, third);
  EXPECT_EQ(nope.target_value, 0u);
  EXPECT_EQ(third.candidates(local, l_foo), (std::vector<std::uint32_t>{t_foo, t_foo2}));
}

TEST(CoreCandidates, IndexFindsFlavorsAndCompatibleKinds) {
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  auto s1 = t.add_struct("foo", 4, {{"a", t_int, 0}});
  t.add_forward("foo");
  t.add_typedef("foo", s1);
  auto s2 = t.add_struct("foo___2", 4, {{"a", t_int, 0}});
  auto e1 = t.add_enum("foo", 4, {{"A", 0}});
  auto e2 = t.add_enum64("foo___x", 8, {{"B", 0}});
  t.add_struct("foobar", 4, {{"a", t_int, 0}});
  t.add_struct("", 4, {{"a", t_int, 0}});
  auto target = parse(t);
  ebpf::core_target_index index(target);
  EXPECT_EQ(index.candidates("foo___local", btf_kind::struct_), (std::vector<std::uint32_t>{s1, s2}));
  EXPECT_EQ(index.candidates("foo", btf_kind::enum64), (std::vector<std::uint32_t>{e1, e2}));
  EXPECT_EQ(index.candidates("foo", btf_kind::union_), std::vector<std::uint32_t>{});
  EXPECT_EQ(index.candidates("", btf_kind::struct_), std::vector<std::uint32_t>{});
  EXPECT_EQ(index.candidates("nothing", btf_kind::struct_), std::vector<std::uint32_t>{});

  // Concurrent first lookups build the index once and agree.
  ebpf::core_target_index shared(target);
  std::vector<std::vector<std::uint32_t>> results(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = shared.candidates("foo", btf_kind::struct_); });
  }
  for (auto& th : threads) th.join();
  for (const auto& r : results) EXPECT_EQ(r, (std::vector<std::uint32_t>{s1, s2}));
}

TEST(CoreCandidates, OnePassOverManyQueriesAnswersAsSingleLookups) {
  // More than 128 types, so that the target keeps kind bytes (the path vmlinux takes).
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  for (int n = 0; n < 200; ++n) t.add_struct("filler" + std::to_string(n), 4, {{"a", t_int, 0}});
  t.add_struct("foo", 4, {{"a", t_int, 0}});
  t.add_forward("foo");
  t.add_typedef("foo", t_int);
  t.add_struct("foo___2", 4, {{"a", t_int, 0}});
  t.add_enum("foo", 4, {{"A", 0}});
  t.add_enum64("foo___x", 8, {{"B", 0}});
  t.add_struct("foobar", 4, {{"a", t_int, 0}});
  t.add_union("bar", 4, {{"a", t_int, 0}});
  t.add_struct("", 4, {{"a", t_int, 0}});
  auto target = parse(t);
  const std::vector<std::pair<std::string_view, btf_kind>> queries{
      {"foo___local", btf_kind::struct_}, {"foo", btf_kind::enum64}, {"foo", btf_kind::enum_},
      {"foo", btf_kind::typedef_},        {"foo", btf_kind::union_}, {"bar", btf_kind::union_},
      {"", btf_kind::struct_},            {"nothing", btf_kind::struct_}, {"foo", btf_kind::function},
      {"filler17", btf_kind::struct_},    {"int", btf_kind::integer}, {"foo", btf_kind::forward}};
  const ebpf::core_target_index single(target), batch(target);
  const auto lists = batch.candidates(queries);
  ASSERT_EQ(lists.size(), queries.size());
  for (std::size_t q = 0; q < queries.size(); ++q)
    EXPECT_EQ(lists[q], single.candidates(queries[q].first, queries[q].second)) << queries[q].first;
  EXPECT_EQ(lists[0].size(), 2u);  // foo and foo___2
  EXPECT_EQ(lists[1].size(), 2u);  // enum foo and enum64 foo___x
  EXPECT_TRUE(batch.candidates(std::span<const std::pair<std::string_view, btf_kind>>{}).empty());

  // A small target (no kind bytes) answers the same through its records.
  btf_builder s;
  auto s_int = s.add_int("int", 4, signed_int);
  auto s_foo = s.add_struct("foo", 4, {{"a", s_int, 0}});
  auto small = parse(s);
  const ebpf::core_target_index small_index(small);
  const std::vector<std::pair<std::string_view, btf_kind>> one{{"foo___v1", btf_kind::struct_}};
  EXPECT_EQ(small_index.candidates(one), std::vector<std::vector<std::uint32_t>>{{s_foo}});
}

TEST(CoreCandidates, PrefetchedListsAreTheLazyOnes) {
  layout_pair p;
  core_candidate_cache lazy(p.target), prefetched(p.target);
  const std::vector<std::uint32_t> ids{p.local_sample, p.local_sample, 0};
  prefetched.prefetch(p.local, ids);
  EXPECT_EQ(prefetched.candidates(p.local, p.local_sample), lazy.candidates(p.local, p.local_sample));
  EXPECT_EQ(prefetched.candidates(p.local, 0), lazy.candidates(p.local, 0));  // void: none
  const std::vector<std::uint32_t> missing{p.local.type_count()};
  EXPECT_THROW(prefetched.prefetch(p.local, missing), ebpf::error);
}

TEST(CoreCandidates, SharedIndexAcrossCaches) {
  layout_pair p;
  auto index = std::make_shared<const ebpf::core_target_index>(p.target);
  core_candidate_cache a(index), b(index);
  auto ra = ebpf::compute_core_relocation(p.local, {0, p.local_sample, "0:0", kind::field_byte_offset}, p.target, a);
  auto rb = ebpf::compute_core_relocation(p.local, {0, p.local_sample, "0:0", kind::field_byte_offset}, p.target, b);
  EXPECT_EQ(ra.target_value, 168u);
  EXPECT_EQ(rb.target_value, 168u);
  EXPECT_EQ(&a.index(), &b.index());
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(CoreErrors, MalformedAccessStrings) {
  layout_pair p;
  for (std::string_view bad : {"", ":0", "0:", "0::1", "a", "0:x", "-1", "0:-1", "0:7", "0:2:4", "0:0:0",
                               "99999999999", "0:1:1:0"}) {
    auto e = relocation_error(p.local, p.local_sample, bad, kind::field_byte_offset, p.target, 5);
    EXPECT_EQ(e.code(), errc::relocation_failed) << bad;
    EXPECT_THAT(e.what(), HasSubstr("byte_off of struct sample")) << bad;
    EXPECT_THAT(e.what(), HasSubstr("access " + std::string(bad) + " ")) << bad;
    EXPECT_THAT(e.what(), HasSubstr("at instruction 5")) << bad;
  }
  // sscanf("%d") accepts white space and a sign, so libbpf does too.
  EXPECT_EQ(p.offset("0: 1:+1").target_value, 160u);
  // Type relocations take exactly "0".
  type_pair t;
  for (std::string_view bad : {"1", "0:0", "00"}) {
    EXPECT_THAT(relocation_error(t.local, t.l_s, bad, kind::type_size, t.target).what(), HasSubstr("must be \"0\""));
  }
  // 64 steps at most.
  std::string deep = "0";
  for (int i = 0; i < 64; ++i) deep += ":0";
  EXPECT_THAT(relocation_error(p.local, p.local_sample, deep, kind::field_byte_offset, p.target).what(),
              HasSubstr("longer than 64"));
}

TEST(CoreErrors, AnonymousTypesHaveNoCandidates) {
  layout_pair p;
  auto e = relocation_error(p.local, p.local_anon_union, "0:0", kind::field_byte_offset, p.target);
  EXPECT_THAT(e.what(), HasSubstr("anonymous"));
  EXPECT_THAT(e.what(), HasSubstr("union <anon>"));
  // ... but their local id needs none.
  EXPECT_EQ(relocate(p.local, p.local_anon_union, "0", kind::type_id_local, p.target).target_value,
            p.local_anon_union);
}

TEST(CoreErrors, FieldKindsOnArrayElements) {
  layout_pair p;
  for (kind k : {kind::field_signed, kind::field_lshift_u64, kind::field_rshift_u64}) {
    EXPECT_THAT(relocation_error(p.local, p.local_sample, "0:2:1", k, p.target).what(),
                HasSubstr("cannot be applied to an array element"));
  }
}

TEST(CoreErrors, UnknownKindAndBadArguments) {
  layout_pair p;
  EXPECT_THAT(relocation_error(p.local, p.local_sample, "0:0", static_cast<kind>(13), p.target).what(),
              HasSubstr("unknown relocation kind 13"));
  try {
    (void)relocate(p.local, 999, "0:0", kind::field_byte_offset, p.target);
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
  core_candidate_cache cache(p.target);
  btf copy = p.target;
  try {
    (void)ebpf::compute_core_relocation(p.local, {0, p.local_sample, "0:0", kind::field_byte_offset}, copy, cache);
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
  (void)ebpf::compute_core_relocation(p.local, {0, p.local_sample, "0:0", kind::field_byte_offset}, p.target, cache);
  btf other_local = p.local;
  try {
    (void)ebpf::compute_core_relocation(other_local, {0, p.local_sample, "0:0", kind::field_byte_offset}, p.target,
                                        cache);
    ADD_FAILURE();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
}

TEST(CoreErrors, HostileBtfFailsInsteadOfLooping) {
  // typedef a -> const -> typedef a: a loop the kernel would reject.
  btf_builder l;
  auto l_a = l.add_typedef("a", 2);
  l.add_const(l_a);
  auto local = parse(l);
  btf_builder t;
  auto t_int = t.add_int("int", 4, signed_int);
  t.add_typedef("a", t_int);
  auto target = parse(t);
  EXPECT_THAT(relocation_error(local, l_a, "0", kind::type_exists, target).what(), HasSubstr("loops"));

  // struct t<k> { struct t<k-1> m, m, ... (16 times); } down to t0 { int m; } locally and
  // t0 { long long m; } in the target: each level tries all 16 same-named target members before
  // failing, 16^10 comparisons for type_matches without a budget.
  auto chain = [](bool wide_bottom) {
    btf_builder b;
    auto bottom = wide_bottom ? b.add_int("long long", 8, signed_int) : b.add_int("int", 4, signed_int);
    auto level = b.add_struct("t0", 8, {{"m", bottom, 0}});
    for (int k = 1; k <= 10; ++k) {
      std::vector<btf_builder::member> members;
      for (std::uint32_t i = 0; i < 16; ++i) members.push_back({"m", level, i * 64});
      level = b.add_struct("t" + std::to_string(k), 128, members);
    }
    return std::make_pair(parse(b), level);
  };
  auto [hostile_local, top] = chain(false);
  auto hostile_target = chain(true).first;
  auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(relocation_error(hostile_local, top, "0", kind::type_matches, hostile_target).what(), HasSubstr("steps"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));

  // An array of itself.
  btf_builder a;
  auto a_int = a.add_int("int", 4, signed_int);
  auto self_array = a.add_array(2, a_int, 1);
  auto a_s = a.add_struct("s", 4, {{"x", self_array, 0}});
  auto arrays = parse(a);
  EXPECT_EQ(relocation_error(arrays, a_s, "0:0", kind::field_byte_offset, arrays).code(), errc::relocation_failed);
}

// ---------------------------------------------------------------------------------------------
// Patching instructions.

instruction insn(std::uint8_t code, std::int16_t off = 0, std::int32_t imm = 0, std::uint8_t regs = 0x12) {
  instruction i;
  i.code = code;
  i.registers = regs;
  i.offset = off;
  i.imm = imm;
  return i;
}

core_relocation_result result_for(std::uint32_t at, std::uint64_t local, std::uint64_t target) {
  core_relocation_result r;
  r.instruction = at;
  r.local_type_id = 7;
  r.local_type_kind = btf_kind::struct_;
  r.local_type_name = "sample";
  r.access_string = "0:1";
  r.local_value = local;
  r.target_value = target;
  return r;
}

void expect_patch_error(std::vector<instruction> code, const core_relocation_result& r, const std::string& what) {
  try {
    ebpf::apply_core_relocation(code, r);
    ADD_FAILURE() << "patched, expected: " << what;
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::relocation_failed);
    EXPECT_THAT(e.what(), HasSubstr(what));
    EXPECT_THAT(e.what(), HasSubstr("at instruction " + std::to_string(r.instruction)));
  }
}

constexpr std::uint8_t mov64_imm = 0xb7, add64_imm = 0x07, add64_reg = 0x0f, mov32_imm = 0xb4;
constexpr std::uint8_t ldxw = 0x61, ldxh = 0x69, ldxdw = 0x79, stxw = 0x63, stxdw = 0x7b, stw = 0x62,
                       ld_imm64 = 0x18, ja = 0x05, call = 0x85, exit_insn = 0x95;

TEST(CorePatch, AluImmediate) {
  std::vector<instruction> code{insn(mov64_imm, 0, 4), insn(add64_imm, 0, 4), insn(mov32_imm, 0, 4), insn(exit_insn)};
  for (std::uint32_t at : {0u, 1u, 2u}) ebpf::apply_core_relocation(code, result_for(at, 4, 160));
  EXPECT_EQ(code[0], insn(mov64_imm, 0, 160));
  EXPECT_EQ(code[1], insn(add64_imm, 0, 160));
  EXPECT_EQ(code[2], insn(mov32_imm, 0, 160));
  EXPECT_EQ(code[3], insn(exit_insn));
}

TEST(CorePatch, AluValidation) {
  expect_patch_error({insn(mov64_imm, 0, 8)}, result_for(0, 4, 160), "the instruction holds 8, expected 4");
  auto unchecked = result_for(0, 4, 160);
  unchecked.validate = false;
  std::vector<instruction> code{insn(mov64_imm, 0, 8)};
  ebpf::apply_core_relocation(code, unchecked);
  EXPECT_EQ(code[0].imm, 160);
  // A 64-bit value sign-extended from the immediate (libbpf compares that way).
  std::vector<instruction> minus{insn(mov64_imm, 0, -1)};
  ebpf::apply_core_relocation(minus, result_for(0, ~std::uint64_t{0}, 3));
  EXPECT_EQ(minus[0].imm, 3);
  expect_patch_error({insn(add64_reg)}, result_for(0, 0, 1), "register operand");
}

TEST(CorePatch, LoadStoreOffsets) {
  std::vector<instruction> code{insn(ldxw, 4), insn(stxw, 4), insn(stw, 4, 99)};
  for (std::uint32_t at : {0u, 1u, 2u}) ebpf::apply_core_relocation(code, result_for(at, 4, 160));
  EXPECT_EQ(code[0], insn(ldxw, 160));
  EXPECT_EQ(code[1], insn(stxw, 160));
  EXPECT_EQ(code[2], insn(stw, 160, 99));
  expect_patch_error({insn(ldxw, 8)}, result_for(0, 4, 160), "holds 8, expected 4");
  expect_patch_error({insn(ldxw, 4)}, result_for(0, 4, 32768), "does not fit in the instruction's 16 bits");
  std::vector<instruction> edge{insn(ldxw, 4)};
  ebpf::apply_core_relocation(edge, result_for(0, 4, 32767));
  EXPECT_EQ(edge[0].offset, 32767);
}

TEST(CorePatch, LoadStoreSizeFollowsTheField) {
  auto widen = result_for(0, 4, 176);
  widen.local_memory_size = 4;
  widen.target_memory_size = 8;
  std::vector<instruction> code{insn(ldxw, 4), insn(stxw, 4)};
  ebpf::apply_core_relocation(code, widen);
  widen.instruction = 1;
  ebpf::apply_core_relocation(code, widen);
  EXPECT_EQ(code[0], insn(ldxdw, 176));
  EXPECT_EQ(code[1], insn(stxdw, 176));
  auto narrow = result_for(0, 8, 16);
  narrow.local_memory_size = 8;
  narrow.target_memory_size = 2;
  std::vector<instruction> n{insn(ldxdw, 8)};
  ebpf::apply_core_relocation(n, narrow);
  EXPECT_EQ(n[0], insn(ldxh, 16));
  // The instruction must access the local field's size, and the new one must be loadable.
  widen.instruction = 0;
  expect_patch_error({insn(ldxh, 4)}, widen, "2 bytes wide, the local field is 4");
  auto odd = result_for(0, 4, 8);
  odd.local_memory_size = 4;
  odd.target_memory_size = 3;
  expect_patch_error({insn(ldxw, 4)}, odd, "not 1, 2, 4 or 8 bytes");
}

TEST(CorePatch, SizeMismatchPoisonsLoadsButNotConstants) {
  auto r = result_for(0, 48, 176);
  r.local_memory_size = 4;
  r.target_memory_size = 8;
  r.memory_size_mismatch = true;
  std::vector<instruction> code{insn(ldxw, 48), insn(mov64_imm, 0, 48)};
  ebpf::apply_core_relocation(code, r);
  EXPECT_EQ(code[0], insn(call, 0, ebpf::core_poison_imm, 0));
  r.instruction = 1;
  ebpf::apply_core_relocation(code, r);
  EXPECT_EQ(code[1], insn(mov64_imm, 0, 176));
}

TEST(CorePatch, LoadImm64) {
  std::vector<instruction> code{insn(ld_imm64, 0, 1, 0x01), insn(0, 0, 0, 0), insn(exit_insn)};
  ebpf::apply_core_relocation(code, result_for(0, 1, 0x200000005ull));
  EXPECT_EQ(code[0], insn(ld_imm64, 0, 5, 0x01));
  EXPECT_EQ(code[1], insn(0, 0, 2, 0));
  expect_patch_error(code, result_for(0, 7, 1), "holds 8589934597, expected 7");
  expect_patch_error({insn(ld_imm64, 0, 1, 0x11), insn(0, 0, 0, 0)}, result_for(0, 1, 2), "not a plain ld_imm64");
  expect_patch_error({insn(ld_imm64, 0, 1, 0x01), insn(0, 0, 0, 0x10)}, result_for(0, 1, 2), "not a plain ld_imm64");
  expect_patch_error({insn(ld_imm64, 0, 1, 0x01)}, result_for(0, 1, 2), "without its second half");
}

TEST(CorePatch, Poison) {
  auto r = result_for(1, 4, 0);
  r.poisoned = true;
  std::vector<instruction> code{insn(mov64_imm), insn(ldxw, 4), insn(exit_insn)};
  ebpf::apply_core_relocation(code, r);
  EXPECT_EQ(code[1], insn(call, 0, 0xbad2310, 0));
  EXPECT_EQ(code[0], insn(mov64_imm));
  EXPECT_EQ(code[2], insn(exit_insn));
  // Both halves of an ld_imm64.
  std::vector<instruction> wide{insn(ld_imm64, 0, 3, 0x01), insn(0), insn(exit_insn)};
  r.instruction = 0;
  ebpf::apply_core_relocation(wide, r);
  EXPECT_EQ(wide[0], insn(call, 0, 0xbad2310, 0));
  EXPECT_EQ(wide[1], insn(call, 0, 0xbad2310, 0));
  EXPECT_EQ(wide[2], insn(exit_insn));
}

TEST(CorePatch, InstructionsThatCannotTakeARelocation) {
  expect_patch_error({insn(ja, 4)}, result_for(0, 4, 8), "cannot take a CO-RE relocation");
  expect_patch_error({insn(call, 0, 4)}, result_for(0, 4, 8), "cannot take a CO-RE relocation");
  expect_patch_error({insn(mov64_imm, 0, 4)}, result_for(1, 4, 8), "beyond the 1 instructions");
}

TEST(CorePatch, EndToEndWithComputedResults) {
  layout_pair p;
  core_candidate_cache cache(p.target);
  // r1 = *(u32 *)(r2 + 8)   s->in.b
  // r1 = *(s32 *)(r2 + 48)  s->cnt (int -> long long: poisoned)
  // r3 = *(u32 *)(r2 + 52)  s->count (u32 -> u64: widened)
  std::vector<instruction> code{insn(ldxw, 8), insn(ldxw, 48), insn(ldxw, 52), insn(exit_insn)};
  for (auto [at, access] : std::vector<std::pair<std::uint32_t, std::string_view>>{{0, "0:1:1"}, {1, "0:4"}, {2, "0:5"}}) {
    auto r = ebpf::compute_core_relocation(p.local, {at, p.local_sample, access, kind::field_byte_offset}, p.target,
                                           cache);
    ebpf::apply_core_relocation(code, r);
  }
  EXPECT_EQ(code[0], insn(ldxw, 160));
  EXPECT_EQ(code[1], insn(call, 0, ebpf::core_poison_imm, 0));
  EXPECT_EQ(code[2], insn(ldxdw, 184));
}

TEST(CoreReport, DescribeAndVerifierLog) {
  auto r = result_for(12, 0, 0);
  r.local_access = "sample.in";
  EXPECT_EQ(ebpf::describe(r), "CO-RE relocation byte_off of struct sample [7] access 0:1 (sample.in) at instruction 12");
  const std::string log =
      "func#0 @0\n"
      "0: R1=ctx() R10=fp0\n"
      "0: (b7) r0 = 0                        ; R0_w=0\n"
      "1: (85) call unknown#195896080\n"
      "invalid func unknown#195896080\n"
      "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
  EXPECT_EQ(ebpf::core_poison_instruction(log), 1u);
  EXPECT_EQ(ebpf::core_poison_instruction("17: (85) call unknown#195896080"), 17u);
  EXPECT_EQ(ebpf::core_poison_instruction("1: (85) call bpf_map_lookup_elem#1\n"), std::nullopt);
  EXPECT_EQ(ebpf::core_poison_instruction("99999999999: (85) call unknown#195896080"), std::nullopt);
  EXPECT_EQ(ebpf::core_poison_instruction(""), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Cross-check against clang: core_layout_v1.bpf.o relocated against core_layout_v2.bpf.o's BTF
// must give the values clang compiled into v2 (see tests/bpf/core_layout.bpf.c).

std::vector<std::byte> read_object(const std::string& name) {
  std::ifstream in(std::string(EBPFPP_TEST_BPF_DIR) + "/" + name, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (raw.empty()) ADD_FAILURE() << "cannot read " << name;
  std::vector<std::byte> bytes(raw.size());
  std::memcpy(bytes.data(), raw.data(), raw.size());
  return bytes;
}

// The value an instruction holds for its relocation, read the way apply_core_relocation writes it.
std::uint64_t instruction_value(const std::vector<instruction>& code, std::uint32_t at) {
  const instruction& i = code.at(at);
  switch (i.code & 0x07) {
    case 0x01:
    case 0x02:
    case 0x03: return static_cast<std::uint64_t>(std::int64_t{i.offset});
    case 0x00:
      return std::uint64_t{static_cast<std::uint32_t>(i.imm)} |
             std::uint64_t{static_cast<std::uint32_t>(code.at(at + 1).imm)} << 32;
    default: return static_cast<std::uint64_t>(std::int64_t{i.imm});
  }
}

struct compiled {
  ebpf::object_spec spec;
  explicit compiled(const std::string& name) : spec(ebpf::object_spec::parse(read_object(name), name)) {}
  const ebpf::function_spec& function(std::string_view name) const {
    for (const auto& f : spec.functions) {
      if (f.name == name) return f;
    }
    throw std::runtime_error("no function " + std::string(name));
  }
  const btf& types() const { return *spec.types; }
};

// Relocations keyed by what they mean (function, kind, C access path), not by position: the
// scheduler may order the same code differently for the two layouts.
using meaning = std::tuple<std::string, kind, std::string>;

std::multimap<meaning, core_relocation_result> by_meaning(const compiled& local, const compiled& target,
                                                          const std::string& function) {
  core_candidate_cache cache(target.types());
  std::multimap<meaning, core_relocation_result> out;
  for (const auto& record : local.function(function).core_relocations) {
    auto r = ebpf::compute_core_relocation(local.types(), record, target.types(), cache);
    std::string path = r.local_access.empty() ? r.local_type_name : r.local_access;
    out.emplace(meaning{function, r.kind, path}, r);
  }
  return out;
}

const char* const shared_functions[] = {"core_loads", "core_wide_loads", "core_fields", "core_bitfields", "core_types"};

TEST(CoreClang, EachObjectRelocatesToItselfUnchanged) {
  for (const char* name : {"core_layout_v1.bpf.o", "core_layout_v2.bpf.o"}) {
    compiled object(name);
    std::size_t count = 0, bitfield = 0;
    core_candidate_cache cache(object.types());
    for (const auto& f : object.spec.functions) {
      std::vector<instruction> code = f.instructions;
      std::vector<bool> rewritten(code.size());
      for (const auto& record : f.core_relocations) {
        auto r = ebpf::compute_core_relocation(object.types(), record, object.types(), cache);
        SCOPED_TRACE(ebpf::describe(r));
        EXPECT_FALSE(r.poisoned);
        EXPECT_EQ(r.local_value, r.target_value);
        ebpf::apply_core_relocation(code, r);  // validates the instruction against local_value
        ++count;
        if (r.validate) {
          EXPECT_EQ(r.local_value, instruction_value(f.instructions, record.instruction)) << "clang's own value";
        } else if (r.kind != kind::type_id_local && r.kind != kind::type_id_target) {
          // A bitfield: libbpf's (and our) choice of load, which may differ from clang's.
          rewritten[record.instruction] = true;
          ++bitfield;
        }
      }
      for (std::size_t i = 0; i < code.size(); ++i) {
        if (!rewritten[i]) {
          EXPECT_EQ(code[i], f.instructions[i]) << f.name << " instruction " << i;
        }
      }
    }
    EXPECT_GE(count, 55u) << name;
    EXPECT_EQ(bitfield, 9u) << name;
  }
}

TEST(CoreClang, RelocatedValuesEqualClangsForTheTargetLayout) {
  compiled v1("core_layout_v1.bpf.o"), v2("core_layout_v2.bpf.o");
  std::size_t compared = 0, bitfields = 0;
  for (const char* function : shared_functions) {
    auto relocated = by_meaning(v1, v2, function);
    auto truth = by_meaning(v2, v2, function);  // v2 against itself: its clang values (checked above)
    ASSERT_EQ(relocated.size(), truth.size()) << function;
    // Bitfields: libbpf and clang may pick different loads (validate is off), so compare what
    // the four values select: the field's first bit and its width.
    std::map<std::string, std::map<kind, std::pair<std::uint64_t, std::uint64_t>>> bitfield_values;
    for (auto it = relocated.begin(); it != relocated.end(); ++it) {
      const auto& [key, ours] = *it;
      SCOPED_TRACE(ebpf::describe(ours));
      auto range = truth.equal_range(key);
      ASSERT_NE(range.first, range.second) << "v2 has no relocation " << std::get<2>(key);
      // Duplicates pair up in order.
      auto nth = static_cast<std::size_t>(std::distance(relocated.lower_bound(key), it));
      auto expected = std::next(range.first, static_cast<std::ptrdiff_t>(nth));
      ASSERT_NE(expected, range.second);
      EXPECT_FALSE(ours.poisoned);
      if (ours.validate) {
        EXPECT_EQ(ours.local_value, instruction_value(v1.function(function).instructions, ours.instruction));
      }
      std::uint64_t clang_value = instruction_value(v2.function(function).instructions, expected->second.instruction);
      if (ours.kind == kind::type_id_local) {
        EXPECT_EQ(ours.target_value, ours.local_value);  // a local id stays local
      } else if (!ours.validate && ours.kind != kind::type_id_target) {
        bitfield_values[std::get<2>(key)][ours.kind] = {ours.target_value, clang_value};
        ++bitfields;
      } else {
        EXPECT_EQ(ours.target_value, clang_value);
        ++compared;
      }
    }
    for (const auto& entry : bitfield_values) {
      const auto& values = entry.second;  // not a structured binding: clang 14 cannot capture one
      SCOPED_TRACE(entry.first);
      ASSERT_EQ(values.size(), 3u);  // byte_off, byte_sz, lshift (rshift and signed are validated)
      auto ours_and_clang = [&](int which) {
        std::uint64_t off = which ? values.at(kind::field_byte_offset).second : values.at(kind::field_byte_offset).first;
        std::uint64_t size = which ? values.at(kind::field_byte_size).second : values.at(kind::field_byte_size).first;
        std::uint64_t lshift = which ? values.at(kind::field_lshift_u64).second : values.at(kind::field_lshift_u64).first;
        // After a little-endian load of `size` bytes at `off`, << lshift puts the field's top bit
        // at bit 63: the field ends at bit off*8 + 64 - lshift, and the load must reach there.
        EXPECT_LE(64 - lshift, size * 8);
        return off * 8 + 64 - lshift;
      };
      EXPECT_EQ(ours_and_clang(0), ours_and_clang(1)) << "the field's end bit";
    }
  }
  EXPECT_GE(compared, 45u);
  EXPECT_EQ(bitfields, 9u);
}

TEST(CoreClang, PatchedLoadsEqualClangsLoads) {
  // Loads relocated from v1 to v2 become v2's loads: same offset and access size (a u32 that is
  // a u64 in v2 is widened). Registers are not compared: the two compilations allocate them.
  compiled v1("core_layout_v1.bpf.o"), v2("core_layout_v2.bpf.o");
  for (const char* function : {"core_loads", "core_wide_loads"}) {
    auto relocated = by_meaning(v1, v2, function);
    auto truth = by_meaning(v2, v2, function);
    std::vector<instruction> code = v1.function(function).instructions;
    for (const auto& [key, r] : relocated) ebpf::apply_core_relocation(code, r);
    for (const auto& [key, r] : relocated) {
      SCOPED_TRACE(ebpf::describe(r));
      const instruction& expected = v2.function(function).instructions.at(truth.find(key)->second.instruction);
      EXPECT_EQ(code[r.instruction].code, expected.code);
      EXPECT_EQ(code[r.instruction].offset, expected.offset);
    }
  }
}

TEST(CoreClang, WhatTheTargetLacks) {
  compiled v1("core_layout_v1.bpf.o"), v2("core_layout_v2.bpf.o");
  const auto& f = v1.function("core_local_only");
  core_candidate_cache cache(v2.types());
  std::vector<instruction> code = f.instructions;
  std::map<std::string, core_relocation_result> results;
  for (const auto& record : f.core_relocations) {
    auto r = ebpf::compute_core_relocation(v1.types(), record, v2.types(), cache);
    ebpf::apply_core_relocation(code, r);
    results[std::string(ebpf::to_string(r.kind)) + " " + (r.local_access.empty() ? r.local_type_name : r.local_access)] = r;
  }
  ASSERT_EQ(results.size(), 9u);
  EXPECT_EQ(results.at("type_exists core_gone").target_value, 0u);
  EXPECT_EQ(results.at("type_size core_gone").target_value, 0u);
  EXPECT_EQ(results.at("target_type_id core_gone").target_value, 0u);
  EXPECT_EQ(results.at("field_exists core_sample___old.old_only").target_value, 0u);
  EXPECT_EQ(results.at("type_matches core_sample").target_value, 0u);  // counter: u32 vs u64
  EXPECT_EQ(results.at("enumval_exists core_state::CORE_OLD").target_value, 0u);
  EXPECT_TRUE(results.at("enumval_value core_state::CORE_OLD").poisoned);
  for (const auto& [name, r] : results) {
    if (name == "enumval_value core_state::CORE_OLD" || name == "byte_off core_sample___old.old_only") continue;
    EXPECT_FALSE(r.poisoned) << name;
  }
  // The flavor reads pid where v2's core_sample has it (v2's core_loads reads it too).
  const auto& pid = results.at("byte_off core_sample___old.pid");
  auto truth = by_meaning(v2, v2, "core_loads");
  auto v2_pid = truth.find(meaning{"core_loads", kind::field_byte_offset, "core_sample.pid"});
  ASSERT_NE(v2_pid, truth.end());
  EXPECT_EQ(pid.target_value, v2_pid->second.target_value);
  EXPECT_EQ(code[pid.instruction].offset, static_cast<std::int16_t>(pid.target_value));
  // The missing field's load and the missing enumerator's ld_imm64 (both halves) are poisoned.
  const auto& old_only = results.at("byte_off core_sample___old.old_only");
  EXPECT_TRUE(old_only.poisoned);
  EXPECT_EQ(code[old_only.instruction], insn(call, 0, ebpf::core_poison_imm, 0));
  const auto& old_value = results.at("enumval_value core_state::CORE_OLD");
  EXPECT_EQ(code[old_value.instruction], insn(call, 0, ebpf::core_poison_imm, 0));
  EXPECT_EQ(code[old_value.instruction + 1], insn(call, 0, ebpf::core_poison_imm, 0));
}

// The __ksym check (libbpf's bpf_core_types_are_compat, plus forward declarations for externs).
TEST(CoreTypesCompatTest, KfuncPrototypesMatchByShapeAndForwardsOnlyWhenAsked) {
  btf_builder local;
  const auto local_int = local.add_int("int", 4, 1);
  const auto local_fwd = local.add_forward("task_struct");
  const auto local_ptr = local.add_pointer(local_fwd);
  const auto local_proto = local.add_function_proto(local_ptr, {{"pid", local_int}});
  const auto local_bad_proto = local.add_function_proto(local_int, {{"pid", local_int}});
  const auto local_two_params = local.add_function_proto(local_ptr, {{"pid", local_int}, {"x", local_int}});
  btf_builder kernel;
  const auto kernel_int = kernel.add_int("s32", 4, 1);  // any integer fits any integer
  const auto kernel_task = kernel.add_struct("task_struct", 64, {});
  const auto kernel_ptr = kernel.add_pointer(kernel_task);
  const auto kernel_proto = kernel.add_function_proto(kernel_ptr, {{"pid", kernel_int}});
  const btf l = parse(local), k = parse(kernel);
  // libbpf's rule: FWD and STRUCT are different kinds.
  EXPECT_FALSE(ebpf::detail::core_types_are_compatible(l, local_proto, k, kernel_proto));
  EXPECT_TRUE(ebpf::detail::core_types_are_compatible(l, local_proto, k, kernel_proto, true));
  // Returning an int where the kernel returns a pointer, or another parameter count: never.
  EXPECT_FALSE(ebpf::detail::core_types_are_compatible(l, local_bad_proto, k, kernel_proto, true));
  EXPECT_FALSE(ebpf::detail::core_types_are_compatible(l, local_two_params, k, kernel_proto, true));
}

}  // namespace
