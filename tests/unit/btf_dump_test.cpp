// ebpf::c_header / raw_dump on hand-made BTF: one test per C construct, checking the exact text.
// (tests/integration/btf_dump_test.cpp compiles the header of the real kernel and of a compiled
// object with clang and compares with bpftool.)
#include <ebpf/btf.hpp>
#include <ebpf/btf_dump.hpp>
#include <ebpf/error.hpp>

#include "btf_builder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace {

using ebpf::btf;
using ebpf::btf_kind;
using ebpf::errc;
using ebpf::test::btf_builder;
using testing::HasSubstr;

// The type definitions only: no guard, pragma or kfunc block, and the fixed macro preamble cut.
std::string types_of(const btf_builder& b) {
  ebpf::c_dump_options options;
  options.guard.clear();
  options.preserve_access_index = false;
  options.kfunc_prototypes = false;
  std::string header = ebpf::c_header(btf::parse(b.build()), options);
  const std::string preamble_end = "#define __btf_type_tag(tag)\n#endif\n#endif\n\n";
  auto at = header.find(preamble_end);
  EXPECT_NE(at, std::string::npos) << header;
  return at == std::string::npos ? header : header.substr(at + preamble_end.size());
}

void expect_invalid(const btf_builder& b, const std::string& expected) {
  btf types = btf::parse(b.build());
  try {
    (void)ebpf::c_header(types);
    ADD_FAILURE() << "c_header succeeded, expected an error containing: " << expected;
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_btf) << e.what();
    EXPECT_THAT(e.what(), HasSubstr(expected));
  }
}

TEST(BtfDumpTest, IntegersAndTypedefs) {
  btf_builder b;
  auto s32 = b.add_int("int", 4, ebpf::btf_int_signed);
  b.add_typedef("s32", s32);
  auto ulong = b.add_int("long unsigned int", 8);
  b.add_typedef("size_t", ulong);
  b.add_int("_Bool", 1, ebpf::btf_int_bool);
  b.add_float("double", 8);
  // Base types need no declaration; only the typedefs appear, each followed by a blank line.
  EXPECT_EQ(types_of(b),
            "typedef int s32;\n\n"
            "typedef long unsigned int size_t;\n\n");
}

TEST(BtfDumpTest, EmptyBtf) {
  btf_builder b;
  EXPECT_EQ(types_of(b), "");
  std::string header = ebpf::c_header(btf::parse(b.build()));
  EXPECT_THAT(header, HasSubstr("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"));
  EXPECT_THAT(header, HasSubstr("#endif /* __VMLINUX_H__ */\n"));
}

TEST(BtfDumpTest, PointerCycleGetsAForwardDeclaration) {
  // struct a { struct b *b; };  struct b { struct a *a; };  -- a comes first and needs b
  // declared; b's pointer back to a needs nothing.
  btf_builder c;
  c.add_struct("a", 8, {{"b", 2, 0}});  // 1
  c.add_pointer(3);                     // 2: struct b *
  c.add_struct("b", 8, {{"a", 4, 0}});  // 3
  c.add_pointer(1);                     // 4: struct a *
  EXPECT_EQ(types_of(c),
            "struct b;\n\n"
            "struct a {\n"
            "\tstruct b *b;\n"
            "};\n\n"
            "struct b {\n"
            "\tstruct a *a;\n"
            "};\n\n");
}

TEST(BtfDumpTest, SelfReferenceNeedsNoForwardDeclaration) {
  btf_builder b;
  b.add_struct("list_head", 16, {{"next", 2, 0}, {"prev", 2, 64}});
  b.add_pointer(1);
  EXPECT_EQ(types_of(b),
            "struct list_head {\n"
            "\tstruct list_head *next;\n"
            "\tstruct list_head *prev;\n"
            "};\n\n");
}

TEST(BtfDumpTest, ByValueMemberIsDefinedFirst) {
  btf_builder b;
  // struct outer (id 1) embeds struct inner (id 3), which has a higher id: inner must come first.
  b.add_struct("outer", 8, {{"in", 3, 0}, {"extra", 2, 32}});
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  b.add_struct("inner", 4, {{"x", i, 0}});
  EXPECT_EQ(types_of(b),
            "struct inner {\n"
            "\tint x;\n"
            "};\n\n"
            "struct outer {\n"
            "\tstruct inner in;\n"
            "\tint extra;\n"
            "};\n\n");
}

