/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ebpfpp/bpf.h -- the one header an eBPF program (.bpf.c) needs.
 *
 * What it provides
 *   - integer types __u8..__u64, __s8..__s64, __be16/__be32/__be64, __le*, __sum16, __wsum, bool;
 *   - attribute macros: SEC(), __always_inline, __noinline, __weak, __hidden, __ksym, __kconfig,
 *     __kptr and friends, bpf_ksym_exists(), plus EBPFPP_LICENSE("GPL") (same as
 *     `char LICENSE[] SEC("license") = "GPL";`);
 *   - BTF map-definition macros __uint, __type, __array, __ulong (libbpf's spelling), and
 *     LIBBPF_PIN_NONE / LIBBPF_PIN_BY_NAME for `__uint(pinning, ...)`;
 *   - the program-side UAPI of <linux/bpf.h> (6.18): BPF_MAP_TYPE_*, BPF_ANY/NOEXIST/EXIST, the
 *     BPF_F_* helper and map flags, XDP_*, SK_PASS/SK_DROP, BPF_RB_*, BPF_SOCK_OPS_*, and the
 *     context structs (__sk_buff, xdp_md, bpf_sock, bpf_sock_addr, bpf_sock_ops, sk_msg_md,
 *     bpf_sysctl, bpf_sockopt, bpf_cgroup_dev_ctx, bpf_sk_lookup, sk_reuseport_md,
 *     bpf_perf_event_data, bpf_raw_tracepoint_args, ...) with the kernel's exact layout;
 *   - TC_ACT_* (as in <linux/pkt_cls.h>), bpf_htons/ntohs/htonl/ntohl (+ constant forms);
 *   - a declaration of every BPF helper of the 6.18 UAPI (ebpfpp/helpers.h, generated);
 *   - bpf_printk(fmt, ...) with up to 12 arguments.
 *
 * Self-contained: it includes no system header and no linux/ header, so it compiles with
 *   clang -target bpf -O2 -g -I bpf/include        (no -I/usr/include/x86_64-linux-gnu needed)
 *
 * Mixing with other headers -- include them BEFORE this one:
 *   - <linux/bpf.h> (guard __LINUX_BPF_H__ / _UAPI__LINUX_BPF_H__): the UAPI part is then skipped
 *     and the UAPI seen is that header's version (Debian's is 6.1, so newer constants may lack).
 *     Including <linux/bpf.h> AFTER this header is a redefinition error.
 *   - <linux/bpf_perf_event.h>, <asm/ptrace.h>, <linux/pkt_cls.h>, <linux/types.h>, <stdbool.h>:
 *     detected by their guards. <linux/types.h>, <linux/pkt_cls.h>, <stdbool.h> and
 *     <linux/bpf_perf_event.h> may also come after (identical typedefs and macro bodies are legal
 *     redefinitions in C11; bpf_perf_event.h is marked as included); <asm/ptrace.h> may not.
 *   - vmlinux.h (guard __VMLINUX_H__): types and UAPI are taken from it.
 *   - libbpf's <bpf/bpf_helpers.h> (guard __BPF_HELPERS__): its helper declarations and macros
 *     are kept and ours skipped. Including libbpf's header AFTER this one redefines every helper.
 *   Define EBPFPP_PRINTK_ON_STACK to make bpf_printk with up to 3 arguments build its format on
 *   the stack instead of in .rodata (for loaders without global data support); with 4 or more
 *   arguments the format stays in .rodata, which bpf_trace_vprintk() requires.
 */
#ifndef EBPFPP_BPF_H
#define EBPFPP_BPF_H

#if defined(__LINUX_BPF_H__) || defined(_UAPI__LINUX_BPF_H__) || defined(__VMLINUX_H__)
#define EBPFPP_HAVE_KERNEL_UAPI 1
#endif

/* ---------------------------------------------------------------------------------------------
 * Types
 */
#if !defined(__VMLINUX_H__) && !defined(__ASM_GENERIC_INT_LL64_H) && \
	!defined(_ASM_GENERIC_INT_LL64_H) && !defined(_UAPI_ASM_GENERIC_INT_LL64_H)
/* The same types as asm-generic/int-ll64.h, so a later <linux/types.h> re-declares identically. */
typedef signed char __s8;
typedef unsigned char __u8;
typedef signed short __s16;
typedef unsigned short __u16;
typedef signed int __s32;
typedef unsigned int __u32;
typedef signed long long __s64;
typedef unsigned long long __u64;
#endif

#if !defined(__VMLINUX_H__) && !defined(_LINUX_TYPES_H) && !defined(_UAPI_LINUX_TYPES_H)
typedef __u16 __le16;
typedef __u16 __be16;
typedef __u32 __le32;
typedef __u32 __be32;
typedef __u64 __le64;
typedef __u64 __be64;
typedef __u16 __sum16;
typedef __u32 __wsum;
#endif
#ifndef __aligned_u64
#define __aligned_u64 __u64 __attribute__((aligned(8)))
#endif

#if !defined(__VMLINUX_H__) && !defined(__cplusplus) && !defined(__bool_true_false_are_defined)
/* Token-identical to clang's <stdbool.h>, so including that too is harmless. */
#define bool _Bool
#define true 1
#define false 0
#define __bool_true_false_are_defined 1
#endif

#ifndef NULL
#define NULL ((void *)0)
#endif
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member)                                                            \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* ---------------------------------------------------------------------------------------------
 * Attributes and section macros (names as libbpf's bpf_helpers.h, so code ports both ways)
 */
#define EBPFPP_CONCAT_(a, b) a##b
#define EBPFPP_CONCAT(a, b) EBPFPP_CONCAT_(a, b)

#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#ifndef __hidden
#define __hidden __attribute__((visibility("hidden")))
#endif
/* `extern int bpf_foo(void) __ksym;` / `extern int CONFIG_X __kconfig;`: resolved at load time. */
#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif
#ifndef __kconfig
#define __kconfig __attribute__((section(".kconfig")))
#endif
/* True when the loader resolved a `__ksym __weak` extern (kfunc or variable) on this kernel; the
   verifier then prunes the branch that uses it on kernels without it. A non-weak extern would
   fail the load instead, hence the assertion. */
#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym)                                                                       \
	({                                                                                         \
		_Static_assert(!__builtin_constant_p(!!(sym)), #sym " must be declared __weak");  \
		!!(sym);                                                                           \
	})
#endif
/* BTF type tags the verifier understands (map values holding kernel pointers, ...). */
#ifndef __kptr_untrusted
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#endif
#ifndef __kptr
#define __kptr __attribute__((btf_type_tag("kptr")))
#endif
#ifndef __percpu_kptr
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))
#endif
#ifndef __uptr
#define __uptr __attribute__((btf_type_tag("uptr")))
#endif
/* Argument tags for global (non-inlined) subprograms. */
#ifndef __arg_ctx
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#endif
#ifndef __arg_nonnull
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#endif
#ifndef __arg_nullable
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))
#endif
#ifndef __arg_trusted
#define __arg_trusted __attribute__((btf_decl_tag("arg:trusted")))
#endif
#ifndef __arg_arena
#define __arg_arena __attribute__((btf_decl_tag("arg:arena")))
#endif

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
/* Make the compiler forget what it knows about var (defeats range-merging the verifier rejects). */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif
#ifndef KERNEL_VERSION
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#endif

