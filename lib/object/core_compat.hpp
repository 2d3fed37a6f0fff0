// Internal: libbpf's bpf_core_types_are_compat, for checking typed __ksym externs against the
// kernel (src/libbpf.c bpf_object__resolve_ksym_var_btf_id / _func_btf_id use it the same way).
#pragma once

#include <ebpf/btf.hpp>

#include <cstdint>

namespace ebpf::detail {

/// Whether local type `local_id` may stand for target type `target_id` under CO-RE's loose
/// rules (relo_core.c __bpf_core_types_are_compat): same kind after modifiers and typedefs (enum
/// and enum64 count as one), structs/unions/enums/forwards by kind only, integers of any size,
/// pointers and arrays by what they point to or hold, function prototypes parameter by parameter.
/// With `forwards_match`, a forward declaration also matches a struct or union (libbpf does not:
/// its kind check rejects FWD against STRUCT).
/// Throws: ebpf::error(errc::relocation_failed) for types nesting beyond 32 levels.
bool core_types_are_compatible(const btf& local, std::uint32_t local_id, const btf& target, std::uint32_t target_id,
                               bool forwards_match = false);

}  // namespace ebpf::detail
