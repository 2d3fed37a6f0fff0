#include <ebpf/error.hpp>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ebpf {
namespace {

class ebpf_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ebpf"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::invalid_object: return "invalid object";
      case errc::invalid_btf: return "invalid BTF";
      case errc::unsupported_section: return "unsupported section";
      case errc::unknown_symbol: return "unknown symbol";
      case errc::relocation_failed: return "relocation failed";
      case errc::not_found: return "not found";
      case errc::type_mismatch: return "type mismatch";
      case errc::invalid_argument: return "invalid argument";
      case errc::verifier_rejected: return "verifier rejected the program";
      case errc::unsupported: return "unsupported";
    }
    return "unknown ebpf error";
  }
};

// The hint a user needs most often for each errno, appended in parentheses.
const char* hint_for(int errno_value) {
  switch (errno_value) {
    case EPERM:
    case EACCES:
      return "run as root or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN";
    case ENOSYS:
      return "the kernel was built without CONFIG_BPF_SYSCALL";
    case E2BIG:
      return "the kernel does not know a field we set: it is older than this feature";
    default:
      return nullptr;
  }
}

std::string verifier_summary(const std::string& subject, int errno_value, const std::string& log) {
  // Keep what() short: the last lines of the log carry the reason; log() has all of it.
  constexpr std::size_t shown_lines = 5;
  std::vector<std::string_view> lines;
  std::string_view rest = log;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    if (!line.empty() && line.find_first_not_of(" \t\r") != std::string_view::npos) lines.push_back(line);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  std::string message = subject + ": verifier rejected it (" + std::strerror(errno_value);
  if (lines.empty()) return message + ", empty verifier log)";
  std::size_t first = lines.size() > shown_lines ? lines.size() - shown_lines : 0;
  message += ", " + std::to_string(lines.size()) + " log lines";
  if (first > 0) message += ", " + std::to_string(first) + " lines omitted";
  message += "):";
  for (std::size_t i = first; i < lines.size(); ++i) {
    message += "\n  ";
    message += lines[i];
  }
  return message;
}

}  // namespace

const std::error_category& error_category() noexcept {
  static const ebpf_category category;
  return category;
}

std::error_code make_error_code(errc code) noexcept {
  return {static_cast<int>(code), error_category()};
}

error::error(std::error_code code, std::string message)
    : std::system_error(code), message_(std::move(message)) {}

verifier_error::verifier_error(int errno_value, std::string subject, std::string log)
    : error(std::error_code(errno_value, std::system_category()),
            verifier_summary(subject, errno_value, log)),
      log_(std::move(log)) {}

void throw_errno(int errno_value, std::string context) {
  std::string message = std::move(context);
  message += ": ";
  message += std::strerror(errno_value);
  if (const char* hint = hint_for(errno_value)) {
    message += " (";
    message += hint;
    message += ')';
  }
  throw error(std::error_code(errno_value, std::system_category()), std::move(message));
}

void throw_error(errc code, std::string message) { throw error(code, std::move(message)); }

}  // namespace ebpf
