// Kernel BTF on the running kernel: the mapped (or read) vmlinux BTF, its cache and release,
// module BTF enumeration, the BTF feature probes (each present from the kernel version that added
// it), the sanitizer being a no-op on the kernel's own BTF, and a CO-RE lookup through the lazy
// index agreeing with btf::find.
#include <ebpf/btf_sanitizer.hpp>
#include <ebpf/error.hpp>
#include <ebpf/kernel_btf.hpp>

#include "fixture.hpp"

#include <gtest/gtest.h>

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// The mappings of this process that name `path` (an mmap of the file shows up here).
bool mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0) return true;
  return false;
}

class kernel_btf_test : public ebpf_test::kernel_test {};

TEST_F(kernel_btf_test, VmlinuxIsCachedSharedAndReleasable) {
  ebpf::release_kernel_btf();
  const auto first = ebpf::kernel_btf_shared();
  ASSERT_TRUE(first);
  EXPECT_GT(first->type_count(), 1000u);
  EXPECT_EQ(&ebpf::kernel_btf(), first.get());
  EXPECT_EQ(ebpf::kernel_btf_shared(), first);
  // The cached BTF must agree with the file byte for byte.
  std::ifstream in("/sys/kernel/btf/vmlinux", std::ios::binary);
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(first->bytes().size(), file.size());
  EXPECT_TRUE(std::equal(file.begin(), file.end(), reinterpret_cast<const char*>(first->bytes().data())));
  // Since 6.16 sysfs maps vmlinux BTF: then the bytes are a mapping of the file, not a copy.
  std::printf("vmlinux BTF %s\n", mapped("/sys/kernel/btf/vmlinux") ? "mapped" : "read (no mmap on this kernel)");

  ebpf::release_kernel_btf();
  EXPECT_EQ(first->type(1).id, 1u);  // still alive: we hold it
  const auto second = ebpf::kernel_btf_shared();
  EXPECT_NE(second, first);
  EXPECT_EQ(second->type_count(), first->type_count());
}

TEST_F(kernel_btf_test, ConcurrentFirstUseGivesOneObject) {
  ebpf::release_kernel_btf();
  std::vector<std::shared_ptr<const ebpf::btf>> seen(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&seen, i] { seen[i] = ebpf::kernel_btf_shared(); });
  for (auto& t : threads) t.join();
  for (const auto& p : seen) EXPECT_EQ(p, seen[0]);
}

TEST_F(kernel_btf_test, CoreIndexAgreesWithFind) {
  const auto index = ebpf::kernel_core_index();
  const ebpf::btf& kernel = index->target();
  for (auto [name, kind] : {std::pair{"task_struct", ebpf::btf_kind::struct_}, std::pair{"pid_t", ebpf::btf_kind::typedef_},
                            std::pair{"bpf_func_id", ebpf::btf_kind::enum_}}) {
    const auto found = kernel.find(name, kind);
    ASSERT_TRUE(found) << name;
    const auto candidates = index->candidates(std::string(name) + "___flavor", kind);
    ASSERT_FALSE(candidates.empty()) << name;
    EXPECT_EQ(candidates.front(), *found) << name;
  }
  EXPECT_TRUE(index->candidates("no_such_type_anywhere", ebpf::btf_kind::struct_).empty());
  // The index keeps its BTF alive across a release.
  ebpf::release_kernel_btf();
  EXPECT_EQ(index->target().type(1).id, 1u);
}

TEST_F(kernel_btf_test, ModulesAreListedAndLoadedOnDemand) {
  const auto modules = ebpf::kernel_btf_modules();
  EXPECT_TRUE(std::find(modules.begin(), modules.end(), "vmlinux") == modules.end());
  EXPECT_THROW((void)ebpf::kernel_module_btf("../vmlinux"), ebpf::error);
  if (modules.empty()) {
    try {
      (void)ebpf::kernel_module_btf("no_such_module");
      ADD_FAILURE() << "a missing module's BTF loaded";
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), std::error_code(ENOENT, std::system_category())) << e.what();
    }
    GTEST_SKIP() << "no module BTF on this kernel (CONFIG_MODULES=n per KERNEL.md); split BTF is unit-tested";
  }
  const auto module = ebpf::kernel_module_btf(modules.front());
  EXPECT_EQ(module->base(), ebpf::kernel_btf_shared().get());
  EXPECT_EQ(module->first_own_id(), ebpf::kernel_btf().type_count());
  EXPECT_EQ(ebpf::kernel_module_btf(modules.front()), module);
}

// Kernel major.minor as a number (6.18 -> 618).
int kernel_version() {
  struct utsname name;
  ::uname(&name);
  int major = 0, minor = 0;
  std::sscanf(name.release, "%d.%d", &major, &minor);
  return major * 100 + minor;
}

TEST_F(kernel_btf_test, FeatureProbesFindEverythingOnThisKernel) {
  const ebpf::btf_features& f = ebpf::kernel_btf_features();
  const int version = kernel_version();
  // Each feature from the release whose BTF loader (kernel/bpf/btf.c) first accepted it; a
  // kernel at least that new must report it, an older one must not.
  struct since {
    const char* feature;
    bool probed;
    int version;
  };
  for (const auto& [feature, probed, first] : {
           // 2667a2626f4d "bpf: btf: Add BTF_KIND_FUNC and BTF_KIND_FUNC_PROTO" (5.0)
           since{"func", f.func, 500},
           // 51c39bb1d5d1 "bpf: Introduce function-by-function verification": global linkage (5.6)
           since{"func_global", f.func_global, 506},
           // 1dc92851849c "bpf: kernel side support for BTF Var and DataSec" (5.2)
           since{"datasec", f.datasec, 502},
           // bd70a8fb7ca4 "bpf: Allow all printable characters in BTF DATASEC names" (6.9, the
           // bpf-next pull of 2024-03-11 with bpf_arena); before it a DATASEC name had to be a C
           // identifier that may contain '.', so "?.data" was refused.
           since{"qmark_datasec", f.qmark_datasec, 609},
           // 8fd886911a6a "bpf: Add BTF_KIND_FLOAT to uapi" and "bpf: Add BTF_KIND_FLOAT
           // support" (5.13)
           since{"floating", f.floating, 513},
           // b5ea834dde6b "bpf: Support for new btf kind BTF_KIND_TAG", renamed DECL_TAG (5.16)
           since{"decl_tag", f.decl_tag, 516},
           // 8c42d2fa4eea "bpf: Support BTF_KIND_TYPE_TAG for btf_type_tag attributes" (5.17)
           since{"type_tag", f.type_tag, 517},
           // 6089fb325cf7 "bpf: Add btf enum64 support" (6.0)
           since{"enum64", f.enum64, 600},
       })
    EXPECT_EQ(probed, version >= first) << feature << " (from " << first / 100 << "." << first % 100 << ")";
  EXPECT_EQ(&ebpf::kernel_btf_features(), &f);  // probed once
  // Nothing to rewrite in the kernel's own BTF: it uses only what its loader accepts.
  EXPECT_FALSE(ebpf::needs_sanitizing(ebpf::kernel_btf(), f));
}

}  // namespace
