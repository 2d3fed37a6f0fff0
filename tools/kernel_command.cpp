// ebpfpp tool: `prog list`, `map list` and `map dump`: what is in the kernel now.
#include "commands.hpp"
#include "output.hpp"

#include <ebpf/error.hpp>
#include <ebpf/map.hpp>
#include <ebpf/program.hpp>

#include <fmt/core.h>

#include <cerrno>
#include <charconv>
#include <optional>
#include <system_error>

namespace ebpf::cli {
namespace {

// Programs and maps come and go while we enumerate: an id that is gone by the time we open it
// (ENOENT) is simply no longer there.
bool gone(const ebpf::error& e) { return e.code() == std::error_code(ENOENT, std::system_category()); }

// Kernels newer than our enums have types we cannot name: show the number.
template <class Enum>
std::string type_name(Enum type) {
  auto name = ebpf::to_string(type);
  if (name == "unknown") return fmt::format("type {}", static_cast<std::uint32_t>(type));
  return std::string(name);
}

std::string join_ids(const std::vector<std::uint32_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

// Map types whose elements cannot be walked key by key (BPF_MAP_GET_NEXT_KEY gives EINVAL or
// ENOTSUPP): they have no keys, or their contents are not elements at all.
bool has_no_keys(map_type type) {
  switch (type) {
    case map_type::queue:
    case map_type::stack:
    case map_type::bloom_filter:
    case map_type::ringbuf:
    case map_type::user_ringbuf:
    case map_type::arena:
    case map_type::struct_ops:
      return true;
    default:
      return false;
  }
}

// "123" is a map id; anything else is a path in a bpffs.
ebpf::map open_map(const std::string& target) {
  if (!target.empty() && target.find_first_not_of("0123456789") == std::string::npos) {
    std::uint32_t id = 0;
    auto [end, ec] = std::from_chars(target.data(), target.data() + target.size(), id);
    if (ec != std::errc() || end != target.data() + target.size())
      throw_error(errc::invalid_argument, "map id " + target + ": not a valid id (ids are 32-bit)");
    return ebpf::map::from_id(id);
  }
  return ebpf::map::from_pin(target);
}

}  // namespace

int prog_list(bool as_json) {
  json out = json::array();
  table rows({"ID", "TYPE", "NAME", "TAG", "XLATED_LEN", "JITED_LEN", "MAP_IDS", "BTF_ID"});
  for (auto id : program_ids()) {
    program_info info;
    try {
      info = program::from_id(id).info();
    } catch (const ebpf::error& e) {
      if (gone(e)) continue;
      throw;
    }
    if (as_json) {
      out.push_back(json{{"id", info.id},
                         {"type", type_name(info.type)},
                         {"name", info.name},
                         {"tag", info.tag_string()},
                         {"xlated_len", info.xlated_length},
                         {"jited_len", info.jited_length},
                         {"map_ids", info.map_ids},
                         {"btf_id", info.btf_id},
                         {"gpl_compatible", info.gpl_compatible},
                         {"created_by_uid", info.created_by_uid}});
    } else {
      rows.add({std::to_string(info.id), type_name(info.type), info.name.empty() ? "-" : info.name, info.tag_string(),
                std::to_string(info.xlated_length), std::to_string(info.jited_length),
                info.map_ids.empty() ? "-" : join_ids(info.map_ids), info.btf_id ? std::to_string(info.btf_id) : "-"});
    }
  }
  if (as_json)
    print_json(out);
  else
    rows.print();
  return 0;
}

int map_list(bool as_json) {
  json out = json::array();
  table rows({"ID", "TYPE", "NAME", "KEY", "VALUE", "MAX_ENTRIES", "FLAGS", "BTF_ID"});
  for (auto id : map_ids()) {
    std::optional<ebpf::map> map;
    try {
      map = ebpf::map::from_id(id);
    } catch (const ebpf::error& e) {
      if (gone(e)) continue;
      throw;
    }
    const map_info& info = map->info();
    if (as_json) {
      out.push_back(json{{"id", info.id},
                         {"type", type_name(info.type)},
                         {"name", info.name},
                         {"key_size", info.key_size},
                         {"value_size", info.value_size},
                         {"max_entries", info.max_entries},
                         {"flags", info.flags},
                         {"btf_id", info.btf_id}});
    } else {
      rows.add({std::to_string(info.id), type_name(info.type), info.name.empty() ? "-" : info.name, std::to_string(info.key_size),
                std::to_string(info.value_size), std::to_string(info.max_entries), hex_flags(info.flags),
                info.btf_id ? std::to_string(info.btf_id) : "-"});
    }
  }
  if (as_json)
    print_json(out);
  else
    rows.print();
  return 0;
}

int map_dump(const std::string& target, bool as_json) {
  ebpf::map map = open_map(target);
  const std::string subject = fmt::format("map {} '{}'", map.id(), map.name());
  if (has_no_keys(map.type()))
    throw_error(errc::unsupported, subject + ": dump: a " + type_name(map.type()) + " map has no keys to walk");

  const bool per_cpu = is_per_cpu(map.type());
  // Per-CPU values come as one slot per possible CPU, each value_size rounded up to 8 bytes
  // (kernel/bpf/syscall.c, bpf_map_value_size()).
  const std::size_t stride = per_cpu ? (std::size_t{map.value_size()} + 7) / 8 * 8 : map.value_size();
  std::vector<std::byte> value(map.value_buffer_size());
  const std::size_t slots = per_cpu && stride ? value.size() / stride : 1;

  json entries = json::array();
  std::size_t count = 0;
  if (!as_json)
    fmt::print("{} ({}, key {}, value {}, max_entries {}):\n", subject, type_name(map.type()), map.key_size(), map.value_size(),
               map.max_entries());
  for (auto key : map.keys()) {
    std::string error;
    bool found = false;
    try {
      found = map.lookup(key, value);
    } catch (const ebpf::error& e) {
      // Some maps have keys whose values user space cannot read (perf_event_array, sockmap,
      // ...): show the key with the reason instead of giving up on the whole map.
      error = e.what();
    }
    if (!found && error.empty()) continue;  // deleted since get_next_key
    ++count;
    if (as_json) {
      json entry;
      entry["key"] = hex_compact(key);
      if (!error.empty()) {
        entry["error"] = error;
      } else if (per_cpu) {
        entry["values"] = json::array();
        for (std::size_t cpu = 0; cpu < slots; ++cpu)
          entry["values"].push_back(
              json{{"cpu", cpu}, {"value", hex_compact(std::span(value).subspan(cpu * stride, map.value_size()))}});
      } else {
        entry["value"] = hex_compact(value);
      }
      entries.push_back(std::move(entry));
    } else if (!error.empty()) {
      fmt::print("key: {}  error: {}\n", hex_spaced(key), error);
    } else if (per_cpu) {
      fmt::print("key: {}\n", hex_spaced(key));
      for (std::size_t cpu = 0; cpu < slots; ++cpu)
        fmt::print("  cpu {}: {}\n", cpu, hex_spaced(std::span(value).subspan(cpu * stride, map.value_size())));
    } else {
      fmt::print("key: {}  value: {}\n", hex_spaced(key), hex_spaced(value));
    }
  }
  if (as_json) {
    json out;
    out["id"] = map.id();
    out["name"] = map.name();
    out["type"] = type_name(map.type());
    out["key_size"] = map.key_size();
    out["value_size"] = map.value_size();
    out["max_entries"] = map.max_entries();
    out["entries"] = std::move(entries);
    print_json(out);
  } else {
    fmt::print("{} {}\n", count, count == 1 ? "entry" : "entries");
  }
  return 0;
}

}  // namespace ebpf::cli
