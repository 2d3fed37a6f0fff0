// ebpfpp: enumeration of the kernel's BPF objects (include/ebpf/inspect.hpp).
#include <ebpf/inspect.hpp>

#include <ebpf/error.hpp>

#include "sys/bpf.hpp"

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

namespace ebpf {

std::string_view to_string(perf_event_kind kind) noexcept {
  switch (kind) {
    case perf_event_kind::unspec: return "unspec";
    case perf_event_kind::uprobe: return "uprobe";
    case perf_event_kind::uretprobe: return "uretprobe";
    case perf_event_kind::kprobe: return "kprobe";
    case perf_event_kind::kretprobe: return "kretprobe";
    case perf_event_kind::tracepoint: return "tracepoint";
    case perf_event_kind::event: return "event";
  }
  return "unknown";
}

namespace inspect {
namespace {

bool gone(const error& e) { return e.code() == std::error_code(ENOENT, std::system_category()); }

// Opens object `id` with `open` and describes it with `describe`; nullopt when the object was
// freed after its id was listed (GET_FD_BY_ID gives ENOENT: the id is no longer in the idr).
template <class Info, class Open, class Describe>
std::optional<Info> describe_by_id(std::uint32_t id, Open open, Describe describe) {
  try {
    return describe(open(id));
  } catch (const error& e) {
    if (gone(e)) return std::nullopt;
    throw;
  }
}

template <class Info, class Next, class Open, class Describe>
std::vector<Info> describe_all(Next next, Open open, Describe describe) {
  std::vector<Info> out;
  for (auto id = next(0); id; id = next(*id)) {
    if (auto info = describe_by_id<Info>(*id, open, describe)) out.push_back(std::move(*info));
  }
  return out;
}

unique_fd open_program(std::uint32_t id) { return sys::prog_get_fd_by_id(id, "program"); }
// Read-only: enough for GET_INFO_BY_FD, and it works on maps frozen or created BPF_F_WRONLY.
unique_fd open_map(std::uint32_t id) { return sys::map_get_fd_by_id(id, sys::open_rdonly, "map"); }
unique_fd open_link(std::uint32_t id) { return sys::link_get_fd_by_id(id, "link"); }
unique_fd open_btf(std::uint32_t id) { return sys::btf_get_fd_by_id(id, "BTF"); }

// program::info() and link::info() are the places that map the kernel's info to the public
// structs: adopt the fd and ask them.
program_info describe_program(unique_fd fd) { return program::from_fd(std::move(fd)).info(); }

map_info describe_map(unique_fd fd) {
  sys::map_info raw = sys::map_get_info(fd.get(), "map");
  map_info info;
  info.type = raw.type;
  info.id = raw.id;
  info.key_size = raw.key_size;
  info.value_size = raw.value_size;
  info.max_entries = raw.max_entries;
  info.flags = raw.flags;
  info.name = std::move(raw.name);
  info.ifindex = raw.ifindex;
  info.btf_id = raw.btf_id;
  info.btf_key_type_id = raw.btf_key_type_id;
  info.btf_value_type_id = raw.btf_value_type_id;
  info.btf_vmlinux_value_type_id = raw.btf_vmlinux_value_type_id;
  info.map_extra = raw.map_extra;
  return info;
}

link_info describe_link(unique_fd fd) {
  link adopted = link::from_fd(std::move(fd));
  link_info info = adopted.info();
  // Destroying an adopted link closes our fd only: the kernel detaches a link when its last
  // reference goes, and whoever attached it still holds one (or it would not be listed).
  return info;
}

btf_object_info describe_btf(unique_fd fd) {
  sys::btf_info raw = sys::btf_get_info(fd.get(), "BTF");
  btf_object_info info;
  info.id = raw.id;
  info.size = raw.btf_size;
  info.name = std::move(raw.name);
  info.kernel = raw.kernel_btf;
  return info;
}

}  // namespace

std::vector<program_info> programs() {
  return describe_all<program_info>(sys::prog_get_next_id, open_program, describe_program);
}
std::vector<map_info> maps() { return describe_all<map_info>(sys::map_get_next_id, open_map, describe_map); }
std::vector<link_info> links() { return describe_all<link_info>(sys::link_get_next_id, open_link, describe_link); }
std::vector<btf_object_info> btf_objects() {
  return describe_all<btf_object_info>(sys::btf_get_next_id, open_btf, describe_btf);
}

std::optional<program_info> program_by_id(std::uint32_t id) {
  return describe_by_id<program_info>(id, open_program, describe_program);
}
std::optional<map_info> map_by_id(std::uint32_t id) { return describe_by_id<map_info>(id, open_map, describe_map); }
std::optional<link_info> link_by_id(std::uint32_t id) { return describe_by_id<link_info>(id, open_link, describe_link); }
std::optional<btf_object_info> btf_by_id(std::uint32_t id) {
  return describe_by_id<btf_object_info>(id, open_btf, describe_btf);
}

std::optional<bool> program_stats_enabled() {
  // The sysctl reads back the value last written to it (kernel/bpf/syscall.c,
  // bpf_stats_handler keeps it in saved_val), not the static key that BPF_ENABLE_STATS fds also
  // increment: a process holding such an fd turns collection on without changing this value.
  std::ifstream in("/proc/sys/kernel/bpf_stats_enabled");
  int value = 0;
  if (!(in >> value)) return std::nullopt;
  return value != 0;
}

}  // namespace inspect
}  // namespace ebpf