TEST(BtfDumpTest, TypedefOfPointerToLaterStruct) {
  btf_builder b;
  // typedef struct node *node_ptr; with struct node defined after: a forward declaration of the
  // struct, then the typedef; the struct's definition follows when its id comes.
  b.add_typedef("node_ptr", 2);
  b.add_pointer(3);
  b.add_struct("node", 8, {{"next", 1, 0}});
  EXPECT_EQ(types_of(b),
            "struct node;\n\n"
            "typedef struct node *node_ptr;\n\n"
            "struct node {\n"
            "\tnode_ptr next;\n"
            "};\n\n");
}

TEST(BtfDumpTest, AnonymousStructsAndUnionsAreInline) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto c = b.add_int("char", 1, ebpf::btf_int_char);
  auto inner_struct = b.add_struct("", 8, {{"lo", i, 0}, {"hi", i, 32}});
  auto inner_union = b.add_union("", 8, {{"", inner_struct, 0}, {"bytes", b.add_array(c, i, 8), 0}});
  auto ptr_anon = b.add_pointer(b.add_struct("", 4, {{"v", i, 0}}));
  b.add_struct("outer", 24, {{"u", inner_union, 0}, {"p", ptr_anon, 64}, {"tail", i, 128}});
  b.add_typedef("pair_t", b.add_struct("", 8, {{"a", i, 0}, {"b", i, 32}}));
  // An anonymous union holding an anonymous struct: nested definitions indented one tab more.
  // A pointer to an anonymous struct defines it in place too. The tail gets explicit padding
  // (int tail ends at 160 bits, the struct is 192).
  EXPECT_EQ(types_of(b),
            "struct outer {\n"
            "\tunion {\n"
            "\t\tstruct {\n"
            "\t\t\tint lo;\n"
            "\t\t\tint hi;\n"
            "\t\t};\n"
            "\t\tchar bytes[8];\n"
            "\t} u;\n"
            "\tstruct {\n"
            "\t\tint v;\n"
            "\t} *p;\n"
            "\tint tail;\n"
            "};\n\n"
            "typedef struct {\n"
            "\tint a;\n"
            "\tint b;\n"
            "} pair_t;\n\n");
}

TEST(BtfDumpTest, Bitfields) {
  btf_builder b;
  auto u = b.add_int("unsigned int", 4);
  auto l = b.add_int("long unsigned int", 8);
  // kind_flag: bitfield sizes in the member offsets. A gap of 4 bits inside a run of bitfields
  // is an anonymous bitfield of exactly those bits, in the smallest unit that holds them; the
  // 64-bit member after the run lands on its natural alignment by itself.
  b.add_struct("flags", 16,
               {{"a", u, 0, 3}, {"b", u, 3, 5}, {"c", u, 12, 4}, {"d", l, 64, 0}},
               /*kind_flag=*/true);
  EXPECT_EQ(types_of(b),
            "struct flags {\n"
            "\tunsigned int a: 3;\n"
            "\tunsigned int b: 5;\n"
            "\tchar: 4;\n"
            "\tunsigned int c: 4;\n"
            "\tlong unsigned int d;\n"
            "};\n\n");
}

TEST(BtfDumpTest, BitfieldStartingOnANewUnitGetsAnAlignmentMarker) {
  btf_builder b;
  auto u8 = b.add_int("unsigned char", 1);
  // a: 1 at bit 0, then b: 1 at bit 8: not where the compiler would put it (bit 1), so the
  // bits up to the next byte are spelled out.
  b.add_struct("s", 2, {{"a", u8, 0, 1}, {"b", u8, 8, 1}}, true);
  EXPECT_EQ(types_of(b),
            "struct s {\n"
            "\tunsigned char a: 1;\n"
            "\tchar: 7;\n"
            "\tunsigned char b: 1;\n"
            "};\n\n");
}

TEST(BtfDumpTest, Arrays) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto c = b.add_int("char", 1, ebpf::btf_int_char);
  auto row = b.add_array(i, i, 3);
  auto matrix = b.add_array(row, i, 2);       // int [2][3]
  auto names = b.add_array(b.add_pointer(c), i, 4);  // char *[4]
  auto ptr_to_array = b.add_pointer(b.add_array(i, i, 4));  // int (*)[4]
  auto flex = b.add_array(c, i, 0);
  b.add_struct("arrays", 72,
               {{"m", matrix, 0}, {"names", names, 192}, {"p", ptr_to_array, 448}, {"data", flex, 512}});
  b.add_typedef("row_t", row);
  EXPECT_EQ(types_of(b),
            "struct arrays {\n"
            "\tint m[2][3];\n"
            "\tchar *names[4];\n"
            "\tint (*p)[4];\n"
            "\tchar data[0];\n"
            "\tlong: 64;\n"
            "};\n\n"
            "typedef int row_t[3];\n\n");
}

