// ebpfpp tool: `feature`, `prog show`, `link list`, `btf list` and `map show`: what the kernel can
// do, and what is in it now, object by object.
#include "commands.hpp"
#include "output.hpp"

#include <ebpf/error.hpp>
#include <ebpf/features.hpp>
#include <ebpf/inspect.hpp>

#include <fmt/core.h>

#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace ebpf::cli {
namespace {

// The last program and map type numbers the feature command asks about. Map type 34 is newer
// than our map_type enum (insn_array, 6.19): it is probed by number so that the table shows
// where this kernel ends.
constexpr std::uint32_t last_program_type = static_cast<std::uint32_t>(program_type::netfilter);
constexpr std::uint32_t last_map_type = 34;

// perf_event_attr.type by name, as bpftool prints it (src/perf.c perf_type_name; PERF_TYPE_* in
// <linux/perf_event.h>); a dynamic PMU's number as it is.
json perf_type_name(std::uint32_t type) {
  static constexpr const char* names[] = {"hardware", "software", "tracepoint", "hw-cache", "raw", "breakpoint"};
  if (type < std::size(names)) return names[type];
  return type;
}

std::string program_type_name(std::uint32_t number) {
  auto name = to_string(static_cast<program_type>(number));
  return name == "unknown" ? fmt::format("type {}", number) : std::string(name);
}

std::string map_type_name(std::uint32_t number) {
  if (number == 34) return "insn_array";
  auto name = to_string(static_cast<map_type>(number));
  return name == "unknown" ? fmt::format("type {}", number) : std::string(name);
}

std::string errno_name(int error) {
  switch (error) {
    case 0: return "";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case 524: return "ENOTSUPP";
    default: return fmt::format("errno {}", error);
  }
}

json result_json(const probe_result& result) {
  return json{{"state", std::string(to_string(result.state))},
              {"errno", result.error ? json(result.error) : json()},
              {"error", result.error ? json(errno_name(result.error)) : json()},
              {"detail", string_or_null(result.detail)}};
}

// "supported", "unsupported (EINVAL)", "unknown (EPERM: ...)".
std::string result_text(const probe_result& result) {
  std::string text(to_string(result.state));
  if (result.state == support::supported) return text;
  std::string why = errno_name(result.error);
  if (!result.detail.empty()) why += (why.empty() ? "" : ": ") + result.detail;
  return why.empty() ? text : text + " (" + why + ")";
}

std::string interface_name(std::uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex == 0 || !::if_indextoname(ifindex, name)) return "";
  return name;
}

// The type-specific fields of a link (only those its type has), for JSON and for the text column.
json link_details(const link_info& info) {
  json out = json::object();
  auto attach = [&] {
    if (info.attach) out["attach_type"] = std::string(to_string(*info.attach));
  };
  switch (info.type) {
    case link_type::raw_tracepoint:
      out["tp_name"] = info.tp_name;
      out["cookie"] = info.cookie;
      break;
    case link_type::tracing:
      attach();
      out["target_obj_id"] = info.target_obj_id;
      out["target_btf_id"] = info.target_btf_id;
      out["cookie"] = info.cookie;
      break;
    case link_type::cgroup:
      attach();
      out["cgroup_id"] = info.cgroup_id;
      break;
    case link_type::iter:
      out["target_name"] = info.target_name;
      if (info.map_id) out["map_id"] = info.map_id;
      if (info.target_name == "cgroup") {
        out["cgroup_id"] = info.cgroup_id;
        out["order"] = info.order;
      }
      if (info.pid || info.tid) {
        out["pid"] = info.pid;
        out["tid"] = info.tid;
      }
      break;
    case link_type::netns:
      attach();
      out["netns_ino"] = info.netns_ino;
      break;
    case link_type::xdp:
    case link_type::tcx:
    case link_type::netkit:
      attach();
      out["ifindex"] = info.ifindex;
      out["devname"] = string_or_null(interface_name(info.ifindex));
      break;
    case link_type::perf_event:
      // Before 6.6 the kernel reports no details of a perf_event link (kind unspec): say
      // nothing rather than "unspec", as bpftool does.
      if (info.perf_event != perf_event_kind::unspec) out["event_type"] = std::string(to_string(info.perf_event));
      switch (info.perf_event) {
        case perf_event_kind::uprobe:
        case perf_event_kind::uretprobe:
          out["file"] = info.target_name;
          out["offset"] = info.offset;
          out["ref_ctr_offset"] = info.ref_ctr_offset;
          break;
        case perf_event_kind::kprobe:
        case perf_event_kind::kretprobe:
          out["func"] = info.target_name;
          out["offset"] = info.offset;
          out["addr"] = info.address;
          out["missed"] = info.missed;
          break;
        case perf_event_kind::tracepoint:
          out["tp_name"] = info.target_name;
          break;
        case perf_event_kind::event:
          // bpftool's fields (src/link.c show_perf_event_event_json): the perf type by name
          // and its config; "type" stays the link's type.
          out["event_type"] = perf_type_name(info.event_type);
          out["event_config"] = info.config;
          break;
        default:
          break;
      }
      out["cookie"] = info.cookie;
      break;
    case link_type::kprobe_multi:
      out["retprobe"] = (info.flags & 1) != 0;
      out["func_cnt"] = info.count;
      out["missed"] = info.missed;
      out["addrs"] = info.addresses;
      out["cookies"] = info.cookies;
      break;
    case link_type::uprobe_multi:
      out["path"] = info.target_name;
      out["retprobe"] = (info.flags & 1) != 0;
      out["func_cnt"] = info.count;
      out["pid"] = info.pid;
      out["offsets"] = info.addresses;
      out["cookies"] = info.cookies;
      break;
    case link_type::struct_ops:
      out["map_id"] = info.map_id;
      break;
    case link_type::sockmap:
      attach();
      out["map_id"] = info.map_id;
      break;
    case link_type::netfilter:
      out["pf"] = info.netfilter_pf;
      out["hook"] = info.netfilter_hooknum;
      out["prio"] = info.netfilter_priority;
      out["flags"] = info.flags;
      break;
    default:
      break;
  }
  return out;
}

