// ebpf::object: the live glue from object_spec (pure) to kernel maps and programs (lib/sys).
#include <ebpf/btf_sanitizer.hpp>
#include <ebpf/features.hpp>
#include <ebpf/kernel_btf.hpp>
#include <ebpf/object.hpp>
#include <ebpf/relocation.hpp>
#include <ebpf/struct_ops.hpp>

#include "attach/struct_ops.hpp"
#include "attach/tracing_internal.hpp"
#include "extern_resolver.hpp"
#include "sys/bpf.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

namespace ebpf {
namespace {

constexpr std::uint32_t struct_ops_map_link_flag = 1u << 13;  // BPF_F_LINK on a struct_ops map (6.4)

// A loaded struct_ops map's kernel value, program fds filled in after the programs loaded.
struct struct_ops_value {
  struct_ops_layout layout;
  bool link = false;
  // SEC(".struct_ops.link") on a kernel without struct_ops links (before 6.4): created without
  // BPF_F_LINK and registered by its value (see lib/attach/struct_ops.cpp).
  bool instead_of_link = false;
  std::vector<std::string> missing;  // "program 'p' (member 'm')" not loaded
};

}  // namespace

struct object::kernel_state {
  unique_fd btf_fd;
  std::string btf_error;  // why the object's BTF was not loaded, if it was not
  std::map<std::string, ebpf::map, std::less<>> maps;
  std::map<std::string, ebpf::program, std::less<>> programs;
  std::map<std::string, mapped_region, std::less<>> global_memory;  // data map name -> mapping
  // struct_ops map name -> its kernel value (registered by attach_struct_ops).
  std::map<std::string, struct_ops_value, std::less<>> struct_ops;
};

namespace {

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_errno(errno ? errno : ENOENT, "object '" + path + "': open");
  std::vector<std::byte> bytes;
  in.seekg(0, std::ios::end);
  auto size = in.tellg();
  if (size < 0) throw_errno(EIO, "object '" + path + "': read");
  bytes.resize(static_cast<std::size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  if (!in) throw_errno(EIO, "object '" + path + "': read");
  return bytes;
}

std::string file_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Kernel func_info / line_info records are exactly these structs (struct bpf_func_info,
// struct bpf_line_info in the UAPI), so we hand the kernel our own arrays.
static_assert(sizeof(btf_func_info) == 8);
static_assert(sizeof(btf_line_info) == 16);

}  // namespace

object object::open(const std::string& path) {
  auto bytes = read_file(path);
  return object(object_spec::parse(bytes, file_name(path)));
}

object object::open_memory(std::span<const std::byte> elf_bytes, std::string_view name) {
  return object(object_spec::parse(elf_bytes, name));
}

object::object(object_spec spec) : spec_(std::move(spec)) {}
object::object(object&&) noexcept = default;
object& object::operator=(object&&) noexcept = default;
object::~object() = default;

void object::set_global(std::string_view name, std::span<const std::byte> value) {
  const std::string subject = "object '" + spec_.name + "': global '" + std::string(name) + "'";
  if (loaded_) throw_error(errc::invalid_argument, subject + ": set before load (after load, use write_global)");
  const global_spec* global = spec_.find_global(name);
  if (!global) throw_error(errc::not_found, subject + ": no such global variable in .data, .rodata or .bss");
  if (value.size() != global->size)
    throw_error(errc::type_mismatch, subject + ": value is " + std::to_string(value.size()) + " bytes, the variable is " +
                                         std::to_string(global->size) + " bytes");
  map_spec* map = spec_.find_map(global->map);
  if (map->initial_data.empty()) map->initial_data.resize(map->value_size);  // .bss starts zeroed
  std::copy(value.begin(), value.end(), map->initial_data.begin() + global->offset);
}

void object::set_autoload(std::string_view program, bool autoload) {
  if (loaded_) throw_error(errc::invalid_argument, "object '" + spec_.name + "': program '" + std::string(program) + "': set_autoload after load");
  program_spec* found = spec_.find_program(program);
  if (!found) throw_error(errc::not_found, "object '" + spec_.name + "': program '" + std::string(program) + "': no such program");
  found->autoload = autoload;
}

namespace {

// Map types whose kernel ops refuse a key/value BTF description (map_check_no_btf: -ENOTSUPP,
// kernel/bpf/syscall.c), even when the source declared the key and value with __type: created
// without it, as libbpf does (bpf_object__create_map). Prog arrays refuse it too; libbpf lacks
// them in its list and relies on its retry, which load() also does.
bool refuses_btf(map_type type) {
  switch (type) {
    case map_type::perf_event_array:
    case map_type::cgroup_array:
    case map_type::stack_trace:
    case map_type::array_of_maps:
    case map_type::hash_of_maps:
    case map_type::devmap:
    case map_type::devmap_hash:
    case map_type::cpumap:
    case map_type::xskmap:
    case map_type::sockmap:
    case map_type::sockhash:
    case map_type::queue:
    case map_type::stack:
    case map_type::arena:
      return true;
    default:
      return false;
  }
}

map_create_spec create_spec_of(const object_spec& object, const map_spec& spec, int btf_fd) {
  map_create_spec create;
  create.name = object.kernel_map_name(spec);
  create.type = spec.type;
  create.key_size = spec.key_size;
  create.value_size = spec.value_size;
  create.max_entries = spec.max_entries;
  if (spec.type == map_type::perf_event_array) {
    // Like libbpf: a perf event array defaults to one slot per possible CPU and 4-byte key/value.
    if (create.max_entries == 0) create.max_entries = possible_cpus();
    if (create.key_size == 0) create.key_size = 4;
    if (create.value_size == 0) create.value_size = 4;
  }
  create.flags = spec.flags;
  create.map_extra = spec.map_extra;
  if (spec.numa_node) create.numa_node = spec.numa_node;
  create.key_type_name = spec.key_type_name;
  create.value_type_name = spec.value_type_name;
  if (btf_fd >= 0 && spec.btf_value_type_id && !refuses_btf(spec.type)) {
    create.btf_fd = btf_fd;
    create.btf_key_type_id = spec.btf_key_type_id;
    create.btf_value_type_id = spec.btf_value_type_id;
  }
  if (spec.inner) {
    auto inner = create_spec_of(object, *spec.inner, btf_fd);
    inner.name = spec.name.substr(0, 9) + ".inner";
    create.inner_map = std::make_shared<map_create_spec>(std::move(inner));
  }
  return create;
}

// Maps that need their BTF types in the kernel (local storage; BTF-checked special fields).
bool needs_btf(map_type type) {
  return type == map_type::sk_storage || type == map_type::inode_storage || type == map_type::task_storage ||
         type == map_type::cgrp_storage || type == map_type::struct_ops;
}

// The BTF id in the running kernel of what a tp_btf / fentry / fexit / fmod_ret / lsm / iter
// program attaches to, which BPF_PROG_LOAD wants as attach_btf_id. The naming conventions are
// the kernel's: tp_btf targets are the typedefs btf_trace_<tracepoint>
// (include/trace/bpf_probe.h), LSM hooks the functions bpf_lsm_<hook> (kernel/bpf/bpf_lsm.c),
// iterators the functions bpf_iter_<name> (kernel/bpf/bpf_iter.c).
std::uint32_t attach_btf_id_for(const program_spec& program, const std::string& subject) {
  const auto& kind = program.kind;
  if (kind.attach_target.empty())
    throw_error(errc::invalid_argument, subject + ": section '" + program.section + "' names no attach target (e.g. \"" +
                                            std::string(kind.convention) + "/<target>\")");
  std::string name = kind.attach_target;
  btf_kind wanted = btf_kind::function;
  switch (kind.expected_attach_type.value_or(attach_type::trace_fentry)) {
    case attach_type::trace_raw_tp: name = "btf_trace_" + name; wanted = btf_kind::typedef_; break;
    case attach_type::lsm_mac:
    case attach_type::lsm_cgroup: name = "bpf_lsm_" + name; break;
    case attach_type::trace_iter: name = "bpf_iter_" + name; break;
    default: break;
  }
  const btf& kernel = kernel_btf();
  auto id = kernel.find(name, wanted);
  if (!id)
    throw_error(errc::not_found, subject + ": attach target '" + kind.attach_target + "' is not in the kernel's BTF (looked for " +
                                     std::string(to_string(wanted)) + " '" + name + "')");
  return *id;
}

// The CO-RE result behind instruction `at` of a linked program, if it was poisoned there.
const core_relocation_result* poisoned_core_relocation(const object_spec& spec, const core_plan& plan,
                                                       const linked_program& linked, std::uint32_t at) {
  for (std::size_t i = 0; i < linked.layout.size(); ++i) {
    const auto& [name, start] = linked.layout[i];
    const std::size_t end = i + 1 < linked.layout.size() ? linked.layout[i + 1].second : linked.instructions.size();
    if (at < start || at >= end) continue;
    for (std::size_t f = 0; f < spec.functions.size() && f < plan.by_function.size(); ++f) {
      if (spec.functions[f].name != name) continue;
      for (const auto& result : plan.by_function[f])
        if (result.poisoned && result.instruction == at - start) return &result;
    }
  }
  return nullptr;
}

}  // namespace

void object::load(const load_options& options) {
  const std::string subject = "object '" + spec_.name + "'";
  if (loaded_) throw_error(errc::invalid_argument, subject + ": load: already loaded");
  auto state = std::make_unique<kernel_state>();

  // Which programs, and therefore which maps.
  std::vector<const program_spec*> programs;
  for (const auto& name : options.only) {
    const program_spec* program = spec_.find_program(name);
    if (!program) throw_error(errc::not_found, subject + ": program '" + name + "': no such program");
    programs.push_back(program);
  }
  if (options.only.empty())
    for (const auto& program : spec_.programs)
      if (program.autoload) programs.push_back(&program);
  // struct_ops programs load against the struct_ops map that names them (its kernel struct and
  // member); like libbpf 1.3+, one no map names is not loaded unless asked for by name.
  std::map<std::string, std::vector<std::string>> struct_ops_maps_of;  // program -> maps naming it
  for (const auto& map : spec_.maps)
    if (map.struct_ops)
      for (const auto& [member, name] : map.struct_ops->programs) struct_ops_maps_of[name].push_back(map.name);
  if (options.only.empty())
    std::erase_if(programs, [&](const program_spec* p) { return p->kind.type == program_type::struct_ops && !struct_ops_maps_of.count(p->name); });
  std::set<std::string> wanted_maps;
  for (const auto* program : programs)
    for (const auto& map : struct_ops_maps_of[program->name]) wanted_maps.insert(map);
  if (options.only.empty()) {
    for (const auto& map : spec_.maps) wanted_maps.insert(map.name);
  } else {
    for (const auto* program : programs) {
      auto used = maps_used_by(spec_, *program);
      wanted_maps.insert(used.begin(), used.end());
    }
  }

  // Externs of the programs being loaded (kconfig values, kernel variables, kfuncs). Those of
  // other programs need not exist in this kernel.
  std::set<std::string> wanted_externs;
  for (const auto* program : programs) {
    auto used = externs_used_by(spec_, *program);
    wanted_externs.insert(used.begin(), used.end());
  }
  detail::resolved_externs externs = detail::resolve_externs(spec_, wanted_externs, options.kconfig, subject);

  // CO-RE: every relocation of the programs being loaded, resolved against the running kernel's
  // BTF (or options.target_btf) in one pass, before anything is created in the kernel.
  std::optional<core_plan> core;
  bool has_core = false;
  for (const auto& function : spec_.functions) has_core = has_core || !function.core_relocations.empty();
  if (has_core) {
    std::optional<btf> custom_target;
    std::shared_ptr<const core_target_index> index;
    if (!options.target_btf.empty()) {
      custom_target = read_btf_file(options.target_btf);
      index = std::make_shared<core_target_index>(*custom_target);
    } else {
      index = kernel_core_index();
    }
    core_candidate_cache cache(index);
    try {
      core = plan_core_relocations(spec_, cache, programs);
    } catch (const error& e) {
      throw error(e.code(), std::string(e.what()).rfind("object '", 0) == 0 ? e.what() : subject + ": " + e.what());
    }
  }

  // The object's BTF, so maps and programs carry their types (func_info, line_info, pretty
  // printing). A kernel that rejects it only costs us those extras, except for maps that need it.
  if (spec_.types) {
    try {
      state->btf_fd = sys::btf_load(sanitize_btf_for_kernel(*spec_.types).bytes(), subject + ": BTF");
    } catch (const error& e) {
      state->btf_error = e.what();
    }
  }

  // struct_ops values laid out by the running kernel's types, before any map exists: they give
  // the maps' value sizes and the member programs' attach_btf_id / expected_attach_type.
  struct struct_ops_target {
    std::uint32_t kernel_type_id;
    std::uint32_t member_index;
    std::string map;
  };
  std::map<std::string, struct_ops_target, std::less<>> struct_ops_targets;  // program -> target
  for (const auto& spec : spec_.maps) {
    if (!spec.struct_ops || !wanted_maps.count(spec.name)) continue;
    const std::string map_subject = subject + ": struct_ops '" + spec.name + "'";
    struct_ops_value value;
    value.layout = lay_out_struct_ops(*spec_.types, *spec.struct_ops, kernel_btf(), map_subject);
    value.link = spec.struct_ops->link;
    // An unknown answer (no privileges) keeps BPF_F_LINK: creating the map fails then anyway,
    // with the kernel's own errno.
    if (value.link && probe_feature(kernel_feature::struct_ops_link).state == support::unsupported) {
      value.link = false;
      value.instead_of_link = true;
    }
    for (const auto& slot : value.layout.programs) {
      auto [target, inserted] = struct_ops_targets.try_emplace(slot.program, struct_ops_target{value.layout.kernel_type_id, slot.member_index, spec.name});
      // One program is loaded once: it can serve several maps only as the same member of the
      // same kernel struct (the verifier checked it against exactly that).
      if (!inserted && (target->second.kernel_type_id != value.layout.kernel_type_id || target->second.member_index != slot.member_index))
        throw_error(errc::invalid_object, map_subject + ": program '" + slot.program + "' is member '" + slot.member +
                                              "' here but another member in struct_ops '" + target->second.map + "'");
    }
    state->struct_ops.emplace(spec.name, std::move(value));
  }

  // Maps first: programs refer to their fds.
  for (const auto& spec : spec_.maps) {
    if (!wanted_maps.count(spec.name)) continue;
    const std::string map_subject = subject + ": map '" + spec.name + "'";
    if (needs_btf(spec.type) && !state->btf_fd)
      throw_error(errc::unsupported, map_subject + ": a " + std::string(to_string(spec.type)) + " map needs the object's BTF, which " +
                                         (spec_.types ? "the kernel rejected: " + state->btf_error : std::string("the object lacks (compile with -g)")));
    ebpf::map created;
    std::string pin_path;
    if (spec.pinning == map_pinning::by_name) {
      pin_path = options.pin_root + "/" + spec.name;
      try {
        created = ebpf::map::from_pin(pin_path);
      } catch (const error& e) {
        if (e.code() != std::error_code(ENOENT, std::system_category())) throw;
      }
      if (created.fd() >= 0) {
        // Reuse only a compatible map: same shape as the definition. The message names each
        // property that differs first, then both shapes.
        std::string differences;
        auto differs = [&](const char* property, const std::string& pinned, const std::string& defined) {
          if (pinned == defined) return;
          differences += std::string(differences.empty() ? "" : ", ") + property + " " + pinned + " (the object defines " +
                         defined + ")";
        };
        differs("type", std::string(to_string(created.type())), std::string(to_string(spec.type)));
        differs("key_size", std::to_string(created.key_size()), std::to_string(spec.key_size));
        differs("value_size", std::to_string(created.value_size()), std::to_string(spec.value_size));
        differs("max_entries", std::to_string(created.max_entries()), std::to_string(spec.max_entries));
        differs("flags", std::to_string(created.flags()), std::to_string(spec.flags));
        if (!differences.empty())
          throw_error(errc::type_mismatch, map_subject + ": the map pinned at '" + pin_path + "' differs: " + differences +
                                               "; it is " +
                                               std::string(to_string(created.type())) + " key " + std::to_string(created.key_size()) +
                                               " value " + std::to_string(created.value_size()) + " max_entries " +
                                               std::to_string(created.max_entries()) + " flags " + std::to_string(created.flags()) +
                                               "; the object defines " + std::string(to_string(spec.type)) + " key " +
                                               std::to_string(spec.key_size) + " value " + std::to_string(spec.value_size) +
                                               " max_entries " + std::to_string(spec.max_entries) + " flags " + std::to_string(spec.flags));
        created.set_type_names(spec.key_type_name, spec.value_type_name);
        state->maps.emplace(spec.name, std::move(created));
        continue;
      }
    }
    auto create = create_spec_of(spec_, spec, state->btf_fd.get());
    if (auto ops = state->struct_ops.find(spec.name); ops != state->struct_ops.end()) {
      // The kernel describes the value (btf_vmlinux_value_type_id) but still wants a valid
      // btf_fd (EINVAL with 0, see KERNEL.md): the object's, as libbpf passes.
      create.value_size = static_cast<std::uint32_t>(ops->second.layout.value.size());
      create.btf_vmlinux_value_type_id = ops->second.layout.kernel_value_type_id;
      create.btf_key_type_id = create.btf_value_type_id = 0;
      create.btf_fd = state->btf_fd.get();
      create.value_type_name = "struct bpf_struct_ops_" + spec.struct_ops->type_name;
      if (ops->second.instead_of_link) create.flags &= ~struct_ops_map_link_flag;
    }
    try {
      created = ebpf::map::create(create);
    } catch (const error& e) {
      // Some kernels reject a map's BTF description while accepting the map (EINVAL for a type
      // they cannot check, ENOTSUPP from map_check_no_btf): retry without it, whatever the errno,
      // as libbpf does, unless the map type cannot work without BTF.
      if (create.btf_fd < 0 || needs_btf(spec.type)) {
        throw error(e.code(), subject + ": " + e.what());
      }
      create.btf_fd = -1;
      create.btf_key_type_id = create.btf_value_type_id = 0;
      try {
        created = ebpf::map::create(create);
      } catch (const error& again) {
        throw error(again.code(), subject + ": " + again.what());
      }
    }
    const std::vector<std::byte>& initial = spec.origin == map_origin::kconfig ? externs.kconfig : spec.initial_data;
    if (spec.is_global_data() && !initial.empty()) {
      std::uint32_t zero = 0;
      created.update(std::as_bytes(std::span(&zero, 1)), initial);
    }
    if (spec.origin == map_origin::rodata || spec.origin == map_origin::kconfig) created.freeze();
    if (!pin_path.empty()) created.pin(pin_path);
    state->maps.emplace(spec.name, std::move(created));
  }

  auto map_fd = [&](const std::string& name) -> int {
    auto found = state->maps.find(name);
    if (found == state->maps.end())
      throw_error(errc::not_found, subject + ": map '" + name + "' was not created");
    return found->second.fd();
  };

  // Programs.
  report_.clear();
  for (const auto* program : programs) {
    const std::string program_subject = subject + ": program '" + program->name + "'";
    program_status status;
    status.name = program->name;
    linked_program linked;
    try {
      link_inputs inputs;
      inputs.map_fd = map_fd;
      inputs.externs = externs.values;
      inputs.core = core ? &*core : nullptr;
      linked = link_program(spec_, *program, inputs);
      program_load_spec load;
      load.name = program->name;
      load.type = program->kind.type;
      load.expected_attach_type = program->kind.expected_attach_type;
      // SEC("usdt"): loaded for uprobe_multi when the kernel has those links (6.6), so that
      // attach_usdt attaches every site with one link, as libbpf does (src/libbpf.c
      // libbpf_prepare_prog_load, SEC_USDT). The kernel attaches such a program only through a
      // uprobe_multi link, so an older kernel gets a plain kprobe-type program (a uprobe per site).
      if (program->kind.method == attach_method::usdt && !load.expected_attach_type &&
          probe_feature(kernel_feature::uprobe_multi_link).supported())
        load.expected_attach_type = attach_type::trace_uprobe_multi;
      load.flags = program->kind.program_flags;  // includes BPF_F_SLEEPABLE for ".s" sections
      load.instructions = linked.instructions;
      load.license = spec_.license;
      load.kernel_version = spec_.kernel_version;
      load.subject = program_subject;
      load.log_level = options.log_level;
      if (auto target = options.program_targets.find(program->name); target != options.program_targets.end()) {
        // The target is a function of a loaded BPF program: attach_prog_fd + its BTF id there.
        const std::string function = target->second.function.empty() ? program->kind.attach_target : target->second.function;
        if (function.empty())
          throw_error(errc::invalid_argument, program_subject + ": program_targets names no function and the section names none");
        load.attach_prog_fd = target->second.prog_fd;
        load.attach_btf_id = detail::program_function_btf_id(target->second.prog_fd, function, program_subject);
      } else if (program->kind.needs_btf_attach_target) {
        if (program->kind.type == program_type::ext)
          throw_error(errc::invalid_argument, program_subject + ": a freplace program needs its target program: load_options::program_targets[\"" +
                                                  program->name + "\"] = {target.fd()}");
        load.attach_btf_id = attach_btf_id_for(*program, program_subject);
      }
      if (program->kind.type == program_type::struct_ops) {
        auto target = struct_ops_targets.find(program->name);
        if (target == struct_ops_targets.end())
          throw_error(errc::invalid_argument, program_subject + ": no struct_ops map in SEC(\".struct_ops\") or SEC(\".struct_ops.link\") "
                                                                "sets a member to this program, so there is nothing to load it for");
        // The verifier checks the program as that member of that kernel struct
        // (kernel/bpf/verifier.c check_struct_ops_btf_id).
        load.attach_btf_id = target->second.kernel_type_id;
        load.expected_attach_type = static_cast<attach_type>(target->second.member_index);
      }
      if (state->btf_fd) {
        load.btf_fd = state->btf_fd.get();
        load.func_info = std::as_bytes(std::span(linked.func_info));
        load.func_info_record_size = sizeof(btf_func_info);
        load.line_info = std::as_bytes(std::span(linked.line_info));
        load.line_info_record_size = sizeof(btf_line_info);
      }
      auto loaded = ebpf::program::load(load, options.log_level ? &status.verifier_log : nullptr);
      loaded.set_section(program->kind);
      status.loaded = true;
      state->programs.emplace(program->name, std::move(loaded));
    } catch (const verifier_error& rejected) {
      // A reachable poisoned CO-RE relocation: say which one, and why it could not be resolved.
      verifier_error e = rejected;
      if (core) {
        if (auto poisoned = core_poison_instruction(rejected.log())) {
          if (const auto* result = poisoned_core_relocation(spec_, *core, linked, *poisoned))
            e = verifier_error(rejected.code().value(), program_subject + ": " + describe(*result) + " (" + result->reason + ")",
                               rejected.log());
        }
      }
      if (!options.keep_going) throw e;
      status.error = e.what();
      status.verifier_log = e.log();
    } catch (const error& e) {
      if (!options.keep_going) throw;
      status.error = e.what();
    }
    report_.push_back(std::move(status));
  }

  // struct_ops values get their program fds (registered later, by attach_struct_ops).
  for (auto& [name, value] : state->struct_ops) {
    for (const auto& slot : value.layout.programs) {
      auto found = state->programs.find(slot.program);
      if (found == state->programs.end()) {
        value.missing.push_back("program '" + slot.program + "' (member '" + slot.member + "')");
        continue;
      }
      const std::uint64_t fd = static_cast<std::uint64_t>(found->second.fd());
      std::memcpy(value.layout.value.data() + slot.value_offset, &fd, sizeof fd);
    }
  }

  // `values` of prog arrays and maps of maps, now that both sides exist.
  for (const auto& spec : spec_.maps) {
    auto outer = state->maps.find(spec.name);
    if (outer == state->maps.end() || spec.initial_slots.empty()) continue;
    for (const auto& [slot, target] : spec.initial_slots) {
      int fd = -1;
      if (spec.type == map_type::prog_array) {
        auto found = state->programs.find(target);
        if (found == state->programs.end()) continue;  // not loaded (autoload off or --only)
        fd = found->second.fd();
      } else {
        auto found = state->maps.find(target);
        if (found == state->maps.end()) continue;
        fd = found->second.fd();
      }
      std::uint32_t value = static_cast<std::uint32_t>(fd);
      outer->second.update(std::as_bytes(std::span(&slot, 1)), std::as_bytes(std::span(&value, 1)));
    }
  }

  // Global data lives in memory we can read and write directly (BPF_F_MMAPABLE, 5.5).
  for (const auto& spec : spec_.maps) {
    if (!spec.is_global_data()) continue;
    auto found = state->maps.find(spec.name);
    if (found == state->maps.end()) continue;
    const bool writable = spec.origin != map_origin::rodata && spec.origin != map_origin::kconfig;
    state->global_memory.emplace(spec.name, found->second.mmap(writable));
  }

  kernel_ = std::move(state);
  loaded_ = true;
}

ebpf::map& object::map(std::string_view name) {
  const std::string subject = "object '" + spec_.name + "': map '" + std::string(name) + "'";
  if (!loaded_) throw_error(errc::invalid_argument, subject + ": the object is not loaded yet (call load())");
  auto found = kernel_->maps.find(name);
  if (found == kernel_->maps.end())
    throw_error(errc::not_found, subject + (spec_.find_map(name) ? ": not created (no loaded program uses it)" : ": no such map"));
  return found->second;
}

ebpf::program& object::program(std::string_view name) {
  const std::string subject = "object '" + spec_.name + "': program '" + std::string(name) + "'";
  if (!loaded_) throw_error(errc::invalid_argument, subject + ": the object is not loaded yet (call load())");
  auto found = kernel_->programs.find(name);
  if (found == kernel_->programs.end())
    throw_error(errc::not_found, subject + (spec_.find_program(name) ? ": not loaded" : ": no such program"));
  return found->second;
}

namespace {
const struct_ops_value& loaded_struct_ops(const object_spec& spec, const std::map<std::string, struct_ops_value, std::less<>>* loaded,
                                          std::string_view name, const std::string& subject) {
  if (!loaded) throw_error(errc::invalid_argument, subject + ": the object is not loaded yet (call load())");
  auto found = loaded->find(name);
  if (found == loaded->end()) {
    const map_spec* map = spec.find_map(name);
    throw_error(errc::not_found, subject + (map && map->struct_ops ? ": not created (load_options::only left out its programs)"
                                                                     : ": no such struct_ops variable in SEC(\".struct_ops\") or SEC(\".struct_ops.link\")"));
  }
  if (!found->second.missing.empty()) {
    std::string list;
    for (const auto& missing : found->second.missing) list += (list.empty() ? "" : ", ") + missing;
    throw_error(errc::not_found, subject + ": cannot register: not loaded: " + list);
  }
  return found->second;
}
}  // namespace

link object::attach_struct_ops(std::string_view name) {
  const std::string subject = "object '" + spec_.name + "': struct_ops '" + std::string(name) + "'";
  const auto& value = loaded_struct_ops(spec_, loaded_ ? &kernel_->struct_ops : nullptr, name, subject);
  return detail::attach_struct_ops(map(name).fd(), value.layout.value, value.link, subject, value.instead_of_link);
}

void object::update_struct_ops(ebpf::link& registration, std::string_view name) {
  const std::string subject = "object '" + spec_.name + "': struct_ops '" + std::string(name) + "'";
  const auto& value = loaded_struct_ops(spec_, loaded_ ? &kernel_->struct_ops : nullptr, name, subject);
  if (value.instead_of_link)
    throw_error(errc::unsupported, subject + ": swapping the map of a struct_ops link needs struct_ops links (kernel 6.4); this "
                                             "kernel registers SEC(\".struct_ops.link\") maps by their value: destroy the "
                                             "registration, then attach '" + std::string(name) + "'");
  if (!value.link)
    throw_error(errc::invalid_argument, subject + ": only SEC(\".struct_ops.link\") maps can replace another in a struct_ops link");
  if (!registration.is_kernel_link() || registration.fd() < 0)
    throw_error(errc::invalid_argument, subject + ": the link is not a struct_ops bpf_link (use one from attach_struct_ops)");
  detail::update_struct_ops_link(registration.fd(), map(name).fd(), value.layout.value, subject + ": swap into link");
}


std::vector<std::string> object::map_names() const {
  std::vector<std::string> names;
  if (kernel_)
    for (const auto& [name, map] : kernel_->maps) names.push_back(name);
  return names;
}

std::vector<std::string> object::program_names() const {
  std::vector<std::string> names;
  if (kernel_)
    for (const auto& [name, program] : kernel_->programs) names.push_back(name);
  return names;
}

std::span<std::byte> object::global_data(std::string_view name) {
  return checked_global(name, 0);
}

std::span<std::byte> object::checked_global(std::string_view name, std::size_t size, bool writable) {
  const std::string subject = "object '" + spec_.name + "': global '" + std::string(name) + "'";
  const global_spec* global = spec_.find_global(name);
  if (!global) throw_error(errc::not_found, subject + ": no such global variable in .data, .rodata or .bss");
  if (!loaded_) throw_error(errc::invalid_argument, subject + ": not in the kernel before load (use set_global)");
  if (size && size != global->size)
    throw_error(errc::type_mismatch, subject + ": type is " + std::to_string(size) + " bytes, the variable is " + std::to_string(global->size) + " bytes");
  auto memory = kernel_->global_memory.find(global->map);
  if (memory == kernel_->global_memory.end()) throw_error(errc::not_found, subject + ": its map '" + global->map + "' was not created");
  if (writable && !memory->second.writable())
    throw_error(errc::invalid_argument, subject + ": is in read-only '" + global->map + "' (frozen at load: set it with set_global before load)");
  return memory->second.bytes().subspan(global->offset, global->size);
}

}  // namespace ebpf
