// object_spec::parse: ELF -> programs, functions, maps, globals and relocations.
//
// How clang lays out an eBPF object (the facts libbpf's bpf_object__elf_collect relies on too):
// - every executable section holds one or more functions (STT_FUNC symbols); functions in
//   `.text` are subprograms, functions elsewhere are programs whose section name says their type;
// - `.rel<section>` holds the relocations of a section: R_BPF_64_64 on ld_imm64 instructions that
//   load a map or a global-data address, R_BPF_64_32 on calls of other functions;
// - `.maps` holds BTF-defined maps (one variable each, described by the .maps DATASEC), `maps`
//   the legacy struct bpf_map_def array, `.data`/`.rodata`/`.bss` (and `.data.*`, `.rodata.*`)
//   the global variables, which become single-entry array maps.
#include <ebpf/error.hpp>
#include <ebpf/object_spec.hpp>

#include "elf_reader.hpp"
#include "externs.hpp"

#include <elf.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iterator>
#include <map>
#include <span>
#include <utility>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace ebpf {
namespace {

using detail::elf_reader;
using detail::elf_section;
using detail::elf_symbol;

constexpr std::uint8_t bpf_ld_imm64 = 0x18;  // BPF_LD | BPF_IMM | BPF_DW
constexpr std::uint8_t bpf_call = 0x85;      // BPF_JMP | BPF_CALL
constexpr std::uint8_t bpf_pseudo_call = 1;  // src_reg of a BPF-to-BPF call
constexpr std::uint8_t bpf_pseudo_kfunc_call = 2;
constexpr std::uint32_t r_bpf_64_64 = 1;     // relocation types, see llvm's BPF ELF relocations
constexpr std::uint32_t r_bpf_64_32 = 10;

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::optional<map_origin> data_section_origin(std::string_view name) {
  if (name == ".data" || starts_with(name, ".data.")) return map_origin::data;
  if (name == ".rodata" || starts_with(name, ".rodata.")) return map_origin::rodata;
  if (name == ".bss") return map_origin::bss;
  return std::nullopt;
}

class parser {
  using keyed_maps = std::vector<std::pair<std::uint64_t, std::size_t>>;  // sorted key -> map index

 public:
  parser(std::span<const std::byte> bytes, std::string_view name) : elf_(bytes, name) {
    spec_.name = object_base_name(name);
    // Symbols grouped by section, in symbol table order within a section: one allocation and a
    // sort instead of a hash map of vectors. (Ties broken by index rather than std::stable_sort,
    // whose get_temporary_buffer clang 19 flags as deprecated in libstdc++ 12.)
    symbols_by_section_.reserve(elf_.symbols().size());
    for (const auto& symbol : elf_.symbols()) symbols_by_section_.push_back(&symbol);
    std::sort(symbols_by_section_.begin(), symbols_by_section_.end(), [](const elf_symbol* a, const elf_symbol* b) {
      return a->section_index != b->section_index ? a->section_index < b->section_index : a->index < b->index;
    });
  }

  object_spec run() {
    read_license_and_version();
    read_btf();
    read_functions();
    read_data_sections();
    read_btf_maps();
    read_legacy_maps();
    read_struct_ops();
    read_externs();
    read_btf_ext();
    read_relocations();
    assign_btf_ext();
    read_programs();
    check_struct_ops_programs();
    fix_btf_datasecs();
    return std::move(spec_);
  }

 private:
  static std::string object_base_name(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
    auto dot = path.find('.');
    return std::string(path.substr(0, dot));
  }

  [[noreturn]] void fail(errc code, const std::string& what) const { throw_error(code, elf_.subject() + ": " + what); }

  std::string section_subject(const elf_section& section) const {
    return "section '" + std::string(section.name) + "'";
  }

  void read_license_and_version() {
    if (const auto* section = elf_.find_section("license"); section && !section->data.empty()) {
      const char* text = reinterpret_cast<const char*>(section->data.data());
      spec_.license.assign(text, strnlen(text, section->data.size()));
    }
    if (const auto* section = elf_.find_section("version")) {
      if (section->data.size() != 4) fail(errc::invalid_object, "section 'version': size " + std::to_string(section->data.size()) + " is not 4");
      std::memcpy(&spec_.kernel_version, section->data.data(), 4);
    }
  }

  void read_btf() {
    const auto* section = elf_.find_section(".BTF");
    if (!section) return;
    try {
      spec_.types = btf::parse(section->data);
    } catch (const error& e) {
      throw error(e.code(), elf_.subject() + ": " + e.what());
    }
  }

  // After read_externs: its BTF fix-ups may rebuild the BTF blob (a kfunc extern appends a dummy
  // variable), and .BTF.ext records keep views of the blob's strings (CO-RE access strings).
  void read_btf_ext() {
    const auto* ext = elf_.find_section(".BTF.ext");
    if (!spec_.types || !ext) return;
    try {
      btf_ext_ = parse_btf_ext(ext->data, *spec_.types);
    } catch (const error& e) {
      throw error(e.code(), elf_.subject() + ": " + e.what());
    }
  }

  // ---- functions --------------------------------------------------------------------------

  void read_functions() {
    for (const auto& section : elf_.sections()) {
      if (section.type != SHT_PROGBITS || !(section.flags & SHF_EXECINSTR) || section.size == 0) continue;
      if (section.size % sizeof(instruction) != 0)
        fail(errc::invalid_object, section_subject(section) + ": size " + std::to_string(section.size) + " is not a multiple of 8 (instruction size)");
      // .BTF.ext (and programs) name code sections: a second one of the same name is ambiguous.
      if (!code_sections_.emplace(section.name, section.index).second)
        fail(errc::invalid_object, section_subject(section) + ": a second code section of this name (sections " +
                                       std::to_string(code_sections_[section.name]) + " and " + std::to_string(section.index) + ")");
      std::vector<const elf_symbol*> functions;
      for (const auto* symbol : symbols_in(section.index))
        if (symbol->type == STT_FUNC) functions.push_back(symbol);
      if (functions.empty())
        fail(errc::invalid_object, section_subject(section) + ": holds code but no function symbol");
      std::sort(functions.begin(), functions.end(), [](auto* a, auto* b) { return a->value < b->value; });
      for (std::size_t i = 0; i < functions.size(); ++i) {
        const auto& symbol = *functions[i];
        std::uint64_t end = symbol.size ? symbol.value + symbol.size : section.size;
        if (symbol.value % 8 || symbol.size % 8 || symbol.value >= section.size || end > section.size || end <= symbol.value)
          fail(errc::invalid_object, section_subject(section) + ": function '" + std::string(symbol.name) + "' at offset " +
                                         std::to_string(symbol.value) + " with size " + std::to_string(symbol.size) +
                                         " does not fit the section (" + std::to_string(section.size) + " bytes)");
        if (i + 1 < functions.size() && end > functions[i + 1]->value)
          fail(errc::invalid_object, section_subject(section) + ": function '" + std::string(symbol.name) + "' overlaps '" +
                                         std::string(functions[i + 1]->name) + "'");
        function_spec function;
        function.name = std::string(symbol.name);
        function.section_index = section.index;
        function.section = std::string(section.name);
        function.first_instruction = static_cast<std::uint32_t>(symbol.value / 8);
        function.global = symbol.binding == STB_GLOBAL || symbol.binding == STB_WEAK;
        function.instructions.resize((end - symbol.value) / 8);
        std::memcpy(function.instructions.data(), section.data.data() + symbol.value, end - symbol.value);
        // Sections come in index order and functions by offset (overlaps fail above): the keys
        // arrive sorted and distinct.
        function_starts_.push_back({{section.index, function.first_instruction}, spec_.functions.size()});
        spec_.functions.push_back(std::move(function));
      }
    }
  }

