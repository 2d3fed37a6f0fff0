#include <ebpf/error.hpp>
#include <ebpf/relocation.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

namespace ebpf {
namespace {

constexpr std::uint8_t pseudo_map_fd = 1;     // BPF_PSEUDO_MAP_FD
constexpr std::uint8_t pseudo_map_value = 2;  // BPF_PSEUDO_MAP_VALUE
constexpr std::uint8_t pseudo_func = 4;       // BPF_PSEUDO_FUNC
constexpr std::uint8_t pseudo_btf_id = 3;     // BPF_PSEUDO_BTF_ID (ld_imm64 of a kernel variable)
constexpr std::uint8_t pseudo_kfunc_call = 2;  // BPF_PSEUDO_KFUNC_CALL
constexpr std::uint32_t poison_kfunc_base = 2002000000;  // libbpf's POISON_CALL_KFUNC_BASE

std::string subject(const object_spec& object, const program_spec& program) {
  return "object '" + object.name + "': program '" + program.name + "'";
}

// Finds the function of an ELF section that starts at a given instruction. object_spec::parse
// lists functions by section and by offset, so a bisection finds it; a scan of every function per
// call took minutes to link a hostile object with many functions and calls. A hand-made
// object_spec in another order still works: when bisection misses, a scan decides (a miss is an
// error anyway, so the scan costs at most once per link).
class function_starts {
 public:
  explicit function_starts(const object_spec& object) : functions_(object.functions) {}

  // Index into object.functions of the function of `section_index` starting exactly at `insn`.
  std::size_t at(std::uint32_t section_index, std::uint64_t insn, const std::string& where) const {
    const std::pair<std::uint64_t, std::uint64_t> key(section_index, insn);
    auto key_of = [this](std::size_t i) {
      return std::pair<std::uint64_t, std::uint64_t>(functions_[i].section_index, functions_[i].first_instruction);
    };
    // Hand-written rather than std::lower_bound, whose precondition (a sorted range) a hand-made
    // object_spec need not meet.
    std::size_t low = 0, high = functions_.size();
    while (low < high) {
      std::size_t middle = low + (high - low) / 2;
      if (key_of(middle) < key) low = middle + 1;
      else high = middle;
    }
    if (low < functions_.size() && key_of(low) == key) return low;
    for (std::size_t i = 0; i < functions_.size(); ++i)
      if (key_of(i) == key) return i;
    throw_error(errc::relocation_failed, where + ": target instruction " + std::to_string(insn) + " is not the start of a function");
  }

