// User-space ELF binaries for uprobes (lib/object/elf_binary.cpp) and USDT notes and argument
// specs (lib/object/usdt_note.cpp), checked against this very test executable and the libc it
// runs with: a function's file offset must equal its run-time address minus its mapping's start
// plus the mapping's file offset, as the kernel computes it for a uprobe.
#include "elf_binary.hpp"
#include "glob.hpp"
#include "usdt_note.hpp"

#include <ebpf/error.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <elf.h>
#include <fstream>
#include <iterator>
#include <sys/sdt.h>
#include <unistd.h>

#if defined(__clang__)
#define PROBED __attribute__((noinline, used))
#else
#define PROBED __attribute__((noipa, used))
#endif

extern "C" {
PROBED int elf_binary_test_target_one(int x) { asm volatile("" ::: "memory"); return x + 1; }
PROBED int elf_binary_test_target_two(int x) { asm volatile("" ::: "memory"); return x + 2; }
PROBED void elf_binary_test_usdt(int a, long b) { DTRACE_PROBE2(ebpfpp_unit, pair, a, b); }
}

namespace {

using ebpf::detail::elf_binary;
using ebpf::detail::usdt_arg_spec;

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The file offset the kernel would use for a run-time address of this process.
std::uint64_t runtime_offset(const void* address, std::string* path = nullptr) {
  auto value = reinterpret_cast<std::uint64_t>(address);
  for (const auto& mapping : ebpf::detail::parse_proc_maps(read_text("/proc/self/maps"))) {
    if (value >= mapping.start && value < mapping.end) {
      if (path) *path = mapping.path;
      return value - mapping.start + mapping.offset;
    }
  }
  ADD_FAILURE() << "address not in a file mapping";
  return 0;
}

template <class F>
void expect_invalid_object(F&& f, std::string_view fragment = {}) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_object) << e.what();
    if (!fragment.empty()) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

class ElfBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { self_ = new std::vector<std::byte>(read_file("/proc/self/exe")); }
  static void TearDownTestSuite() { delete self_; }
  static std::vector<std::byte>* self_;
};
std::vector<std::byte>* ElfBinaryTest::self_ = nullptr;

TEST_F(ElfBinaryTest, OwnFunctionOffsetIsWhatTheKernelWouldUse) {
  elf_binary binary(*self_, "self");
  EXPECT_TRUE(binary.elf_type() == ET_DYN || binary.elf_type() == ET_EXEC);
  auto found = binary.find_function("elf_binary_test_target_one");
  EXPECT_EQ(found.name, "elf_binary_test_target_one");
  EXPECT_EQ(found.offset, runtime_offset(reinterpret_cast<const void*>(&elf_binary_test_target_one)));
  EXPECT_NE(binary.find_function("elf_binary_test_target_two").offset, found.offset);
}

TEST_F(ElfBinaryTest, GlobsMatchEachFunctionOnce) {
  elf_binary binary(*self_, "self");
  auto matches = binary.match_functions("elf_binary_test_target_*");
  ASSERT_EQ(matches.size(), 2u);
  EXPECT_LT(matches[0].address, matches[1].address);
  EXPECT_TRUE(binary.match_functions("elf_binary_test_nothing*").empty());
  using ebpf::detail::glob_match;  // object/glob.hpp, shared with kprobe_multi patterns
  EXPECT_TRUE(glob_match("malloc", "m*c"));
  EXPECT_TRUE(glob_match("malloc", "*"));
  EXPECT_TRUE(glob_match("malloc", "mal?oc"));
  EXPECT_TRUE(glob_match("a_b_c", "*_*_c"));
  EXPECT_FALSE(glob_match("malloc", "m*d"));
  EXPECT_FALSE(glob_match("malloc", "malloc?"));
  EXPECT_TRUE(glob_match("", "*"));
  EXPECT_FALSE(glob_match("", "?"));
}

