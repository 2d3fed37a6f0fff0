// What the running kernel has, for tests that run on several kernels (the host's 6.18 and the
// QEMU stage's 6.1 and 6.12, scripts/qemu-test). A test first tries the real thing; when the
// kernel refuses with the errno of a missing feature, these answer whether the kernel indeed
// lacks it (its BTF has no such enumerator or kfunc), so the test skips with a true reason
// instead of hiding a library bug behind a version check.
#pragma once

#include <ebpf/btf.hpp>
#include <ebpf/kernel_btf.hpp>

#include <sys/utsname.h>

#include <string>
#include <string_view>

namespace ebpf_test {

/// The running kernel's release, as uname -r prints it.
inline std::string kernel_release() {
  utsname name{};
  return ::uname(&name) == 0 ? name.release : "?";
}

/// Whether the kernel's BTF has `enumerator` in enum `enum_name` (e.g. "bpf_map_type",
/// "BPF_MAP_TYPE_ARENA"): the kernel knows that map type, program type, attach type, ...
inline bool kernel_has_enumerator(std::string_view enum_name, std::string_view enumerator) {
  const ebpf::btf& btf = ebpf::kernel_btf();
  auto id = btf.find(enum_name, ebpf::btf_kind::enum_);
  if (!id) id = btf.find(enum_name, ebpf::btf_kind::enum64);
  if (!id) return false;
  for (const auto& e : btf.enumerators(*id))
    if (e.name == enumerator) return true;
  return false;
}

/// Whether the kernel's BTF has a function `name` (a kfunc, or any traceable kernel function).
inline bool kernel_has_function(std::string_view name) {
  return ebpf::kernel_btf().find(name, ebpf::btf_kind::function).has_value();
}

}  // namespace ebpf_test