 private:
  const std::vector<function_spec>& functions_;
};

// The relocation of instruction `i`, if any. function_spec::relocations is sorted by instruction
// (object_spec::parse sorts it): a binary search, not a scan per instruction, which was quadratic.
const relocation_spec* relocation_at(const function_spec& function, std::size_t i) {
  auto found = std::lower_bound(function.relocations.begin(), function.relocations.end(), i,
                                [](const relocation_spec& r, std::size_t instruction) { return r.instruction < instruction; });
  return found != function.relocations.end() && found->instruction == i ? &*found : nullptr;
}

// The callee of instruction `i` of `function`, if it is a BPF-to-BPF call or a function address.
std::optional<std::size_t> callee_of(const function_starts& starts, const function_spec& function, std::size_t i,
                                     const std::string& where) {
  const auto& insn = function.instructions[i];
  if (const auto* relocation = relocation_at(function, i)) {
    if (relocation->kind != relocation_kind::call && relocation->kind != relocation_kind::function_address) return std::nullopt;
    return starts.at(relocation->target_section, relocation->target,
                     where + ": function '" + function.name + "', instruction " + std::to_string(i));
  }
  if (insn.code != 0x85 || insn.src() != 1) return std::nullopt;
  // Calls inside one section carry no ELF relocation: clang resolved the offset itself.
  std::int64_t target = static_cast<std::int64_t>(function.first_instruction + i) + insn.imm + 1;
  if (target < 0)
    throw_error(errc::relocation_failed, where + ": function '" + function.name + "', instruction " + std::to_string(i) + ": call before the section start");
  return starts.at(function.section_index, static_cast<std::uint64_t>(target),
                   where + ": function '" + function.name + "', instruction " + std::to_string(i));
}

// The order in which functions are laid out: the entry first, then each callee appended when it
// is first referenced, depth first in instruction order. That is the order libbpf produces
// (bpf_object__reloc_code recurses into a subprogram right after appending it), so the
// instructions, and hence the kernel's program tag, are the same as with libbpf.
std::vector<std::size_t> layout_of(const object_spec& object, const program_spec& program, const function_starts& starts) {
  const std::string where = subject(object, program);
  if (program.function >= object.functions.size())
    throw_error(errc::invalid_argument, where + ": function index out of range");
  std::vector<std::size_t> order{program.function};
  std::vector<bool> placed(object.functions.size(), false);
  placed[program.function] = true;
  struct frame {
    std::size_t function;
    std::size_t next_instruction;
  };
  std::vector<frame> stack{{program.function, 0}};
  while (!stack.empty()) {
    frame& top = stack.back();
    const auto& function = object.functions[top.function];
    if (top.next_instruction >= function.instructions.size()) {
      stack.pop_back();
      continue;
    }
    std::size_t i = top.next_instruction++;
    if (auto callee = callee_of(starts, function, i, where); callee && !placed[*callee]) {
      placed[*callee] = true;
      order.push_back(*callee);
      stack.push_back({*callee, 0});  // invalidates `top`
    }
  }
  return order;
}

// Points instruction `at` (a call or the first half of an ld_imm64) at extern `relocation.symbol`;
// the facts are libbpf's (bpf_object__relocate_data, RELO_EXTERN_LD64 / RELO_EXTERN_CALL).
void link_extern(const object_spec& object, const link_inputs& inputs, const relocation_spec& relocation,
                 std::vector<instruction>& instructions, std::size_t at, const std::string& where) {
  auto& insn = instructions[at];
  const bool is_call = insn.code == 0x85;
  const extern_spec* spec = nullptr;
  std::size_t index = 0;
  for (; index < object.externs.size(); ++index)
    if (object.externs[index].name == relocation.symbol) {
      spec = &object.externs[index];
      break;
    }
  const extern_value* value = spec && index < inputs.externs.size() ? &inputs.externs[index] : nullptr;
  const bool resolved = value && value->resolved;
  const bool weak = spec ? spec->weak : relocation.weak;
  auto set_imm64 = [&](std::uint64_t v) {
    insn.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    instructions[at + 1].imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(v >> 32));
  };

  if (spec && spec->kind == extern_kind::kconfig) {
    if (is_call) throw_error(errc::relocation_failed, where + ": a .kconfig extern cannot be called");
    if (!object.find_map(".kconfig"))
      throw_error(errc::relocation_failed, where + ": the object has no .kconfig map for extern '" + spec->name + "'");
    // Unset weak values are zeros in the map: the reference is the same either way.
    insn.set_src(pseudo_map_value);
    insn.imm = inputs.map_fd(".kconfig");
    instructions[at + 1].imm = static_cast<std::int32_t>(spec->offset);
    return;
  }
  if (!resolved && !weak) {
    std::string why = !spec || spec->kind == extern_kind::unknown
                          ? "no BTF describes it (compile with -g), so it cannot be resolved"
                          : value && !value->unresolved_reason.empty() ? value->unresolved_reason
                                                                        : "not resolved against the kernel (load it with object::load)";
    throw_error(errc::unknown_symbol, where + ": extern '" + relocation.symbol + "': " + why);
  }
  if (is_call) {
    if (!spec || spec->kind != extern_kind::ksym_function)
      throw_error(errc::relocation_failed, where + ": extern '" + relocation.symbol + "' is called but is not a __ksym function");
    if (resolved) {
      insn.set_src(pseudo_kfunc_call);
      insn.imm = static_cast<std::int32_t>(value->btf_id);
      insn.offset = 0;  // fd_array index of module BTF: 0 for vmlinux
    } else {
      // libbpf's poison_kfunc_call: an invalid helper call the verifier rejects only if reachable
      // (a weak kfunc guarded by bpf_ksym_exists() is dead code on kernels without it).
      insn.code = 0x85;
      insn.registers = 0;
      insn.offset = 0;
      insn.imm = static_cast<std::int32_t>(poison_kfunc_base + index);
    }
    return;
  }
  if (insn.code != 0x18) throw_error(errc::relocation_failed, where + ": an extern must be used by ld_imm64 or a call");
  if (resolved && spec && (spec->kind == extern_kind::ksym_variable || spec->kind == extern_kind::ksym_function)) {
    insn.set_src(pseudo_btf_id);
    insn.imm = static_cast<std::int32_t>(value->btf_id);
    instructions[at + 1].imm = value->btf_object_fd;
    return;
  }
  set_imm64(resolved ? value->address : 0);  // typeless ksym, or unresolved weak: 0
}

}  // namespace