/* char LICENSE[] SEC("license") = "GPL"; -- GPL-only helpers need a GPL-compatible license. */
#define EBPFPP_LICENSE(name) char LICENSE[] SEC("license") = name

/* ---------------------------------------------------------------------------------------------
 * BTF-defined maps:
 *   struct {
 *       __uint(type, BPF_MAP_TYPE_HASH);
 *       __uint(max_entries, 1024);
 *       __type(key, __u32);
 *       __type(value, struct stats);
 *   } stats SEC(".maps");
 * The values travel in the BTF of the member types (array sizes, pointee types), which is what
 * the loader reads; the struct itself is never materialised with data.
 */
#ifndef __uint
#define __uint(name, val) int (*name)[val]
#endif
#ifndef __type
#define __type(name, val) typeof(val) *name
#endif
#ifndef __array
#define __array(name, val) typeof(val) *name[]
#endif
/* 64-bit values (map_extra): an enum constant keeps the full width in BTF. */
#ifndef __ulong
#define __ulong(name, val) enum { EBPFPP_CONCAT(__ebpfpp_ulong_, __COUNTER__) = val } name
#endif

#ifndef __BPF_HELPERS__
enum libbpf_pin_type {
	LIBBPF_PIN_NONE,
	LIBBPF_PIN_BY_NAME, /* pin under /sys/fs/bpf/<map name> (or the loader's pin root) */
};
/* The type of a `__kconfig` extern that takes a y/n/m config value (`extern enum libbpf_tristate
   CONFIG_FOO __kconfig;`). The name is what the loader recognises, as with libbpf. */
enum libbpf_tristate {
	TRI_NO = 0,
	TRI_YES = 1,
	TRI_MODULE = 2,
};
#endif

/* ---------------------------------------------------------------------------------------------
 * Program-side UAPI of <linux/bpf.h>, 6.18. Layouts are the kernel's ABI (checked against the
 * running kernel's BTF and by _Static_asserts in tests/bpf/headers_smoke.bpf.c).
 */
#ifndef EBPFPP_HAVE_KERNEL_UAPI

/* A pointer member that is always 8 bytes wide and aligned, whatever the target's pointer size. */
#define EBPFPP_MD_PTR(type, name)                                                                  \
	union {                                                                                    \
		type name;                                                                         \
		__u64 : 64;                                                                        \
	} __attribute__((aligned(8)))

struct bpf_flow_keys;
struct bpf_sock;

enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC = 0,
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PROG_ARRAY = 3,
	BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_STACK_TRACE = 7,
	BPF_MAP_TYPE_CGROUP_ARRAY = 8,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_LRU_PERCPU_HASH = 10,
	BPF_MAP_TYPE_LPM_TRIE = 11,
	BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BPF_MAP_TYPE_HASH_OF_MAPS = 13,
	BPF_MAP_TYPE_DEVMAP = 14,
	BPF_MAP_TYPE_SOCKMAP = 15,
	BPF_MAP_TYPE_CPUMAP = 16,
	BPF_MAP_TYPE_XSKMAP = 17,
	BPF_MAP_TYPE_SOCKHASH = 18,
	BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED = 19,
	BPF_MAP_TYPE_CGROUP_STORAGE = 19,
	BPF_MAP_TYPE_REUSEPORT_SOCKARRAY = 20,
	BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED = 21,
	BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE = 21,
	BPF_MAP_TYPE_QUEUE = 22,
	BPF_MAP_TYPE_STACK = 23,
	BPF_MAP_TYPE_SK_STORAGE = 24,
	BPF_MAP_TYPE_DEVMAP_HASH = 25,
	BPF_MAP_TYPE_STRUCT_OPS = 26,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_INODE_STORAGE = 28,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
	BPF_MAP_TYPE_BLOOM_FILTER = 30,
	BPF_MAP_TYPE_USER_RINGBUF = 31,
	BPF_MAP_TYPE_CGRP_STORAGE = 32,
	BPF_MAP_TYPE_ARENA = 33,
	__MAX_BPF_MAP_TYPE
};

/* bpf_map_update_elem() flags */
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
	BPF_F_LOCK = 4,
};

/* map_flags (in a BTF map definition: __uint(map_flags, BPF_F_NO_PREALLOC)) */
enum {
	BPF_F_NO_PREALLOC = (1U << 0),
	BPF_F_NO_COMMON_LRU = (1U << 1),
	BPF_F_NUMA_NODE = (1U << 2),
	BPF_F_RDONLY = (1U << 3),
	BPF_F_WRONLY = (1U << 4),
	BPF_F_STACK_BUILD_ID = (1U << 5),
	BPF_F_ZERO_SEED = (1U << 6),
	BPF_F_RDONLY_PROG = (1U << 7),
	BPF_F_WRONLY_PROG = (1U << 8),
	BPF_F_CLONE = (1U << 9),
	BPF_F_MMAPABLE = (1U << 10),
	BPF_F_PRESERVE_ELEMS = (1U << 11),
	BPF_F_INNER_MAP = (1U << 12),
	BPF_F_LINK = (1U << 13),
	BPF_F_PATH_FD = (1U << 14),
	BPF_F_VTYPE_BTF_OBJ_FD = (1U << 15),
	BPF_F_TOKEN_FD = (1U << 16), /* 6.9 */
	BPF_F_SEGV_ON_FAULT = (1U << 17), /* 6.9 */
	BPF_F_NO_USER_CONV = (1U << 18), /* 6.9 */
};

