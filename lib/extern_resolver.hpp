// Resolving an object's externs against the running kernel (live: reads /proc and /sys).
#pragma once

#include <ebpf/object_spec.hpp>
#include <ebpf/relocation.hpp>

#include <set>
#include <string>
#include <vector>

namespace ebpf::detail {

struct resolved_externs {
  std::vector<extern_value> values;   // parallel to object_spec::externs
  std::vector<std::byte> kconfig;     // the .kconfig map's value (empty without kconfig externs)
};

/// Resolves `wanted` (extern names; the others stay unresolved) of `object`:
///   - kconfig: CONFIG_* from `extra_kconfig` lines, then the kernel's config file; LINUX_* virtual
///     values (LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER);
///   - typed __ksym variables and kfuncs: by name in the kernel's BTF (kfuncs by essential name);
///   - typeless __ksym: /proc/kallsyms.
/// Weak externs the kernel lacks stay unresolved (and read 0). Every kconfig extern of the object
/// gets its value when the config has it, whether wanted or not (the map is shared).
/// An extern the kernel lacks stays unresolved with its reason: link_program then fails only the
/// programs that need it (strong), or reads 0 (weak).
/// Throws: ebpf::error naming the extern: errc::invalid_argument for config values that do not
/// fit the extern's type, errc::unknown_symbol for an unknown strong LINUX_* value; errno errors
/// for unreadable files (/proc/kallsyms).
resolved_externs resolve_externs(const object_spec& object, const std::set<std::string>& wanted,
                                 const std::string& extra_kconfig, const std::string& subject);

}  // namespace ebpf::detail
