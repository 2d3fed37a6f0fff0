// ebpfpp: kernel configuration values for `extern ... __kconfig` declarations. Pure: no kernel.
//
// A BPF object may declare `extern int CONFIG_HZ __kconfig;` (or bool, enum libbpf_tristate,
// char, char[N]); the loader fills a read-only .kconfig map with the running kernel's values
// (/boot/config-$(uname -r) or /proc/config.gz) plus libbpf's virtual LINUX_* values. These
// functions are the parsing and encoding half, with libbpf's rules (src/libbpf.c,
// bpf_object__process_kconfig_line and set_kcfg_value_*), so the same config gives the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include <ebpf/object_spec.hpp>

namespace ebpf {

/// Parses kernel config text: `CONFIG_NAME=value` lines; comments ("# CONFIG_X is not set") and
/// other lines are skipped. The first assignment of a name wins. Values are kept as written
/// (y/n/m, quoted strings, decimal/hex/octal numbers).
/// Throws: ebpf::error(errc::invalid_argument) naming the line for "CONFIG_X" without '=' or
/// without a value.
std::map<std::string, std::string, std::less<>> parse_kconfig(std::string_view text);

/// Writes `value` (as parse_kconfig keeps it) into `out` (the extern's `size` bytes of the .kconfig
/// map) according to the extern's type: y/n/m for bool (y/n only), tristate and char; a quoted
/// string for a char array (truncated to size-1 plus NUL); a number for integers, char and bool
/// (0/1), which must fit the type's size and signedness.
/// Throws: ebpf::error(errc::invalid_argument) naming the extern and value when they do not
/// agree (libbpf refuses the same cases).
void encode_kconfig_value(const extern_spec& spec, std::string_view value, std::span<std::byte> out);

/// Writes a number (a LINUX_* virtual value) into `out`. Throws: as encode_kconfig_value.
void encode_kconfig_number(const extern_spec& spec, std::uint64_t value, std::span<std::byte> out);

/// KERNEL_VERSION(a, b, c) of a `uname -r` release string ("6.18.44-fc-v769" -> 6.18.44, the
/// patch level capped at 255 as the kernel's own macro does). 0 when it does not start with a.b.
std::uint32_t kernel_version_of_release(std::string_view release) noexcept;

}  // namespace ebpf
