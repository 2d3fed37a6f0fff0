// The `ebpfpp` command-line tool end to end: the built binary runs as a subprocess on the test
// objects, its JSON is parsed, and what it claims is checked against the library, bpftool and the
// kernel (pins it leaves behind, programs and maps it lists, map contents it dumps).
#include <ebpf/map.hpp>
#include <ebpf/object.hpp>
#include <ebpf/program.hpp>

#include "fixture.hpp"
#include "../bpf/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string bpf_object(const char* name) { return std::string(EBPFPP_TEST_BPF_DIR) + "/" + name; }

std::string bpftool_path() {
  for (const char* path : {"/usr/sbin/bpftool", "/usr/bin/bpftool"})
    if (::access(path, X_OK) == 0) return path;
  return "";
}

bool is_tag(const json& value) {
  if (!value.is_string()) return false;
  auto text = value.get<std::string>();
  return text.size() == 16 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

struct run_result {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

class CliTest : public ebpf_test::kernel_test {
 protected:
  void SetUp() override {
    kernel_test::SetUp();
    if (IsSkipped()) return;
#ifndef EBPFPP_TOOL
    GTEST_SKIP() << "the ebpfpp tool is not part of this build (configured with -Dtools=false)";
#else
    tool_ = EBPFPP_TOOL;
    ASSERT_EQ(::access(tool_.c_str(), X_OK), 0) << tool_ << " is not built: run `ninja tools/ebpfpp` (meson test builds it)";
#endif
  }

  void TearDown() override {
    // Pins outlive processes: remove what the tool pinned (unlink the pins, rmdir the dirs).
    if (!pin_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(pin_dir_, ignored);
      pin_dir_.clear();
    }
    kernel_test::TearDown();
  }

  /// Runs `program` with `args`, stdout and stderr captured through files (no pipes to drain, so
  /// no deadlock whatever the output size; the files are opened in the child only).
  run_result run_program(const std::string& program, const std::vector<std::string>& args) {
    static int counter = 0;
    const std::string base = temp_dir() + "/run" + std::to_string(++counter);
    const std::string out_path = base + ".out", err_path = base + ".err";
    std::vector<std::string> argv_strings{program};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    run_result result;
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << program << ": " << std::strerror(rc);
      return result;
    }
    result.status = wait_child(pid);
    result.out = read_text(out_path);
    result.err = read_text(err_path);
    return result;
  }

  run_result ebpfpp(const std::vector<std::string>& args) { return run_program(tool_, args); }
  const std::string& tool_path() const { return tool_; }

  /// Parses `text` as JSON; a parse failure fails the test showing the text.
  static json parse(const run_result& result) {
    try {
      return json::parse(result.out);
    } catch (const json::exception& e) {
      ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << result.out << "\nstderr:\n" << result.err;
      return json();
    }
  }

  /// `bpftool <args> -j`, parsed.
  json bpftool_json(std::vector<std::string> args) {
    args.push_back("-j");
    auto result = run_program(bpftool_path(), args);
    EXPECT_EQ(result.status, 0) << result.err;
    return parse(result);
  }

  /// A fresh directory path under /sys/fs/bpf (mounted if needed), removed in TearDown.
  std::string pin_dir() {
    static int counter = 0;
    pin_dir_ = sys_fs_bpf() + "/ebpfpp-cli-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    return pin_dir_;
  }

  // Copies, and null when absent: operator[] on a const json with a missing key is an assertion
  // failure that would abort the whole test binary, on a non-const one it is just null.
  static json find_named(const json& list, const std::string& name) {
    if (list.is_array())
      for (const auto& entry : list)
        if (entry.is_object() && entry.value("name", "") == name) return entry;
    return json();
  }
  static json find_id(const json& list, const json& id) {
    if (list.is_array())
      for (const auto& entry : list)
        if (entry.is_object() && entry.contains("id") && entry["id"] == id) return entry;
    return json();
  }
  static std::set<std::string> names(const json& list) {
    std::set<std::string> out;
    if (list.is_array())
      for (const auto& entry : list)
        if (entry.is_object()) out.insert(entry.value("name", ""));
    return out;
  }

 private:
  static std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::string tool_;
  std::string pin_dir_;
};

TEST_F(CliTest, InspectJsonDescribesProgramsMapsGlobalsBtfAndRelocations) {
  auto result = ebpfpp({"object", "inspect", bpf_object("loader.bpf.o"), "--json"});
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(result.err, "");
  json out = parse(result);
  ASSERT_TRUE(out.is_object());
  auto spec = ebpf::object::open(bpf_object("loader.bpf.o")).spec();

  EXPECT_EQ(out["object"], "loader");
  EXPECT_EQ(out["license"], "GPL");
  EXPECT_EQ(names(out["programs"]),
            (std::set<std::string>{"tail_target", "tail_caller", "run_all", "xdp_count_and_pass", "xdp_optional"}));
  json run_all = find_named(out["programs"], "run_all");
  ASSERT_FALSE(run_all.is_null());
  EXPECT_EQ(run_all["section"], "syscall");
  EXPECT_EQ(run_all["type"], "syscall");
  EXPECT_TRUE(run_all["expected_attach_type"].is_null());
  EXPECT_EQ(run_all["instructions"], spec.functions[spec.find_program("run_all")->function].instructions.size());
  EXPECT_EQ(run_all["autoload"], true);
  json xdp = find_named(out["programs"], "xdp_count_and_pass");
  ASSERT_FALSE(xdp.is_null());
  EXPECT_EQ(xdp["type"], "xdp");
  EXPECT_EQ(xdp["expected_attach_type"], "xdp");
  json optional = find_named(out["programs"], "xdp_optional");
  ASSERT_FALSE(optional.is_null());
  EXPECT_EQ(optional["section"], "?xdp");
  EXPECT_EQ(optional["autoload"], false);

  EXPECT_EQ(names(out["maps"]), (std::set<std::string>{".data", ".rodata", ".data.custom", ".bss", "inner_a", "inner_b", "outer",
                                                         "jump_table", "counts", "per_cpu", "results"}));
  json counts = find_named(out["maps"], "counts");
  ASSERT_FALSE(counts.is_null());
  EXPECT_EQ(counts["type"], "hash");
  EXPECT_EQ(counts["key_size"], 4);
  EXPECT_EQ(counts["value_size"], 8);
  EXPECT_EQ(counts["max_entries"], 64);
  EXPECT_EQ(counts["flags"], 0);
  EXPECT_EQ(counts["origin"], "btf_maps");
  EXPECT_EQ(counts["pinning"], "none");
  EXPECT_EQ(counts["key_type"], "__u32");
  EXPECT_EQ(counts["value_type"], "__u64");
  json per_cpu = find_named(out["maps"], "per_cpu");
  ASSERT_FALSE(per_cpu.is_null());
  EXPECT_EQ(per_cpu["type"], "percpu_array");
  EXPECT_TRUE(per_cpu["key_type"].is_null()) << "sizes given as numbers have no BTF type";
  json rodata = find_named(out["maps"], ".rodata");
  ASSERT_FALSE(rodata.is_null());
  EXPECT_EQ(rodata["origin"], "rodata");

  json factor = find_named(out["globals"], "rodata_factor");
  ASSERT_FALSE(factor.is_null());
  EXPECT_EQ(factor["map"], ".rodata");
  EXPECT_EQ(factor["offset"], 0);
  EXPECT_EQ(factor["size"], 4);
  EXPECT_EQ(names(out["globals"]), (std::set<std::string>{"data_counter", "rodata_factor", "bss_total", "custom_value"}));

  // BTF: the type count is bpftool's, and the kinds add up to it.
  ASSERT_TRUE(out["btf"].is_object());
  std::uint64_t by_kind = 0;
  for (const auto& [kind, count] : out["btf"]["kinds"].items()) by_kind += count.get<std::uint64_t>();
  EXPECT_EQ(out["btf"]["types"].get<std::uint64_t>(), by_kind);
  EXPECT_GT(out["btf"]["string_bytes"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(out["btf"]["types"].get<std::uint64_t>(), spec.types->type_count() - 1);
  if (!bpftool_path().empty()) {
    auto dump = run_program(bpftool_path(), {"btf", "dump", "file", bpf_object("loader.bpf.o")});
    ASSERT_EQ(dump.status, 0) << dump.err;
    std::size_t types = 0;
    std::istringstream lines(dump.out);
    for (std::string line; std::getline(lines, line);) types += !line.empty() && line[0] == '[';
    EXPECT_EQ(out["btf"]["types"].get<std::size_t>(), types) << "bpftool btf dump counts the types differently";
  }

  auto relocations = spec.count_relocations();
  EXPECT_EQ(out["relocations"]["map_fd"], relocations.map_fd);
  EXPECT_EQ(out["relocations"]["map_value"], relocations.map_value);
  EXPECT_EQ(out["relocations"]["call"], relocations.call);
  EXPECT_EQ(out["relocations"]["function_address"], relocations.function_address);
  EXPECT_EQ(out["relocations"]["extern"], relocations.extern_symbol);
  EXPECT_EQ(out["relocations"]["core"], relocations.core);
  EXPECT_GT(relocations.map_fd, 0u);
  EXPECT_GT(relocations.map_value, 0u) << "globals";
  EXPECT_GT(relocations.call, 0u) << "subprograms";
  EXPECT_GT(relocations.function_address, 0u) << "the bpf_loop callback";
}

TEST_F(CliTest, InspectTextNamesEverySection) {
  auto result = ebpfpp({"object", "inspect", bpf_object("rejected.bpf.o")});
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("unchecked_lookup"));
  EXPECT_THAT(result.out, HasSubstr("socket_filter"));
  EXPECT_THAT(result.out, HasSubstr("values"));
  EXPECT_THAT(result.out, HasSubstr("btf: "));
  EXPECT_THAT(result.out, HasSubstr("relocations: map_fd 1,"));
}

TEST_F(CliTest, LoadReportsEveryAutoloadProgramWithItsKernelTag) {
  auto result = ebpfpp({"object", "load", bpf_object("loader.bpf.o"), "--json"});
  ASSERT_EQ(result.status, 0) << result.out << result.err;
  json out = parse(result);
  EXPECT_EQ(out["object"], "loader");
  ASSERT_TRUE(out["programs"].is_array());
  EXPECT_EQ(names(out["programs"]), (std::set<std::string>{"tail_target", "tail_caller", "run_all", "xdp_count_and_pass"}))
      << "xdp_optional has autoload off";

  // The tags are the kernel's hash of the instructions with map fds masked, so the library loading
  // the same object in this process must get the same ones.
  auto object = ebpf::object::open(bpf_object("loader.bpf.o"));
  object.load();
  for (json program : out["programs"]) {
    const std::string name = program["name"];
    EXPECT_EQ(program["status"], "loaded") << name;
    EXPECT_GT(program["id"].get<std::uint32_t>(), 0u) << name;
    EXPECT_TRUE(is_tag(program["tag"])) << name << ": " << program["tag"];
    EXPECT_EQ(program["tag"], object.program(name).info().tag_string()) << name;
    EXPECT_EQ(program["xlated_len"], object.program(name).info().xlated_length) << name;
    EXPECT_TRUE(program["error"].is_null()) << name;
  }
  json run_all = find_named(out["programs"], "run_all");
  ASSERT_FALSE(run_all.is_null());
  EXPECT_EQ(run_all["section"], "syscall");
  EXPECT_EQ(run_all["type"], "syscall");
  EXPECT_EQ(names(out["maps"]), (std::set<std::string>{".data", ".rodata", ".data.custom", ".bss", "inner_a", "inner_b", "outer",
                                                         "jump_table", "counts", "per_cpu", "results"}));
  for (json map : out["maps"]) EXPECT_GT(map["id"].get<std::uint32_t>(), 0u) << map["name"];

  auto text = ebpfpp({"object", "load", bpf_object("loader.bpf.o")});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("4 of 4 programs loaded"));
  EXPECT_THAT(text.out, HasSubstr(object.program("run_all").info().tag_string()));
}

TEST_F(CliTest, CoreDryRunReportsLocalAndTargetValues) {
  // core_layout_v1 against core_layout_v2's BTF (the same types laid out differently): every
  // field offset must come out as the target's, which the library computes the same way.
  // core_local_only uses what v2 lacks on purpose: those relocations are poisoned, so exit 1.
  auto result = ebpfpp({"object", "core", bpf_object("core_layout_v1.bpf.o"), "--btf", bpf_object("core_layout_v2.bpf.o"), "--json"});
  ASSERT_EQ(result.status, 1) << result.out << result.err;
  json out = parse(result);
  EXPECT_EQ(out["object"], "core_layout_v1");
  ASSERT_TRUE(out["relocations"].is_array());
  EXPECT_GT(out["relocations"].size(), 10u);
  bool saw_pid = false;
  for (json relocation : out["relocations"]) {
    if (relocation["function"] != "core_local_only") {
      EXPECT_FALSE(relocation["poisoned"].get<bool>()) << relocation.dump();
    }
    if (relocation["access"] == "core_sample.pid" && relocation["kind"] == "byte_off") {
      saw_pid = true;
      EXPECT_NE(relocation["local_value"], relocation["target_value"]) << "v2 moves pid";
    }
  }
  EXPECT_TRUE(saw_pid);
  auto text = ebpfpp({"object", "core", bpf_object("core_layout_v1.bpf.o"), "--btf", bpf_object("core_layout_v2.bpf.o")});
  EXPECT_EQ(text.status, 1) << text.err;
  EXPECT_THAT(text.out, HasSubstr("core_sample.pid"));
  EXPECT_THAT(text.out, HasSubstr("no field 'old_only'")) << "the poisoned ones are explained";
}

TEST_F(CliTest, LoadOnlyLoadsTheNamedProgramAndTheMapsItUses) {
  auto result = ebpfpp({"object", "load", bpf_object("loader.bpf.o"), "--only", "xdp_count_and_pass", "--json"});
  ASSERT_EQ(result.status, 0) << result.out << result.err;
  json out = parse(result);
  ASSERT_EQ(out["programs"].size(), 1u);
  EXPECT_EQ(out["programs"][0]["name"], "xdp_count_and_pass");
  EXPECT_EQ(out["programs"][0]["section"], "xdp");
  EXPECT_EQ(out["programs"][0]["type"], "xdp");
  EXPECT_EQ(out["programs"][0]["status"], "loaded");
  EXPECT_TRUE(is_tag(out["programs"][0]["tag"]));
  EXPECT_EQ(names(out["maps"]), std::set<std::string>{"counts"});

  // Repeated --only, including a program whose autoload is off.
  result = ebpfpp({"object", "load", "--only", "xdp_optional", "--only", "tail_target", bpf_object("loader.bpf.o"), "--json"});
  ASSERT_EQ(result.status, 0) << result.out << result.err;
  out = parse(result);
  EXPECT_EQ(names(out["programs"]), (std::set<std::string>{"xdp_optional", "tail_target"}));
  EXPECT_TRUE(out["maps"].empty()) << out["maps"];

  result = ebpfpp({"object", "load", bpf_object("loader.bpf.o"), "--only", "no_such_program"});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("ebpfpp: object 'loader': program 'no_such_program': no such program"));
}

