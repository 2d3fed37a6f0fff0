// The kallsyms parser and the kprobe name resolution (lib/object/kallsyms.hpp), over text.
#include "kallsyms.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace {

using ebpf::detail::function_resolution;
using ebpf::detail::kernel_symbols;
using ebpf::detail::resolution_status;

// Shaped like a real /proc/kallsyms (types, tabs before modules, [bpf] pseudo-module).
constexpr std::string_view sample =
    "ffffffff81000000 T _stext\n"
    "ffffffff81001000 T __x64_sys_getpid\n"
    "ffffffff81001040 T __ia32_sys_getpid\n"
    "ffffffff81002000 t tcp_v4_do_rcv\n"
    "ffffffff81003000 t update_load_avg.isra.0\n"
    "ffffffff81003400 t cfs_rq_util_change.constprop.0.isra.0\n"
    "ffffffff81003800 t free_pages.part.0\n"
    "ffffffff81003900 t free_pages.part.0.cold\n"
    "ffffffff81004000 t ip_fraglist.llvm.12345678901234\n"
    "ffffffff81005000 t dup_clone.isra.0\n"
    "ffffffff81005100 t dup_clone.constprop.1\n"
    "ffffffff81006000 t static_twice\n"
    "ffffffff81006100 t static_twice\n"
    "ffffffff81007000 W weak_hook\n"
    "ffffffff82000000 D jiffies\n"
    "ffffffff81008000 t do_nanosleep\n"
    "ffffffff81008100 t do_nanosleep_helper.cold\n"
    "ffffffffc0a01000 t veth_open\t[veth]\n"
    "ffffffffc0000000 t bpf_prog_6deef7357e7b4530_on_tp\t[bpf]\n"
    "ffffffff81009000 t __ftrace_invalid_address___64\n"
    "ffffffff81007ff0 t __pfx_do_nanosleep\n"
    "this line is not a symbol\n"
    "ffffffff8100a000 T sys_ni_syscall";

TEST(KallsymsTest, ParsesAddressTypeNameAndModule) {
  auto symbols = kernel_symbols::parse(sample);
  ASSERT_EQ(symbols.entries().size(), 22u);  // the malformed line is skipped
  EXPECT_TRUE(symbols.has_addresses());
  const auto& first = symbols.entries().front();
  EXPECT_EQ(first.address, 0xffffffff81000000u);
  EXPECT_EQ(first.type, 'T');
  EXPECT_EQ(first.name, "_stext");
  EXPECT_TRUE(first.module.empty());
  auto veth = symbols.functions_named("veth_open");
  ASSERT_EQ(veth.size(), 1u);
  EXPECT_EQ(veth[0]->module, "veth");
  EXPECT_EQ(veth[0]->address, 0xffffffffc0a01000u);
  // Data and JITed BPF programs are not functions one can probe.
  EXPECT_TRUE(symbols.functions_named("jiffies").empty());
  EXPECT_TRUE(symbols.functions_named("bpf_prog_6deef7357e7b4530_on_tp").empty());
  EXPECT_EQ(symbols.functions_named("static_twice").size(), 2u);
  EXPECT_EQ(symbols.functions_named("weak_hook").size(), 1u);
}

TEST(KallsymsTest, HiddenAddressesAreReported) {
  // What an unprivileged reader sees with kptr_restrict: every address zero.
  auto symbols = kernel_symbols::parse("0000000000000000 T _stext\n0000000000000000 t foo\n");
  EXPECT_EQ(symbols.entries().size(), 2u);
  EXPECT_FALSE(symbols.has_addresses());
  EXPECT_FALSE(symbols.symbolize(0x1000));
  EXPECT_EQ(symbols.resolve_function("foo").status, resolution_status::exact);
}

TEST(KallsymsTest, MalformedLinesAreSkipped) {
  auto symbols = kernel_symbols::parse(
      "ffffffff81000000\n"                  // no type
      "ffffffff81000000 T\n"                // no name
      "zzzz T name\n"                       // not hex
      "11112222333344445 T too_long\n"      // 17 hex digits
      "ffffffff81000000 T name [unclosed\n" // bad module
      "ffffffff81000000 TT name\n"          // type is one character
      "ffffffff81000010 t good\n");
  ASSERT_EQ(symbols.entries().size(), 1u);
  EXPECT_EQ(symbols.entries()[0].name, "good");
  EXPECT_TRUE(kernel_symbols::parse("").empty());
}

