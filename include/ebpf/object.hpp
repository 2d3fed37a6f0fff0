// ebpfpp: a loaded (or about to be loaded) eBPF object: its maps and programs in the kernel.
//
//   auto object = ebpf::object::open("probe.bpf.o");   // parse only: pure, no kernel yet
//   object.set_global("target_pid", pid);               // .data/.rodata/.bss before load
//   object.load();                                      // maps created, programs verified
//   auto counts = object.map<ebpf::hash_map<std::uint32_t, std::uint64_t>>("counts");
//   ebpf::link link = object.program("handle_exec").attach_tracepoint("sched", "sched_process_exec");
//
// Kernel: 5.2 for global data (BPF_F_MMAPABLE needs 5.5 to read globals after load); programs
// need whatever their type needs. Everything needs root or CAP_BPF (+ CAP_PERFMON/NET_ADMIN).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <ebpf/error.hpp>
#include <ebpf/map.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/program.hpp>
#include <ebpf/unique_fd.hpp>

namespace ebpf {

/// How object::load behaves.
/// An attach target inside a loaded BPF program (load_options::program_targets).
struct program_attach_target {
  /// The target program's fd (borrowed: it must stay open during load()).
  int prog_fd = -1;
  /// Its global function to attach to; empty: the function the section names.
  std::string function{};
};

struct load_options {
  /// Load only these programs (and the maps they use); empty: every program with autoload set.
  std::vector<std::string> only;
  /// Keep loading the other programs when one fails; the failures are in load_report().
  /// When false (the default) the first failure is thrown.
  bool keep_going = false;
  /// Directory (in a bpffs) for maps with `__uint(pinning, LIBBPF_PIN_BY_NAME)`: an existing
  /// pinned map of the same name is reused (after a compatibility check), otherwise the new map
  /// is pinned there.
  std::string pin_root = "/sys/fs/bpf";
  /// Verifier log level for every program: 0 = a log only on failure; 1/2 = always (kept in
  /// program_status::verifier_log).
  std::uint32_t log_level = 0;
  /// Extra kernel config lines ("CONFIG_X=y\n...") for `__kconfig` externs, taking precedence
  /// over the running kernel's config (/boot/config-$(uname -r), else /proc/config.gz), which is
  /// then read only for values these lines lack. For kernels without either file.
  std::string kconfig;
  /// A BTF file (raw BTF, e.g. from btfhub, or a .bpf.o with a .BTF section) to resolve CO-RE
  /// relocations against instead of the running kernel's /sys/kernel/btf/vmlinux, for kernels
  /// built without BTF. Empty: the running kernel's.
  std::string target_btf;
  /// Programs whose attach target is another BPF program rather than a kernel function, by
  /// program name: freplace programs (required: SEC("freplace/<function>") names the function to
  /// replace, this says in which loaded program), and fentry/fexit programs that trace a BPF
  /// program's function. Like libbpf's bpf_program__set_attach_target(). The function's BTF id is
  /// read from the target program's BTF (it must have been loaded with BTF).
  std::map<std::string, program_attach_target, std::less<>> program_targets;
};

/// The outcome of loading one program.
struct program_status {
  std::string name;
  bool loaded = false;
  std::string error;         ///< what() of the failure, empty when loaded
  std::string verifier_log;  ///< with log_level > 0, or the log of a verifier rejection
};

/// A parsed object and, after load(), its kernel objects. Move-only.
class object {
 public:
  /// Reads and parses `path`. Throws: ebpf::error (errno for I/O; errc::invalid_object and the
  /// other parse errors of object_spec::parse).
  static object open(const std::string& path);
  /// Parses an object held in memory (copied). `name` is used in messages.
  static object open_memory(std::span<const std::byte> elf_bytes, std::string_view name);
  /// Wraps an already parsed spec.
  explicit object(object_spec spec);

  object(object&&) noexcept;
  object& operator=(object&&) noexcept;
  ~object();

  const object_spec& spec() const noexcept { return spec_; }
  const std::string& name() const noexcept { return spec_.name; }

  // ---- before load ------------------------------------------------------------------------

  /// Sets a global variable's initial value (bytes must match its size).
  /// Throws: errc::not_found (no such global), errc::type_mismatch (size), errc::invalid_argument
  /// (after load: write through global_data()/set_global on .data/.bss instead).
  void set_global(std::string_view name, std::span<const std::byte> value);
  template <typename T>
  void set_global(std::string_view name, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    set_global(name, std::span<const std::byte>(reinterpret_cast<const std::byte*>(&value), sizeof(T)));
  }
  /// Whether load() loads this program. Throws: errc::not_found.
  void set_autoload(std::string_view program, bool autoload);

