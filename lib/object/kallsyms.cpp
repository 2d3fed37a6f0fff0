// Kernel symbol tables as text: see kallsyms.hpp.

#include "kallsyms.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <unordered_set>

namespace ebpf::detail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "ffffffff81000000 T _stext\n" or "ffffffffc0a01000 t veth_open\t[veth]\n". Returns false for a
// line that does not have that shape.
bool parse_line(std::string_view line, kallsyms_entry& out) {
  std::size_t i = 0;
  std::uint64_t address = 0;
  std::size_t digits = 0;
  while (i < line.size() && hex_digit(line[i]) >= 0) {
    if (++digits > 16) return false;
    address = (address << 4) | static_cast<std::uint64_t>(hex_digit(line[i]));
    ++i;
  }
  if (digits == 0 || i >= line.size() || !is_space(line[i])) return false;
  while (i < line.size() && is_space(line[i])) ++i;
  if (i >= line.size()) return false;
  char type = line[i++];
  if (i >= line.size() || !is_space(line[i])) return false;
  while (i < line.size() && is_space(line[i])) ++i;
  std::size_t name_start = i;
  while (i < line.size() && !is_space(line[i])) ++i;
  if (i == name_start) return false;
  out.address = address;
  out.type = type;
  out.name.assign(line.substr(name_start, i - name_start));
  out.module.clear();
  while (i < line.size() && is_space(line[i])) ++i;
  if (i < line.size()) {
    std::string_view rest = line.substr(i);
    while (!rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
    if (rest.size() < 2 || rest.front() != '[' || rest.back() != ']') return false;
    out.module.assign(rest.substr(1, rest.size() - 2));
  }
  return true;
}

// The name field of a kallsyms line (the third one), without parsing the rest; empty when the
// line has fewer fields (parse_line then rejects it).
std::string_view name_of(std::string_view line) {
  std::size_t i = 0;
  for (int field = 0; field < 2; ++field) {
    while (i < line.size() && !is_space(line[i])) ++i;
    while (i < line.size() && is_space(line[i])) ++i;
  }
  std::size_t start = i;
  while (i < line.size() && !is_space(line[i])) ++i;
  return line.substr(start, i - start);
}

// The compiler clone suffixes GCC and clang append (gcc/ipa-*.cc name clones "<name>.<kind>.<n>";
// clang ThinLTO promotes locals as "<name>.llvm.<hash>"). ".cold" is deliberately absent: it
// names the cold half of a split function, which is not an entry point.
constexpr std::array<std::string_view, 5> clone_kinds = {"isra", "constprop", "part", "llvm",
                                                         "lto_priv"};

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool kallsyms_entry::is_function() const noexcept {
  bool text = type == 't' || type == 'T' || type == 'w' || type == 'W';
  return text && module != "bpf";
}

bool is_clone_of(std::string_view name, std::string_view base) noexcept {
  if (base.empty() || name.size() <= base.size() || name.substr(0, base.size()) != base) return false;
  std::string_view rest = name.substr(base.size());
  // rest = ("." kind "." digits)+ ; e.g. ".isra.0", ".constprop.0.isra.0", ".llvm.1234567".
  while (!rest.empty()) {
    if (rest.front() != '.') return false;
    rest.remove_prefix(1);
    std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos) return false;
    std::string_view kind = rest.substr(0, dot);
    if (std::find(clone_kinds.begin(), clone_kinds.end(), kind) == clone_kinds.end()) return false;
    rest.remove_prefix(dot + 1);
    std::size_t end = rest.find('.');
    std::string_view number = rest.substr(0, end);
    if (!all_digits(number)) return false;
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  }
  return true;
}

kernel_symbols kernel_symbols::parse(std::string_view text) { return parse(text, nullptr); }

