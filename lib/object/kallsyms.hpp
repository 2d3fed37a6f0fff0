// ebpfpp internal (pure): the kernel's symbol table as text (/proc/kallsyms, tracefs
// available_filter_functions) and the name resolution kprobes need. No kernel: the live code
// (lib/attach/kprobe.cpp) reads the files and passes their text in, so everything here is
// unit-tested over strings (tests/unit/kallsyms_test.cpp).
//
// Why kprobes need resolution at all: the kernel's kprobe takes a symbol name and looks it up
// exactly, but the compiler renames what it clones or specialises. A static `foo` whose arguments
// GCC rewrote shows up in kallsyms only as "foo.isra.0" (interprocedural SRA), one specialised for
// a constant argument as "foo.constprop.0", an outlined part as "foo.part.0", and clang's ThinLTO
// promotes statics to "foo.llvm.<hash>". Users write "foo"; we find the clone. Syscalls are
// reached through an arch wrapper since 4.17 ("__x64_sys_getpid" on x86-64, commit d5a00528b58c
// "syscalls/core, syscalls/x86: Rename struct pt_regs-based sys_*() to __x64_sys_*()"), which is
// what libbpf's SEC("ksyscall/<name>") resolves to as well.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "glob.hpp"  // glob_match, for match_functions patterns

namespace ebpf::detail {

/// One line of /proc/kallsyms: "ffffffff81000000 T _stext" or "... t foo\t[module]".
struct kallsyms_entry {
  std::uint64_t address = 0;
  char type = '?';      ///< nm-style: 'T'/'t' text, 'W'/'w' weak, 'D'/'d' data, ...
  std::string name;
  std::string module;   ///< without brackets; empty for vmlinux
  /// A function: text ('t'/'T') or weak ('w'/'W') symbol outside the "[bpf]" pseudo-module
  /// (JITed BPF programs and trampolines, which cannot be probed).
  bool is_function() const noexcept;
};

/// How resolve_function() found a kernel function.
enum class resolution_status {
  exact,      ///< the name itself is a function in kallsyms
  clone,      ///< only one compiler clone exists ("foo.isra.0" for "foo"): `name` is that clone
  ambiguous,  ///< several clones and no exact name: `candidates` lists them
  not_found,  ///< neither the name nor a clone of it
};

struct function_resolution {
  resolution_status status = resolution_status::not_found;
  std::string name;            ///< the symbol to give the kernel (exact or clone)
  std::uint64_t address = 0;   ///< its address (0 when kallsyms hides addresses)
  std::vector<std::string> candidates;  ///< for ambiguous
};

/// A symbol that contains an address: the function and the offset into it.
struct symbolized_address {
  std::string name;
  std::string module;
  std::uint64_t offset = 0;
};

/// The parsed symbol table, indexed by name and by address.
class kernel_symbols {
 public:
  /// Parses /proc/kallsyms text. Malformed lines are skipped (the file is the kernel's own, but
  /// a truncated read must not throw). Pure. Throws: only std::bad_alloc.
  static kernel_symbols parse(std::string_view kallsyms_text);
  /// Parses only the lines whose symbol name `keep` accepts (the name is looked at before
  /// anything is allocated): resolving one kprobe name this way costs a scan of the text, not
  /// an index of 100,000+ symbols. Throws: only std::bad_alloc (and what `keep` throws).
  static kernel_symbols parse(std::string_view kallsyms_text,
                              const std::function<bool(std::string_view name)>& keep);

  const std::vector<kallsyms_entry>& entries() const noexcept { return entries_; }
  bool empty() const noexcept { return entries_.empty(); }
  /// Whether kallsyms gave real addresses (as root with kptr_restrict < 2); all zero otherwise.
  bool has_addresses() const noexcept { return has_addresses_; }

  /// The function entries named exactly `name` (a static name can appear more than once).
  std::vector<const kallsyms_entry*> functions_named(std::string_view name) const;

  /// Resolves a function name for a kprobe: the exact name if kallsyms has it, else its unique
  /// compiler clone: "<name>" followed by one or more of ".isra.N", ".constprop.N", ".part.N",
  /// ".llvm.N", ".lto_priv.N" (".cold" parts are never candidates: they are not entry points).
  function_resolution resolve_function(std::string_view name) const;

  /// The function containing `address` and the offset into it; nullopt without addresses or
  /// when the address is below every symbol.
  std::optional<symbolized_address> symbolize(std::uint64_t address) const;

  /// The syscall entry function for `syscall` ("getpid"): "<arch_prefix>sys_<syscall>" when the
  /// kernel has that wrapper, else "sys_<syscall>" (kernels before 4.17, or arches without
  /// wrappers), else nullopt. `arch_prefix` comes from syscall_wrapper_prefix().
  std::optional<std::string> syscall_function(std::string_view syscall,
                                              std::string_view arch_prefix) const;

  /// The distinct function names matching glob `pattern` ('*' any run, '?' one character),
  /// sorted, for kprobe_multi. Module functions are included with their plain name.
  std::vector<std::string> match_functions(std::string_view pattern) const;

  /// The functions matching glob `pattern` that ftrace (and so kprobe_multi) can attach to, one
  /// name per address, sorted by name. `traceable` is what parse_filter_functions() made of
  /// available_filter_functions. That file names each traceable address once, by the name
  /// kallsyms_lookup() gives it, so an alias at the same address is absent from it although the
  /// kernel attaches to it as well (it resolves names with kallsyms_lookup_name): on x86-64 the
  /// syscall entry "__x64_sys_getpid" is an alias of "__do_sys_getpid"
  /// (arch/x86/include/asm/syscall_wrapper.h, __SYS_STUB0), and Debian's 6.1 and 6.12 list only
  /// the latter. So a name counts when it is listed, or when this table (which must hold the
  /// listed names too: parse with a `keep` that accepts them) has addresses and its address is
  /// that of a listed name. Of several matching names at one address (aliases) only the first
  /// is kept: the kernel would attach to that address once anyway.
  std::vector<std::string> match_traceable_functions(std::string_view pattern,
                                                     const std::vector<std::string>& traceable) const;

 private:
  std::vector<kallsyms_entry> entries_;
  std::vector<std::uint32_t> by_name_;     // indices into entries_, sorted by name
  std::vector<std::uint32_t> by_address_;  // function indices, sorted by address
  bool has_addresses_ = false;
};

/// Whether `name` is `base` plus compiler clone suffixes (see resolve_function).
bool is_clone_of(std::string_view name, std::string_view base) noexcept;

/// The names in tracefs available_filter_functions text ("name" or "name [module]" per line;
/// also the "address name [module]" lines of available_filter_functions_addrs, 6.5): the
/// functions ftrace (and so kprobe_multi, fentry) can attach to. Sorted and deduplicated.
std::vector<std::string> parse_filter_functions(std::string_view text);

/// The arch prefix of syscall wrappers for a uname machine string: "__x64_" for "x86_64",
/// "__arm64_" for "aarch64", "__s390x_", "__riscv_", "__powerpc64_", "__loongarch64_"..., or
/// empty when the arch has none we know (then syscall_function falls back to "sys_<name>").
/// The names follow libbpf's arch_specific_syscall_pfx().
std::string syscall_wrapper_prefix(std::string_view machine);

}  // namespace ebpf::detail