std::set<std::string> maps_used_by(const object_spec& object, const program_spec& program) {
  std::set<std::string> used;
  for (std::size_t index : layout_of(object, program, function_starts(object)))
    for (const auto& relocation : object.functions[index].relocations)
      if (relocation.kind == relocation_kind::map_fd || relocation.kind == relocation_kind::map_value) used.insert(relocation.symbol);
  for (const auto& name : externs_used_by(object, program)) {
    const extern_spec* spec = object.find_extern(name);
    if (spec && spec->kind == extern_kind::kconfig) used.insert(".kconfig");
  }
  // Maps referenced only through another map's `values` (map-in-map, prog arrays) are needed too.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& map : object.maps)
      if (used.count(map.name))
        for (const auto& [slot, name] : map.initial_slots)
          if (object.find_map(name) && used.insert(name).second) grew = true;
  }
  return used;
}

std::vector<const core_relocation_result*> core_plan::all() const {
  std::vector<const core_relocation_result*> results;
  for (const auto& function : by_function)
    for (const auto& result : function) results.push_back(&result);
  return results;
}

core_plan plan_core_relocations(const object_spec& object, core_candidate_cache& cache,
                                const std::vector<const program_spec*>& programs) {
  core_plan plan;
  plan.by_function.resize(object.functions.size());
  std::vector<bool> wanted(object.functions.size(), programs.empty());
  if (!programs.empty()) {
    const function_starts starts(object);
    for (const auto* program : programs)
      for (std::size_t index : layout_of(object, *program, starts)) wanted[index] = true;
  }
  if (object.types) {
    // Every local type these relocations ask about, searched in the target in one pass.
    std::vector<std::uint32_t> asked;
    for (std::size_t i = 0; i < object.functions.size(); ++i) {
      if (!wanted[i]) continue;
      for (const auto& record : object.functions[i].core_relocations)
        if (record.kind != core_relocation_kind::type_id_local && record.type_id < object.types->type_count())
          asked.push_back(record.type_id);
    }
    cache.prefetch(*object.types, asked);
  }
  for (std::size_t i = 0; i < object.functions.size(); ++i) {
    const auto& function = object.functions[i];
    if (function.core_relocations.empty() || !wanted[i]) continue;
    const std::string where = "object '" + object.name + "': function '" + function.name + "'";
    if (!object.types) throw_error(errc::invalid_object, where + ": has CO-RE relocations but the object has no BTF");
    auto& results = plan.by_function[i];
    results.reserve(function.core_relocations.size());
    for (const auto& record : function.core_relocations) {
      try {
        results.push_back(compute_core_relocation(*object.types, record, cache.index().target(), cache));
      } catch (const error& e) {
        throw error(e.code(), where + ": " + e.what());
      }
    }
  }
  return plan;
}

std::set<std::string> externs_used_by(const object_spec& object, const program_spec& program) {
  std::set<std::string> used;
  for (std::size_t index : layout_of(object, program, function_starts(object)))
    for (const auto& relocation : object.functions[index].relocations)
      if (relocation.kind == relocation_kind::extern_symbol) used.insert(relocation.symbol);
  return used;
}

linked_program link_program(const object_spec& object, const program_spec& program,
                            const std::function<int(const std::string& map)>& map_fd) {
  link_inputs inputs;
  inputs.map_fd = map_fd;
  return link_program(object, program, inputs);
}