TEST_F(CliTest, RejectedProgramFailsWithTheVerifierSummaryWhileTheOtherLoads) {
  auto result = ebpfpp({"object", "load", bpf_object("rejected.bpf.o"), "--json"});
  EXPECT_EQ(result.status, 1) << "a requested program failed";
  EXPECT_THAT(result.err, HasSubstr("ebpfpp: object 'rejected': 1 of 2 programs failed to load: unchecked_lookup"));
  json out = parse(result);
  ASSERT_EQ(out["programs"].size(), 2u);
  json rejected = find_named(out["programs"], "unchecked_lookup");
  ASSERT_FALSE(rejected.is_null());
  EXPECT_EQ(rejected["status"], "failed");
  EXPECT_TRUE(rejected["id"].is_null());
  EXPECT_TRUE(rejected["tag"].is_null());
  EXPECT_TRUE(rejected["xlated_len"].is_null());
  const std::string error = rejected["error"];
  EXPECT_THAT(error, HasSubstr("program 'unchecked_lookup': verifier rejected it"));
  EXPECT_THAT(error, HasSubstr("R0 invalid mem access 'map_value_or_null'"));
  json fine = find_named(out["programs"], "fine");
  ASSERT_FALSE(fine.is_null());
  EXPECT_EQ(fine["status"], "loaded");
  EXPECT_TRUE(is_tag(fine["tag"]));
  EXPECT_TRUE(fine["error"].is_null());

  auto text = ebpfpp({"object", "load", bpf_object("rejected.bpf.o")});
  EXPECT_EQ(text.status, 1);
  EXPECT_THAT(text.out, HasSubstr("1 of 2 programs loaded"));
  EXPECT_THAT(text.out, HasSubstr("R0 invalid mem access 'map_value_or_null'"));

  auto only_fine = ebpfpp({"object", "load", bpf_object("rejected.bpf.o"), "--only", "fine", "--json"});
  EXPECT_EQ(only_fine.status, 0) << only_fine.err;
  out = parse(only_fine);
  ASSERT_EQ(out["programs"].size(), 1u);
  EXPECT_EQ(out["programs"][0]["status"], "loaded");
}