TEST_F(ElfBinaryTest, LibcDynamicSymbolsWithVersions) {
  std::string libc;
  std::uint64_t expected = runtime_offset(reinterpret_cast<const void*>(&::getpid), &libc);
  ASSERT_NE(libc.find("libc"), std::string::npos) << libc;
  auto bytes = read_file(libc);
  elf_binary binary(bytes, libc);
  auto found = binary.find_function("getpid");
  EXPECT_EQ(found.offset, expected);
  EXPECT_NE(found.name.find("getpid@@GLIBC_"), std::string::npos) << found.name;
  EXPECT_EQ(binary.find_function(found.name).offset, expected) << "the versioned name";
  EXPECT_EQ(binary.find_function("malloc@@GLIBC_2.2.5").offset, binary.find_function("malloc").offset);
  try {
    binary.find_function("malloc@@GLIBC_0.0");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::unknown_symbol);
  }
  try {
    binary.find_function("mallo");  // a prefix is not a match
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::unknown_symbol);
    EXPECT_NE(std::string(e.what()).find("no function 'mallo'"), std::string::npos) << e.what();
  }
}

TEST_F(ElfBinaryTest, HostileFilesAreErrorsNotCrashes) {
  expect_invalid_object([] { elf_binary(std::span<const std::byte>(), "empty"); }, "too small");
  std::vector<std::byte> text(64, std::byte{'x'});
  expect_invalid_object([&] { elf_binary(text, "text"); }, "not an ELF file");
  // A relocatable eBPF object is not a uprobe target.
  auto bpf = read_file(std::string(EBPFPP_TEST_BPF_DIR) + "/uprobe.bpf.o");
  ASSERT_FALSE(bpf.empty());
  expect_invalid_object([&] { elf_binary(bpf, "bpf"); }, "not an executable or shared library");

  Elf64_Ehdr header;
  std::memcpy(&header, self_->data(), sizeof header);
  auto patched = [&](auto mutate) {
    std::vector<std::byte> copy = *self_;
    Elf64_Ehdr h = header;
    mutate(h, copy);
    std::memcpy(copy.data(), &h, sizeof h);
    return copy;
  };
  auto far_sections = patched([](Elf64_Ehdr& h, auto&) { h.e_shoff = ~std::uint64_t{0} - 8; });
  expect_invalid_object([&] { elf_binary(far_sections, "x"); }, "section headers");
  auto far_segments = patched([](Elf64_Ehdr& h, auto&) { h.e_phoff = 1ull << 40; });
  expect_invalid_object([&] { elf_binary(far_segments, "x"); }, "program headers");
  auto many_sections = patched([](Elf64_Ehdr& h, auto&) { h.e_shnum = 0xfff0; });
  expect_invalid_object([&] { elf_binary(many_sections, "x"); });
  auto bad_names = patched([](Elf64_Ehdr& h, auto&) { h.e_shstrndx = 0xfff0; });
  expect_invalid_object([&] { elf_binary(bad_names, "x"); }, "name table");
  // Every section's data pointed past the end of the file.
  auto bad_section = patched([](Elf64_Ehdr& h, std::vector<std::byte>& copy) {
    for (std::uint16_t i = 1; i < h.e_shnum; ++i) {
      Elf64_Shdr shdr;
      std::memcpy(&shdr, copy.data() + h.e_shoff + i * sizeof shdr, sizeof shdr);
      if (shdr.sh_type != SHT_SYMTAB) continue;
      shdr.sh_size = copy.size();
      std::memcpy(copy.data() + h.e_shoff + i * sizeof shdr, &shdr, sizeof shdr);
    }
  });
  expect_invalid_object([&] { elf_binary(bad_section, "x"); }, "outside the file");
  // Truncations anywhere: parsed or refused, never read out of bounds (ASan watches).
  for (std::size_t size : {std::size_t{16}, std::size_t{63}, std::size_t{64}, std::size_t{200},
                           std::size_t{4096}, self_->size() / 2, self_->size() - 1}) {
    std::span<const std::byte> cut(self_->data(), size);
    try {
      elf_binary binary(cut, "cut");
      (void)binary.match_functions("*");
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::invalid_object) << e.what();
    }
  }
}

// ---- USDT --------------------------------------------------------------------------------------

