// ebpfpp: names of the kernel enums (include/ebpf/types.hpp).
//
// The names are the UAPI enumerators of include/uapi/linux/bpf.h without their prefix, in lower
// case: the same strings libbpf's libbpf_bpf_*_type_str() and bpftool print, so our CLI output
// and messages read like theirs (section_libbpf_oracle_test compares them).

#include <ebpf/types.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ebpf {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Strips the UAPI prefix ("BPF_PROG_TYPE_", any case) when present.
std::string_view without_prefix(std::string_view name, std::string_view prefix) noexcept {
  if (name.size() > prefix.size() && equal_ignoring_case(name.substr(0, prefix.size()), prefix))
    name.remove_prefix(prefix.size());
  return name;
}

// The enums are dense from 0, so the reverse lookup walks the values up to the last one and
// compares names; these tables are small and the CLI is the only caller. When an enumerator is
// added, -Wswitch flags to_string and types_test flags a stale `last` below.
template <typename Enum>
std::optional<Enum> from_string(std::string_view name, std::string_view prefix, Enum last) noexcept {
  name = without_prefix(name, prefix);
  for (std::uint32_t value = 0; value <= static_cast<std::uint32_t>(last); ++value) {
    const auto candidate = static_cast<Enum>(value);
    if (equal_ignoring_case(to_string(candidate), name)) return candidate;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(program_type type) noexcept {
  switch (type) {
    case program_type::unspec: return "unspec";
    case program_type::socket_filter: return "socket_filter";
    case program_type::kprobe: return "kprobe";
    case program_type::sched_cls: return "sched_cls";
    case program_type::sched_act: return "sched_act";
    case program_type::tracepoint: return "tracepoint";
    case program_type::xdp: return "xdp";
    case program_type::perf_event: return "perf_event";
    case program_type::cgroup_skb: return "cgroup_skb";
    case program_type::cgroup_sock: return "cgroup_sock";
    case program_type::lwt_in: return "lwt_in";
    case program_type::lwt_out: return "lwt_out";
    case program_type::lwt_xmit: return "lwt_xmit";
    case program_type::sock_ops: return "sock_ops";
    case program_type::sk_skb: return "sk_skb";
    case program_type::cgroup_device: return "cgroup_device";
    case program_type::sk_msg: return "sk_msg";
    case program_type::raw_tracepoint: return "raw_tracepoint";
    case program_type::cgroup_sock_addr: return "cgroup_sock_addr";
    case program_type::lwt_seg6local: return "lwt_seg6local";
    case program_type::lirc_mode2: return "lirc_mode2";
    case program_type::sk_reuseport: return "sk_reuseport";
    case program_type::flow_dissector: return "flow_dissector";
    case program_type::cgroup_sysctl: return "cgroup_sysctl";
    case program_type::raw_tracepoint_writable: return "raw_tracepoint_writable";
    case program_type::cgroup_sockopt: return "cgroup_sockopt";
    case program_type::tracing: return "tracing";
    case program_type::struct_ops: return "struct_ops";
    case program_type::ext: return "ext";
    case program_type::lsm: return "lsm";
    case program_type::sk_lookup: return "sk_lookup";
    case program_type::syscall: return "syscall";
    case program_type::netfilter: return "netfilter";
  }
  return "unknown";
}

std::string_view to_string(map_type type) noexcept {
  switch (type) {
    case map_type::unspec: return "unspec";
    case map_type::hash: return "hash";
    case map_type::array: return "array";
    case map_type::prog_array: return "prog_array";
    case map_type::perf_event_array: return "perf_event_array";
    case map_type::percpu_hash: return "percpu_hash";
    case map_type::percpu_array: return "percpu_array";
    case map_type::stack_trace: return "stack_trace";
    case map_type::cgroup_array: return "cgroup_array";
    case map_type::lru_hash: return "lru_hash";
    case map_type::lru_percpu_hash: return "lru_percpu_hash";
    case map_type::lpm_trie: return "lpm_trie";
    case map_type::array_of_maps: return "array_of_maps";
    case map_type::hash_of_maps: return "hash_of_maps";
    case map_type::devmap: return "devmap";
    case map_type::sockmap: return "sockmap";
    case map_type::cpumap: return "cpumap";
    case map_type::xskmap: return "xskmap";
    case map_type::sockhash: return "sockhash";
    case map_type::cgroup_storage: return "cgroup_storage";
    case map_type::reuseport_sockarray: return "reuseport_sockarray";
    case map_type::percpu_cgroup_storage: return "percpu_cgroup_storage";
    case map_type::queue: return "queue";
    case map_type::stack: return "stack";
    case map_type::sk_storage: return "sk_storage";
    case map_type::devmap_hash: return "devmap_hash";
    case map_type::struct_ops: return "struct_ops";
    case map_type::ringbuf: return "ringbuf";
    case map_type::inode_storage: return "inode_storage";
    case map_type::task_storage: return "task_storage";
    case map_type::bloom_filter: return "bloom_filter";
    case map_type::user_ringbuf: return "user_ringbuf";
    case map_type::cgrp_storage: return "cgrp_storage";
    case map_type::arena: return "arena";
  }
  return "unknown";
}

std::string_view to_string(attach_type type) noexcept {
  switch (type) {
    case attach_type::cgroup_inet_ingress: return "cgroup_inet_ingress";
    case attach_type::cgroup_inet_egress: return "cgroup_inet_egress";
    case attach_type::cgroup_inet_sock_create: return "cgroup_inet_sock_create";
    case attach_type::cgroup_sock_ops: return "cgroup_sock_ops";
    case attach_type::sk_skb_stream_parser: return "sk_skb_stream_parser";
    case attach_type::sk_skb_stream_verdict: return "sk_skb_stream_verdict";
    case attach_type::cgroup_device: return "cgroup_device";
    case attach_type::sk_msg_verdict: return "sk_msg_verdict";
    case attach_type::cgroup_inet4_bind: return "cgroup_inet4_bind";
    case attach_type::cgroup_inet6_bind: return "cgroup_inet6_bind";
    case attach_type::cgroup_inet4_connect: return "cgroup_inet4_connect";
    case attach_type::cgroup_inet6_connect: return "cgroup_inet6_connect";
    case attach_type::cgroup_inet4_post_bind: return "cgroup_inet4_post_bind";
    case attach_type::cgroup_inet6_post_bind: return "cgroup_inet6_post_bind";
    case attach_type::cgroup_udp4_sendmsg: return "cgroup_udp4_sendmsg";
    case attach_type::cgroup_udp6_sendmsg: return "cgroup_udp6_sendmsg";
    case attach_type::lirc_mode2: return "lirc_mode2";
    case attach_type::flow_dissector: return "flow_dissector";
    case attach_type::cgroup_sysctl: return "cgroup_sysctl";
    case attach_type::cgroup_udp4_recvmsg: return "cgroup_udp4_recvmsg";
    case attach_type::cgroup_udp6_recvmsg: return "cgroup_udp6_recvmsg";
    case attach_type::cgroup_getsockopt: return "cgroup_getsockopt";
    case attach_type::cgroup_setsockopt: return "cgroup_setsockopt";
    case attach_type::trace_raw_tp: return "trace_raw_tp";
    case attach_type::trace_fentry: return "trace_fentry";
    case attach_type::trace_fexit: return "trace_fexit";
    case attach_type::modify_return: return "modify_return";
    case attach_type::lsm_mac: return "lsm_mac";
    case attach_type::trace_iter: return "trace_iter";
    case attach_type::cgroup_inet4_getpeername: return "cgroup_inet4_getpeername";
    case attach_type::cgroup_inet6_getpeername: return "cgroup_inet6_getpeername";
    case attach_type::cgroup_inet4_getsockname: return "cgroup_inet4_getsockname";
    case attach_type::cgroup_inet6_getsockname: return "cgroup_inet6_getsockname";
    case attach_type::xdp_devmap: return "xdp_devmap";
    case attach_type::cgroup_inet_sock_release: return "cgroup_inet_sock_release";
    case attach_type::xdp_cpumap: return "xdp_cpumap";
    case attach_type::sk_lookup: return "sk_lookup";
    case attach_type::xdp: return "xdp";
    case attach_type::sk_skb_verdict: return "sk_skb_verdict";
    case attach_type::sk_reuseport_select: return "sk_reuseport_select";
    case attach_type::sk_reuseport_select_or_migrate: return "sk_reuseport_select_or_migrate";
    case attach_type::perf_event: return "perf_event";
    case attach_type::trace_kprobe_multi: return "trace_kprobe_multi";
    case attach_type::lsm_cgroup: return "lsm_cgroup";
    case attach_type::struct_ops: return "struct_ops";
    case attach_type::netfilter: return "netfilter";
    case attach_type::tcx_ingress: return "tcx_ingress";
    case attach_type::tcx_egress: return "tcx_egress";
    case attach_type::trace_uprobe_multi: return "trace_uprobe_multi";
    case attach_type::cgroup_unix_connect: return "cgroup_unix_connect";
    case attach_type::cgroup_unix_sendmsg: return "cgroup_unix_sendmsg";
    case attach_type::cgroup_unix_recvmsg: return "cgroup_unix_recvmsg";
    case attach_type::cgroup_unix_getpeername: return "cgroup_unix_getpeername";
    case attach_type::cgroup_unix_getsockname: return "cgroup_unix_getsockname";
    case attach_type::netkit_primary: return "netkit_primary";
    case attach_type::netkit_peer: return "netkit_peer";
    case attach_type::trace_kprobe_session: return "trace_kprobe_session";
    case attach_type::trace_uprobe_session: return "trace_uprobe_session";
  }
  return "unknown";
}

std::optional<program_type> program_type_from_string(std::string_view name) noexcept {
  return from_string(name, "BPF_PROG_TYPE_", program_type::netfilter);
}

std::optional<map_type> map_type_from_string(std::string_view name) noexcept {
  return from_string(name, "BPF_MAP_TYPE_", map_type::arena);
}

std::optional<attach_type> attach_type_from_string(std::string_view name) noexcept {
  return from_string(name, "BPF_", attach_type::trace_uprobe_session);
}

}  // namespace ebpf
