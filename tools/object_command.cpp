// ebpfpp tool: `object inspect` and `object load`.
#include "commands.hpp"
#include "output.hpp"

#include <ebpf/error.hpp>
#include <ebpf/kernel_btf.hpp>
#include <ebpf/object.hpp>
#include <ebpf/relocation.hpp>

#include <fmt/core.h>

#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <system_error>

namespace ebpf::cli {
namespace {

// ---- inspect --------------------------------------------------------------------------------

std::size_t instruction_count(const object_spec& spec, const program_spec& program) {
  // The entry function only (subprograms are functions of their own); the index comes from the
  // parser, checked again because a bad object must never crash the tool.
  return program.function < spec.functions.size() ? spec.functions[program.function].instructions.size() : 0;
}

std::string expected_attach_type_name(const program_spec& program) {
  if (!program.kind.expected_attach_type) return "";
  return std::string(ebpf::to_string(*program.kind.expected_attach_type));
}

struct btf_summary {
  std::uint32_t types = 0;         // without void (id 0)
  std::uint32_t string_bytes = 0;  // size of the string section
  std::map<std::uint8_t, std::uint32_t> kinds;  // btf_kind value -> count, in kind order
};

btf_summary summarize(const btf& types) {
  btf_summary summary;
  summary.types = types.type_count() > 0 ? types.type_count() - 1 : 0;
  // The string section size is in the header (struct btf_header: magic u16, version u8, flags u8,
  // hdr_len u32, type_off u32, type_len u32, str_off u32, str_len u32); parse() validated it.
  auto bytes = types.bytes();
  constexpr std::size_t str_len_offset = 20;
  if (bytes.size() >= str_len_offset + sizeof(std::uint32_t))
    std::memcpy(&summary.string_bytes, bytes.data() + str_len_offset, sizeof(std::uint32_t));
  for (std::uint32_t id = 1; id < types.type_count(); ++id) ++summary.kinds[static_cast<std::uint8_t>(types.type(id).kind)];
  return summary;
}

std::string kind_name(std::uint8_t kind) { return std::string(ebpf::to_string(static_cast<btf_kind>(kind))); }

json inspect_json(const std::string& file, const object_spec& spec) {
  json out;
  out["object"] = spec.name;
  out["file"] = file;
  out["license"] = spec.license;
  out["kernel_version"] = spec.kernel_version;
  out["programs"] = json::array();
  for (const auto& program : spec.programs) {
    json entry;
    entry["name"] = program.name;
    entry["section"] = program.section;
    entry["type"] = ebpf::to_string(program.kind.type);
    entry["expected_attach_type"] = string_or_null(expected_attach_type_name(program));
    entry["instructions"] = instruction_count(spec, program);
    entry["autoload"] = program.autoload;
    out["programs"].push_back(std::move(entry));
  }
  out["maps"] = json::array();
  for (const auto& map : spec.maps) {
    json entry;
    entry["name"] = map.name;
    entry["type"] = ebpf::to_string(map.type);
    entry["key_size"] = map.key_size;
    entry["value_size"] = map.value_size;
    entry["max_entries"] = map.max_entries;
    entry["flags"] = map.flags;
    entry["origin"] = to_string(map.origin);
    entry["pinning"] = to_string(map.pinning);
    entry["key_type"] = string_or_null(map.key_type_name);
    entry["value_type"] = string_or_null(map.value_type_name);
    out["maps"].push_back(std::move(entry));
  }
  out["globals"] = json::array();
  for (const auto& global : spec.globals) {
    out["globals"].push_back(
        json{{"name", global.name}, {"map", global.map}, {"offset", global.offset}, {"size", global.size}});
  }
  if (spec.types) {
    auto summary = summarize(*spec.types);
    json kinds = json::object();
    for (const auto& [kind, count] : summary.kinds) kinds[kind_name(kind)] = count;
    out["btf"] = json{{"types", summary.types}, {"string_bytes", summary.string_bytes}, {"kinds", std::move(kinds)}};
  } else {
    out["btf"] = nullptr;
  }
  auto counts = spec.count_relocations();
  out["relocations"] = json{{"map_fd", counts.map_fd},
                            {"map_value", counts.map_value},
                            {"call", counts.call},
                            {"function_address", counts.function_address},
                            {"extern", counts.extern_symbol},
                            {"core", counts.core}};
  return out;
}

void inspect_text(const std::string& file, const object_spec& spec) {
  fmt::print("object '{}' ({}), license '{}'", spec.name, file, spec.license);
  if (spec.kernel_version) fmt::print(", kernel version {:#x}", spec.kernel_version);
  fmt::print("\n");

  fmt::print("\nprograms ({}):\n", spec.programs.size());
  table programs({"NAME", "SECTION", "TYPE", "ATTACH_TYPE", "INSNS", "AUTOLOAD"});
  for (const auto& program : spec.programs) {
    auto attach = expected_attach_type_name(program);
    programs.add({program.name, program.section, std::string(ebpf::to_string(program.kind.type)), attach.empty() ? "-" : attach,
                  std::to_string(instruction_count(spec, program)), program.autoload ? "yes" : "no"});
  }
  if (!programs.empty()) programs.print("  ");

  fmt::print("\nmaps ({}):\n", spec.maps.size());
  table maps({"NAME", "TYPE", "KEY", "VALUE", "MAX_ENTRIES", "FLAGS", "ORIGIN", "PINNING", "KEY_TYPE", "VALUE_TYPE"});
  for (const auto& map : spec.maps) {
    maps.add({map.name, std::string(ebpf::to_string(map.type)), std::to_string(map.key_size), std::to_string(map.value_size),
              std::to_string(map.max_entries), hex_flags(map.flags), std::string(to_string(map.origin)),
              std::string(to_string(map.pinning)), map.key_type_name.empty() ? "-" : map.key_type_name,
              map.value_type_name.empty() ? "-" : map.value_type_name});
  }
  if (!maps.empty()) maps.print("  ");

  fmt::print("\nglobals ({}):\n", spec.globals.size());
  table globals({"NAME", "MAP", "OFFSET", "SIZE"});
  for (const auto& global : spec.globals)
    globals.add({global.name, global.map, std::to_string(global.offset), std::to_string(global.size)});
  if (!globals.empty()) globals.print("  ");

  if (spec.types) {
    auto summary = summarize(*spec.types);
    fmt::print("\nbtf: {} types, {} string bytes\n", summary.types, summary.string_bytes);
    std::string kinds;
    for (const auto& [kind, count] : summary.kinds) kinds += (kinds.empty() ? "" : ", ") + kind_name(kind) + " " + std::to_string(count);
    if (!kinds.empty()) fmt::print("  {}\n", kinds);
  } else {
    fmt::print("\nbtf: none (compile with -g)\n");
  }

  auto counts = spec.count_relocations();
  fmt::print("\nrelocations: map_fd {}, map_value {}, call {}, function_address {}, extern {}, core {}\n", counts.map_fd,
             counts.map_value, counts.call, counts.function_address, counts.extern_symbol, counts.core);
}

// ---- load -----------------------------------------------------------------------------------

constexpr long bpf_fs_magic = 0xcafe4a11;  // BPF_FS_MAGIC, include/uapi/linux/magic.h

bool on_bpffs(const char* path) {
  struct statfs fs {};
  return ::statfs(path, &fs) == 0 && static_cast<long>(fs.f_type) == bpf_fs_magic;
}

std::string filesystem_name(long magic) {
  switch (magic) {
    case 0x62656572: return "sysfs";
    case 0x01021994: return "tmpfs";
    case 0xef53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683e: return "btrfs";
    case 0x794c7630: return "overlayfs";
    case 0x9fa0: return "procfs";
    default: return fmt::format("a filesystem with magic {:#x}", static_cast<unsigned long>(magic));
  }
}

// Pins must go into a bpffs (BPF_OBJ_PIN gives EPERM elsewhere). Checked before anything is
// loaded so that a wrong directory costs nothing, with the usual cause (no bpffs mounted at
// /sys/fs/bpf) spelled out.
void check_pin_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path existing = fs::absolute(dir, ec);
  if (ec) throw_errno(ec.value(), "pin directory '" + dir + "'");
  while (!fs::exists(existing, ec) && existing != existing.parent_path()) existing = existing.parent_path();
  struct statfs info {};
  if (::statfs(existing.c_str(), &info) != 0) throw_errno(errno, "pin directory '" + dir + "': statfs '" + existing.string() + "'");
  if (static_cast<long>(info.f_type) == bpf_fs_magic) return;
  std::string message = "pin directory '" + dir + "': not on a BPF filesystem ('" + existing.string() + "' is on " +
                        filesystem_name(static_cast<long>(info.f_type)) + ")";
  if (!on_bpffs("/sys/fs/bpf"))
    message += "; /sys/fs/bpf is not mounted either: mount it with 'mount -t bpf bpf /sys/fs/bpf' and pin below it";
  else
    message += "; pin below /sys/fs/bpf";
  throw_error(errc::invalid_argument, message);
}

// The pins and directories one `object load --pin` creates; removed again unless commit() is
// called, so a pin that fails half-way leaves nothing behind.
class pin_transaction {
 public:
  pin_transaction() = default;
  pin_transaction(const pin_transaction&) = delete;
  pin_transaction& operator=(const pin_transaction&) = delete;
  ~pin_transaction() {
    if (committed_) return;
    for (auto path = pins_.rbegin(); path != pins_.rend(); ++path) ::unlink(path->c_str());
    for (auto dir = dirs_.rbegin(); dir != dirs_.rend(); ++dir) ::rmdir(dir->c_str());
  }