TEST(KallsymsTest, ExactNameWins) {
  auto symbols = kernel_symbols::parse(sample);
  function_resolution r = symbols.resolve_function("tcp_v4_do_rcv");
  EXPECT_EQ(r.status, resolution_status::exact);
  EXPECT_EQ(r.name, "tcp_v4_do_rcv");
  EXPECT_EQ(r.address, 0xffffffff81002000u);
}

TEST(KallsymsTest, FindsTheUniqueCompilerClone) {
  auto symbols = kernel_symbols::parse(sample);
  struct {
    const char* wanted;
    const char* clone;
  } cases[] = {
      {"update_load_avg", "update_load_avg.isra.0"},
      {"cfs_rq_util_change", "cfs_rq_util_change.constprop.0.isra.0"},
      {"free_pages", "free_pages.part.0"},  // not the .cold half
      {"ip_fraglist", "ip_fraglist.llvm.12345678901234"},
  };
  for (const auto& c : cases) {
    auto r = symbols.resolve_function(c.wanted);
    EXPECT_EQ(r.status, resolution_status::clone) << c.wanted;
    EXPECT_EQ(r.name, c.clone) << c.wanted;
    EXPECT_NE(r.address, 0u);
  }
}

TEST(KallsymsTest, SeveralClonesAreAmbiguousAndListed) {
  auto symbols = kernel_symbols::parse(sample);
  auto r = symbols.resolve_function("dup_clone");
  EXPECT_EQ(r.status, resolution_status::ambiguous);
  EXPECT_EQ(r.candidates, (std::vector<std::string>{"dup_clone.constprop.1", "dup_clone.isra.0"}));
}

TEST(KallsymsTest, UnknownAndNonCloneSuffixesAreNotFound) {
  auto symbols = kernel_symbols::parse(sample);
  EXPECT_EQ(symbols.resolve_function("no_such_function").status, resolution_status::not_found);
  // "do_nanosleep_helper.cold" is neither "do_nanosleep" nor a clone of it.
  EXPECT_EQ(symbols.resolve_function("do_nanosleep").status, resolution_status::exact);
  EXPECT_EQ(symbols.resolve_function("do_nanosleep_helper").status, resolution_status::not_found);
  // A prefix of a real name is not that name.
  EXPECT_EQ(symbols.resolve_function("tcp_v4").status, resolution_status::not_found);
  EXPECT_EQ(symbols.resolve_function("jiffies").status, resolution_status::not_found);
}

TEST(KallsymsTest, CloneSuffixGrammar) {
  using ebpf::detail::is_clone_of;
  EXPECT_TRUE(is_clone_of("f.isra.0", "f"));
  EXPECT_TRUE(is_clone_of("f.constprop.12.isra.3", "f"));
  EXPECT_TRUE(is_clone_of("f.lto_priv.0", "f"));
  EXPECT_FALSE(is_clone_of("f", "f"));
  EXPECT_FALSE(is_clone_of("f.cold", "f"));
  EXPECT_FALSE(is_clone_of("f.isra.0.cold", "f"));
  EXPECT_FALSE(is_clone_of("f.isra", "f"));
  EXPECT_FALSE(is_clone_of("f.isra.x", "f"));
  EXPECT_FALSE(is_clone_of("fg.isra.0", "f"));
  EXPECT_FALSE(is_clone_of("f.isra.0", ""));
}