kernel_symbols kernel_symbols::parse(std::string_view text,
                                     const std::function<bool(std::string_view)>& keep) {
  kernel_symbols symbols;
  kallsyms_entry entry;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (keep && !keep(name_of(line))) continue;
    if (!parse_line(line, entry)) continue;
    if (entry.address != 0) symbols.has_addresses_ = true;
    symbols.entries_.push_back(entry);
  }
  const auto& entries = symbols.entries_;
  symbols.by_name_.resize(entries.size());
  for (std::uint32_t i = 0; i < entries.size(); ++i) symbols.by_name_[i] = i;
  // std::sort with the index as tie-break (std::stable_sort's temporary buffer is deprecated
  // API in libstdc++ 12 as clang 19 sees it): equal names stay in file order.
  std::sort(symbols.by_name_.begin(), symbols.by_name_.end(), [&](std::uint32_t a, std::uint32_t b) {
    int order = entries[a].name.compare(entries[b].name);
    return order != 0 ? order < 0 : a < b;
  });
  for (std::uint32_t i = 0; i < entries.size(); ++i)
    if (entries[i].is_function()) symbols.by_address_.push_back(i);
  std::sort(symbols.by_address_.begin(), symbols.by_address_.end(), [&](std::uint32_t a, std::uint32_t b) {
    return entries[a].address != entries[b].address ? entries[a].address < entries[b].address : a < b;
  });
  return symbols;
}

std::vector<const kallsyms_entry*> kernel_symbols::functions_named(std::string_view name) const {
  std::vector<const kallsyms_entry*> found;
  auto first = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                                [&](std::uint32_t i, std::string_view n) { return entries_[i].name < n; });
  for (auto it = first; it != by_name_.end() && entries_[*it].name == name; ++it)
    if (entries_[*it].is_function()) found.push_back(&entries_[*it]);
  return found;
}

function_resolution kernel_symbols::resolve_function(std::string_view name) const {
  function_resolution result;
  if (auto exact = functions_named(name); !exact.empty()) {
    result.status = resolution_status::exact;
    result.name = std::string(name);
    result.address = exact.front()->address;
    return result;
  }
  // Clones sort right after "<name>." in the name index: scan that range only.
  std::string prefix = std::string(name) + ".";
  auto it = std::lower_bound(by_name_.begin(), by_name_.end(), std::string_view(prefix),
                             [&](std::uint32_t i, std::string_view n) { return entries_[i].name < n; });
  const kallsyms_entry* chosen = nullptr;
  for (; it != by_name_.end() && entries_[*it].name.compare(0, prefix.size(), prefix) == 0; ++it) {
    const auto& entry = entries_[*it];
    if (!entry.is_function() || !is_clone_of(entry.name, name)) continue;
    if (result.candidates.empty() || result.candidates.back() != entry.name) {
      result.candidates.push_back(entry.name);
      if (!chosen) chosen = &entry;
    }
  }
  if (result.candidates.size() == 1) {
    result.status = resolution_status::clone;
    result.name = chosen->name;
    result.address = chosen->address;
    result.candidates.clear();
  } else if (result.candidates.size() > 1) {
    result.status = resolution_status::ambiguous;
  }
  return result;
}

std::optional<symbolized_address> kernel_symbols::symbolize(std::uint64_t address) const {
  if (!has_addresses_ || by_address_.empty()) return std::nullopt;
  auto after = std::upper_bound(by_address_.begin(), by_address_.end(), address,
                                [&](std::uint64_t a, std::uint32_t i) { return a < entries_[i].address; });
  if (after == by_address_.begin()) return std::nullopt;
  const auto& entry = entries_[*std::prev(after)];
  return symbolized_address{entry.name, entry.module, address - entry.address};
}

std::optional<std::string> kernel_symbols::syscall_function(std::string_view syscall,
                                                            std::string_view arch_prefix) const {
  if (syscall.empty()) return std::nullopt;
  if (!arch_prefix.empty()) {
    std::string wrapped = std::string(arch_prefix) + "sys_" + std::string(syscall);
    if (!functions_named(wrapped).empty()) return wrapped;
  }
  std::string plain = "sys_" + std::string(syscall);
  if (!functions_named(plain).empty()) return plain;
  return std::nullopt;
}

