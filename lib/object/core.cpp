// CO-RE relocation: libbpf's algorithm (src/relo_core.c, candidate search in src/libbpf.c
// bpf_core_find_cands/bpf_core_add_cands) over our btf, without a kernel.
//
// Vocabulary (libbpf's):
//   access string  "0:1:2": the record's path from the root type. The first index is an array
//                  index on the root (clang writes 0 for p->x, which is p[0].x); each further
//                  index is a member index in a struct/union or an element index in an array.
//   raw spec       the parsed indices, one per step, anonymous struct/union members included.
//   high-level spec  only the steps that mean something across BTFs: named members (matched by
//                  name in the target) and array indices (kept as they are).
//   candidate      a target type of the same kind whose essential name (name before "___flavor")
//                  equals the local type's; the local spec is matched against each.
//
// Everything here is bounded, unlike libbpf, because our input is not the kernel's validated
// BTF: modifier chains and array nests give up after type_count() steps, and type comparisons
// share a per-relocation budget (a struct whose members are that struct, which the kernel would
// reject, makes the recursive comparisons exponential).

#include <ebpf/core.hpp>
#include <ebpf/error.hpp>

#include "core_compat.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <atomic>
#include <functional>
#include <limits>
#include <mutex>

namespace ebpf {
namespace {

constexpr std::size_t max_spec_len = 64;       // BPF_CORE_SPEC_MAX_LEN (relo_core.h)
constexpr int max_resolve_depth = 32;          // MAX_RESOLVE_DEPTH in libbpf's btf.c
constexpr int max_compat_depth = 32;           // the depth/level limits of relo_core.c
constexpr std::uint64_t comparison_budget = 1u << 22;  // steps per relocation, see the top
constexpr std::uint64_t max_bit_offset = std::numeric_limits<std::uint32_t>::max();  // libbpf: u32

// BPF instruction encoding (include/uapi/linux/bpf_common.h, bpf.h).
constexpr std::uint8_t class_ld = 0x00, class_ldx = 0x01, class_st = 0x02, class_stx = 0x03,
                       class_alu = 0x04, class_alu64 = 0x07;
constexpr std::uint8_t source_x = 0x08;           // BPF_X: register operand
constexpr std::uint8_t ld_imm64_code = 0x18;      // BPF_LD | BPF_IMM | BPF_DW
constexpr std::uint8_t call_code = 0x85;          // BPF_JMP | BPF_CALL
constexpr std::int32_t short_max = 32767;         // SHRT_MAX: instruction offsets are s16

// An internal failure; compute_core_relocation turns it into errc::relocation_failed with the
// relocation named in front.
struct core_failure {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw core_failure{std::move(message)}; }

std::string num(std::uint64_t v) { return std::to_string(v); }

bool is_field_based(core_relocation_kind kind) noexcept {
  return static_cast<std::uint32_t>(kind) <= static_cast<std::uint32_t>(core_relocation_kind::field_rshift_u64);
}

bool is_type_based(core_relocation_kind kind) noexcept {
  switch (kind) {
    case core_relocation_kind::type_id_local:
    case core_relocation_kind::type_id_target:
    case core_relocation_kind::type_exists:
    case core_relocation_kind::type_matches:
    case core_relocation_kind::type_size: return true;
    default: return false;
  }
}

bool is_enumval_based(core_relocation_kind kind) noexcept {
  return kind == core_relocation_kind::enumval_exists || kind == core_relocation_kind::enumval_value;
}

bool is_any_enum(btf_kind kind) noexcept { return kind == btf_kind::enum_ || kind == btf_kind::enum64; }
bool is_composite(btf_kind kind) noexcept { return kind == btf_kind::struct_ || kind == btf_kind::union_; }

// btf_kind_core_compat (libbpf btf.h): same kind, or enum and enum64 in either order.
bool kinds_compatible(btf_kind a, btf_kind b) noexcept {
  return a == b || (is_any_enum(a) && is_any_enum(b));
}

bool is_modifier(btf_kind kind) noexcept {
  return kind == btf_kind::typedef_ || kind == btf_kind::volatile_ || kind == btf_kind::const_ ||
         kind == btf_kind::restrict_ || kind == btf_kind::type_tag;
}

std::string type_label(const btf_type& t) {
  return std::string(to_string(t.kind)) + " " + (t.name.empty() ? std::string("<anon>") : std::string(t.name)) +
         " [" + num(t.id) + "]";
}

// skip_mods_and_typedefs, bounded (libbpf's loops forever on a cycle).
btf_type skip_modifiers(const btf& types, std::uint32_t id) {
  btf_type t = types.type(id);
  for (std::uint32_t steps = 0; is_modifier(t.kind); ++steps) {
    if (steps >= types.type_count()) fail("type [" + num(id) + "]: the chain of modifiers and typedefs loops");
    t = types.type(t.size_or_type);
  }
  return t;
}

// btf__resolve_size: like btf::size_of, but with libbpf's limits (32 steps, 32-bit sizes) and
// decl_tag followed, so that sizes beyond 4 GiB fail here exactly where they fail in libbpf.
std::uint64_t resolve_size(const btf& types, std::uint32_t id) {
  std::uint64_t elements = 1;
  btf_type t = types.type(id);
  constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
  for (int depth = 0; depth < max_resolve_depth && t.kind != btf_kind::unknown; ++depth) {
    std::uint64_t size = 0;
    switch (t.kind) {
      case btf_kind::integer:
      case btf_kind::struct_:
      case btf_kind::union_:
      case btf_kind::enum_:
      case btf_kind::enum64:
      case btf_kind::datasec:
      case btf_kind::floating: size = t.size_or_type; break;
      case btf_kind::pointer: size = 8; break;  // BPF and 64-bit kernels
      case btf_kind::typedef_:
      case btf_kind::volatile_:
      case btf_kind::const_:
      case btf_kind::restrict_:
      case btf_kind::variable:
      case btf_kind::decl_tag:
      case btf_kind::type_tag: t = types.type(t.size_or_type); continue;
      case btf_kind::array: {
        auto a = types.array(t.id);
        if (elements != 0 && a.count > u32_max / elements) fail("type [" + num(id) + "]: size beyond 4 GiB");
        elements *= a.count;
        t = types.type(a.element_type);
        continue;
      }
      default: fail("type [" + num(id) + "] has no size (it leads to " + type_label(t) + ")");
    }
    if (elements != 0 && size > u32_max / elements) fail("type [" + num(id) + "]: size beyond 4 GiB");
    return elements * size;
  }
  fail("type [" + num(id) + "] has no size (void, or nested beyond " + num(max_resolve_depth) + " levels)");
}

// The size of the scalar a load/store of this type moves: arrays give their element's size.
std::uint32_t scalar_size(const btf& types, std::uint32_t id, std::uint32_t& scalar_id) {
  btf_type t = skip_modifiers(types, id);
  for (std::uint32_t steps = 0; t.kind == btf_kind::array; ++steps) {
    if (steps >= types.type_count()) fail("type [" + num(id) + "]: arrays nest in a loop");
    t = skip_modifiers(types, types.array(t.id).element_type);
  }
  scalar_id = t.id;
  return static_cast<std::uint32_t>(resolve_size(types, t.id));
}

std::uint64_t add_bits(std::uint64_t offset, std::uint64_t index, std::uint64_t bytes) {
  // index < 2^31 and bytes < 2^32: the product fits in 64 bits before the check.
  std::uint64_t bits = index * bytes;
  if (bits > max_bit_offset / 8 || offset + bits * 8 > max_bit_offset) fail("the access is beyond 4 GiB");
  return offset + bits * 8;
}

// One step of a high-level spec (struct bpf_core_accessor).
struct accessor {
  std::uint32_t type_id = 0;  // the struct/union (named member), the element type (array index) or the enum
  std::uint32_t index = 0;    // member, element or enumerator index
  bool named = false;         // a member or enumerator: matched by name; otherwise an array index
  std::string_view name;
};

// struct bpf_core_spec.
struct core_spec {
  const btf* types = nullptr;
  std::uint32_t root_type_id = 0;  // not skipped: the record's type id or the candidate's id
  std::vector<accessor> high;
  std::vector<std::uint32_t> raw;
  std::uint64_t bit_offset = 0;
};

// Counts comparison steps so that hostile BTF cannot make a relocation take forever.
class budget {
 public:
  void spend() {
    if (++steps_ > comparison_budget) {
      fail("comparing the types took more than " + num(comparison_budget) +
           " steps (self-referencing types?)");
    }
  }