TEST(KallsymsTest, SyscallWrappers) {
  auto symbols = kernel_symbols::parse(sample);
  EXPECT_EQ(symbols.syscall_function("getpid", "__x64_"), "__x64_sys_getpid");
  EXPECT_EQ(symbols.syscall_function("getpid", "__ia32_"), "__ia32_sys_getpid");
  // No wrapper: the pre-4.17 name.
  EXPECT_EQ(symbols.syscall_function("ni_syscall", "__x64_"), "sys_ni_syscall");
  EXPECT_EQ(symbols.syscall_function("ni_syscall", ""), "sys_ni_syscall");
  EXPECT_FALSE(symbols.syscall_function("nosuchcall", "__x64_"));
  EXPECT_FALSE(symbols.syscall_function("", "__x64_"));

  using ebpf::detail::syscall_wrapper_prefix;
  EXPECT_EQ(syscall_wrapper_prefix("x86_64"), "__x64_");
  EXPECT_EQ(syscall_wrapper_prefix("i686"), "__ia32_");
  EXPECT_EQ(syscall_wrapper_prefix("aarch64"), "__arm64_");
  EXPECT_EQ(syscall_wrapper_prefix("armv7l"), "__arm_");
  EXPECT_EQ(syscall_wrapper_prefix("s390x"), "__s390x_");
  EXPECT_EQ(syscall_wrapper_prefix("riscv64"), "__riscv_");
  EXPECT_EQ(syscall_wrapper_prefix("ppc64le"), "__powerpc_");
  EXPECT_EQ(syscall_wrapper_prefix("sparc64"), "");
}

TEST(KallsymsTest, SymbolizeFindsTheContainingFunction) {
  auto symbols = kernel_symbols::parse(sample);
  auto inside = symbols.symbolize(0xffffffff81002010);
  ASSERT_TRUE(inside);
  EXPECT_EQ(inside->name, "tcp_v4_do_rcv");
  EXPECT_EQ(inside->offset, 0x10u);
  auto start = symbols.symbolize(0xffffffff81001000);
  ASSERT_TRUE(start);
  EXPECT_EQ(start->name, "__x64_sys_getpid");
  EXPECT_EQ(start->offset, 0u);
  auto module = symbols.symbolize(0xffffffffc0a01004);
  ASSERT_TRUE(module);
  EXPECT_EQ(module->name, "veth_open");
  EXPECT_EQ(module->module, "veth");
  EXPECT_FALSE(symbols.symbolize(0x1000));  // below every symbol
}

TEST(KallsymsTest, GlobMatching) {
  using ebpf::detail::glob_match;
  EXPECT_TRUE(glob_match("tcp_v4_do_rcv", "tcp_*"));
  EXPECT_TRUE(glob_match("tcp_v4_do_rcv", "*do*"));
  EXPECT_TRUE(glob_match("tcp_v4_do_rcv", "tcp_v?_do_rcv"));
  EXPECT_TRUE(glob_match("tcp_v4_do_rcv", "tcp_v4_do_rcv"));
  EXPECT_TRUE(glob_match("", "*"));
  EXPECT_TRUE(glob_match("abc", "a**c"));
  EXPECT_FALSE(glob_match("tcp_v4_do_rcv", "udp_*"));
  EXPECT_FALSE(glob_match("tcp", "tcp?"));
  EXPECT_FALSE(glob_match("abcd", "*c"));
  EXPECT_TRUE(glob_match("aaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*b"));
}

TEST(KallsymsTest, MatchFunctionsIsSortedDistinctAndSkipsNonProbeable) {
  auto symbols = kernel_symbols::parse(sample);
  EXPECT_EQ(symbols.match_functions("*sys_getpid"),
            (std::vector<std::string>{"__ia32_sys_getpid", "__x64_sys_getpid"}));
  EXPECT_EQ(symbols.match_functions("static_tw*"), (std::vector<std::string>{"static_twice"}));
  EXPECT_TRUE(symbols.match_functions("__ftrace_invalid*").empty());
  EXPECT_EQ(symbols.match_functions("*do_nanosleep"), (std::vector<std::string>{"do_nanosleep"}))
      << "not its __pfx_ padding label";
  EXPECT_TRUE(symbols.match_functions("bpf_prog_*").empty());
  EXPECT_TRUE(symbols.match_functions("jiff*").empty());
  EXPECT_EQ(symbols.match_functions("veth_*"), (std::vector<std::string>{"veth_open"}));
}

