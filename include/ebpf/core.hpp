// ebpfpp: CO-RE ("compile once, run everywhere") relocation. Pure: no kernel, no syscalls.
//
// A CO-RE relocation (a .BTF.ext record, see btf.hpp) says "this instruction holds a value that
// depends on the layout of a type": a field's byte offset, a type's size, an enumerator's value.
// The value clang put there is right for the object's own BTF (the "local" BTF); relocation
// recomputes it against the BTF of the machine the program runs on (the "target", normally
// /sys/kernel/btf/vmlinux, passed in here as data) and patches the instruction.
//
// The rules are libbpf's (src/relo_core.c and the candidate search in src/libbpf.c), so an object
// relocates to the same instructions as with libbpf:
//   - candidates are the target types of the local type's kind whose name, up to a "___flavor"
//     suffix, equals the local one's; the access string is matched against each by field names;
//   - all matching candidates must agree, or the relocation is an error (never a guess);
//   - no matching candidate: "exists" kinds and type kinds give 0, the others poison the
//     instruction (a call of helper #0xbad2310) so that the program still loads if the
//     instruction is dead code, and the verifier names it if it is not.
// Splitting compute (a value) from apply (the patch) gives a dry run for free: compute every
// relocation and print the results.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ebpf/btf.hpp>
#include <ebpf/types.hpp>

namespace ebpf {

/// libbpf's short name of a kind, as in its logs: "byte_off", "byte_sz", "field_exists",
/// "signed", "lshift_u64", "rshift_u64", "local_type_id", "target_type_id", "type_exists",
/// "type_size", "enumval_exists", "enumval_value", "type_matches"; "unknown" otherwise.
std::string_view to_string(core_relocation_kind kind) noexcept;

/// The name without its flavor: "task_struct___old" -> "task_struct". The flavor starts at the
/// last "___" that has a non-underscore on both sides (libbpf's bpf_core_essential_name_len), so
/// "__u32", "a____b" and "x___" keep their whole name.
std::string_view core_essential_name(std::string_view name) noexcept;

/// The immediate of the helper call a poisoned instruction becomes ("bad relo"); the verifier
/// reports it as "invalid func unknown#195896080".
inline constexpr std::int32_t core_poison_imm = 0xbad2310;

/// What one CO-RE relocation resolves to: the dry-run report and the input of
/// apply_core_relocation.
struct core_relocation_result {
  std::uint32_t instruction = 0;  ///< copied from the record (its instruction index)
  core_relocation_kind kind = core_relocation_kind::field_byte_offset;
  std::uint32_t local_type_id = 0;
  btf_kind local_type_kind = btf_kind::unknown;
  std::string local_type_name;  ///< as in the local BTF, flavor included ("" when anonymous)
  std::string access_string;    ///< the record's, e.g. "0:1:2"
  /// The access in C terms, e.g. "task_struct.se.vruntime", "arr[3].a", "core_state::RUNNING";
  /// empty for type-based kinds.
  std::string local_access;
  /// The value clang computed for the local BTF (what the instruction holds when `validate`).
  std::uint64_t local_value = 0;
  /// The value to patch in: the target's value, or 0 for an absent type, field or enumerator
  /// with an "exists"/type kind. Meaningless when `poisoned`.
  std::uint64_t target_value = 0;
  std::uint32_t target_type_id = 0;    ///< the matching candidate; 0 when none matched
  std::string target_access_string;   ///< its raw access path, e.g. "0:4:1"; empty when none
  std::uint32_t candidates = 0;        ///< how many target candidates matched (and agreed)
  /// No candidate matched and the kind has no "absent" value: the instruction is replaced by
  /// the poison call.
  bool poisoned = false;
  /// The instruction must hold local_value before it is patched (libbpf's check against a
  /// wrong record). Off for bitfields (clang and libbpf may pick different loads), target type
  /// ids and local type ids (linking renumbers types).
  bool validate = true;
  /// For byte offsets of non-bitfield fields: the size of the field's scalar (array elements:
  /// the element's) in the local and the target BTF. A load/store (ldx/st/stx) is resized to
  /// target_memory_size when they differ, which is only sound for pointers and unsigned integers;
  /// otherwise `memory_size_mismatch` is set and a load/store is poisoned instead.
  std::uint32_t local_memory_size = 0;
  std::uint32_t target_memory_size = 0;
  bool memory_size_mismatch = false;
  /// Human-readable, for the dry run: how it resolved ("matched struct task_struct [114], access
  /// 0:92 (task_struct.pid) at bit 10112") or why it is poisoned or absent ("poisoned: none of 1
  /// candidate(s) for struct 'task_struct' matches: no field 'state' in struct task_struct [114]").
  std::string reason;
};

/// The target side of candidate search: target type ids by essential name. Built on the first
/// lookup, once, over all names (about 2 ms for vmlinux's 126,000 types on an idle machine), then
/// read-only: concurrent lookups on one index are safe. Keeps a reference to `target`, which
/// must outlive it. Share one per target BTF (e.g. alongside the cached kernel BTF) between
/// objects.
class core_target_index {
 public:
  explicit core_target_index(const btf& target);
  ~core_target_index();
  core_target_index(const core_target_index&) = delete;
  core_target_index& operator=(const core_target_index&) = delete;

