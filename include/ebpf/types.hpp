// ebpfpp: kernel vocabulary as numeric enums.
//
// The values are the kernel's UAPI values (include/uapi/linux/bpf.h); lib/sys/compat.hpp
// static_asserts each one it shares with the system headers, and defines the newer ones itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ebpf {

/// enum bpf_prog_type.
enum class program_type : std::uint32_t {
  unspec = 0,
  socket_filter = 1,
  kprobe = 2,
  sched_cls = 3,
  sched_act = 4,
  tracepoint = 5,
  xdp = 6,
  perf_event = 7,
  cgroup_skb = 8,
  cgroup_sock = 9,
  lwt_in = 10,
  lwt_out = 11,
  lwt_xmit = 12,
  sock_ops = 13,
  sk_skb = 14,
  cgroup_device = 15,
  sk_msg = 16,
  raw_tracepoint = 17,
  cgroup_sock_addr = 18,
  lwt_seg6local = 19,
  lirc_mode2 = 20,
  sk_reuseport = 21,
  flow_dissector = 22,
  cgroup_sysctl = 23,
  raw_tracepoint_writable = 24,
  cgroup_sockopt = 25,
  tracing = 26,
  struct_ops = 27,
  ext = 28,
  lsm = 29,
  sk_lookup = 30,
  syscall = 31,   // 5.14
  netfilter = 32,  // 6.4
};

/// enum bpf_map_type.
enum class map_type : std::uint32_t {
  unspec = 0,
  hash = 1,
  array = 2,
  prog_array = 3,
  perf_event_array = 4,
  percpu_hash = 5,
  percpu_array = 6,
  stack_trace = 7,
  cgroup_array = 8,
  lru_hash = 9,
  lru_percpu_hash = 10,
  lpm_trie = 11,
  array_of_maps = 12,
  hash_of_maps = 13,
  devmap = 14,
  sockmap = 15,
  cpumap = 16,
  xskmap = 17,
  sockhash = 18,
  cgroup_storage = 19,
  reuseport_sockarray = 20,
  percpu_cgroup_storage = 21,
  queue = 22,
  stack = 23,
  sk_storage = 24,
  devmap_hash = 25,
  struct_ops = 26,
  ringbuf = 27,
  inode_storage = 28,
  task_storage = 29,
  bloom_filter = 30,
  user_ringbuf = 31,
  cgrp_storage = 32,  // 6.2
  arena = 33,         // 6.9
};

/// enum bpf_attach_type.
enum class attach_type : std::uint32_t {
  cgroup_inet_ingress = 0,
  cgroup_inet_egress = 1,
  cgroup_inet_sock_create = 2,
  cgroup_sock_ops = 3,
  sk_skb_stream_parser = 4,
  sk_skb_stream_verdict = 5,
  cgroup_device = 6,
  sk_msg_verdict = 7,
  cgroup_inet4_bind = 8,
  cgroup_inet6_bind = 9,
  cgroup_inet4_connect = 10,
  cgroup_inet6_connect = 11,
  cgroup_inet4_post_bind = 12,
  cgroup_inet6_post_bind = 13,
  cgroup_udp4_sendmsg = 14,
  cgroup_udp6_sendmsg = 15,
  lirc_mode2 = 16,
  flow_dissector = 17,
  cgroup_sysctl = 18,
  cgroup_udp4_recvmsg = 19,
  cgroup_udp6_recvmsg = 20,
  cgroup_getsockopt = 21,
  cgroup_setsockopt = 22,
  trace_raw_tp = 23,
  trace_fentry = 24,
  trace_fexit = 25,
  modify_return = 26,
  lsm_mac = 27,
  trace_iter = 28,
  cgroup_inet4_getpeername = 29,
  cgroup_inet6_getpeername = 30,
  cgroup_inet4_getsockname = 31,
  cgroup_inet6_getsockname = 32,
  xdp_devmap = 33,
  cgroup_inet_sock_release = 34,
  xdp_cpumap = 35,
  sk_lookup = 36,
  xdp = 37,
  sk_skb_verdict = 38,
  sk_reuseport_select = 39,
  sk_reuseport_select_or_migrate = 40,
  perf_event = 41,
  trace_kprobe_multi = 42,
  lsm_cgroup = 43,         // 6.0
  struct_ops = 44,         // 6.4
  netfilter = 45,          // 6.4
  tcx_ingress = 46,        // 6.6
  tcx_egress = 47,         // 6.6
  trace_uprobe_multi = 48, // 6.6
  cgroup_unix_connect = 49,     // 6.7
  cgroup_unix_sendmsg = 50,     // 6.7
  cgroup_unix_recvmsg = 51,     // 6.7
  cgroup_unix_getpeername = 52, // 6.7
  cgroup_unix_getsockname = 53, // 6.7
  netkit_primary = 54,          // 6.7
  netkit_peer = 55,             // 6.7
  trace_kprobe_session = 56,    // 6.10
  trace_uprobe_session = 57,    // 6.13
};

/// The lower-case kernel name ("cgroup_skb", "hash", "cgroup_inet_ingress"), or "unknown".
std::string_view to_string(program_type type) noexcept;
std::string_view to_string(map_type type) noexcept;
std::string_view to_string(attach_type type) noexcept;

/// The reverse of to_string, for the CLI: "cgroup_skb" -> program_type::cgroup_skb. Also accepts
/// the UAPI spelling ("BPF_PROG_TYPE_CGROUP_SKB", "BPF_MAP_TYPE_HASH", "BPF_CGROUP_INET_INGRESS")
/// and any letter case. std::nullopt for anything else (including "unknown").
std::optional<program_type> program_type_from_string(std::string_view name) noexcept;
std::optional<map_type> map_type_from_string(std::string_view name) noexcept;
std::optional<attach_type> attach_type_from_string(std::string_view name) noexcept;

/// One eBPF instruction, laid out exactly as struct bpf_insn on a little-endian host:
/// code, dst_reg (low nibble) | src_reg (high nibble), 16-bit offset, 32-bit immediate.
struct instruction {
  std::uint8_t code = 0;
  std::uint8_t registers = 0;
  std::int16_t offset = 0;
  std::int32_t imm = 0;

  std::uint8_t dst() const noexcept { return registers & 0x0f; }
  std::uint8_t src() const noexcept { return registers >> 4; }
  void set_src(std::uint8_t src) noexcept {
    registers = static_cast<std::uint8_t>((registers & 0x0f) | (src << 4));
  }
  friend bool operator==(const instruction&, const instruction&) = default;
};
static_assert(sizeof(instruction) == 8);

}  // namespace ebpf
