// ebpfpp: the command-line tool. Inspects eBPF objects, loads them (optionally pinning what it
// loaded), lists what is in the kernel, and dumps BTF (vmlinux.h). Usage is documented in the --help texts below.
//
// Exit status: 0 on success; 1 when a command fails (the message goes to stderr as
// "ebpfpp: <what>") or, for `object load`, when a requested program did not load; 2 for usage
// errors (unknown options, missing arguments).
#include "commands.hpp"

#include <ebpf/error.hpp>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

constexpr int exit_usage = 2;

const char* const json_help = "print JSON instead of text (the field names are a stable interface)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ebpfpp: inspect and load eBPF objects, list programs and maps in the kernel, dump BTF.",
               "ebpfpp"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "ebpfpp " EBPFPP_VERSION);
  app.footer(
      "Commands other than `object inspect` and `btf dump` talk to the kernel and need root (or\n"
      "CAP_BPF and CAP_SYS_ADMIN). Run `ebpfpp <command> --help` for each command's options.\n"
      "Exit status: 0 on success, 1 on failure (message on stderr), 2 for usage errors.");

  // ---- object ---------------------------------------------------------------------------------
  auto* object = app.add_subcommand("object", "work on a compiled eBPF object (.bpf.o)");
  object->require_subcommand(1);

  ebpf::cli::inspect_command inspect_args;
  auto* inspect = object->add_subcommand(
      "inspect",
      "describe an object without loading it: programs (name, section, type, expected attach "
      "type, instruction count, autoload), maps (name, type, key/value size, max_entries, flags, "
      "origin, pinning, key/value BTF types), globals (name, map, offset, size), a BTF summary "
      "(type count, string bytes, count per kind), relocation counts (map_fd, map_value, call, "
      "function_address, extern, core) and the license. Needs no privileges.");
  inspect->add_option("file", inspect_args.file, "the object file")->required()->type_name("FILE.o");
  inspect->add_flag("--json", inspect_args.json,
                    std::string(json_help) +
                        ": {\"object\", \"file\", \"license\", \"kernel_version\", \"programs\": [{\"name\", "
                        "\"section\", \"type\", \"expected_attach_type\", \"instructions\", \"autoload\"}], "
                        "\"maps\": [{\"name\", \"type\", \"key_size\", \"value_size\", \"max_entries\", \"flags\", "
                        "\"origin\", \"pinning\", \"key_type\", \"value_type\"}], \"globals\": [{\"name\", \"map\", "
                        "\"offset\", \"size\"}], \"btf\": {\"types\", \"string_bytes\", \"kinds\"} or null, "
                        "\"relocations\": {\"map_fd\", \"map_value\", \"call\", \"function_address\", \"extern\", "
                        "\"core\"}}");

  ebpf::cli::load_command load_args;
  auto* load = object->add_subcommand(
      "load",
      "load an object's programs into the kernel and report, per program: name, section, type, "
      "status (loaded/failed), kernel id, tag, xlated length, and the verifier's summary on "
      "failure. Every program is tried even when one fails; the exit status is 0 only if every "
      "requested program loaded. Programs are unloaded when the command ends unless --pin is given.");
  load->add_option("file", load_args.file, "the object file")->required()->type_name("FILE.o");
  load->add_option("--only", load_args.only,
                   "load only this program (and the maps it uses); repeat for several. Without it, "
                   "every program whose section has no leading '?' is loaded")
      ->allow_extra_args(false)
      ->type_name("PROG");
  load->add_option("--pin", load_args.pin_dir,
                   "pin each loaded program as DIR/<program> and each map as DIR/maps/<map> (dots "
                   "in map names become '_'), creating the directories, so that they outlive the "
                   "command (like `bpftool prog loadall`). DIR must be in a bpffs, e.g. "
                   "/sys/fs/bpf/myapp (mount -t bpf bpf /sys/fs/bpf). Programs that loaded are "
                   "pinned even when others failed; if a pin fails, nothing stays pinned")
      ->type_name("DIR");
  load->add_flag("--json", load_args.json,
                 std::string(json_help) +
                     ": {\"object\", \"programs\": [{\"name\", \"section\", \"type\", \"status\", \"id\", \"tag\", "
                     "\"xlated_len\", \"error\", \"pinned\"}], \"maps\": [{\"name\", \"id\", \"type\", "
                     "\"key_size\", \"value_size\", \"max_entries\", \"pinned\"}]}; id, tag and xlated_len "
                     "are null for a failed program, error is null for a loaded one");

  ebpf::cli::core_command core_args;
  auto* core = object->add_subcommand(
      "core",
      "a dry run of the object's CO-RE relocations against a target BTF (the running kernel's "
      "/sys/kernel/btf/vmlinux unless --btf is given), without loading anything: per relocation, "
      "the function, instruction, kind, local type and access (e.g. task_struct.pid), the value "
      "clang compiled (local) and the value for the target, and whether it resolved, is absent "
      "(exists kinds: 0) or is poisoned. Exit status 1 if any relocation is poisoned (its "
      "instruction would make the verifier reject the program if reached). Needs no privileges.");
  core->add_option("file", core_args.file, "the object file")->required()->type_name("FILE.o");
  core->add_option("--btf", core_args.btf, "the target BTF: raw BTF (e.g. from btfhub) or a .bpf.o")
      ->type_name("FILE");
  core->add_flag("--json", core_args.json,
                 std::string(json_help) +
                     ": {\"object\", \"target\", \"relocations\": [{\"function\", \"instruction\", "
                     "\"kind\", \"local_type\", \"access\", \"local_value\", \"target_value\", "
                     "\"target_type_id\", \"candidates\", \"poisoned\", \"reason\"}]}");

  // ---- prog -----------------------------------------------------------------------------------
  auto* prog = app.add_subcommand("prog", "programs in the kernel");
  prog->require_subcommand(1);
  bool prog_list_json = false;
  auto* prog_list = prog->add_subcommand("list", "list every program in the kernel: id, type, name, tag, "
                                                 "xlated/jited length, map ids, BTF id");
  prog_list->add_flag("--json", prog_list_json,
                      std::string(json_help) +
                          ": [{\"id\", \"type\", \"name\", \"tag\", \"xlated_len\", \"jited_len\", \"map_ids\", "
                          "\"btf_id\", \"gpl_compatible\", \"created_by_uid\"}]");

  // ---- map ------------------------------------------------------------------------------------
  auto* map = app.add_subcommand("map", "maps in the kernel");
  map->require_subcommand(1);
  bool map_list_json = false;
  auto* map_list = map->add_subcommand("list", "list every map in the kernel: id, type, name, key/value "
                                               "size, max_entries, flags, BTF id");
  map_list->add_flag("--json", map_list_json,
                     std::string(json_help) +
                         ": [{\"id\", \"type\", \"name\", \"key_size\", \"value_size\", \"max_entries\", "
                         "\"flags\", \"btf_id\"}]");
  std::string dump_target;
  bool map_dump_json = false;
  auto* map_dump = map->add_subcommand(
      "dump",
      "print every entry of a map, keys and values as hex bytes (text: \"2a 00 00 00\"; JSON: "
      "\"2a000000\"); values of per-CPU maps one per possible CPU");
  map_dump->add_option("map", dump_target, "the map: an id (all digits) or the path where it is pinned")
      ->required()
      ->type_name("ID|PINPATH");
  map_dump->add_flag("--json", map_dump_json,
                     std::string(json_help) +
                         ": {\"id\", \"name\", \"type\", \"key_size\", \"value_size\", \"max_entries\", "
                         "\"entries\": [{\"key\", \"value\"} or, per-CPU, {\"key\", \"values\": [{\"cpu\", "
                         "\"value\"}]} or {\"key\", \"error\"}]}");

  // ---- btf ------------------------------------------------------------------------------------
  auto* btf = app.add_subcommand("btf", "BPF Type Format: the kernel's types or an object's");
  btf->require_subcommand(1);
  ebpf::cli::btf_dump_command btf_dump_args;
  auto* btf_dump = btf->add_subcommand(
      "dump",
      "print the types of FILE. --format c (the default) writes a C header that compiles, with "
      "every struct, union, enum and typedef in dependency order: for the kernel's BTF this is "
      "the vmlinux.h an eBPF program includes (`ebpfpp btf dump > vmlinux.h`, like `bpftool btf "
      "dump file /sys/kernel/btf/vmlinux format c`), including extern declarations of the "
      "kernel's kfuncs. --format raw prints one record per type with its members, in bpftool's "
      "raw format. Needs no privileges: /sys/kernel/btf/vmlinux is world-readable.");
  btf_dump->add_option("file", btf_dump_args.file,
                       "raw BTF (/sys/kernel/btf/vmlinux, the default) or a compiled object (.bpf.o) "
                       "whose .BTF section is dumped (its DATASEC sizes and offsets as the loader fixes "
                       "them up; clang leaves them 0). Module BTF (/sys/kernel/btf/<module>) is not "
                       "supported: it extends vmlinux's")
      ->type_name("FILE");
  btf_dump->add_option("--format", btf_dump_args.format, "c: a C header; raw: one record per type")
      ->check(CLI::IsMember({"c", "raw"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and friends are "errors" with status 0; every real parse error is a usage error
    // (status 2, the convention of getopt tools) whatever number CLI11 gives it.
    int status = app.exit(e);
    return status == 0 ? 0 : exit_usage;
  }

  try {
    if (inspect->parsed()) return ebpf::cli::object_inspect(inspect_args);
    if (load->parsed()) return ebpf::cli::object_load(load_args);
    if (core->parsed()) return ebpf::cli::object_core(core_args);
    if (prog_list->parsed()) return ebpf::cli::prog_list(prog_list_json);
    if (map_list->parsed()) return ebpf::cli::map_list(map_list_json);
    if (map_dump->parsed()) return ebpf::cli::map_dump(dump_target, map_dump_json);
    if (btf_dump->parsed()) return ebpf::cli::btf_dump(btf_dump_args);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "ebpfpp: {}\n", e.what());
    return 1;
  }
  fmt::print(stderr, "ebpfpp: no command given (see --help)\n");
  return exit_usage;
}
