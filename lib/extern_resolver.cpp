// Extern resolution against the running kernel. The rules are libbpf's
// (src/libbpf.c: bpf_object__resolve_externs, bpf_object__read_kconfig_file, kallsyms_cb,
// bpf_object__resolve_ksym_var_btf_id / _func_btf_id) with one difference asked for by
// KERNEL.md: only the externs of the programs being loaded must resolve, so a program that is not
// loaded cannot fail the load with a kfunc this kernel lacks.
#include "extern_resolver.hpp"
#include "object/core_compat.hpp"

#include <ebpf/error.hpp>
#include <ebpf/kconfig.hpp>
#include <ebpf/kernel_btf.hpp>

#include <sys/utsname.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

namespace ebpf::detail {
namespace {

// The kernel's config text: /boot/config-$(uname -r), else /proc/config.gz (CONFIG_IKCONFIG_PROC).
// gzopen reads plain files too.
std::string read_kernel_config(const std::string& subject) {
  utsname names{};
  ::uname(&names);
  const std::string paths[] = {std::string("/boot/config-") + names.release, "/proc/config.gz"};
  for (const auto& path : paths) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (!file) continue;
    std::string text;
    char buffer[16384];
    int got = 0;
    while ((got = gzread(file, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
    const bool failed = got < 0;
    gzclose(file);
    if (failed) throw_errno(EIO, subject + ": kernel config '" + path + "': read");
    return text;
  }
  throw_errno(ENOENT, subject + ": kernel config: neither " + paths[0] +
                          " nor /proc/config.gz exists (pass the values in load_options::kconfig)");
}

// Addresses of `names` in /proc/kallsyms. A data symbol the compiler renamed with an ".llvm.N"
// suffix (LTO kernels) counts under its original name, as libbpf's kallsyms_cb does. Two
// different addresses for one name are ambiguous.
std::map<std::string, std::uint64_t, std::less<>> kallsyms_addresses(const std::set<std::string>& names,
                                                                      const std::string& subject) {
  std::map<std::string, std::uint64_t, std::less<>> found;
  std::ifstream in("/proc/kallsyms");
  if (!in) throw_errno(errno ? errno : ENOENT, subject + ": open /proc/kallsyms");
  std::string line;
  while (std::getline(in, line)) {
    // "ffffffff81000000 T _stext" optionally followed by "\t[module]".
    auto first_space = line.find(' ');
    if (first_space == std::string::npos || first_space + 3 > line.size()) continue;
    const char type = line[first_space + 1];
    std::string_view name(line);
    name.remove_prefix(first_space + 3);
    name = name.substr(0, name.find_first_of(" \t"));
    if (auto llvm = name.find(".llvm."); llvm != std::string_view::npos && type == 'd') name = name.substr(0, llvm);
    auto wanted = names.find(std::string(name));
    if (wanted == names.end()) continue;
    const std::uint64_t address = std::strtoull(line.c_str(), nullptr, 16);
    auto [entry, added] = found.emplace(*wanted, address);
    if (!added && entry->second != address)
      throw_error(errc::invalid_object, subject + ": extern (ksym) '" + *wanted + "': ambiguous in /proc/kallsyms");
  }
  return found;
}

bool kernel_has_helper(std::string_view enumerator) {
  const btf& kernel = kernel_btf();
  auto id = kernel.find("bpf_func_id", btf_kind::enum_);
  if (!id) return false;
  for (const auto& value : kernel.enumerators(*id))
    if (value.name == enumerator) return true;
  return false;
}

// "struct task_struct [5]", "ptr to int [2]", "func_proto (ptr to struct sk_buff [9], int [2]) -> int [2]":
// a type as the error about an incompatible __ksym shows it (modifiers and typedefs skipped).
std::string type_description(const btf& types, std::uint32_t id, int depth = 0) {
  id = types.skip_modifiers_and_typedefs(id);
  const btf_type t = types.type(id);
  const std::string label =
      std::string(to_string(t.kind)) + (t.name.empty() ? "" : " " + std::string(t.name)) + " [" + std::to_string(id) + "]";
  if (depth >= 3) return label;
  switch (t.kind) {
    case btf_kind::pointer: return "ptr to " + type_description(types, t.size_or_type, depth + 1);
    case btf_kind::array: {
      const auto a = types.array(id);
      return "array[" + std::to_string(a.count) + "] of " + type_description(types, a.element_type, depth + 1);
    }
    case btf_kind::function_proto: {
      std::string out = "func_proto (";
      const auto parameters = types.parameters(id);
      for (std::size_t i = 0; i < parameters.size(); ++i)
        out += (i ? ", " : "") + (parameters[i].type ? type_description(types, parameters[i].type, depth + 1) : "...");
      return out + ") -> " + (t.size_or_type ? type_description(types, t.size_or_type, depth + 1) : "void");
    }
    default: return label;
  }
}

// The prefix of syscall entry points on kernels built with syscall wrappers (libbpf's
// arch_specific_syscall_pfx).
const char* syscall_prefix() {
#if defined(__x86_64__)
  return "__x64_sys_";
#elif defined(__aarch64__)
  return "__arm64_sys_";
#elif defined(__s390x__)
  return "__s390x_sys_";
#elif defined(__riscv)
  return "__riscv_sys_";
#else
  return "__se_sys_";
#endif
}

}  // namespace

resolved_externs resolve_externs(const object_spec& object, const std::set<std::string>& wanted,
                                 const std::string& extra_kconfig, const std::string& subject) {
  resolved_externs result;
  result.values.resize(object.externs.size());
  if (object.externs.empty()) return result;
  if (const map_spec* kconfig_map = object.find_map(".kconfig")) result.kconfig.assign(kconfig_map->value_size, std::byte{0});
  auto where = [&](const extern_spec& spec) { return subject + ": extern '" + spec.name + "'"; };

  // Kconfig: the extra lines first, the kernel's file only for what they lack.
  bool needs_config = false;
  for (const auto& spec : object.externs)
    if (spec.kind == extern_kind::kconfig && spec.name.rfind("CONFIG_", 0) == 0) needs_config = true;
  std::map<std::string, std::string, std::less<>> config;
  if (needs_config) {
    config = parse_kconfig(extra_kconfig);
    bool complete = true;
    for (const auto& spec : object.externs)
      if (spec.kind == extern_kind::kconfig && spec.name.rfind("CONFIG_", 0) == 0 && !config.count(spec.name)) complete = false;
    if (!complete) {
      try {
        auto system = parse_kconfig(read_kernel_config(subject));
        config.merge(system);  // keeps the extra lines' values for names both have
      } catch (const error&) {
        // No config file: only a wanted strong CONFIG_ extern without a value is an error (below).
      }
    }
  }

  std::set<std::string> typeless;
  for (std::size_t i = 0; i < object.externs.size(); ++i) {
    const extern_spec& spec = object.externs[i];
    extern_value& value = result.values[i];
    const bool is_wanted = wanted.count(spec.name) > 0;
    switch (spec.kind) {
      case extern_kind::kconfig: {
        std::span<std::byte> out(result.kconfig.data() + spec.offset, spec.size);
        try {
          if (spec.name.rfind("CONFIG_", 0) == 0) {
            auto found = config.find(spec.name);
            if (found == config.end()) break;  // unset: zeros (checked below when strong and wanted)
            encode_kconfig_value(spec, found->second, out);
          } else if (spec.name == "LINUX_KERNEL_VERSION") {
            utsname names{};
            ::uname(&names);
            const std::uint32_t version = kernel_version_of_release(names.release);
            if (!version) throw_error(errc::unsupported, "cannot tell the kernel version from release '" + std::string(names.release) + "'");
            encode_kconfig_number(spec, version, out);
          } else if (spec.name == "LINUX_HAS_BPF_COOKIE") {
            encode_kconfig_number(spec, kernel_has_helper("BPF_FUNC_get_attach_cookie") ? 1 : 0, out);
          } else if (spec.name == "LINUX_HAS_SYSCALL_WRAPPER") {
            // Wrapped syscalls have an arch-prefixed entry point (__x64_sys_bpf): kernel BTF lists
            // it as a FUNC; without BTF, /proc/kallsyms (slower: about 0.3 s to read).
            const std::string symbol = std::string(syscall_prefix()) + "bpf";
            bool wrapped = false;
            try {
              wrapped = kernel_btf().find(symbol, btf_kind::function).has_value();
            } catch (const error&) {
              wrapped = kallsyms_addresses({symbol}, subject).count(symbol) > 0;
            }
            encode_kconfig_number(spec, wrapped ? 1 : 0, out);
          } else if (!spec.weak) {
            throw_error(errc::unknown_symbol, "not a CONFIG_ value nor one of the LINUX_ values the loader knows");
          } else {
            break;  // an unknown weak LINUX_* value reads 0, as with libbpf
          }
          value.resolved = true;
        } catch (const error& e) {
          throw error(e.code(), where(spec) + ": " + e.what());
        }
        break;
      }
      case extern_kind::ksym_variable:
      case extern_kind::ksym_function: {
        if (!is_wanted) break;
        const btf& kernel = kernel_btf();
        const bool function = spec.kind == extern_kind::ksym_function;
        // kfuncs by essential name (bpf_foo___v2 calls bpf_foo), variables by full name.
        auto id = kernel.find(function ? spec.essential_name : spec.name, function ? btf_kind::function : btf_kind::variable);
        if (!id) break;
        // The object's declaration must fit the kernel's (libbpf bpf_object__resolve_ksym_var_btf_id
        // and _func_btf_id, with bpf_core_types_are_compat): otherwise the program would read a
        // variable or call a kfunc as something it is not. A weak kfunc that does not fit stays
        // unresolved, as libbpf leaves it. Unlike libbpf, a forward declaration matches the
        // kernel's struct: `struct task_struct;` is how a program that only passes the pointer on
        // declares it, the kernel checks kfunc arguments by its own BTF anyway, and libbpf's
        // "function types are incompatible" for it sends users to include all of vmlinux.h.
        if (object.types && spec.btf_id != 0) {
          const btf& local = *object.types;
          const std::uint32_t local_type = local.type(spec.btf_id).size_or_type;
          const std::uint32_t kernel_type = kernel.type(*id).size_or_type;
          if (!core_types_are_compatible(local, local_type, kernel, kernel_type, /*forwards_match=*/true)) {
            if (function && spec.weak) break;
            throw_error(errc::type_mismatch, where(spec) + ": incompatible types: the object declares " +
                                                 type_description(local, local_type) + ", the kernel has " +
                                                 type_description(kernel, kernel_type) + " (kernel BTF " +
                                                 std::string(function ? "func" : "var") + " [" + std::to_string(*id) + "])");
          }
        }
        value.resolved = true;
        value.btf_id = *id;
        value.btf_object_fd = 0;
        break;
      }
      case extern_kind::ksym_typeless:
        if (is_wanted) typeless.insert(spec.name);
        break;
      case extern_kind::unknown:
        break;
    }
  }
  if (!typeless.empty()) {
    auto addresses = kallsyms_addresses(typeless, subject);
    for (std::size_t i = 0; i < object.externs.size(); ++i) {
      auto found = addresses.find(object.externs[i].name);
      if (found == addresses.end()) continue;
      result.values[i].resolved = true;
      result.values[i].address = found->second;
    }
  }

  // Why each one that is still unresolved is: link_program fails a program that needs a strong
  // one with this reason; weak ones read 0.
  for (std::size_t i = 0; i < object.externs.size(); ++i) {
    const extern_spec& spec = object.externs[i];
    if (result.values[i].resolved) continue;
    std::string& why = result.values[i].unresolved_reason;
    switch (spec.kind) {
      case extern_kind::kconfig:
        why = "the kernel config has no value for it (declare it __weak to default to 0, or pass it in load_options::kconfig)";
        break;
      case extern_kind::ksym_variable: why = "no such variable in the kernel's BTF"; break;
      case extern_kind::ksym_function:
        why = "no such kfunc in the kernel's BTF" +
              (spec.essential_name != spec.name ? " (looked up as '" + spec.essential_name + "')" : std::string());
        break;
      case extern_kind::ksym_typeless: why = "not in /proc/kallsyms"; break;
      case extern_kind::unknown: break;  // link_program says why (no BTF)
    }
  }
  return result;
}

}  // namespace ebpf::detail
