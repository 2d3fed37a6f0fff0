// ebpfpp tool: the subcommands. Each returns the process exit status and throws ebpf::error for
// failures, which main() prints as "ebpfpp: <what()>" (exit status 1).
#pragma once

#include <string>
#include <vector>

namespace ebpf::cli {

struct inspect_command {
  std::string file;
  bool json = false;
};
/// `ebpfpp object inspect FILE.o`: what the object describes, without the kernel.
int object_inspect(const inspect_command& command);

struct load_command {
  std::string file;
  std::vector<std::string> only;
  bool json = false;
  std::string pin_dir;  ///< empty: pin nothing
};
/// `ebpfpp object load FILE.o`: loads with keep_going and reports per program. Exit status 0 iff
/// every requested program loaded.
int object_load(const load_command& command);

struct core_command {
  std::string file;
  std::string btf;  ///< target BTF file; empty: the running kernel's
  bool json = false;
};
/// `ebpfpp object core FILE.o [--btf FILE]`: a dry run of the object's CO-RE relocations against
/// a target BTF: per relocation, the local and target values. Exit status 1 when one is poisoned.
int object_core(const core_command& command);

/// `ebpfpp prog list`: every program in the kernel.
int prog_list(bool json);
/// `ebpfpp map list`: every map in the kernel.
int map_list(bool json);
/// `ebpfpp map dump ID|PATH`: every entry of a map.
int map_dump(const std::string& target, bool json);

struct feature_command {
  bool json = false;
  bool full = false;        ///< also probe the helpers that write to the kernel log
  bool no_helpers = false;  ///< skip the helpers-per-program-type section
};
/// `ebpfpp feature`: what the running kernel supports (program types, map types, kernel
/// features, helpers per program type), like `bpftool feature probe kernel`.
int feature_probe(const feature_command& command);
/// `ebpfpp prog show ID`: one program in detail, with its run statistics and links.
int prog_show(const std::string& id, bool json);
/// `ebpfpp link list`: every bpf_link with its type-specific details.
int link_list(bool json);
/// `ebpfpp btf list`: every BTF object (vmlinux, modules, loaded BTF) and who uses it.
int btf_list(bool json);
/// `ebpfpp map show ID`: one map in detail, with the programs that use it.
int map_show(const std::string& id, bool json);

struct btf_dump_command {
  std::string file = "/sys/kernel/btf/vmlinux";  ///< raw BTF or an ELF object with .BTF
  std::string format = "c";                      ///< "c" or "raw"
};
/// `ebpfpp btf dump [--format c|raw] [FILE]`: the types of FILE as a C header (vmlinux.h) or
/// as bpftool's raw text.
int btf_dump(const btf_dump_command& command);

}  // namespace ebpf::cli
