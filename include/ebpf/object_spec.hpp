// ebpfpp: a compiled eBPF object (.bpf.o) described as plain values. Pure: no kernel.
//
// object_spec::parse reads the ELF, its BTF and BTF.ext, the maps (BTF-defined `.maps`, legacy
// `maps`, global data `.data`/`.rodata`/`.bss`/`.data.*`/`.rodata.*`) and the programs with their
// relocations. Nothing is resolved against a kernel yet: link_program() (relocation.hpp) turns a
// program into loadable instructions once map fds are known.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ebpf/btf.hpp>
#include <ebpf/section.hpp>
#include <ebpf/types.hpp>

namespace ebpf {

/// Where a map's definition came from.
enum class map_origin : std::uint8_t {
  btf_maps,     ///< a variable in SEC(".maps"), or in SEC(".struct_ops[.link]") (map_spec::struct_ops)
  legacy_maps,  ///< a struct bpf_map_def in SEC("maps")
  data,         ///< global data: .data, .data.*
  rodata,       ///< read-only global data: .rodata, .rodata.* (frozen after load)
  bss,          ///< zero-initialised global data: .bss
  kconfig,      ///< the values of the object's .kconfig externs (read-only, frozen after load)
};

/// LIBBPF_PIN_* values of a BTF map's `pinning` attribute.
enum class map_pinning : std::uint32_t { none = 0, by_name = 1 };

/// What a variable of SEC(".struct_ops") or SEC(".struct_ops.link") describes: a kernel
/// "ops" struct (e.g. struct tcp_congestion_ops) whose function pointers are the object's
/// struct_ops programs. It becomes a map of type struct_ops (see struct_ops.hpp for the layout).
struct struct_ops_spec {
  /// The struct's name in the object, without a "___flavor" suffix: the kernel struct to find.
  std::string type_name;
  std::uint32_t type_id = 0;  ///< the struct in the object's BTF
  /// The variable's initial bytes, laid out by the object's (local) type.
  std::vector<std::byte> data;
  /// Function pointer members set to programs: local member index -> program name, from the
  /// ELF relocations of the section.
  std::vector<std::pair<std::uint32_t, std::string>> programs;
  /// SEC(".struct_ops.link"): created with BPF_F_LINK, registered through a bpf_link (6.4).
  bool link = false;
};

/// A map described by the object, not yet in the kernel.
struct map_spec {
  std::string name;  ///< as written in the source (".rodata" for global data)
  map_origin origin = map_origin::btf_maps;
  map_type type = map_type::unspec;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t flags = 0;
  std::uint32_t numa_node = 0;
  std::uint64_t map_extra = 0;
  map_pinning pinning = map_pinning::none;
  /// BTF type ids (in the object's BTF) of key and value, 0 when the size was given as a number.
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  /// Human-readable key/value type names from BTF ("__u32", "struct event"), for messages.
  std::string key_type_name;
  std::string value_type_name;
  /// Template of the inner map of an array_of_maps / hash_of_maps.
  std::shared_ptr<const map_spec> inner;
  /// `values` initialisation: slot index -> name of a map (map-in-map) or program (prog_array).
  std::vector<std::pair<std::uint32_t, std::string>> initial_slots;
  /// Initial contents of global data (value_size bytes; empty for .bss).
  std::vector<std::byte> initial_data;
  /// struct_ops maps (type struct_ops, origin btf_maps, section ".struct_ops[.link]") only.
  std::optional<struct_ops_spec> struct_ops;
  /// ELF section the map lives in, and the offset of its definition there.
  std::string section;
  std::uint64_t section_offset = 0;