// "tp_name sys_enter cookie 0": the details as key value pairs, arrays as their size.
std::string details_text(const json& details) {
  std::string out;
  for (const auto& [key, value] : details.items()) {
    if (value.is_null()) continue;
    std::string text;
    if (value.is_string())
      text = value.get<std::string>();
    else if (value.is_array())
      text = fmt::format("[{}]", value.size());
    else
      text = value.dump();
    if (text.empty()) continue;
    out += (out.empty() ? "" : " ") + key + " " + text;
  }
  return out.empty() ? "-" : out;
}

std::string join_ids(const std::vector<std::uint32_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

std::uint32_t parse_id(const std::string& text, std::string_view what) {
  std::uint32_t id = 0;
  bool ok = !text.empty() && text.size() <= 10 && text.find_first_not_of("0123456789") == std::string::npos;
  if (ok) {
    std::uint64_t value = std::stoull(text);
    ok = value <= 0xffffffffu;
    id = static_cast<std::uint32_t>(value);
  }
  if (!ok) throw_error(errc::invalid_argument, std::string(what) + " id '" + text + "': not a valid id (a 32-bit number)");
  return id;
}

std::string type_name_of(program_type type) { return program_type_name(static_cast<std::uint32_t>(type)); }
std::string type_name_of(map_type type) { return map_type_name(static_cast<std::uint32_t>(type)); }

}  // namespace

