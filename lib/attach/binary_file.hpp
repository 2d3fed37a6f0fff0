// ebpfpp internal: a user-space binary mapped read-only and parsed (lib/object/elf_binary.hpp),
// and the lookup of a binary by name. Shared by lib/attach/uprobe.cpp and lib/attach/usdt.cpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "object/elf_binary.hpp"
#include "sys/bpf.hpp"

namespace ebpf::detail {

/// A binary file mapped into memory with its ELF view.
class binary_file {
 public:
  /// Maps `path` and parses it. Throws: ebpf::error "binary '<path>': open/mmap: <errno>";
  /// errc::invalid_object for a file that is not an ELF executable or library.
  explicit binary_file(const std::string& path);
  const elf_binary& elf() const noexcept { return *elf_; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  sys::mapped_region region_;
  std::unique_ptr<elf_binary> elf_;
};

}  // namespace ebpf::detail
