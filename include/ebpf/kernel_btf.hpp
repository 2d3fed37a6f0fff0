// ebpfpp: the running kernel's BTF, and BTF from files (for kernels without it).
//
// The kernel's BTF is read once per process and shared: /sys/kernel/btf/vmlinux is mapped, not
// copied, where the kernel allows it (6.16+; one read() into one buffer before that), checked
// structurally (the kernel verified the per-kind rules itself when it built it), and indexed by
// name only for what is asked. Module BTF (/sys/kernel/btf/<module>, split BTF over vmlinux) is
// read on first request. release_kernel_btf() gives the memory back.
// Memory: besides the mapping (the kernel's own pages), a table of 4 bytes and a byte per type
// (about 630 KB for vmlinux 6.18). The table is asked for as one transparent huge page where
// THP is enabled ("always" or "madvise"), which makes it 2 MB of RSS but about 1 ms faster to
// fill than 4 KiB pages on VMs that trap every new page (measured in bench/btf).
#pragma once

#include <ebpf/btf.hpp>
#include <ebpf/core.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf {

/// The running kernel's BTF (/sys/kernel/btf/vmlinux), read and parsed once per process; later
/// calls return the same object. Thread-safe. The reference stays valid until
/// release_kernel_btf(); hold kernel_btf_shared() to outlive that. Kernel: 5.4
/// (CONFIG_DEBUG_INFO_BTF).
/// Throws: ebpf::error with the errno when the file cannot be read (the kernel was built without
/// BTF), errc::invalid_btf when it does not parse.
const btf& kernel_btf();

/// kernel_btf(), shared: the BTF lives as long as this pointer, even past release_kernel_btf().
/// Throws: as kernel_btf().
std::shared_ptr<const btf> kernel_btf_shared();

/// The CO-RE candidate index of kernel_btf(), shared by every object loaded afterwards (it
/// indexes names on demand, see core_target_index) and keeping its BTF alive. Thread-safe.
/// Throws: as kernel_btf().
std::shared_ptr<const core_target_index> kernel_core_index();

/// A kernel module's BTF (/sys/kernel/btf/<module>): split BTF over kernel_btf(), its type ids
/// continuing after vmlinux's. Read on the first request for that module, then cached.
/// Thread-safe. Kernel: 5.11 (CONFIG_DEBUG_INFO_BTF_MODULES).
/// Throws: ebpf::error ENOENT when the module has no BTF (not loaded, or no module BTF in this
/// kernel), errc::invalid_argument for a name that is not a plain file name; as kernel_btf().
std::shared_ptr<const btf> kernel_module_btf(std::string_view module);

/// The modules that have BTF: the entries of /sys/kernel/btf other than vmlinux, sorted.
/// Empty when there are none (a kernel without modules, like CONFIG_MODULES=n). Never throws
/// for a missing directory; throws ebpf::error with the errno for other read errors.
std::vector<std::string> kernel_btf_modules();

/// Drops the process-wide kernel BTF, module BTF and CO-RE index caches; their memory is freed
/// once no shared_ptr (kernel_btf_shared, kernel_core_index, kernel_module_btf) holds them, and
/// the next call reads them again. References returned by kernel_btf() before the call dangle:
/// call it when none is in use (e.g. after loading, in a long-running program). Thread-safe.
void release_kernel_btf() noexcept;

/// Reads BTF from a file: raw BTF (like /sys/kernel/btf/vmlinux or a btfhub .btf file) or a BPF
/// ELF object with a .BTF section (a .bpf.o). One read() into one buffer, which the result keeps
/// (no second copy); every kind rule is checked.
/// Throws: ebpf::error with the errno when it cannot be read; errc::invalid_object for an ELF
/// without .BTF; errc::invalid_btf when the BTF does not parse. Messages name the file.
btf read_btf_file(const std::string& path);

/// Reads split BTF (raw, like /sys/kernel/btf/<module>, or a .BTF section) whose types continue
/// `base` (libbpf's btf__parse_split). Throws: as read_btf_file; errc::invalid_argument for a
/// null base.
btf read_split_btf_file(const std::string& path, std::shared_ptr<const btf> base);

}  // namespace ebpf