  // Index of the function of `section_index` that contains instruction `insn`, or -1.
  // A lookup in function_starts_ (functions of a section do not overlap): a scan of every function
  // per relocation was quadratic, minutes for a few MB of hostile object.
  std::ptrdiff_t function_at(std::uint32_t section_index, std::uint64_t insn) const {
    auto next = std::upper_bound(function_starts_.begin(), function_starts_.end(), std::pair<std::uint32_t, std::uint64_t>{section_index, insn},
                                 [](const auto& key, const auto& entry) { return key < entry.first; });
    if (next == function_starts_.begin()) return -1;
    const auto& [key, index] = *std::prev(next);
    const auto& f = spec_.functions[index];
    if (key.first != section_index || insn >= f.first_instruction + f.instructions.size()) return -1;
    return static_cast<std::ptrdiff_t>(index);
  }

  // The symbols defined in a section, in symbol table order.
  std::span<const elf_symbol* const> symbols_in(std::uint32_t section_index) const {
    auto first = std::lower_bound(symbols_by_section_.begin(), symbols_by_section_.end(), section_index,
                                  [](const elf_symbol* s, std::uint32_t index) { return s->section_index < index; });
    auto last = std::upper_bound(first, symbols_by_section_.end(), section_index,
                                 [](std::uint32_t index, const elf_symbol* s) { return index < s->section_index; });
    return {first, last};
  }

  // ---- maps -------------------------------------------------------------------------------

  void read_data_sections() {
    for (const auto& section : elf_.sections()) {
      if (section.index == 0 || (section.flags & SHF_EXECINSTR)) continue;
      if (section.type != SHT_PROGBITS && section.type != SHT_NOBITS) continue;
      auto origin = data_section_origin(section.name);
      if (!origin || section.size == 0) continue;
      if (section.size > UINT32_MAX)
        fail(errc::invalid_object, section_subject(section) + ": " + std::to_string(section.size) + " bytes of global data is more than a map value can hold");
      map_spec map;
      map.name = std::string(section.name);
      map.origin = *origin;
      map.type = map_type::array;
      map.key_size = 4;
      map.value_size = static_cast<std::uint32_t>(section.size);
      map.max_entries = 1;
      // BPF_F_MMAPABLE (1U << 10) lets user space read and write globals through mmap;
      // read-only data also gets BPF_F_RDONLY_PROG (1U << 7): programs cannot write it.
      map.flags = 1u << 10;
      if (*origin == map_origin::rodata) map.flags |= 1u << 7;
      map.section = std::string(section.name);
      if (section.type == SHT_PROGBITS) map.initial_data.assign(section.data.begin(), section.data.end());
      if (spec_.types) {
        if (auto datasec = spec_.types->find(section.name, btf_kind::datasec)) {
          map.btf_value_type_id = *datasec;
          map.value_type_name = "DATASEC " + std::string(section.name);
        }
      }
      for (const auto* symbol_in_section : symbols_in(section.index)) {
        const auto& symbol = *symbol_in_section;
        if (symbol.type != STT_OBJECT || symbol.name.empty()) continue;
        if (symbol.value > section.size || symbol.size > section.size - symbol.value)
          fail(errc::invalid_object, section_subject(section) + ": variable '" + std::string(symbol.name) + "' at offset " +
                                         std::to_string(symbol.value) + " does not fit the section");
        global_spec global;
        global.name = std::string(symbol.name);
        global.map = map.name;
        global.offset = static_cast<std::uint32_t>(symbol.value);
        global.size = static_cast<std::uint32_t>(symbol.size);
        global.is_static = symbol.binding == STB_LOCAL;
        if (spec_.types)
          if (auto var = spec_.types->find(symbol.name, btf_kind::variable)) global.btf_type_id = spec_.types->type(*var).size_or_type;
        spec_.globals.push_back(std::move(global));
      }
      data_section_maps_.emplace_back(section.index, spec_.maps.size());
      spec_.maps.push_back(std::move(map));
    }
  }

  // Undefined global symbols (libbpf's sym_is_extern): __kconfig and __ksym declarations.
  void read_externs() {
    std::vector<detail::extern_symbol> symbols;
    for (const auto& symbol : elf_.symbols()) {
      if (symbol.section_index != SHN_UNDEF || symbol.name.empty() || symbol.type != STT_NOTYPE) continue;
      if (symbol.binding != STB_GLOBAL && symbol.binding != STB_WEAK) continue;
      symbols.push_back({symbol.name, symbol.binding == STB_WEAK});
    }
    auto layout = detail::lay_out_externs(symbols, spec_.types ? &*spec_.types : nullptr, elf_.subject());
    spec_.externs = std::move(layout.externs);
    if (layout.kconfig_map) spec_.maps.push_back(std::move(*layout.kconfig_map));
  }

  // `int (*name)[N]` as written by __uint(name, N): pointer to an array of N elements.
  std::uint64_t read_uint_member(const btf& types, const btf_member& member, const std::string& where) const {
    auto pointer = types.type(types.skip_modifiers_and_typedefs(member.type));
    // `__ulong(name, value)` (64-bit attributes such as map_extra) is an anonymous enum whose only
    // enumerator is the value: libbpf's bpf_helpers.h since v1.4.
    if (pointer.kind == btf_kind::enum_ || pointer.kind == btf_kind::enum64) {
      auto values = types.enumerators(pointer.id);
      if (values.size() != 1)
        fail(errc::invalid_object, where + ": attribute '" + std::string(member.name) + "' is not __ulong(name, value) (an enum with one value)");
      return static_cast<std::uint64_t>(values.front().value);
    }
    if (pointer.kind != btf_kind::pointer)
      fail(errc::invalid_object, where + ": attribute '" + std::string(member.name) + "' is not __uint(name, value) (a pointer to an array)");
    auto array = types.type(types.skip_modifiers_and_typedefs(pointer.size_or_type));
    if (array.kind != btf_kind::array)
      fail(errc::invalid_object, where + ": attribute '" + std::string(member.name) + "' is not __uint(name, value) (a pointer to an array)");
    return types.array(array.id).count;
  }

  std::uint32_t read_u32_member(const btf& types, const btf_member& member, const std::string& where) const {
    std::uint64_t value = read_uint_member(types, member, where);
    if (value > UINT32_MAX)
      fail(errc::invalid_object, where + ": attribute '" + std::string(member.name) + "' = " + std::to_string(value) + " does not fit 32 bits");
    return static_cast<std::uint32_t>(value);
  }