int feature_probe(const feature_command& command) {
  json out = json::object();

  json program_types = json::array();
  table program_rows({"PROGRAM TYPE", "ANSWER"});
  std::vector<std::pair<std::uint32_t, probe_result>> program_answers;
  for (std::uint32_t number = 1; number <= last_program_type; ++number) {
    probe_result result = probe_program_type(static_cast<program_type>(number));
    json entry{{"name", program_type_name(number)}, {"id", number}};
    entry.update(result_json(result));
    program_types.push_back(std::move(entry));
    program_rows.add({program_type_name(number), result_text(result)});
    program_answers.emplace_back(number, std::move(result));
  }

  json map_types = json::array();
  table map_rows({"MAP TYPE", "ANSWER"});
  for (std::uint32_t number = 1; number <= last_map_type; ++number) {
    probe_result result = probe_map_type(static_cast<map_type>(number));
    json entry{{"name", map_type_name(number)}, {"id", number}};
    entry.update(result_json(result));
    map_types.push_back(std::move(entry));
    map_rows.add({map_type_name(number), result_text(result)});
  }

  json features = json::array();
  table feature_rows({"FEATURE", "ANSWER", "DESCRIPTION"});
  for (kernel_feature feature : all_kernel_features()) {
    probe_result result = probe_feature(feature);
    json entry{{"name", std::string(to_string(feature))}, {"description", std::string(description(feature))}};
    entry.update(result_json(result));
    features.push_back(std::move(entry));
    feature_rows.add({std::string(to_string(feature)), result_text(result), std::string(description(feature))});
  }

  // Helpers per program type, as bpftool does: bpf_trace_printk, bpf_trace_vprintk and
  // bpf_probe_write_user print a warning to the kernel log when a program using them loads, so
  // they are probed only with --full.
  json helpers = json::object();
  std::vector<std::string> helper_lines;
  if (!command.no_helpers) {
    for (const auto& [number, type_answer] : program_answers) {
      json available = json::array();
      std::uint32_t unknown = 0;
      std::string first_unknown;
      for (std::uint32_t id = 1; id < helper_id_limit(); ++id) {
        if (!command.full && (id == 6 || id == 177 || id == 36)) continue;
        probe_result result = probe_helper(static_cast<program_type>(number), id);
        if (result.state == support::supported) available.push_back(std::string(helper_name(id)));
        if (result.state == support::unknown) {
          if (!unknown) first_unknown = result_text(result);
          ++unknown;
        }
      }
      std::string text;
      if (type_answer.state != support::supported) {
        text = "program type " + result_text(type_answer);
      } else if (unknown && available.empty()) {
        text = first_unknown;
      } else {
        for (const auto& name : available) text += (text.empty() ? "" : " ") + name.get<std::string>();
        if (unknown) text += fmt::format(" ({} unknown: {})", unknown, first_unknown);
      }
      helper_lines.push_back(fmt::format("{} ({}): {}", program_type_name(number), available.size(), text));
      helpers[program_type_name(number)] = json{{"program_type", std::string(to_string(type_answer.state))},
                                                {"available", std::move(available)},
                                                {"unknown", unknown}};
    }
  }

  if (command.json) {
    out["program_types"] = std::move(program_types);
    out["map_types"] = std::move(map_types);
    out["kernel_features"] = std::move(features);
    out["helpers"] = command.no_helpers ? json() : std::move(helpers);
    print_json(out);
    return 0;
  }
  program_rows.print();
  fmt::print("\n");
  map_rows.print();
  fmt::print("\n");
  feature_rows.print();
  if (!command.no_helpers) {
    fmt::print("\nHelpers per program type{}:\n", command.full ? "" : " (without bpf_trace_printk, bpf_trace_vprintk, bpf_probe_write_user: see --full)");
    for (const auto& line : helper_lines) fmt::print("  {}\n", line);
  }
  return 0;
}

int prog_show(const std::string& id_text, bool as_json) {
  const std::uint32_t id = parse_id(id_text, "program");
  std::optional<program_info> found = inspect::program_by_id(id);
  if (!found) throw_errno(ENOENT, "program " + std::to_string(id));
  const program_info& info = *found;
  std::vector<std::uint32_t> link_ids;
  for (const link_info& link : inspect::links())
    if (link.prog_id == info.id) link_ids.push_back(link.id);
  const std::optional<bool> sysctl = inspect::program_stats_enabled();
  const std::uint64_t run_ns = static_cast<std::uint64_t>(info.run_time.count());
  const double average = info.run_count ? static_cast<double>(run_ns) / static_cast<double>(info.run_count) : 0.0;

  if (as_json) {
    json out{{"id", info.id},
             {"type", type_name_of(info.type)},
             {"name", info.name},
             {"tag", info.tag_string()},
             {"gpl_compatible", info.gpl_compatible},
             {"loaded_at_ns", static_cast<std::uint64_t>(info.load_time.count())},
             {"created_by_uid", info.created_by_uid},
             {"xlated_len", info.xlated_length},
             {"jited_len", info.jited_length},
             {"verified_insns", info.verified_instructions},
             {"map_ids", info.map_ids},
             {"btf_id", info.btf_id},
             {"attach_btf_obj_id", info.attach_btf_object_id},
             {"attach_btf_id", info.attach_btf_id},
             {"ifindex", info.ifindex},
             {"link_ids", link_ids},
             {"run_cnt", info.run_count},
             {"run_time_ns", run_ns},
             {"recursion_misses", info.recursion_misses},
             {"stats_sysctl", sysctl ? json(*sysctl) : json()}};
    print_json(out);
    return 0;
  }
  fmt::print("{}: {}  name {}  tag {}{}\n", info.id, type_name_of(info.type), info.name.empty() ? "-" : info.name,
             info.tag_string(), info.gpl_compatible ? "  gpl" : "");
  fmt::print("\tloaded_at {:.3f}s after boot  uid {}\n", static_cast<double>(info.load_time.count()) / 1e9, info.created_by_uid);
  fmt::print("\txlated {}B  jited {}B  verified_insns {}", info.xlated_length, info.jited_length, info.verified_instructions);
  if (!info.map_ids.empty()) fmt::print("  map_ids {}", join_ids(info.map_ids));
  if (info.btf_id) fmt::print("  btf_id {}", info.btf_id);
  fmt::print("\n");
  if (info.attach_btf_id) fmt::print("\tattach_btf_obj_id {}  attach_btf_id {}\n", info.attach_btf_object_id, info.attach_btf_id);
  if (!link_ids.empty()) fmt::print("\tlinks {}\n", join_ids(link_ids));
  if (info.run_count || info.run_time.count()) {
    fmt::print("\trun_cnt {}  run_time_ns {}  avg {:.0f}ns  recursion_misses {}\n", info.run_count, run_ns, average,
               info.recursion_misses);
  } else {
    fmt::print("\trun_cnt 0  recursion_misses {}  (statistics {}: sysctl kernel.bpf_stats_enabled=1, or a process "
               "holding BPF_ENABLE_STATS, turns them on)\n",
               info.recursion_misses, sysctl && *sysctl ? "are on but the program has not run" : "may be off");
  }
  return 0;
}

