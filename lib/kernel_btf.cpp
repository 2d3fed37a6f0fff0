// Kernel BTF: read cheaply, cached process-wide, releasable.
//
// Cost model (vmlinux of 6.18: 5.5 MB, 126,690 types). libbpf's btf__parse copies the file with
// read() into a heap buffer, then copies types again while indexing them (btf_parse_type_sec),
// and later scans every type once per CO-RE candidate search (bpf_core_add_cands): about 40 ms
// and 12 MB. Here:
//   - the file is mmapped where sysfs allows it (kernel 6.16, "btf: Allow mmap of vmlinux btf":
//     kernel/bpf/sysfs_btf.c maps the kernel's own read-only copy, so the pages cost this process
//     no memory of its own), else read with one read() into one buffer of the size stat reports;
//   - parsing walks the type headers once to find each record (the id -> offset table, 4 bytes a
//     type) and checks only what keeps accessors in bounds: the kernel ran its own full checks on
//     this BTF when it booted (kernel/bpf/btf.c btf_parse_base -> btf_check_all_metas);
//   - names are indexed only when asked: the CO-RE index per kind (core.cpp), btf::find's index
//     on its first use.
#include <ebpf/error.hpp>
#include <ebpf/kernel_btf.hpp>

#include "object/elf_reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace ebpf {
namespace {

constexpr const char* sysfs_btf_dir = "/sys/kernel/btf";

// The bytes of a file and what keeps them alive.
struct file_bytes {
  std::shared_ptr<const void> owner;
  std::span<const std::byte> bytes;
};

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

// One read() into one buffer when stat knows the size (regular files and sysfs attributes both
// report it), growing only when the file turns out larger or has no size (a pipe, /proc).
file_bytes read_whole(int fd, std::size_t expected, const std::string& what) {
  auto buffer = std::make_shared<std::vector<std::byte>>(expected ? expected + 1 : 65536);
  std::size_t used = 0;
  for (;;) {
    if (used == buffer->size()) buffer->resize(buffer->size() * 2);
    const ssize_t got = ::read(fd, buffer->data() + used, buffer->size() - used);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, what + ": read");
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  const std::span<const std::byte> bytes(buffer->data(), used);
  return {std::move(buffer), bytes};
}

// `map`: mmap when possible. Only for sysfs BTF: it is the kernel's immutable copy, whereas a
// regular file mapped privately could be truncated under us (SIGBUS on the next access).
file_bytes open_bytes(const std::string& path, const std::string& what, bool map) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno(errno, what + ": open");
  fd_closer closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, what + ": stat");
  const auto size = static_cast<std::size_t>(st.st_size);
  if (map && size > 0) {
    // sysfs refuses shared or writable mappings of BTF (EACCES) and kernels before 6.16 have no
    // mmap for it at all (EIO/ENODEV/EINVAL): any failure falls back to read().
    void* at = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (at != MAP_FAILED) {
      std::shared_ptr<const void> owner(at, [size](const void* p) { ::munmap(const_cast<void*>(p), size); });
      return {std::move(owner), std::span<const std::byte>(static_cast<const std::byte*>(at), size)};
    }
  }
  return read_whole(fd, size, what);
}

btf parse_file(const std::string& path, std::shared_ptr<const btf> base, bool map, bool trusted) {
  const std::string what = "BTF file '" + path + "'";
  file_bytes file = open_bytes(path, what, map);
  btf_parse_options options;
  options.base = std::move(base);
  options.owner = file.owner;
  options.check_kind_rules = !trusted;
  try {
    if (file.bytes.size() >= 4 && std::memcmp(file.bytes.data(), "\x7f" "ELF", 4) == 0) {
      detail::elf_reader elf(file.bytes, path);
      const auto* section = elf.find_section(".BTF");
      if (!section) throw_error(errc::invalid_object, "no .BTF section (build with -g / CONFIG_DEBUG_INFO_BTF)");
      // libelf may hand out its own copy of a section: keep a view only when it is ours.
      const bool inside = section->data.data() >= file.bytes.data() &&
                          section->data.data() + section->data.size() <= file.bytes.data() + file.bytes.size();
      if (!inside) options.owner.reset();
      return btf::parse(section->data, options);
    }
    return btf::parse(file.bytes, options);
  } catch (const error& e) {
    throw error(e.code(), what + ": " + e.what());
  }
}