  std::string type_name(const btf& types, std::uint32_t id, int depth = 0) const {
    // Hostile BTF can chain pointers/arrays/modifiers into a loop (the kernel rejects those with
    // "Loop detected", kernel/bpf/btf.c); stop instead of recursing forever.
    constexpr int max_depth = 32;
    if (depth > max_depth)
      throw_error(errc::invalid_btf, "BTF: type " + std::to_string(id) + ": more than " + std::to_string(max_depth) +
                                         " levels of pointers, arrays and modifiers (a loop?)");
    auto t = types.type(id);
    std::string name(t.name);
    switch (t.kind) {
      case btf_kind::struct_: return "struct " + (name.empty() ? std::string("(anon)") : name);
      case btf_kind::union_: return "union " + (name.empty() ? std::string("(anon)") : name);
      case btf_kind::enum_:
      case btf_kind::enum64: return "enum " + (name.empty() ? std::string("(anon)") : name);
      case btf_kind::pointer: return type_name(types, t.size_or_type, depth + 1) + " *";
      case btf_kind::array: return type_name(types, types.array(id).element_type, depth + 1) + "[" + std::to_string(types.array(id).count) + "]";
      case btf_kind::const_: return "const " + type_name(types, t.size_or_type, depth + 1);
      case btf_kind::volatile_: return "volatile " + type_name(types, t.size_or_type, depth + 1);
      default: return name.empty() ? std::string(to_string(t.kind)) : name;
    }
  }

  // Parses a BTF map definition struct (the type of a .maps variable or an inner map template).
  map_spec parse_btf_map_definition(const btf& types, std::uint32_t struct_id, const std::string& name, const std::string& where,
                                    std::uint32_t* values_member_offset) const {
    map_spec map;
    map.name = name;
    map.origin = map_origin::btf_maps;
    map.section = ".maps";
    auto definition = types.type(types.skip_modifiers_and_typedefs(struct_id));
    if (definition.kind != btf_kind::struct_)
      fail(errc::invalid_object, where + ": the definition is a " + std::string(to_string(definition.kind)) + ", not a struct");
    for (const auto& member : types.members(definition.id)) {
      if (member.name == "type") map.type = static_cast<map_type>(read_u32_member(types, member, where));
      else if (member.name == "max_entries") map.max_entries = read_u32_member(types, member, where);
      else if (member.name == "map_flags") map.flags = read_u32_member(types, member, where);
      else if (member.name == "numa_node") map.numa_node = read_u32_member(types, member, where);
      else if (member.name == "key_size") map.key_size = read_u32_member(types, member, where);
      else if (member.name == "value_size") map.value_size = read_u32_member(types, member, where);
      else if (member.name == "map_extra") map.map_extra = read_uint_member(types, member, where);
      else if (member.name == "pinning") {
        auto pinning = read_u32_member(types, member, where);
        if (pinning > 1) fail(errc::invalid_object, where + ": pinning " + std::to_string(pinning) + " is not LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1)");
        map.pinning = static_cast<map_pinning>(pinning);
      } else if (member.name == "key" || member.name == "value") {
        auto pointer = types.type(types.skip_modifiers_and_typedefs(member.type));
        if (pointer.kind != btf_kind::pointer)
          fail(errc::invalid_object, where + ": attribute '" + std::string(member.name) + "' is not __type(name, type) (a pointer)");
        std::uint64_t size = types.size_of(pointer.size_or_type);
        if (size > UINT32_MAX) fail(errc::invalid_object, where + ": " + std::string(member.name) + " type is too large");
        bool key = member.name == "key";
        (key ? map.key_size : map.value_size) = static_cast<std::uint32_t>(size);
        (key ? map.btf_key_type_id : map.btf_value_type_id) = pointer.size_or_type;
        (key ? map.key_type_name : map.value_type_name) = type_name(types, pointer.size_or_type);
      } else if (member.name == "values") {
        // __array(values, T): an array (usually of 0 elements) of pointers to T. T is a map
        // definition for map-in-map and a function prototype for prog arrays.
        auto array = types.type(types.skip_modifiers_and_typedefs(member.type));
        if (array.kind != btf_kind::array) fail(errc::invalid_object, where + ": attribute 'values' is not __array(values, type)");
        auto pointer = types.type(types.skip_modifiers_and_typedefs(types.array(array.id).element_type));
        if (pointer.kind != btf_kind::pointer) fail(errc::invalid_object, where + ": attribute 'values' is not an array of pointers");
        auto target = types.type(types.skip_modifiers_and_typedefs(pointer.size_or_type));
        if (target.kind == btf_kind::struct_) {
          // Only one level: the kernel refuses a map-in-map as an inner map ("Does not support
          // >1 level map-in-map", kernel/bpf/map_in_map.c), and a definition that names itself
          // would recurse forever. values_member_offset is null exactly for inner definitions.
          if (!values_member_offset)
            fail(errc::invalid_object, where + ": an inner map cannot hold maps itself (only one level of map-in-map)");
          map.inner = std::make_shared<map_spec>(
              parse_btf_map_definition(types, target.id, name + ".inner", where + ": inner map", nullptr));
        } else if (target.kind != btf_kind::function_proto) {
          fail(errc::invalid_object, where + ": 'values' must point to a map definition or a function prototype");
        }
        if (values_member_offset) *values_member_offset = member.bit_offset / 8;
      }
    }
    if (map.type == map_type::unspec) fail(errc::invalid_object, where + ": map type is missing (__uint(type, ...))");
    bool is_map_in_map = map.type == map_type::array_of_maps || map.type == map_type::hash_of_maps;
    if (is_map_in_map) {
      if (!map.inner) fail(errc::invalid_object, where + ": map-in-map without an inner map definition (__array(values, ...))");
      if (map.value_size == 0) map.value_size = 4;  // the value is an inner map fd (u32)
    }
    if (map.type == map_type::prog_array && map.value_size == 0) map.value_size = 4;
    return map;
  }