enum bpf_stack_build_id_status {
	BPF_STACK_BUILD_ID_EMPTY = 0,
	BPF_STACK_BUILD_ID_VALID = 1,
	BPF_STACK_BUILD_ID_IP = 2,
};

#define BPF_BUILD_ID_SIZE 20
struct bpf_stack_build_id {
	__s32 status;
	unsigned char build_id[BPF_BUILD_ID_SIZE];
	union {
		__u64 offset;
		__u64 ip;
	};
};

/* LPM trie keys: prefix length in bits, then the address bytes. */
struct bpf_lpm_trie_key {
	__u32 prefixlen;
	__u8 data[0];
};
struct bpf_lpm_trie_key_hdr {
	__u32 prefixlen;
};
struct bpf_lpm_trie_key_u8 {
	union {
		struct bpf_lpm_trie_key_hdr hdr;
		__u32 prefixlen;
	};
	__u8 data[];
};

struct bpf_cgroup_storage_key {
	__u64 cgroup_inode_id;
	__u32 attach_type;
};

/* Helper flags */
enum { /* bpf_skb_store_bytes() */
	BPF_F_RECOMPUTE_CSUM = (1ULL << 0),
	BPF_F_INVALIDATE_HASH = (1ULL << 1),
};
enum { /* bpf_l3_csum_replace(), bpf_l4_csum_replace(): low 4 bits = header field size */
	BPF_F_HDR_FIELD_MASK = 0xfULL,
};
enum { /* bpf_l4_csum_replace() */
	BPF_F_PSEUDO_HDR = (1ULL << 4),
	BPF_F_MARK_MANGLED_0 = (1ULL << 5),
	BPF_F_MARK_ENFORCE = (1ULL << 6),
	BPF_F_IPV6 = (1ULL << 7),
};
enum { /* bpf_skb_{get,set}_tunnel_key() */
	BPF_F_TUNINFO_IPV6 = (1ULL << 0),
};
enum { /* bpf_get_stackid(), bpf_get_stack() */
	BPF_F_SKIP_FIELD_MASK = 0xffULL,
	BPF_F_USER_STACK = (1ULL << 8),
	BPF_F_FAST_STACK_CMP = (1ULL << 9),
	BPF_F_REUSE_STACKID = (1ULL << 10),
	BPF_F_USER_BUILD_ID = (1ULL << 11),
};
enum { /* bpf_skb_set_tunnel_key() */
	BPF_F_ZERO_CSUM_TX = (1ULL << 1),
	BPF_F_DONT_FRAGMENT = (1ULL << 2),
	BPF_F_SEQ_NUMBER = (1ULL << 3),
	BPF_F_NO_TUNNEL_KEY = (1ULL << 4),
};
enum { /* bpf_skb_get_tunnel_key() */
	BPF_F_TUNINFO_FLAGS = (1ULL << 4),
};
enum { /* bpf_perf_event_output(), bpf_perf_event_read(), bpf_perf_event_read_value() */
	BPF_F_INDEX_MASK = 0xffffffffULL,
	BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK,
	BPF_F_CTXLEN_MASK = (0xfffffULL << 32), /* skb context: bytes of packet to append */
};
enum { /* bpf_sk_lookup_*(): netns argument */
	BPF_F_CURRENT_NETNS = (-1L),
};
enum { /* bpf_csum_level() */
	BPF_CSUM_LEVEL_QUERY,
	BPF_CSUM_LEVEL_INC,
	BPF_CSUM_LEVEL_DEC,
	BPF_CSUM_LEVEL_RESET,
};
enum { /* bpf_skb_adjust_room() */
	BPF_F_ADJ_ROOM_FIXED_GSO = (1ULL << 0),
	BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 = (1ULL << 1),
	BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 = (1ULL << 2),
	BPF_F_ADJ_ROOM_ENCAP_L4_GRE = (1ULL << 3),
	BPF_F_ADJ_ROOM_ENCAP_L4_UDP = (1ULL << 4),
	BPF_F_ADJ_ROOM_NO_CSUM_RESET = (1ULL << 5),
	BPF_F_ADJ_ROOM_ENCAP_L2_ETH = (1ULL << 6),
	BPF_F_ADJ_ROOM_DECAP_L3_IPV4 = (1ULL << 7),
	BPF_F_ADJ_ROOM_DECAP_L3_IPV6 = (1ULL << 8),
};
enum {
	BPF_ADJ_ROOM_ENCAP_L2_MASK = 0xff,
	BPF_ADJ_ROOM_ENCAP_L2_SHIFT = 56,
};
#define BPF_F_ADJ_ROOM_ENCAP_L2(len)                                                               \
	(((__u64)(len) & BPF_ADJ_ROOM_ENCAP_L2_MASK) << BPF_ADJ_ROOM_ENCAP_L2_SHIFT)
