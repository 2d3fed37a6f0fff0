// ebpfpp tool: what every subcommand prints with (tables, hex, JSON, names of enum values).
#pragma once

#include <ebpf/object_spec.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf::cli {

/// JSON with the keys in the order they were added: the documented field order is the order the
/// reader sees.
using json = nlohmann::ordered_json;

/// Prints `value` to stdout, indented, with a final newline.
void print_json(const json& value);

/// A plain-text table: a header row, then rows; columns are as wide as their widest cell and
/// separated by two spaces. Trailing spaces are not printed.
class table {
 public:
  explicit table(std::vector<std::string> header);
  void add(std::vector<std::string> row);
  bool empty() const noexcept { return rows_.empty(); }
  /// Prints every row, each prefixed by `indent`.
  void print(std::string_view indent = "") const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// "2a 00 00 00": bytes as lower-case hex pairs separated by spaces (text output).
std::string hex_spaced(std::span<const std::byte> bytes);
/// "2a000000": bytes as lower-case hex pairs without separators (JSON output).
std::string hex_compact(std::span<const std::byte> bytes);

/// "0x<hex>" of a flags word.
std::string hex_flags(std::uint64_t flags);

/// `text`, or null when empty (JSON fields that may be unknown).
json string_or_null(const std::string& text);

std::string_view to_string(map_origin origin) noexcept;
std::string_view to_string(map_pinning pinning) noexcept;

/// `text` with every line but the first prefixed by `indent` (multi-line error summaries).
std::string indent_lines(std::string_view text, std::string_view indent);

}  // namespace ebpf::cli