  /// Creates `dir` and its missing parents, remembering which ones were new.
  void make_dirs(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> missing;
    std::error_code ec;
    for (auto path = dir; !path.empty() && !std::filesystem::exists(path, ec); path = path.parent_path()) {
      missing.push_back(path);
      if (path == path.parent_path()) break;
    }
    for (auto path = missing.rbegin(); path != missing.rend(); ++path) {
      if (::mkdir(path->c_str(), 0755) != 0 && errno != EEXIST) throw_errno(errno, "pin directory '" + path->string() + "': mkdir");
      dirs_.push_back(path->string());
    }
    if (!std::filesystem::is_directory(dir, ec))
      throw_error(errc::invalid_argument, "pin directory '" + dir.string() + "': exists and is not a directory");
  }

  void pinned(std::string path) { pins_.push_back(std::move(path)); }
  void commit() noexcept { committed_ = true; }

 private:
  std::vector<std::string> pins_;
  std::vector<std::string> dirs_;
  bool committed_ = false;
};

// The file name a map is pinned under: its name in the source, or for global data the kernel's
// "<object>.rodata" name (as `bpftool prog loadall` pins them); dots become '_' because bpffs
// refuses names with a dot (kernel/bpf/inode.c, bpf_lookup(): dots are reserved), which is
// libbpf's sanitize_pin_path() rule too.
std::string map_pin_name(const object_spec& spec, const map_spec& map) {
  std::string name = map.is_global_data() ? spec.kernel_map_name(map) : map.name;
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

struct program_row {
  std::string name;
  std::string section;
  std::string type;
  bool loaded = false;
  std::uint32_t id = 0;
  std::string tag;
  std::uint32_t xlated_length = 0;
  std::string error;
  std::string pinned;
};

struct map_row {
  std::string name;
  std::uint32_t id = 0;
  std::string type;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::string pinned;
};

}  // namespace

int object_inspect(const inspect_command& command) {
  auto object = ebpf::object::open(command.file);
  if (command.json)
    print_json(inspect_json(command.file, object.spec()));
  else
    inspect_text(command.file, object.spec());
  return 0;
}

int object_load(const load_command& command) {
  auto object = ebpf::object::open(command.file);
  const object_spec& spec = object.spec();
  if (!command.pin_dir.empty()) check_pin_dir(command.pin_dir);

  load_options options;
  options.only = command.only;
  options.keep_going = true;
  object.load(options);

  std::vector<program_row> programs;
  for (const auto& status : object.load_report()) {
    program_row row;
    row.name = status.name;
    if (const program_spec* program = spec.find_program(status.name)) {
      row.section = program->section;
      row.type = std::string(ebpf::to_string(program->kind.type));
    }
    row.loaded = status.loaded;
    row.error = status.error;
    if (status.loaded) {
      auto info = object.program(status.name).info();
      row.id = info.id;
      row.tag = info.tag_string();
      row.xlated_length = info.xlated_length;
    }
    programs.push_back(std::move(row));
  }
  std::vector<map_row> maps;
  auto created = object.map_names();
  std::set<std::string> created_set(created.begin(), created.end());
  for (const auto& map_spec : spec.maps) {
    if (!created_set.count(map_spec.name)) continue;
    const ebpf::map& map = object.map(map_spec.name);
    maps.push_back({map_spec.name, map.id(), std::string(ebpf::to_string(map.type())), map.key_size(), map.value_size(),
                    map.max_entries(), ""});
  }

  if (!command.pin_dir.empty()) {
    namespace fs = std::filesystem;
    pin_transaction pins;
    const fs::path root = command.pin_dir;
    pins.make_dirs(root);
    for (auto& row : programs) {
      if (!row.loaded) continue;
      row.pinned = (root / row.name).string();
      object.program(row.name).pin(row.pinned);
      pins.pinned(row.pinned);
    }
    if (!maps.empty()) pins.make_dirs(root / "maps");
    for (auto& row : maps) {
      row.pinned = (root / "maps" / map_pin_name(spec, *spec.find_map(row.name))).string();
      object.map(row.name).pin(row.pinned);
      pins.pinned(row.pinned);
    }
    pins.commit();
  }

  std::size_t loaded = static_cast<std::size_t>(std::count_if(programs.begin(), programs.end(), [](const auto& row) { return row.loaded; }));
  if (command.json) {
    json out;
    out["object"] = spec.name;
    out["programs"] = json::array();
    for (const auto& row : programs) {
      json entry;
      entry["name"] = row.name;
      entry["section"] = row.section;
      entry["type"] = row.type;
      entry["status"] = row.loaded ? "loaded" : "failed";
      entry["id"] = row.loaded ? json(row.id) : json(nullptr);
      entry["tag"] = row.loaded ? json(row.tag) : json(nullptr);
      entry["xlated_len"] = row.loaded ? json(row.xlated_length) : json(nullptr);
      entry["error"] = string_or_null(row.error);
      entry["pinned"] = string_or_null(row.pinned);
      out["programs"].push_back(std::move(entry));
    }
    out["maps"] = json::array();
    for (const auto& row : maps) {
      out["maps"].push_back(json{{"name", row.name},
                                 {"id", row.id},
                                 {"type", row.type},
                                 {"key_size", row.key_size},
                                 {"value_size", row.value_size},
                                 {"max_entries", row.max_entries},
                                 {"pinned", string_or_null(row.pinned)}});
    }
    print_json(out);
  } else {
    const bool pinned = !command.pin_dir.empty();
    fmt::print("object '{}': {} of {} programs loaded\n", spec.name, loaded, programs.size());
    fmt::print("\nprograms:\n");
    std::vector<std::string> header{"NAME", "SECTION", "TYPE", "STATUS", "ID", "TAG", "XLATED_LEN"};
    if (pinned) header.push_back("PINNED");
    table program_table(header);
    for (const auto& row : programs) {
      program_table.add({row.name, row.section, row.type, row.loaded ? "loaded" : "failed", row.loaded ? std::to_string(row.id) : "-",
                         row.loaded ? row.tag : "-", row.loaded ? std::to_string(row.xlated_length) : "-",
                         row.pinned.empty() ? "-" : row.pinned});
    }
    if (!program_table.empty()) program_table.print("  ");
    fmt::print("\nmaps:\n");
    header = {"NAME", "ID", "TYPE", "KEY", "VALUE", "MAX_ENTRIES"};
    if (pinned) header.push_back("PINNED");
    table map_table(header);
    for (const auto& row : maps) {
      map_table.add({row.name, std::to_string(row.id), row.type, std::to_string(row.key_size), std::to_string(row.value_size),
                     std::to_string(row.max_entries), row.pinned.empty() ? "-" : row.pinned});
    }
    if (!map_table.empty()) map_table.print("  ");
    bool first = true;
    for (const auto& row : programs) {
      if (row.loaded) continue;
      if (first) fmt::print("\nerrors:\n");
      first = false;
      fmt::print("  {}: {}\n", row.name, indent_lines(row.error, "    "));
    }
  }

  if (loaded == programs.size()) return 0;
  std::string failed;
  for (const auto& row : programs)
    if (!row.loaded) failed += (failed.empty() ? "" : ", ") + row.name;
  fmt::print(stderr, "ebpfpp: object '{}': {} of {} programs failed to load: {}\n", spec.name, programs.size() - loaded,
             programs.size(), failed);
  return 1;
}

}  // namespace ebpf::cli