  void read_btf_maps() {
    const auto* section = elf_.find_section(".maps");
    if (!section) return;
    if (!spec_.types) fail(errc::invalid_object, "section '.maps': BTF-defined maps need the object's BTF (compile with -g)");
    const btf& types = *spec_.types;
    auto datasec = types.find(".maps", btf_kind::datasec);
    if (!datasec) fail(errc::invalid_object, "section '.maps': no DATASEC '.maps' in BTF");
    maps_section_ = section->index;
    // The symbols of '.maps' sorted by name (ties in symbol table order), looked up by
    // binary search: one allocation where a hash map allocated per symbol.
    auto in_maps = symbols_in(section->index);
    std::vector<const elf_symbol*> by_name(in_maps.begin(), in_maps.end());
    std::sort(by_name.begin(), by_name.end(),
              [](const elf_symbol* a, const elf_symbol* b) { return a->name != b->name ? a->name < b->name : a->index < b->index; });
    // The index in by_name of the last symbol of a name, or npos.
    auto last_named = [&by_name](std::string_view wanted) -> std::size_t {
      auto next = std::upper_bound(by_name.begin(), by_name.end(), wanted,
                                   [](std::string_view n, const elf_symbol* s) { return n < s->name; });
      if (next == by_name.begin() || (*std::prev(next))->name != wanted) return std::string_view::npos;
      return static_cast<std::size_t>(std::prev(next) - by_name.begin());
    };
    // A name defined twice finds the same (last) symbol twice: marking the symbol is the set of
    // names seen.
    std::vector<char> used(by_name.size(), 0);
    // No 'values' member: no slots that .rel.maps may initialise.
    constexpr std::uint32_t no_values = UINT32_MAX;
    std::unordered_map<std::uint32_t, std::pair<map_spec, std::uint32_t>> definitions;  // struct id -> (map, values offset)
    for (const auto& var_info : types.datasec_vars(*datasec)) {
      auto var = types.type(var_info.type);
      if (var.kind != btf_kind::variable) fail(errc::invalid_btf, "section '.maps': DATASEC entry " + std::to_string(var.id) + " is not a variable");
      std::string name(var.name);
      std::string where = "map '" + name + "'";
      const std::size_t found = last_named(name);
      const elf_symbol* symbol = found == std::string_view::npos ? nullptr : by_name[found];
      if (!symbol) fail(errc::invalid_object, where + ": no ELF symbol in section '.maps'");
      if (symbol->value > section->size || symbol->size > section->size - symbol->value)
        fail(errc::invalid_object, where + ": definition at offset " + std::to_string(symbol->value) + " (" +
                                       std::to_string(symbol->size) + " bytes) does not fit section '.maps' (" +
                                       std::to_string(section->size) + " bytes)");
      if (std::exchange(used[found], 1)) fail(errc::invalid_object, where + ": defined twice in section '.maps'");
      // Each definition struct is parsed once: hostile BTF can point thousands of variables at
      // one struct of thousands of members, and parsing it per variable was quadratic.
      auto [cached, first_use] = definitions.try_emplace(var.size_or_type, map_spec{}, no_values);
      if (first_use) {
        try {
          cached->second.first = parse_btf_map_definition(types, var.size_or_type, name, where, &cached->second.second);
        } catch (const error& e) {
          // The btf accessors (size_of, members, ...) name the type, not the object or the map.
          if (starts_with(e.what(), elf_.subject())) throw;
          throw error(e.code(), elf_.subject() + ": " + where + ": " + e.what());
        }
      }
      map_spec map = cached->second.first;
      const std::uint32_t values_offset = cached->second.second;
      map.name = name;
      if (map.inner) {
        auto inner = std::make_shared<map_spec>(*map.inner);
        inner->name = name + ".inner";
        map.inner = std::move(inner);
      }
      map.section_offset = symbol->value;
      map_symbols_.emplace_back(symbol->value, spec_.maps.size());
      if (values_offset != no_values) values_offsets_[symbol->value] = {symbol->value, symbol->size, values_offset, spec_.maps.size()};
      spec_.maps.push_back(std::move(map));
    }
    // Definitions must not share bytes: a relocation in .rel.maps, or an ld_imm64 of a map, must
    // name exactly one map (clang never lays out overlapping variables).
    std::vector<const map_spec*> by_offset;
    for (const auto& map : spec_.maps)
      if (map.origin == map_origin::btf_maps) by_offset.push_back(&map);
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->section_offset < b->section_offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i) {
      const auto& previous = *by_offset[i - 1];
      const auto& symbol = *by_name.at(last_named(previous.name));
      if (previous.section_offset == by_offset[i]->section_offset || previous.section_offset + symbol.size > by_offset[i]->section_offset)
        fail(errc::invalid_object, "map '" + previous.name + "' overlaps map '" + by_offset[i]->name + "' in section '.maps'");
    }
  }

  // SEC(".struct_ops") / SEC(".struct_ops.link"): each variable is an ops struct of the kernel
  // (struct tcp_congestion_ops, ...) and becomes a struct_ops map. As libbpf's
  // init_struct_ops_maps (src/libbpf.c): the DATASEC names the variables, the ELF symbol gives
  // the offset, the variable's struct (modifiers skipped) is the local type; the kernel type is
  // found by its name at load (lay_out_struct_ops), and the function pointers come from the
  // section's relocations (read_struct_ops_relocations).
  void read_struct_ops() {
    // Names taken so far, and per section the symbols by name: hostile objects can hold
    // thousands of variables, and a scan per variable would be quadratic.
    std::unordered_set<std::string> taken;
    for (const auto& map : spec_.maps) taken.insert(map.name);
    for (const auto& section : elf_.sections()) {
      if (section.index == 0 || (section.flags & SHF_EXECINSTR)) continue;
      const bool link = section.name == ".struct_ops.link";
      if (section.name != ".struct_ops" && !link) continue;
      const std::string where_section = "section '" + std::string(section.name) + "'";
      if (!spec_.types) fail(errc::invalid_object, where_section + ": struct_ops maps need the object's BTF (compile with -g)");
      if (section.type != SHT_PROGBITS || section.data.size() != section.size)
        fail(errc::invalid_object, where_section + ": has no data (section type " + std::to_string(section.type) + ")");
      const btf& types = *spec_.types;
      auto datasec = types.find(section.name, btf_kind::datasec);
      if (!datasec) fail(errc::invalid_object, where_section + ": no DATASEC '" + std::string(section.name) + "' in BTF");
      struct_ops_sections_.emplace_back(section.index, 0);
      std::unordered_map<std::string_view, const elf_symbol*> symbols;
      for (const auto* candidate : symbols_in(section.index))
        if (candidate->type != STT_SECTION) symbols[candidate->name] = candidate;
      for (const auto& var_info : types.datasec_vars(*datasec)) {
        auto var = types.type(var_info.type);
        if (var.kind != btf_kind::variable) fail(errc::invalid_btf, where_section + ": DATASEC entry " + std::to_string(var.id) + " is not a variable");
        const std::string name(var.name);
        const std::string where = where_section + ": struct_ops '" + name + "'";
        auto named = symbols.find(var.name);
        const elf_symbol* symbol = named == symbols.end() ? nullptr : named->second;
        if (!symbol) fail(errc::invalid_object, where + ": no ELF symbol in the section");
        auto type = types.type(types.skip_modifiers_and_typedefs(var.size_or_type));
        if (type.kind != btf_kind::struct_)
          fail(errc::invalid_object, where + ": is a " + std::string(to_string(type.kind)) + ", not a struct (e.g. struct tcp_congestion_ops)");
        if (type.name.empty()) fail(errc::invalid_object, where + ": its struct has no name (the kernel struct is found by name)");
        const std::uint64_t size = type.size_or_type;
        if (symbol->value > section.size || size > section.size - symbol->value)
          fail(errc::invalid_object, where + ": " + std::to_string(size) + " bytes at offset " + std::to_string(symbol->value) +
                                         " do not fit the section (" + std::to_string(section.size) + " bytes)");
        if (!taken.insert(name).second) fail(errc::invalid_object, where + ": a map of this name exists already");
        struct_ops_spec ops;
        ops.type_name = std::string(type.name.substr(0, type.name.find("___")));
        ops.type_id = type.id;
        ops.data.assign(section.data.begin() + static_cast<std::ptrdiff_t>(symbol->value),
                        section.data.begin() + static_cast<std::ptrdiff_t>(symbol->value + size));
        ops.link = link;
        map_spec map;
        map.name = name;
        map.origin = map_origin::btf_maps;
        map.type = map_type::struct_ops;
        // Like libbpf: one entry under a 4-byte key; the value size is the kernel's
        // bpf_struct_ops_<name>, known only at load.
        map.key_size = 4;
        map.value_size = static_cast<std::uint32_t>(size);
        map.max_entries = 1;
        map.flags = link ? 1u << 13 : 0;  // BPF_F_LINK (6.4)
        map.value_type_name = "struct " + std::string(type.name);
        map.section = std::string(section.name);
        map.section_offset = symbol->value;
        map.struct_ops = std::move(ops);
        struct_ops_maps_.push_back({section.index, symbol->value, size, spec_.maps.size()});
        spec_.maps.push_back(std::move(map));
      }
    }
    std::sort(struct_ops_sections_.begin(), struct_ops_sections_.end());
    std::sort(struct_ops_maps_.begin(), struct_ops_maps_.end(),
              [](const auto& a, const auto& b) { return std::pair(a.section, a.offset) < std::pair(b.section, b.offset); });
  }