TEST_F(CliTest, PinLeavesProgramsAndMapsThatListAndDumpShow) {
  const std::string bpftool = bpftool_path();
  if (bpftool.empty()) GTEST_SKIP() << "bpftool is not installed: it is the oracle of this test";
  const std::string dir = pin_dir() + "/nested";  // the tool creates missing parents
  auto result = ebpfpp({"object", "load", bpf_object("loader.bpf.o"), "--pin", dir, "--json"});
  ASSERT_EQ(result.status, 0) << result.out << result.err;
  json out = parse(result);

  // Programs: pinned as DIR/<program>, seen by bpftool with the same id and tag.
  ASSERT_EQ(out["programs"].size(), 4u);
  for (json program : out["programs"]) {
    const std::string name = program["name"];
    ASSERT_EQ(program["pinned"], dir + "/" + name);
    json shown = bpftool_json({"prog", "show", "pinned", dir + "/" + name});
    EXPECT_EQ(shown["id"], program["id"]) << name;
    EXPECT_EQ(shown["tag"], program["tag"]) << name;
    json by_id = bpftool_json({"prog", "show", "id", std::to_string(program["id"].get<std::uint32_t>())});
    EXPECT_EQ(by_id["tag"], program["tag"]) << name;
  }
  // Maps: pinned as DIR/maps/<map>, dots replaced (bpffs refuses them).
  json counts = find_named(out["maps"], "counts");
  ASSERT_FALSE(counts.is_null());
  EXPECT_EQ(counts["pinned"], dir + "/maps/counts");
  json shown = bpftool_json({"map", "show", "pinned", dir + "/maps/counts"});
  EXPECT_EQ(shown["id"], counts["id"]);
  json rodata = find_named(out["maps"], ".rodata");
  ASSERT_FALSE(rodata.is_null());
  EXPECT_EQ(rodata["pinned"], dir + "/maps/loader_rodata");
  for (json map : out["maps"]) EXPECT_TRUE(std::filesystem::exists(map["pinned"].get<std::string>())) << map["name"];

  // prog list / map list see the pinned objects (after this command has exited).
  auto prog_list = ebpfpp({"prog", "list", "--json"});
  ASSERT_EQ(prog_list.status, 0) << prog_list.err;
  json programs = parse(prog_list);
  for (json program : out["programs"]) {
    json listed = find_id(programs, program["id"]);
    ASSERT_FALSE(listed.is_null()) << program["name"];
    EXPECT_EQ(listed["tag"], program["tag"]);
    EXPECT_EQ(listed["type"], program["type"]);
    EXPECT_EQ(listed["name"], ebpf::kernel_program_name(program["name"].get<std::string>()));
  }
  auto map_list = ebpfpp({"map", "list", "--json"});
  ASSERT_EQ(map_list.status, 0) << map_list.err;
  json maps = parse(map_list);
  for (json map : out["maps"]) {
    json listed = find_id(maps, map["id"]);
    ASSERT_FALSE(listed.is_null()) << map["name"];
    EXPECT_EQ(listed["type"], map["type"]);
    EXPECT_EQ(listed["key_size"], map["key_size"]);
  }
  auto text_list = ebpfpp({"prog", "list"});
  EXPECT_EQ(text_list.status, 0);
  EXPECT_THAT(text_list.out, HasSubstr(find_named(out["programs"], "run_all").value("tag", "missing tag")));

  // Run the pinned run_all so the maps hold something, then dump them.
  {
    auto run_all = ebpf::program::from_pin(dir + "/run_all");
    loader_args args{};
    args.input = 7;
    ebpf::test_run_options options;
    options.ctx = std::as_bytes(std::span(&args, 1));
    EXPECT_EQ(run_all.test_run(options).retval, 0u);
  }
  auto dump = ebpfpp({"map", "dump", dir + "/maps/counts", "--json"});
  ASSERT_EQ(dump.status, 0) << dump.err;
  json entries = parse(dump);
  EXPECT_EQ(entries["name"], "counts");
  EXPECT_EQ(entries["type"], "hash");
  ASSERT_EQ(entries["entries"].size(), 1u) << entries;
  EXPECT_EQ(entries["entries"][0]["key"], "07000000");
  EXPECT_EQ(entries["entries"][0]["value"], "0100000000000000");

  // By id, and a frozen .rodata with the compiled-in initial value (rodata_factor = 3).
  dump = ebpfpp({"map", "dump", std::to_string(rodata["id"].get<std::uint32_t>()), "--json"});
  ASSERT_EQ(dump.status, 0) << dump.err;
  entries = parse(dump);
  ASSERT_EQ(entries["entries"].size(), 1u);
  EXPECT_EQ(entries["entries"][0]["value"], "03000000");

  // Per-CPU values: one per possible CPU; run_all added 1 on exactly one of them.
  dump = ebpfpp({"map", "dump", dir + "/maps/per_cpu", "--json"});
  ASSERT_EQ(dump.status, 0) << dump.err;
  entries = parse(dump);
  ASSERT_EQ(entries["entries"].size(), 1u);
  json values = entries["entries"][0]["values"];
  ASSERT_EQ(values.size(), ebpf::possible_cpus());
  int ones = 0;
  for (json value : values) ones += value["value"] == "0100000000000000";
  EXPECT_EQ(ones, 1) << values;

  auto text = ebpfpp({"map", "dump", dir + "/maps/counts"});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("key: 07 00 00 00  value: 01 00 00 00 00 00 00 00"));
}