namespace ebpf::cli {

int object_core(const core_command& command) {
  auto object = ebpf::object::open(command.file);
  const object_spec& spec = object.spec();
  std::optional<btf> custom;
  std::shared_ptr<const core_target_index> index;
  if (!command.btf.empty()) {
    custom = read_btf_file(command.btf);
    index = std::make_shared<core_target_index>(*custom);
  } else {
    index = kernel_core_index();
  }
  core_candidate_cache cache(index);
  const core_plan plan = plan_core_relocations(spec, cache);
  const std::string target = command.btf.empty() ? "/sys/kernel/btf/vmlinux" : command.btf;
  bool poisoned = false;
  json rows = json::array();
  for (std::size_t f = 0; f < plan.by_function.size(); ++f) {
    for (const auto& result : plan.by_function[f]) {
      poisoned = poisoned || result.poisoned;
      std::string access = result.local_access.empty() ? result.access_string : result.local_access;
      if (command.json) {
        rows.push_back({{"function", spec.functions[f].name},
                        {"instruction", result.instruction},
                        {"kind", std::string(ebpf::to_string(result.kind))},
                        {"local_type", result.local_type_name},
                        {"access", access},
                        {"local_value", result.local_value},
                        {"target_value", result.target_value},
                        {"target_type_id", result.target_type_id},
                        {"candidates", result.candidates},
                        {"poisoned", result.poisoned},
                        {"reason", result.reason}});
      } else {
        rows.push_back({spec.functions[f].name, result.instruction, std::string(ebpf::to_string(result.kind)),
                        result.local_type_name, access, result.local_value,
                        result.poisoned ? std::string("poisoned") : std::to_string(result.target_value)});
      }
    }
  }
  if (command.json) {
    print_json({{"object", spec.name}, {"target", target}, {"relocations", rows}});
  } else {
    fmt::print("object '{}': {} CO-RE relocations against {}\n\n", spec.name, rows.size(), target);
    fmt::print("{:<24} {:>6}  {:<15} {:<24} {:<36} {:>10} {:>10}\n", "FUNCTION", "INSN", "KIND", "TYPE", "ACCESS",
               "LOCAL", "TARGET");
    for (const auto& row : rows)
      fmt::print("{:<24} {:>6}  {:<15} {:<24} {:<36} {:>10} {:>10}\n", row[0].get<std::string>(), row[1].get<std::uint32_t>(),
                 row[2].get<std::string>(), row[3].get<std::string>(), row[4].get<std::string>(),
                 row[5].get<std::uint64_t>(), row[6].get<std::string>());
    if (poisoned) {
      fmt::print("\npoisoned:\n");
      for (const auto* result : plan.all())
        if (result->poisoned) fmt::print("  {}: {}\n", describe(*result), result->reason);
    }
  }
  return poisoned ? 1 : 0;
}

}  // namespace ebpf::cli