int link_list(bool as_json) {
  json out = json::array();
  table rows({"ID", "TYPE", "PROG_ID", "DETAILS"});
  for (const link_info& info : inspect::links()) {
    json details = link_details(info);
    if (as_json) {
      json entry{{"id", info.id}, {"type", std::string(to_string(info.type))}, {"prog_id", info.prog_id}};
      entry.update(details);
      out.push_back(std::move(entry));
    } else {
      rows.add({std::to_string(info.id), std::string(to_string(info.type)), std::to_string(info.prog_id), details_text(details)});
    }
  }
  if (as_json)
    print_json(out);
  else
    rows.print();
  return 0;
}

int btf_list(bool as_json) {
  // Which programs and maps use each BTF object (as bpftool shows): one walk over both.
  std::vector<program_info> programs = inspect::programs();
  std::vector<map_info> maps = inspect::maps();
  json out = json::array();
  table rows({"ID", "NAME", "SIZE", "KERNEL", "PROG_IDS", "MAP_IDS"});
  for (const btf_object_info& info : inspect::btf_objects()) {
    std::vector<std::uint32_t> prog_ids, map_ids;
    for (const auto& program : programs)
      if (program.btf_id == info.id) prog_ids.push_back(program.id);
    for (const auto& map : maps)
      if (map.btf_id == info.id) map_ids.push_back(map.id);
    if (as_json) {
      out.push_back(json{{"id", info.id},
                         {"size", info.size},
                         {"name", string_or_null(info.name)},
                         {"kernel", info.kernel},
                         {"prog_ids", prog_ids},
                         {"map_ids", map_ids}});
    } else {
      rows.add({std::to_string(info.id), info.name.empty() ? "-" : info.name, std::to_string(info.size),
                info.kernel ? "yes" : "no", prog_ids.empty() ? "-" : join_ids(prog_ids),
                map_ids.empty() ? "-" : join_ids(map_ids)});
    }
  }
  if (as_json)
    print_json(out);
  else
    rows.print();
  return 0;
}

int map_show(const std::string& id_text, bool as_json) {
  const std::uint32_t id = parse_id(id_text, "map");
  std::optional<map_info> found = inspect::map_by_id(id);
  if (!found) throw_errno(ENOENT, "map " + std::to_string(id));
  const map_info& info = *found;
  std::vector<std::uint32_t> prog_ids;
  for (const program_info& program : inspect::programs())
    for (auto map_id : program.map_ids)
      if (map_id == info.id) prog_ids.push_back(program.id);
  if (as_json) {
    print_json(json{{"id", info.id},
                    {"type", type_name_of(info.type)},
                    {"name", info.name},
                    {"key_size", info.key_size},
                    {"value_size", info.value_size},
                    {"max_entries", info.max_entries},
                    {"flags", info.flags},
                    {"btf_id", info.btf_id},
                    {"btf_key_type_id", info.btf_key_type_id},
                    {"btf_value_type_id", info.btf_value_type_id},
                    {"btf_vmlinux_value_type_id", info.btf_vmlinux_value_type_id},
                    {"map_extra", info.map_extra},
                    {"ifindex", info.ifindex},
                    {"prog_ids", prog_ids}});
    return 0;
  }
  fmt::print("{}: {}  name {}  flags {}\n", info.id, type_name_of(info.type), info.name.empty() ? "-" : info.name,
             hex_flags(info.flags));
  fmt::print("\tkey {}B  value {}B  max_entries {}", info.key_size, info.value_size, info.max_entries);
  if (info.map_extra) fmt::print("  map_extra {}", hex_flags(info.map_extra));
  fmt::print("\n");
  if (info.btf_id)
    fmt::print("\tbtf_id {}  key_type_id {}  value_type_id {}\n", info.btf_id, info.btf_key_type_id, info.btf_value_type_id);
  if (info.btf_vmlinux_value_type_id) fmt::print("\tbtf_vmlinux_value_type_id {}\n", info.btf_vmlinux_value_type_id);
  if (!prog_ids.empty()) fmt::print("\tused by programs {}\n", join_ids(prog_ids));
  return 0;
}

}  // namespace ebpf::cli