TEST_F(CliTest, PinOutsideABpffsIsRefusedBeforeLoading) {
  const std::string dir = temp_dir() + "/pins";
  auto result = ebpfpp({"object", "load", bpf_object("loader.bpf.o"), "--pin", dir});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("ebpfpp: pin directory '" + dir + "': not on a BPF filesystem"));
  EXPECT_EQ(result.out, "");
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(CliTest, PinWithoutBpffsAtSysFsBpfSaysItIsNotMounted) {
  // In a private mount namespace, so that /sys/fs/bpf stays mounted for everyone else.
  const std::string out_path = temp_dir() + "/unmounted.out";
  const std::string err_path = temp_dir() + "/unmounted.err";
  const std::string tool = tool_path();
  const std::string object = bpf_object("loader.bpf.o");
  pid_t pid = fork_child([&]() -> int {
    if (::unshare(CLONE_NEWNS) != 0) return 120;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 121;
    struct statfs fs {};
    while (::statfs("/sys/fs/bpf", &fs) == 0 && static_cast<long>(fs.f_type) == 0xcafe4a11)
      if (::umount2("/sys/fs/bpf", MNT_DETACH) != 0) return 122;
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) return 123;
    ::execl(tool.c_str(), tool.c_str(), "object", "load", object.c_str(), "--pin", "/sys/fs/bpf/ebpfpp-cli-test", nullptr);
    return 124;
  });
  ASSERT_EQ(wait_child(pid), 1) << "120-124: the child could not set up its mount namespace or exec the tool";
  std::ifstream err(err_path);
  std::string message((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  EXPECT_THAT(message, HasSubstr("ebpfpp: pin directory '/sys/fs/bpf/ebpfpp-cli-test': not on a BPF filesystem"));
  EXPECT_THAT(message, HasSubstr("/sys/fs/bpf is not mounted"));
  EXPECT_THAT(message, HasSubstr("mount -t bpf bpf /sys/fs/bpf"));
}

TEST_F(CliTest, PinThatFailsHalfWayLeavesNothingPinned) {
  const std::string dir = pin_dir();
  // run_all is the third program pinned; a directory in its place makes its pin fail (EEXIST)
  // after tail_target and tail_caller were pinned.
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << std::strerror(errno);
  ASSERT_EQ(::mkdir((dir + "/run_all").c_str(), 0755), 0) << std::strerror(errno);
  auto result = ebpfpp({"object", "load", bpf_object("loader.bpf.o"), "--pin", dir});
  EXPECT_EQ(result.status, 1);
  EXPECT_THAT(result.err, HasSubstr("ebpfpp: object 'loader': program 'run_all': pin '" + dir + "/run_all': File exists"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/tail_target"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/tail_caller"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/maps"));
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/run_all")) << "what was there before stays";
}

TEST_F(CliTest, FailuresExitOneAndUsageErrorsExitTwo) {
  auto missing = ebpfpp({"object", "inspect", temp_dir() + "/missing.bpf.o"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_THAT(missing.err, HasSubstr("ebpfpp: object '" + temp_dir() + "/missing.bpf.o': open: No such file or directory"));

  auto no_map = ebpfpp({"map", "dump", temp_dir() + "/not-pinned"});
  EXPECT_EQ(no_map.status, 1);
  EXPECT_THAT(no_map.err, HasSubstr("ebpfpp: "));

  EXPECT_EQ(ebpfpp({}).status, 2);
  EXPECT_EQ(ebpfpp({"object", "load"}).status, 2) << "FILE is required";
  EXPECT_EQ(ebpfpp({"object", "inspect", bpf_object("loader.bpf.o"), "--bogus"}).status, 2);
  EXPECT_EQ(ebpfpp({"frobnicate"}).status, 2);

  auto version = ebpfpp({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_THAT(version.out, HasSubstr("ebpfpp "));

  auto help = ebpfpp({"object", "load", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_THAT(help.out, HasSubstr("--pin"));
  EXPECT_THAT(help.out, HasSubstr("--only"));
}

}  // namespace