TEST(UsdtArgs, X86_64OperandsParseExactly) {
  auto args = ebpf::detail::parse_usdt_args("-4@%edi -8@%rsi -2@$-5", "t");
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[0].type, usdt_arg_spec::kind::reg);
  EXPECT_EQ(args[0].reg_offset, 112);  // pt_regs.di
  EXPECT_EQ(args[0].size, 4);
  EXPECT_TRUE(args[0].is_signed);
  EXPECT_EQ(args[1].reg_offset, 104);  // pt_regs.si
  EXPECT_EQ(args[1].size, 8);
  EXPECT_EQ(args[2].type, usdt_arg_spec::kind::constant);
  EXPECT_EQ(args[2].value_or_offset, -5);
  EXPECT_EQ(args[2].size, 2);

  args = ebpf::detail::parse_usdt_args("8@-8(%rbp) 4@(%rax) 1@$200 8@0x10(%r12)  2@%r9w", "t");
  ASSERT_EQ(args.size(), 5u);
  EXPECT_EQ(args[0].type, usdt_arg_spec::kind::reg_deref);
  EXPECT_EQ(args[0].reg_offset, 32);  // pt_regs.bp
  EXPECT_EQ(args[0].value_or_offset, -8);
  EXPECT_FALSE(args[0].is_signed);
  EXPECT_EQ(args[1].type, usdt_arg_spec::kind::reg_deref);
  EXPECT_EQ(args[1].reg_offset, 80);  // pt_regs.ax
  EXPECT_EQ(args[1].value_or_offset, 0);
  EXPECT_EQ(args[2].value_or_offset, 200);
  EXPECT_EQ(args[3].reg_offset, 24);  // pt_regs.r12
  EXPECT_EQ(args[3].value_or_offset, 16);
  EXPECT_EQ(args[4].reg_offset, 64);  // pt_regs.r9
  EXPECT_EQ(args[4].size, 2);

  args = ebpf::detail::parse_usdt_args("-4@-12(%rax,%rdx,4) 8@(%rbx,%rcx)", "t");
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[0].type, usdt_arg_spec::kind::reg_sib_deref);
  EXPECT_EQ(args[0].reg_offset, 80);
  EXPECT_EQ(args[0].index_reg_offset, 96);  // pt_regs.dx
  EXPECT_EQ(args[0].scale_shift, 2);
  EXPECT_EQ(args[0].value_or_offset, -12);
  EXPECT_EQ(args[1].scale_shift, 0);
  EXPECT_EQ(args[1].index_reg_offset, 88);  // pt_regs.cx

  EXPECT_TRUE(ebpf::detail::parse_usdt_args("", "t").empty());
  EXPECT_TRUE(ebpf::detail::parse_usdt_args("   ", "t").empty());
}

TEST(UsdtArgs, MalformedOperandsAreNamed) {
  auto bad = [](std::string_view text, std::string_view why) {
    expect_invalid_object([&] { ebpf::detail::parse_usdt_args(text, "probe"); }, why);
  };
  bad("3@%eax", "size must be 1, 2, 4 or 8");
  bad("4@%xyz", "unknown register '%xyz'");
  bad("4@sym(%rip)", "symbolic offsets are not supported");
  bad("4@", "expected a register");
  bad("%eax", "expected [-]<size>@<operand>");
  bad("4@(%rax", "expected ')'");
  bad("4@(%rax,%rbx,3)", "scale must be");
  bad("4@$", "expected a number");
  bad("8@$99999999999999999999", "out of range");
  bad("4@%eax)", "unexpected ')'");
  bad("1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1 1@$1", "more than 12");
}

// Builds one note: header, padded name, padded descriptor.
std::vector<std::byte> make_note(std::string_view owner, std::uint32_t type, std::string_view desc,
                                 std::uint32_t desc_size_override = 0) {
  std::vector<std::byte> out;
  auto append = [&](const void* data, std::size_t size) {
    auto bytes = static_cast<const std::byte*>(data);
    out.insert(out.end(), bytes, bytes + size);
  };
  auto pad = [&] {
    while (out.size() % 4) out.push_back(std::byte{0});
  };
  std::uint32_t header[3] = {static_cast<std::uint32_t>(owner.size() + 1),
                             desc_size_override ? desc_size_override
                                                : static_cast<std::uint32_t>(desc.size()),
                             type};
  append(header, sizeof header);
  append(owner.data(), owner.size());
  out.push_back(std::byte{0});
  pad();
  append(desc.data(), desc.size());
  pad();
  return out;
}

std::string stapsdt_desc(std::uint64_t pc, std::uint64_t base, std::uint64_t semaphore,
                         std::string_view strings) {
  std::string desc(24, '\0');
  std::memcpy(desc.data(), &pc, 8);
  std::memcpy(desc.data() + 8, &base, 8);
  std::memcpy(desc.data() + 16, &semaphore, 8);
  desc.append(strings);
  return desc;
}

