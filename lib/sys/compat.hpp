// ebpfpp internal: kernel UAPI newer than the system's <linux/bpf.h>.
//
// Debian 12 ships linux-libc-dev 6.1; our machines run 6.18. Everything the library needs beyond
// 6.1 is defined here, in namespace ebpf::sys::compat with our own lower-case names (so a newer
// system header can never clash), each commented with the kernel release that added it. Facts come
// from the 6.12 uapi header (linux-headers-6.12.*-common) and the running 6.18 kernel's BTF
// (bpftool btf dump file /sys/kernel/btf/vmlinux format c).
//
// The bpf_attr parts whose newer fields we send are mirrored as plain structs with the 6.18
// layout; every field that 6.1 already has is static_asserted to sit at the same offset as in
// union bpf_attr, so a mistake in a mirror cannot compile. Commands whose fields all exist in 6.1
// use union bpf_attr directly.
//
// Only lib/sys/*.cpp include this header (it pulls in <linux/bpf.h>).
#pragma once

#include <ebpf/types.hpp>

#include <cstddef>
#include <cstdint>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/perf_event.h>

#include "sys/bpf.hpp"

namespace ebpf::sys::compat {

// ---------------------------------------------------------------------------------------------
// enum bpf_cmd values after 6.1.
inline constexpr int cmd_token_create = 36;             // 6.9
inline constexpr int cmd_prog_stream_read_by_fd = 37;   // 6.17

// enum bpf_prog_type values after 6.1.
inline constexpr std::uint32_t prog_type_netfilter = 32;  // 6.4

// enum bpf_map_type values after 6.1.
inline constexpr std::uint32_t map_type_cgrp_storage = 32;  // 6.2
inline constexpr std::uint32_t map_type_arena = 33;         // 6.9

// enum bpf_attach_type values after 6.1.
inline constexpr std::uint32_t attach_struct_ops = 44;               // 6.4
inline constexpr std::uint32_t attach_netfilter = 45;                // 6.4
inline constexpr std::uint32_t attach_tcx_ingress = 46;              // 6.6
inline constexpr std::uint32_t attach_tcx_egress = 47;               // 6.6
inline constexpr std::uint32_t attach_trace_uprobe_multi = 48;       // 6.6
inline constexpr std::uint32_t attach_cgroup_unix_connect = 49;      // 6.7
inline constexpr std::uint32_t attach_cgroup_unix_sendmsg = 50;      // 6.7
inline constexpr std::uint32_t attach_cgroup_unix_recvmsg = 51;      // 6.7
inline constexpr std::uint32_t attach_cgroup_unix_getpeername = 52;  // 6.7
inline constexpr std::uint32_t attach_cgroup_unix_getsockname = 53;  // 6.7
inline constexpr std::uint32_t attach_netkit_primary = 54;           // 6.7
inline constexpr std::uint32_t attach_netkit_peer = 55;              // 6.7
inline constexpr std::uint32_t attach_trace_kprobe_session = 56;     // 6.10
inline constexpr std::uint32_t attach_trace_uprobe_session = 57;     // 6.13

// enum bpf_link_type values after 6.1.
inline constexpr std::uint32_t link_type_netfilter = 10;     // 6.4
inline constexpr std::uint32_t link_type_tcx = 11;           // 6.6
inline constexpr std::uint32_t link_type_uprobe_multi = 12;  // 6.6
inline constexpr std::uint32_t link_type_netkit = 13;        // 6.7
inline constexpr std::uint32_t link_type_sockmap = 14;       // 6.10

// BPF_F_* map / file flags after 6.1.
inline constexpr std::uint32_t f_map_link = 1u << 13;           // 6.4  (struct_ops map for a link)
inline constexpr std::uint32_t f_path_fd = 1u << 14;            // 6.5  (obj_pin / obj_get)
inline constexpr std::uint32_t f_vtype_btf_obj_fd = 1u << 15;   // 6.9  (map_create, struct_ops)
inline constexpr std::uint32_t f_token_fd = 1u << 16;           // 6.9  (map/prog/btf with a token)
inline constexpr std::uint32_t f_segv_on_fault = 1u << 17;      // 6.9  (arena)
inline constexpr std::uint32_t f_no_user_conv = 1u << 18;       // 6.9  (arena)

// BPF_F_* prog_load flags after 6.1.
inline constexpr std::uint32_t f_xdp_dev_bound_only = 1u << 6;   // 6.3
inline constexpr std::uint32_t f_test_reg_invariants = 1u << 7;  // 6.7

// BPF_F_* attach flags after 6.1 (multi-prog attach points: tcx, netkit, cgroup).
inline constexpr std::uint32_t f_before = 1u << 3;    // 6.6
inline constexpr std::uint32_t f_after = 1u << 4;     // 6.6
inline constexpr std::uint32_t f_id = 1u << 5;        // 6.6
inline constexpr std::uint32_t f_preorder = 1u << 6;  // 6.15 (cgroup)
inline constexpr std::uint32_t f_link = 1u << 13;     // 6.6

// BPF_F_* test-run flags after 6.1.
inline constexpr std::uint32_t f_test_skb_checksum_complete = 1u << 2;  // 6.11

// enum bpf_perf_event_type (bpf_link_info.perf_event.type), 6.6.
inline constexpr std::uint32_t perf_event_unspec = 0;
inline constexpr std::uint32_t perf_event_uprobe = 1;
inline constexpr std::uint32_t perf_event_uretprobe = 2;
inline constexpr std::uint32_t perf_event_kprobe = 3;
inline constexpr std::uint32_t perf_event_kretprobe = 4;
inline constexpr std::uint32_t perf_event_tracepoint = 5;
inline constexpr std::uint32_t perf_event_event = 6;

// ---------------------------------------------------------------------------------------------
// bpf_attr mirrors with the 6.18 layout. `aligned_u64` follows the UAPI's __aligned_u64.
typedef std::uint64_t aligned_u64 __attribute__((aligned(8)));

/// BPF_MAP_CREATE.
struct map_create_attr {
  std::uint32_t map_type;
  std::uint32_t key_size;
  std::uint32_t value_size;
  std::uint32_t max_entries;
  std::uint32_t map_flags;
  std::uint32_t inner_map_fd;
  std::uint32_t numa_node;
  char map_name[16];
  std::uint32_t map_ifindex;
  std::uint32_t btf_fd;
  std::uint32_t btf_key_type_id;
  std::uint32_t btf_value_type_id;
  std::uint32_t btf_vmlinux_value_type_id;
  aligned_u64 map_extra;               // 5.16
  std::int32_t value_type_btf_obj_fd;  // 6.9
  std::int32_t map_token_fd;           // 6.9
  aligned_u64 excl_prog_hash;          // 6.18 (exclusive maps)
  std::uint32_t excl_prog_hash_size;   // 6.18
};

/// BPF_PROG_LOAD.
struct prog_load_attr {
  std::uint32_t prog_type;
  std::uint32_t insn_cnt;
  aligned_u64 insns;
  aligned_u64 license;
  std::uint32_t log_level;
  std::uint32_t log_size;
  aligned_u64 log_buf;
  std::uint32_t kern_version;
  std::uint32_t prog_flags;
  char prog_name[16];
  std::uint32_t prog_ifindex;
  std::uint32_t expected_attach_type;
  std::uint32_t prog_btf_fd;
  std::uint32_t func_info_rec_size;
  aligned_u64 func_info;
  std::uint32_t func_info_cnt;
  std::uint32_t line_info_rec_size;
  aligned_u64 line_info;
  std::uint32_t line_info_cnt;
  std::uint32_t attach_btf_id;
  std::uint32_t attach_prog_fd;  // union with attach_btf_obj_fd (5.11)
  std::uint32_t core_relo_cnt;   // 5.17
  aligned_u64 fd_array;          // 5.14
  aligned_u64 core_relos;        // 5.17
  std::uint32_t core_relo_rec_size;
  std::uint32_t log_true_size;   // 6.4: written back with the size the whole log needs
  std::int32_t prog_token_fd;    // 6.9
  std::uint32_t fd_array_cnt;    // 6.14
  aligned_u64 signature;         // 6.18 (signed programs)
  std::uint32_t signature_size;  // 6.18
  std::int32_t keyring_id;       // 6.18
};

/// BPF_OBJ_PIN / BPF_OBJ_GET.
struct obj_attr {
  aligned_u64 pathname;
  std::uint32_t bpf_fd;
  std::uint32_t file_flags;
  std::int32_t path_fd;  // 6.5, with f_path_fd
};

/// BPF_PROG_STREAM_READ_BY_FD (6.17): reads a program's BPF_STDOUT / BPF_STDERR stream.
struct prog_stream_read_attr {
  aligned_u64 stream_buf;
  std::uint32_t stream_buf_len;
  std::uint32_t stream_id;
  std::uint32_t prog_fd;
};

/// BPF_PROG_ATTACH / BPF_PROG_DETACH.
struct prog_attach_attr {
  std::uint32_t target_fd;  // or target_ifindex (6.6)
  std::uint32_t attach_bpf_fd;
  std::uint32_t attach_type;
  std::uint32_t attach_flags;
  std::uint32_t replace_bpf_fd;  // 5.6
  std::uint32_t relative_fd;     // 6.6, or relative_id
  aligned_u64 expected_revision; // 6.6
};

/// BPF_RAW_TRACEPOINT_OPEN.
struct raw_tracepoint_attr {
  aligned_u64 name;
  std::uint32_t prog_fd;
  aligned_u64 cookie;  // 6.10
};

/// BPF_BTF_LOAD.
struct btf_load_attr {
  aligned_u64 btf;
  aligned_u64 btf_log_buf;
  std::uint32_t btf_size;
  std::uint32_t btf_log_size;
  std::uint32_t btf_log_level;
  std::uint32_t btf_log_true_size;  // 6.4
  std::uint32_t btf_flags;          // 6.9 (f_token_fd)
  std::int32_t btf_token_fd;        // 6.9
};

/// BPF_*_GET_NEXT_ID / BPF_*_GET_FD_BY_ID.
struct get_id_attr {
  std::uint32_t start_id;  // or prog_id / map_id / btf_id / link_id
  std::uint32_t next_id;
  std::uint32_t open_flags;
  std::int32_t fd_by_id_token_fd;  // 6.13
};

/// BPF_LINK_CREATE. The union at offset 16 holds one family's extra fields.
struct link_create_attr {
  std::uint32_t prog_fd;    // or map_fd (struct_ops)
  std::uint32_t target_fd;  // or target_ifindex
  std::uint32_t attach_type;
  std::uint32_t flags;
  union {
    std::uint32_t target_btf_id;  // 5.7 (freplace)
    struct {
      aligned_u64 iter_info;      // 5.9
      std::uint32_t iter_info_len;
    } iter;
    struct {
      aligned_u64 bpf_cookie;     // 5.15
    } perf_event;
    struct {
      std::uint32_t flags;        // 5.18
      std::uint32_t cnt;
      aligned_u64 syms;
      aligned_u64 addrs;
      aligned_u64 cookies;
    } kprobe_multi;
    struct {
      std::uint32_t target_btf_id;  // 5.19
      aligned_u64 cookie;
    } tracing;
    struct {
      std::uint32_t pf;           // 6.4
      std::uint32_t hooknum;
      std::int32_t priority;
      std::uint32_t flags;
    } netfilter;
    struct {
      std::uint32_t relative_fd;  // or relative_id
      aligned_u64 expected_revision;
    } relative;                   // tcx (6.6), netkit (6.7), cgroup (6.17): same layout
    struct {
      aligned_u64 path;           // 6.6
      aligned_u64 offsets;
      aligned_u64 ref_ctr_offsets;
      aligned_u64 cookies;
      std::uint32_t cnt;
      std::uint32_t flags;
      std::uint32_t pid;
    } uprobe_multi;
  } u;
};

/// struct bpf_link_info, the parts we read (the kernel copies min(info_len, its size)).
struct link_info {
  std::uint32_t type;
  std::uint32_t id;
  std::uint32_t prog_id;
  union {
    struct {
      aligned_u64 tp_name;
      std::uint32_t tp_name_len;
      aligned_u64 cookie;  // 6.10
    } raw_tracepoint;
    struct {
      std::uint32_t attach_type;
      std::uint32_t target_obj_id;
      std::uint32_t target_btf_id;
      aligned_u64 cookie;  // 6.13
    } tracing;
    struct {
      aligned_u64 cgroup_id;
      std::uint32_t attach_type;
    } cgroup;
    struct {
      std::uint32_t netns_ino;
      std::uint32_t attach_type;
    } netns;
    struct {
      std::uint32_t ifindex;
    } xdp;
    struct {
      std::uint32_t type;  // enum bpf_perf_event_type, 6.6
      std::uint32_t pad_;
      union {
        struct {  // uprobe, uretprobe
          aligned_u64 file_name;
          std::uint32_t name_len;
          std::uint32_t offset;
          aligned_u64 cookie;          // 6.9
          aligned_u64 ref_ctr_offset;  // 6.12
        } uprobe;
        struct {  // kprobe, kretprobe
          aligned_u64 func_name;
          std::uint32_t name_len;
          std::uint32_t offset;
          aligned_u64 addr;
          aligned_u64 missed;  // 6.7
          aligned_u64 cookie;  // 6.9
        } kprobe;
        struct {
          aligned_u64 tp_name;
          std::uint32_t name_len;
          aligned_u64 cookie;  // 6.9
        } tracepoint;
        struct {
          aligned_u64 config;
          std::uint32_t type;
          aligned_u64 cookie;  // 6.9
        } event;
      };
    } perf_event;
    struct {
      std::uint32_t ifindex;  // tcx 6.6, netkit 6.7
      std::uint32_t attach_type;
    } tcx;
    struct {  // 5.9; map_id 5.10, cgroup/task 6.1
      aligned_u64 target_name;
      std::uint32_t target_name_len;
      std::uint32_t map_id;
      union {
        struct {
          aligned_u64 cgroup_id;
          std::uint32_t order;
        } cgroup;
        struct {
          std::uint32_t tid;
          std::uint32_t pid;
        } task;
      };
    } iter;
    struct {
      std::uint32_t map_id;  // struct_ops 6.4; sockmap 6.10 (then attach_type follows)
      std::uint32_t attach_type;
    } map;
    struct {  // 6.4
      std::uint32_t pf;
      std::uint32_t hooknum;
      std::int32_t priority;
      std::uint32_t flags;
    } netfilter;
    struct {  // 6.6
      aligned_u64 addrs;
      std::uint32_t count;
      std::uint32_t flags;
      aligned_u64 missed;   // 6.7
      aligned_u64 cookies;  // 6.9
    } kprobe_multi;
    struct {  // 6.8
      aligned_u64 path;
      aligned_u64 offsets;
      aligned_u64 ref_ctr_offsets;
      aligned_u64 cookies;
      std::uint32_t path_size;
      std::uint32_t count;
      std::uint32_t flags;
      std::uint32_t pid;
    } uprobe_multi;
    std::uint8_t size_[48];  // the 6.18 union is 48 bytes (uprobe_multi, perf_event)
  } u;
};

// ---------------------------------------------------------------------------------------------
// The mirrors agree with union bpf_attr wherever 6.1 has the field.
#define EBPF_SAME_OFFSET(mirror, field, attr_field) \
  static_assert(offsetof(mirror, field) == offsetof(union bpf_attr, attr_field), #field)

EBPF_SAME_OFFSET(map_create_attr, map_type, map_type);
EBPF_SAME_OFFSET(map_create_attr, map_name, map_name);
EBPF_SAME_OFFSET(map_create_attr, map_ifindex, map_ifindex);
EBPF_SAME_OFFSET(map_create_attr, btf_vmlinux_value_type_id, btf_vmlinux_value_type_id);
EBPF_SAME_OFFSET(map_create_attr, map_extra, map_extra);
EBPF_SAME_OFFSET(prog_load_attr, insns, insns);
EBPF_SAME_OFFSET(prog_load_attr, log_buf, log_buf);
EBPF_SAME_OFFSET(prog_load_attr, prog_name, prog_name);
EBPF_SAME_OFFSET(prog_load_attr, expected_attach_type, expected_attach_type);
EBPF_SAME_OFFSET(prog_load_attr, func_info, func_info);
EBPF_SAME_OFFSET(prog_load_attr, line_info_cnt, line_info_cnt);
EBPF_SAME_OFFSET(prog_load_attr, attach_btf_id, attach_btf_id);
EBPF_SAME_OFFSET(prog_load_attr, attach_prog_fd, attach_prog_fd);
EBPF_SAME_OFFSET(prog_load_attr, core_relo_cnt, core_relo_cnt);
EBPF_SAME_OFFSET(prog_load_attr, fd_array, fd_array);
EBPF_SAME_OFFSET(prog_load_attr, core_relo_rec_size, core_relo_rec_size);
EBPF_SAME_OFFSET(obj_attr, pathname, pathname);
EBPF_SAME_OFFSET(obj_attr, file_flags, file_flags);
EBPF_SAME_OFFSET(prog_attach_attr, attach_type, attach_type);
EBPF_SAME_OFFSET(prog_attach_attr, replace_bpf_fd, replace_bpf_fd);
EBPF_SAME_OFFSET(raw_tracepoint_attr, prog_fd, raw_tracepoint.prog_fd);
EBPF_SAME_OFFSET(btf_load_attr, btf_log_level, btf_log_level);
EBPF_SAME_OFFSET(get_id_attr, next_id, next_id);
EBPF_SAME_OFFSET(get_id_attr, open_flags, open_flags);
EBPF_SAME_OFFSET(link_create_attr, attach_type, link_create.attach_type);
EBPF_SAME_OFFSET(link_create_attr, flags, link_create.flags);
EBPF_SAME_OFFSET(link_create_attr, u.target_btf_id, link_create.target_btf_id);
EBPF_SAME_OFFSET(link_create_attr, u.iter.iter_info_len, link_create.iter_info_len);
EBPF_SAME_OFFSET(link_create_attr, u.perf_event.bpf_cookie, link_create.perf_event.bpf_cookie);
EBPF_SAME_OFFSET(link_create_attr, u.kprobe_multi.cookies, link_create.kprobe_multi.cookies);
EBPF_SAME_OFFSET(link_create_attr, u.tracing.cookie, link_create.tracing.cookie);
#undef EBPF_SAME_OFFSET

// Offsets of the post-6.1 fields, from the 6.18 BTF.
static_assert(offsetof(map_create_attr, map_token_fd) == 76);
static_assert(offsetof(map_create_attr, excl_prog_hash_size) == 88);
static_assert(offsetof(prog_load_attr, log_true_size) == 140);
static_assert(offsetof(prog_load_attr, prog_token_fd) == 144);
static_assert(offsetof(prog_load_attr, fd_array_cnt) == 148);
static_assert(offsetof(prog_load_attr, keyring_id) == 164);
static_assert(offsetof(obj_attr, path_fd) == 16);
static_assert(offsetof(prog_attach_attr, expected_revision) == 24);
static_assert(offsetof(raw_tracepoint_attr, cookie) == 16);
static_assert(offsetof(btf_load_attr, btf_token_fd) == 36);
static_assert(offsetof(link_create_attr, u.relative.expected_revision) == 24);
static_assert(offsetof(link_create_attr, u.netfilter.flags) == 28);
static_assert(offsetof(link_create_attr, u.uprobe_multi.pid) == 56);

#define EBPF_SAME_INFO_OFFSET(field, info_field) \
  static_assert(offsetof(link_info, field) == offsetof(struct bpf_link_info, info_field), #field)
EBPF_SAME_INFO_OFFSET(prog_id, prog_id);
EBPF_SAME_INFO_OFFSET(u.raw_tracepoint.tp_name_len, raw_tracepoint.tp_name_len);
EBPF_SAME_INFO_OFFSET(u.tracing.target_btf_id, tracing.target_btf_id);
EBPF_SAME_INFO_OFFSET(u.cgroup.attach_type, cgroup.attach_type);
EBPF_SAME_INFO_OFFSET(u.netns.attach_type, netns.attach_type);
EBPF_SAME_INFO_OFFSET(u.xdp.ifindex, xdp.ifindex);
EBPF_SAME_INFO_OFFSET(u.iter.target_name_len, iter.target_name_len);
EBPF_SAME_INFO_OFFSET(u.iter.map_id, iter.map.map_id);
EBPF_SAME_INFO_OFFSET(u.iter.cgroup.order, iter.cgroup.order);
EBPF_SAME_INFO_OFFSET(u.iter.task.pid, iter.task.pid);
#undef EBPF_SAME_INFO_OFFSET
// The members 6.1 lacks, at their 6.18 offsets (the union starts at byte 16).
static_assert(offsetof(link_info, u.perf_event.uprobe.ref_ctr_offset) == 48);
static_assert(offsetof(link_info, u.perf_event.kprobe.cookie) == 56);
static_assert(offsetof(link_info, u.perf_event.tracepoint.cookie) == 40);
static_assert(offsetof(link_info, u.perf_event.event.cookie) == 40);
static_assert(offsetof(link_info, u.netfilter.flags) == 28);
static_assert(offsetof(link_info, u.kprobe_multi.cookies) == 40);
static_assert(offsetof(link_info, u.uprobe_multi.pid) == 60);
static_assert(sizeof(link_info) == 64);

// ---------------------------------------------------------------------------------------------
// Our public enums and sys constants carry the UAPI numbers. Checked wherever 6.1 names them.
#define EBPF_SAME_VALUE(ours, uapi) static_assert(static_cast<std::uint64_t>(ours) == (uapi), #uapi)

EBPF_SAME_VALUE(program_type::socket_filter, BPF_PROG_TYPE_SOCKET_FILTER);
EBPF_SAME_VALUE(program_type::kprobe, BPF_PROG_TYPE_KPROBE);
EBPF_SAME_VALUE(program_type::sched_cls, BPF_PROG_TYPE_SCHED_CLS);
EBPF_SAME_VALUE(program_type::sched_act, BPF_PROG_TYPE_SCHED_ACT);
EBPF_SAME_VALUE(program_type::tracepoint, BPF_PROG_TYPE_TRACEPOINT);
EBPF_SAME_VALUE(program_type::xdp, BPF_PROG_TYPE_XDP);
EBPF_SAME_VALUE(program_type::perf_event, BPF_PROG_TYPE_PERF_EVENT);
EBPF_SAME_VALUE(program_type::cgroup_skb, BPF_PROG_TYPE_CGROUP_SKB);
EBPF_SAME_VALUE(program_type::cgroup_sock, BPF_PROG_TYPE_CGROUP_SOCK);
EBPF_SAME_VALUE(program_type::lwt_in, BPF_PROG_TYPE_LWT_IN);
EBPF_SAME_VALUE(program_type::lwt_out, BPF_PROG_TYPE_LWT_OUT);
EBPF_SAME_VALUE(program_type::lwt_xmit, BPF_PROG_TYPE_LWT_XMIT);
EBPF_SAME_VALUE(program_type::sock_ops, BPF_PROG_TYPE_SOCK_OPS);
EBPF_SAME_VALUE(program_type::sk_skb, BPF_PROG_TYPE_SK_SKB);
EBPF_SAME_VALUE(program_type::cgroup_device, BPF_PROG_TYPE_CGROUP_DEVICE);
EBPF_SAME_VALUE(program_type::sk_msg, BPF_PROG_TYPE_SK_MSG);
EBPF_SAME_VALUE(program_type::raw_tracepoint, BPF_PROG_TYPE_RAW_TRACEPOINT);
EBPF_SAME_VALUE(program_type::cgroup_sock_addr, BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
EBPF_SAME_VALUE(program_type::lwt_seg6local, BPF_PROG_TYPE_LWT_SEG6LOCAL);
EBPF_SAME_VALUE(program_type::lirc_mode2, BPF_PROG_TYPE_LIRC_MODE2);
EBPF_SAME_VALUE(program_type::sk_reuseport, BPF_PROG_TYPE_SK_REUSEPORT);
EBPF_SAME_VALUE(program_type::flow_dissector, BPF_PROG_TYPE_FLOW_DISSECTOR);
EBPF_SAME_VALUE(program_type::cgroup_sysctl, BPF_PROG_TYPE_CGROUP_SYSCTL);
EBPF_SAME_VALUE(program_type::raw_tracepoint_writable, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE);
EBPF_SAME_VALUE(program_type::cgroup_sockopt, BPF_PROG_TYPE_CGROUP_SOCKOPT);
EBPF_SAME_VALUE(program_type::tracing, BPF_PROG_TYPE_TRACING);
EBPF_SAME_VALUE(program_type::struct_ops, BPF_PROG_TYPE_STRUCT_OPS);
EBPF_SAME_VALUE(program_type::ext, BPF_PROG_TYPE_EXT);
EBPF_SAME_VALUE(program_type::lsm, BPF_PROG_TYPE_LSM);
EBPF_SAME_VALUE(program_type::sk_lookup, BPF_PROG_TYPE_SK_LOOKUP);
EBPF_SAME_VALUE(program_type::syscall, BPF_PROG_TYPE_SYSCALL);
EBPF_SAME_VALUE(program_type::netfilter, prog_type_netfilter);

EBPF_SAME_VALUE(map_type::hash, BPF_MAP_TYPE_HASH);
EBPF_SAME_VALUE(map_type::array, BPF_MAP_TYPE_ARRAY);
EBPF_SAME_VALUE(map_type::prog_array, BPF_MAP_TYPE_PROG_ARRAY);
EBPF_SAME_VALUE(map_type::perf_event_array, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
EBPF_SAME_VALUE(map_type::percpu_hash, BPF_MAP_TYPE_PERCPU_HASH);
EBPF_SAME_VALUE(map_type::percpu_array, BPF_MAP_TYPE_PERCPU_ARRAY);
EBPF_SAME_VALUE(map_type::stack_trace, BPF_MAP_TYPE_STACK_TRACE);
EBPF_SAME_VALUE(map_type::cgroup_array, BPF_MAP_TYPE_CGROUP_ARRAY);
EBPF_SAME_VALUE(map_type::lru_hash, BPF_MAP_TYPE_LRU_HASH);
EBPF_SAME_VALUE(map_type::lru_percpu_hash, BPF_MAP_TYPE_LRU_PERCPU_HASH);
EBPF_SAME_VALUE(map_type::lpm_trie, BPF_MAP_TYPE_LPM_TRIE);
EBPF_SAME_VALUE(map_type::array_of_maps, BPF_MAP_TYPE_ARRAY_OF_MAPS);
EBPF_SAME_VALUE(map_type::hash_of_maps, BPF_MAP_TYPE_HASH_OF_MAPS);
EBPF_SAME_VALUE(map_type::devmap, BPF_MAP_TYPE_DEVMAP);
EBPF_SAME_VALUE(map_type::sockmap, BPF_MAP_TYPE_SOCKMAP);
EBPF_SAME_VALUE(map_type::cpumap, BPF_MAP_TYPE_CPUMAP);
EBPF_SAME_VALUE(map_type::xskmap, BPF_MAP_TYPE_XSKMAP);
EBPF_SAME_VALUE(map_type::sockhash, BPF_MAP_TYPE_SOCKHASH);
EBPF_SAME_VALUE(map_type::cgroup_storage, BPF_MAP_TYPE_CGROUP_STORAGE);
EBPF_SAME_VALUE(map_type::reuseport_sockarray, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
EBPF_SAME_VALUE(map_type::percpu_cgroup_storage, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
EBPF_SAME_VALUE(map_type::queue, BPF_MAP_TYPE_QUEUE);
EBPF_SAME_VALUE(map_type::stack, BPF_MAP_TYPE_STACK);
EBPF_SAME_VALUE(map_type::sk_storage, BPF_MAP_TYPE_SK_STORAGE);
EBPF_SAME_VALUE(map_type::devmap_hash, BPF_MAP_TYPE_DEVMAP_HASH);
EBPF_SAME_VALUE(map_type::struct_ops, BPF_MAP_TYPE_STRUCT_OPS);
EBPF_SAME_VALUE(map_type::ringbuf, BPF_MAP_TYPE_RINGBUF);
EBPF_SAME_VALUE(map_type::inode_storage, BPF_MAP_TYPE_INODE_STORAGE);
EBPF_SAME_VALUE(map_type::task_storage, BPF_MAP_TYPE_TASK_STORAGE);
EBPF_SAME_VALUE(map_type::bloom_filter, BPF_MAP_TYPE_BLOOM_FILTER);
EBPF_SAME_VALUE(map_type::user_ringbuf, BPF_MAP_TYPE_USER_RINGBUF);
EBPF_SAME_VALUE(map_type::cgrp_storage, map_type_cgrp_storage);
EBPF_SAME_VALUE(map_type::arena, map_type_arena);

EBPF_SAME_VALUE(attach_type::cgroup_inet_ingress, BPF_CGROUP_INET_INGRESS);
EBPF_SAME_VALUE(attach_type::cgroup_inet_egress, BPF_CGROUP_INET_EGRESS);
EBPF_SAME_VALUE(attach_type::cgroup_inet_sock_create, BPF_CGROUP_INET_SOCK_CREATE);
EBPF_SAME_VALUE(attach_type::cgroup_sock_ops, BPF_CGROUP_SOCK_OPS);
EBPF_SAME_VALUE(attach_type::sk_skb_stream_parser, BPF_SK_SKB_STREAM_PARSER);
EBPF_SAME_VALUE(attach_type::sk_skb_stream_verdict, BPF_SK_SKB_STREAM_VERDICT);
EBPF_SAME_VALUE(attach_type::cgroup_device, BPF_CGROUP_DEVICE);
EBPF_SAME_VALUE(attach_type::sk_msg_verdict, BPF_SK_MSG_VERDICT);
EBPF_SAME_VALUE(attach_type::cgroup_inet4_bind, BPF_CGROUP_INET4_BIND);
EBPF_SAME_VALUE(attach_type::cgroup_inet6_bind, BPF_CGROUP_INET6_BIND);
EBPF_SAME_VALUE(attach_type::cgroup_inet4_connect, BPF_CGROUP_INET4_CONNECT);
EBPF_SAME_VALUE(attach_type::cgroup_inet6_connect, BPF_CGROUP_INET6_CONNECT);
EBPF_SAME_VALUE(attach_type::cgroup_inet4_post_bind, BPF_CGROUP_INET4_POST_BIND);
EBPF_SAME_VALUE(attach_type::cgroup_inet6_post_bind, BPF_CGROUP_INET6_POST_BIND);
EBPF_SAME_VALUE(attach_type::cgroup_udp4_sendmsg, BPF_CGROUP_UDP4_SENDMSG);
EBPF_SAME_VALUE(attach_type::cgroup_udp6_sendmsg, BPF_CGROUP_UDP6_SENDMSG);
EBPF_SAME_VALUE(attach_type::lirc_mode2, BPF_LIRC_MODE2);
EBPF_SAME_VALUE(attach_type::flow_dissector, BPF_FLOW_DISSECTOR);
EBPF_SAME_VALUE(attach_type::cgroup_sysctl, BPF_CGROUP_SYSCTL);
EBPF_SAME_VALUE(attach_type::cgroup_udp4_recvmsg, BPF_CGROUP_UDP4_RECVMSG);
EBPF_SAME_VALUE(attach_type::cgroup_udp6_recvmsg, BPF_CGROUP_UDP6_RECVMSG);
EBPF_SAME_VALUE(attach_type::cgroup_getsockopt, BPF_CGROUP_GETSOCKOPT);
EBPF_SAME_VALUE(attach_type::cgroup_setsockopt, BPF_CGROUP_SETSOCKOPT);
EBPF_SAME_VALUE(attach_type::trace_raw_tp, BPF_TRACE_RAW_TP);
EBPF_SAME_VALUE(attach_type::trace_fentry, BPF_TRACE_FENTRY);
EBPF_SAME_VALUE(attach_type::trace_fexit, BPF_TRACE_FEXIT);
EBPF_SAME_VALUE(attach_type::modify_return, BPF_MODIFY_RETURN);
EBPF_SAME_VALUE(attach_type::lsm_mac, BPF_LSM_MAC);
EBPF_SAME_VALUE(attach_type::trace_iter, BPF_TRACE_ITER);
EBPF_SAME_VALUE(attach_type::cgroup_inet4_getpeername, BPF_CGROUP_INET4_GETPEERNAME);
EBPF_SAME_VALUE(attach_type::cgroup_inet6_getpeername, BPF_CGROUP_INET6_GETPEERNAME);
EBPF_SAME_VALUE(attach_type::cgroup_inet4_getsockname, BPF_CGROUP_INET4_GETSOCKNAME);
EBPF_SAME_VALUE(attach_type::cgroup_inet6_getsockname, BPF_CGROUP_INET6_GETSOCKNAME);
EBPF_SAME_VALUE(attach_type::xdp_devmap, BPF_XDP_DEVMAP);
EBPF_SAME_VALUE(attach_type::cgroup_inet_sock_release, BPF_CGROUP_INET_SOCK_RELEASE);
EBPF_SAME_VALUE(attach_type::xdp_cpumap, BPF_XDP_CPUMAP);
EBPF_SAME_VALUE(attach_type::sk_lookup, BPF_SK_LOOKUP);
EBPF_SAME_VALUE(attach_type::xdp, BPF_XDP);
EBPF_SAME_VALUE(attach_type::sk_skb_verdict, BPF_SK_SKB_VERDICT);
EBPF_SAME_VALUE(attach_type::sk_reuseport_select, BPF_SK_REUSEPORT_SELECT);
EBPF_SAME_VALUE(attach_type::sk_reuseport_select_or_migrate, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE);
EBPF_SAME_VALUE(attach_type::perf_event, BPF_PERF_EVENT);
EBPF_SAME_VALUE(attach_type::trace_kprobe_multi, BPF_TRACE_KPROBE_MULTI);
EBPF_SAME_VALUE(attach_type::lsm_cgroup, BPF_LSM_CGROUP);
EBPF_SAME_VALUE(attach_type::struct_ops, attach_struct_ops);
EBPF_SAME_VALUE(attach_type::netfilter, attach_netfilter);
EBPF_SAME_VALUE(attach_type::tcx_ingress, attach_tcx_ingress);
EBPF_SAME_VALUE(attach_type::tcx_egress, attach_tcx_egress);
EBPF_SAME_VALUE(attach_type::trace_uprobe_multi, attach_trace_uprobe_multi);
EBPF_SAME_VALUE(attach_type::cgroup_unix_connect, attach_cgroup_unix_connect);
EBPF_SAME_VALUE(attach_type::cgroup_unix_sendmsg, attach_cgroup_unix_sendmsg);
EBPF_SAME_VALUE(attach_type::cgroup_unix_recvmsg, attach_cgroup_unix_recvmsg);
EBPF_SAME_VALUE(attach_type::cgroup_unix_getpeername, attach_cgroup_unix_getpeername);
EBPF_SAME_VALUE(attach_type::cgroup_unix_getsockname, attach_cgroup_unix_getsockname);
EBPF_SAME_VALUE(attach_type::netkit_primary, attach_netkit_primary);
EBPF_SAME_VALUE(attach_type::netkit_peer, attach_netkit_peer);
EBPF_SAME_VALUE(attach_type::trace_kprobe_session, attach_trace_kprobe_session);
EBPF_SAME_VALUE(attach_type::trace_uprobe_session, attach_trace_uprobe_session);

EBPF_SAME_VALUE(link_type::raw_tracepoint, BPF_LINK_TYPE_RAW_TRACEPOINT);
EBPF_SAME_VALUE(link_type::tracing, BPF_LINK_TYPE_TRACING);
EBPF_SAME_VALUE(link_type::cgroup, BPF_LINK_TYPE_CGROUP);
EBPF_SAME_VALUE(link_type::iter, BPF_LINK_TYPE_ITER);
EBPF_SAME_VALUE(link_type::netns, BPF_LINK_TYPE_NETNS);
EBPF_SAME_VALUE(link_type::xdp, BPF_LINK_TYPE_XDP);
EBPF_SAME_VALUE(link_type::perf_event, BPF_LINK_TYPE_PERF_EVENT);
EBPF_SAME_VALUE(link_type::kprobe_multi, BPF_LINK_TYPE_KPROBE_MULTI);
EBPF_SAME_VALUE(link_type::struct_ops, BPF_LINK_TYPE_STRUCT_OPS);
EBPF_SAME_VALUE(link_type::netfilter, link_type_netfilter);
EBPF_SAME_VALUE(link_type::tcx, link_type_tcx);
EBPF_SAME_VALUE(link_type::uprobe_multi, link_type_uprobe_multi);
EBPF_SAME_VALUE(link_type::netkit, link_type_netkit);
EBPF_SAME_VALUE(link_type::sockmap, link_type_sockmap);

// The flag constants in sys/bpf.hpp.
EBPF_SAME_VALUE(update_any, BPF_ANY);
EBPF_SAME_VALUE(update_noexist, BPF_NOEXIST);
EBPF_SAME_VALUE(update_exist, BPF_EXIST);
EBPF_SAME_VALUE(update_lock, BPF_F_LOCK);
EBPF_SAME_VALUE(map_no_prealloc, BPF_F_NO_PREALLOC);
EBPF_SAME_VALUE(map_no_common_lru, BPF_F_NO_COMMON_LRU);
EBPF_SAME_VALUE(map_numa_node, BPF_F_NUMA_NODE);
EBPF_SAME_VALUE(map_rdonly, BPF_F_RDONLY);
EBPF_SAME_VALUE(map_wronly, BPF_F_WRONLY);
EBPF_SAME_VALUE(map_stack_build_id, BPF_F_STACK_BUILD_ID);
EBPF_SAME_VALUE(map_zero_seed, BPF_F_ZERO_SEED);
EBPF_SAME_VALUE(map_rdonly_prog, BPF_F_RDONLY_PROG);
EBPF_SAME_VALUE(map_wronly_prog, BPF_F_WRONLY_PROG);
EBPF_SAME_VALUE(map_clone, BPF_F_CLONE);
EBPF_SAME_VALUE(map_mmapable, BPF_F_MMAPABLE);
EBPF_SAME_VALUE(map_preserve_elems, BPF_F_PRESERVE_ELEMS);
EBPF_SAME_VALUE(map_inner_map, BPF_F_INNER_MAP);
EBPF_SAME_VALUE(map_link, f_map_link);
EBPF_SAME_VALUE(map_path_fd, f_path_fd);
EBPF_SAME_VALUE(map_vtype_btf_obj_fd, f_vtype_btf_obj_fd);
EBPF_SAME_VALUE(map_token_fd, f_token_fd);
EBPF_SAME_VALUE(map_segv_on_fault, f_segv_on_fault);
EBPF_SAME_VALUE(map_no_user_conv, f_no_user_conv);
EBPF_SAME_VALUE(prog_strict_alignment, BPF_F_STRICT_ALIGNMENT);
EBPF_SAME_VALUE(prog_any_alignment, BPF_F_ANY_ALIGNMENT);
EBPF_SAME_VALUE(prog_test_rnd_hi32, BPF_F_TEST_RND_HI32);
EBPF_SAME_VALUE(prog_test_state_freq, BPF_F_TEST_STATE_FREQ);
EBPF_SAME_VALUE(prog_sleepable, BPF_F_SLEEPABLE);
EBPF_SAME_VALUE(prog_xdp_has_frags, BPF_F_XDP_HAS_FRAGS);
EBPF_SAME_VALUE(prog_xdp_dev_bound_only, f_xdp_dev_bound_only);
EBPF_SAME_VALUE(prog_test_reg_invariants, f_test_reg_invariants);
EBPF_SAME_VALUE(prog_token_fd, f_token_fd);
EBPF_SAME_VALUE(attach_allow_override, BPF_F_ALLOW_OVERRIDE);
EBPF_SAME_VALUE(attach_allow_multi, BPF_F_ALLOW_MULTI);
EBPF_SAME_VALUE(attach_replace, BPF_F_REPLACE);
EBPF_SAME_VALUE(attach_before, f_before);
EBPF_SAME_VALUE(attach_after, f_after);
EBPF_SAME_VALUE(attach_id, f_id);
EBPF_SAME_VALUE(attach_link, f_link);
static_assert(f_link == f_map_link, "BPF_F_LINK is one bit for maps and attach");
EBPF_SAME_VALUE(xdp_update_if_noexist, XDP_FLAGS_UPDATE_IF_NOEXIST);
EBPF_SAME_VALUE(xdp_skb_mode, XDP_FLAGS_SKB_MODE);
EBPF_SAME_VALUE(xdp_drv_mode, XDP_FLAGS_DRV_MODE);
EBPF_SAME_VALUE(xdp_hw_mode, XDP_FLAGS_HW_MODE);
EBPF_SAME_VALUE(xdp_replace, XDP_FLAGS_REPLACE);
EBPF_SAME_VALUE(test_run_on_cpu, BPF_F_TEST_RUN_ON_CPU);
EBPF_SAME_VALUE(test_xdp_live_frames, BPF_F_TEST_XDP_LIVE_FRAMES);
EBPF_SAME_VALUE(test_skb_checksum_complete, f_test_skb_checksum_complete);
EBPF_SAME_VALUE(open_rdonly, BPF_F_RDONLY);
EBPF_SAME_VALUE(open_wronly, BPF_F_WRONLY);
EBPF_SAME_VALUE(stats_run_time, BPF_STATS_RUN_TIME);
EBPF_SAME_VALUE(perf_type_software, PERF_TYPE_SOFTWARE);
EBPF_SAME_VALUE(perf_type_tracepoint, PERF_TYPE_TRACEPOINT);
EBPF_SAME_VALUE(perf_count_sw_cpu_clock, PERF_COUNT_SW_CPU_CLOCK);
EBPF_SAME_VALUE(perf_count_sw_bpf_output, PERF_COUNT_SW_BPF_OUTPUT);
EBPF_SAME_VALUE(perf_sample_raw, PERF_SAMPLE_RAW);
#undef EBPF_SAME_VALUE

}  // namespace ebpf::sys::compat
