// program::attach_kprobe and attach_kprobe_multi: kernel function probes.
//
// A kprobe is a perf event (lib/sys/probe_event.hpp: the kprobe PMU, or tracefs kprobe_events)
// that the program is attached to (lib/attach/probe_attachment.hpp). Before that, the name the
// user wrote is resolved against /proc/kallsyms (lib/object/kallsyms.hpp): compiler clones
// ("foo.isra.0") and syscall wrappers ("__x64_sys_getpid") are found the way libbpf does for
// SEC("ksyscall/...") (src/libbpf.c attach_ksyscall, arch_specific_syscall_pfx) and cilium/ebpf
// leaves to its users (link/kprobe.go takes the symbol verbatim). kprobe_multi (5.18) is one
// bpf_link on many functions; a glob is expanded over what ftrace can attach to, as libbpf's
// attach_kprobe_multi does (available_filter_functions, with kallsyms as our fallback where
// tracefs refuses that file, as under lockdown).

#include <ebpf/error.hpp>
#include <ebpf/link.hpp>
#include <ebpf/program.hpp>
#include <ebpf/tracing.hpp>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <functional>
#include <sys/utsname.h>
#include <unistd.h>

#include "attach/probe_attachment.hpp"
#include "object/kallsyms.hpp"
#include "link_attachment.hpp"
#include "sys/bpf.hpp"
#include "sys/probe_event.hpp"