  // `.rel.struct_ops[.link]`: a function pointer member initialised with a program, e.g.
  // `.cong_avoid = (void *)cc_cong_avoid`. libbpf's bpf_object__collect_st_ops_relos: the offset
  // names the variable and its member, the symbol the function (a function symbol, or the section
  // symbol plus the addend stored in the data, since BPF uses REL relocations).
  void read_struct_ops_relocations(const elf_section& rel_section, const elf_section& target) {
    for (const auto& relocation : elf_.relocations(rel_section)) {
      auto where = [&] { return "section '" + std::string(target.name) + "': relocation at offset " + std::to_string(relocation.offset); };
      // The variable starting last at or before the offset (sorted by read_struct_ops).
      const struct_ops_location* owner = nullptr;
      auto next = std::upper_bound(struct_ops_maps_.begin(), struct_ops_maps_.end(), std::pair(target.index, relocation.offset),
                                   [](const auto& key, const auto& entry) { return key < std::pair(entry.section, entry.offset); });
      if (next != struct_ops_maps_.begin()) {
        const auto& location = *std::prev(next);
        if (location.section == target.index && relocation.offset < location.offset + location.size) owner = &location;
      }
      if (!owner) fail(errc::relocation_failed, where() + ": not inside any struct_ops variable");
      auto& map = spec_.maps[owner->map];
      auto& ops = *map.struct_ops;
      const std::uint64_t member_offset = relocation.offset - owner->offset;
      const btf& types = *spec_.types;
      // Members by byte offset, once per struct (a lookup per relocation; the last of an offset
      // wins, as a scan would find it).
      auto [cached, first_use] = struct_ops_members_.try_emplace(ops.type_id);
      if (first_use) {
        cached->second.first = types.members(ops.type_id);
        for (std::uint32_t i = 0; i < cached->second.first.size(); ++i) {
          const auto& member = cached->second.first[i];
          if (member.bitfield_size == 0 && member.bit_offset % 8 == 0) cached->second.second[member.bit_offset / 8] = i;
        }
      }
      const auto& members = cached->second.first;
      std::optional<std::uint32_t> member_index;
      if (auto at = cached->second.second.find(member_offset); at != cached->second.second.end()) member_index = at->second;
      if (!member_index)
        fail(errc::relocation_failed, where() + ": struct_ops '" + map.name + "': no member at byte " + std::to_string(member_offset));
      const std::string member_name(members[*member_index].name);
      auto pointer = types.type(types.skip_modifiers_and_typedefs(members[*member_index].type));
      if (pointer.kind != btf_kind::pointer ||
          types.type(types.skip_modifiers_and_typedefs(pointer.size_or_type)).kind != btf_kind::function_proto)
        fail(errc::relocation_failed, where() + ": struct_ops '" + map.name + "': member '" + member_name + "' is not a function pointer");
      const elf_symbol& symbol = elf_.symbol(relocation.symbol);
      const auto& code = symbol_section(symbol, where);
      if (!(code.flags & SHF_EXECINSTR))
        fail(errc::relocation_failed, where() + ": struct_ops '" + map.name + "': member '" + member_name + "' points to '" +
                                          std::string(symbol.name) + "', which is not a program");
      std::uint64_t byte_offset = symbol.value;
      if (symbol.type == STT_SECTION) {
        std::uint64_t addend = 0;
        std::memcpy(&addend, ops.data.data() + member_offset, std::min<std::size_t>(8, ops.data.size() - member_offset));
        byte_offset += addend;
      }
      auto function = byte_offset % 8 ? -1 : function_at(code.index, byte_offset / 8);
      if (function < 0 || spec_.functions[static_cast<std::size_t>(function)].first_instruction * 8ull != byte_offset)
        fail(errc::relocation_failed, where() + ": struct_ops '" + map.name + "': member '" + member_name + "' does not point to the start of a function");
      const auto& target_function = spec_.functions[static_cast<std::size_t>(function)];
      // The pointer's bytes are the relocation's, not data: the loader puts the program fd there.
      std::memset(ops.data.data() + member_offset, 0, std::min<std::size_t>(8, ops.data.size() - member_offset));
      std::erase_if(ops.programs, [&](const auto& entry) { return entry.first == *member_index; });
      ops.programs.emplace_back(*member_index, target_function.name);
    }
  }

  // A struct_ops member must be a struct_ops program: the kernel checks its attach_btf_id and
  // member index, which only those carry.
  void check_struct_ops_programs() {
    for (auto& map : spec_.maps) {
      if (!map.struct_ops) continue;
      std::sort(map.struct_ops->programs.begin(), map.struct_ops->programs.end());
      for (const auto& [member, name] : map.struct_ops->programs) {
        const auto* program = spec_.find_program(name);
        if (!program || program->kind.type != program_type::struct_ops)
          fail(errc::invalid_object, "struct_ops '" + map.name + "': member " + std::to_string(member) + " points to '" + name +
                                         "', which is not a SEC(\"struct_ops/...\") program");
      }
    }
  }

