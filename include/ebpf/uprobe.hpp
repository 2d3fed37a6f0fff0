// ebpfpp: uprobes, uprobe_multi and USDT: option structs for program::attach_uprobe,
// attach_uprobe_multi and attach_usdt, and the binary/symbol resolution they use.
//
//   auto counter = obj.program("on_malloc").attach_uprobe(
//       {.binary = "libc.so.6", .function = "malloc", .pid = child});
//   auto usdt = obj.program("on_tick").attach_usdt({.binary = "./app", .provider = "app",
//                                                    .name = "tick"});
//
// A uprobe fires when any process (or only `pid`) executes the instruction at a file offset of
// a binary. Functions are found in the binary's .symtab or .dynsym (no PLT stubs: the probe is on
// the implementation, so calls from every module are seen). The eBPF side of USDT is
// <ebpfpp/usdt.h>: bpf_usdt_arg(ctx, n, &value) decodes the probe's arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf {

/// Options for program::attach_uprobe.
struct uprobe_options {
  /// Path of the executable or shared library. A name without '/' is looked up: in `pid`'s
  /// /proc/PID/maps when pid >= 0, else as a library in LD_LIBRARY_PATH, /etc/ld.so.cache and
  /// the standard directories ("libc.so.6", "libc"), or as a program in PATH when it has no ".so".
  std::string binary{};
  /// Function to probe ("malloc", or a versioned "malloc@@GLIBC_2.2.5"). Empty: `offset` is the
  /// file offset of the instruction to probe.
  std::string function{};
  /// Added to the function's file offset (probe inside a function; must be an instruction
  /// boundary). Return probes take no offset.
  std::uint64_t offset = 0;
  /// Fire when the function returns (a uretprobe) instead of when it is entered.
  bool retprobe = false;
  /// Only this process; -1: every process that maps the binary.
  int pid = -1;
  /// bpf_get_attach_cookie() value (kernel 5.15).
  std::uint64_t cookie = 0;
  /// File offset of a u16 semaphore the kernel increments while the probe is attached (USDT
  /// semaphores; kernel 4.20). 0: none.
  std::uint64_t ref_ctr_offset = 0;
};

/// Options for program::attach_uprobe_multi: many probes in one binary with one link (6.6).
/// Give either `symbols` (names or glob patterns like "str*cmp") or `offsets`.
struct uprobe_multi_options {
  std::string binary{};  ///< as uprobe_options::binary
  /// Function names or glob patterns ('*', '?'); each pattern must match at least one function.
  std::vector<std::string> symbols{};
  /// File offsets (instead of symbols).
  std::vector<std::uint64_t> offsets{};
  /// Optional semaphore offsets, one per probe (same count as the probes, or empty).
  std::vector<std::uint64_t> ref_ctr_offsets{};
  /// Optional cookies, one per probe (for symbols without globs: in the order given).
  std::vector<std::uint64_t> cookies{};
  /// Return probes (BPF_F_UPROBE_MULTI_RETURN). Ignored for uprobe.session programs, which run
  /// at both entry and return.
  bool retprobe = false;
  /// Only this process; -1: every process.
  int pid = -1;
};

/// How program::attach_usdt attaches the sites of a probe.
enum class usdt_attach_mode : std::uint8_t {
  /// One uprobe_multi link when the program was loaded for it (expected attach type
  /// trace_uprobe_multi: the loader does so for SEC("usdt") on kernels with uprobe_multi links,
  /// 6.6) and the kernel has those links (a cached feature probe); otherwise one uprobe per site.
  /// Works on every kernel with BPF cookies (5.15).
  automatic,
  /// One uprobe (a perf event) per site (5.15). A kernel with uprobe_multi links (6.6) attaches a
  /// program loaded for them only through such a link: refused then (errc::invalid_argument).
  uprobe_per_site,
  /// One uprobe_multi link (6.6) for every site; the program must have been loaded for it.
  /// Older kernels refuse it (EINVAL, "uprobe_multi links need kernel 6.6").
  uprobe_multi,
};

/// Options for program::attach_usdt.
struct usdt_options {
  std::string binary{};    ///< as uprobe_options::binary
  std::string provider{};  ///< the probe's provider (first argument of DTRACE_PROBE)
  std::string name{};      ///< the probe's name
  int pid = -1;            ///< only this process; -1: every process
  /// bpf_usdt_cookie(ctx) value in the program (5.15; independent of the cookie USDT uses
  /// internally to find the argument specs).
  std::uint64_t cookie = 0;
  /// One uprobe_multi link or one uprobe per site (see usdt_attach_mode).
  usdt_attach_mode mode = usdt_attach_mode::automatic;
};

/// One USDT probe site of a binary (see list_usdt_probes).
struct usdt_probe_info {
  std::string provider;
  std::string name;
  std::uint64_t address = 0;           ///< link-time address of the probe's nop
  std::uint64_t offset = 0;            ///< its file offset
  std::uint64_t semaphore_offset = 0;  ///< file offset of the semaphore, 0 if none
  std::string arguments;               ///< the argument spec, e.g. "-4@%edi 8@%rsi"
};

/// The full path of `binary` as uprobe_options::binary describes (unchanged when it has a '/').
/// Throws: ebpf::error(errc::not_found) "uprobe: binary '<name>': not found (looked in ...)".
std::string resolve_binary_path(std::string_view binary, int pid = -1);

/// The file offset of `function` in `binary` (a path or a name, resolved as above), as a uprobe
/// takes it. Throws: ebpf::error (errno reading the file; errc::unknown_symbol; errc::invalid_object
/// for a malformed or ambiguous file).
std::uint64_t resolve_function_offset(std::string_view binary, std::string_view function,
                                      int pid = -1);

/// Every USDT probe site of `binary` whose provider and name match (empty matches all).
/// Throws: ebpf::error (errno reading the file; errc::invalid_object for malformed notes).
std::vector<usdt_probe_info> list_usdt_probes(std::string_view binary,
                                              std::string_view provider = {},
                                              std::string_view name = {});

}  // namespace ebpf
