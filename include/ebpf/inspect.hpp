// ebpfpp: what is in the kernel right now: every program, map, link and BTF object, with the
// kernel's description of each (what `bpftool prog/map/link/btf list` shows).
//
//   for (const ebpf::program_info& p : ebpf::inspect::programs())
//     std::printf("%u %s %s\n", p.id, std::string(ebpf::to_string(p.type)).c_str(), p.name.c_str());
//
// Enumeration walks the ids (BPF_*_GET_NEXT_ID), opens each (BPF_*_GET_FD_BY_ID) and asks for its
// info (BPF_OBJ_GET_INFO_BY_FD). Objects come and go meanwhile: one freed between the two steps
// (ENOENT) is skipped, so every entry describes an object that was alive when it was read (the
// list as a whole is not atomic: objects created during the walk may or may not appear).
// Every call needs CAP_SYS_ADMIN (the kernel refuses GET_NEXT_ID to anyone else: EPERM).
// The namespace is `inspect`, not `system`: code that says `using namespace ebpf;` must still be
// able to call ::system().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ebpf/link.hpp>
#include <ebpf/map.hpp>
#include <ebpf/program.hpp>

namespace ebpf {

/// What the kernel reports about a BTF object (BPF_OBJ_GET_INFO_BY_FD, 5.0).
struct btf_object_info {
  std::uint32_t id = 0;
  std::uint32_t size = 0;  ///< bytes of raw BTF
  /// "vmlinux", a kernel module's name, or the name a loader gave (usually empty), 5.11.
  std::string name;
  /// Whether this is the kernel's own BTF (vmlinux or a module's) rather than one a loader
  /// uploaded with BPF_BTF_LOAD, 5.11.
  bool kernel = false;
};

namespace inspect {

/// Every program in the kernel, by ascending id (BPF_PROG_GET_NEXT_ID, 4.13).
/// Throws: ebpf::error (EPERM without CAP_SYS_ADMIN).
std::vector<program_info> programs();
/// Every map in the kernel, by ascending id (4.13). Throws: as programs().
std::vector<map_info> maps();
/// Every bpf_link in the kernel, by ascending id, with the details of each link type (5.8).
/// Attachments without a kernel link (PERF_EVENT_IOC_SET_BPF, BPF_PROG_ATTACH, SO_ATTACH_BPF)
/// are not links and do not appear. Throws: as programs().
std::vector<link_info> links();
/// Every BTF object in the kernel (vmlinux, modules, loaded BTF), by ascending id (5.4).
/// Throws: as programs().
std::vector<btf_object_info> btf_objects();

/// The program with this id, or std::nullopt when there is none (ENOENT).
/// Throws: ebpf::error for other failures (EPERM).
std::optional<program_info> program_by_id(std::uint32_t id);
/// The map with this id, or std::nullopt. Throws: as program_by_id().
std::optional<map_info> map_by_id(std::uint32_t id);
/// The link with this id, or std::nullopt. Throws: as program_by_id().
std::optional<link_info> link_by_id(std::uint32_t id);
/// The BTF object with this id, or std::nullopt. Throws: as program_by_id().
std::optional<btf_object_info> btf_by_id(std::uint32_t id);

/// Whether the sysctl kernel.bpf_stats_enabled is on, which makes the kernel collect run_count
/// and run_time (program_info) for every program. Collection is also on while any process holds
/// an enable_program_stats() fd, which this value does not show (the sysctl reads back what was
/// written to it). std::nullopt when /proc/sys is not readable.
std::optional<bool> program_stats_enabled();

}  // namespace inspect
}  // namespace ebpf
