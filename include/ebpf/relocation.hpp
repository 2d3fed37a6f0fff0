// ebpfpp: linking one program of an object_spec into loadable instructions. Pure: no kernel.
//
// A program is its entry function followed by every subprogram it calls (directly, through
// callbacks, transitively), each appended once, with call offsets, map references and global
// data addresses rewritten, and BTF.ext func_info/line_info moved along with the code.
// Map fds come in as data (a callable), so this runs without a kernel.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <cstdint>
#include <vector>

#include <ebpf/core.hpp>
#include <ebpf/object_spec.hpp>

namespace ebpf {

/// A program ready for BPF_PROG_LOAD.
struct linked_program {
  std::vector<instruction> instructions;
  /// BTF.ext records with instruction indices into `instructions`, sorted.
  std::vector<btf_func_info> func_info;
  std::vector<btf_line_info> line_info;
  std::vector<btf_core_relocation> core_relocations;
  /// Names of the functions laid out, entry first, with their first instruction.
  std::vector<std::pair<std::string, std::size_t>> layout;
};

/// Names of the maps (including global-data maps and ".kconfig") a program references, through
/// all the subprograms it calls. Throws: like link_program for dangling references.
std::set<std::string> maps_used_by(const object_spec& object, const program_spec& program);

/// Names of the externs a program references, through all the subprograms it calls: only these
/// need resolving to load it. Throws: like link_program for dangling references.
std::set<std::string> externs_used_by(const object_spec& object, const program_spec& program);

/// An extern resolved against a kernel (object::load resolves them; a test can make them up).
struct extern_value {
  bool resolved = false;
  /// ksym_variable / ksym_function: the VAR / FUNC id in the kernel's BTF.
  std::uint32_t btf_id = 0;
  /// The kernel BTF object the id belongs to: 0 for vmlinux (module BTF is not supported yet).
  std::int32_t btf_object_fd = 0;
  /// ksym_typeless: the address from /proc/kallsyms.
  std::uint64_t address = 0;
  /// Why it is unresolved (used in link_program's error for a strong extern).
  std::string unresolved_reason;
};

/// The CO-RE relocations of a whole object resolved against one target BTF: per function
/// (indexed like object_spec::functions), the results in the function's .BTF.ext order.
struct core_plan {
  std::vector<std::vector<core_relocation_result>> by_function;
  /// Every result, function by function (the dry-run report).
  std::vector<const core_relocation_result*> all() const;
};

/// Resolves every CO-RE relocation of `object` against `target`, in .BTF.ext order through one
/// candidate cache (libbpf's order, which its candidate narrowing depends on). Pure: the target
/// BTF comes in as data (the running kernel's, a btfhub file, or any BTF in tests).
/// Throws: errc::invalid_object when the object has CO-RE relocations but no BTF;
/// compute_core_relocation's errors (ambiguity, malformed records), with the object and function
/// named.
/// `programs`: only the functions these programs use (empty: every function).
core_plan plan_core_relocations(const object_spec& object, core_candidate_cache& cache,
                                const std::vector<const program_spec*>& programs = {});

/// What linking needs from outside the object.
struct link_inputs {
  /// The fd of the created map `name` (global data and ".kconfig" included).
  std::function<int(const std::string& map)> map_fd;
  /// One value per object.externs entry (same order). Empty: externs are unresolved.
  std::vector<extern_value> externs;
  /// CO-RE results (plan_core_relocations); null: a program with CO-RE relocations cannot link.
  const core_plan* core = nullptr;
};

/// Links `program`: lays out its functions, and points map references at map fds, calls at their
/// callees, and externs at their values:
///   - a .kconfig extern reads the ".kconfig" map at its offset;
///   - a typed __ksym variable becomes ld_imm64 BPF_PSEUDO_BTF_ID of its kernel BTF id;
///   - a typeless __ksym becomes the 64-bit address;
///   - a kfunc call becomes BPF_PSEUDO_KFUNC_CALL of its kernel BTF id;
///   - unresolved weak externs read as 0, and an unresolved weak kfunc call is poisoned as libbpf
///     does (a helper call of 2002000000 + the extern's index, rejected only if reachable).
/// CO-RE relocations are patched with inputs.core's results (poisoned ones become the poison call).
/// Throws: ebpf::error errc::relocation_failed (a call or callback that leads nowhere, a
/// reference to a map the object does not define, an instruction that cannot take its CO-RE
/// value), errc::unknown_symbol (an unresolved extern that is not weak), and errc::unsupported
/// when the program has CO-RE relocations and inputs.core is null.
linked_program link_program(const object_spec& object, const program_spec& program, const link_inputs& inputs);

/// The same with map fds only: externs are unresolved (only weak ones link, as 0).
linked_program link_program(const object_spec& object, const program_spec& program,
                            const std::function<int(const std::string& map)>& map_fd);

}  // namespace ebpf