  void read_legacy_maps() {
    const auto* section = elf_.find_section("maps");
    if (!section) return;
    legacy_maps_section_ = section->index;
    std::vector<const elf_symbol*> symbols;
    for (const auto* s : symbols_in(section->index))
      if ((s->type == STT_OBJECT || s->type == STT_NOTYPE) && !s->name.empty()) symbols.push_back(s);
    if (symbols.empty()) return;
    // SHT_NOBITS and SHT_NULL sections have an sh_size but no bytes in the file: never read them.
    if (section->data.size() != section->size)
      fail(errc::invalid_object, "section 'maps' has no data (section type " + std::to_string(section->type) + ")");
    // struct bpf_map_def { type, key_size, value_size, max_entries, map_flags, [inner_map_idx, numa_node] }
    std::uint64_t definition_size = section->size / symbols.size();
    if (definition_size < 20 || definition_size % 4)
      fail(errc::invalid_object, "section 'maps': " + std::to_string(symbols.size()) + " maps in " + std::to_string(section->size) +
                                     " bytes: each definition must be at least 20 bytes (struct bpf_map_def)");
    for (const auto* symbol : symbols) {
      std::string where = "map '" + std::string(symbol->name) + "'";
      if (symbol->value % 4 || symbol->value > section->size || definition_size > section->size - symbol->value)
        fail(errc::invalid_object, where + ": definition at offset " + std::to_string(symbol->value) + " is outside section 'maps'");
      std::uint32_t fields[7] = {};
      std::memcpy(fields, section->data.data() + symbol->value, std::min<std::uint64_t>(definition_size, sizeof fields));
      map_spec map;
      map.name = std::string(symbol->name);
      map.origin = map_origin::legacy_maps;
      map.type = static_cast<map_type>(fields[0]);
      map.key_size = fields[1];
      map.value_size = fields[2];
      map.max_entries = fields[3];
      map.flags = fields[4];
      if (definition_size >= 28) map.numa_node = fields[6];
      map.section = "maps";
      map.section_offset = symbol->value;
      legacy_map_symbols_.emplace_back(symbol->value, spec_.maps.size());
      spec_.maps.push_back(std::move(map));
    }
  }

  // ---- relocations ------------------------------------------------------------------------

  static const std::size_t* last_with_key(const keyed_maps& sorted, std::uint64_t key) {
    auto next = std::upper_bound(sorted.begin(), sorted.end(), key, [](std::uint64_t k, const auto& entry) { return k < entry.first; });
    if (next == sorted.begin() || std::prev(next)->first != key) return nullptr;
    return &std::prev(next)->second;
  }

  void read_relocations() {
    for (auto* keyed : {&map_symbols_, &legacy_map_symbols_, &data_section_maps_})
      std::sort(keyed->begin(), keyed->end());  // equal keys: by map index, i.e. in the order added
    for (const auto& rel_section : elf_.sections()) {
      if (rel_section.type != SHT_REL) continue;
      if (rel_section.info == 0 || rel_section.info >= elf_.sections().size())
        fail(errc::invalid_object, section_subject(rel_section) + ": target section " + std::to_string(rel_section.info) + " out of range");
      const auto& target = elf_.section(rel_section.info);
      if (target.index == maps_section_) {
        read_map_values_relocations(rel_section);
        continue;
      }
      if (last_with_key(struct_ops_sections_, target.index)) {
        read_struct_ops_relocations(rel_section, target);
        continue;
      }
      // Relocations of debug info and BTF sections concern DWARF/BTF consumers, not the kernel.
      if (!(target.flags & SHF_EXECINSTR)) continue;
      for (const auto& relocation : elf_.relocations(rel_section)) read_instruction_relocation(target, relocation);
    }
    for (auto& function : spec_.functions)
      std::sort(function.relocations.begin(), function.relocations.end(),
                [](const auto& a, const auto& b) { return a.instruction < b.instruction; });
  }

  void read_instruction_relocation(const elf_section& section, const detail::elf_relocation& relocation) {
    // The context of every message below, built only when failing (this runs per relocation).
    const function_spec* located = nullptr;
    const elf_symbol* located_symbol = nullptr;
    std::uint32_t local = 0;
    auto where = [&] {
      std::string text = section_subject(section) + ": relocation at offset " + std::to_string(relocation.offset);
      if (located)
        text += " (instruction " + std::to_string(local) + " of '" + located->name + "', symbol '" + std::string(located_symbol->name) + "')";
      return text;
    };
    if (relocation.offset % 8) fail(errc::relocation_failed, where() + ": not at an instruction boundary");
    std::uint64_t insn_index = relocation.offset / 8;
    auto function_index = function_at(section.index, insn_index);
    if (function_index < 0) fail(errc::relocation_failed, where() + ": not inside any function");
    auto& function = spec_.functions[static_cast<std::size_t>(function_index)];
    local = static_cast<std::uint32_t>(insn_index - function.first_instruction);
    const instruction& insn = function.instructions[local];
    const elf_symbol& symbol = elf_.symbol(relocation.symbol);
    located = &function;
    located_symbol = &symbol;

    relocation_spec result;
    result.instruction = local;
    result.symbol = std::string(symbol.name);
    result.weak = symbol.binding == STB_WEAK;

    bool is_ld_imm64 = insn.code == bpf_ld_imm64;
    bool is_call = insn.code == bpf_call;
    if (is_ld_imm64 && local + 1 >= function.instructions.size())
      fail(errc::relocation_failed, where() + ": ld_imm64 is missing its second half");

    if (symbol.section_index == SHN_UNDEF) {
      if (!is_ld_imm64 && !(is_call && (insn.src() == bpf_pseudo_call || insn.src() == bpf_pseudo_kfunc_call)))
        fail(errc::relocation_failed, where() + ": an extern can only be used by ld_imm64 or a call");
      result.kind = relocation_kind::extern_symbol;
    } else if (is_call) {
      if (insn.src() != bpf_pseudo_call)
        fail(errc::relocation_failed, where() + ": a relocated call must be a BPF-to-BPF call (src_reg 1)");
      if (relocation.type != r_bpf_64_32 && relocation.type != 0)
        fail(errc::relocation_failed, where() + ": relocation type " + std::to_string(relocation.type) + " on a call");
      const auto& target = symbol_section(symbol, where);
      if (!(target.flags & SHF_EXECINSTR)) fail(errc::relocation_failed, where() + ": calls something that is not code");
      if (symbol.value % 8) fail(errc::relocation_failed, where() + ": call target symbol is not instruction-aligned");
      // The callee is symbol + imm + 1 instructions (imm is -1 for a call of a function symbol,
      // the offset - 1 for a call through the section symbol).
      std::int64_t target_insn = static_cast<std::int64_t>(symbol.value / 8) + insn.imm + 1;
      result.kind = relocation_kind::call;
      set_code_target(result, target, target_insn, where);
    } else if (is_ld_imm64) {
      if (relocation.type != r_bpf_64_64 && relocation.type != 0)
        fail(errc::relocation_failed, where() + ": relocation type " + std::to_string(relocation.type) + " on ld_imm64");
      const auto& target = symbol_section(symbol, where);
      if (target.flags & SHF_EXECINSTR) {
        // The address of a function, e.g. a bpf_loop callback: symbol + imm bytes.
        std::int64_t byte_offset = static_cast<std::int64_t>(symbol.value) + insn.imm;
        if (byte_offset % 8) fail(errc::relocation_failed, where() + ": function address is not instruction-aligned");
        result.kind = relocation_kind::function_address;
        set_code_target(result, target, byte_offset / 8, where);
      } else if (target.index == maps_section_ || target.index == legacy_maps_section_) {
        const auto& by_offset = target.index == maps_section_ ? map_symbols_ : legacy_map_symbols_;
        const std::size_t* found = last_with_key(by_offset, symbol.value);
        if (!found) fail(errc::relocation_failed, where() + ": no map is defined at offset " + std::to_string(symbol.value) + " of '" + std::string(target.name) + "'");
        result.kind = relocation_kind::map_fd;
        result.symbol = spec_.maps[*found].name;
      } else if (const std::size_t* data = last_with_key(data_section_maps_, target.index)) {
        // For a section symbol the offset is in imm; for a variable symbol it is the symbol value.
        std::int64_t offset = static_cast<std::int64_t>(symbol.value) + insn.imm;
        const auto& map = spec_.maps[*data];
        if (offset < 0 || static_cast<std::uint64_t>(offset) >= std::max<std::uint64_t>(map.value_size, 1))
          fail(errc::relocation_failed, where() + ": offset " + std::to_string(offset) + " is outside '" + map.name + "'");
        result.kind = relocation_kind::map_value;
        result.symbol = map.name;
        result.target = static_cast<std::uint64_t>(offset);
      } else {
        fail(errc::relocation_failed, where() + ": refers to section '" + std::string(target.name) + "', which is neither code, a map nor global data");
      }
    } else {
      fail(errc::relocation_failed, where() + ": instruction (opcode 0x" + hex(insn.code) + ") cannot be relocated");
    }
    function.relocations.push_back(std::move(result));
  }

