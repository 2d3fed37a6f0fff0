// Kernel config parsing and .kconfig value encoding (see include/ebpf/kconfig.hpp).
#include <ebpf/error.hpp>
#include <ebpf/kconfig.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace ebpf {
namespace {

std::string subject_of(const extern_spec& spec) { return "extern (kconfig) '" + spec.name + "'"; }

[[noreturn]] void refuse(const extern_spec& spec, std::string_view value, const std::string& why) {
  throw_error(errc::invalid_argument, subject_of(spec) + ": value '" + std::string(value) + "': " + why);
}

void store(std::span<std::byte> out, std::uint64_t value, std::size_t size) {
  // Little-endian hosts only, like the rest of the loader: the low `size` bytes.
  std::memcpy(out.data(), &value, size);
}

// strtoull with base 0 (decimal, 0x hex, 0 octal), as libbpf's parse_u64; the whole text must
// be the number. A leading '-' wraps as strtoull does: libbpf's range check then decides.
bool parse_number(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 64) return false;
  char buffer[65];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  value = std::strtoull(buffer, &end, 0);
  return errno == 0 && end == buffer + text.size();
}

}  // namespace

std::map<std::string, std::string, std::less<>> parse_kconfig(std::string_view text) {
  std::map<std::string, std::string, std::less<>> values;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 7) != "CONFIG_") continue;
    auto equals = line.find('=');
    if (equals == std::string_view::npos)
      throw_error(errc::invalid_argument, "kernel config: line " + std::to_string(line_number) + " '" + std::string(line) + "': no '='");
    if (equals + 1 == line.size())
      throw_error(errc::invalid_argument, "kernel config: line " + std::to_string(line_number) + " '" + std::string(line) + "': no value");
    values.emplace(std::string(line.substr(0, equals)), std::string(line.substr(equals + 1)));
  }
  return values;
}

void encode_kconfig_number(const extern_spec& spec, std::uint64_t value, std::span<std::byte> out) {
  const std::string text = std::to_string(value);
  if (spec.value_type != kconfig_value_type::integer && spec.value_type != kconfig_value_type::character &&
      spec.value_type != kconfig_value_type::boolean)
    refuse(spec, text, "a number needs an integer, char or bool extern");
  if (spec.value_type == kconfig_value_type::boolean && value > 1) refuse(spec, text, "not a boolean (0 or 1)");
  if (out.size() < spec.size || (spec.size != 1 && spec.size != 2 && spec.size != 4 && spec.size != 8))
    refuse(spec, text, "the extern's size " + std::to_string(spec.size) + " cannot hold a number");
  if (spec.size < 8) {
    const unsigned bits = spec.size * 8;
    // Signed: -2^(bits-1) <= v < 2^(bits-1), checked as v + 2^(bits-1) < 2^bits in 64-bit
    // wrap-around arithmetic (libbpf's is_kcfg_value_in_range).
    const bool fits = spec.is_signed ? value + (std::uint64_t{1} << (bits - 1)) < (std::uint64_t{1} << bits)
                                     : (value >> bits) == 0;
    if (!fits) refuse(spec, text, "does not fit in " + std::to_string(spec.size) + " bytes");
  }
  store(out, value, spec.size);
}

void encode_kconfig_value(const extern_spec& spec, std::string_view value, std::span<std::byte> out) {
  if (value.empty()) refuse(spec, value, "empty");
  if (out.size() < spec.size) refuse(spec, value, "the output is smaller than the extern");
  switch (value.front()) {
    case 'y':
    case 'n':
    case 'm': {
      const char letter = value.front();
      switch (spec.value_type) {
        case kconfig_value_type::boolean:
          if (letter == 'm') refuse(spec, value, "'m' needs a tristate or char extern, not bool");
          out[0] = std::byte{letter == 'y'};
          return;
        case kconfig_value_type::tristate: {
          // enum libbpf_tristate { TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 }
          const std::uint64_t tristate = letter == 'y' ? 1 : letter == 'm' ? 2 : 0;
          store(out, tristate, spec.size);
          return;
        }
        case kconfig_value_type::character:
          out[0] = static_cast<std::byte>(letter);
          return;
        default:
          refuse(spec, value, "y/n/m needs a bool, tristate or char extern");
      }
    }
    case '"': {
      if (spec.value_type != kconfig_value_type::char_array) refuse(spec, value, "a string needs a char array extern");
      if (value.size() < 2 || value.back() != '"') refuse(spec, value, "not a complete quoted string");
      std::string_view text = value.substr(1, value.size() - 2);
      if (spec.size == 0) refuse(spec, value, "zero-length array");
      if (text.size() >= spec.size) text = text.substr(0, spec.size - 1);  // truncated, like libbpf
      std::memcpy(out.data(), text.data(), text.size());
      out[text.size()] = std::byte{0};
      return;
    }
    default: {
      std::uint64_t number = 0;
      if (!parse_number(value, number)) refuse(spec, value, "not a valid integer");
      if (spec.value_type != kconfig_value_type::integer && spec.value_type != kconfig_value_type::character)
        refuse(spec, value, "a number needs an integer or char extern");
      encode_kconfig_number(spec, number, out);
    }
  }
}

std::uint32_t kernel_version_of_release(std::string_view release) noexcept {
  std::uint32_t parts[3] = {0, 0, 0};
  std::size_t index = 0, at = 0;
  for (; index < 3; ++index) {
    std::size_t digits = 0;
    std::uint64_t value = 0;
    while (at < release.size() && release[at] >= '0' && release[at] <= '9' && digits < 9) {
      value = value * 10 + static_cast<std::uint64_t>(release[at] - '0');
      ++at;
      ++digits;
    }
    if (digits == 0) break;
    parts[index] = static_cast<std::uint32_t>(value);
    if (at >= release.size() || release[at] != '.') {
      ++index;
      break;
    }
    ++at;
  }
  if (index < 2) return 0;
  // KERNEL_VERSION(a, b, c) = (a << 16) + (b << 8) + min(c, 255) (include/generated/uapi/linux/version.h)
  const std::uint32_t patch = parts[2] > 255 ? 255 : parts[2];
  return (parts[0] << 16) + ((parts[1] & 0xff) << 8) + patch;
}

}  // namespace ebpf