enum { /* bpf_sysctl_get_name() */
	BPF_F_SYSCTL_BASE_NAME = (1ULL << 0),
};
enum { /* bpf_{sk,inode,task,cgrp}_storage_get() */
	BPF_LOCAL_STORAGE_GET_F_CREATE = (1ULL << 0),
	BPF_SK_STORAGE_GET_F_CREATE = BPF_LOCAL_STORAGE_GET_F_CREATE,
};
enum { /* bpf_read_branch_records() */
	BPF_F_GET_BRANCH_RECORDS_SIZE = (1ULL << 0),
};
enum { /* bpf_ringbuf_output(), _submit(), _discard() */
	BPF_RB_NO_WAKEUP = (1ULL << 0),
	BPF_RB_FORCE_WAKEUP = (1ULL << 1),
};
enum { /* bpf_ringbuf_query() */
	BPF_RB_AVAIL_DATA = 0,
	BPF_RB_RING_SIZE = 1,
	BPF_RB_CONS_POS = 2,
	BPF_RB_PROD_POS = 3,
};
enum { /* ring buffer record header */
	BPF_RINGBUF_BUSY_BIT = (1U << 31),
	BPF_RINGBUF_DISCARD_BIT = (1U << 30),
	BPF_RINGBUF_HDR_SZ = 8,
};
enum { /* bpf_sk_assign() from sk_lookup programs */
	BPF_SK_LOOKUP_F_REPLACE = (1ULL << 0),
	BPF_SK_LOOKUP_F_NO_REUSEPORT = (1ULL << 1),
};
enum bpf_adj_room_mode {
	BPF_ADJ_ROOM_NET,
	BPF_ADJ_ROOM_MAC,
};
enum bpf_hdr_start_off {
	BPF_HDR_START_MAC,
	BPF_HDR_START_NET,
};
enum bpf_lwt_encap_mode {
	BPF_LWT_ENCAP_SEG6,
	BPF_LWT_ENCAP_SEG6_INLINE,
	BPF_LWT_ENCAP_IP,
};
enum { /* bpf_bprm_opts_set() */
	BPF_F_BPRM_SECUREEXEC = (1ULL << 0),
};
enum { /* bpf_redirect(), bpf_redirect_map() */
	BPF_F_INGRESS = (1ULL << 0),
	BPF_F_BROADCAST = (1ULL << 3),
	BPF_F_EXCLUDE_INGRESS = (1ULL << 4),
#define BPF_F_REDIRECT_FLAGS (BPF_F_INGRESS | BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS)
};
enum { /* __sk_buff.tstamp_type */
	BPF_SKB_TSTAMP_UNSPEC = 0,
	BPF_SKB_TSTAMP_DELIVERY_MONO = 1,
	BPF_SKB_CLOCK_REALTIME = 0,
	BPF_SKB_CLOCK_MONOTONIC = 1,
	BPF_SKB_CLOCK_TAI = 2,
};
enum { /* bpf_timer_start() */
	BPF_F_TIMER_ABS = (1ULL << 0),
	BPF_F_TIMER_CPU_PIN = (1ULL << 1),
};
enum bpf_kfunc_flags { /* bpf_get_kmem_cache() and friends */
	BPF_F_PAD_ZEROS = (1ULL << 0),
};
enum { /* bpf_snprintf_btf() */
	BTF_F_COMPACT = (1ULL << 0),
	BTF_F_NONAME = (1ULL << 1),
	BTF_F_PTR_RAW = (1ULL << 2),
	BTF_F_ZERO = (1ULL << 3),
};
enum bpf_stream_id { /* bpf_stream_vprintk() kfunc, 6.17 */
	BPF_STDOUT = 1,
	BPF_STDERR = 2,
};

/* Return codes */
enum bpf_ret_code { /* lwt, sk_skb; binary-compatible with TC_ACT_* */
	BPF_OK = 0,
	BPF_DROP = 2,
	BPF_REDIRECT = 7,
	BPF_LWT_REROUTE = 128,
	BPF_FLOW_DISSECTOR_CONTINUE = 129,
};
enum tcx_action_base { /* tcx programs (6.6) */
	TCX_NEXT = -1,
	TCX_PASS = 0,
	TCX_DROP = 2,
	TCX_REDIRECT = 7,
};
#define XDP_PACKET_HEADROOM 256
enum xdp_action {
	XDP_ABORTED = 0,
	XDP_DROP,
	XDP_PASS,
	XDP_TX,
	XDP_REDIRECT,
};
enum sk_action {
	SK_DROP = 0,
	SK_PASS,
};

/* Program contexts and helper argument structs */

/* Context of socket filter, tc (cls/act/tcx), cgroup_skb, lwt_*, sk_skb, flow dissector. */
struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;
	/* family .. local_port: sk_skb programs only */
	__u32 family;
	__u32 remote_ip4; /* network byte order */
	__u32 local_ip4; /* network byte order */
	__u32 remote_ip6[4]; /* network byte order */
	__u32 local_ip6[4]; /* network byte order */
	__u32 remote_port; /* network byte order */
	__u32 local_port; /* host byte order */
	__u32 data_meta;
	EBPFPP_MD_PTR(struct bpf_flow_keys *, flow_keys);
	__u64 tstamp;
	__u32 wire_len;
	__u32 gso_segs;
	EBPFPP_MD_PTR(struct bpf_sock *, sk);
	__u32 gso_size;
	__u8 tstamp_type;
	__u32 : 24;
	__u64 hwtstamp;
};

struct bpf_tunnel_key {
	__u32 tunnel_id;
	union {
		__u32 remote_ipv4;
		__u32 remote_ipv6[4];
	};
	__u8 tunnel_tos;
	__u8 tunnel_ttl;
	union {
		__u16 tunnel_ext;
		__be16 tunnel_flags;
	};
	__u32 tunnel_label;
	union {
		__u32 local_ipv4;
		__u32 local_ipv6[4];
	};
};

struct bpf_xfrm_state {
	__u32 reqid;
	__u32 spi; /* network byte order */
	__u16 family;
	__u16 ext;
	union {
		__u32 remote_ipv4;
		__u32 remote_ipv6[4];
	};
};

/* Context of cgroup/sock programs; also returned by the socket lookup helpers. */
struct bpf_sock {
	__u32 bound_dev_if;
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 mark;
	__u32 priority;
	__u32 src_ip4;
	__u32 src_ip6[4];
	__u32 src_port; /* host byte order */
	__be16 dst_port; /* network byte order */
	__u16 : 16;
	__u32 dst_ip4;
	__u32 dst_ip6[4];
	__u32 state;
	__s32 rx_queue_mapping;
};

struct bpf_tcp_sock {
	__u32 snd_cwnd;
	__u32 srtt_us;
	__u32 rtt_min;
	__u32 snd_ssthresh;
	__u32 rcv_nxt;
	__u32 snd_nxt;
	__u32 snd_una;
	__u32 mss_cache;
	__u32 ecn_flags;
	__u32 rate_delivered;
	__u32 rate_interval_us;
	__u32 packets_out;
	__u32 retrans_out;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 data_segs_in;
	__u32 segs_out;
	__u32 data_segs_out;
	__u32 lost_out;
	__u32 sacked_out;
	__u64 bytes_received;
	__u64 bytes_acked;
	__u32 dsack_dups;
	__u32 delivered;
	__u32 delivered_ce;
	__u32 icsk_retransmits;
};

struct bpf_sock_tuple {
	union {
		struct {
			__be32 saddr;
			__be32 daddr;
			__be16 sport;
			__be16 dport;
		} ipv4;
		struct {
			__be32 saddr[4];
			__be32 daddr[4];
			__be16 sport;
			__be16 dport;
		} ipv6;
	};
};

struct bpf_xdp_sock {
	__u32 queue_id;
};

/* Context of XDP programs. */
struct xdp_md {
	__u32 data;
	__u32 data_end;
	__u32 data_meta;
	__u32 ingress_ifindex;
	__u32 rx_queue_index;
	__u32 egress_ifindex;
};