  // The section a relocated symbol is defined in. The symbol's value is an offset into it and is
  // added to the instruction's imm below: a value past the end is malformed (and could overflow).
  template <typename Where>
  const elf_section& symbol_section(const elf_symbol& symbol, const Where& where) const {
    const auto& section = elf_.section(symbol.section_index);
    if (symbol.value > section.size)
      fail(errc::relocation_failed, where() + ": symbol value " + std::to_string(symbol.value) + " is outside section '" +
                                        std::string(section.name) + "' (" + std::to_string(section.size) + " bytes)");
    return section;
  }

  static std::string hex(unsigned value) {
    const char* digits = "0123456789abcdef";
    return std::string{digits[(value >> 4) & 15], digits[value & 15]};
  }

  template <typename Where>
  void set_code_target(relocation_spec& result, const elf_section& target, std::int64_t target_insn, const Where& where) {
    if (target_insn < 0 || function_at(target.index, static_cast<std::uint64_t>(target_insn)) < 0)
      fail(errc::relocation_failed, where() + ": target instruction " + std::to_string(target_insn) + " of '" + std::string(target.name) + "' is not inside a function");
    result.target = static_cast<std::uint64_t>(target_insn);
    result.target_section = target.index;
  }

  // `.rel.maps`: pointers in a `values = { [1] = &inner }` initialiser of a map-in-map or prog array.
  void read_map_values_relocations(const elf_section& rel_section) {
    for (const auto& relocation : elf_.relocations(rel_section)) {
      const auto& symbol = elf_.symbol(relocation.symbol);
      auto where = [&] { return "section '.maps': relocation at offset " + std::to_string(relocation.offset); };
      map_spec* owner = nullptr;
      std::uint64_t slot = 0;
      // The definition holding the offset (definitions do not overlap: read_btf_maps checks).
      if (auto next = values_offsets_.upper_bound(relocation.offset); next != values_offsets_.begin()) {
        const auto& layout = std::prev(next)->second;
        std::uint64_t begin = layout.symbol_offset + layout.values_offset;
        if (relocation.offset >= begin && relocation.offset < layout.symbol_offset + layout.symbol_size) {
          owner = &spec_.maps[layout.map];
          if ((relocation.offset - begin) % 8) fail(errc::relocation_failed, where() + ": not aligned to a 'values' slot of map '" + owner->name + "'");
          slot = (relocation.offset - begin) / 8;
        }
      }
      if (!owner) fail(errc::relocation_failed, where() + ": not inside the 'values' of any map");
      if (slot >= owner->max_entries)
        fail(errc::relocation_failed, where() + ": slot " + std::to_string(slot) + " is beyond max_entries of map '" + owner->name + "'");
      bool is_program_array = owner->type == map_type::prog_array;
      if (is_program_array ? symbol.type != STT_FUNC : symbol.section_index != maps_section_)
        fail(errc::relocation_failed, where() + ": map '" + owner->name + "' slot " + std::to_string(slot) + " must refer to " +
                                          (is_program_array ? "a program" : "a map in '.maps'") + ", not '" + std::string(symbol.name) + "'");
      owner->initial_slots.emplace_back(static_cast<std::uint32_t>(slot), std::string(symbol.name));
    }
  }

  // ---- BTF.ext, programs, BTF fix-ups ------------------------------------------------------

  // Each record goes to the function holding its instruction (records outside any function are
  // dropped), looked up per record: a pass over every function per .BTF.ext section was quadratic.
  void assign_btf_ext() {
    auto assign = [this](std::uint32_t section_index, auto record, auto member) {
      auto index = function_at(section_index, record.instruction);
      if (index < 0) return;
      auto& function = spec_.functions[static_cast<std::size_t>(index)];
      record.instruction -= function.first_instruction;
      (function.*member).push_back(record);
    };
    for (const auto& ext : btf_ext_) {
      auto section = code_sections_.find(ext.section);
      if (section == code_sections_.end()) continue;
      for (const auto& record : ext.func_info) assign(section->second, record, &function_spec::func_info);
      for (const auto& record : ext.line_info) assign(section->second, record, &function_spec::line_info);
      for (const auto& record : ext.core_relocations) assign(section->second, record, &function_spec::core_relocations);
    }
  }

  void read_programs() {
    for (std::size_t i = 0; i < spec_.functions.size(); ++i) {
      const auto& function = spec_.functions[i];
      if (function.section == ".text") continue;
      auto kind = classify_section(function.section);
      if (!kind)
        fail(errc::unsupported_section, "section '" + function.section + "': program '" + function.name +
                                            "': unknown section name (see the SEC() conventions: e.g. \"tracepoint/<category>/<name>\", \"xdp\", \"cgroup_skb/ingress\")");
      if (!function.global)
        fail(errc::invalid_object, "section '" + function.section + "': program '" + function.name + "' is static: programs must be global functions");
      program_spec program;
      program.name = function.name;
      program.section = function.section;
      program.autoload = kind->autoload;
      program.kind = std::move(*kind);
      program.function = i;
      spec_.programs.push_back(std::move(program));
    }
  }