  const btf& target() const noexcept { return *target_; }
  /// Ids (ascending, never 0) of named target types whose essential name equals
  /// core_essential_name(name) and whose kind is `kind` (enum and enum64 count as one kind).
  /// Always empty for functions, variables, datasecs and decl tags, which never match a CO-RE
  /// relocation anyway (see core.cpp).
  std::vector<std::uint32_t> candidates(std::string_view name, btf_kind kind) const;
  /// What candidates() returns for each of `queries` (name, kind), in one pass over the target's
  /// named types of the queried kinds: an object's relocations ask for a few dozen types, and
  /// one pass costs what one candidates() scan costs.
  std::vector<std::vector<std::uint32_t>> candidates(
      std::span<const std::pair<std::string_view, btf_kind>> queries) const;

 private:
  struct table;
  const table& built() const;
  const btf* target_;
  std::unique_ptr<table> table_;
};

/// The candidate lists of one relocation pass: one object's relocations against one target.
/// Like libbpf's per-object cand_cache, a local type's list is searched once and then narrowed
/// to the candidates that matched each relocation of that type, so later relocations of the
/// type only see those; results therefore depend on the order of the relocations, and libbpf's
/// answer is reproduced by computing them in .BTF.ext order. Not thread-safe: use one per pass.
class core_candidate_cache {
 public:
  /// A cache with its own index of `target` (which must outlive the cache).
  explicit core_candidate_cache(const btf& target);
  /// A cache over a shared index (built once per target, reused by many objects' passes).
  explicit core_candidate_cache(std::shared_ptr<const core_target_index> index);

  const core_target_index& index() const noexcept { return *index_; }
  /// The current (possibly narrowed) candidate list of type `local_type_id` of `local`, searched
  /// by its name and kind on first use. Lists are keyed by type id, so one cache serves one
  /// local BTF (the first one passed; it must outlive the cache's use).
  /// Throws: errc::invalid_argument for another local BTF than the first, errc::not_found for an
  /// id not in `local`.
  std::vector<std::uint32_t>& candidates(const btf& local, std::uint32_t local_type_id);
  /// Searches the lists of all of `local_type_ids` not searched yet, in one pass (see
  /// core_target_index::candidates of many queries); candidates() then finds them made.
  /// Throws as candidates().
  void prefetch(const btf& local, std::span<const std::uint32_t> local_type_ids);

 private:
  void bind(const btf& local);
  std::shared_ptr<const core_target_index> index_;
  const btf* local_ = nullptr;
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> lists_;

  friend core_relocation_result compute_core_relocation(const btf&, const btf_core_relocation&, const btf&,
                                                        core_candidate_cache&);
};

/// Resolves one relocation of `local` (the object's BTF) against `cache.index().target()`.
/// `target` must be that BTF (it is passed for clarity and checked).
/// Throws: ebpf::error(errc::relocation_failed), its message naming the kind, the local type,
/// the access string and the instruction, for: a malformed access string (not a list of
/// indices, an index beyond a struct's members or an array's bounds, a type without a size), an
/// anonymous local type, candidates that disagree ("ambiguous"), a bitfield no 8-byte load
/// covers, a field kind applied to an array element, nesting deeper than 64 levels; and
/// errc::invalid_argument when `target` is not the cache's target, the cache served another
/// local BTF before, or the record's type id is not in `local`.
core_relocation_result compute_core_relocation(const btf& local, const btf_core_relocation& relocation,
                                               const btf& target, core_candidate_cache& cache);

/// Patches instructions[result.instruction] (and the next slot of an ld_imm64):
///   - poisoned: the instruction (both slots of an ld_imm64) becomes `call core_poison_imm`;
///   - ALU/ALU64 with an immediate: imm = target_value;
///   - LDX/ST/STX: off = target_value, and the access size follows the field's new size (see
///     core_relocation_result::memory_size_mismatch, which poisons instead);
///   - ld_imm64: the 64-bit immediate = target_value.
/// When result.validate, the current immediate/offset must equal result.local_value.
/// Throws: ebpf::error(errc::relocation_failed) naming the relocation and the instruction when
/// the index is out of range, the instruction is of another class (jump, register source,
/// malformed ld_imm64), the current value is not local_value, the new offset does not fit in
/// 16 bits, or the access size is not the field's local size or cannot take the new one.
void apply_core_relocation(std::span<instruction> instructions, const core_relocation_result& result);

/// One line naming a relocation, for errors and reports:
///   "CO-RE relocation byte_off of struct task_struct [5] access 0:1 (task_struct.pid) at instruction 12"
std::string describe(const core_relocation_result& result);

/// The instruction index a verifier log blames on a poisoned CO-RE relocation: the last
/// "N: (85) call unknown#195896080" line. nullopt when the log has none.
std::optional<std::uint32_t> core_poison_instruction(std::string_view verifier_log) noexcept;

}  // namespace ebpf
