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
  CLI::App app{"ebpfpp: inspect and load eBPF objects, list and show programs, maps, links and BTF in the kernel, dump BTF, probe kernel features.",
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

  std::string prog_show_id;
  bool prog_show_json = false;
  auto* prog_show = prog->add_subcommand(
      "show",
      "one program in detail: id, type, name, tag, load time, uid, sizes, verified instructions, map "
      "ids, BTF ids, the links that attach it, and its run statistics (run_cnt, run_time_ns, "
      "recursion_misses). The kernel counts runs only while statistics are on: sysctl "
      "kernel.bpf_stats_enabled=1, or while a process holds a BPF_ENABLE_STATS fd "
      "(ebpf::enable_program_stats())");
  prog_show->add_option("id", prog_show_id, "the program id (see `ebpfpp prog list`)")->required()->type_name("ID");
  prog_show->add_flag("--json", prog_show_json,
                      std::string(json_help) +
                          ": {\"id\", \"type\", \"name\", \"tag\", \"gpl_compatible\", \"loaded_at_ns\", "
                          "\"created_by_uid\", \"xlated_len\", \"jited_len\", \"verified_insns\", \"map_ids\", "
                          "\"btf_id\", \"attach_btf_obj_id\", \"attach_btf_id\", \"ifindex\", \"link_ids\", "
                          "\"run_cnt\", \"run_time_ns\", \"recursion_misses\", \"stats_sysctl\"}");

  // ---- link -----------------------------------------------------------------------------------
  auto* link = app.add_subcommand("link", "bpf_links in the kernel");
  link->require_subcommand(1);
  bool link_list_json = false;
  auto* link_list = link->add_subcommand(
      "list",
      "list every bpf_link: id, type, program id and what it attaches to (tracepoint name, cgroup "
      "id, interface, netns inode, perf event kind and target, uprobe path, netfilter hook, "
      "struct_ops map, cookies...)");
  link_list->add_flag("--json", link_list_json,
                      std::string(json_help) +
                          ": [{\"id\", \"type\", \"prog_id\", and the fields of the link type, named as "
                          "bpftool names them (\"tp_name\", \"attach_type\", \"cgroup_id\", \"ifindex\", "
                          "\"devname\", \"netns_ino\", \"event_type\", \"file\", \"func\", \"offset\", \"path\", "
                          "\"pid\", \"map_id\", \"pf\", \"hook\", \"prio\", \"cookie\", ...)}]");

  // ---- feature --------------------------------------------------------------------------------
  ebpf::cli::feature_command feature_args;
  auto* feature = app.add_subcommand(
      "feature",
      "probe what the running kernel supports, like `bpftool feature probe kernel`: every program "
      "type, every map type, the kernel features the loader relies on (BTF kinds, global data, "
      "ring buffers, cookies, kfuncs, link types...) and the helpers each program type may call. "
      "Each answer is supported, unsupported or unknown with the errno that made it so (e.g. "
      "EPERM: not privileged, or refused by lockdown)");
  feature->add_flag("--json", feature_args.json,
                    std::string(json_help) +
                        ": {\"program_types\": [{\"name\", \"id\", \"state\", \"errno\", \"error\", "
                        "\"detail\"}], \"map_types\": [same], \"kernel_features\": [{\"name\", "
                        "\"description\", \"state\", \"errno\", \"error\", \"detail\"}], \"helpers\": "
                        "{\"<program type>\": {\"program_type\", \"available\": [names], \"unknown\"}} or "
                        "null with --no-helpers}; state is \"supported\", \"unsupported\" or \"unknown\"");
  feature->add_flag("--full", feature_args.full,
                    "also probe bpf_trace_printk, bpf_trace_vprintk and bpf_probe_write_user, whose "
                    "loading writes a warning to the kernel log (bpftool's `full`)");
  feature->add_flag("--no-helpers", feature_args.no_helpers, "skip the helpers per program type (the slowest part)");

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

  std::string map_show_id;
  bool map_show_json = false;
  auto* map_show = map->add_subcommand(
      "show", "one map in detail: id, type, name, sizes, flags, BTF ids, map_extra and the programs using it");
  map_show->add_option("id", map_show_id, "the map id (see `ebpfpp map list`)")->required()->type_name("ID");
  map_show->add_flag("--json", map_show_json,
                     std::string(json_help) +
                         ": {\"id\", \"type\", \"name\", \"key_size\", \"value_size\", \"max_entries\", "
                         "\"flags\", \"btf_id\", \"btf_key_type_id\", \"btf_value_type_id\", "
                         "\"btf_vmlinux_value_type_id\", \"map_extra\", \"ifindex\", \"prog_ids\"}");

  // ---- btf ------------------------------------------------------------------------------------
  auto* btf = app.add_subcommand("btf", "BPF Type Format: the kernel's types or an object's");
  btf->require_subcommand(1);
  bool btf_list_json = false;
  auto* btf_list = btf->add_subcommand(
      "list", "list every BTF object in the kernel (vmlinux, modules, BTF loaded with programs and maps): id, "
              "name, size, whether it is the kernel's, and the programs and maps using it");
  btf_list->add_flag("--json", btf_list_json,
                     std::string(json_help) + ": [{\"id\", \"size\", \"name\", \"kernel\", \"prog_ids\", \"map_ids\"}]");
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
    if (prog_show->parsed()) return ebpf::cli::prog_show(prog_show_id, prog_show_json);
    if (link_list->parsed()) return ebpf::cli::link_list(link_list_json);
    if (feature->parsed()) return ebpf::cli::feature_probe(feature_args);
    if (map_show->parsed()) return ebpf::cli::map_show(map_show_id, map_show_json);
    if (btf_list->parsed()) return ebpf::cli::btf_list(btf_list_json);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "ebpfpp: {}\n", e.what());
    return 1;
  }
  fmt::print(stderr, "ebpfpp: no command given (see --help)\n");
  return exit_usage;
}
