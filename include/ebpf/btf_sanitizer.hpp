// ebpfpp: rewriting an object's BTF for kernels that lack newer BTF kinds.
//
// A BPF object built by a recent clang carries BTF kinds that older kernels reject when the BTF
// is loaded (BPF_BTF_LOAD): FUNC before 5.0, VAR/DATASEC before 5.2, FLOAT before 5.13, ... The
// kernel then refuses the whole BTF, and with it func_info, line_info and BTF-described maps.
// libbpf rewrites each unsupported kind into an older one of the same record size, keeping every
// type id (src/libbpf.c bpf_object__sanitize_btf); sanitize_btf does the same rewrites, so the
// kernel gets what it would get from libbpf. Which features the kernel has is decided by loading
// tiny BTF blobs, one per feature (kernel_btf_features, cached; libbpf's probe_kern_btf_*).
#pragma once

#include <ebpf/btf.hpp>

namespace ebpf {

/// What a kernel's BTF loader accepts: one flag per feature a rewrite can remove (libbpf's
/// FEAT_BTF_*). The defaults (all true) describe a current kernel.
struct btf_features {
  bool func = true;           ///< BTF_KIND_FUNC and BTF_KIND_FUNC_PROTO (kernel 5.0)
  bool func_global = true;    ///< FUNC with global linkage (5.6)
  bool datasec = true;        ///< BTF_KIND_VAR and BTF_KIND_DATASEC (5.2)
  bool qmark_datasec = true;  ///< DATASEC names starting with '?' (libbpf's "?.data" sections; 6.9, bd70a8fb7ca4)
  bool floating = true;       ///< BTF_KIND_FLOAT (5.13)
  bool decl_tag = true;       ///< BTF_KIND_DECL_TAG (5.16)
  bool type_tag = true;       ///< BTF_KIND_TYPE_TAG (5.17)
  bool enum64 = true;         ///< BTF_KIND_ENUM64 and signed enums (kind_flag on ENUM) (6.0)
};

/// True when `types` uses a feature `supported` lacks, i.e. sanitize_btf would change it.
bool needs_sanitizing(const btf& types, const btf_features& supported) noexcept;

/// A copy of `types` rewritten like libbpf's bpf_object__sanitize_btf for a kernel with only
/// `supported`; type ids and record sizes are kept, so func_info, line_info and map type ids
/// still point at the same records:
///   - no datasec: VAR -> INT "name" of 1 byte; DATASEC -> STRUCT of the section's size whose
///     members are the variables (by name, at offset*8), '.' and '?' in its name made '_';
///   - no qmark_datasec: a DATASEC name's leading '?' -> '_';
///   - no func: FUNC_PROTO -> ENUM of 4 bytes (one enumerator per parameter); FUNC -> TYPEDEF;
///   - no func_global: FUNC with global (or extern) linkage -> static;
///   - no floating: FLOAT -> anonymous empty STRUCT of the same size;
///   - no decl_tag: DECL_TAG -> INT of 1 byte;
///   - no type_tag: TYPE_TAG -> CONST;
///   - no enum64: ENUM loses its kind_flag (signedness); ENUM64 -> UNION of the same size whose
///     members (named after the enumerators) are an added 1-byte INT "enum64_placeholder".
/// Pure. Throws: ebpf::error(errc::invalid_btf) only for malformed input (a DATASEC entry that is
/// not a valid type).
btf sanitize_btf(const btf& types, const btf_features& supported);

/// The running kernel's BTF features, probed once per process by loading one tiny BTF blob per
/// feature (BPF_BTF_LOAD; kernel 4.18). Thread-safe. Never throws: a kernel (or a process
/// without CAP_BPF) that refuses every BTF load reports every feature unsupported.
const btf_features& kernel_btf_features();

/// `types` made loadable into the running kernel: sanitize_btf(types, kernel_btf_features()), or
/// a plain copy when nothing needs rewriting. Throws: as sanitize_btf.
btf sanitize_btf_for_kernel(const btf& types);

}  // namespace ebpf