/* DEVMAP / CPUMAP values with a program attached to the entry. */
struct bpf_devmap_val {
	__u32 ifindex;
	union {
		int fd;
		__u32 id;
	} bpf_prog;
};
struct bpf_cpumap_val {
	__u32 qsize;
	union {
		int fd;
		__u32 id;
	} bpf_prog;
};

/* Context of sk_msg programs. */
struct sk_msg_md {
	EBPFPP_MD_PTR(void *, data);
	EBPFPP_MD_PTR(void *, data_end);
	__u32 family;
	__u32 remote_ip4; /* network byte order */
	__u32 local_ip4; /* network byte order */
	__u32 remote_ip6[4]; /* network byte order */
	__u32 local_ip6[4]; /* network byte order */
	__u32 remote_port; /* network byte order */
	__u32 local_port; /* host byte order */
	__u32 size;
	EBPFPP_MD_PTR(struct bpf_sock *, sk);
};

/* Context of sk_reuseport programs. */
struct sk_reuseport_md {
	EBPFPP_MD_PTR(void *, data);
	EBPFPP_MD_PTR(void *, data_end);
	__u32 len;
	__u32 eth_protocol;
	__u32 ip_protocol;
	__u32 bind_inany;
	__u32 hash;
	EBPFPP_MD_PTR(struct bpf_sock *, sk);
	EBPFPP_MD_PTR(struct bpf_sock *, migrating_sk);
};

/* Context of cgroup/connect*, bind*, sendmsg*, recvmsg*, getpeername*, getsockname*. */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4; /* network byte order */
	__u32 user_ip6[4]; /* network byte order */
	__u32 user_port; /* network byte order */
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 msg_src_ip4; /* network byte order */
	__u32 msg_src_ip6[4]; /* network byte order */
	EBPFPP_MD_PTR(struct bpf_sock *, sk);
};

/* Context of sockops programs. */
struct bpf_sock_ops {
	__u32 op;
	union {
		__u32 args[4];
		__u32 reply;
		__u32 replylong[4];
	};
	__u32 family;
	__u32 remote_ip4; /* network byte order */
	__u32 local_ip4; /* network byte order */
	__u32 remote_ip6[4]; /* network byte order */
	__u32 local_ip6[4]; /* network byte order */
	__u32 remote_port; /* network byte order */
	__u32 local_port; /* host byte order */
	__u32 is_fullsock;
	__u32 snd_cwnd;
	__u32 srtt_us;
	__u32 bpf_sock_ops_cb_flags;
	__u32 state;
	__u32 rtt_min;
	__u32 snd_ssthresh;
	__u32 rcv_nxt;
	__u32 snd_nxt;
	__u32 snd_una;
	__u32 mss_cache;
	__u32 ecn_flags;
	__u32 rate_delivered;
	__u32 rate_interval_us;
	__u32 packets_out;
	__u32 retrans_out;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 data_segs_in;
	__u32 segs_out;
	__u32 data_segs_out;
	__u32 lost_out;
	__u32 sacked_out;
	__u32 sk_txhash;
	__u64 bytes_received;
	__u64 bytes_acked;
	EBPFPP_MD_PTR(struct bpf_sock *, sk);
	EBPFPP_MD_PTR(void *, skb_data);
	EBPFPP_MD_PTR(void *, skb_data_end);
	__u32 skb_len;
	__u32 skb_tcp_flags;
	__u64 skb_hwtstamp;
};

enum { /* bpf_sock_ops.bpf_sock_ops_cb_flags, bpf_sock_ops_cb_flags_set() */
	BPF_SOCK_OPS_RTO_CB_FLAG = (1 << 0),
	BPF_SOCK_OPS_RETRANS_CB_FLAG = (1 << 1),
	BPF_SOCK_OPS_STATE_CB_FLAG = (1 << 2),
	BPF_SOCK_OPS_RTT_CB_FLAG = (1 << 3),
	BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG = (1 << 4),
	BPF_SOCK_OPS_PARSE_UNKNOWN_HDR_OPT_CB_FLAG = (1 << 5),
	BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG = (1 << 6),
	BPF_SOCK_OPS_ALL_CB_FLAGS = 0x7F,
};
enum { /* bpf_sock_ops.op */
	BPF_SOCK_OPS_VOID,
	BPF_SOCK_OPS_TIMEOUT_INIT,
	BPF_SOCK_OPS_RWND_INIT,
	BPF_SOCK_OPS_TCP_CONNECT_CB,
	BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB,
	BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB,
	BPF_SOCK_OPS_NEEDS_ECN,
	BPF_SOCK_OPS_BASE_RTT,
	BPF_SOCK_OPS_RTO_CB,
	BPF_SOCK_OPS_RETRANS_CB,
	BPF_SOCK_OPS_STATE_CB,
	BPF_SOCK_OPS_TCP_LISTEN_CB,
	BPF_SOCK_OPS_RTT_CB,
	BPF_SOCK_OPS_PARSE_HDR_OPT_CB,
	BPF_SOCK_OPS_HDR_OPT_LEN_CB,
	BPF_SOCK_OPS_WRITE_HDR_OPT_CB,
	BPF_SOCK_OPS_TSTAMP_SCHED_CB, /* 6.14: the five TSTAMP ops */
	BPF_SOCK_OPS_TSTAMP_SND_SW_CB,
	BPF_SOCK_OPS_TSTAMP_SND_HW_CB,
	BPF_SOCK_OPS_TSTAMP_ACK_CB,
	BPF_SOCK_OPS_TSTAMP_SENDMSG_CB,
};
enum { /* bpf_sock.state, bpf_sock_ops.state */
	BPF_TCP_ESTABLISHED = 1,
	BPF_TCP_SYN_SENT,
	BPF_TCP_SYN_RECV,
	BPF_TCP_FIN_WAIT1,
	BPF_TCP_FIN_WAIT2,
	BPF_TCP_TIME_WAIT,
	BPF_TCP_CLOSE,
	BPF_TCP_CLOSE_WAIT,
	BPF_TCP_LAST_ACK,
	BPF_TCP_LISTEN,
	BPF_TCP_CLOSING,
	BPF_TCP_NEW_SYN_RECV,
	BPF_TCP_BOUND_INACTIVE,
	BPF_TCP_MAX_STATES
};
enum { /* bpf_setsockopt()/bpf_getsockopt() optnames at SOL_TCP */
	TCP_BPF_IW = 1001,
	TCP_BPF_SNDCWND_CLAMP = 1002,
	TCP_BPF_DELACK_MAX = 1003,
	TCP_BPF_RTO_MIN = 1004,
	TCP_BPF_SYN = 1005,
	TCP_BPF_SYN_IP = 1006,
	TCP_BPF_SYN_MAC = 1007,
	TCP_BPF_SOCK_OPS_CB_FLAGS = 1008,
	SK_BPF_CB_FLAGS = 1009, /* 6.14, at SOL_SOCKET */
};
enum { /* SK_BPF_CB_FLAGS values, 6.14 */
	SK_BPF_CB_TX_TIMESTAMPING = (1 << 0),
	SK_BPF_CB_MASK = (SK_BPF_CB_TX_TIMESTAMPING - 1) | SK_BPF_CB_TX_TIMESTAMPING,
};
enum { /* bpf_load_hdr_opt() */
	BPF_LOAD_HDR_OPT_TCP_SYN = (1ULL << 0),
};
enum { /* bpf_sock_ops.args[0] in BPF_SOCK_OPS_HDR_OPT_LEN_CB / _WRITE_HDR_OPT_CB */
	BPF_WRITE_HDR_TCP_CURRENT_MSS = 1,
	BPF_WRITE_HDR_TCP_SYNACK_COOKIE = 2,
};

