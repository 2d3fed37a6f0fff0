// Every program type this kernel has loads through the object loader: tests/bpf/program_types.bpf.c
// holds one minimal program per section convention. The trampoline kinds (fentry, fexit, lsm)
// cannot load on our CI kernel (KERNEL.md: ftrace is locked down, BPF_PROG_LOAD gives EPERM);
// for them the test checks that exact errno, so a change of platform shows up as a failure.
#include <ebpf/ebpf.hpp>

#include "fixture.hpp"
#include "kernel_features.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <set>

namespace {

class ProgramTypesTest : public ebpf_test::kernel_test {};

TEST_F(ProgramTypesTest, EveryTypeLoads) {
  auto object = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/program_types.bpf.o");
  ebpf::load_options options;
  options.keep_going = true;
  object.load(options);

  // Probe once whether trampolines work here: on the CI kernel they do not (EPERM at load).
  const std::set<std::string> trampolines = {"prog_fentry", "prog_fexit", "prog_lsm"};
  bool trampolines_work = false;
  for (const auto& status : object.load_report())
    if (status.name == "prog_fentry") trampolines_work = status.loaded;

  // Program types newer than the running kernel (the QEMU stage boots 6.1: netfilter is 6.4)
  // fail with EINVAL; the kernel's own enum bpf_prog_type says whether it has the type.
  auto kernel_has_type = [](ebpf::program_type type) {
    std::string name = "BPF_PROG_TYPE_";
    for (char c : ebpf::to_string(type)) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return ebpf_test::kernel_has_enumerator("bpf_prog_type", name);
  };
  std::set<ebpf::program_type> loaded_types;
  std::string missing;  // types this kernel does not have
  for (const auto& status : object.load_report()) {
    SCOPED_TRACE(status.name);
    if (trampolines.count(status.name) && !trampolines_work) {
      EXPECT_FALSE(status.loaded);
      EXPECT_THAT(status.error, ::testing::HasSubstr("Operation not permitted"));
      continue;
    }
    const auto* spec = object.spec().find_program(status.name);
    ASSERT_NE(spec, nullptr);
    const ebpf::program_type type = spec->kind.type;
    if (!status.loaded && !kernel_has_type(type)) {
      EXPECT_THAT(status.error, ::testing::HasSubstr("Invalid argument"));
      missing += " " + std::string(ebpf::to_string(type)) + " (" + status.name + ")";
      continue;
    }
    EXPECT_TRUE(status.loaded) << status.error;
    if (status.loaded) loaded_types.insert(object.program(status.name).info().type);
  }
  EXPECT_EQ(object.load_report().size(), object.spec().programs.size());
  // Spot-check that the section table chose the kernel's types.
  EXPECT_EQ(object.program("prog_tp_btf").info().type, ebpf::program_type::tracing);
  EXPECT_EQ(object.program("prog_cgroup_connect4").info().type, ebpf::program_type::cgroup_sock_addr);
  EXPECT_EQ(object.program("prog_usdt").info().type, ebpf::program_type::kprobe);
  if (kernel_has_type(ebpf::program_type::netfilter)) {
    EXPECT_EQ(object.program("prog_netfilter").info().type, ebpf::program_type::netfilter);
  }
  EXPECT_GE(loaded_types.size(), 25u) << "distinct program types loaded";
  if (!missing.empty())
    GTEST_SKIP() << "every other program loaded; kernel " << ebpf_test::kernel_release()
                 << " has no program type for:" << missing;
}

}  // namespace
