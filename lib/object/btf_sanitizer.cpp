// BTF sanitizing: libbpf's rewrites (src/libbpf.c bpf_object__sanitize_btf) of BTF kinds an older
// kernel rejects into older kinds with records of the same size. Same size matters: type ids
// stay what func_info, line_info, map definitions and CO-RE records refer to.
//
// Record tails that are reinterpreted (each 12 or 8 bytes, so no record moves):
//   btf_var_secinfo {type, offset, size}  -> btf_member {name_off, type, bit offset}
//   btf_enum64 {name_off, lo32, hi32}     -> btf_member {name_off, type, bit offset}
//   btf_param {name_off, type}            -> btf_enum {name_off, value}
//   btf_var {linkage}, btf_decl_tag {component_idx} -> int encoding word
#include <ebpf/btf_sanitizer.hpp>
#include <ebpf/error.hpp>

#include <cstring>
#include <string>
#include <vector>

namespace ebpf {
namespace {

constexpr std::size_t header = 12;  // name_off, info, size_or_type

void store(std::byte* p, std::uint32_t v) noexcept { std::memcpy(p, &v, 4); }

std::uint32_t info(btf_kind kind, std::uint32_t vlen, bool kind_flag) noexcept {
  return (kind_flag ? 1u << 31 : 0u) | (static_cast<std::uint32_t>(kind) << 24) | (vlen & 0xffff);
}

// BTF_INT_ENC(encoding, offset, bits)
constexpr std::uint32_t int_8_bits = 8;

bool unsupported(const btf_type& t, const btf_features& f) noexcept {
  switch (t.kind) {
    case btf_kind::variable: return !f.datasec;
    case btf_kind::datasec: return !f.datasec || (!f.qmark_datasec && !t.name.empty() && t.name[0] == '?');
    case btf_kind::function_proto: return !f.func;
    case btf_kind::function: return !f.func || (!f.func_global && t.vlen != 0);
    case btf_kind::floating: return !f.floating;
    case btf_kind::decl_tag: return !f.decl_tag;
    case btf_kind::type_tag: return !f.type_tag;
    case btf_kind::enum_: return !f.enum64 && t.kind_flag;
    case btf_kind::enum64: return !f.enum64;
    default: return false;
  }
}

}  // namespace

bool needs_sanitizing(const btf& types, const btf_features& supported) noexcept {
  try {
    for (std::uint32_t id = types.first_own_id(); id < types.type_count(); ++id)
      if (unsupported(types.type(id), supported)) return true;
  } catch (...) {
    // type() cannot fail for ids below type_count(); nothing to rewrite then.
  }
  return false;
}

btf sanitize_btf(const btf& types, const btf_features& f) {
  btf out = types;
  if (!needs_sanitizing(types, f)) return out;
  // The placeholder member type of rewritten ENUM64s, appended before the loop (libbpf appends
  // it at the first ENUM64; no other type is added, so the id is the same).
  std::uint32_t enum64_placeholder = 0;
  if (!f.enum64) {
    for (std::uint32_t id = types.first_own_id(); id < types.type_count(); ++id) {
      if (types.kind(id) != btf_kind::enum64) continue;
      const std::uint32_t name = out.add_string("enum64_placeholder");
      std::vector<std::byte> record(header + 4);
      store(record.data(), name);
      store(record.data() + 4, info(btf_kind::integer, 0, false));
      store(record.data() + 8, 1);
      store(record.data() + 12, int_8_bits);
      enum64_placeholder = out.add_type(record);
      break;
    }
  }
  for (std::uint32_t id = types.first_own_id(); id < types.type_count(); ++id) {
    const btf_type t = types.type(id);
    if (!unsupported(t, f)) continue;
    std::span<std::byte> r = out.record(id);
    std::byte* tail = r.data() + header;
    if ((t.kind == btf_kind::variable && !f.datasec) || (t.kind == btf_kind::decl_tag && !f.decl_tag)) {
      // An INT of 1 byte: 4 would fail the kernel's check when the variable was smaller.
      store(r.data() + 4, info(btf_kind::integer, 0, false));
      store(r.data() + 8, 1);
      store(tail, int_8_bits);
    } else if (t.kind == btf_kind::datasec && !f.datasec) {
      // A STRUCT named like the section with '.'/'?' made '_' (not C identifiers), one member per
      // variable, named after it.
      std::string name(t.name);
      for (char& c : name)
        if (c == '.' || c == '?') c = '_';
      const auto vars = types.datasec_vars(id);
      const std::uint32_t name_off = name == t.name ? types.name_offset(id) : out.add_string(name);
      r = out.record(id);  // add_string moved the blob
      tail = r.data() + header;
      store(r.data(), name_off);
      store(r.data() + 4, info(btf_kind::struct_, t.vlen, false));
      for (std::size_t j = 0; j < vars.size(); ++j) {
        std::byte* m = tail + j * 12;
        store(m, types.name_offset(vars[j].type));
        store(m + 4, vars[j].type);
        store(m + 8, vars[j].offset * 8);
      }
    } else if (t.kind == btf_kind::datasec) {  // only the '?' prefix is unsupported
      std::string name(t.name);
      name[0] = '_';
      const std::uint32_t name_off = out.add_string(name);
      store(out.record(id).data(), name_off);
    } else if (t.kind == btf_kind::function_proto) {
      // The kernel wants 4-byte enums; the parameters' (name, type) pairs become enumerators.
      store(r.data() + 4, info(btf_kind::enum_, t.vlen, false));
      store(r.data() + 8, 4);
    } else if (t.kind == btf_kind::function && !f.func) {
      store(r.data() + 4, info(btf_kind::typedef_, 0, false));
    } else if (t.kind == btf_kind::function) {  // global linkage unsupported
      store(r.data() + 4, info(btf_kind::function, 0, false));
    } else if (t.kind == btf_kind::floating) {
      // Anonymous: "float" is no valid struct name for a C compiler (bpftool dump).
      store(r.data(), 0);
      store(r.data() + 4, info(btf_kind::struct_, 0, false));
    } else if (t.kind == btf_kind::type_tag) {
      store(r.data(), 0);
      store(r.data() + 4, info(btf_kind::const_, 0, false));
    } else if (t.kind == btf_kind::enum_) {
      store(r.data() + 4, info(btf_kind::enum_, t.vlen, false));
    } else if (t.kind == btf_kind::enum64) {
      store(r.data() + 4, info(btf_kind::union_, t.vlen, false));
      for (std::uint32_t j = 0; j < t.vlen; ++j) {
        std::byte* m = tail + j * 12;  // the enumerator's name_off stays as the member's name
        store(m + 4, enum64_placeholder);
        store(m + 8, 0);
      }
    }
  }
  return out;
}

}  // namespace ebpf