struct bpf_perf_event_value {
	__u64 counter;
	__u64 enabled;
	__u64 running;
};

/* Context of cgroup/dev programs: access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*. */
enum {
	BPF_DEVCG_ACC_MKNOD = (1ULL << 0),
	BPF_DEVCG_ACC_READ = (1ULL << 1),
	BPF_DEVCG_ACC_WRITE = (1ULL << 2),
};
enum {
	BPF_DEVCG_DEV_BLOCK = (1ULL << 0),
	BPF_DEVCG_DEV_CHAR = (1ULL << 1),
};
struct bpf_cgroup_dev_ctx {
	__u32 access_type;
	__u32 major;
	__u32 minor;
};

/* Context of raw_tracepoint programs. */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

enum { /* bpf_fib_lookup() flags */
	BPF_FIB_LOOKUP_DIRECT = (1U << 0),
	BPF_FIB_LOOKUP_OUTPUT = (1U << 1),
	BPF_FIB_LOOKUP_SKIP_NEIGH = (1U << 2),
	BPF_FIB_LOOKUP_TBID = (1U << 3),
	BPF_FIB_LOOKUP_SRC = (1U << 4),
	BPF_FIB_LOOKUP_MARK = (1U << 5),
};
enum { /* bpf_fib_lookup() results */
	BPF_FIB_LKUP_RET_SUCCESS,
	BPF_FIB_LKUP_RET_BLACKHOLE,
	BPF_FIB_LKUP_RET_UNREACHABLE,
	BPF_FIB_LKUP_RET_PROHIBIT,
	BPF_FIB_LKUP_RET_NOT_FWDED,
	BPF_FIB_LKUP_RET_FWD_DISABLED,
	BPF_FIB_LKUP_RET_UNSUPP_LWT,
	BPF_FIB_LKUP_RET_NO_NEIGH,
	BPF_FIB_LKUP_RET_FRAG_NEEDED,
	BPF_FIB_LKUP_RET_NO_SRC_ADDR,
};
struct bpf_fib_lookup {
	__u8 family;
	__u8 l4_protocol;
	__be16 sport;
	__be16 dport;
	union {
		__u16 tot_len; /* input */
		__u16 mtu_result; /* output */
	} __attribute__((packed, aligned(2)));
	__u32 ifindex;
	union {
		__u8 tos;
		__be32 flowinfo;
		__u32 rt_metric;
	};
	union {
		__be32 ipv4_src;
		__u32 ipv6_src[4];
	};
	union {
		__be32 ipv4_dst;
		__u32 ipv6_dst[4];
	};
	union {
		struct {
			__be16 h_vlan_proto;
			__be16 h_vlan_TCI;
		};
		__u32 tbid;
	};
	union {
		struct {
			__u32 mark;
		};
		struct {
			__u8 smac[6];
			__u8 dmac[6];
		};
	};
};

struct bpf_redir_neigh {
	__u32 nh_family;
	union {
		__be32 ipv4_nh;
		__u32 ipv6_nh[4];
	};
};

enum bpf_check_mtu_flags {
	BPF_MTU_CHK_SEGS = (1U << 0),
};
enum bpf_check_mtu_ret {
	BPF_MTU_CHK_RET_SUCCESS,
	BPF_MTU_CHK_RET_FRAG_NEEDED,
	BPF_MTU_CHK_RET_SEGS_TOOBIG,
};

enum bpf_task_fd_type {
	BPF_FD_TYPE_RAW_TRACEPOINT,
	BPF_FD_TYPE_TRACEPOINT,
	BPF_FD_TYPE_KPROBE,
	BPF_FD_TYPE_KRETPROBE,
	BPF_FD_TYPE_UPROBE,
	BPF_FD_TYPE_URETPROBE,
};

/* Context (via __sk_buff.flow_keys) of flow_dissector programs. */
enum {
	BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG = (1U << 0),
	BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL = (1U << 1),
	BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP = (1U << 2),
};
struct bpf_flow_keys {
	__u16 nhoff;
	__u16 thoff;
	__u16 addr_proto;
	__u8 is_frag;
	__u8 is_first_frag;
	__u8 is_encap;
	__u8 ip_proto;
	__be16 n_proto;
	__be16 sport;
	__be16 dport;
	union {
		struct {
			__be32 ipv4_src;
			__be32 ipv4_dst;
		};
		struct {
			__u32 ipv6_src[4];
			__u32 ipv6_dst[4];
		};
	};
	__u32 flags;
	__be32 flow_label;
};