TEST(BtfDumpTest, FunctionPointers) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto c = b.add_int("char", 1, ebpf::btf_int_char);
  auto char_ptr = b.add_pointer(c);
  auto cb = b.add_pointer(b.add_function_proto(i, {{"x", i}, {"name", char_ptr}}));
  auto no_args = b.add_pointer(b.add_function_proto(0, {}));
  auto clang_void = b.add_pointer(b.add_function_proto(i, {{"", 0}}));
  auto variadic = b.add_pointer(b.add_function_proto(i, {{"fmt", char_ptr}, {"", 0}}));
  auto handler = b.add_pointer(b.add_function_proto(0, {{"", i}}));
  auto handlers = b.add_array(handler, i, 4);
  // A function returning a function pointer: void (* (*get)(int))(int) (libbpf spacing).
  auto getter = b.add_pointer(b.add_function_proto(handler, {{"", i}}));
  b.add_struct("ops", 72,
               {{"cb", cb, 0},
                {"done", no_args, 64},
                {"count", clang_void, 128},
                {"log", variadic, 192},
                {"handlers", handlers, 256},
                {"get", getter, 512}});
  b.add_typedef("handler_t", handler);
  EXPECT_EQ(types_of(b),
            "struct ops {\n"
            "\tint (*cb)(int x, char *name);\n"
            "\tvoid (*done)(void);\n"
            "\tint (*count)(void);\n"
            "\tint (*log)(char *fmt, ...);\n"
            "\tvoid (*handlers[4])(int);\n"
            "\tvoid (* (*get)(int))(int);\n"
            "};\n\n"
            "typedef void (*handler_t)(int);\n\n");
}

TEST(BtfDumpTest, Qualifiers) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto u = b.add_typedef("u32", b.add_int("unsigned int", 4));
  auto const_int_ptr = b.add_pointer(b.add_const(i));                   // const int *
  auto const_ptr = b.add_const(b.add_pointer(i));                       // int * const
  auto cv_ptr = b.add_pointer(b.add_volatile(b.add_const(u)));          // const volatile u32 *
  auto restricted = b.add_restrict(b.add_pointer(i));                   // int * restrict
  auto const_array = b.add_const(b.add_array(i, i, 2));                 // const dropped on arrays
  auto const_const_ptr = b.add_const(b.add_pointer(b.add_const(b.add_pointer(b.add_const(i)))));
  b.add_struct("q", 48,
               {{"a", const_int_ptr, 0},
                {"b", const_ptr, 64},
                {"c", cv_ptr, 128},
                {"d", restricted, 192},
                {"e", const_array, 256},
                {"f", const_const_ptr, 320}});
  EXPECT_EQ(types_of(b),
            "typedef unsigned int u32;\n\n"
            "struct q {\n"
            "\tconst int *a;\n"
            "\tint * const b;\n"
            "\tconst volatile u32 *c;\n"
            "\tint * restrict d;\n"
            "\tint e[2];\n"
            "\tconst int * const * const f;\n"
            "};\n\n");
}

TEST(BtfDumpTest, TypeTags) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto user_ptr = b.add_pointer(b.add_type_tag("user", i));
  // kind_flag: the tag is an attribute of its own (the kernel's __arena pointers).
  auto arena = b.raw(b.str("address_space(1)"), btf_kind::type_tag, 0, true, 0);
  auto arena_ptr = b.add_pointer(arena);
  auto rcu_ptr = b.add_type_tag("rcu", b.add_pointer(i));  // a tag on the pointer itself
  b.add_struct("tagged", 24, {{"u", user_ptr, 0}, {"a", arena_ptr, 64}, {"r", rcu_ptr, 128}});
  std::string text = types_of(b);
  EXPECT_EQ(text,
            "struct tagged {\n"
            "\tint __btf_type_tag(\"user\") *u;\n"
            "\tvoid __attribute__((address_space(1))) *a;\n"
            "\tint * __btf_type_tag(\"rcu\") r;\n"
            "};\n\n");
  // The macro the tags go through: the attribute when the compiler has it, nothing otherwise.
  std::string header = ebpf::c_header(btf::parse(b.build()));
  EXPECT_THAT(header, HasSubstr("#ifndef __btf_type_tag\n"
                                "#if __has_attribute(btf_type_tag) && !defined(BPF_NO_TYPE_TAG)\n"
                                "#define __btf_type_tag(tag) __attribute__((btf_type_tag(tag)))\n"
                                "#else\n"
                                "#define __btf_type_tag(tag)\n"
                                "#endif\n"
                                "#endif\n"));
}

