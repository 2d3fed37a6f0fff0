// Externs against the running kernel: __kconfig values from /proc/config.gz (and load_options::
// kconfig), libbpf's LINUX_* values, __ksym variables (typed and typeless) and kfuncs, weak ones
// the kernel lacks, and per-program resolution. Expected values come from the kernel itself
// (/proc/config.gz, /proc/kallsyms, uname), not from constants.
#include <ebpf/kconfig.hpp>
#include <ebpf/object.hpp>
#include <ebpf/program.hpp>

#include "fixture.hpp"
#include "kernel_features.hpp"
#include "../bpf/externs.h"

#include <sys/utsname.h>
#include <zlib.h>

#include <fstream>
#include <optional>
#include <string>

namespace {

// (A function rather than designated initializers: g++ 12 warns about the members they omit.)
ebpf::load_options only(const char* program, std::string kconfig = {}) {
  ebpf::load_options options;
  options.only = {program};
  options.kconfig = std::move(kconfig);
  return options;
}

class ExternTest : public ebpf_test::kernel_test {};

// use_ksyms calls the kfunc bpf_task_from_pid (6.2) without __weak: on an older kernel (the QEMU
// stage's 6.1) the loader rightly refuses the program with errc::unknown_symbol. Loads `object`
// with `options`; returns the reason to skip when that is what happened.
std::optional<std::string> load_needing_task_from_pid(ebpf::object& object, const ebpf::load_options& options) {
  try {
    object.load(options);
    return std::nullopt;
  } catch (const ebpf::error& e) {
    if (e.code() == ebpf::errc::unknown_symbol && !ebpf_test::kernel_has_function("bpf_task_from_pid"))
      return "kernel " + ebpf_test::kernel_release() + " has no kfunc bpf_task_from_pid (6.2): " + e.what();
    throw;
  }
}

std::string path_of(const char* name) { return std::string(EBPFPP_TEST_BPF_DIR) + "/" + name; }

// The config the loader reads: /boot/config-$(uname -r) (Debian installs it; the QEMU stage's
// guests have it too), else /proc/config.gz (gzopen reads plain files as well).
std::map<std::string, std::string, std::less<>> running_config() {
  gzFile file = gzopen(("/boot/config-" + ebpf_test::kernel_release()).c_str(), "rb");
  if (!file) file = gzopen("/proc/config.gz", "rb");
  if (!file) return {};
  std::string text;
  char buffer[8192];
  int got = 0;
  while ((got = gzread(file, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
  gzclose(file);
  return ebpf::parse_kconfig(text);
}

std::uint64_t kallsyms_address(const std::string& wanted) {
  std::ifstream in("/proc/kallsyms");
  std::string address, type, name;
  while (in >> address >> type >> name) {
    if (name == wanted) return std::stoull(address, nullptr, 16);
    in.ignore(4096, '\n');
  }
  return 0;
}

TEST_F(ExternTest, KconfigValuesComeFromTheRunningKernel) {
  auto config = running_config();
  if (config.empty()) GTEST_SKIP() << "neither /boot/config-$(uname -r) nor /proc/config.gz on this kernel";
  auto object = ebpf::object::open(path_of("externs.bpf.o"));
  object.load(only("read_kconfig"));
  ASSERT_EQ(object.program("read_kconfig").test_run().retval, 0u);
  auto seen = object.global<kconfig_report>("kconfig_seen");
  EXPECT_EQ(seen.hz, std::stoull(config.at("CONFIG_HZ")));
  EXPECT_EQ(seen.nr_cpus, std::stoull(config.at("CONFIG_NR_CPUS")));
  EXPECT_EQ(seen.bpf_syscall, config.at("CONFIG_BPF_SYSCALL") == "y" ? 1u : 0u);
  const std::string jit = config.count("CONFIG_BPF_JIT") ? config.at("CONFIG_BPF_JIT") : "n";
  EXPECT_EQ(seen.bpf_jit_tristate, jit == "y" ? 1u : jit == "m" ? 2u : 0u);
  EXPECT_EQ(seen.missing_tristate, 0u);
  std::string hostname = config.at("CONFIG_DEFAULT_HOSTNAME");
  hostname = hostname.substr(1, hostname.size() - 2);  // unquoted
  EXPECT_EQ(std::string(seen.hostname), hostname.substr(0, 15));
  utsname names{};
  uname(&names);
  EXPECT_EQ(seen.kernel_version, ebpf::kernel_version_of_release(names.release));
  EXPECT_GE(seen.kernel_version, (6u << 16)) << "6.x here";
  EXPECT_EQ(seen.has_bpf_cookie, 1u) << "bpf_get_attach_cookie exists since 5.15";
  EXPECT_EQ(seen.has_syscall_wrapper, kallsyms_address("__x64_sys_bpf") != 0 ? 1u : 0u);
  EXPECT_EQ(seen.unknown_linux_weak, 0u);
  // The .kconfig map is frozen and read-only to programs, like .rodata.
  EXPECT_EQ(object.map(".kconfig").flags() & (1u << 7), 1u << 7);
}

TEST_F(ExternTest, ExtraKconfigLinesWinOverTheSystemConfig) {
  auto object = ebpf::object::open(path_of("externs.bpf.o"));
  object.load(only("read_kconfig", "CONFIG_HZ=1234\nCONFIG_DEFAULT_HOSTNAME=\"ebpfpp-host\"\n"));
  ASSERT_EQ(object.program("read_kconfig").test_run().retval, 0u);
  auto seen = object.global<kconfig_report>("kconfig_seen");
  EXPECT_EQ(seen.hz, 1234u);
  EXPECT_STREQ(seen.hostname, "ebpfpp-host");
}

TEST_F(ExternTest, KconfigValueOfTheWrongTypeIsAnError) {
  auto object = ebpf::object::open(path_of("externs.bpf.o"));
  try {
    object.load(only("read_kconfig", "CONFIG_BPF_SYSCALL=m\n"));
    FAIL() << "a bool cannot be 'm'";
  } catch (const ebpf::error& e) {
    EXPECT_NE(std::string(e.what()).find("CONFIG_BPF_SYSCALL"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'m'"), std::string::npos) << e.what();
  }
}

TEST_F(ExternTest, KsymsAndKfuncsResolveAgainstTheKernel) {
  auto object = ebpf::object::open(path_of("externs.bpf.o"));
  object.set_global("lookup_pid", static_cast<int>(getpid()));
  if (auto why = load_needing_task_from_pid(object, only("use_ksyms"))) GTEST_SKIP() << *why;
  ASSERT_EQ(object.program("use_ksyms").test_run().retval, 0u);
  auto seen = object.global<ksym_report>("ksym_seen");
  const std::uint64_t address = kallsyms_address("bpf_prog_put");
  ASSERT_NE(address, 0u);
  EXPECT_EQ(seen.typeless_address, address);
  EXPECT_EQ(seen.missing_var_address, 0u);
  EXPECT_EQ(seen.init_found, 1u) << "bpf_task_from_pid(getpid()) through the kfunc";
  EXPECT_EQ(seen.real_kfunc_exists, 1u);
  EXPECT_EQ(seen.weak_kfunc_exists, 0u);
}

// The kernel resolves a typed __ksym variable's address through kallsyms, which lists data
// symbols only with CONFIG_KALLSYMS_ALL.
bool kallsyms_lists_data() { return kallsyms_address("bpf_prog_active") != 0; }

TEST_F(ExternTest, TypedKsymVariable) {
  auto object = ebpf::object::open(path_of("externs.bpf.o"));
  if (!kallsyms_lists_data()) {
    // The loader resolved the BTF id; the kernel then cannot find the address. Check that the
    // failure says so, then skip: the success path needs CONFIG_KALLSYMS_ALL.
    try {
      object.load(only("use_typed_ksym"));
      FAIL() << "expected the kernel to refuse without data symbols in kallsyms";
    } catch (const ebpf::verifier_error& e) {
      EXPECT_NE(std::string(e.what()).find("bpf_prog_active"), std::string::npos) << e.what();
    }
    GTEST_SKIP() << "/proc/kallsyms lists no data symbols here (CONFIG_KALLSYMS_ALL=n), so the kernel "
                    "cannot place a typed __ksym variable";
  }
  object.load(only("use_typed_ksym"));
  ASSERT_EQ(object.program("use_typed_ksym").test_run().retval, 0u);
  EXPECT_EQ(object.global<ksym_report>("ksym_seen").prog_active_read, 1u);
}

TEST_F(ExternTest, TheObjectLoadsWithItsBtf) {
  // The BTF fix-ups make the object's BTF (with extern FUNCs and VARs) acceptable to the kernel:
  // the programs then carry func_info and the BTF id.
  auto object = ebpf::object::open(path_of("externs.bpf.o"));
  object.set_autoload("use_typed_ksym", kallsyms_lists_data());
  if (auto why = load_needing_task_from_pid(object, ebpf::load_options{})) GTEST_SKIP() << *why;
  auto info = object.program("use_ksyms").info();
  EXPECT_NE(info.btf_id, 0u) << "the program was loaded with the object's BTF";
}

TEST_F(ExternTest, OnlyTheProgramsBeingLoadedNeedTheirExterns) {
  auto object = ebpf::object::open(path_of("extern_missing.bpf.o"));
  object.load();  // needs_missing_kfunc has autoload off
  EXPECT_EQ(object.program("needs_nothing").test_run().retval, 0u);
  EXPECT_EQ(object.global<std::uint64_t>("runs"), 1u);

  auto all = ebpf::object::open(path_of("extern_missing.bpf.o"));
  all.set_autoload("needs_missing_kfunc", true);
  try {
    all.load();
    FAIL() << "a strong kfunc the kernel lacks must fail its program";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::unknown_symbol);
    EXPECT_NE(std::string(e.what()).find("ebpfpp_missing_kfunc"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("needs_missing_kfunc"), std::string::npos) << e.what();
  }
}

}  // namespace
