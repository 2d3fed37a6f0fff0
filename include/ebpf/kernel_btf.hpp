// ebpfpp: the running kernel's BTF, and BTF from files (for kernels without it).
#pragma once

#include <ebpf/btf.hpp>
#include <ebpf/core.hpp>

#include <memory>
#include <string>

namespace ebpf {

/// The running kernel's BTF (/sys/kernel/btf/vmlinux), read and parsed once per process; later
/// calls return the same object. Thread-safe. Kernel: 5.4 (CONFIG_DEBUG_INFO_BTF).
/// Throws: ebpf::error with the errno when the file cannot be read (the kernel was built without
/// BTF), errc::invalid_btf when it does not parse.
const btf& kernel_btf();

/// The CO-RE candidate index of kernel_btf(), built once per process on first use and shared by
/// every object loaded afterwards. Thread-safe. Throws: as kernel_btf().
std::shared_ptr<const core_target_index> kernel_core_index();

/// Reads BTF from a file: raw BTF (like /sys/kernel/btf/vmlinux or a btfhub .btf file) or a BPF
/// ELF object with a .BTF section (a .bpf.o).
/// Throws: ebpf::error with the errno when it cannot be read; errc::invalid_object for an ELF
/// without .BTF; errc::invalid_btf when the BTF does not parse. Messages name the file.
btf read_btf_file(const std::string& path);

}  // namespace ebpf
