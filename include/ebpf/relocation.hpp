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
#include <vector>

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

/// Names of the maps (including global-data maps) a program references, through all the
/// subprograms it calls. Throws: like link_program for dangling references.
std::set<std::string> maps_used_by(const object_spec& object, const program_spec& program);

/// Links `program`. `map_fd(name)` returns the fd of the created map `name`.
/// Throws: ebpf::error errc::relocation_failed (a call or callback that leads nowhere, a
/// reference to a map the object does not define), errc::unknown_symbol (an extern that is not
/// weak: .kconfig and __ksym externs are resolved by the CO-RE/extern support, not here), and
/// errc::unsupported when the program carries CO-RE relocations.
linked_program link_program(const object_spec& object, const program_spec& program,
                            const std::function<int(const std::string& map)>& map_fd);

}  // namespace ebpf
