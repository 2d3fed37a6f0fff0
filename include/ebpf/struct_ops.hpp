// ebpfpp: struct_ops, kernel "ops" structs implemented by BPF programs (a TCP congestion
// control, a sched_ext scheduler, ...).
//
// In the BPF object, a variable of SEC(".struct_ops.link") (or SEC(".struct_ops")) of type
// `struct tcp_congestion_ops` names the programs implementing each member:
//
//   SEC("struct_ops/cc_init") void BPF_PROG(cc_init, struct sock *sk) { ... }
//   SEC(".struct_ops.link") struct tcp_congestion_ops my_cc = {
//       .init = (void *)cc_init, ..., .name = "my_cc"};
//
// object::load creates one struct_ops map per variable and loads its programs against the kernel
// struct; object::attach_struct_ops("my_cc") registers it (the name then shows in
// /proc/sys/net/ipv4/tcp_available_congestion_control) until the returned link is destroyed.
// SEC(".struct_ops.link") asks for a struct_ops bpf_link (6.4); on an older kernel the same object
// still loads and registers, by the map's value as SEC(".struct_ops") does (5.6), decided by the
// cached probe kernel_feature::struct_ops_link; only pinning and swapping the map need 6.4.
//
// The kernel's value is `struct bpf_struct_ops_<name>` from vmlinux BTF, whose member `data` is
// the kernel's struct; its layout differs from the object's struct (which usually declares only
// the members it sets), so lay_out_struct_ops() places each member by name. Pure: no kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ebpf/btf.hpp>
#include <ebpf/object_spec.hpp>

namespace ebpf {

/// Where a struct_ops map's value goes in the kernel: what BPF_MAP_CREATE, BPF_PROG_LOAD and
/// BPF_MAP_UPDATE_ELEM need.
struct struct_ops_layout {
  /// `struct <name>` in the kernel's BTF: the attach_btf_id of the member programs.
  std::uint32_t kernel_type_id = 0;
  /// `struct bpf_struct_ops_<name>`: the map's btf_vmlinux_value_type_id.
  std::uint32_t kernel_value_type_id = 0;
  /// Byte offset of the kernel struct (member `data`) inside the value.
  std::uint32_t data_offset = 0;
  /// The map value (size of bpf_struct_ops_<name>): the object's scalar members copied to their
  /// kernel offsets, everything else zero. Program fds go in at each program slot after load.
  std::vector<std::byte> value;

  /// A function pointer member implemented by a program.
  struct program_slot {
    std::string program;         ///< the program's (function) name
    std::string member;          ///< e.g. "cong_avoid"
    std::uint32_t member_index;  ///< in the kernel struct: the program's expected_attach_type
    std::uint32_t value_offset;  ///< where its fd goes in `value` (8 bytes)
  };
  std::vector<program_slot> programs;
};

/// Lays out `ops` (a struct_ops variable of an object whose BTF is `local`) by the kernel's types
/// in `kernel` (vmlinux BTF), as libbpf's bpf_map__init_kern_struct_ops does: members are matched
/// by name; scalar members must have the same size and are copied; function pointers get a
/// program slot; a member the kernel lacks is accepted only when it is zero (libbpf 1.3+).
/// `subject` prefixes messages ("object 'x': struct_ops 'my_cc'").
/// Throws: ebpf::error(errc::not_found) when the kernel has no `struct <name>` or no
/// `struct bpf_struct_ops_<name>` (not a struct_ops type of this kernel), or lacks a member that
/// the object sets; errc::type_mismatch when a member differs in size or kind, or is a bitfield.
struct_ops_layout lay_out_struct_ops(const btf& local, const struct_ops_spec& ops, const btf& kernel,
                                     std::string_view subject);

}  // namespace ebpf