 private:
  std::uint64_t steps_ = 0;
};

// The access string as libbpf's sscanf("%d%n") loop reads it: indices separated by single
// colons; each may have leading white space and a sign; negative ones are errors.
std::vector<std::uint32_t> parse_access_string(std::string_view text) {
  if (text.empty() || text.front() == ':') fail("access string '" + std::string(text) + "' is empty or starts with ':'");
  std::vector<std::uint32_t> raw;
  std::size_t i = 0;
  auto bad = [&] { fail("access string '" + std::string(text) + "' is not a list of indices like 0:1:2"); };
  while (i < text.size()) {
    if (text[i] == ':') ++i;
    while (i < text.size() && (text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r'))) ++i;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    if (i >= text.size() || text[i] < '0' || text[i] > '9') bad();
    std::uint64_t value = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max())) {
        fail("access string '" + std::string(text) + "': index beyond 2^31");
      }
    }
    if (negative && value != 0) fail("access string '" + std::string(text) + "': negative index");
    if (raw.size() == max_spec_len) {
      fail("access string '" + std::string(text) + "' is longer than " + num(max_spec_len) + " steps");
    }
    raw.push_back(static_cast<std::uint32_t>(value));
  }
  return raw;
}

// is_flex_arr: an array of 0 elements that is the last member of the struct it was reached
// through may be indexed beyond its bounds.
bool is_flexible_array(const btf& types, const accessor* previous, std::uint32_t count) {
  if (previous == nullptr || !previous->named || count > 0) return false;
  return previous->index + 1 == types.type(previous->type_id).vlen;
}

// bpf_core_parse_spec.
core_spec parse_spec(const btf& types, std::uint32_t type_id, std::string_view access,
                     core_relocation_kind kind) {
  core_spec spec;
  spec.types = &types;
  spec.root_type_id = type_id;
  if (access.empty() || access.front() == ':') fail("access string '" + std::string(access) + "' is empty or starts with ':'");
  if (is_type_based(kind)) {
    if (access != "0") fail("access string '" + std::string(access) + "' of a type relocation must be \"0\"");
    return spec;
  }
  spec.raw = parse_access_string(access);

  btf_type t = skip_modifiers(types, type_id);
  std::uint32_t id = t.id;
  spec.high.push_back({id, spec.raw[0], false, {}});

  if (is_enumval_based(kind)) {
    if (!is_any_enum(t.kind)) fail("enumerator relocation of " + type_label(t) + ", which is not an enum");
    if (spec.raw.size() > 1 || spec.raw[0] >= t.vlen) {
      fail("access string '" + std::string(access) + "' is not one enumerator index of " + type_label(t) +
           " (" + num(t.vlen) + " enumerators)");
    }
    spec.high[0].named = true;
    spec.high[0].name = types.enumerators(id)[spec.raw[0]].name;
    return spec;
  }
  if (!is_field_based(kind)) fail("unknown relocation kind " + num(static_cast<std::uint32_t>(kind)));

  spec.bit_offset = add_bits(0, spec.raw[0], resolve_size(types, id));
  for (std::size_t i = 1; i < spec.raw.size(); ++i) {
    t = skip_modifiers(types, id);
    id = t.id;
    std::uint32_t index = spec.raw[i];
    if (is_composite(t.kind)) {
      if (index >= t.vlen) {
        fail("access string '" + std::string(access) + "', step " + num(i) + ": member " + num(index) + " of " +
             type_label(t) + ", which has " + num(t.vlen));
      }
      btf_member m = types.members(id)[index];
      spec.bit_offset += m.bit_offset;
      if (spec.bit_offset > max_bit_offset) fail("the access is beyond 4 GiB");
      if (!m.name.empty()) spec.high.push_back({id, index, true, m.name});
      id = m.type;
    } else if (t.kind == btf_kind::array) {
      auto a = types.array(id);
      btf_type element = skip_modifiers(types, a.element_type);
      id = element.id;
      if (!is_flexible_array(types, &spec.high.back(), a.count) && index >= a.count) {
        fail("access string '" + std::string(access) + "', step " + num(i) + ": index " + num(index) +
             " of an array of " + num(a.count));
      }
      spec.high.push_back({id, index, false, {}});
      spec.bit_offset = add_bits(spec.bit_offset, index, resolve_size(types, id));
    } else {
      fail("access string '" + std::string(access) + "', step " + num(i) + " reaches " + type_label(t) +
           ", which is neither a struct, a union nor an array");
    }
  }
  return spec;
}

// bpf_core_fields_are_compat: may a local field be read as this target field?
bool fields_compatible(const btf& local, std::uint32_t local_id, const btf& target, std::uint32_t target_id,
                       budget& steps) {
  for (std::uint32_t depth = 0;; ++depth) {
    // Only arrays continue the loop: deeper than either BTF has types is an array of itself.
    if (depth > local.type_count() + target.type_count()) fail("arrays nest in a loop");
    steps.spend();
    btf_type l = skip_modifiers(local, local_id);
    btf_type t = skip_modifiers(target, target_id);
    if (is_composite(l.kind) && is_composite(t.kind)) return true;
    if (!kinds_compatible(l.kind, t.kind)) return false;
    switch (l.kind) {
      case btf_kind::pointer:
      case btf_kind::floating: return true;
      case btf_kind::forward:
      case btf_kind::enum_:
      case btf_kind::enum64: {
        // One of them anonymous, or both with the same flavor-less name.
        std::string_view a = core_essential_name(l.name), b = core_essential_name(t.name);
        return a.empty() || b.empty() || a == b;
      }
      case btf_kind::integer:
        // Integers of any size and sign are compatible; only the deprecated bit-offset ints are not.
        return local.integer(l.id).bit_offset == 0 && target.integer(t.id).bit_offset == 0;
      case btf_kind::array:
        local_id = local.array(l.id).element_type;
        target_id = target.array(t.id).element_type;
        continue;
      default: return false;
    }
  }
}

// __bpf_core_types_are_compat: the check of type_exists/type_size/type_id_target.
// A forward declaration standing for a struct or union (or the other way round), as in an object
// that declares `struct task_struct;` and uses only pointers to it.
bool forward_of_composite(btf_kind a, btf_kind b) noexcept {
  auto composite = [](btf_kind kind) { return kind == btf_kind::struct_ || kind == btf_kind::union_; };
  return (a == btf_kind::forward && composite(b)) || (b == btf_kind::forward && composite(a));
}

bool types_compatible(const btf& local, std::uint32_t local_id, const btf& target, std::uint32_t target_id,
                      int level, budget& steps, bool forwards_match = false) {
  const btf_kind local_kind = local.type(local_id).kind, target_kind = target.type(target_id).kind;
  if (!kinds_compatible(local_kind, target_kind) && !(forwards_match && forward_of_composite(local_kind, target_kind)))
    return false;
  for (int depth = max_compat_depth; depth-- > 0;) {
    steps.spend();
    btf_type l = skip_modifiers(local, local_id);
    btf_type t = skip_modifiers(target, target_id);
    if (forwards_match && forward_of_composite(l.kind, t.kind)) return true;
    if (!kinds_compatible(l.kind, t.kind)) return false;
    switch (l.kind) {
      case btf_kind::unknown:
      case btf_kind::struct_:
      case btf_kind::union_:
      case btf_kind::enum_:
      case btf_kind::forward:
      case btf_kind::enum64: return true;
      case btf_kind::integer:
        return local.integer(l.id).bit_offset == 0 && target.integer(t.id).bit_offset == 0;
      case btf_kind::pointer:
        local_id = l.size_or_type;
        target_id = t.size_or_type;
        continue;
      case btf_kind::array:
        local_id = local.array(l.id).element_type;
        target_id = target.array(t.id).element_type;
        continue;
      case btf_kind::function_proto: {
        if (l.vlen != t.vlen) return false;
        auto lp = local.parameters(l.id);
        auto tp = target.parameters(t.id);
        for (std::size_t i = 0; i < lp.size(); ++i) {
          if (level <= 0) fail("function prototypes nest beyond " + num(max_compat_depth) + " levels");
          std::uint32_t a = skip_modifiers(local, lp[i].type).id, b = skip_modifiers(target, tp[i].type).id;
          if (!types_compatible(local, a, target, b, level - 1, steps, forwards_match)) return false;
        }
        local_id = skip_modifiers(local, l.size_or_type).id;
        target_id = skip_modifiers(target, t.size_or_type).id;
        continue;
      }
      default: return false;  // libbpf: "unexpected kind %s relocated" (float, func, var, ...)
    }
  }
  fail("types nest beyond " + num(max_compat_depth) + " levels");
}

// bpf_core_names_match: an anonymous target matches only an anonymous local.
bool names_match(std::string_view local_name, std::string_view target_name) {
  if (target_name.empty()) return local_name.empty();
  return core_essential_name(local_name) == core_essential_name(target_name);
}

bool types_match(const btf& local, std::uint32_t local_id, const btf& target, std::uint32_t target_id,
                 bool behind_pointer, int level, budget& steps);

// bpf_core_enums_match: same size, every local enumerator name present in the target.
bool enums_match(const btf& local, const btf_type& l, const btf& target, const btf_type& t, budget& steps) {
  if (l.size_or_type != t.size_or_type || l.vlen > t.vlen) return false;
  auto target_values = target.enumerators(t.id);
  for (const auto& e : local.enumerators(l.id)) {
    bool found = false;
    for (const auto& te : target_values) {
      steps.spend();
      if (names_match(e.name, te.name)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// bpf_core_composites_match: every local member has a same-named target member that matches.
bool composites_match(const btf& local, const btf_type& l, const btf& target, const btf_type& t,
                      bool behind_pointer, int level, budget& steps) {
  if (l.vlen > t.vlen) return false;
  auto target_members = target.members(t.id);
  for (const auto& m : local.members(l.id)) {
    bool found = false;
    for (const auto& tm : target_members) {
      steps.spend();
      if (!names_match(m.name, tm.name)) continue;
      if (types_match(local, m.type, target, tm.type, behind_pointer, level - 1, steps)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// __bpf_core_types_match: the stricter check of type_matches (bpf_core_type_matches()).
bool types_match(const btf& local, std::uint32_t local_id, const btf& target, std::uint32_t target_id,
                 bool behind_pointer, int level, budget& steps) {
  if (level <= 0) fail("types nest beyond " + num(max_compat_depth) + " levels");
  for (int depth = max_compat_depth; depth-- > 0;) {
    steps.spend();
    btf_type l = skip_modifiers(local, local_id);
    btf_type t = skip_modifiers(target, target_id);
    // Names are compared after typedefs are skipped; the root's own name was compared by the
    // candidate search.
    if (!names_match(l.name, t.name)) return false;
    switch (l.kind) {
      case btf_kind::unknown: return t.kind == btf_kind::unknown;
      case btf_kind::forward:
        if (behind_pointer && t.kind != btf_kind::forward) {
          // A forward declaration's kind_flag says union (1) or struct (0).
          return (t.kind == btf_kind::struct_ && !l.kind_flag) || (t.kind == btf_kind::union_ && l.kind_flag);
        }
        return t.kind == btf_kind::forward && l.kind_flag == t.kind_flag;
      case btf_kind::enum_:
      case btf_kind::enum64:
        return is_any_enum(t.kind) && enums_match(local, l, target, t, steps);
      case btf_kind::struct_:
      case btf_kind::union_:
        if (behind_pointer) {
          if (l.kind == t.kind) return true;
          return t.kind == btf_kind::forward && (l.kind == btf_kind::union_) == t.kind_flag;
        }
        return l.kind == t.kind && composites_match(local, l, target, t, behind_pointer, level, steps);
      case btf_kind::integer: {
        if (t.kind != btf_kind::integer) return false;
        bool local_signed = local.integer(l.id).encoding & btf_int_signed;
        bool target_signed = target.integer(t.id).encoding & btf_int_signed;
        return l.size_or_type == t.size_or_type && local_signed == target_signed;
      }
      case btf_kind::pointer:
        if (t.kind != btf_kind::pointer) return false;
        behind_pointer = true;
        local_id = l.size_or_type;
        target_id = t.size_or_type;
        continue;
      case btf_kind::array: {
        if (t.kind != btf_kind::array) return false;
        auto la = local.array(l.id), ta = target.array(t.id);
        if (la.count != ta.count) return false;
        local_id = la.element_type;
        target_id = ta.element_type;
        continue;
      }
      case btf_kind::function_proto: {
        if (t.kind != btf_kind::function_proto || l.vlen != t.vlen) return false;
        auto lp = local.parameters(l.id);
        auto tp = target.parameters(t.id);
        for (std::size_t i = 0; i < lp.size(); ++i) {
          if (!types_match(local, lp[i].type, target, tp[i].type, behind_pointer, level - 1, steps)) return false;
        }
        local_id = l.size_or_type;
        target_id = t.size_or_type;
        continue;
      }
      default: return false;
    }
  }
  fail("types nest beyond " + num(max_compat_depth) + " levels");
}

// bpf_core_match_member: finds the target member named like the local accessor's, descending
// into anonymous structs/unions, and extends the target spec with the path to it.
// 1: found and compatible; 0: absent or incompatible (`why` says which).
int match_member(const btf& local, const accessor& local_access, const btf& target, std::uint32_t target_id,
                 core_spec& spec, std::uint32_t& next_target_id, budget& steps, std::string& why) {
  btf_type t = skip_modifiers(target, target_id);
  if (!is_composite(t.kind)) return 0;
  btf_member local_member = local.members(local_access.type_id)[local_access.index];
  auto members = target.members(t.id);
  for (std::uint32_t i = 0; i < members.size(); ++i) {
    steps.spend();
    const btf_member& m = members[i];
    if (spec.raw.size() == max_spec_len) fail("the target's structs nest beyond " + num(max_spec_len) + " levels");
    // Speculate that this member is the one.
    spec.bit_offset += m.bit_offset;
    spec.raw.push_back(i);
    if (m.name.empty()) {
      // An embedded anonymous struct/union: look inside.
      int found = match_member(local, local_access, target, m.type, spec, next_target_id, steps, why);
      if (found) return found;
    } else if (m.name == local_member.name) {
      spec.high.push_back({t.id, i, true, m.name});
      next_target_id = m.type;
      if (fields_compatible(local, local_member.type, target, m.type, steps)) return 1;
      // Incompatible: stop looking (in this struct). libbpf leaves this member's step and bit
      // offset in the spec here, which corrupts the offset if an enclosing struct then finds
      // the name again; that needs two members of one name, impossible in C, so we restore
      // the spec instead of copying that.
      spec.high.pop_back();
      spec.raw.pop_back();
      spec.bit_offset -= m.bit_offset;
      why = "field '" + std::string(m.name) + "' of " + type_label(t) + " has an incompatible type";
      return 0;
    }
    spec.bit_offset -= m.bit_offset;
    spec.raw.pop_back();
  }
  return 0;
}

// bpf_core_spec_match: matches the local spec against one candidate; 1 with `target_spec` filled,
// or 0 with `why` saying what is missing.
int match_spec(const core_spec& local_spec, core_relocation_kind kind, const btf& target, std::uint32_t target_id,
               core_spec& target_spec, budget& steps, std::string& why) {
  target_spec = core_spec{};
  target_spec.types = &target;
  target_spec.root_type_id = target_id;
  const btf& local = *local_spec.types;

  if (is_type_based(kind)) {
    bool ok = kind == core_relocation_kind::type_matches
                  ? types_match(local, local_spec.root_type_id, target, target_id, false, max_compat_depth, steps)
                  : types_compatible(local, local_spec.root_type_id, target, target_id, max_compat_depth, steps);
    if (!ok) why = type_label(target.type(target_id)) + (kind == core_relocation_kind::type_matches
                                                             ? " does not match" : " is not compatible");
    return ok ? 1 : 0;
  }

  if (is_enumval_based(kind)) {
    btf_type t = skip_modifiers(target, target_id);
    if (!is_any_enum(t.kind)) {
      why = type_label(t) + " is not an enum";
      return 0;
    }
    std::string_view wanted = core_essential_name(local_spec.high[0].name);
    auto values = target.enumerators(t.id);
    for (std::uint32_t i = 0; i < values.size(); ++i) {
      steps.spend();
      if (core_essential_name(values[i].name) == wanted) {
        target_spec.high.push_back({t.id, i, true, values[i].name});
        target_spec.raw.push_back(i);
        return 1;
      }
    }
    why = "no enumerator '" + std::string(wanted) + "' in " + type_label(t);
    return 0;
  }

  for (std::size_t i = 0; i < local_spec.high.size(); ++i) {
    const accessor& local_access = local_spec.high[i];
    btf_type t = skip_modifiers(target, target_id);
    target_id = t.id;
    if (local_access.named) {
      std::string member_why;
      int matched = match_member(local, local_access, target, target_id, target_spec, target_id, steps, member_why);
      if (matched <= 0) {
        why = member_why.empty() ? "no field '" + std::string(local_access.name) + "' in " + type_label(t) : member_why;
        return matched;
      }
      continue;
    }
    // An array index. The first one indexes the root itself (p->x is p[0].x).
    if (i > 0) {
      if (t.kind != btf_kind::array) {
        why = type_label(t) + " is not an array in the target";
        return 0;
      }
      auto a = target.array(t.id);
      const accessor* previous = target_spec.high.empty() ? nullptr : &target_spec.high.back();
      if (!is_flexible_array(target, previous, a.count) && local_access.index >= a.count) {
        why = "index " + num(local_access.index) + " is beyond the target's array of " + num(a.count);
        return 0;
      }
      target_id = skip_modifiers(target, a.element_type).id;
    }
    if (target_spec.raw.size() == max_spec_len) fail("the target's structs nest beyond " + num(max_spec_len) + " levels");
    target_spec.high.push_back({target_id, local_access.index, false, {}});
    target_spec.raw.push_back(local_access.index);
    target_spec.bit_offset = add_bits(target_spec.bit_offset, local_access.index, resolve_size(target, target_id));
  }
  if (target_spec.bit_offset > max_bit_offset) fail("the access is beyond 4 GiB in the target");
  return 1;
}

// What one side (local or target) of a relocation gives.
struct side_value {
  std::uint64_t value = 0;
  std::uint32_t memory_size = 0;  // byte offsets of non-bitfields: the scalar's size
  std::uint32_t memory_type = 0;  // ... and its type
  bool poison = false;
};

// bpf_core_calc_field_relo. `spec` is null when no candidate matched.
side_value field_value(core_relocation_kind kind, const core_spec* spec, bool* validate) {
  side_value out;
  if (kind == core_relocation_kind::field_exists) {
    out.value = spec ? 1 : 0;
    return out;
  }
  if (spec == nullptr) {
    out.poison = true;
    return out;
  }
  const btf& types = *spec->types;
  const accessor& last = spec->high.back();

  if (!last.named) {
    // The access ends on an array element (or the root itself): only its offset and size exist.
    if (kind == core_relocation_kind::field_byte_offset) {
      out.value = spec->bit_offset / 8;
      std::uint32_t scalar = 0;
      out.memory_size = scalar_size(types, last.type_id, scalar);
      out.memory_type = last.type_id;  // libbpf compares the element type, not the scalar's
    } else if (kind == core_relocation_kind::field_byte_size) {
      out.value = resolve_size(types, last.type_id);
    } else {
      fail(std::string(to_string(kind)) + " cannot be applied to an array element");
    }
    if (validate) *validate = true;
    return out;
  }

  btf_member m = types.members(last.type_id)[last.index];
  btf_type field = skip_modifiers(types, m.type);
  std::uint64_t bit_offset = spec->bit_offset;
  std::uint64_t bit_size = m.bitfield_size;
  std::uint64_t byte_offset = 0, byte_size = 0;
  bool bitfield = bit_size > 0;
  if (bitfield) {
    // The smallest naturally aligned load, starting from the field type's size, that covers it.
    byte_size = field.size_or_type;
    if (byte_size == 0) fail("bitfield of " + type_label(field) + ", which has no size");
    byte_offset = bit_offset / 8 / byte_size * byte_size;
    while (bit_offset + bit_size - byte_offset * 8 > byte_size * 8) {
      if (byte_size >= 8) fail("the bitfield cannot be read with one 64-bit load");
      byte_size *= 2;
      byte_offset = bit_offset / 8 / byte_size * byte_size;
    }
  } else {
    byte_size = resolve_size(types, field.id);
    byte_offset = bit_offset / 8;
    bit_size = byte_size * 8;
  }
  // Bitfield loads are a choice libbpf and clang may make differently: not validated.
  if (validate) *validate = !bitfield;

  switch (kind) {
    case core_relocation_kind::field_byte_offset:
      out.value = byte_offset;
      if (!bitfield) {
        std::uint32_t scalar = 0;
        out.memory_size = scalar_size(types, field.id, scalar);
        out.memory_type = field.id;
      }
      break;
    case core_relocation_kind::field_byte_size: out.value = byte_size; break;
    case core_relocation_kind::field_signed: {
      bool is_signed = (is_any_enum(field.kind) && field.kind_flag) ||
                       (field.kind == btf_kind::integer && (types.integer(field.id).encoding & btf_int_signed));
      out.value = is_signed ? 1 : 0;
      if (validate) *validate = true;
      break;
    }
    case core_relocation_kind::field_lshift_u64:
      // libbpf computes these in 32 bits: a 16-byte field gives 2^32 - 64, not a negative number.
      out.value = static_cast<std::uint32_t>(64 - (bit_offset + bit_size - byte_offset * 8));
      break;
    case core_relocation_kind::field_rshift_u64:
      out.value = static_cast<std::uint32_t>(64 - bit_size);
      if (validate) *validate = true;
      break;
    default: fail("unknown field relocation kind");
  }
  return out;
}

// bpf_core_calc_type_relo. A missing type is 0, never poison.
side_value type_value(core_relocation_kind kind, const core_spec* spec) {
  side_value out;
  if (spec == nullptr) return out;
  switch (kind) {
    case core_relocation_kind::type_id_target: out.value = spec->root_type_id; break;
    case core_relocation_kind::type_exists:
    case core_relocation_kind::type_matches: out.value = 1; break;
    case core_relocation_kind::type_size: out.value = resolve_size(*spec->types, spec->root_type_id); break;
    default: fail("unknown type relocation kind");
  }
  return out;
}

// bpf_core_calc_enumval_relo.
side_value enum_value(core_relocation_kind kind, const core_spec* spec) {
  side_value out;
  if (kind == core_relocation_kind::enumval_exists) {
    out.value = spec ? 1 : 0;
    return out;
  }
  if (spec == nullptr) {
    out.poison = true;
    return out;
  }
  const accessor& a = spec->high[0];
  btf_type t = spec->types->type(a.type_id);
  std::int64_t value = spec->types->enumerators(a.type_id)[a.index].value;
  // libbpf reads a 32-bit enumerator as s32 into a u64, so it is sign-extended even for an
  // unsigned enum; enum64 values are taken as they are.
  if (t.kind == btf_kind::enum_) value = static_cast<std::int32_t>(static_cast<std::uint32_t>(value));
  out.value = static_cast<std::uint64_t>(value);
  return out;
}

// bpf_core_calc_relo: local and target values of one candidate (target_spec null: none).
struct outcome {
  side_value local, target;
  bool validate = true;
  bool memory_size_mismatch = false;
};

outcome calc(core_relocation_kind kind, const core_spec& local_spec, const core_spec* target_spec) {
  outcome o;
  if (is_field_based(kind)) {
    o.local = field_value(kind, &local_spec, &o.validate);
    o.target = field_value(kind, target_spec, nullptr);
    if (!o.target.poison && o.local.memory_size != o.target.memory_size) {
      // Resizing a load is sound for pointers (a 32-bit kernel's pointer read zero-extended) and
      // unsigned integers (zero extension keeps the value); anything else is poisoned when the
      // instruction is a load/store.
      btf_type a = local_spec.types->type(o.local.memory_type);
      btf_type b = target_spec->types->type(o.target.memory_type);
      bool pointers = a.kind == btf_kind::pointer && b.kind == btf_kind::pointer;
      // libbpf compares the whole encoding with BTF_INT_SIGNED: "char" and "bool" count as unsigned.
      bool unsigned_ints = a.kind == btf_kind::integer && b.kind == btf_kind::integer &&
                           local_spec.types->integer(a.id).encoding != btf_int_signed &&
                           target_spec->types->integer(b.id).encoding != btf_int_signed;
      o.memory_size_mismatch = !pointers && !unsigned_ints;
    }
  } else if (is_type_based(kind)) {
    o.local = type_value(kind, &local_spec);
    o.target = type_value(kind, target_spec);
    // A target type id may change when the target's BTF is linked: libbpf does not check it.
    o.validate = kind != core_relocation_kind::type_id_target;
  } else if (is_enumval_based(kind)) {
    o.local = enum_value(kind, &local_spec);
    o.target = enum_value(kind, target_spec);
  } else {
    fail("unknown relocation kind " + num(static_cast<std::uint32_t>(kind)));
  }
  return o;
}

std::string raw_string(const std::vector<std::uint32_t>& raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (i) out += ':';
    out += num(raw[i]);
  }
  return out;
}

// bpf_core_format_spec's C-like part: "task_struct.se.vruntime", "arr[3]", "state::RUNNING".
std::string format_access(const core_spec& spec, core_relocation_kind kind, std::string_view root_name) {
  std::string out = root_name.empty() ? "<anon>" : std::string(root_name);
  if (is_type_based(kind)) return {};
  if (is_enumval_based(kind)) return out + "::" + std::string(spec.high[0].name);
  for (std::size_t i = 0; i < spec.high.size(); ++i) {
    const accessor& a = spec.high[i];
    if (a.named) out += "." + std::string(a.name);
    else if (i > 0 || a.index > 0) out += "[" + num(a.index) + "]";
  }
  return out;
}

std::string resolved_reason(const core_spec& target_spec, core_relocation_kind kind, std::uint32_t count) {
  const btf& target = *target_spec.types;
  std::string out = "matched " + type_label(target.type(target_spec.root_type_id));
  if (count > 1) out += " (and " + num(count - 1) + " agreeing candidate" + (count > 2 ? "s" : "") + ")";
  if (is_field_based(kind)) {
    out += ", access " + raw_string(target_spec.raw) + " (" +
           format_access(target_spec, kind, target.type(target_spec.root_type_id).name) + ") at bit " +
           num(target_spec.bit_offset);
  } else if (is_enumval_based(kind)) {
    out += ", enumerator " + std::string(target_spec.high[0].name);
  }
  return out;
}

}  // namespace

std::string_view to_string(core_relocation_kind kind) noexcept {
  switch (kind) {
    case core_relocation_kind::field_byte_offset: return "byte_off";
    case core_relocation_kind::field_byte_size: return "byte_sz";
    case core_relocation_kind::field_exists: return "field_exists";
    case core_relocation_kind::field_signed: return "signed";
    case core_relocation_kind::field_lshift_u64: return "lshift_u64";
    case core_relocation_kind::field_rshift_u64: return "rshift_u64";
    case core_relocation_kind::type_id_local: return "local_type_id";
    case core_relocation_kind::type_id_target: return "target_type_id";
    case core_relocation_kind::type_exists: return "type_exists";
    case core_relocation_kind::type_size: return "type_size";
    case core_relocation_kind::enumval_exists: return "enumval_exists";
    case core_relocation_kind::enumval_value: return "enumval_value";
    case core_relocation_kind::type_matches: return "type_matches";
  }
  return "unknown";
}

std::string_view core_essential_name(std::string_view name) noexcept {
  // bpf_core_is_flavor_sep: X___Y where X and Y are not underscores; the last one wins.
  if (name.size() < 5) return name;
  for (std::size_t i = name.size() - 4; i-- > 0;) {
    if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_') {
      return name.substr(0, i + 1);
    }
  }
  return name;
}

// Essential name -> target ids, built lazily and only for the kinds relocations ask about: the
// first lookup sorts the ids of named types by kind from the kind bytes btf::parse kept (no
// record or string is read); the first lookup of a kind then hashes the essential names of that kind only (for a
// struct in vmlinux: about 10,000 names of 126,000 types). Each kind's table has the layout of
// btf's name index (btf.cpp): `slots` (open addressing, at most half full) holds the position in
// `ids` of the lowest id of each essential name with its hash; `next` chains each position to the
// next with the same essential name (0 ends a chain; positions are stored plus one).
struct core_target_index::table {
  struct slot {
    std::uint32_t position = 0;  // 0: empty, else position in ids + 1
    std::uint32_t hash = 0;
  };
  struct kind_table {
    std::once_flag built;
    std::vector<std::uint32_t> ids;  // named types of this kind, ascending (btf::named_ids_by_kind)
    std::atomic<std::uint32_t> lookups{0};  // scans so far; past scan_limit the hash is built
    std::vector<slot> slots;
    std::vector<std::uint32_t> next;  // parallel to ids
  };
  std::once_flag walked;
  kind_table kinds[32];  // by btf_kind value; enum64 shares enum's table (one kind for CO-RE)
};

namespace {

std::uint32_t hash_name(std::string_view name) noexcept {
  return static_cast<std::uint32_t>(std::hash<std::string_view>{}(name));
}

}  // namespace

core_target_index::core_target_index(const btf& target) : target_(&target), table_(std::make_unique<table>()) {}
core_target_index::~core_target_index() = default;

// The kinds a candidate can have. Functions, variables, datasecs and decl tags are left out:
// they are most of vmlinux's names (56,000 functions of 71,000 names), and under libbpf's rules a
// relocation whose root is one of them never matches a candidate (type_exists and the other type
// kinds find them incompatible, field and enumerator kinds reject such a root while parsing), so
// finding them changes nothing but the time the index takes.
bool indexed_kind(btf_kind kind) noexcept {
  switch (kind) {
    case btf_kind::function:
    case btf_kind::variable:
    case btf_kind::datasec:
    case btf_kind::decl_tag: return false;
    default: return true;
  }
}

namespace {

std::size_t table_slot(btf_kind kind) noexcept {
  return kind == btf_kind::enum64 ? static_cast<std::size_t>(btf_kind::enum_) : static_cast<std::size_t>(kind);
}

}  // namespace

namespace {

// The kinds a candidate can have, as btf::named_ids_by_kind's mask.
std::uint32_t indexed_kinds_mask() noexcept {
  std::uint32_t mask = 0;
  for (std::uint32_t k = 0; k < 32; ++k)
    if (indexed_kind(static_cast<btf_kind>(k))) mask |= 1u << k;
  return mask;
}

// The named types of `types` and its bases by kind, ascending (a base's ids are all below its
// split BTF's).
void collect_named(const btf& types, std::uint32_t mask, std::array<std::vector<std::uint32_t>, 32>& out) {
  if (types.base()) collect_named(*types.base(), mask, out);
  types.named_ids_by_kind(mask, out);
}

}  // namespace

const core_target_index::table& core_target_index::built() const {
  table& index = *table_;
  std::call_once(index.walked, [&] {
    // One scan of the kind bytes btf::parse kept: no walk of the records.
    std::array<std::vector<std::uint32_t>, 32> lists;
    collect_named(*target_, indexed_kinds_mask(), lists);
    for (std::size_t k = 0; k < 32; ++k) {
      const auto kind = static_cast<btf_kind>(k);
      if (kind == btf_kind::enum64) continue;
      index.kinds[k].ids = std::move(lists[k]);
    }
    // enum64 shares enum's table: merge the two ascending lists.
    auto& enums = index.kinds[table_slot(btf_kind::enum_)].ids;
    const auto& enum64s = lists[static_cast<std::size_t>(btf_kind::enum64)];
    if (!enum64s.empty()) {
      std::vector<std::uint32_t> merged(enums.size() + enum64s.size());
      std::merge(enums.begin(), enums.end(), enum64s.begin(), enum64s.end(), merged.begin());
      enums = std::move(merged);
    }
  });
  return index;
}

// The candidates of `essential` from a kind's hash (Group: core_target_index::table::kind_table,
// deduced because the type is private), building the hash on first use.
namespace {

template <typename Group>
std::vector<std::uint32_t> hashed_candidates(Group& group, const btf& types, std::string_view essential, btf_kind kind) {
  std::vector<std::uint32_t> out;
  std::call_once(group.built, [&] {
    std::size_t capacity = 16;
    while (capacity < group.ids.size() * 2) capacity *= 2;
    group.slots.assign(capacity, {});
    group.next.assign(group.ids.size(), 0);
    const std::size_t mask = capacity - 1;
    // Highest id first, so each one found again becomes the new head: chains end up ascending.
    for (std::size_t position = group.ids.size(); position-- > 0;) {
      const std::string_view essential_name = core_essential_name(types.type(group.ids[position]).name);
      if (essential_name.empty()) continue;
      const std::uint32_t hash = hash_name(essential_name);
      for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
        auto& s = group.slots[i];
        if (s.position == 0) {
          s = {static_cast<std::uint32_t>(position + 1), hash};
          break;
        }
        if (s.hash == hash && core_essential_name(types.type(group.ids[s.position - 1]).name) == essential_name) {
          group.next[position] = s.position;
          s.position = static_cast<std::uint32_t>(position + 1);
          break;
        }
      }
    }
  });
  const std::uint32_t hash = hash_name(essential);
  const std::size_t mask = group.slots.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const auto& s = group.slots[i];
    if (s.position == 0) break;
    if (s.hash != hash || core_essential_name(types.type(group.ids[s.position - 1]).name) != essential) continue;
    for (std::uint32_t position = s.position; position != 0; position = group.next[position - 1]) {
      const std::uint32_t id = group.ids[position - 1];
      if (kinds_compatible(types.kind(id), kind)) out.push_back(id);
    }
    break;
  }
  return out;
}

}  // namespace

namespace {

// Names of a target BTF read where they lie. Standalone BTF (vmlinux): in the string section
// directly, compared before their length is known (a string_view per name would strlen
// thousands of names per lookup); parse() checked every name offset and that the section ends
// with a NUL. Split BTF: through string_at, which finds the base's strings.
class target_names {
 public:
  explicit target_names(const btf& types) : types_(types) {
    if (types.base()) return;
    const std::span<const std::byte> raw = types.bytes();
    std::uint32_t hdr_len = 0, str_off = 0;
    std::memcpy(&hdr_len, raw.data() + 4, 4);
    std::memcpy(&str_off, raw.data() + 16, 4);
    strings_ = reinterpret_cast<const char*>(raw.data()) + hdr_len + str_off;
  }

  // Whether type `id`'s name, up to its flavor, is `essential` (not empty).
  bool essential_is(std::uint32_t id, std::string_view essential) const {
    const std::size_t length = essential.size();
    std::string_view candidate;
    if (strings_) {
      const char* name = strings_ + types_.name_offset(id);
      if (name[0] != essential[0] || std::strncmp(name, essential.data(), length) != 0) return false;
      if (name[length] == '\0') return true;
      candidate = name;
    } else {
      candidate = types_.string_at(types_.name_offset(id));
      if (candidate.size() < length || candidate.compare(0, length, essential) != 0) return false;
      if (candidate.size() == length) return true;
    }
    return core_essential_name(candidate) == essential;
  }

  // The first character of type `id`'s name (its essential name's too).
  char first(std::uint32_t id) const {
    if (strings_) return strings_[types_.name_offset(id)];
    const std::string_view name = types_.string_at(types_.name_offset(id));
    return name.empty() ? '\0' : name.front();
  }

 private:
  const btf& types_;
  const char* strings_ = nullptr;
};

// Split BTF (a module's over vmlinux): libbpf looks in vmlinux first and in modules only when
// vmlinux has no candidate (bpf_core_find_cands in src/libbpf.c).
void prefer_base(const btf& types, std::vector<std::uint32_t>& out) {
  if (const std::uint32_t first_own = types.first_own_id(); first_own > 1 && !out.empty() && out.front() < first_own) {
    out.erase(std::lower_bound(out.begin(), out.end(), first_own), out.end());
  }
}

}  // namespace

std::vector<std::uint32_t> core_target_index::candidates(std::string_view name, btf_kind kind) const {
  std::vector<std::uint32_t> out;
  std::string_view essential = core_essential_name(name);
  if (essential.empty() || !indexed_kind(kind)) return out;
  table& index = const_cast<table&>(built());  // the kind tables below are filled under call_once
  table::kind_table& group = index.kinds[table_slot(kind)];
  const btf& types = *target_;
  // The first lookups of a kind scan its ids, comparing names in place: an object relocates
  // against a handful of types, and a scan of vmlinux's ~10,000 structs for one name costs less
  // than hashing all of their names once. An object asking for many types gets the hash.
  constexpr std::uint32_t scan_limit = 16;
  if (group.lookups.fetch_add(1, std::memory_order_relaxed) < scan_limit) {
    const target_names names(types);
    for (const std::uint32_t id : group.ids)
      if (names.essential_is(id, essential) && kinds_compatible(types.kind(id), kind)) out.push_back(id);
  } else {
    out = hashed_candidates(group, types, essential, kind);
  }
  prefer_base(types, out);
  return out;
}

std::vector<std::vector<std::uint32_t>> core_target_index::candidates(
    std::span<const std::pair<std::string_view, btf_kind>> queries) const {
  std::vector<std::vector<std::uint32_t>> out(queries.size());
  const btf& types = *target_;
  const target_names names(types);
  // Per kind: the queries of that kind (enum and enum64 together), and the first characters
  // they start with, so that a target name no query can match is passed over after one load.
  struct kind_queries {
    std::vector<std::size_t> which;
    std::uint64_t first_chars[4] = {};
  };
  std::array<kind_queries, 32> by_kind;
  std::uint32_t kinds = 0;
  std::vector<std::string_view> essentials(queries.size());
  for (std::size_t q = 0; q < queries.size(); ++q) {
    essentials[q] = core_essential_name(queries[q].first);
    const btf_kind kind = queries[q].second;
    if (essentials[q].empty() || !indexed_kind(kind)) continue;
    kind_queries& group = by_kind[table_slot(kind)];
    group.which.push_back(q);
    const auto c = static_cast<unsigned char>(essentials[q].front());
    group.first_chars[c >> 6] |= std::uint64_t{1} << (c & 63);
    kinds |= 1u << static_cast<std::uint32_t>(kind);
    if (is_any_enum(kind)) kinds |= 1u << static_cast<std::uint32_t>(btf_kind::enum_) | 1u << static_cast<std::uint32_t>(btf_kind::enum64);
  }
  if (kinds == 0) return out;
  // One pass per asked kind over the named types (a memchr over the kind bytes btf::parse
  // kept) of the target and its bases: no per-kind id lists are written (built() would write
  // 58 KB for vmlinux, and fresh memory is the expensive part of a short-lived process). The
  // lists are sorted after, for the queries whose kind table spans two kinds (enum and enum64)
  // and for split BTF. A group holds only queries of kinds compatible with its ids' kind.
  const auto visit = [&](std::uint32_t id, btf_kind kind) {
    const kind_queries& group = by_kind[table_slot(kind)];
    const auto c = static_cast<unsigned char>(names.first(id));
    if (!(group.first_chars[c >> 6] >> (c & 63) & 1u)) return;
    for (const std::size_t q : group.which)
      if (names.essential_is(id, essentials[q])) out[q].push_back(id);
  };
  for (std::uint32_t k = 0; k < 32; ++k)
    if (kinds >> k & 1u)
      for (const btf* t = &types; t != nullptr; t = t->base()) t->for_each_named_id(1u << k, visit);
  for (auto& list : out) {
    std::sort(list.begin(), list.end());
    prefer_base(types, list);
  }
  return out;
}

core_candidate_cache::core_candidate_cache(const btf& target)
    : index_(std::make_shared<const core_target_index>(target)) {}

core_candidate_cache::core_candidate_cache(std::shared_ptr<const core_target_index> index)
    : index_(std::move(index)) {
  if (!index_) throw_error(errc::invalid_argument, "CO-RE candidate cache: null target index");
}

void core_candidate_cache::bind(const btf& local) {
  if (local_ == nullptr) local_ = &local;
  if (local_ != &local) {
    throw_error(errc::invalid_argument,
                "CO-RE candidate cache: used with a second local BTF (the lists are per object)");
  }
}

void core_candidate_cache::prefetch(const btf& local, std::span<const std::uint32_t> local_type_ids) {
  bind(local);
  std::vector<std::uint32_t> ids;
  std::vector<std::pair<std::string_view, btf_kind>> queries;
  for (const std::uint32_t id : local_type_ids) {
    if (lists_.contains(id) || std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
    const btf_type t = local.type(id);
    ids.push_back(id);
    queries.emplace_back(t.name, t.kind);
  }
  if (ids.empty()) return;
  auto lists = index_->candidates(queries);
  for (std::size_t i = 0; i < ids.size(); ++i) lists_.emplace(ids[i], std::move(lists[i]));
}

std::vector<std::uint32_t>& core_candidate_cache::candidates(const btf& local, std::uint32_t local_type_id) {
  bind(local);
  auto found = lists_.find(local_type_id);
  if (found != lists_.end()) return found->second;
  btf_type t = local.type(local_type_id);
  return lists_.emplace(local_type_id, index_->candidates(t.name, t.kind)).first->second;
}

std::string describe(const core_relocation_result& r) {
  std::string out = "CO-RE relocation " + std::string(to_string(r.kind)) + " of " +
                    std::string(to_string(r.local_type_kind)) + " " +
                    (r.local_type_name.empty() ? std::string("<anon>") : r.local_type_name) + " [" +
                    num(r.local_type_id) + "] access " + r.access_string;
  if (!r.local_access.empty()) out += " (" + r.local_access + ")";
  return out + " at instruction " + num(r.instruction);
}

core_relocation_result compute_core_relocation(const btf& local, const btf_core_relocation& relocation,
                                               const btf& target, core_candidate_cache& cache) {
  if (&target != &cache.index().target()) {
    throw_error(errc::invalid_argument, "CO-RE relocation: the candidate cache was made for another target BTF");
  }
  cache.bind(local);
  if (relocation.type_id >= local.type_count()) {
    throw_error(errc::invalid_argument, "CO-RE relocation at instruction " + num(relocation.instruction) +
                                            ": type " + num(relocation.type_id) + " is not in the local BTF");
  }
  core_relocation_result r;
  r.instruction = relocation.instruction;
  r.kind = relocation.kind;
  r.local_type_id = relocation.type_id;
  btf_type local_type = local.type(relocation.type_id);
  r.local_type_kind = local_type.kind;
  r.local_type_name = std::string(local_type.name);
  r.access_string = std::string(relocation.access_string);

  try {
    budget steps;
    core_spec local_spec = parse_spec(local, relocation.type_id, relocation.access_string, relocation.kind);
    r.local_access = format_access(local_spec, relocation.kind, local_type.name);

    // A local type id needs no target: linking may renumber it, so it is not validated either.
    if (relocation.kind == core_relocation_kind::type_id_local) {
      r.local_value = r.target_value = relocation.type_id;
      r.validate = false;
      r.reason = "local type id";
      return r;
    }
    // bpf_core_find_cands refuses anonymous types: there is no name to look the target up by.
    if (local_type.name.empty()) fail("an anonymous type has no target candidates");

    std::vector<std::uint32_t>& candidates = cache.candidates(local, relocation.type_id);
    std::vector<std::uint32_t> matching;  // replaces the list only once the relocation succeeded
    core_spec chosen, candidate_spec;
    outcome result;
    std::string first_mismatch;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
      std::string why;
      int matched = match_spec(local_spec, relocation.kind, target, candidates[i], candidate_spec, steps, why);
      if (matched == 0) {
        if (first_mismatch.empty()) first_mismatch = why;
        continue;
      }
      outcome o = calc(relocation.kind, local_spec, &candidate_spec);
      if (matching.empty()) {
        result = o;
        chosen = candidate_spec;
      } else if (candidate_spec.bit_offset != chosen.bit_offset) {
        fail("ambiguous: candidates " + type_label(target.type(chosen.root_type_id)) + " and " +
             type_label(target.type(candidate_spec.root_type_id)) + " put the field at different bit offsets (" +
             num(chosen.bit_offset) + " and " + num(candidate_spec.bit_offset) + ")");
      } else if (o.target.poison != result.target.poison || o.target.value != result.target.value) {
        fail("ambiguous: candidates " + type_label(target.type(chosen.root_type_id)) + " and " +
             type_label(target.type(candidate_spec.root_type_id)) + " give different values (" +
             num(result.target.value) + " and " + num(o.target.value) + ")");
      }
      matching.push_back(candidates[i]);
    }

    if (!matching.empty()) {
      const std::size_t kept = matching.size(), considered = candidates.size();
      // libbpf keeps only the matching candidates for the type's later relocations.
      candidates = std::move(matching);
      r.target_type_id = chosen.root_type_id;
      r.target_access_string = raw_string(chosen.raw);
      r.candidates = static_cast<std::uint32_t>(kept);
      r.reason = resolved_reason(chosen, relocation.kind, static_cast<std::uint32_t>(kept));
      if (considered > kept) r.reason += "; " + num(considered - kept) + " other candidate(s) did not match";
    } else {
      // Nothing matched: "exists" and type kinds say 0, the rest poison the instruction.
      result = calc(relocation.kind, local_spec, nullptr);
      std::string what = std::string(to_string(local_type.kind)) + " '" +
                         std::string(core_essential_name(local_type.name)) + "'";
      if (candidates.empty()) {
        r.reason = "the target has no " + what;
      } else {
        r.reason = "none of " + num(candidates.size()) + " candidate(s) for " + what + " matches: " + first_mismatch;
      }
    }
    r.local_value = result.local.value;
    r.target_value = result.target.value;
    r.poisoned = result.target.poison;
    r.validate = result.validate;
    r.local_memory_size = result.local.memory_size;
    r.target_memory_size = result.target.memory_size;
    r.memory_size_mismatch = result.memory_size_mismatch;
    if (r.poisoned) r.reason = "poisoned: " + r.reason;
    return r;
  } catch (const core_failure& e) {
    throw_error(errc::relocation_failed, describe(r) + ": " + e.message);
  } catch (const error& e) {
    // A btf accessor refused (a type of an unexpected kind in hostile BTF): still this relocation's failure.
    throw_error(errc::relocation_failed, describe(r) + ": " + e.what());
  }
}

namespace {

void poison(instruction& insn) {
  insn.code = call_code;
  insn.registers = 0;
  insn.offset = 0;
  insn.imm = core_poison_imm;
}

int size_bytes(std::uint8_t code) {
  switch (code & 0x18) {  // BPF_SIZE
    case 0x18: return 8;  // BPF_DW
    case 0x00: return 4;  // BPF_W
    case 0x08: return 2;  // BPF_H
    default: return 1;    // BPF_B (0x10)
  }
}

std::optional<std::uint8_t> size_code(std::uint32_t bytes) {
  switch (bytes) {
    case 8: return std::uint8_t{0x18};
    case 4: return std::uint8_t{0x00};
    case 2: return std::uint8_t{0x08};
    case 1: return std::uint8_t{0x10};
    default: return std::nullopt;
  }
}

}  // namespace

void apply_core_relocation(std::span<instruction> instructions, const core_relocation_result& r) {
  auto failure = [&](const std::string& cause) { throw_error(errc::relocation_failed, describe(r) + ": " + cause); };
  if (r.instruction >= instructions.size()) {
    failure("the instruction is beyond the " + num(instructions.size()) + " instructions");
  }
  instruction& insn = instructions[r.instruction];
  const bool wide = insn.code == ld_imm64_code;
  if (wide && r.instruction + 1 >= instructions.size()) failure("ld_imm64 without its second half");

  if (r.poisoned) {
    // Both halves of an ld_imm64, or the verifier would complain about "unknown opcode 00"
    // instead of the poison call.
    if (wide) poison(instructions[r.instruction + 1]);
    poison(insn);
    return;
  }
  auto value_mismatch = [&](std::int64_t actual) {
    failure("the instruction holds " + std::to_string(actual) + ", expected " + num(r.local_value) +
            " (relocated to " + num(r.target_value) + ")");
  };

  switch (insn.code & 0x07) {
    case class_alu:
    case class_alu64:
      if (insn.code & source_x) failure("ALU instruction with a register operand, not an immediate");
      // libbpf compares the s32 immediate, sign-extended, with the 64-bit value.
      if (r.validate && static_cast<std::uint64_t>(std::int64_t{insn.imm}) != r.local_value) value_mismatch(insn.imm);
      insn.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(r.target_value));
      return;
    case class_ldx:
    case class_st:
    case class_stx: {
      if (r.validate && static_cast<std::uint64_t>(std::int64_t{insn.offset}) != r.local_value) {
        value_mismatch(insn.offset);
      }
      if (r.target_value > static_cast<std::uint64_t>(short_max)) {
        failure("the new offset " + num(r.target_value) + " does not fit in the instruction's 16 bits");
      }
      if (r.memory_size_mismatch) {
        // The field changed size and is not a pointer or an unsigned integer: a resized access
        // would read a wrong value, so the program must not use it (libbpf poisons too).
        poison(insn);
        return;
      }
      insn.offset = static_cast<std::int16_t>(r.target_value);
      if (r.target_memory_size != r.local_memory_size) {
        if (size_bytes(insn.code) != static_cast<int>(r.local_memory_size)) {
          failure("the access is " + num(static_cast<std::uint64_t>(size_bytes(insn.code))) +
                  " bytes wide, the local field is " + num(r.local_memory_size));
        }
        auto code = size_code(r.target_memory_size);
        if (!code) failure("the target field's size " + num(r.target_memory_size) + " is not 1, 2, 4 or 8 bytes");
        insn.code = static_cast<std::uint8_t>((insn.code & 0xe0) | *code | (insn.code & 0x07));
      }
      return;
    }
    case class_ld: {
      const instruction& second = instructions[r.instruction + 1];
      if (!wide || insn.src() != 0 || insn.offset != 0 || second.code != 0 || second.registers != 0 ||
          second.offset != 0) {
        failure("not a plain ld_imm64 (code " + num(insn.code) + ")");
      }
      std::uint64_t current = std::uint64_t{static_cast<std::uint32_t>(insn.imm)} |
                              (std::uint64_t{static_cast<std::uint32_t>(second.imm)} << 32);
      if (r.validate && current != r.local_value) {
        failure("the instruction holds " + num(current) + ", expected " + num(r.local_value) + " (relocated to " +
                num(r.target_value) + ")");
      }
      insn.imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(r.target_value));
      instructions[r.instruction + 1].imm = static_cast<std::int32_t>(static_cast<std::uint32_t>(r.target_value >> 32));
      return;
    }
    default:
      failure("a jump or call (code " + num(insn.code) + ") cannot take a CO-RE relocation");
  }
}

std::optional<std::uint32_t> core_poison_instruction(std::string_view log) noexcept {
  // The verifier prints each instruction it walks as "N: (85) call unknown#195896080" before it
  // fails on the unknown helper (kernel/bpf/verifier.c, check_helper_call).
  constexpr std::string_view needle = ": (85) call unknown#195896080";
  std::optional<std::uint32_t> found;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string_view::npos) end = log.size();
    std::string_view line = log.substr(start, end - start);
    std::size_t digits = 0;
    std::uint64_t value = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9' && value <= 0xffffffffu) {
      value = value * 10 + static_cast<std::uint64_t>(line[digits] - '0');
      ++digits;
    }
    if (digits > 0 && value <= 0xffffffffu && line.substr(digits, needle.size()) == needle) {
      found = static_cast<std::uint32_t>(value);
    }
    start = end + 1;
  }
  return found;
}

namespace detail {

bool core_types_are_compatible(const btf& local, std::uint32_t local_id, const btf& target, std::uint32_t target_id,
                               bool forwards_match) {
  budget steps;
  return types_compatible(local, local_id, target, target_id, max_compat_depth, steps, forwards_match);
}

}  // namespace detail

}  // namespace ebpf