std::vector<std::string> kernel_symbols::match_functions(std::string_view pattern) const {
  std::vector<std::string> names;
  for (std::uint32_t i : by_name_) {
    const auto& entry = entries_[i];
    if (!entry.is_function() || !glob_match(entry.name, pattern)) continue;
    // ftrace cannot attach to these placeholders (kernel/trace/ftrace.c names weak functions
    // whose mcount site was dropped "__ftrace_invalid_address___<n>").
    if (entry.name.rfind("__ftrace_invalid_address__", 0) == 0) continue;
    // "__pfx_<function>" labels the padding before a function (CONFIG_FUNCTION_PADDING_CFI,
    // 6.2); it is not a function of its own.
    if (entry.name.rfind("__pfx_", 0) == 0) continue;
    if (names.empty() || names.back() != entry.name) names.push_back(entry.name);
  }
  return names;
}

std::vector<std::string> kernel_symbols::match_traceable_functions(
    std::string_view pattern, const std::vector<std::string>& traceable) const {
  auto listed = [&](std::string_view name) {
    return std::binary_search(traceable.begin(), traceable.end(), name, std::less<>());
  };
  // The addresses ftrace can attach to, through the names it gives them (by_address_ is sorted,
  // so this is too).
  std::vector<std::uint64_t> traceable_addresses;
  if (has_addresses_) {
    for (std::uint32_t i : by_address_)
      if (listed(entries_[i].name)) traceable_addresses.push_back(entries_[i].address);
    traceable_addresses.erase(std::unique(traceable_addresses.begin(), traceable_addresses.end()),
                              traceable_addresses.end());
  }
  std::vector<std::string> names;
  std::unordered_set<std::uint64_t> taken;  // addresses of the names chosen so far
  for (std::string& name : match_functions(pattern)) {
    std::uint64_t address = 0;
    bool ok = listed(name);
    for (const kallsyms_entry* entry : functions_named(name)) {
      bool at_traceable = has_addresses_ && std::binary_search(traceable_addresses.begin(),
                                                               traceable_addresses.end(), entry->address);
      if (ok || at_traceable) {
        ok = true;
        address = entry->address;
        break;
      }
    }
    if (!ok) continue;
    if (has_addresses_) {
      if (!taken.insert(address).second) continue;  // an alias of a name already chosen
    }
    names.push_back(std::move(name));
  }
  return names;
}

std::vector<std::string> parse_filter_functions(std::string_view text) {
  std::vector<std::string> names;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    std::size_t i = 0;
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    std::string_view first = line.substr(start, i - start);
    if (first.empty()) continue;
    // available_filter_functions_addrs: "ffffffff81001234 name [module]".
    while (i < line.size() && is_space(line[i])) ++i;
    std::size_t second_start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    std::string_view second = line.substr(second_start, i - second_start);
    bool first_is_address = !second.empty() && second.front() != '[' &&
                            std::all_of(first.begin(), first.end(), [](char c) { return hex_digit(c) >= 0; });
    names.emplace_back(first_is_address ? second : first);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string syscall_wrapper_prefix(std::string_view machine) {
  // libbpf's arch_specific_syscall_pfx() (src/libbpf.c), keyed by uname's machine instead of the
  // compiler's target macros so that it is testable (and right for a 32-bit process on a 64-bit
  // kernel, whose syscalls are still entered through the kernel's own wrappers).
  auto starts = [&](std::string_view p) { return machine.substr(0, p.size()) == p; };
  if (machine == "x86_64") return "__x64_";
  if (machine == "i386" || machine == "i486" || machine == "i586" || machine == "i686") return "__ia32_";
  if (machine == "s390x") return "__s390x_";
  if (machine == "s390") return "__s390_";
  if (machine == "aarch64" || machine == "arm64") return "__arm64_";
  if (starts("arm")) return "__arm_";
  if (starts("mips")) return "__mips_";
  if (starts("riscv")) return "__riscv_";
  if (starts("ppc") || starts("powerpc")) return "__powerpc_";
  return {};
}

}  // namespace ebpf::detail