TEST(BtfDumpTest, Enums) {
  btf_builder b;
  b.add_enum("color", 4, {{"RED", 0}, {"BLUE", 4294967295}});
  b.add_enum("sign", 4, {{"MINUS", -1}, {"PLUS", 1}}, /*is_signed=*/true);
  b.add_enum64("wide", 8, {{"SMALL", 1}, {"HUGE", 0x123456789ab}});
  b.add_enum64("swide", 8, {{"NEG", -5}, {"BIG", -0x100000000LL}}, true);
  b.add_enum64("narrow64", 8, {{"N1", 1}});  // 8 bytes, values fit in 32 bits: mode(word)
  b.add_enum("byte_sized", 1, {{"B0", 0}, {"B1", 1}});  // `enum x : u8` in the kernel
  b.add_enum("word_sized", 8, {{"W0", 0}});
  b.add_enum("", 4, {{"CONST_A", 10}, {"CONST_B", 20}});  // anonymous, unreferenced: constants
  b.add_enum("declared_only", 4, {});                        // a forward declaration of an enum
  EXPECT_EQ(types_of(b),
            "enum color {\n"
            "\tRED = 0,\n"
            "\tBLUE = 4294967295,\n"
            "};\n\n"
            "enum sign {\n"
            "\tMINUS = -1,\n"
            "\tPLUS = 1,\n"
            "};\n\n"
            "enum wide {\n"
            "\tSMALL = 1ULL,\n"
            "\tHUGE = 1250999896491ULL,\n"
            "};\n\n"
            "enum swide {\n"
            "\tNEG = -5LL,\n"
            "\tBIG = -4294967296LL,\n"
            "};\n\n"
            "enum narrow64 {\n"
            "\tN1 = 1ULL,\n"
            "} __attribute__((mode(word)));\n\n"
            "enum byte_sized {\n"
            "\tB0 = 0,\n"
            "\tB1 = 1,\n"
            "} __attribute__((mode(byte)));\n\n"
            "enum word_sized {\n"
            "\tW0 = 0,\n"
            "} __attribute__((mode(word)));\n\n"
            "enum {\n"
            "\tCONST_A = 10,\n"
            "\tCONST_B = 20,\n"
            "};\n\n"
            "enum declared_only;\n\n");
}

TEST(BtfDumpTest, AnonymousEnumInAMemberIsInline) {
  btf_builder b;
  auto e = b.add_enum("", 4, {{"STATE_ON", 1}, {"STATE_OFF", 0}});
  b.add_struct("dev", 4, {{"state", e, 0}});
  EXPECT_EQ(types_of(b),
            "struct dev {\n"
            "\tenum {\n"
            "\t\tSTATE_ON = 1,\n"
            "\t\tSTATE_OFF = 0,\n"
            "\t} state;\n"
            "};\n\n");
}

TEST(BtfDumpTest, ForwardDeclarations) {
  btf_builder b;
  auto s = b.add_forward("opaque");
  auto u = b.add_forward("shape", /*is_union=*/true);
  b.add_struct("holder", 16, {{"s", b.add_pointer(s), 0}, {"u", b.add_pointer(u), 64}});
  EXPECT_EQ(types_of(b),
            "struct opaque;\n\n"
            "union shape;\n\n"
            "struct holder {\n"
            "\tstruct opaque *s;\n"
            "\tunion shape *u;\n"
            "};\n\n");
}

TEST(BtfDumpTest, PackedStruct) {
  btf_builder b;
  auto c = b.add_int("char", 1, ebpf::btf_int_char);
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  // int at byte 1: off its 4-byte alignment, so the original was __attribute__((packed)).
  b.add_struct("wire", 5, {{"tag", c, 0}, {"len", i, 8}});
  // Naturally aligned members but a size (6) that is no multiple of the alignment (4): packed too;
  // `short: 0` moves the end to byte 6 (a zero-width bitfield aligns even in a packed struct).
  b.add_struct("tail", 6, {{"len", i, 0}, {"tag", c, 32}});
  // Embedding a packed struct: its alignment is 1, so nothing is padded before it.
  b.add_struct("outer", 6, {{"c", c, 0}, {"w", 3, 8}});
  EXPECT_EQ(types_of(b),
            "struct wire {\n"
            "\tchar tag;\n"
            "\tint len;\n"
            "} __attribute__((packed));\n\n"
            "struct tail {\n"
            "\tint len;\n"
            "\tchar tag;\n"
            "\tshort: 0;\n"
            "} __attribute__((packed));\n\n"
            "struct outer {\n"
            "\tchar c;\n"
            "\tstruct wire w;\n"
            "};\n\n");
}

