// ebpfpp tool: output helpers.
#include "output.hpp"

#include <fmt/core.h>

#include <algorithm>

namespace ebpf::cli {

void print_json(const json& value) {
  // ensure_ascii=false keeps names as they are; replace invalid UTF-8 (a program name is bytes
  // from the kernel) instead of throwing in the middle of the output.
  fmt::print("{}\n", value.dump(2, ' ', false, json::error_handler_t::replace));
}

table::table(std::vector<std::string> header) : header_(std::move(header)) {}

void table::add(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void table::print(std::string_view indent) const {
  std::vector<std::size_t> widths(header_.size());
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], row[column].size());
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line(indent);
    for (std::size_t column = 0; column < row.size(); ++column) {
      line += row[column];
      if (column + 1 < row.size()) line.append(widths[column] - row[column].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  };
  print_row(header_);
  for (const auto& row : rows_) print_row(row);
}

namespace {

std::string hex(std::span<const std::byte> bytes, bool spaced) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (spaced && i > 0) out += ' ';
    auto byte = static_cast<unsigned>(bytes[i]);
    out += digits[byte >> 4];
    out += digits[byte & 0xf];
  }
  return out;
}

}  // namespace

std::string hex_spaced(std::span<const std::byte> bytes) { return hex(bytes, true); }
std::string hex_compact(std::span<const std::byte> bytes) { return hex(bytes, false); }

std::string hex_flags(std::uint64_t flags) { return fmt::format("{:#x}", flags); }

json string_or_null(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

std::string_view to_string(map_origin origin) noexcept {
  switch (origin) {
    case map_origin::btf_maps: return "btf_maps";
    case map_origin::legacy_maps: return "legacy_maps";
    case map_origin::data: return "data";
    case map_origin::rodata: return "rodata";
    case map_origin::bss: return "bss";
    case map_origin::kconfig: return "kconfig";
  }
  return "unknown";
}

std::string_view to_string(map_pinning pinning) noexcept {
  switch (pinning) {
    case map_pinning::none: return "none";
    case map_pinning::by_name: return "by_name";
  }
  return "unknown";
}

std::string indent_lines(std::string_view text, std::string_view indent) {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out;
}

}  // namespace ebpf::cli