linked_program link_program(const object_spec& object, const program_spec& program, const link_inputs& inputs) {
  const auto& map_fd = inputs.map_fd;
  const std::string where = subject(object, program);
  if (program.function >= object.functions.size())
    throw_error(errc::invalid_argument, where + ": function index out of range");
  const function_starts starts(object);
  std::vector<std::size_t> order = layout_of(object, program, starts);

  linked_program linked;
  std::map<std::size_t, std::size_t> start_of;  // function index -> first instruction in linked
  for (std::size_t index : order) {
    start_of[index] = linked.instructions.size();
    linked.layout.emplace_back(object.functions[index].name, linked.instructions.size());
    const auto& function = object.functions[index];
    linked.instructions.insert(linked.instructions.end(), function.instructions.begin(), function.instructions.end());
  }

  for (std::size_t index : order) {
    const auto& function = object.functions[index];
    const std::size_t base = start_of[index];
    const std::string function_where = where + ": function '" + function.name + "'";
    if (!function.core_relocations.empty()) {
      if (!inputs.core || index >= inputs.core->by_function.size())
        throw_error(errc::unsupported, function_where + ": has " + std::to_string(function.core_relocations.size()) +
                                           " CO-RE relocations and no target BTF was given to resolve them");
      std::span<instruction> code(linked.instructions.data() + base, function.instructions.size());
      for (const auto& result : inputs.core->by_function[index]) {
        try {
          apply_core_relocation(code, result);
        } catch (const error& e) {
          throw error(e.code(), function_where + ": " + e.what());
        }
      }
    }
    for (const auto& record : function.func_info) linked.func_info.push_back({static_cast<std::uint32_t>(record.instruction + base), record.type_id});
    for (auto record : function.line_info) {
      record.instruction += static_cast<std::uint32_t>(base);
      linked.line_info.push_back(record);
    }

    // Same-section calls without relocation: re-aim them at the callee's new position.
    for (std::size_t i = 0; i < function.instructions.size(); ++i) {
      const auto& original = function.instructions[i];
      if (original.code != 0x85 || original.src() != 1) continue;
      if (relocation_at(function, i)) continue;
      std::size_t callee = *callee_of(starts, function, i, where);
      linked.instructions[base + i].imm = static_cast<std::int32_t>(static_cast<std::int64_t>(start_of[callee]) - static_cast<std::int64_t>(base + i + 1));
    }

    for (const auto& relocation : function.relocations) {
      const std::size_t at = base + relocation.instruction;
      auto& insn = linked.instructions[at];
      const std::string reloc_where = function_where + ": instruction " + std::to_string(relocation.instruction) + " ('" + relocation.symbol + "')";
      switch (relocation.kind) {
        case relocation_kind::map_fd:
        case relocation_kind::map_value: {
          if (!object.find_map(relocation.symbol))
            throw_error(errc::relocation_failed, reloc_where + ": refers to map '" + relocation.symbol + "', which the object does not define");
          int fd = map_fd(relocation.symbol);
          insn.set_src(relocation.kind == relocation_kind::map_fd ? pseudo_map_fd : pseudo_map_value);
          insn.imm = fd;
          linked.instructions[at + 1].imm = relocation.kind == relocation_kind::map_fd ? 0 : static_cast<std::int32_t>(relocation.target);
          break;
        }
        case relocation_kind::call:
        case relocation_kind::function_address: {
          std::size_t callee = starts.at(relocation.target_section, relocation.target, reloc_where);
          insn.imm = static_cast<std::int32_t>(static_cast<std::int64_t>(start_of[callee]) - static_cast<std::int64_t>(at + 1));
          if (relocation.kind == relocation_kind::function_address) {
            insn.set_src(pseudo_func);
            linked.instructions[at + 1].imm = 0;
          }
          break;
        }
        case relocation_kind::extern_symbol:
          link_extern(object, inputs, relocation, linked.instructions, at, reloc_where);
          break;
      }
    }
  }
  // std::sort on every field rather than std::stable_sort: clang 19 warns about libstdc++ 12's
  // stable_sort (deprecated get_temporary_buffer), and the kernel wants strictly increasing
  // instructions anyway, so the order of equal ones does not matter beyond being deterministic.
  std::sort(linked.func_info.begin(), linked.func_info.end(), [](const auto& a, const auto& b) {
    return std::tie(a.instruction, a.type_id) < std::tie(b.instruction, b.type_id);
  });
  std::sort(linked.line_info.begin(), linked.line_info.end(), [](const auto& a, const auto& b) {
    return std::tie(a.instruction, a.file_name_offset, a.line_offset, a.line_column) <
           std::tie(b.instruction, b.file_name_offset, b.line_offset, b.line_column);
  });
  return linked;
}

}  // namespace ebpf