TEST(BtfDumpTest, ExplicitPadding) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto l = b.add_int("long int", 8, ebpf::btf_int_signed);
  auto c = b.add_int("char", 1, ebpf::btf_int_char);
  // b at 16 bytes instead of 8: a 64-bit gap after `a` is filled with `long: 64`.
  b.add_struct("gap", 24, {{"a", i, 0}, {"b", l, 128}});
  // An over-aligned struct (____cacheline_aligned: 64 bytes with one int) pads its tail.
  b.add_struct("aligned", 64, {{"x", i, 0}});
  // A char at byte 3 after a char at 0: plain C would put it at byte 1.
  b.add_struct("spaced", 4, {{"a", c, 0}, {"b", c, 24}});
  EXPECT_EQ(types_of(b),
            "struct gap {\n"
            "\tint a;\n"
            "\tlong: 64;\n"
            "\tlong int b;\n"
            "};\n\n"
            "struct aligned {\n"
            "\tint x;\n"
            "\tlong: 64;\n"
            "\tlong: 64;\n"
            "\tlong: 64;\n"
            "\tlong: 64;\n"
            "\tlong: 64;\n"
            "\tlong: 64;\n"
            "\tlong: 64;\n"
            "};\n\n"
            "struct spaced {\n"
            "\tchar a;\n"
            "\tshort: 0;\n"
            "\tchar: 8;\n"
            "\tchar b;\n"
            "};\n\n");
}

TEST(BtfDumpTest, EmptyStructAndUnion) {
  btf_builder b;
  b.add_struct("empty", 0, {});
  b.add_union("nothing", 0, {});
  EXPECT_EQ(types_of(b), "struct empty {};\n\nunion nothing {};\n\n");
}

TEST(BtfDumpTest, DuplicateNamesGetSuffixes) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto c = b.add_int("char", 1, ebpf::btf_int_char);
  // Two different `struct dup` (deduplication keeps both when they differ), a typedef and an
  // enum sharing names, and two enums sharing an enumerator.
  b.add_struct("dup", 4, {{"x", i, 0}});
  b.add_struct("dup", 1, {{"c", c, 0}});
  b.add_enum("dup", 4, {{"ONE", 1}});  // same tag namespace as structs: dup___3
  b.add_typedef("dup", i);             // ordinary identifiers: a namespace of its own
  b.add_enum("other", 4, {{"ONE", 1}});
  b.add_forward("dup");  // a forward declaration may share the name: not renamed
  EXPECT_EQ(types_of(b),
            "struct dup {\n"
            "\tint x;\n"
            "};\n\n"
            "struct dup___2 {\n"
            "\tchar c;\n"
            "};\n\n"
            "enum dup___3 {\n"
            "\tONE = 1,\n"
            "};\n\n"
            "typedef int dup;\n\n"
            "enum other {\n"
            "\tONE___2 = 1,\n"
            "};\n\n"
            "struct dup;\n\n");
}

TEST(BtfDumpTest, VaListIsTheCompilersOwn) {
  btf_builder b;
  auto builtin = b.add_typedef("__builtin_va_list", b.add_pointer(0));
  b.add_typedef("va_list", builtin);
  b.add_typedef("__gnuc_va_list", 0);  // old GCC's broken description
  EXPECT_EQ(types_of(b),
            "typedef __builtin_va_list va_list;\n\n"
            "typedef __builtin_va_list __gnuc_va_list;\n\n");
}

TEST(BtfDumpTest, FunctionsVariablesAndDatasecsAreNotPrinted) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto proto = b.add_function_proto(i, {{"a", i}});
  auto f = b.add_function("f", proto);
  auto v = b.add_variable("counter", i);
  b.add_datasec(".data", 4, {{v, 0, 4}});
  b.add_decl_tag("tag", f, 0);
  EXPECT_EQ(types_of(b), "");
}

