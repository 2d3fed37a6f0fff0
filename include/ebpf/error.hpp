// ebpfpp: errors.
//
// Every failing call that is not on a hot path throws ebpf::error. Kernel failures carry the errno
// in std::system_category(); failures found by the library carry an ebpf::errc in
// ebpf::error_category(). what() is a "subject: action: cause" chain, with a hint where one helps:
//   object 'probe.o': program 'handle_exec': load: Operation not permitted (run as root or grant CAP_BPF)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace ebpf {

/// Failures the library detects itself (not kernel errnos).
enum class errc {
  invalid_object = 1,   ///< the ELF or one of its sections is malformed
  invalid_btf,          ///< .BTF / .BTF.ext is malformed
  unsupported_section,  ///< a program lives in a section we have no convention for
  unknown_symbol,       ///< a relocation or a lookup names a symbol that does not exist
  relocation_failed,    ///< a relocation cannot be applied
  not_found,            ///< a named program, map or global does not exist
  type_mismatch,        ///< key/value/record size or BTF type does not match
  invalid_argument,     ///< the caller passed something the operation cannot use
  verifier_rejected,    ///< the kernel verifier rejected a program (see verifier_error)
  unsupported,          ///< the running kernel or this build lacks the feature
};

/// The category of ebpf::errc codes; name() is "ebpf".
const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc code) noexcept;

/// The one exception type of the library. what() is the full message chain; code() is either an
/// errno (std::system_category()) or an ebpf::errc.
class error : public std::system_error {
 public:
  error(std::error_code code, std::string message);
  error(errc code, std::string message) : error(make_error_code(code), std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

/// The verifier rejected a program. what() shows the last lines of the log and how many were
/// omitted; log() is the complete verifier log.
class verifier_error : public error {
 public:
  verifier_error(int errno_value, std::string subject, std::string log);
  const std::string& log() const noexcept { return log_; }

 private:
  std::string log_;
};

/// Throws an ebpf::error for errno `errno_value`: "<context>: <strerror>" plus a hint when one
/// is known (EPERM: privileges, ENOSPC/E2BIG: limits, ...).
[[noreturn]] void throw_errno(int errno_value, std::string context);

/// Throws ebpf::error{code, message}.
[[noreturn]] void throw_error(errc code, std::string message);

}  // namespace ebpf

template <>
struct std::is_error_code_enum<ebpf::errc> : std::true_type {};
