#include <ebpf/error.hpp>
#include <ebpf/kernel_btf.hpp>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <mutex>
#include <vector>

namespace ebpf {
namespace {

btf read_kernel_btf() {
  const char* path = "/sys/kernel/btf/vmlinux";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_errno(errno ? errno : ENOENT, std::string("kernel BTF: open '") + path + "' (the kernel needs CONFIG_DEBUG_INFO_BTF)");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return btf::parse(std::as_bytes(std::span(bytes)));
  } catch (const error& e) {
    throw error(e.code(), std::string("kernel BTF '") + path + "': " + e.what());
  }
}

}  // namespace

const btf& kernel_btf() {
  // A function-local static is initialised exactly once even with concurrent callers; a failure
  // throws out of the initialiser and the next call tries again.
  static const btf parsed = read_kernel_btf();
  return parsed;
}

}  // namespace ebpf