TEST(BtfDumpTest, HeaderWrapperAndKfuncPrototypes) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto task = b.add_struct("task", 4, {{"pid", i, 0}});
  auto task_ptr = b.add_pointer(task);
  auto acquire = b.add_function("bpf_task_acquire", b.add_function_proto(task_ptr, {{"p", task_ptr}}), 0);
  auto cast = b.add_function("bpf_cast", b.add_function_proto(i, {}), 0);
  auto plain = b.add_function("not_a_kfunc", b.add_function_proto(i, {}), 0);
  b.add_decl_tag("bpf_kfunc", acquire);
  b.add_decl_tag("bpf_kfunc", cast);
  b.add_decl_tag("bpf_fastcall", cast);
  b.add_decl_tag("bpf_kfunc", acquire, 0);  // on a parameter: not a kfunc marker
  b.add_decl_tag("something_else", plain);
  std::string header = ebpf::c_header(btf::parse(b.build()));
  EXPECT_EQ(header,
            "#ifndef __VMLINUX_H__\n"
            "#define __VMLINUX_H__\n"
            "\n"
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
            "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
            "#endif\n"
            "\n"
            "#ifndef __ksym\n"
            "#define __ksym __attribute__((section(\".ksyms\")))\n"
            "#endif\n"
            "\n"
            "#ifndef __weak\n"
            "#define __weak __attribute__((weak))\n"
            "#endif\n"
            "\n"
            "#ifndef __bpf_fastcall\n"
            "#if __has_attribute(bpf_fastcall)\n"
            "#define __bpf_fastcall __attribute__((bpf_fastcall))\n"
            "#else\n"
            "#define __bpf_fastcall\n"
            "#endif\n"
            "#endif\n"
            "\n"
            "#ifndef __btf_type_tag\n"
            "#if __has_attribute(btf_type_tag) && !defined(BPF_NO_TYPE_TAG)\n"
            "#define __btf_type_tag(tag) __attribute__((btf_type_tag(tag)))\n"
            "#else\n"
            "#define __btf_type_tag(tag)\n"
            "#endif\n"
            "#endif\n"
            "\n"
            "struct task {\n"
            "\tint pid;\n"
            "};\n"
            "\n"
            "\n"
            "/* BPF kfuncs */\n"
            "#ifndef BPF_NO_KFUNC_PROTOTYPES\n"
            "extern __bpf_fastcall int bpf_cast(void) __weak __ksym;\n"
            "extern struct task *bpf_task_acquire(struct task *p) __weak __ksym;\n"
            "#endif\n"
            "\n"
            "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
            "#pragma clang attribute pop\n"
            "#endif\n"
            "\n"
            "#endif /* __VMLINUX_H__ */\n");

  ebpf::c_dump_options options;
  options.guard = "MY_TYPES_H";
  std::ostringstream out;
  ebpf::write_c_header(btf::parse(b.build()), out, options);
  EXPECT_THAT(out.str(), HasSubstr("#ifndef MY_TYPES_H\n#define MY_TYPES_H\n"));
  EXPECT_THAT(out.str(), HasSubstr("#endif /* MY_TYPES_H */\n"));

  options.guard = "not an identifier";
  try {
    (void)ebpf::c_header(btf::parse(b.build()), options);
    ADD_FAILURE() << "a guard with spaces was accepted";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
}

// ---- BTF without a C form -------------------------------------------------------------------

TEST(BtfDumpTest, StructContainingItselfByValue) {
  btf_builder b;
  b.add_struct("loop", 4, {{"self", 1, 0}});
  expect_invalid(b, "type 1: the struct 'loop' contains itself");
}

TEST(BtfDumpTest, StructsContainingEachOtherByValue) {
  btf_builder b;
  b.add_struct("a", 4, {{"b", 2, 0}});
  b.add_struct("b", 4, {{"a", 1, 0}});
  expect_invalid(b, "contains itself");
}

TEST(BtfDumpTest, AnonymousStructBehindAPointerToItself) {
  btf_builder b;
  // An anonymous struct is defined inline wherever it is used; through a pointer to itself
  // that would never end.
  b.add_struct("", 8, {{"self", 2, 0}});
  b.add_pointer(1);
  b.add_typedef("t", 1);
  expect_invalid(b, "contains itself");
}

TEST(BtfDumpTest, LoopOfModifiers) {
  btf_builder b;
  b.add_const(2);
  b.add_volatile(1);
  b.add_struct("s", 8, {{"x", b.add_pointer(1), 0}});
  expect_invalid(b, "deeper than 1000 levels");
}

TEST(BtfDumpTest, LoopOfTypedefs) {
  btf_builder b;
  b.add_typedef("a", 2);
  b.add_typedef("b", 1);
  expect_invalid(b, "deeper than 1000 levels");
}

TEST(BtfDumpTest, VeryDeepChain) {
  btf_builder b;
  auto id = b.add_int("int", 4, ebpf::btf_int_signed);
  for (int n = 0; n < 5000; ++n) id = b.add_const(id);
  b.add_typedef("deep", id);
  expect_invalid(b, "deeper than 1000 levels");
}