  void fix_btf_datasecs() {
    if (!spec_.types) return;
    btf& types = *spec_.types;
    // Sections by name (the first of a name, like find_section) and, per section, the first
    // non-section symbol of each name: scanned when there are few (the common case, where building
    // hash maps cost more than the scans), looked up in maps built once when there are many
    // (hostile objects: a scan per DATASEC and per variable would be quadratic).
    constexpr std::size_t scan_limit = 32;
    const bool scan_sections = elf_.sections().size() <= scan_limit;
    std::unordered_map<std::string_view, const elf_section*> sections_by_name;
    if (!scan_sections)
      for (const auto& section : elf_.sections())
        if (section.index != 0) sections_by_name.emplace(section.name, &section);
    std::unordered_map<std::uint32_t, std::unordered_map<std::string_view, const elf_symbol*>> symbols_by_name;
    for (std::uint32_t id = 1; id < types.type_count(); ++id) {
      auto type = types.type(id);
      if (type.kind != btf_kind::datasec) continue;
      const elf_section* section = nullptr;
      if (scan_sections) {
        section = elf_.find_section(type.name);
      } else if (auto named = sections_by_name.find(type.name); named != sections_by_name.end()) {
        section = named->second;
      }
      if (!section) continue;  // .kconfig and .ksyms describe externs, not ELF sections
      if (section->size > UINT32_MAX)
        fail(errc::invalid_object, section_subject(*section) + ": " + std::to_string(section->size) + " bytes do not fit a BTF DATASEC size");
      types.set_datasec_size(id, static_cast<std::uint32_t>(section->size));
      auto in_section = symbols_in(section->index);
      const std::unordered_map<std::string_view, const elf_symbol*>* by_name = nullptr;
      if (in_section.size() > scan_limit) {
        auto [entry, first_time] = symbols_by_name.try_emplace(section->index);
        if (first_time)
          for (const auto* symbol : in_section)
            if (symbol->type != STT_SECTION) entry->second.emplace(symbol->name, symbol);
        by_name = &entry->second;
      }
      auto vars = types.datasec_vars(id);
      for (std::uint32_t i = 0; i < vars.size(); ++i) {
        auto var = types.type(vars[i].type);
        const elf_symbol* match = nullptr;
        if (by_name) {
          if (auto symbol = by_name->find(var.name); symbol != by_name->end()) match = symbol->second;
        } else {
          for (const auto* symbol : in_section)
            if (symbol->type != STT_SECTION && symbol->name == var.name) {
              match = symbol;
              break;
            }
        }
        if (match) types.set_datasec_var_offset(id, i, static_cast<std::uint32_t>(match->value));
      }
      types.sort_datasec_vars(id);
    }
  }

  struct values_layout {
    std::uint64_t symbol_offset = 0;
    std::uint64_t symbol_size = 0;
    std::uint64_t values_offset = 0;
    std::size_t map = 0;  // index in spec_.maps
  };

  elf_reader elf_;
  object_spec spec_;
  std::vector<btf_ext_section> btf_ext_;
  std::uint32_t maps_section_ = 0;
  std::uint32_t legacy_maps_section_ = 0;
  // Key -> map index, sorted by key (then map index: among equal keys the last one added wins, as with
  // the hash maps these replace) before read_relocations looks them up with last_with_key.
  keyed_maps map_symbols_;         // .maps offset -> map index
  keyed_maps legacy_map_symbols_;  // maps offset -> map index
  keyed_maps data_section_maps_;   // section index -> map index (added in section order)
  std::map<std::uint64_t, values_layout> values_offsets_;
  struct struct_ops_location {
    std::uint32_t section = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::size_t map = 0;  // index in spec_.maps
  };
  std::vector<struct_ops_location> struct_ops_maps_;  // sorted by (section, offset)
  // struct id -> (members, byte offset -> member index), for .struct_ops relocations.
  std::unordered_map<std::uint32_t, std::pair<std::vector<btf_member>, std::unordered_map<std::uint64_t, std::uint32_t>>> struct_ops_members_;
  keyed_maps struct_ops_sections_;  // indexes of .struct_ops[.link] sections (value unused)  // .maps offset of a map with 'values' -> layout
  std::vector<const elf_symbol*> symbols_by_section_;  // sorted by st_shndx (ties in symbol table order)
  std::vector<std::pair<std::pair<std::uint32_t, std::uint64_t>, std::size_t>> function_starts_;  // sorted (section, first insn) -> function
  std::unordered_map<std::string_view, std::uint32_t> code_sections_;  // name -> index of sections with functions
};

}  // namespace

object_spec object_spec::parse(std::span<const std::byte> elf_bytes, std::string_view name) {
  // Every error names the object, including those of the btf accessors (which know only types).
  try {
    return parser(elf_bytes, name).run();
  } catch (const error& e) {
    const std::string subject = "object '" + std::string(name) + "'";
    if (starts_with(e.what(), subject)) throw;
    throw error(e.code(), subject + ": " + e.what());
  }
}

const program_spec* object_spec::find_program(std::string_view name) const noexcept {
  for (const auto& program : programs)
    if (program.name == name) return &program;
  return nullptr;
}
program_spec* object_spec::find_program(std::string_view name) noexcept {
  for (auto& program : programs)
    if (program.name == name) return &program;
  return nullptr;
}
const map_spec* object_spec::find_map(std::string_view name) const noexcept {
  for (const auto& map : maps)
    if (map.name == name) return &map;
  return nullptr;
}
map_spec* object_spec::find_map(std::string_view name) noexcept {
  for (auto& map : maps)
    if (map.name == name) return &map;
  return nullptr;
}
const global_spec* object_spec::find_global(std::string_view name) const noexcept {
  for (const auto& global : globals)
    if (global.name == name) return &global;
  return nullptr;
}

const extern_spec* object_spec::find_extern(std::string_view name) const noexcept {
  for (const auto& spec : externs)
    if (spec.name == name) return &spec;
  return nullptr;
}

relocation_counts object_spec::count_relocations() const noexcept {
  relocation_counts counts;
  for (const auto& function : functions) {
    for (const auto& relocation : function.relocations) {
      switch (relocation.kind) {
        case relocation_kind::map_fd: ++counts.map_fd; break;
        case relocation_kind::map_value: ++counts.map_value; break;
        case relocation_kind::call: ++counts.call; break;
        case relocation_kind::function_address: ++counts.function_address; break;
        case relocation_kind::extern_symbol: ++counts.extern_symbol; break;
      }
    }
    counts.core += function.core_relocations.size();
  }
  return counts;
}

namespace {
// The kernel accepts [A-Za-z0-9_.] in object names (kernel/bpf/syscall.c bpf_obj_name_cpy).
std::string sanitize_kernel_name(std::string name) {
  constexpr std::size_t max_length = 15;  // BPF_OBJ_NAME_LEN - 1
  if (name.size() > max_length) name.resize(max_length);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') c = '_';
  return name;
}
}  // namespace

std::string object_spec::kernel_map_name(const map_spec& map) const {
  if (!map.is_global_data()) return sanitize_kernel_name(map.name);
  // Like libbpf (internal_map_name in src/libbpf.c), prefix the section with as much of the
  // object name as fits, so maps of different objects can be told apart in `bpftool map`; a
  // section with a second dot (".rodata.str1.1") keeps its own name alone.
  std::size_t suffix = std::max<std::size_t>(7, map.name.size());
  if (suffix >= 16) return sanitize_kernel_name(map.name);
  std::size_t prefix = map.name.find('.', 1) != std::string::npos ? 0 : std::min(16 - suffix - 1, name.size());
  return sanitize_kernel_name(name.substr(0, prefix) + map.name);
}

std::string kernel_program_name(std::string_view name) {
  return sanitize_kernel_name(std::string(name));
}

}  // namespace ebpf
