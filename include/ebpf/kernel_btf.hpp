// ebpfpp: the running kernel's BTF.
#pragma once

#include <ebpf/btf.hpp>

namespace ebpf {

/// The running kernel's BTF (/sys/kernel/btf/vmlinux), read and parsed once per process; later
/// calls return the same object. Thread-safe. Kernel: 5.4 (CONFIG_DEBUG_INFO_BTF).
/// Throws: ebpf::error with the errno when the file cannot be read (the kernel was built without
/// BTF), errc::invalid_btf when it does not parse.
const btf& kernel_btf();

}  // namespace ebpf
