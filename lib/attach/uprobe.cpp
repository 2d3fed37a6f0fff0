// ebpfpp: program::attach_uprobe and attach_uprobe_multi, and finding binaries and functions.
//
// Models read: libbpf src/libbpf.c (bpf_program__attach_uprobe_opts, resolve_full_path,
// attach_uprobe_multi) and src/elf.c; cilium/ebpf link/uprobe.go and link/uprobe_multi.go.

#include <ebpf/error.hpp>
#include <ebpf/features.hpp>
#include <ebpf/program.hpp>
#include <ebpf/uprobe.hpp>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach/binary_file.hpp"
#include "attach/probe_attachment.hpp"
#include "attach/uprobe_multi_link.hpp"
#include "attach/uprobe_section.hpp"
#include "link_attachment.hpp"
#include "object/usdt_note.hpp"
#include "sys/bpf.hpp"
#include "sys/probe_event.hpp"

namespace ebpf {
namespace detail {

binary_file::binary_file(const std::string& path) : path_(path) {
  std::string subject = "binary '" + path + "'";
  unique_fd fd;
  try {
    fd = unique_fd::open(path.c_str(), O_RDONLY);
  } catch (const error& e) {
    throw error(e.code(), subject + ": " + e.what());
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, subject + ": stat");
  if (!S_ISREG(st.st_mode)) throw_error(errc::invalid_argument, subject + ": not a regular file");
  if (st.st_size == 0) throw_error(errc::invalid_object, subject + ": empty file");
  region_ = sys::mapped_region::map(fd.get(), static_cast<std::size_t>(st.st_size),
                                    sys::mapped_region::prot_read, sys::mapped_region::map_shared,
                                    0, subject);
  std::span<const std::byte> bytes = region_.bytes();
  elf_ = std::make_unique<elf_binary>(bytes, path);
}

}  // namespace detail

namespace {

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_executable_file(const std::string& path) {
  return is_file(path) && ::access(path.c_str(), X_OK) == 0;
}

std::string read_text_file(const std::string& path) {
  unique_fd fd = unique_fd::open(path.c_str(), O_RDONLY);
  std::string text;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "read '" + path + "'");
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

std::vector<std::string> split_path_list(const char* list) {
  std::vector<std::string> dirs;
  if (list == nullptr) return dirs;
  std::string_view rest = list;
  while (!rest.empty()) {
    auto colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    if (!dir.empty()) dirs.emplace_back(dir);
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return dirs;
}

std::string_view file_name_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace

std::string resolve_binary_path(std::string_view binary, int pid) {
  std::string subject = "uprobe: binary '" + std::string(binary) + "'";
  if (binary.empty()) throw_error(errc::invalid_argument, subject + ": no binary given");
  if (binary.find('/') != std::string_view::npos) return std::string(binary);

  std::string looked;
  // A running process: the library it has mapped, whatever its search path said (libbpf does
  // the same for a pid). The first executable mapping whose file name matches.
  if (pid >= 0) {
    std::string maps = "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/maps";
    try {
      for (const detail::process_mapping& mapping : detail::parse_proc_maps(read_text_file(maps))) {
        if (detail::library_name_matches(file_name_of(mapping.path), binary)) return mapping.path;
      }
    } catch (const error&) {
      // The process may be gone or not ours; the search below may still find the file.
    }
    looked += maps + ", ";
  }

  if (binary.find(".so") != std::string_view::npos || binary.substr(0, 3) == "lib") {
    for (const std::string& dir : split_path_list(std::getenv("LD_LIBRARY_PATH"))) {
      std::string candidate = dir + "/" + std::string(binary);
      if (is_file(candidate)) return candidate;
    }
    // /etc/ld.so.cache, entries for this machine's ABI only (a multilib system also lists the
    // 32-bit libc).
    try {
      std::string cache = read_text_file("/etc/ld.so.cache");
      auto entries = detail::parse_ld_so_cache(
          std::span<const std::byte>(reinterpret_cast<const std::byte*>(cache.data()), cache.size()));
      std::uint32_t native = detail::ld_cache_native_flags();
      for (bool exact : {true, false}) {
        for (const detail::ld_cache_entry& entry : entries) {
          if (native != 0 && (entry.flags & 0xffff) != native) continue;
          bool match = exact ? entry.name == binary : detail::library_name_matches(entry.name, binary);
          if (match && is_file(entry.path)) return entry.path;
        }
      }
    } catch (const error&) {
      // No cache (static systems, musl): the standard directories remain.
    }
    looked += "LD_LIBRARY_PATH, /etc/ld.so.cache, ";
    static const char* const standard[] = {
#if defined(__x86_64__)
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
#elif defined(__aarch64__)
        "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
#endif
        "/lib64", "/usr/lib64", "/lib", "/usr/lib"};
    for (const char* dir : standard) {
      std::string candidate = std::string(dir) + "/" + std::string(binary);
      if (is_file(candidate)) return candidate;
      looked += dir;
      looked += ", ";
    }
  } else {
    for (const std::string& dir : split_path_list(std::getenv("PATH"))) {
      std::string candidate = dir + "/" + std::string(binary);
      if (is_executable_file(candidate)) return candidate;
    }
    looked += "PATH, ";
  }
  if (looked.size() >= 2) looked.resize(looked.size() - 2);
  throw_error(errc::not_found, subject + ": not found (looked in " + looked + ")");
}

std::uint64_t resolve_function_offset(std::string_view binary, std::string_view function, int pid) {
  detail::binary_file file(resolve_binary_path(binary, pid));
  return file.elf().find_function(function).offset;
}

std::vector<usdt_probe_info> list_usdt_probes(std::string_view binary, std::string_view provider,
                                              std::string_view name) {
  detail::binary_file file(resolve_binary_path(binary));
  std::vector<usdt_probe_info> probes;
  if (file.elf().find_section(".note.stapsdt") == nullptr) return probes;
  std::vector<detail::usdt_site> sites;
  try {
    sites = detail::find_usdt_sites(file.elf(), provider, name);
  } catch (const error& e) {
    if (e.code() != make_error_code(errc::not_found)) throw;
    return probes;
  }
  for (detail::usdt_site& site : sites) {
    probes.push_back({std::move(site.provider), std::move(site.name), site.address, site.offset,
                      site.semaphore_offset, std::move(site.args_text)});
  }
  return probes;
}

link program::attach_uprobe(const uprobe_options& options) const {
  const char* what = options.retprobe ? "uretprobe" : "uprobe";
  std::string target = options.binary + ":" +
                       (options.function.empty() ? hex(options.offset)
                                                 : options.function +
                                                       (options.offset ? "+" + hex(options.offset) : ""));
  std::string subject = subject_ + ": " + what + " '" + target + "'";
  if (options.retprobe && !options.function.empty() && options.offset != 0) {
    throw_error(errc::invalid_argument, subject + ": a return probe takes no offset");
  }

  sys::probe_event_options probe;
  probe.kind = sys::probe_kind::uprobe;
  probe.retprobe = options.retprobe;
  probe.offset = options.offset;
  probe.ref_ctr_offset = options.ref_ctr_offset;
  probe.pid = options.pid;
  try {
    probe.target = resolve_binary_path(options.binary, options.pid);
    if (!options.function.empty()) {
      detail::binary_file file(probe.target);
      probe.offset += file.elf().find_function(options.function).offset;
    }
  } catch (const error& e) {
    throw error(e.code(), subject + ": " + e.what());
  }
  sys::probe_event event = sys::open_probe_event(probe, subject_);
  return link(detail::attach_probe_event(std::move(event), sys::probe_kind::uprobe, fd(),
                                         options.cookie, subject));
}

link program::attach_uprobe_multi(const uprobe_multi_options& options) const {
  std::string subject = subject_ + ": uprobe_multi '" + options.binary + "'";
  auto fail = [&](errc code, const std::string& why) { throw_error(code, subject + ": " + why); };
  if (options.symbols.empty() == options.offsets.empty()) {
    fail(errc::invalid_argument, "give either symbols or offsets");
  }

  std::string path;
  std::vector<std::uint64_t> offsets = options.offsets;
  try {
    path = resolve_binary_path(options.binary, options.pid);
    if (!options.symbols.empty()) {
      detail::binary_file file(path);
      for (const std::string& symbol : options.symbols) {
        if (symbol.find_first_of("*?") != std::string::npos) {
          auto matches = file.elf().match_functions(symbol);
          if (matches.empty()) fail(errc::unknown_symbol, "no function matches '" + symbol + "'");
          for (const auto& match : matches) offsets.push_back(match.offset);
        } else {
          offsets.push_back(file.elf().find_function(symbol).offset);
        }
      }
    }
  } catch (const error& e) {
    if (std::string_view(e.what()).substr(0, subject.size()) == subject) throw;
    throw error(e.code(), subject + ": " + e.what());
  }
  if (!options.cookies.empty() && options.cookies.size() != offsets.size()) {
    fail(errc::invalid_argument, std::to_string(options.cookies.size()) + " cookies for " +
                                     std::to_string(offsets.size()) + " probes");
  }
  if (!options.ref_ctr_offsets.empty() && options.ref_ctr_offsets.size() != offsets.size()) {
    fail(errc::invalid_argument, std::to_string(options.ref_ctr_offsets.size()) +
                                     " semaphore offsets for " + std::to_string(offsets.size()) +
                                     " probes");
  }

  // The kernel checks the attach type against the one the program was loaded with
  // (kernel/trace/bpf_trace.c bpf_uprobe_multi_link_attach); a session runs at entry and return,
  // so the return flag makes no sense there.
  bool session = expected_attach_type() == attach_type::trace_uprobe_session;
  const attach_type type = session ? attach_type::trace_uprobe_session : attach_type::trace_uprobe_multi;
  sys::link_uprobe_multi multi;
  multi.path = path.c_str();
  multi.offsets = offsets;
  multi.ref_ctr_offsets = options.ref_ctr_offsets;
  multi.cookies = options.cookies;
  multi.flags = options.retprobe && !session ? 1u : 0u;  // BPF_F_UPROBE_MULTI_RETURN
  // The kernel's pid 0 means every process; ours is -1, and 0 is this process (as for
  // perf_event_open).
  int pid = options.pid == 0 ? static_cast<int>(::getpid()) : options.pid;
  multi.pid = pid > 0 ? static_cast<std::uint32_t>(pid) : 0u;
  return link(detail::create_uprobe_multi_link(fd(), expected_attach_type(), type, multi, subject,
                                               "attach one uprobe per function with attach_uprobe"));
}

}  // namespace ebpf

namespace ebpf::detail {

std::unique_ptr<attachment> create_uprobe_multi_link(int prog_fd, std::optional<attach_type> loaded_for,
                                                     attach_type type, const sys::link_uprobe_multi& multi,
                                                     const std::string& subject, std::string_view fallback) {
  sys::link_create_options create;
  create.prog_fd = prog_fd;
  create.type = type;
  create.extra = multi;
  try {
    return make_kernel_link(sys::link_create(create, subject), subject, "uprobe_multi bpf_link");
  } catch (const error& e) {
    if (e.code() != std::error_code(EINVAL, std::system_category())) throw;
    // EINVAL says little: a kernel without the link type refuses the attach type in link_create
    // (kernel/bpf/syscall.c), one with it refuses a program loaded for something else
    // (bpf_prog_attach_check_attach_type, and kernel/trace/bpf_trace.c
    // bpf_uprobe_multi_link_attach), and both refuse bad offsets. The cached feature probe tells
    // the first from the others.
    std::string why;
    bool session = type == attach_type::trace_uprobe_session;
    if (probe_feature(kernel_feature::uprobe_multi_link).state == support::unsupported) {
      // 89ae89f53d20 "bpf: Add multi uprobe link", merged for 6.6.
      why = "uprobe_multi links need kernel 6.6; this kernel has none";
      if (!fallback.empty()) why += ": " + std::string(fallback);
    } else if (loaded_for != type) {
      why = session ? "the program was not loaded for uprobe.session: load it from SEC(\"uprobe.session\")"
                    : "the program was not loaded for uprobe_multi: load it from SEC(\"uprobe.multi\") (expected "
                      "attach type trace_uprobe_multi)";
    } else if (session) {
      why = "uprobe.session links need kernel 6.13";
    } else {
      throw;
    }
    throw error(e.code(), std::string(e.what()) + " (" + why + ")");
  }
}

link attach_uprobe_section(const program& prog, const section_info& section, const std::string& where) {
  if (section.method == attach_method::usdt) {
    auto target = parse_usdt_target(section.attach_target);
    if (!target) {
      throw_error(errc::invalid_argument, where + ": section target '" + section.attach_target +
                                              "' is not <path>:<provider>:<name> (use attach_usdt)");
    }
    return prog.attach_usdt({.binary = target->binary_path, .provider = target->provider,
                             .name = target->name});
  }
  auto target = parse_uprobe_target(section.attach_target);
  if (!target) {
    throw_error(errc::invalid_argument,
                where + ": section target '" + section.attach_target + "' is not <path>:<function>" +
                    (section.method == attach_method::uprobe ? "[+<offset>] (use attach_uprobe)"
                                                             : " (use attach_uprobe_multi)"));
  }
  if (section.method == attach_method::uprobe_multi || section.method == attach_method::uprobe_session) {
    return prog.attach_uprobe_multi({.binary = target->binary_path, .symbols = {target->function},
                                     .retprobe = section.retprobe});
  }
  // "uprobe/<path>:0x1139" names a file offset rather than a function (libbpf accepts both).
  uprobe_options options{.binary = target->binary_path, .function = target->function,
                         .offset = target->offset, .retprobe = section.retprobe};
  char first = target->function.front();
  if (first >= '0' && first <= '9') {
    auto number = parse_kprobe_target("x+" + target->function);  // reuses the %li number parser
    if (!number) {
      throw_error(errc::invalid_argument,
                  where + ": '" + target->function + "' is neither a function nor a file offset");
    }
    options.function.clear();
    options.offset = number->offset + target->offset;
  }
  return prog.attach_uprobe(options);
}

}  // namespace ebpf::detail