// The process-wide cache. Guarded by `mutex`; the objects themselves are immutable once made
// (their lazy indexes are built under their own call_once), so they are used without it.
struct kernel_cache {
  std::mutex mutex;
  std::shared_ptr<const btf> vmlinux;
  std::shared_ptr<const core_target_index> index;
  std::map<std::string, std::shared_ptr<const btf>, std::less<>> modules;
};

kernel_cache& cache() {
  static kernel_cache instance;  // never destroyed before its users: a function-local static
  return instance;
}

std::shared_ptr<const btf> load_vmlinux_locked(kernel_cache& c) {
  if (c.vmlinux) return c.vmlinux;
  const std::string path = std::string(sysfs_btf_dir) + "/vmlinux";
  try {
    c.vmlinux = std::make_shared<const btf>(parse_file(path, nullptr, true, true));
  } catch (const error& e) {
    if (e.code().category() == std::system_category())
      throw error(e.code(), std::string("kernel BTF: ") + e.what() + " (the kernel needs CONFIG_DEBUG_INFO_BTF)");
    throw error(e.code(), std::string("kernel BTF: ") + e.what());
  }
  return c.vmlinux;
}

}  // namespace

btf read_btf_file(const std::string& path) { return parse_file(path, nullptr, false, false); }

btf read_split_btf_file(const std::string& path, std::shared_ptr<const btf> base) {
  if (!base) throw_error(errc::invalid_argument, "BTF file '" + path + "': split BTF needs a base BTF");
  return parse_file(path, std::move(base), false, false);
}

std::shared_ptr<const btf> kernel_btf_shared() {
  kernel_cache& c = cache();
  std::lock_guard lock(c.mutex);
  return load_vmlinux_locked(c);
}

const btf& kernel_btf() { return *kernel_btf_shared(); }

std::shared_ptr<const core_target_index> kernel_core_index() {
  kernel_cache& c = cache();
  std::lock_guard lock(c.mutex);
  if (c.index) return c.index;
  // One allocation holds the BTF pointer and the index that refers to it; the aliasing
  // shared_ptr hands out the index while keeping both alive.
  struct holder {
    std::shared_ptr<const btf> types;
    core_target_index index;
    explicit holder(std::shared_ptr<const btf> t) : types(std::move(t)), index(*types) {}
  };
  auto made = std::make_shared<const holder>(load_vmlinux_locked(c));
  c.index = std::shared_ptr<const core_target_index>(made, &made->index);
  return c.index;
}

std::shared_ptr<const btf> kernel_module_btf(std::string_view module) {
  if (module.empty() || module == "." || module == ".." || module.find('/') != std::string_view::npos ||
      module.find('\0') != std::string_view::npos || module == "vmlinux")
    throw_error(errc::invalid_argument, "kernel module BTF: '" + std::string(module) + "' is not a module name");
  kernel_cache& c = cache();
  std::lock_guard lock(c.mutex);
  if (auto found = c.modules.find(module); found != c.modules.end()) return found->second;
  auto base = load_vmlinux_locked(c);
  const std::string path = std::string(sysfs_btf_dir) + "/" + std::string(module);
  std::shared_ptr<const btf> parsed;
  try {
    // Module BTF is not mmapable (only vmlinux's is, 6.16): read() it. It is small (KBs).
    parsed = std::make_shared<const btf>(parse_file(path, std::move(base), false, true));
  } catch (const error& e) {
    throw error(e.code(), "kernel module '" + std::string(module) + "' BTF: " + e.what());
  }
  c.modules.emplace(std::string(module), parsed);
  return parsed;
}

std::vector<std::string> kernel_btf_modules() {
  std::vector<std::string> names;
  DIR* dir = ::opendir(sysfs_btf_dir);
  if (!dir) {
    if (errno == ENOENT || errno == ENOTDIR) return names;
    throw_errno(errno, std::string("kernel BTF: ") + sysfs_btf_dir + ": open");
  }
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name == "." || name == ".." || name == "vmlinux") continue;
    names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

void release_kernel_btf() noexcept {
  kernel_cache& c = cache();
  std::shared_ptr<const btf> vmlinux;
  std::shared_ptr<const core_target_index> index;
  std::map<std::string, std::shared_ptr<const btf>, std::less<>> modules;
  {
    std::lock_guard lock(c.mutex);
    vmlinux.swap(c.vmlinux);
    index.swap(c.index);
    modules.swap(c.modules);
  }
  // Freed here, outside the lock (munmap of the mapping when this was the last holder).
}

}  // namespace ebpf