TEST(UsdtNotes, ParsedAndOtherNotesSkipped) {
  using namespace std::string_view_literals;
  auto notes = make_note("GNU", 1, "abcd");
  auto first = make_note("stapsdt", 3, stapsdt_desc(0x1000, 0x2000, 0x3000, "prov\0name\0-4@%edi\0"sv));
  auto second = make_note("stapsdt", 3, stapsdt_desc(0x1100, 0x2000, 0, "prov\0other\0\0"sv));
  notes.insert(notes.end(), first.begin(), first.end());
  notes.insert(notes.end(), second.begin(), second.end());
  auto parsed = ebpf::detail::parse_stapsdt_notes(notes, "t");
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].provider, "prov");
  EXPECT_EQ(parsed[0].name, "name");
  EXPECT_EQ(parsed[0].pc, 0x1000u);
  EXPECT_EQ(parsed[0].base, 0x2000u);
  EXPECT_EQ(parsed[0].semaphore, 0x3000u);
  EXPECT_EQ(parsed[0].args, "-4@%edi");
  EXPECT_EQ(parsed[1].name, "other");
  EXPECT_EQ(parsed[1].args, "");
}

TEST(UsdtNotes, HostileNotesAreErrors) {
  using namespace std::string_view_literals;
  std::string desc = stapsdt_desc(1, 2, 3, "p\0n\0\0"sv);
  auto good = make_note("stapsdt", 3, desc);
  // Every truncation of a valid note that cuts into its content (only the last note's trailing
  // padding may be missing).
  std::size_t content = 12 + 8 + desc.size();
  ASSERT_LT(content, good.size());
  EXPECT_EQ(ebpf::detail::parse_stapsdt_notes(std::span<const std::byte>(good.data(), content), "t").size(), 1u);
  for (std::size_t size = 1; size < content; ++size) {
    std::span<const std::byte> cut(good.data(), size);
    try {
      auto parsed = ebpf::detail::parse_stapsdt_notes(cut, "t");
      ADD_FAILURE() << "truncated to " << size << " parsed " << parsed.size() << " notes";
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::invalid_object) << e.what();
    }
  }
  expect_invalid_object([&] {
    auto note = make_note("stapsdt", 3, stapsdt_desc(1, 2, 3, "p\0n\0\0"sv), 0xfffffff0u);
    ebpf::detail::parse_stapsdt_notes(note, "t");
  }, "overrun");
  expect_invalid_object([&] {
    auto note = make_note("stapsdt", 3, std::string(16, '\0'));
    ebpf::detail::parse_stapsdt_notes(note, "t");
  }, "too small");
  expect_invalid_object([&] {
    auto note = make_note("stapsdt", 3, stapsdt_desc(1, 2, 3, "p\0n"sv));
    ebpf::detail::parse_stapsdt_notes(note, "t");
  }, "lacks");
  expect_invalid_object([&] {
    auto note = make_note("stapsdt", 3, stapsdt_desc(1, 2, 3, "\0n\0\0"sv));
    ebpf::detail::parse_stapsdt_notes(note, "t");
  }, "empty provider");
}

TEST_F(ElfBinaryTest, OwnUsdtProbeSiteLiesInItsFunction) {
  elf_binary binary(*self_, "self");
  auto sites = ebpf::detail::find_usdt_sites(binary, "ebpfpp_unit", "pair");
  ASSERT_EQ(sites.size(), 1u);
  auto function = binary.find_function("elf_binary_test_usdt");
  const ebpf::detail::binary_symbol* symbol = nullptr;
  for (const auto& s : binary.functions()) {
    if (s.name == "elf_binary_test_usdt") symbol = &s;
  }
  ASSERT_NE(symbol, nullptr);
  EXPECT_GE(sites[0].address, symbol->value);
  EXPECT_LT(sites[0].address, symbol->value + symbol->size);
  EXPECT_EQ(sites[0].offset - function.offset, sites[0].address - function.address);
  EXPECT_EQ(sites[0].semaphore, 0u);
  ASSERT_EQ(sites[0].args.size(), 2u);
  EXPECT_EQ(sites[0].args[0].size, 4);
  EXPECT_TRUE(sites[0].args[0].is_signed);
  EXPECT_EQ(sites[0].args[1].size, 8);
  try {
    ebpf::detail::find_usdt_sites(binary, "ebpfpp_unit", "missing");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_NE(std::string(e.what()).find("ebpfpp_unit:pair"), std::string::npos) << e.what();
  }
}

