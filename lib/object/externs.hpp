// Externs of an object: classification from BTF, the .kconfig layout and the BTF fix-ups that make
// an object's BTF with externs loadable. Pure (used by object_spec::parse).
#pragma once

#include <ebpf/object_spec.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf::detail {

/// One undefined ELF symbol, as object_spec::parse found it.
struct extern_symbol {
  std::string_view name;
  bool weak = false;
};

/// Classifies `symbols` with the object's BTF (may be null: every extern is then `unknown`),
/// orders them as libbpf does, lays out the .kconfig values, rewrites the BTF so the kernel accepts
/// it, and returns the externs plus (when there are kconfig externs) the .kconfig map.
/// `subject` prefixes messages ("object 'x.bpf.o'").
/// Throws: ebpf::error(errc::invalid_object) for an extern libbpf refuses too: a function under
/// .kconfig, a kconfig type that is not bool/tristate/char/integer/char array, an extern in
/// another DATASEC.
struct extern_layout {
  std::vector<extern_spec> externs;
  std::optional<map_spec> kconfig_map;
};
extern_layout lay_out_externs(const std::vector<extern_symbol>& symbols, btf* types, const std::string& subject);

}  // namespace ebpf::detail