TEST(KallsymsTest, FilterFunctionsBothFormats) {
  using ebpf::detail::parse_filter_functions;
  EXPECT_EQ(parse_filter_functions("do_nanosleep\nveth_open [veth]\n\nabc\ndo_nanosleep\n"),
            (std::vector<std::string>{"abc", "do_nanosleep", "veth_open"}));
  // available_filter_functions_addrs (6.5): "address name [module]".
  EXPECT_EQ(parse_filter_functions("ffffffff81008000 do_nanosleep\nffffffffc0a01000 veth_open [veth]\n"),
            (std::vector<std::string>{"do_nanosleep", "veth_open"}));
}

// What Debian's 6.1 and 6.12 kernels show: the x86-64 syscall entry is an alias of
// __do_sys_getpid (arch/x86/include/asm/syscall_wrapper.h), and available_filter_functions names
// the address once, by the other name.
constexpr std::string_view aliased =
    "ffffffffb24eae70 t __pfx___do_sys_getpid\n"
    "ffffffffb24eae70 T __pfx___x64_sys_getpid\n"
    "ffffffffb24eae80 t __do_sys_getpid\n"
    "ffffffffb24eae80 T __ia32_sys_getpid\n"
    "ffffffffb24eae80 T __x64_sys_getpid\n"
    "ffffffffb24eaf00 T __x64_sys_getppid\n"
    "ffffffffb24eb000 t notrace_helper\n"
    "ffffffffc0a01000 t veth_open\t[veth]\n";

TEST(KallsymsTest, TraceableFunctionsIncludeAliasesOfListedAddresses) {
  using ebpf::detail::parse_filter_functions;
  const auto traceable = parse_filter_functions("__do_sys_getpid\n__x64_sys_getppid\nveth_open [veth]\n");
  auto symbols = kernel_symbols::parse(aliased);
  // The alias is found through its address; the listed names as they are.
  EXPECT_EQ(symbols.match_traceable_functions("__x64_sys_getpi?", traceable),
            (std::vector<std::string>{"__x64_sys_getpid"}));
  EXPECT_EQ(symbols.match_traceable_functions("__x64_sys_getp*", traceable),
            (std::vector<std::string>{"__x64_sys_getpid", "__x64_sys_getppid"}));
  // Three names at one address are one function: the first name is kept.
  EXPECT_EQ(symbols.match_traceable_functions("*sys_getpid", traceable),
            (std::vector<std::string>{"__do_sys_getpid"}));
  // Not at a listed address (ftrace refuses it), or only a padding label: nothing.
  EXPECT_TRUE(symbols.match_traceable_functions("notrace_*", traceable).empty());
  EXPECT_TRUE(symbols.match_traceable_functions("__pfx_*", traceable).empty());
  EXPECT_EQ(symbols.match_traceable_functions("veth_*", traceable), (std::vector<std::string>{"veth_open"}));

  // Without addresses (kptr_restrict), only the listed names count.
  auto hidden = kernel_symbols::parse(
      "0000000000000000 t __do_sys_getpid\n0000000000000000 T __x64_sys_getpid\n"
      "0000000000000000 T __ia32_sys_getpid\n");
  EXPECT_TRUE(hidden.match_traceable_functions("__x64_sys_getpi?", traceable).empty());
  EXPECT_EQ(hidden.match_traceable_functions("*sys_getpid", traceable),
            (std::vector<std::string>{"__do_sys_getpid"}));
}

// The running machine's /proc/kallsyms, when readable: real names resolve (no root needed for
// names; addresses may be hidden).
TEST(KallsymsTest, RealKallsymsResolveKnownFunctions) {
  std::ifstream file("/proc/kallsyms");
  if (!file) GTEST_SKIP() << "/proc/kallsyms is not readable here";
  std::stringstream text;
  text << file.rdbuf();
  auto symbols = kernel_symbols::parse(text.str());
  ASSERT_GT(symbols.entries().size(), 1000u);
  // The same number of well-formed lines as the file has lines: the parser drops nothing real.
  std::size_t lines = 0;
  for (char c : text.str()) lines += c == '\n';
  EXPECT_EQ(symbols.entries().size(), lines);
  EXPECT_EQ(symbols.resolve_function("do_nanosleep").status, resolution_status::exact);
#if defined(__x86_64__)
  EXPECT_EQ(symbols.syscall_function("getpid", "__x64_"), "__x64_sys_getpid");
#endif
}

}  // namespace
