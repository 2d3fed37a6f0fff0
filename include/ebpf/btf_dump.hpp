// ebpfpp: BTF written out as text. Pure: no kernel.
//
// write_c_header() turns BTF into a C header that compiles: for /sys/kernel/btf/vmlinux this is
// the vmlinux.h an eBPF program includes to see every kernel type (what
// `bpftool btf dump file /sys/kernel/btf/vmlinux format c` prints). write_raw_dump() prints every
// type record the way `bpftool btf dump file FILE` (format raw) does.
#pragma once

#include <ebpf/btf.hpp>

#include <cstddef>
#include <iosfwd>
#include <string>

namespace ebpf {

/// What write_c_header() puts around the type definitions.
struct c_dump_options {
  /// The include guard macro; empty for none. bpftool's is __VMLINUX_H__, which ebpfpp/bpf.h
  /// and libbpf's headers test for to skip the UAPI definitions vmlinux.h already has.
  std::string guard = "__VMLINUX_H__";
  /// Apply __attribute__((preserve_access_index)) to every struct and union with
  /// `#pragma clang attribute push` (so field accesses get CO-RE relocations), unless the
  /// including program defines BPF_NO_PRESERVE_ACCESS_INDEX.
  bool preserve_access_index = true;
  /// Declare every kfunc (a FUNC with the decl tag "bpf_kfunc") as
  /// `extern <prototype> __weak __ksym;`, sorted by name, unless the including program defines
  /// BPF_NO_KFUNC_PROTOTYPES (newer bpftool does the same).
  bool kfunc_prototypes = true;
  /// The largest header to write, in bytes. The kernel's is about 3 MiB; BTF that would need
  /// more than this (a struct of gigabytes is all padding lines, an anonymous struct is printed
  /// at every use, nested uses multiply) is refused instead of exhausting memory.
  std::size_t max_size = std::size_t{256} << 20;
};

/// Writes every type of `types` as C: forward declarations where a struct or union is only
/// used through a pointer before its definition, full definitions before by-value uses,
/// anonymous structs, unions and enums inline, bitfields, explicit padding (`long: 64;`) and
/// __attribute__((packed)) where the natural C layout would differ from BTF's offsets and size,
/// names made unique with a ___N suffix where different types share one (libbpf's btf_dump
/// rules, so the output matches bpftool's). Type tags are written as
/// __btf_type_tag("tag"), a macro the header defines to __attribute__((btf_type_tag("tag")))
/// when the compiler knows that attribute and BPF_NO_TYPE_TAG is not defined.
/// FUNC, VAR, DATASEC and DECL_TAG types produce no C (except kfunc prototypes, see options).
/// Throws: ebpf::error(errc::invalid_btf) naming the type for BTF that has no C form: a type
/// that contains itself by value, a loop of modifiers or typedefs, nesting deeper than 1000
/// levels, a name that is not a C identifier, a FUNC/VAR/DATASEC where a type must be, a header
/// larger than options.max_size. errc::invalid_argument for a guard that is no C identifier.
/// Nothing is written to `out` when it throws.
void write_c_header(const btf& types, std::ostream& out, const c_dump_options& options = {});
/// The same, as a string. Throws: as write_c_header().
std::string c_header(const btf& types, const c_dump_options& options = {});

/// Writes every type, one record per type in id order, in bpftool's raw text format:
///   [1] INT 'long unsigned int' size=8 bits_offset=0 nr_bits=64 encoding=(none)
///   [2] STRUCT 'list_head' size=16 vlen=2
///   	'next' type_id=3 bits_offset=0
/// Members, enumerators, parameters and DATASEC entries follow their type on lines that start
/// with a tab; unnamed things are '(anon)'. Throws: nothing beyond std::bad_alloc and the
/// stream's own exceptions (the btf was validated when parsed).
void write_raw_dump(const btf& types, std::ostream& out);
/// The same, as a string.
std::string raw_dump(const btf& types);

}  // namespace ebpf
