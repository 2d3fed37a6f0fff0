// Fuzz target: btf::parse on arbitrary bytes, then every accessor on every type of what parsed.
// Only ebpf::error may come out of the library; the invariants below crash when broken.
#include <ebpf/btf.hpp>
#include <ebpf/btf_sanitizer.hpp>
#include <ebpf/error.hpp>

#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace {

// Calls that may legitimately reject a well-formed BTF (size_of a function, a modifier loop).
template <typename F>
void tolerate(F&& f) {
  try {
    f();
  } catch (const ebpf::error& e) {
    FUZZ_CHECK(e.code() == ebpf::errc::invalid_btf || e.code() == ebpf::errc::invalid_argument);
  }
}

void exercise(const ebpf::btf& types, std::span<const std::byte> input) {
  FUZZ_CHECK(types.type_count() >= 1);
  FUZZ_CHECK(std::equal(input.begin(), input.end(), types.bytes().begin(), types.bytes().end()));
  for (std::uint32_t id = 0; id < types.type_count(); ++id) {
    ebpf::btf_type t = types.type(id);
    FUZZ_CHECK(t.id == id);
    switch (t.kind) {
      case ebpf::btf_kind::struct_:
      case ebpf::btf_kind::union_:
        for (const auto& m : types.members(id)) FUZZ_CHECK(m.type < types.type_count());
        break;
      case ebpf::btf_kind::enum_:
      case ebpf::btf_kind::enum64: FUZZ_CHECK(types.enumerators(id).size() == t.vlen); break;
      case ebpf::btf_kind::function_proto:
        for (const auto& p : types.parameters(id)) FUZZ_CHECK(p.type < types.type_count());
        break;
      case ebpf::btf_kind::datasec:
        for (const auto& v : types.datasec_vars(id)) FUZZ_CHECK(v.type < types.type_count());
        break;
      case ebpf::btf_kind::array: {
        auto a = types.array(id);
        FUZZ_CHECK(a.element_type < types.type_count() && a.index_type < types.type_count());
        break;
      }
      case ebpf::btf_kind::integer: FUZZ_CHECK(types.integer(id).bits <= 128); break;
      case ebpf::btf_kind::variable: FUZZ_CHECK(types.var_linkage(id) <= 2); break;
      case ebpf::btf_kind::function: FUZZ_CHECK(types.func_linkage(id) <= 2); break;
      case ebpf::btf_kind::decl_tag: FUZZ_CHECK(types.decl_tag_component(id) >= -1); break;
      default: break;
    }
    if (t.kind != ebpf::btf_kind::unknown) {
      FUZZ_CHECK(t.size_or_type < types.type_count() || t.kind == ebpf::btf_kind::integer ||
                 t.kind == ebpf::btf_kind::struct_ || t.kind == ebpf::btf_kind::union_ ||
                 t.kind == ebpf::btf_kind::enum_ || t.kind == ebpf::btf_kind::enum64 ||
                 t.kind == ebpf::btf_kind::datasec || t.kind == ebpf::btf_kind::floating);
    }
    tolerate([&] { FUZZ_CHECK(types.skip_modifiers_and_typedefs(id) < types.type_count()); });
    tolerate([&] { (void)types.size_of(id); });
    if (!t.name.empty()) {
      auto any = types.find(t.name);
      FUZZ_CHECK(any && *any <= id && types.type(*any).name == t.name);
      auto same_kind = types.find(t.name, t.kind);
      FUZZ_CHECK(same_kind && *same_kind <= id && types.type(*same_kind).kind == t.kind);
    }
  }
  FUZZ_CHECK(!types.find("", ebpf::btf_kind::integer));

  // The fix-ups used before loading keep the blob parseable, unless the new layout itself is
  // invalid (a variable beyond the section), which parse reports as an error.
  ebpf::btf copy = types;
  for (std::uint32_t id = 1; id < copy.type_count(); ++id) {
    if (copy.type(id).kind != ebpf::btf_kind::datasec) continue;
    copy.set_datasec_size(id, 0);  // 0 means "not yet known": never rejected
    for (std::uint32_t i = 0; i < copy.type(id).vlen; ++i) copy.set_datasec_var_offset(id, i, 0);
  }
  ebpf::btf reparsed = ebpf::btf::parse(copy.bytes());
  FUZZ_CHECK(reparsed.type_count() == types.type_count());
  FUZZ_CHECK(!types.find("no such name, ever"));
}

}  // namespace

// The structural-only parse (kernel BTF) and split parsing over a small base must never crash
// either: accessors of what they accept may throw ebpf::error, nothing else.
void exercise_lenient(std::span<const std::byte> input) {
  static const auto base = [] {
    // [1] int "int" 4 bytes; strings "\0int\0"
    const std::uint8_t raw[] = {0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0, 5, 0, 0, 0,
                                1,    0,    0, 0, 0,  0, 0, 1, 4, 0, 0, 0, 32, 0, 0, 0, 0, 'i', 'n', 't', 0};
    return std::make_shared<const ebpf::btf>(ebpf::btf::parse(std::as_bytes(std::span(raw))));
  }();
  for (int mode = 0; mode < 2; ++mode) {
    ebpf::btf_parse_options options;
    options.check_kind_rules = mode == 0 ? false : true;
    if (mode == 1) options.base = base;
    std::optional<ebpf::btf> types;
    try {
      types = ebpf::btf::parse(input, options);
    } catch (const ebpf::error& e) {
      FUZZ_CHECK(e.code() == ebpf::errc::invalid_btf);
      continue;
    }
    for (std::uint32_t id = 0; id < types->type_count(); ++id) {
      try {
        const ebpf::btf_type t = types->type(id);
        FUZZ_CHECK(types->kind(id) == t.kind);
        if (!t.name.empty()) FUZZ_CHECK(types->find(t.name, t.kind).value_or(id + 1) <= id);
        (void)types->size_of(id);
        if (t.kind == ebpf::btf_kind::struct_ || t.kind == ebpf::btf_kind::union_) (void)types->members(id);
        if (t.kind == ebpf::btf_kind::enum_ || t.kind == ebpf::btf_kind::enum64) (void)types->enumerators(id);
      } catch (const ebpf::error&) {
        // allowed: the lenient parse leaves references and names inside records unchecked
      }
    }
    try {
      ebpf::btf_features none;
      none.func = none.func_global = none.datasec = none.qmark_datasec = none.floating = none.decl_tag =
          none.type_tag = none.enum64 = false;
      (void)ebpf::sanitize_btf(*types, none);
    } catch (const ebpf::error&) {
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  exercise_lenient(input);
  std::optional<ebpf::btf> types;
  try {
    types = ebpf::btf::parse(input);
  } catch (const ebpf::error& e) {
    FUZZ_CHECK(e.code() == ebpf::errc::invalid_btf && e.what()[0] != '\0');
    return 0;
  }
  // Once parsed, nothing but the tolerated calls may fail: a throw here is a parser bug.
  try {
    exercise(*types, input);
  } catch (const ebpf::error& e) {
    std::fprintf(stderr, "accepted BTF failed later: %s\n", e.what());
    std::abort();
  }
  return 0;
}
