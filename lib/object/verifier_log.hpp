// ebpfpp internal (pure): the verifier-log retry loop for BPF_PROG_LOAD and BPF_BTF_LOAD.
//
// The loop makes no syscall itself: the load is passed in as a callable (ARCHITECTURE.md, layer
// rule 2), so it is unit-tested with a fake kernel (tests/unit/verifier_log_test.cpp).
//
// Policy (the same as cilium/ebpf prog.go and libbpf's bpf_prog_load):
//   1. Load without a log (a log costs verifier time and memory) unless the caller asked for one.
//   2. On failure, retry with log level 1 and a buffer, growing it while the kernel says ENOSPC
//      (the log did not fit), up to a cap. Since 6.4 the kernel also reports the size it needs
//      (log_true_size), which we jump to directly.
//   3. A non-empty log means the verifier explained the failure: throw ebpf::verifier_error.
//      An empty log (EPERM, E2BIG, EINVAL on an attr, ...) is a plain errno error with its hint.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ebpf::detail {

/// The log buffer of one attempt: no buffer (nullptr, 0, level 0) or one of `size` bytes.
struct log_request {
  char* buffer = nullptr;
  std::uint32_t size = 0;
  std::uint32_t level = 0;
};

/// What one load attempt returned: the fd (>= 0, owned by the caller of load_with_log) or -errno,
/// and the log size the kernel needed (0 when the kernel does not say, before 6.4).
struct load_attempt {
  int fd = -1;
  std::uint32_t log_true_size = 0;
};

using load_function = std::function<load_attempt(const log_request&)>;

struct verifier_log_options {
  /// 0: no log on the first attempt; a failure is retried with level 1. Non-zero: every attempt
  /// uses this level (the caller wants the log even on success).
  std::uint32_t level = 0;
  std::uint32_t initial_size = 64 * 1024;
  std::uint32_t max_size = 16 * 1024 * 1024;
};

/// The kernel refuses log buffers smaller than this (kernel/bpf/log.c, bpf_vlog_init).
inline constexpr std::uint32_t min_log_size = 128;
/// Kernels before 5.2 refuse log_size above UINT_MAX >> 8 (16 MiB - 1); later ones allow
/// UINT_MAX >> 2. We never ask for more than the older limit.
inline constexpr std::uint32_t max_log_size = 0xffffffu;

struct load_result {
  int fd = -1;      ///< >= 0
  std::string log;  ///< the log of the successful attempt (empty when no log was requested)
};

/// Runs the retry loop. `subject` names the program ("object 'a.o': program 'f'"); `action` is
/// what failed ("load", "load BTF").
/// Throws: ebpf::verifier_error(errno, subject, log) when the failing attempt produced a log;
/// ebpf::error "<subject>: <action>: <strerror> (hint)" when it did not.
load_result load_with_log(const load_function& load, std::string_view subject,
                          std::string_view action, const verifier_log_options& options = {});

}  // namespace ebpf::detail
