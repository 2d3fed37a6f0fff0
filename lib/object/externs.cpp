// Externs: `extern ... __kconfig` and `extern ... __ksym` declarations of an eBPF object.
//
// clang describes each undefined symbol twice: an ELF symbol (SHN_UNDEF, global or weak,
// STT_NOTYPE) that relocations point at, and a BTF VAR or FUNC with extern linkage listed in one
// of two DATASECs, ".kconfig" or ".ksyms". The facts below are libbpf's (src/libbpf.c,
// bpf_object__collect_externs and find_kcfg_type), which objects are written against:
// - kconfig values live in one read-only array map ".kconfig"; each extern gets an offset there,
//   laid out after sorting by alignment (descending), size (ascending), name;
// - the kernel refuses extern linkage in BTF ("Invalid func linkage", kernel/bpf/btf.c), so
//   before loading, every .kconfig VAR becomes global-allocated at its offset, every .ksyms VAR
//   becomes a global-allocated 4-byte int, and every .ksyms FUNC becomes a global FUNC whose
//   DATASEC entry points at an added VAR "dummy_ksym" (a DATASEC may only list VARs) and whose
//   unnamed parameters borrow that VAR's name (global functions need named parameters).
#include "externs.hpp"

#include <ebpf/error.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

namespace ebpf::detail {
namespace {

constexpr std::uint32_t type_header_size = 12;
constexpr std::uint32_t secinfo_size = 12;
constexpr std::uint32_t param_size = 8;
constexpr std::uint32_t var_linkage_global_allocated = 1;  // BTF_VAR_GLOBAL_ALLOCATED
constexpr std::uint32_t func_linkage_global = 1;           // BTF_FUNC_GLOBAL

std::uint32_t load_u32(const std::byte* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
void store_u32(std::byte* p, std::uint32_t v) noexcept { std::memcpy(p, &v, 4); }

std::string essential_name(std::string_view name) {
  auto flavor = name.find("___");
  return std::string(name.substr(0, flavor));
}

// libbpf's find_kcfg_type: which C types a kconfig value may have.
kconfig_value_type kconfig_type_of(const btf& types, std::uint32_t id, bool& is_signed) {
  is_signed = false;
  const btf_type type = types.type(types.skip_modifiers_and_typedefs(id));
  switch (type.kind) {
    case btf_kind::integer: {
      const auto info = types.integer(type.id);
      if (info.encoding & btf_int_bool) return type.size_or_type == 1 ? kconfig_value_type::boolean : kconfig_value_type::none;
      is_signed = (info.encoding & btf_int_signed) != 0;
      if (type.size_or_type == 1) return kconfig_value_type::character;
      const std::uint32_t size = type.size_or_type;
      if (size != 2 && size != 4 && size != 8) return kconfig_value_type::none;
      return kconfig_value_type::integer;
    }
    case btf_kind::enum_:
      if (type.size_or_type != 4) return kconfig_value_type::none;
      [[fallthrough]];
    case btf_kind::enum64:
      return type.name == "libbpf_tristate" ? kconfig_value_type::tristate : kconfig_value_type::none;
    case btf_kind::array: {
      const auto array = types.array(type.id);
      bool element_signed = false;
      if (array.count == 0 || kconfig_type_of(types, array.element_type, element_signed) != kconfig_value_type::character)
        return kconfig_value_type::none;
      return kconfig_value_type::char_array;
    }
    default:
      return kconfig_value_type::none;
  }
}

// Alignment of the value types kconfig_type_of accepts: integers and enums align to their size
// (at most 8), arrays to their element.
std::uint32_t kconfig_alignment(const btf& types, std::uint32_t id) {
  const btf_type type = types.type(types.skip_modifiers_and_typedefs(id));
  if (type.kind == btf_kind::array) return kconfig_alignment(types, types.array(type.id).element_type);
  return std::min<std::uint32_t>(type.size_or_type, 8);
}

int kind_rank(extern_kind kind) {
  // libbpf sorts by enum extern_type: EXT_UNKNOWN, EXT_KCFG, EXT_KSYM.
  switch (kind) {
    case extern_kind::unknown: return 0;
    case extern_kind::kconfig: return 1;
    default: return 2;
  }
}

// The first 32-bit integer type, which libbpf's fix-ups give the stand-in variables.
std::uint32_t first_int32(const btf& types) {
  for (std::uint32_t id = 1; id < types.type_count(); ++id) {
    const auto type = types.type(id);
    if (type.kind == btf_kind::integer && types.integer(id).bits == 32) return id;
  }
  return 0;
}

struct extern_entry {
  std::uint32_t btf_id = 0;
  std::uint32_t datasec = 0;  // id of .kconfig or .ksyms
};

}  // namespace

extern_layout lay_out_externs(const std::vector<extern_symbol>& symbols, btf* types, const std::string& subject) {
  extern_layout result;
  if (symbols.empty()) return result;
  auto fail = [&](const std::string& name, const std::string& what) {
    throw_error(errc::invalid_object, subject + ": extern '" + name + "': " + what);
  };

  // The externs BTF describes: the variables of the .kconfig and .ksyms DATASECs.
  std::uint32_t kconfig_section = 0, ksyms_section = 0;
  std::map<std::string, extern_entry, std::less<>> described;
  if (types) {
    for (std::uint32_t id = 1; id < types->type_count(); ++id) {
      const auto type = types->type(id);
      if (type.kind != btf_kind::datasec || (type.name != ".kconfig" && type.name != ".ksyms")) continue;
      (type.name == ".kconfig" ? kconfig_section : ksyms_section) = id;
      for (const auto& var : types->datasec_vars(id)) described.emplace(std::string(types->type(var.type).name), extern_entry{var.type, id});
    }
  }

  for (const auto& symbol : symbols) {
    extern_spec spec;
    spec.name = std::string(symbol.name);
    spec.essential_name = essential_name(symbol.name);
    spec.weak = symbol.weak;
    auto found = described.find(symbol.name);
    if (types && found != described.end()) {
      const auto type = types->type(found->second.btf_id);
      const bool is_function = type.kind == btf_kind::function;
      if (is_function ? types->func_linkage(type.id) != 2 : types->var_linkage(type.id) != 2)
        fail(spec.name, "its BTF " + std::string(to_string(type.kind)) + " does not have extern linkage");
      spec.btf_id = type.id;
      if (found->second.datasec == kconfig_section) {
        if (is_function) fail(spec.name, "a function cannot be a .kconfig extern");
        spec.kind = extern_kind::kconfig;
        spec.type_id = types->skip_modifiers_and_typedefs(type.size_or_type);
        spec.value_type = kconfig_type_of(*types, type.size_or_type, spec.is_signed);
        if (spec.value_type == kconfig_value_type::none)
          fail(spec.name, "a .kconfig value must be bool, enum libbpf_tristate, char, a 2/4/8-byte integer or a char array");
        spec.size = static_cast<std::uint32_t>(types->size_of(type.size_or_type));
        spec.alignment = kconfig_alignment(*types, type.size_or_type);
      } else {
        spec.type_id = types->skip_modifiers_and_typedefs(type.size_or_type);
        if (is_function) spec.kind = extern_kind::ksym_function;
        else spec.kind = spec.type_id == 0 ? extern_kind::ksym_typeless : extern_kind::ksym_variable;
      }
    }
    result.externs.push_back(std::move(spec));
  }

  std::sort(result.externs.begin(), result.externs.end(), [](const extern_spec& a, const extern_spec& b) {
    if (kind_rank(a.kind) != kind_rank(b.kind)) return kind_rank(a.kind) < kind_rank(b.kind);
    if (a.kind == extern_kind::kconfig) {
      if (a.alignment != b.alignment) return a.alignment > b.alignment;
      if (a.size != b.size) return a.size < b.size;
    }
    return a.name < b.name;
  });

  // .kconfig layout.
  std::uint32_t kconfig_size = 0;
  for (auto& spec : result.externs) {
    if (spec.kind != extern_kind::kconfig) continue;
    const std::uint32_t alignment = std::max<std::uint32_t>(spec.alignment, 1);
    spec.offset = (kconfig_size + alignment - 1) / alignment * alignment;
    kconfig_size = spec.offset + spec.size;
  }
  if (kconfig_size > 0) {
    map_spec map;
    map.name = ".kconfig";
    map.origin = map_origin::kconfig;
    map.type = map_type::array;
    map.key_size = 4;
    map.value_size = kconfig_size;
    map.max_entries = 1;
    map.flags = (1u << 10) | (1u << 7);  // BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, as .rodata
    map.section = ".kconfig";
    map.initial_data.assign(kconfig_size, std::byte{0});
    map.btf_value_type_id = kconfig_section;
    map.value_type_name = "DATASEC .kconfig";
    result.kconfig_map = std::move(map);
  }
  if (!types) return result;

  auto find_extern = [&](std::string_view name) -> const extern_spec* {
    for (const auto& spec : result.externs)
      if (spec.name == name) return &spec;
    return nullptr;
  };

  // BTF fix-ups (see the top of this file). Appending the dummy variable rebuilds the blob, so it
  // comes first; records are edited in place afterwards.
  if (ksyms_section) {
    const std::uint32_t int32 = first_int32(*types);
    std::uint32_t dummy = 0;
    bool has_function = false;
    for (const auto& var : types->datasec_vars(ksyms_section))
      if (types->type(var.type).kind == btf_kind::function) has_function = true;
    if (has_function) {
      const std::uint32_t name = types->add_string("dummy_ksym");
      std::byte record[type_header_size + 4];
      store_u32(record, name);
      store_u32(record + 4, std::uint32_t{14} << 24);  // BTF_KIND_VAR
      store_u32(record + 8, int32);
      store_u32(record + 12, var_linkage_global_allocated);
      dummy = types->add_type(record);
    }
    const std::uint32_t dummy_name = dummy ? types->name_offset(dummy) : 0;
    const auto vars = types->datasec_vars(ksyms_section);
    std::uint32_t offset = 0;
    for (std::uint32_t i = 0; i < vars.size(); ++i, offset += 4) {
      const auto var_type = types->type(vars[i].type);
      if (!find_extern(var_type.name))
        fail(std::string(var_type.name), "listed in .ksyms but no ELF symbol declares it");
      std::uint32_t entry_type = vars[i].type;
      if (var_type.kind == btf_kind::function) {
        const std::uint32_t proto = var_type.size_or_type;
        if (proto && types->type(proto).kind == btf_kind::function_proto) {
          auto record = types->record(proto);
          const std::uint32_t count = load_u32(record.data() + 4) & 0xffff;
          for (std::uint32_t p = 0; p < count; ++p) {
            std::byte* param = record.data() + type_header_size + p * param_size;
            if (load_u32(param + 4) != 0 && load_u32(param) == 0) store_u32(param, dummy_name);
          }
        }
        auto record = types->record(vars[i].type);
        store_u32(record.data() + 4, (load_u32(record.data() + 4) & ~0xffffu) | func_linkage_global);
        entry_type = dummy;
      } else {
        auto record = types->record(vars[i].type);
        store_u32(record.data() + 8, int32);
        store_u32(record.data() + type_header_size, var_linkage_global_allocated);
      }
      auto section = types->record(ksyms_section);
      std::byte* secinfo = section.data() + type_header_size + i * secinfo_size;
      store_u32(secinfo, entry_type);
      store_u32(secinfo + 4, offset);
      store_u32(secinfo + 8, 4);
    }
    types->set_datasec_size(ksyms_section, offset);
  }
  if (kconfig_section) {
    const auto vars = types->datasec_vars(kconfig_section);
    for (std::uint32_t i = 0; i < vars.size(); ++i) {
      const auto var_type = types->type(vars[i].type);
      const extern_spec* spec = find_extern(var_type.name);
      if (!spec) fail(std::string(var_type.name), "listed in .kconfig but no ELF symbol declares it");
      auto record = types->record(vars[i].type);
      store_u32(record.data() + type_header_size, var_linkage_global_allocated);
      types->set_datasec_var_offset(kconfig_section, i, spec->offset);
    }
    types->set_datasec_size(kconfig_section, kconfig_size);
    types->sort_datasec_vars(kconfig_section);
  }
  return result;
}

}  // namespace ebpf::detail