TEST(BtfDumpTest, NameThatIsNoIdentifier) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  b.add_struct("bad name", 4, {{"x", i, 0}});
  expect_invalid(b, "type 2: name 'bad name' is not a C identifier");

  btf_builder m;
  auto j = m.add_int("int", 4, ebpf::btf_int_signed);
  m.add_struct("s", 4, {{"x;}", j, 0}});
  expect_invalid(m, "name 'x;}' is not a C identifier");

  btf_builder t;
  auto k = t.add_int("int", 4, ebpf::btf_int_signed);
  t.add_struct("s", 8, {{"p", t.add_pointer(t.add_type_tag("a\"b", k)), 0}});
  expect_invalid(t, "type tag 'a\"b' cannot be written in C");
}

TEST(BtfDumpTest, FunctionWhereATypeMustBe) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  auto f = b.add_function("f", b.add_function_proto(i, {}));
  b.add_struct("s", 8, {{"p", b.add_pointer(f), 0}});
  expect_invalid(b, "a func cannot be part of a C declaration");
}

TEST(BtfDumpTest, SizesNoRealTypeHas) {
  // 4 GiB of padding after one int: half a billion `long: 64;` lines, refused up front.
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);
  b.add_struct("huge", 0xfffffff8u, {{"x", i, 0}});
  expect_invalid(b, "type 2: padding of 4294967280 bytes would make the C header exceed 268435456 bytes");

  // An anonymous struct is printed at every use: 3 levels of 100 uses each are a million copies
  // of the innermost one (30 MB), over a 1 MiB limit; 2 levels (300 kB) are within it.
  for (int levels : {2, 3}) {
    btf_builder r;
    auto j = r.add_int("int", 4, ebpf::btf_int_signed);
    auto used = r.add_struct("", 4, {{"v", j, 0}});
    for (int level = 0; level < levels; ++level) {
      std::vector<btf_builder::member> uses(100, btf_builder::member{"", used, 0});
      used = level + 1 == levels ? r.add_union("bomb", 4, uses) : r.add_union("", 4, uses);
    }
    ebpf::c_dump_options options;
    options.max_size = 1 << 20;
    btf types = btf::parse(r.build());
    if (levels == 2) {
      EXPECT_GT(ebpf::c_header(types, options).size(), std::size_t{100000});
      continue;
    }
    try {
      (void)ebpf::c_header(types, options);
      ADD_FAILURE() << "no error";
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), errc::invalid_btf);
      EXPECT_THAT(e.what(), HasSubstr("the C header would exceed 1048576 bytes (c_dump_options::max_size)"));
    }
  }
}

// ---- raw ------------------------------------------------------------------------------------