TEST(UsdtSpec, EncodedLayoutMatchesTheBpfHeader) {
  auto args = ebpf::detail::parse_usdt_args("-4@-12(%rax,%rdx,4)", "t");
  auto bytes = ebpf::detail::encode_usdt_spec(args, 0x1122334455667788ull);
  static_assert(ebpf::detail::usdt_spec_size == 272);
  std::int64_t offset;
  std::memcpy(&offset, bytes.data(), 8);
  EXPECT_EQ(offset, -12);
  std::uint16_t reg, index;
  std::memcpy(&reg, bytes.data() + 8, 2);
  std::memcpy(&index, bytes.data() + 10, 2);
  EXPECT_EQ(reg, 80);
  EXPECT_EQ(index, 96);
  EXPECT_EQ(bytes[12], std::byte{3});  // EBPFPP_USDT_ARG_SIB
  EXPECT_EQ(bytes[13], std::byte{4});
  EXPECT_EQ(bytes[14], std::byte{1});
  EXPECT_EQ(bytes[15], std::byte{2});
  std::uint64_t cookie;
  std::memcpy(&cookie, bytes.data() + 256, 8);
  EXPECT_EQ(cookie, 0x1122334455667788ull);
  std::uint16_t count;
  std::memcpy(&count, bytes.data() + 264, 2);
  EXPECT_EQ(count, 1);
}

// ---- finding libraries ---------------------------------------------------------------------------

TEST(LibraryLookup, LdSoCacheHasThisMachinesLibc) {
  auto bytes = read_file("/etc/ld.so.cache");
  if (bytes.empty()) GTEST_SKIP() << "no /etc/ld.so.cache";
  auto entries = ebpf::detail::parse_ld_so_cache(bytes);
  bool found = false;
  for (const auto& entry : entries) {
    if (entry.name == "libc.so.6" && (entry.flags & 0xffff) == ebpf::detail::ld_cache_native_flags()) {
      found = true;
      EXPECT_EQ(::access(entry.path.c_str(), R_OK), 0) << entry.path;
    }
  }
  EXPECT_TRUE(found);
  // Truncated caches: fewer entries or an error, never a read past the end.
  for (std::size_t size : {std::size_t{0}, std::size_t{10}, std::size_t{47}, std::size_t{100}, bytes.size() / 2}) {
    try {
      auto some = ebpf::detail::parse_ld_so_cache(std::span<const std::byte>(bytes.data(), size));
      EXPECT_LE(some.size(), entries.size());
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::invalid_object);
    }
  }
}

TEST(LibraryLookup, ProcMapsAndNames) {
  auto maps = ebpf::detail::parse_proc_maps(
      "55d0c0000000-55d0c0001000 r--p 00000000 08:01 12 /usr/bin/my app\n"
      "7f0000000000-7f0000022000 r-xp 00028000 08:01 34                 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
      "7f0000100000-7f0000101000 rw-p 00000000 00:00 0 \n"
      "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                  [stack]\n"
      "garbage\n");
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].path, "/usr/bin/my app");
  EXPECT_FALSE(maps[0].executable);
  EXPECT_EQ(maps[1].start, 0x7f0000000000u);
  EXPECT_EQ(maps[1].end, 0x7f0000022000u);
  EXPECT_EQ(maps[1].offset, 0x28000u);
  EXPECT_TRUE(maps[1].executable);
  using ebpf::detail::library_name_matches;
  EXPECT_TRUE(library_name_matches("libc.so.6", "libc.so.6"));
  EXPECT_TRUE(library_name_matches("libc.so.6", "libc"));
  EXPECT_TRUE(library_name_matches("libc-2.31.so", "libc"));
  EXPECT_TRUE(library_name_matches("libc.so.6", "libc.so"));
  EXPECT_FALSE(library_name_matches("libcap.so.2", "libc"));
  EXPECT_FALSE(library_name_matches("libc++.so.1", "libc"));
  EXPECT_FALSE(library_name_matches("libc.so.6", ""));
}

}  // namespace
