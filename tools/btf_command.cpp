// ebpfpp tool: `btf dump`: BTF as a C header (vmlinux.h) or as bpftool's raw text.
#include "commands.hpp"

#include <ebpf/btf.hpp>
#include <ebpf/btf_dump.hpp>
#include <ebpf/error.hpp>
#include <ebpf/object_spec.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf::cli {
namespace {

// The whole file. Not by its size: /sys/kernel/btf/* report a size but sysfs files are read
// until read() returns 0, and a pipe has no size at all.
std::vector<std::byte> read_all(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, "'" + path + "': open");
  std::vector<std::byte> bytes;
  std::size_t used = 0;
  bytes.resize(1 << 20);
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    ssize_t n = ::read(fd, bytes.data() + used, bytes.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      throw_errno(saved, "'" + path + "': read");
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  bytes.resize(used);
  return bytes;
}

bool starts_with(const std::vector<std::byte>& bytes, std::string_view magic) {
  if (bytes.size() < magic.size()) return false;
  for (std::size_t i = 0; i < magic.size(); ++i) {
    if (bytes[i] != static_cast<std::byte>(magic[i])) return false;
  }
  return true;
}

std::string file_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A raw BTF blob (what /sys/kernel/btf/vmlinux holds) or an ELF object with a .BTF section.
btf load_btf(const std::string& path) {
  std::vector<std::byte> bytes = read_all(path);
  if (starts_with(bytes, "\x7f" "ELF")) {
    object_spec spec = object_spec::parse(bytes, file_name(path));
    if (!spec.types) throw_error(errc::not_found, "'" + path + "': the object has no .BTF section (compile with -g)");
    return std::move(*spec.types);
  }
  // BTF magic 0xeB9F, little-endian.
  if (!starts_with(bytes, "\x9f\xeb")) {
    throw_error(errc::invalid_argument, "'" + path + "': neither raw BTF (magic 0xeb9f) nor an ELF object");
  }
  try {
    return btf::parse(bytes);
  } catch (const ebpf::error& e) {
    // Module BTF (/sys/kernel/btf/<module>) refers to vmlinux's types, which this reader does
    // not load alongside.
    throw ebpf::error(e.code(), "'" + path + "': " + e.what());
  }
}

void write_stdout(const std::string& text) {
  std::size_t written = std::fwrite(text.data(), 1, text.size(), stdout);
  if (written != text.size() || std::fflush(stdout) != 0) throw_errno(errno, "writing to stdout");
}

}  // namespace

int btf_dump(const btf_dump_command& command) {
  btf types = load_btf(command.file);
  if (command.format == "raw") {
    write_stdout(raw_dump(types));
  } else {
    write_stdout(c_header(types));
  }
  return 0;
}

}  // namespace ebpf::cli