namespace ebpf {
namespace {

// The whole content of a /proc or tracefs file (their st_size is 0: read to EOF), or nullopt
// with errno set.
std::optional<std::string> read_text_file(const char* path) {
  int raw = ::open(path, O_RDONLY | O_CLOEXEC);
  if (raw < 0) return std::nullopt;
  unique_fd fd(raw);
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

// /proc/kallsyms, parsed (only the names `keep` accepts, when given); empty when unreadable
// (then names go to the kernel as written).
std::optional<detail::kernel_symbols> read_kallsyms(
    const std::function<bool(std::string_view)>& keep = nullptr) {
  auto text = read_text_file("/proc/kallsyms");
  if (!text) return std::nullopt;
  return detail::kernel_symbols::parse(*text, keep);
}

std::string machine() {
  struct utsname name {};
  if (::uname(&name) != 0) return {};
  return name.machine;
}

std::string hex(std::uint64_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + out;
}

std::string join(const std::vector<std::string>& names, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

link program::attach_kprobe(const kprobe_options& options) const {
  const char* kind = options.retprobe ? "kretprobe" : "kprobe";
  std::string requested = options.address ? hex(*options.address) : options.symbol;
  std::string where = subject_ + ": " + kind + " '" + requested + "'";
  if (options.address && !options.symbol.empty()) {
    throw_error(errc::invalid_argument, where + ": give a symbol or an address, not both");
  }
  if (!options.address && options.symbol.empty()) {
    throw_error(errc::invalid_argument, where + ": no symbol or address to probe");
  }
  // The kernel only return-probes function entries (kernel/trace/trace_kprobe.c: "Return probe
  // must be used without offset"); an address is accepted only at a function's start.
  if (options.retprobe && options.offset != 0) {
    throw_error(errc::invalid_argument, where + ": a kretprobe takes no offset");
  }
  if (options.syscall && (options.address || options.offset != 0)) {
    throw_error(errc::invalid_argument, where + ": a syscall probe takes no address or offset");
  }

  sys::probe_event_options probe;
  probe.kind = sys::probe_kind::kprobe;
  probe.retprobe = options.retprobe;
  probe.offset = options.offset;
  // Only the lines that can matter are parsed: the name and its clones, or the two syscall
  // spellings; an address needs every function.
  const std::string clone_prefix = options.symbol + ".";
  const std::string syscall_suffix = "sys_" + options.symbol;
  std::optional<detail::kernel_symbols> symbols = read_kallsyms([&](std::string_view name) {
    if (options.address) return true;
    if (options.syscall) return name.size() >= syscall_suffix.size() &&
                                name.substr(name.size() - syscall_suffix.size()) == syscall_suffix;
    return name == options.symbol || name.substr(0, clone_prefix.size()) == clone_prefix;
  });

  if (options.address) {
    if (auto symbolized = symbols ? symbols->symbolize(*options.address) : std::nullopt) {
      probe.target = symbolized->name;
      probe.offset = symbolized->offset;
    } else {
      probe.offset = *options.address;  // the kprobe PMU takes a bare address (config2)
    }
    if (options.retprobe && probe.offset != 0) {
      throw_error(errc::invalid_argument, where + ": a kretprobe address must be a function's start (it is " +
                                              probe.target + "+" + hex(probe.offset) + ")");
    }
  } else if (options.syscall) {
    std::string prefix = detail::syscall_wrapper_prefix(machine());
    if (!symbols) {
      probe.target = prefix + "sys_" + options.symbol;  // no kallsyms to check: the 4.17+ wrapper
    } else if (auto function = symbols->syscall_function(options.symbol, prefix)) {
      probe.target = *function;
    } else {
      throw_error(errc::not_found, where + ": no syscall '" + options.symbol + "' in /proc/kallsyms (looked for " +
                                       (prefix.empty() ? "" : prefix + "sys_" + options.symbol + " and ") + "sys_" +
                                       options.symbol + ")");
    }
  } else if (!symbols) {
    probe.target = options.symbol;
  } else {
    auto resolved = symbols->resolve_function(options.symbol);
    switch (resolved.status) {
      case detail::resolution_status::exact:
      case detail::resolution_status::clone:
        probe.target = resolved.name;
        break;
      case detail::resolution_status::ambiguous:
        throw_error(errc::not_found, where + ": /proc/kallsyms has no function '" + options.symbol +
                                         "' but several clones of it: " + join(resolved.candidates, 8) +
                                         " (name one)");
      case detail::resolution_status::not_found:
        throw_error(errc::not_found, where + ": no function '" + options.symbol +
                                         "' (nor a .isra/.constprop/.part/.llvm clone) in /proc/kallsyms");
    }
  }

  sys::probe_event event = sys::open_probe_event(probe, subject_);
  std::string subject = subject_ + ": " + sys::describe_probe(probe);
  return link(detail::attach_probe_event(std::move(event), sys::probe_kind::kprobe, fd(),
                                         options.cookie, std::move(subject)));
}

link program::attach_kprobe_multi(const kprobe_multi_options& options) const {
  const bool session = expected_attach_type_ == attach_type::trace_kprobe_session;
  const char* kind = session ? "kprobe_session" : options.retprobe ? "kretprobe_multi" : "kprobe_multi";
  int given = !options.pattern.empty() + !options.symbols.empty() + !options.addresses.empty();
  std::string target = !options.pattern.empty() ? "'" + options.pattern + "'"
                       : !options.symbols.empty() ? std::to_string(options.symbols.size()) + " symbols"
                                                  : std::to_string(options.addresses.size()) + " addresses";
  std::string subject = subject_ + ": " + kind + " " + target;
  if (given != 1) {
    throw_error(errc::invalid_argument, subject + ": give exactly one of pattern, symbols, addresses");
  }
  if (!options.pattern.empty() && !options.cookies.empty()) {
    throw_error(errc::invalid_argument, subject + ": cookies need explicit symbols or addresses (a pattern's order is not yours)");
  }
  const std::size_t count = options.symbols.empty() ? options.addresses.size() : options.symbols.size();
  if (!options.cookies.empty() && options.cookies.size() != count) {
    throw_error(errc::invalid_argument, subject + ": " + std::to_string(options.cookies.size()) +
                                            " cookies for " + std::to_string(count) + " functions");
  }
  if (type_ != program_type::kprobe) {
    throw_error(errc::invalid_argument, subject + ": not a kprobe program");
  }

  std::vector<std::string> names = options.symbols;
  if (!options.pattern.empty()) {
    // What ftrace can attach to: kprobe_multi is built on fprobe, so a function outside
    // available_filter_functions fails the whole link (ESRCH/EINVAL). That file names each
    // address once, so aliases (the x86-64 syscall entries "__x64_sys_*" of "__do_sys_*") are
    // matched through kallsyms addresses (kernel_symbols::match_traceable_functions). The file
    // needs tracefs and, under lockdown, is refused (EPERM on our hosts): kallsyms' text symbols
    // alone then, which may include a few functions ftrace refuses.
    std::optional<std::string> filter;
    try {
      filter = read_text_file((sys::tracefs_path() + "/available_filter_functions").c_str());
    } catch (const error&) {
      filter.reset();
    }
    if (filter) {
      std::vector<std::string> traceable = detail::parse_filter_functions(*filter);
      auto symbols = read_kallsyms([&](std::string_view name) {
        return detail::glob_match(name, options.pattern) ||
               std::binary_search(traceable.begin(), traceable.end(), name, std::less<>());
      });
      if (symbols) {
        names = symbols->match_traceable_functions(options.pattern, traceable);
      } else {
        for (auto& name : traceable)
          if (detail::glob_match(name, options.pattern)) names.push_back(std::move(name));
      }
    } else {
      auto symbols = read_kallsyms([&](std::string_view name) { return detail::glob_match(name, options.pattern); });
      if (symbols) names = symbols->match_functions(options.pattern);
    }
    if (names.empty()) {
      throw_error(errc::not_found, subject + ": the pattern matches no kernel function" +
                                       std::string(filter ? " in available_filter_functions" : " in /proc/kallsyms"));
    }
  }
  std::vector<const char*> pointers;
  pointers.reserve(names.size());
  for (const auto& name : names) pointers.push_back(name.c_str());

  sys::link_kprobe_multi multi;
  // BPF_F_KPROBE_MULTI_RETURN; a session program gets both entry and return without it.
  multi.flags = options.retprobe && !session ? 1u : 0u;
  multi.symbols = pointers;
  multi.addresses = options.addresses;
  multi.cookies = options.cookies;
  sys::link_create_options create;
  create.prog_fd = fd();
  create.type = session ? attach_type::trace_kprobe_session : attach_type::trace_kprobe_multi;
  create.extra = multi;
  try {
    return link(detail::make_kernel_link(sys::link_create(create, subject), subject,
                                         "kprobe_multi bpf_link"));
  } catch (const error& e) {
    if (e.code().category() != std::system_category()) throw;
    if (e.code().value() == EOPNOTSUPP) {
      throw error(e.code(), std::string(e.what()) +
                                " (the kernel has no fprobe: kprobe_multi needs 5.18 with CONFIG_FPROBE; use attach_kprobe per function)");
    }
    // BPF_TRACE_KPROBE_SESSION is 6.10 (commit 535a3692ba72 "bpf: Add support for kprobe session
    // attach"); link_create of an older kernel refuses an attach type it does not know with
    // EINVAL before it looks at the symbols (kernel/bpf/syscall.c link_create).
    if (session && e.code().value() == EINVAL) {
      throw error(e.code(), std::string(e.what()) +
                                " (kprobe.session links need kernel 6.10: older kernels refuse the attach type)");
    }
    throw;
  }
}

}  // namespace ebpf