TEST(BtfDumpTest, RawFormatOfEveryKind) {
  btf_builder b;
  auto i = b.add_int("int", 4, ebpf::btf_int_signed);                              // 1
  auto u = b.add_int("unsigned int", 4);                                           // 2
  auto p = b.add_pointer(i);                                                       // 3
  b.add_array(i, u, 16);                                                           // 4
  b.add_struct("bits", 8, {{"a", u, 0, 3}, {"", u, 3, 5}, {"c", i, 32, 0}}, true);  // 5
  b.add_union("either", 4, {{"i", i, 0}, {"u", u, 0}});                            // 6
  b.add_enum("sign", 4, {{"MINUS", -1}, {"PLUS", 1}}, true);                       // 7
  b.add_enum("color", 4, {{"BIG", 4294967295}});                                   // 8
  b.add_forward("opaque", true);                                                   // 9
  b.add_typedef("s32", i);                                                         // 10
  b.add_volatile(i);                                                               // 11
  b.add_const(i);                                                                  // 12
  b.add_restrict(p);                                                               // 13
  auto proto = b.add_function_proto(i, {{"a", i}, {"", 0}});                      // 14
  auto f = b.add_function("handler", proto, 2);                                    // 15
  auto v = b.add_variable("counter", i, 0);                                        // 16
  b.add_datasec(".data", 4, {{v, 0, 4}});                                          // 17
  b.add_float("double", 8);                                                        // 18
  b.add_decl_tag("arg_tag", f, 0);                                                 // 19
  b.add_type_tag("user", i);                                                       // 20
  b.add_enum64("wide", 8, {{"SMALL", 1}, {"HUGE", -1}});                           // 21
  b.add_enum64("swide", 8, {{"NEG", -2}}, true);                                   // 22
  b.add_int("_Bool", 1, ebpf::btf_int_bool);                                       // 23
  b.add_int("char", 1, ebpf::btf_int_char);                                        // 24
  b.add_int("bit7", 1, 0, 7, 1);                                                   // 25
  EXPECT_EQ(ebpf::raw_dump(btf::parse(b.build())),
            "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n"
            "[2] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)\n"
            "[3] PTR '(anon)' type_id=1\n"
            "[4] ARRAY '(anon)' type_id=1 index_type_id=2 nr_elems=16\n"
            "[5] STRUCT 'bits' size=8 vlen=3\n"
            "\t'a' type_id=2 bits_offset=0 bitfield_size=3\n"
            "\t'(anon)' type_id=2 bits_offset=3 bitfield_size=5\n"
            "\t'c' type_id=1 bits_offset=32\n"
            "[6] UNION 'either' size=4 vlen=2\n"
            "\t'i' type_id=1 bits_offset=0\n"
            "\t'u' type_id=2 bits_offset=0\n"
            "[7] ENUM 'sign' encoding=SIGNED size=4 vlen=2\n"
            "\t'MINUS' val=-1\n"
            "\t'PLUS' val=1\n"
            "[8] ENUM 'color' encoding=UNSIGNED size=4 vlen=1\n"
            "\t'BIG' val=4294967295\n"
            "[9] FWD 'opaque' fwd_kind=union\n"
            "[10] TYPEDEF 's32' type_id=1\n"
            "[11] VOLATILE '(anon)' type_id=1\n"
            "[12] CONST '(anon)' type_id=1\n"
            "[13] RESTRICT '(anon)' type_id=3\n"
            "[14] FUNC_PROTO '(anon)' ret_type_id=1 vlen=2\n"
            "\t'a' type_id=1\n"
            "\t'(anon)' type_id=0\n"
            "[15] FUNC 'handler' type_id=14 linkage=extern\n"
            "[16] VAR 'counter' type_id=1, linkage=static\n"
            "[17] DATASEC '.data' size=4 vlen=1\n"
            "\ttype_id=16 offset=0 size=4 (VAR 'counter')\n"
            "[18] FLOAT 'double' size=8\n"
            "[19] DECL_TAG 'arg_tag' type_id=15 component_idx=0\n"
            "[20] TYPE_TAG 'user' type_id=1\n"
            "[21] ENUM64 'wide' encoding=UNSIGNED size=8 vlen=2\n"
            "\t'SMALL' val=1ULL\n"
            "\t'HUGE' val=18446744073709551615ULL\n"
            "[22] ENUM64 'swide' encoding=SIGNED size=8 vlen=1\n"
            "\t'NEG' val=-2LL\n"
            "[23] INT '_Bool' size=1 bits_offset=0 nr_bits=8 encoding=BOOL\n"
            "[24] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=CHAR\n"
            "[25] INT 'bit7' size=1 bits_offset=1 nr_bits=7 encoding=(none)\n");

  std::ostringstream out;
  ebpf::write_raw_dump(btf::parse(b.build()), out);
  EXPECT_EQ(out.str(), ebpf::raw_dump(btf::parse(b.build())));
}

// ---- a compiled object --------------------------------------------------------------------

TEST(BtfDumpTest, CompiledObject) {
  auto section = ebpf::test::read_elf_section(std::string(EBPFPP_TEST_BPF_DIR) + "/btf_types.bpf.o", ".BTF");
  ASSERT_TRUE(section.has_value());
  std::string header = ebpf::c_header(btf::parse(*section));
  // What tests/bpf/btf_types.bpf.c declares, as clang described it.
  EXPECT_THAT(header, HasSubstr("struct flags {\n"
                                "\tu32 low: 3;\n"
                                "\tu32 mid: 5;\n"
                                "\tint signed_bits: 10;\n"
                                "\tu64 wide;\n"
                                "\tchar name[6];\n"
                                "};\n"));
  EXPECT_THAT(header, HasSubstr("typedef struct flags flags_t;\n"));
  EXPECT_THAT(header, HasSubstr("\tint __btf_type_tag(\"user\") *user_ptr;\n"
                                "\tvolatile const u32 *cv_ptr;\n"
                                "\tint * restrict restricted;\n"
                                "\tstruct opaque *opaque;\n"
                                "\tunion value (*callback)(u32, u64);\n"));
  EXPECT_THAT(header, HasSubstr("struct opaque;\n"));
  EXPECT_THAT(header, HasSubstr("enum big {\n\tbig_small = 1ULL,\n\tbig_huge = 78187493520ULL,\n};\n"));
  EXPECT_THAT(header, HasSubstr("enum color {\n\tcolor_red = 0,\n\tcolor_green = 5,\n\tcolor_none = -1,\n};\n"));
  // The variables, the program's function and the DATASECs have no C form here.
  EXPECT_THAT(header, testing::Not(HasSubstr("data_counter")));
  EXPECT_THAT(header, testing::Not(HasSubstr("btf_types_prog")));
}

}  // namespace
