// ebpfpp internal (pure): the glob patterns of kprobe_multi and uprobe_multi attach calls.
//
// One matcher for both, with libbpf's semantics (src/libbpf.c glob_match: '*' matches any run of
// characters, also an empty one, '?' exactly one; no character classes, no escapes), so that a
// pattern means the same in a kernel symbol table (kallsyms.hpp) and in an ELF one
// (elf_binary.hpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace ebpf::detail {

/// Whether `text` matches glob `pattern` ('*' any run, '?' one character). Linear in practice:
/// iterative, with one backtrack point (the last '*'), no recursion.
inline bool glob_match(std::string_view text, std::string_view pattern) noexcept {
  std::size_t t = 0, p = 0;
  std::size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      // On a mismatch after a '*', let that star swallow one more character.
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace ebpf::detail