/* Special map-value fields: opaque, recognised by the verifier through BTF. */
struct bpf_spin_lock {
	__u32 val;
};
struct bpf_timer {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_wq {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_dynptr {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_list_head {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_list_node {
	__u64 __opaque[3];
} __attribute__((aligned(8)));
struct bpf_rb_root {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
struct bpf_rb_node {
	__u64 __opaque[4];
} __attribute__((aligned(8)));
struct bpf_refcount {
	__u32 __opaque[1];
} __attribute__((aligned(4)));
struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

/* Context of cgroup/sysctl programs. */
struct bpf_sysctl {
	__u32 write; /* 0: read, 1: write */
	__u32 file_pos; /* read/write position; writable */
};

/* Context of cgroup/getsockopt and cgroup/setsockopt programs. */
struct bpf_sockopt {
	EBPFPP_MD_PTR(struct bpf_sock *, sk);
	EBPFPP_MD_PTR(void *, optval);
	EBPFPP_MD_PTR(void *, optval_end);
	__s32 level;
	__s32 optname;
	__s32 optlen;
	__s32 retval;
};

struct bpf_pidns_info {
	__u32 pid;
	__u32 tgid;
};

/* Context of sk_lookup programs. */
struct bpf_sk_lookup {
	union {
		EBPFPP_MD_PTR(struct bpf_sock *, sk);
		__u64 cookie;
	};
	__u32 family;
	__u32 protocol;
	__u32 remote_ip4; /* network byte order */
	__u32 remote_ip6[4]; /* network byte order */
	__be16 remote_port; /* network byte order */
	__u16 : 16;
	__u32 local_ip4; /* network byte order */
	__u32 local_ip6[4]; /* network byte order */
	__u32 local_port; /* host byte order */
	__u32 ingress_ifindex;
};

/* bpf_snprintf_btf(), bpf_seq_printf_btf() */
struct btf_ptr {
	void *ptr;
	__u32 type_id;
	__u32 flags;
};

#endif /* !EBPFPP_HAVE_KERNEL_UAPI */

/* ---------------------------------------------------------------------------------------------
 * Context of perf_event programs (<linux/bpf_perf_event.h>); the register file is per
 * architecture (selected by -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64, as with libbpf).
 * With another or no __TARGET_ARCH_*, struct bpf_perf_event_data is not defined.
 */
#if !defined(__VMLINUX_H__) && !defined(__LINUX_BPF_PERF_EVENT_H__) &&                             \
	!defined(_UAPI__LINUX_BPF_PERF_EVENT_H__)
#if defined(__TARGET_ARCH_x86)
#if !defined(_ASM_X86_PTRACE_H) && !defined(_UAPI_ASM_X86_PTRACE_H)
/* x86-64 user register layout (asm/ptrace.h); the BPF target has 64-bit longs. */
struct pt_regs {
	unsigned long r15;
	unsigned long r14;
	unsigned long r13;
	unsigned long r12;
	unsigned long rbp;
	unsigned long rbx;
	unsigned long r11;
	unsigned long r10;
	unsigned long r9;
	unsigned long r8;
	unsigned long rax;
	unsigned long rcx;
	unsigned long rdx;
	unsigned long rsi;
	unsigned long rdi;
	unsigned long orig_rax;
	unsigned long rip;
	unsigned long cs;
	unsigned long eflags;
	unsigned long rsp;
	unsigned long ss;
};
#endif
typedef struct pt_regs bpf_user_pt_regs_t;
#define EBPFPP_HAVE_USER_PT_REGS 1
#elif defined(__TARGET_ARCH_arm64)
#if !defined(__ASM_PTRACE_H) && !defined(_UAPI__ASM_PTRACE_H)
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
};
#endif
typedef struct user_pt_regs bpf_user_pt_regs_t;
#define EBPFPP_HAVE_USER_PT_REGS 1
#endif
#ifdef EBPFPP_HAVE_USER_PT_REGS
struct bpf_perf_event_data {
	bpf_user_pt_regs_t regs;
	__u64 sample_period;
	__u64 addr;
};
/* Those two headers define nothing but the above, so mark them included: a later
   #include <linux/bpf_perf_event.h> is then a no-op instead of a redefinition. */
#define __LINUX_BPF_PERF_EVENT_H__
#define __ASM_GENERIC_BPF_PERF_EVENT_H__
#endif
#endif

/* ---------------------------------------------------------------------------------------------
 * Traffic-control verdicts; bodies token-identical to <linux/pkt_cls.h> so either order works.
 */
#ifndef __LINUX_PKT_CLS_H
#define TC_ACT_UNSPEC	(-1)
#define TC_ACT_OK		0
#define TC_ACT_RECLASSIFY	1
#define TC_ACT_SHOT		2
#define TC_ACT_PIPE		3
#define TC_ACT_STOLEN		4
#define TC_ACT_QUEUED		5
#define TC_ACT_REPEAT		6
#define TC_ACT_REDIRECT		7
#define TC_ACT_TRAP		8
#define TC_ACT_VALUE_MAX	TC_ACT_TRAP
#endif

/* ---------------------------------------------------------------------------------------------
 * Byte order. BPF programs run on the host's byte order; clang defines __BYTE_ORDER__ for
 * -target bpf from the host (bpfel/bpfeb). The ___constant_ forms fold in static initialisers.
 */
#define ___ebpfpp_swab16(x) ((__u16)((((__u16)(x) & 0x00ffU) << 8) | (((__u16)(x) & 0xff00U) >> 8)))
#define ___ebpfpp_swab32(x)                                                                        \
	((__u32)((((__u32)(x) & 0x000000ffUL) << 24) | (((__u32)(x) & 0x0000ff00UL) << 8) |        \
		 (((__u32)(x) & 0x00ff0000UL) >> 8) | (((__u32)(x) & 0xff000000UL) >> 24)))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ___ebpfpp_cpu_to_be16(x) __builtin_bswap16(x)
#define ___ebpfpp_cpu_to_be32(x) __builtin_bswap32(x)
#define ___ebpfpp_cpu_to_be64(x) __builtin_bswap64(x)
#define ___ebpfpp_constant_cpu_to_be16(x) ___ebpfpp_swab16(x)
#define ___ebpfpp_constant_cpu_to_be32(x) ___ebpfpp_swab32(x)
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ___ebpfpp_cpu_to_be16(x) (x)
#define ___ebpfpp_cpu_to_be32(x) (x)
#define ___ebpfpp_cpu_to_be64(x) (x)
#define ___ebpfpp_constant_cpu_to_be16(x) (x)
#define ___ebpfpp_constant_cpu_to_be32(x) (x)
#else
#error "ebpfpp/bpf.h: __BYTE_ORDER__ is neither little nor big endian"
#endif

#ifndef bpf_htons
#define bpf_htons(x)                                                                               \
	(__builtin_constant_p(x) ? ___ebpfpp_constant_cpu_to_be16(x) : ___ebpfpp_cpu_to_be16(x))
#endif
#ifndef bpf_ntohs
#define bpf_ntohs(x) bpf_htons(x)
#endif
#ifndef bpf_htonl
#define bpf_htonl(x)                                                                               \
	(__builtin_constant_p(x) ? ___ebpfpp_constant_cpu_to_be32(x) : ___ebpfpp_cpu_to_be32(x))
#endif
#ifndef bpf_ntohl
#define bpf_ntohl(x) bpf_htonl(x)
#endif
#ifndef bpf_cpu_to_be64
#define bpf_cpu_to_be64(x) ___ebpfpp_cpu_to_be64(x)
#endif
#ifndef bpf_be64_to_cpu
#define bpf_be64_to_cpu(x) ___ebpfpp_cpu_to_be64(x)
#endif
#ifndef __bpf_constant_htons
#define __bpf_constant_htons(x) ___ebpfpp_constant_cpu_to_be16(x)
#endif
#ifndef __bpf_constant_ntohs
#define __bpf_constant_ntohs(x) ___ebpfpp_constant_cpu_to_be16(x)
#endif
#ifndef __bpf_constant_htonl
#define __bpf_constant_htonl(x) ___ebpfpp_constant_cpu_to_be32(x)
#endif
#ifndef __bpf_constant_ntohl
#define __bpf_constant_ntohl(x) ___ebpfpp_constant_cpu_to_be32(x)
#endif

/* ---------------------------------------------------------------------------------------------
 * Helpers: every helper of the 6.18 UAPI (generated; skipped when libbpf's bpf_helpers.h already
 * declared them).
 */
#include "helpers.h"

/* ---------------------------------------------------------------------------------------------
 * bpf_printk(fmt, args...): a line in /sys/kernel/tracing/trace_pipe.
 * Up to 3 arguments use bpf_trace_printk() (every kernel); 4 to 12 use bpf_trace_vprintk() (5.16),
 * which needs the format in a read-only map -- hence `static const` (.rodata).
 */
#define ___ebpfpp_nth(_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, ...) N
/* 'v' when there are more than 3 arguments after fmt, 's' otherwise. */
#define ___ebpfpp_printk_kind(...)                                                                 \
	___ebpfpp_nth(_, ##__VA_ARGS__, v, v, v, v, v, v, v, v, v, s, s, s, s)

/* Each argument cast to u64, comma-separated (for the vprintk argument array). */
#define ___ebpfpp_u64_0()
#define ___ebpfpp_u64_1(x) (unsigned long long)(x)
#define ___ebpfpp_u64_2(x, ...) (unsigned long long)(x), ___ebpfpp_u64_1(__VA_ARGS__)
#define ___ebpfpp_u64_3(x, ...) (unsigned long long)(x), ___ebpfpp_u64_2(__VA_ARGS__)
#define ___ebpfpp_u64_4(x, ...) (unsigned long long)(x), ___ebpfpp_u64_3(__VA_ARGS__)
#define ___ebpfpp_u64_5(x, ...) (unsigned long long)(x), ___ebpfpp_u64_4(__VA_ARGS__)
#define ___ebpfpp_u64_6(x, ...) (unsigned long long)(x), ___ebpfpp_u64_5(__VA_ARGS__)
#define ___ebpfpp_u64_7(x, ...) (unsigned long long)(x), ___ebpfpp_u64_6(__VA_ARGS__)
#define ___ebpfpp_u64_8(x, ...) (unsigned long long)(x), ___ebpfpp_u64_7(__VA_ARGS__)
#define ___ebpfpp_u64_9(x, ...) (unsigned long long)(x), ___ebpfpp_u64_8(__VA_ARGS__)
#define ___ebpfpp_u64_10(x, ...) (unsigned long long)(x), ___ebpfpp_u64_9(__VA_ARGS__)
#define ___ebpfpp_u64_11(x, ...) (unsigned long long)(x), ___ebpfpp_u64_10(__VA_ARGS__)
#define ___ebpfpp_u64_12(x, ...) (unsigned long long)(x), ___ebpfpp_u64_11(__VA_ARGS__)
#define ___ebpfpp_count(...)                                                                       \
	___ebpfpp_nth(_, ##__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define ___ebpfpp_u64_all(...)                                                                     \
	EBPFPP_CONCAT(___ebpfpp_u64_, ___ebpfpp_count(__VA_ARGS__))(__VA_ARGS__)

#ifndef bpf_printk

#ifdef EBPFPP_PRINTK_ON_STACK
#define ___ebpfpp_printk_s(fmt, ...)                                                               \
	({                                                                                         \
		char ____fmt[] = fmt;                                                              \
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);                         \
	})
#else
#define ___ebpfpp_printk_s(fmt, ...)                                                               \
	({                                                                                         \
		static const char ____fmt[] = fmt;                                                 \
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);                         \
	})
#endif
#define ___ebpfpp_printk_v(fmt, ...)                                                               \
	({                                                                                         \
		static const char ____fmt[] = fmt;                                                 \
		unsigned long long ____args[] = { ___ebpfpp_u64_all(__VA_ARGS__) };                \
		bpf_trace_vprintk(____fmt, sizeof(____fmt), ____args, sizeof(____args));           \
	})

#define bpf_printk(fmt, ...)                                                                       \
	EBPFPP_CONCAT(___ebpfpp_printk_, ___ebpfpp_printk_kind(__VA_ARGS__))(fmt, ##__VA_ARGS__)

#endif /* bpf_printk */

/* ---------------------------------------------------------------------------------------------
 * bpf_stream_printk(stream, fmt, args...): a line in the program's own output stream, read from
 * user space with ebpf::program::read_stream() or ebpf::async::stream_reader (kernel 6.17, the
 * bpf_stream_vprintk_impl kfunc of 6.18; declared weak: guard with
 * bpf_ksym_exists(bpf_stream_vprintk_impl) to also load on older kernels). Up to 12 arguments.
 * `stream` is BPF_STDOUT or BPF_STDERR (enum bpf_stream_id in the UAPI part above).
 */
#ifndef bpf_stream_printk
extern int bpf_stream_vprintk_impl(int stream_id, const char *fmt__str, const void *args, __u32 len__sz,
				   void *aux__prog) __ksym __weak;
#define bpf_stream_printk(stream_id, fmt, ...)                                                     \
	({                                                                                         \
		static const char ____fmt[] = fmt;                                                 \
		unsigned long long ____args[___ebpfpp_count(__VA_ARGS__)] = {                      \
			___ebpfpp_u64_all(__VA_ARGS__)                                             \
		};                                                                                 \
		bpf_stream_vprintk_impl(stream_id, ____fmt, ____args, sizeof(____args), (void *)0); \
	})
#endif /* bpf_stream_printk */

#endif /* EBPFPP_BPF_H */
