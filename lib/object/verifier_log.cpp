#include "verifier_log.hpp"

#include <ebpf/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ebpf::detail {
namespace {

// The kernel NUL-terminates the log; never read past the buffer if it did not.
std::string log_text(const std::string& buffer) {
  return std::string(buffer.data(), ::strnlen(buffer.data(), buffer.size()));
}

bool is_blank(std::string_view log) {
  return log.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// Only called for failed attempts, whose fd is -errno.
int errno_of(const load_attempt& attempt) { return -attempt.fd; }

[[noreturn]] void fail(int errno_value, std::string_view subject, std::string_view action,
                       std::string log) {
  if (is_blank(log)) {
    // No explanation from the verifier: EPERM (privileges), E2BIG (attr too new), EINVAL on an
    // attr field... The errno and its hint say more than an empty log would.
    std::string context(subject);
    if (!context.empty()) context += ": ";
    context += action;
    throw_errno(errno_value, std::move(context));
  }
  throw verifier_error(errno_value, std::string(subject), std::move(log));
}

}  // namespace

load_result load_with_log(const load_function& load, std::string_view subject,
                          std::string_view action, const verifier_log_options& options) {
  std::uint32_t level = options.level;
  int first_errno = 0;
  if (level == 0) {
    load_attempt attempt = load(log_request{});
    if (attempt.fd >= 0) return {attempt.fd, {}};
    first_errno = errno_of(attempt);
    level = 1;
  }

  const std::uint32_t cap = std::clamp(options.max_size, min_log_size, max_log_size);
  std::uint32_t size = std::clamp(options.initial_size, min_log_size, cap);
  std::string buffer;
  for (;;) {
    buffer.assign(size, '\0');
    load_attempt attempt = load(log_request{buffer.data(), size, level});
    std::string log = log_text(buffer);
    if (attempt.fd >= 0) return {attempt.fd, std::move(log)};

    int error = errno_of(attempt);
    if (error == ENOSPC && size < cap) {
      // The log did not fit. Since 6.4 the kernel says how much it needs (log_true_size counts
      // the terminating NUL); before that, double.
      std::uint64_t next = std::max<std::uint64_t>(std::uint64_t{size} * 2, attempt.log_true_size);
      size = static_cast<std::uint32_t>(std::min<std::uint64_t>(next, cap));
      continue;
    }
    if (error == ENOSPC) {
      if (first_errno != 0) {
        // The log is truncated at the cap; it still ends with the verifier's reason on 6.4+
        // (rotating log), and the real failure is the errno of the attempt without a log.
        fail(first_errno, subject, action, std::move(log));
      }
      // The caller asked for a log and it does not fit even at the cap: the program may well be
      // valid, so load it once without a log and keep the truncated log for the caller.
      load_attempt plain = load(log_request{});
      if (plain.fd >= 0) return {plain.fd, std::move(log)};
      fail(errno_of(plain), subject, action, std::move(log));
    }
    fail(error, subject, action, std::move(log));
  }
}

}  // namespace ebpf::detail