  bool is_global_data() const noexcept {
    return origin == map_origin::data || origin == map_origin::rodata || origin == map_origin::bss ||
           origin == map_origin::kconfig;
  }
};

/// A global variable in a global-data section, settable before load.
struct global_spec {
  std::string name;
  std::string map;   ///< the global-data map (section name, e.g. ".rodata")
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
  std::uint32_t btf_type_id = 0;  ///< 0 without BTF
  bool is_static = false;
};

/// What an extern declared by the object stands for (the DATASEC clang put it in, and its BTF).
enum class extern_kind : std::uint8_t {
  unknown,        ///< no BTF describes it (object built without -g): only a weak one can link (as 0)
  kconfig,        ///< `extern T CONFIG_X __kconfig;` or a LINUX_* virtual value: .kconfig map data
  ksym_variable,  ///< `extern T sym __ksym;` with a type: a kernel variable found in kernel BTF
  ksym_typeless,  ///< `extern const void sym __ksym;`: an address from /proc/kallsyms
  ksym_function,  ///< `extern int f(...) __ksym;`: a kfunc, found in kernel BTF
};

/// How a .kconfig extern's value is stored (libbpf's rules: find_kcfg_type in src/libbpf.c).
enum class kconfig_value_type : std::uint8_t {
  none,        ///< not a kconfig extern
  boolean,     ///< bool: y/n or 0/1
  tristate,    ///< enum libbpf_tristate: n=0, y=1, m=2
  character,   ///< char / 1-byte int: the y/n/m letter or a number
  integer,     ///< 2-, 4- or 8-byte integer (signed or not)
  char_array,  ///< char[N]: a quoted string, NUL-terminated, truncated to N-1
};

/// An undefined symbol of the object: resolved at load against the running kernel.
struct extern_spec {
  std::string name;            ///< as declared ("bpf_task_acquire___v2" keeps its flavor)
  std::string essential_name;  ///< the name without a "___flavor" suffix
  extern_kind kind = extern_kind::unknown;
  bool weak = false;           ///< __weak: absent from the kernel resolves to 0 instead of failing
  std::uint32_t btf_id = 0;    ///< the VAR or FUNC in the object's BTF (0 for kind unknown)
  /// The VAR's type or the FUNC's prototype, typedefs and modifiers skipped; 0 when typeless.
  std::uint32_t type_id = 0;
  // kconfig only: where the value lives in the .kconfig map and how it is encoded.
  kconfig_value_type value_type = kconfig_value_type::none;
  bool is_signed = false;
  std::uint32_t size = 0;
  std::uint32_t alignment = 0;
  std::uint32_t offset = 0;
};

/// What an instruction refers to, recorded from the ELF relocations.
enum class relocation_kind : std::uint8_t {
  map_fd,         ///< ld_imm64 of a map (BPF_PSEUDO_MAP_FD)
  map_value,      ///< ld_imm64 of an address inside global data (BPF_PSEUDO_MAP_VALUE)
  call,           ///< BPF-to-BPF call of a function (BPF_PSEUDO_CALL)
  function_address,  ///< ld_imm64 of a function, e.g. a bpf_loop callback (BPF_PSEUDO_FUNC)
  extern_symbol,  ///< an undefined symbol: .kconfig variable, __ksym variable or kfunc
};

struct relocation_spec {
  std::uint32_t instruction = 0;  ///< index within the function
  relocation_kind kind = relocation_kind::map_fd;
  std::string symbol;  ///< map name, data map name, or extern name
  /// map_value: byte offset inside the data map. call/function_address: target instruction index
  /// inside `target_section`.
  std::uint64_t target = 0;
  std::uint32_t target_section = 0;  ///< ELF section index of a call / function target
  bool weak = false;                 ///< the symbol is weak (an absent extern resolves to 0)
};

/// A function of an executable section: a program entry point or a subprogram.
struct function_spec {
  std::string name;
  std::uint32_t section_index = 0;  ///< ELF section index
  std::string section;              ///< ELF section name
  std::uint32_t first_instruction = 0;  ///< index in the section
  std::vector<instruction> instructions;
  std::vector<relocation_spec> relocations;  ///< sorted by instruction
  /// BTF.ext records whose instruction falls inside this function, relative to its start.
  std::vector<btf_func_info> func_info;
  std::vector<btf_line_info> line_info;
  std::vector<btf_core_relocation> core_relocations;
  bool global = false;
};

/// A program: an entry function in a program section.
struct program_spec {
  std::string name;
  std::string section;
  section_info kind;           ///< program type, expected attach type, attach target, flags
  std::size_t function = 0;    ///< index into object_spec::functions
  bool autoload = true;        ///< from a leading '?' in the section name; can be changed
};

/// Counts shown by `ebpfpp object inspect`.
struct relocation_counts {
  std::size_t map_fd = 0;
  std::size_t map_value = 0;
  std::size_t call = 0;
  std::size_t function_address = 0;
  std::size_t extern_symbol = 0;
  std::size_t core = 0;
};

/// Everything an object describes, as values.
struct object_spec {
  std::string name;        ///< the file name without directories and extensions ("execsnoop")
  std::string license;     ///< SEC("license")
  std::uint32_t kernel_version = 0;  ///< SEC("version"), 0 when absent
  std::vector<program_spec> programs;
  std::vector<function_spec> functions;  ///< programs' entry functions and subprograms
  std::vector<map_spec> maps;
  std::vector<global_spec> globals;
  /// Externs, in libbpf's order (kconfig before ksyms; kconfig by alignment descending, size
  /// ascending, then name; ksyms by name), so an unresolved weak kfunc call is poisoned with
  /// the same extern index libbpf would use. The .kconfig map (".kconfig") holds the kconfig ones.
  std::vector<extern_spec> externs;
  /// The object's BTF with DATASEC sizes and variable offsets fixed up; absent without .BTF.
  std::optional<btf> types;

  /// Parses an object held in memory. `name` is used in messages and for kernel map names
  /// (pass the file name).
  /// Throws: ebpf::error (errc::invalid_object, invalid_btf, unsupported_section, unknown_symbol,
  /// relocation_failed) naming the object, section and offset.
  static object_spec parse(std::span<const std::byte> elf_bytes, std::string_view name);

  const program_spec* find_program(std::string_view name) const noexcept;
  const map_spec* find_map(std::string_view name) const noexcept;
  const global_spec* find_global(std::string_view name) const noexcept;
  const extern_spec* find_extern(std::string_view name) const noexcept;
  program_spec* find_program(std::string_view name) noexcept;
  map_spec* find_map(std::string_view name) noexcept;

  /// Relocation counts over every function.
  relocation_counts count_relocations() const noexcept;

  /// The kernel's name for a map (BPF_OBJ_NAME_LEN-1 = 15 characters at most): global data maps
  /// are named like libbpf's, "<object prefix><section>" (e.g. "execsno.rodata").
  std::string kernel_map_name(const map_spec& map) const;
};

/// The kernel's name for a program: the first 15 characters of the function name.
std::string kernel_program_name(std::string_view name);

}  // namespace ebpf