  /// Creates the maps, loads the programs, fills prog arrays / map-in-map `values`, freezes
  /// .rodata and maps global data into memory.
  /// Throws: ebpf::error / ebpf::verifier_error naming the object, program or map (unless
  /// keep_going, then program failures are only reported in load_report()).
  void load(const load_options& options = {});
  bool loaded() const noexcept { return loaded_; }
  /// Per program, after load().
  const std::vector<program_status>& load_report() const noexcept { return report_; }

  // ---- after load -------------------------------------------------------------------------

  /// The loaded map `name` (".data", ".rodata", ".bss" for global data).
  /// Throws: errc::not_found (no such map, or not created because of load_options::only).
  ebpf::map& map(std::string_view name);
  /// A typed view of map `name`, e.g. map<ebpf::hash_map<std::uint32_t, std::uint8_t>>("blocklist").
  /// Throws: like map(name), plus errc::type_mismatch from the view's size checks.
  template <typename View>
  View map(std::string_view name) {
    return View(map(name));
  }
  /// The loaded program `name`. Throws: errc::not_found (no such program or not loaded).
  ebpf::program& program(std::string_view name);
  /// Registers the struct_ops variable `name` (a map of SEC(".struct_ops.link") or
  /// SEC(".struct_ops"), e.g. a struct tcp_congestion_ops) with its subsystem, until the returned
  /// link is destroyed: .struct_ops.link maps through a struct_ops bpf_link (6.4; pin/detach
  /// work), .struct_ops maps by writing their value (5.6; the link deletes it to unregister,
  /// after which the map cannot be registered again). On kernels without struct_ops links
  /// (kernel_feature::struct_ops_link) load() creates .struct_ops.link maps as .struct_ops ones,
  /// so they register by value too; the link's pin() and update() then throw errc::unsupported.
  /// Throws: errc::not_found (no such struct_ops variable; a member program not loaded);
  /// ebpf::error "object '<o>': struct_ops '<name>': register: <errno>" from the kernel (EEXIST:
  /// a struct of the same name, e.g. a congestion control, is registered already).
  ebpf::link attach_struct_ops(std::string_view name);
  /// Swaps the struct_ops map behind `registration` (a link from attach_struct_ops) for the
  /// SEC(".struct_ops.link") variable `name` of the same kernel struct, without a moment
  /// unregistered (BPF_LINK_UPDATE, 6.4). The subsystem may add rules: a TCP congestion control
  /// must keep its name.
  /// Throws: errc::invalid_argument (not a .struct_ops.link variable, not a struct_ops link);
  /// errc::unsupported on a kernel without struct_ops links (before 6.4); errc::not_found as
  /// attach_struct_ops; ebpf::error (EINVAL from the kernel or subsystem).
  void update_struct_ops(ebpf::link& registration, std::string_view name);

  /// Names of the maps and programs in the kernel.
  std::vector<std::string> map_names() const;
  std::vector<std::string> program_names() const;

  /// A global variable's bytes, live in the kernel map's memory (mmapped). .rodata is read-only
  /// after load: writing through the span is a segmentation fault, use set_global before load.
  /// Throws: errc::not_found; errc::invalid_argument before load.
  std::span<std::byte> global_data(std::string_view name);
  /// Reads a global variable after load. Throws: like global_data, errc::type_mismatch.
  template <typename T>
  T global(std::string_view name) {
    static_assert(std::is_trivially_copyable_v<T>);
    auto bytes = checked_global(name, sizeof(T));
    T value;
    std::memcpy(&value, bytes.data(), sizeof(T));
    return value;
  }
  /// Writes a global variable of .data or .bss after load (seen by programs at once).
  /// Throws: like global_data, errc::type_mismatch, errc::invalid_argument for .rodata.
  template <typename T>
  void write_global(std::string_view name, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    auto bytes = checked_global(name, sizeof(T), /*writable=*/true);
    std::memcpy(bytes.data(), &value, sizeof(T));
  }

 private:
  struct kernel_state;
  std::span<std::byte> checked_global(std::string_view name, std::size_t size, bool writable = false);

  object_spec spec_;
  bool loaded_ = false;
  std::vector<program_status> report_;
  std::unique_ptr<kernel_state> kernel_;
};

}  // namespace ebpf
