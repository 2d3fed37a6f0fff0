#include <ebpf/error.hpp>
#include <ebpf/kernel_btf.hpp>

#include "object/elf_reader.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <vector>

namespace ebpf {

btf read_btf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_errno(errno ? errno : ENOENT, "BTF file '" + path + "': open");
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw_errno(EIO, "BTF file '" + path + "': read");
  const auto bytes = std::as_bytes(std::span(chars));
  try {
    if (bytes.size() >= 4 && std::memcmp(chars.data(), "\x7f" "ELF", 4) == 0) {
      detail::elf_reader elf(bytes, path);
      const auto* section = elf.find_section(".BTF");
      if (!section) throw_error(errc::invalid_object, "no .BTF section (build with -g / CONFIG_DEBUG_INFO_BTF)");
      return btf::parse(section->data);
    }
    return btf::parse(bytes);
  } catch (const error& e) {
    throw error(e.code(), "BTF file '" + path + "': " + e.what());
  }
}

const btf& kernel_btf() {
  // A function-local static is initialised exactly once even with concurrent callers; a failure
  // throws out of the initialiser and the next call tries again.
  static const btf parsed = [] {
    const char* path = "/sys/kernel/btf/vmlinux";
    try {
      return read_btf_file(path);
    } catch (const error& e) {
      if (e.code().category() == std::system_category())
        throw error(e.code(), std::string("kernel BTF: ") + e.what() + " (the kernel needs CONFIG_DEBUG_INFO_BTF)");
      throw;
    }
  }();
  return parsed;
}

std::shared_ptr<const core_target_index> kernel_core_index() {
  static const std::shared_ptr<const core_target_index> index = std::make_shared<core_target_index>(kernel_btf());
  return index;
}

}  // namespace ebpf
