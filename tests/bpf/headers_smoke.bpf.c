// SPDX-License-Identifier: GPL-2.0
/*
 * Compile test of <ebpfpp/bpf.h>, <ebpfpp/helpers.h> and <ebpfpp/maps.h>: the build fails when
 * the headers break. It includes nothing else (no linux/ headers, no -I for the multiarch include
 * directory), defines a map of every map type, one program per common context struct, calls
 * several dozen helpers, and pins the context-struct layouts with _Static_asserts taken from the
 * 6.18 kernel's BTF (bottom of the file). Nothing in the test suite loads it; still, every
 * program passed the 6.18 verifier when loaded with `bpftool prog loadall` (minus the arena map and
 * the kfunc externs, which Debian's libbpf 1.1 cannot handle), which checks the context layouts
 * and helper prototypes better than the compiler can.
 */
#include <ebpfpp/bpf.h>
#include <ebpfpp/maps.h>

struct event {
	__u32 pid;
	__u32 cpu;
	__u64 ts;
	char comm[16];
};

struct timer_value {
	struct bpf_timer timer;
	__u64 counter;
};

/* Separate from timer_value: tracing programs may not use a map whose value has a spin lock. */
struct locked_value {
	struct bpf_spin_lock lock;
	__u64 counter;
};

struct lpm_v4_key {
	struct bpf_lpm_trie_key_hdr hdr;
	__u8 addr[4];
};

/* ---- one map of every map type (struct_ops maps need a struct_ops program; not here) ---- */

EBPFPP_HASH(hash_map, __u32, __u64, 128);
EBPFPP_ARRAY(array_map, struct event, 4);
EBPFPP_PERCPU_HASH(percpu_hash_map, __u32, __u64, 128);
EBPFPP_PERCPU_ARRAY(percpu_array_map, __u64, 1);
EBPFPP_LRU_HASH(lru_hash_map, __u64, __u64, 128);
EBPFPP_LRU_PERCPU_HASH(lru_percpu_hash_map, __u64, __u64, 128);
EBPFPP_LPM_TRIE(lpm_map, struct lpm_v4_key, __u32, 64);
EBPFPP_QUEUE(queue_map, __u64, 32);
EBPFPP_STACK(stack_map, __u64, 32);
EBPFPP_RINGBUF(ringbuf_map, 4096 * 4);
EBPFPP_PERF_EVENT_ARRAY(perf_map);
EBPFPP_PROG_ARRAY(jmp_table, 4);
EBPFPP_LOCAL_STORAGE(BPF_MAP_TYPE_SK_STORAGE, sk_storage_map, __u64);
EBPFPP_LOCAL_STORAGE(BPF_MAP_TYPE_TASK_STORAGE, task_storage_map, __u64);
EBPFPP_LOCAL_STORAGE(BPF_MAP_TYPE_INODE_STORAGE, inode_storage_map, __u64);
EBPFPP_LOCAL_STORAGE(BPF_MAP_TYPE_CGRP_STORAGE, cgrp_storage_map, __u64);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct timer_value);
} timer_map SEC(".maps");

EBPFPP_ARRAY(locked_map, struct locked_value, 1);

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 256);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_array_map SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_map);
} array_of_maps SEC(".maps") = {
	.values = { &inner_a, &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner_map);
} hash_of_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} devmap_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpumap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xskmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sockmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sockhash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} reuseport_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, __u64);
} cgroup_storage_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, __u64);
} percpu_cgroup_storage_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, __u32);
	__uint(map_extra, 3); /* number of hash functions */
} bloom_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} user_ringbuf_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2);  /* pages */
	__ulong(map_extra, 1ULL << 44); /* user-space address: needs the 64-bit __ulong */
} arena_map SEC(".maps");

/* ---- globals, externs, attributes ---- */

/* Not used above: pinning a map of this compile-only object would leave it in bpffs. */
_Static_assert(LIBBPF_PIN_NONE == 0 && LIBBPF_PIN_BY_NAME == 1, "libbpf_pin_type values");

const volatile __u32 target_pid = 0; /* .rodata, set before load */
__u64 packets = 0; /* .bss */
__u32 verbose SEC(".data.verbose") = 1;

extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern const void bpf_prog_active __ksym __weak;

static __always_inline __u16 fold_csum(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~((sum & 0xffff) + (sum >> 16));
}

__noinline __hidden int global_subprog(struct __sk_buff *skb __arg_ctx)
{
	return skb ? (int)skb->len : 0;
}

__weak int weak_subprog(__u32 x)
{
	return x > 4 ? 1 : 0;
}

static int loop_cb(__u32 index, void *ctx)
{
	__u64 *sum = ctx;
	*sum += index;
	return 0;
}

static long map_cb(void *map, __u32 *key, __u64 *value, void *ctx)
{
	(void)map;
	(void)key;
	(void)ctx;
	return *value > 10;
}

static int timer_cb(void *map, __u32 *key, struct timer_value *value)
{
	(void)map;
	(void)key;
	value->counter++;
	return 0;
}

static long user_ringbuf_cb(struct bpf_dynptr *dynptr, void *ctx)
{
	__u64 value = 0;
	(void)ctx;
	bpf_dynptr_read(&value, sizeof(value), dynptr, 0, 0);
	return 0;
}

/* ---- programs, one per context struct ---- */

SEC("kprobe/do_nanosleep")
int kprobe_prog(struct pt_regs *regs)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;
	struct event *e;
	__u64 sum = 0, value = 0;
	__u32 key = 0;

	if (target_pid && pid != target_pid)
		return 0;
	e = bpf_ringbuf_reserve(&ringbuf_map, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	e->cpu = bpf_get_smp_processor_id();
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);

	bpf_probe_read_kernel(&value, sizeof(value), (void *)regs->rdi);
	bpf_loop(8, loop_cb, &sum, 0);
	bpf_for_each_map_elem(&hash_map, map_cb, NULL, 0);
	bpf_map_update_elem(&hash_map, &pid, &sum, BPF_ANY);
	bpf_map_delete_elem(&hash_map, &pid);
	bpf_map_push_elem(&queue_map, &sum, BPF_EXIST);
	bpf_map_pop_elem(&queue_map, &value);
	bpf_map_peek_elem(&stack_map, &value);
	bpf_map_push_elem(&bloom_map, &pid, BPF_ANY);
	bpf_user_ringbuf_drain(&user_ringbuf_map, user_ringbuf_cb, NULL, 0);
	bpf_perf_event_output(regs, &perf_map, BPF_F_CURRENT_CPU, &sum, sizeof(sum));
	bpf_get_stackid(regs, &stack_traces, BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP);

	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *ts = bpf_task_storage_get(&task_storage_map, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_jiffies64();
	if (bpf_ksym_exists(bpf_task_acquire)) {
		struct task_struct *held = bpf_task_acquire(task);
		if (held)
			bpf_task_release(held);
	}

	__u64 *pcpu = bpf_map_lookup_elem(&percpu_array_map, &key);
	if (pcpu)
		__sync_fetch_and_add(pcpu, 1);
	__u64 *other = bpf_map_lookup_percpu_elem(&percpu_array_map, &key, 0);
	if (other && CONFIG_BPF_SYSCALL && LINUX_KERNEL_VERSION >= KERNEL_VERSION(6, 1, 0))
		bpf_printk("cpu0 %llu pending %llu", *other, bpf_ringbuf_query(&ringbuf_map, BPF_RB_AVAIL_DATA));

	void *inner = bpf_map_lookup_elem(&array_of_maps, &key);
	if (inner)
		bpf_map_lookup_elem(inner, &key);

	char buf[32];
	__u64 args[2] = { pid, sum };
	bpf_snprintf(buf, sizeof(buf), "%u:%llu", args, sizeof(args));
	if (bpf_strncmp(buf, sizeof(buf), "0:") == 0)
		bpf_printk("%s %d %d %d %d", buf, 1, 2, 3, 4); /* > 3 args: bpf_trace_vprintk */
	bpf_tail_call(regs, &jmp_table, 0);
	return 0;
}

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *eth_proto = data + 12;
	struct bpf_fib_lookup fib = {};
	struct lpm_v4_key key = { .hdr = { .prefixlen = 32 } };

	if (data + 14 + 20 > data_end) /* Ethernet + IPv4 header */
		return XDP_DROP;
	if (*eth_proto != bpf_htons(0x0800))
		return XDP_PASS;
	__builtin_memcpy(key.addr, data + 14 + 16, 4);
	if (bpf_map_lookup_elem(&lpm_map, &key))
		return XDP_DROP;
	fib.family = 2; /* AF_INET */
	fib.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_DIRECT) == BPF_FIB_LKUP_RET_SUCCESS)
		return bpf_redirect_map(&devmap, fib.ifindex, XDP_PASS);
	if (ctx->rx_queue_index == 1)
		return bpf_redirect_map(&xskmap, ctx->rx_queue_index, XDP_PASS);
	if (ctx->rx_queue_index == 2)
		return bpf_redirect_map(&cpumap, 0, 0);
	if (bpf_xdp_adjust_head(ctx, 0))
		return XDP_ABORTED;
	return bpf_redirect_map(&devmap_hash, 0, XDP_TX);
}

SEC("tc")
int tc_prog(struct __sk_buff *skb)
{
	__be32 old_addr, new_addr = bpf_htonl(0x0a000001);
	__u32 mtu = 0, key = 0;
	struct locked_value *locked = bpf_map_lookup_elem(&locked_map, &key);

	struct timer_value *tv = bpf_map_lookup_elem(&timer_map, &key);

	if (locked) {
		bpf_spin_lock(&locked->lock);
		locked->counter++;
		bpf_spin_unlock(&locked->lock);
	}
	if (tv) { /* tracing programs may use neither timers nor spin locks */
		bpf_timer_init(&tv->timer, &timer_map, 1 /* CLOCK_MONOTONIC */);
		bpf_timer_set_callback(&tv->timer, timer_cb);
		bpf_timer_start(&tv->timer, 1000000, BPF_F_TIMER_CPU_PIN);
	}

	if (skb->protocol != bpf_htons(0x0800))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, 14 + 16, &old_addr, sizeof(old_addr)))
		return TC_ACT_SHOT;
	__s64 diff = bpf_csum_diff(&old_addr, 4, &new_addr, 4, 0);
	bpf_l3_csum_replace(skb, 14 + 10, old_addr, new_addr, sizeof(new_addr));
	bpf_skb_store_bytes(skb, 14 + 16, &new_addr, sizeof(new_addr), BPF_F_RECOMPUTE_CSUM);
	bpf_check_mtu(skb, skb->ifindex, &mtu, 0, 0);
	if (bpf_skb_under_cgroup(skb, &cgroup_array_map, 0) == 1)
		return TC_ACT_SHOT;
	__sync_fetch_and_add(&packets, 1);
	if (verbose)
		bpf_printk("tc len=%u hash=%u cookie=%llu", skb->len, bpf_get_hash_recalc(skb),
			   bpf_get_socket_cookie(skb));
	skb->mark = fold_csum((__u32)diff) + bpf_skb_cgroup_id(skb) + global_subprog(skb) +
		    weak_subprog(skb->len);
	skb->tstamp = skb->tstamp_type == BPF_SKB_CLOCK_MONOTONIC ? bpf_ktime_get_ns() : 0;
	if (skb->data_end - skb->data < 14)
		return TC_ACT_UNSPEC;
	return bpf_redirect(skb->ifindex, BPF_F_INGRESS) == TC_ACT_REDIRECT ? TC_ACT_REDIRECT
									       : TC_ACT_OK;
}

SEC("cgroup_skb/egress")
int cgroup_skb_prog(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	__u64 *stored = bpf_get_local_storage(&cgroup_storage_map, 0);
	__u64 *per_cpu = bpf_get_local_storage(&percpu_cgroup_storage_map, 0);

	__sync_fetch_and_add(stored, skb->len);
	*per_cpu += 1;
	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);
	if (tp && tp->snd_cwnd < 2 && sk->state == BPF_TCP_ESTABLISHED)
		bpf_printk("small cwnd dport=%u", bpf_ntohs(sk->dst_port));
	return 1;
}

SEC("cgroup/connect4")
int connect4_prog(struct bpf_sock_addr *ctx)
{
	__u64 *count;

	if (ctx->user_family != 2 || ctx->protocol != 6 /* IPPROTO_TCP */)
		return 1;
	if (ctx->user_port == bpf_htons(9))
		return 0;
	count = bpf_sk_storage_get(&sk_storage_map, ctx->sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (count)
		*count = bpf_get_socket_cookie(ctx) ^ bpf_get_netns_cookie(ctx);
	ctx->user_ip4 = bpf_htonl(0x7f000001);
	return 1;
}

SEC("cgroup/sock_create")
int sock_create_prog(struct bpf_sock *sk)
{
	if (sk->family == 10 /* AF_INET6 */ && sk->type == 2 /* SOCK_DGRAM */)
		return 0;
	return sk->bound_dev_if == 0 || sk->mark == 1;
}

SEC("sockops")
int sockops_prog(struct bpf_sock_ops *skops)
{
	__u32 key = skops->local_port;
	int rcvbuf = 1 << 20;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_hash_update(skops, &sockhash, &key, BPF_NOEXIST);
		bpf_sock_map_update(skops, &sockmap, &key, BPF_ANY);
		bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTT_CB_FLAG);
		bpf_setsockopt(skops, 1 /* SOL_SOCKET */, 8 /* SO_RCVBUF */, &rcvbuf, sizeof(rcvbuf));
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			bpf_printk("closed, %u retrans", skops->total_retrans);
		break;
	case BPF_SOCK_OPS_TIMEOUT_INIT:
		skops->reply = 200;
		break;
	}
	return 1;
}

SEC("sk_msg")
int sk_msg_prog(struct sk_msg_md *msg)
{
	__u32 key = msg->remote_port == bpf_htonl(80) ? 0 : 1;

	if (msg->data + 4 > msg->data_end)
		return SK_PASS;
	if (msg->size > 4096)
		return SK_DROP;
	return bpf_msg_redirect_hash(msg, &sockhash, &key, BPF_F_INGRESS);
}

SEC("sk_skb/stream_verdict")
int sk_skb_prog(struct __sk_buff *skb)
{
	__u32 key = skb->local_port & 3;

	return bpf_sk_redirect_map(skb, &sockmap, key, 0);
}

SEC("cgroup/sysctl")
int sysctl_prog(struct bpf_sysctl *ctx)
{
	char name[64];
	char value[16];

	if (bpf_sysctl_get_name(ctx, name, sizeof(name), BPF_F_SYSCTL_BASE_NAME) < 0)
		return 1;
	if (!ctx->write)
		return 1;
	if (bpf_sysctl_get_new_value(ctx, value, sizeof(value)) < 0)
		return 0;
	return bpf_strncmp(name, sizeof(name), "tcp_mem") != 0;
}

SEC("cgroup/dev")
int dev_prog(struct bpf_cgroup_dev_ctx *ctx)
{
	__u32 type = ctx->access_type & 0xffff;
	__u32 access = ctx->access_type >> 16;

	if (type == BPF_DEVCG_DEV_CHAR && ctx->major == 1 && ctx->minor == 3) /* /dev/null */
		return 1;
	return !(access & BPF_DEVCG_ACC_MKNOD);
}

SEC("cgroup/getsockopt")
int getsockopt_prog(struct bpf_sockopt *ctx)
{
	__u8 *optval = ctx->optval;

	if (ctx->level != 6 || ctx->optname != 13 /* TCP_CONGESTION */)
		return 1;
	if (optval + 1 > (__u8 *)ctx->optval_end)
		return 1;
	ctx->retval = 0;
	ctx->optlen = ctx->optlen < 16 ? ctx->optlen : 16;
	return ctx->sk != NULL;
}

SEC("perf_event")
int perf_event_prog(struct bpf_perf_event_data *ctx)
{
	struct bpf_perf_event_value value = {};

	bpf_perf_prog_read_value(ctx, &value, sizeof(value));
	if (value.enabled > value.running && ctx->sample_period > 0)
		bpf_get_stackid(ctx, &stack_traces, 0);
	bpf_printk("ip %lx", ctx->regs.rip);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_tp_prog(struct bpf_raw_tracepoint_args *ctx)
{
	struct bpf_pidns_info ns = {};

	bpf_get_ns_current_pid_tgid(0, 0, &ns, sizeof(ns));
	if (ctx->args[1] == 59 /* execve */ && ns.pid == 1)
		bpf_printk("execve in init: %llu", bpf_get_current_cgroup_id());
	return 0;
}

SEC("flow_dissector")
int flow_prog(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;

	if (keys->n_proto != bpf_htons(0x0800))
		return BPF_FLOW_DISSECTOR_CONTINUE;
	keys->thoff = keys->nhoff + 20;
	keys->ip_proto = 17;
	keys->is_frag = 0;
	return BPF_OK;
}

SEC("sk_lookup")
int sk_lookup_prog(struct bpf_sk_lookup *ctx)
{
	__u32 key = 0;
	struct bpf_sock *sk;
	long err;

	if (ctx->local_port != 7 || ctx->protocol != 6)
		return SK_PASS;
	sk = bpf_map_lookup_elem(&sockmap, &key);
	if (!sk)
		return SK_DROP;
	err = bpf_sk_assign(ctx, sk, BPF_SK_LOOKUP_F_NO_REUSEPORT);
	bpf_sk_release(sk);
	return err ? SK_DROP : SK_PASS;
}

SEC("sk_reuseport")
int reuseport_prog(struct sk_reuseport_md *reuse)
{
	__u32 key = reuse->hash & 3;

	if (reuse->ip_protocol != 17 || reuse->data + 8 > reuse->data_end)
		return SK_PASS;
	if (bpf_sk_select_reuseport(reuse, &reuseport_map, &key, 0))
		return SK_DROP;
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";

/* ---- the 6.18 kernel's values, from /sys/kernel/btf/vmlinux (bpftool btf dump ... format c): the
 * sizes and member offsets of the UAPI structs (pt_regs: x86-64 UAPI member names, the kernel's
 * offsets) and every enum constant bpf.h defines that the kernel's BTF carries ---- */

#define SZ(s, n) _Static_assert(sizeof(struct s) == (n), "sizeof(struct " #s ") != " #n)
#define AT(s, m, o) _Static_assert(offsetof(struct s, m) == (o), "struct " #s ": " #m " not at " #o)
#define EQ(name, value) _Static_assert((name) == (value), #name " != " #value)

SZ(__sk_buff, 192); AT(__sk_buff, len, 0); AT(__sk_buff, pkt_type, 4); AT(__sk_buff, mark, 8);
AT(__sk_buff, queue_mapping, 12); AT(__sk_buff, protocol, 16); AT(__sk_buff, vlan_present, 20);
AT(__sk_buff, vlan_tci, 24); AT(__sk_buff, vlan_proto, 28); AT(__sk_buff, priority, 32);
AT(__sk_buff, ingress_ifindex, 36); AT(__sk_buff, ifindex, 40); AT(__sk_buff, tc_index, 44);
AT(__sk_buff, cb, 48); AT(__sk_buff, hash, 68); AT(__sk_buff, tc_classid, 72);
AT(__sk_buff, data, 76); AT(__sk_buff, data_end, 80); AT(__sk_buff, napi_id, 84);
AT(__sk_buff, family, 88); AT(__sk_buff, remote_ip4, 92); AT(__sk_buff, local_ip4, 96);
AT(__sk_buff, remote_ip6, 100); AT(__sk_buff, local_ip6, 116); AT(__sk_buff, remote_port, 132);
AT(__sk_buff, local_port, 136); AT(__sk_buff, data_meta, 140); AT(__sk_buff, flow_keys, 144);
AT(__sk_buff, tstamp, 152); AT(__sk_buff, wire_len, 160); AT(__sk_buff, gso_segs, 164);
AT(__sk_buff, sk, 168); AT(__sk_buff, gso_size, 176); AT(__sk_buff, tstamp_type, 180);
AT(__sk_buff, hwtstamp, 184); SZ(bpf_tunnel_key, 44); AT(bpf_tunnel_key, tunnel_id, 0);
AT(bpf_tunnel_key, remote_ipv4, 4); AT(bpf_tunnel_key, remote_ipv6, 4);
AT(bpf_tunnel_key, tunnel_tos, 20); AT(bpf_tunnel_key, tunnel_ttl, 21);
AT(bpf_tunnel_key, tunnel_ext, 22); AT(bpf_tunnel_key, tunnel_flags, 22);
AT(bpf_tunnel_key, tunnel_label, 24); AT(bpf_tunnel_key, local_ipv4, 28);
AT(bpf_tunnel_key, local_ipv6, 28); SZ(bpf_xfrm_state, 28); AT(bpf_xfrm_state, reqid, 0);
AT(bpf_xfrm_state, spi, 4); AT(bpf_xfrm_state, family, 8); AT(bpf_xfrm_state, ext, 10);
AT(bpf_xfrm_state, remote_ipv4, 12); AT(bpf_xfrm_state, remote_ipv6, 12); SZ(bpf_sock, 80);
AT(bpf_sock, bound_dev_if, 0); AT(bpf_sock, family, 4); AT(bpf_sock, type, 8);
AT(bpf_sock, protocol, 12); AT(bpf_sock, mark, 16); AT(bpf_sock, priority, 20);
AT(bpf_sock, src_ip4, 24); AT(bpf_sock, src_ip6, 28); AT(bpf_sock, src_port, 44);
AT(bpf_sock, dst_port, 48); AT(bpf_sock, dst_ip4, 52); AT(bpf_sock, dst_ip6, 56);
AT(bpf_sock, state, 72); AT(bpf_sock, rx_queue_mapping, 76); SZ(bpf_tcp_sock, 112);
AT(bpf_tcp_sock, snd_cwnd, 0); AT(bpf_tcp_sock, srtt_us, 4); AT(bpf_tcp_sock, rtt_min, 8);
AT(bpf_tcp_sock, snd_ssthresh, 12); AT(bpf_tcp_sock, rcv_nxt, 16); AT(bpf_tcp_sock, snd_nxt, 20);
AT(bpf_tcp_sock, snd_una, 24); AT(bpf_tcp_sock, mss_cache, 28); AT(bpf_tcp_sock, ecn_flags, 32);
AT(bpf_tcp_sock, rate_delivered, 36); AT(bpf_tcp_sock, rate_interval_us, 40);
AT(bpf_tcp_sock, packets_out, 44); AT(bpf_tcp_sock, retrans_out, 48);
AT(bpf_tcp_sock, total_retrans, 52); AT(bpf_tcp_sock, segs_in, 56);
AT(bpf_tcp_sock, data_segs_in, 60); AT(bpf_tcp_sock, segs_out, 64);
AT(bpf_tcp_sock, data_segs_out, 68); AT(bpf_tcp_sock, lost_out, 72);
AT(bpf_tcp_sock, sacked_out, 76); AT(bpf_tcp_sock, bytes_received, 80);
AT(bpf_tcp_sock, bytes_acked, 88); AT(bpf_tcp_sock, dsack_dups, 96);
AT(bpf_tcp_sock, delivered, 100); AT(bpf_tcp_sock, delivered_ce, 104);
AT(bpf_tcp_sock, icsk_retransmits, 108); SZ(bpf_sock_tuple, 36); AT(bpf_sock_tuple, ipv4.saddr, 0);
AT(bpf_sock_tuple, ipv4.daddr, 4); AT(bpf_sock_tuple, ipv4.sport, 8);
AT(bpf_sock_tuple, ipv4.dport, 10); AT(bpf_sock_tuple, ipv6.saddr, 0);
AT(bpf_sock_tuple, ipv6.daddr, 16); AT(bpf_sock_tuple, ipv6.sport, 32);
AT(bpf_sock_tuple, ipv6.dport, 34); SZ(bpf_xdp_sock, 4); AT(bpf_xdp_sock, queue_id, 0);
SZ(xdp_md, 24); AT(xdp_md, data, 0); AT(xdp_md, data_end, 4); AT(xdp_md, data_meta, 8);
AT(xdp_md, ingress_ifindex, 12); AT(xdp_md, rx_queue_index, 16); AT(xdp_md, egress_ifindex, 20);
SZ(bpf_devmap_val, 8); AT(bpf_devmap_val, ifindex, 0); AT(bpf_devmap_val, bpf_prog.fd, 4);
AT(bpf_devmap_val, bpf_prog.id, 4); SZ(bpf_cpumap_val, 8); AT(bpf_cpumap_val, qsize, 0);
AT(bpf_cpumap_val, bpf_prog.fd, 4); AT(bpf_cpumap_val, bpf_prog.id, 4); SZ(sk_msg_md, 80);
AT(sk_msg_md, data, 0); AT(sk_msg_md, data_end, 8); AT(sk_msg_md, family, 16);
AT(sk_msg_md, remote_ip4, 20); AT(sk_msg_md, local_ip4, 24); AT(sk_msg_md, remote_ip6, 28);
AT(sk_msg_md, local_ip6, 44); AT(sk_msg_md, remote_port, 60); AT(sk_msg_md, local_port, 64);
AT(sk_msg_md, size, 68); AT(sk_msg_md, sk, 72); SZ(sk_reuseport_md, 56);
AT(sk_reuseport_md, data, 0); AT(sk_reuseport_md, data_end, 8); AT(sk_reuseport_md, len, 16);
AT(sk_reuseport_md, eth_protocol, 20); AT(sk_reuseport_md, ip_protocol, 24);
AT(sk_reuseport_md, bind_inany, 28); AT(sk_reuseport_md, hash, 32); AT(sk_reuseport_md, sk, 40);
AT(sk_reuseport_md, migrating_sk, 48); SZ(bpf_sock_addr, 72); AT(bpf_sock_addr, user_family, 0);
AT(bpf_sock_addr, user_ip4, 4); AT(bpf_sock_addr, user_ip6, 8); AT(bpf_sock_addr, user_port, 24);
AT(bpf_sock_addr, family, 28); AT(bpf_sock_addr, type, 32); AT(bpf_sock_addr, protocol, 36);
AT(bpf_sock_addr, msg_src_ip4, 40); AT(bpf_sock_addr, msg_src_ip6, 44); AT(bpf_sock_addr, sk, 64);
SZ(bpf_sock_ops, 224); AT(bpf_sock_ops, op, 0); AT(bpf_sock_ops, args, 4);
AT(bpf_sock_ops, reply, 4); AT(bpf_sock_ops, replylong, 4); AT(bpf_sock_ops, family, 20);
AT(bpf_sock_ops, remote_ip4, 24); AT(bpf_sock_ops, local_ip4, 28); AT(bpf_sock_ops, remote_ip6, 32);
AT(bpf_sock_ops, local_ip6, 48); AT(bpf_sock_ops, remote_port, 64);
AT(bpf_sock_ops, local_port, 68); AT(bpf_sock_ops, is_fullsock, 72); AT(bpf_sock_ops, snd_cwnd, 76);
AT(bpf_sock_ops, srtt_us, 80); AT(bpf_sock_ops, bpf_sock_ops_cb_flags, 84);
AT(bpf_sock_ops, state, 88); AT(bpf_sock_ops, rtt_min, 92); AT(bpf_sock_ops, snd_ssthresh, 96);
AT(bpf_sock_ops, rcv_nxt, 100); AT(bpf_sock_ops, snd_nxt, 104); AT(bpf_sock_ops, snd_una, 108);
AT(bpf_sock_ops, mss_cache, 112); AT(bpf_sock_ops, ecn_flags, 116);
AT(bpf_sock_ops, rate_delivered, 120); AT(bpf_sock_ops, rate_interval_us, 124);
AT(bpf_sock_ops, packets_out, 128); AT(bpf_sock_ops, retrans_out, 132);
AT(bpf_sock_ops, total_retrans, 136); AT(bpf_sock_ops, segs_in, 140);
AT(bpf_sock_ops, data_segs_in, 144); AT(bpf_sock_ops, segs_out, 148);
AT(bpf_sock_ops, data_segs_out, 152); AT(bpf_sock_ops, lost_out, 156);
AT(bpf_sock_ops, sacked_out, 160); AT(bpf_sock_ops, sk_txhash, 164);
AT(bpf_sock_ops, bytes_received, 168); AT(bpf_sock_ops, bytes_acked, 176);
AT(bpf_sock_ops, sk, 184); AT(bpf_sock_ops, skb_data, 192); AT(bpf_sock_ops, skb_data_end, 200);
AT(bpf_sock_ops, skb_len, 208); AT(bpf_sock_ops, skb_tcp_flags, 212);
AT(bpf_sock_ops, skb_hwtstamp, 216); SZ(bpf_perf_event_value, 24);
AT(bpf_perf_event_value, counter, 0); AT(bpf_perf_event_value, enabled, 8);
AT(bpf_perf_event_value, running, 16); SZ(bpf_cgroup_dev_ctx, 12);
AT(bpf_cgroup_dev_ctx, access_type, 0); AT(bpf_cgroup_dev_ctx, major, 4);
AT(bpf_cgroup_dev_ctx, minor, 8); SZ(bpf_raw_tracepoint_args, 0);
AT(bpf_raw_tracepoint_args, args, 0); SZ(bpf_fib_lookup, 64); AT(bpf_fib_lookup, family, 0);
AT(bpf_fib_lookup, l4_protocol, 1); AT(bpf_fib_lookup, sport, 2); AT(bpf_fib_lookup, dport, 4);
AT(bpf_fib_lookup, tot_len, 6); AT(bpf_fib_lookup, mtu_result, 6); AT(bpf_fib_lookup, ifindex, 8);
AT(bpf_fib_lookup, tos, 12); AT(bpf_fib_lookup, flowinfo, 12); AT(bpf_fib_lookup, rt_metric, 12);
AT(bpf_fib_lookup, ipv4_src, 16); AT(bpf_fib_lookup, ipv6_src, 16);
AT(bpf_fib_lookup, ipv4_dst, 32); AT(bpf_fib_lookup, ipv6_dst, 32);
AT(bpf_fib_lookup, h_vlan_proto, 48); AT(bpf_fib_lookup, h_vlan_TCI, 50);
AT(bpf_fib_lookup, tbid, 48); AT(bpf_fib_lookup, mark, 52); AT(bpf_fib_lookup, smac, 52);
AT(bpf_fib_lookup, dmac, 58); SZ(bpf_redir_neigh, 20); AT(bpf_redir_neigh, nh_family, 0);
AT(bpf_redir_neigh, ipv4_nh, 4); AT(bpf_redir_neigh, ipv6_nh, 4); SZ(bpf_flow_keys, 56);
AT(bpf_flow_keys, nhoff, 0); AT(bpf_flow_keys, thoff, 2); AT(bpf_flow_keys, addr_proto, 4);
AT(bpf_flow_keys, is_frag, 6); AT(bpf_flow_keys, is_first_frag, 7); AT(bpf_flow_keys, is_encap, 8);
AT(bpf_flow_keys, ip_proto, 9); AT(bpf_flow_keys, n_proto, 10); AT(bpf_flow_keys, sport, 12);
AT(bpf_flow_keys, dport, 14); AT(bpf_flow_keys, ipv4_src, 16); AT(bpf_flow_keys, ipv4_dst, 20);
AT(bpf_flow_keys, ipv6_src, 16); AT(bpf_flow_keys, ipv6_dst, 32); AT(bpf_flow_keys, flags, 48);
AT(bpf_flow_keys, flow_label, 52); SZ(bpf_spin_lock, 4); AT(bpf_spin_lock, val, 0);
SZ(bpf_timer, 16); AT(bpf_timer, __opaque, 0); SZ(bpf_wq, 16); AT(bpf_wq, __opaque, 0);
SZ(bpf_dynptr, 16); AT(bpf_dynptr, __opaque, 0); SZ(bpf_list_head, 16);
AT(bpf_list_head, __opaque, 0); SZ(bpf_list_node, 24); AT(bpf_list_node, __opaque, 0);
SZ(bpf_rb_root, 16); AT(bpf_rb_root, __opaque, 0); SZ(bpf_rb_node, 32);
AT(bpf_rb_node, __opaque, 0); SZ(bpf_refcount, 4); AT(bpf_refcount, __opaque, 0);
SZ(bpf_iter_num, 8); AT(bpf_iter_num, __opaque, 0); SZ(bpf_sysctl, 8); AT(bpf_sysctl, write, 0);
AT(bpf_sysctl, file_pos, 4); SZ(bpf_sockopt, 40); AT(bpf_sockopt, sk, 0);
AT(bpf_sockopt, optval, 8); AT(bpf_sockopt, optval_end, 16); AT(bpf_sockopt, level, 24);
AT(bpf_sockopt, optname, 28); AT(bpf_sockopt, optlen, 32); AT(bpf_sockopt, retval, 36);
SZ(bpf_pidns_info, 8); AT(bpf_pidns_info, pid, 0); AT(bpf_pidns_info, tgid, 4);
SZ(bpf_sk_lookup, 72); AT(bpf_sk_lookup, sk, 0); AT(bpf_sk_lookup, cookie, 0);
AT(bpf_sk_lookup, family, 8); AT(bpf_sk_lookup, protocol, 12); AT(bpf_sk_lookup, remote_ip4, 16);
AT(bpf_sk_lookup, remote_ip6, 20); AT(bpf_sk_lookup, remote_port, 36);
AT(bpf_sk_lookup, local_ip4, 40); AT(bpf_sk_lookup, local_ip6, 44);
AT(bpf_sk_lookup, local_port, 60); AT(bpf_sk_lookup, ingress_ifindex, 64); SZ(btf_ptr, 16);
AT(btf_ptr, ptr, 0); AT(btf_ptr, type_id, 8); AT(btf_ptr, flags, 12); SZ(bpf_perf_event_data, 184);
AT(bpf_perf_event_data, regs, 0); AT(bpf_perf_event_data, sample_period, 168);
AT(bpf_perf_event_data, addr, 176); SZ(pt_regs, 168); AT(pt_regs, r15, 0); AT(pt_regs, r14, 8);
AT(pt_regs, r13, 16); AT(pt_regs, r12, 24); AT(pt_regs, rbp, 32); AT(pt_regs, rbx, 40);
AT(pt_regs, r11, 48); AT(pt_regs, r10, 56); AT(pt_regs, r9, 64); AT(pt_regs, r8, 72);
AT(pt_regs, rax, 80); AT(pt_regs, rcx, 88); AT(pt_regs, rdx, 96); AT(pt_regs, rsi, 104);
AT(pt_regs, rdi, 112); AT(pt_regs, orig_rax, 120); AT(pt_regs, rip, 128); AT(pt_regs, cs, 136);
AT(pt_regs, eflags, 144); AT(pt_regs, rsp, 152); AT(pt_regs, ss, 160); SZ(bpf_stack_build_id, 32);
AT(bpf_stack_build_id, status, 0); AT(bpf_stack_build_id, build_id, 4);
AT(bpf_stack_build_id, offset, 24); AT(bpf_stack_build_id, ip, 24); SZ(bpf_lpm_trie_key_u8, 4);
AT(bpf_lpm_trie_key_u8, hdr, 0); AT(bpf_lpm_trie_key_u8, prefixlen, 0);
AT(bpf_lpm_trie_key_u8, data, 4); SZ(bpf_lpm_trie_key_hdr, 4);
AT(bpf_lpm_trie_key_hdr, prefixlen, 0); SZ(bpf_cgroup_storage_key, 16);
AT(bpf_cgroup_storage_key, cgroup_inode_id, 0); AT(bpf_cgroup_storage_key, attach_type, 8);

EQ(BPF_MAP_TYPE_UNSPEC, 0); EQ(BPF_MAP_TYPE_HASH, 1); EQ(BPF_MAP_TYPE_ARRAY, 2);
EQ(BPF_MAP_TYPE_PROG_ARRAY, 3); EQ(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4);
EQ(BPF_MAP_TYPE_PERCPU_HASH, 5); EQ(BPF_MAP_TYPE_PERCPU_ARRAY, 6); EQ(BPF_MAP_TYPE_STACK_TRACE, 7);
EQ(BPF_MAP_TYPE_CGROUP_ARRAY, 8); EQ(BPF_MAP_TYPE_LRU_HASH, 9);
EQ(BPF_MAP_TYPE_LRU_PERCPU_HASH, 10); EQ(BPF_MAP_TYPE_LPM_TRIE, 11);
EQ(BPF_MAP_TYPE_ARRAY_OF_MAPS, 12); EQ(BPF_MAP_TYPE_HASH_OF_MAPS, 13); EQ(BPF_MAP_TYPE_DEVMAP, 14);
EQ(BPF_MAP_TYPE_SOCKMAP, 15); EQ(BPF_MAP_TYPE_CPUMAP, 16); EQ(BPF_MAP_TYPE_XSKMAP, 17);
EQ(BPF_MAP_TYPE_SOCKHASH, 18); EQ(BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED, 19);
EQ(BPF_MAP_TYPE_CGROUP_STORAGE, 19); EQ(BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, 20);
EQ(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED, 21); EQ(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, 21);
EQ(BPF_MAP_TYPE_QUEUE, 22); EQ(BPF_MAP_TYPE_STACK, 23); EQ(BPF_MAP_TYPE_SK_STORAGE, 24);
EQ(BPF_MAP_TYPE_DEVMAP_HASH, 25); EQ(BPF_MAP_TYPE_STRUCT_OPS, 26); EQ(BPF_MAP_TYPE_RINGBUF, 27);
EQ(BPF_MAP_TYPE_INODE_STORAGE, 28); EQ(BPF_MAP_TYPE_TASK_STORAGE, 29);
EQ(BPF_MAP_TYPE_BLOOM_FILTER, 30); EQ(BPF_MAP_TYPE_USER_RINGBUF, 31);
EQ(BPF_MAP_TYPE_CGRP_STORAGE, 32); EQ(BPF_MAP_TYPE_ARENA, 33); EQ(BPF_ANY, 0); EQ(BPF_NOEXIST, 1);
EQ(BPF_EXIST, 2); EQ(BPF_F_LOCK, 4); EQ(BPF_F_NO_PREALLOC, 1); EQ(BPF_F_NO_COMMON_LRU, 2);
EQ(BPF_F_NUMA_NODE, 4); EQ(BPF_F_RDONLY, 8); EQ(BPF_F_WRONLY, 16); EQ(BPF_F_STACK_BUILD_ID, 32);
EQ(BPF_F_ZERO_SEED, 64); EQ(BPF_F_RDONLY_PROG, 128); EQ(BPF_F_WRONLY_PROG, 256);
EQ(BPF_F_CLONE, 512); EQ(BPF_F_MMAPABLE, 1024); EQ(BPF_F_PRESERVE_ELEMS, 2048);
EQ(BPF_F_INNER_MAP, 4096); EQ(BPF_F_LINK, 8192); EQ(BPF_F_PATH_FD, 16384);
EQ(BPF_F_VTYPE_BTF_OBJ_FD, 32768); EQ(BPF_F_TOKEN_FD, 65536); EQ(BPF_F_SEGV_ON_FAULT, 131072);
EQ(BPF_F_NO_USER_CONV, 262144); EQ(BPF_STACK_BUILD_ID_EMPTY, 0); EQ(BPF_STACK_BUILD_ID_VALID, 1);
EQ(BPF_STACK_BUILD_ID_IP, 2); EQ(BPF_F_RECOMPUTE_CSUM, 1); EQ(BPF_F_INVALIDATE_HASH, 2);
EQ(BPF_F_HDR_FIELD_MASK, 15); EQ(BPF_F_PSEUDO_HDR, 16); EQ(BPF_F_MARK_MANGLED_0, 32);
EQ(BPF_F_MARK_ENFORCE, 64); EQ(BPF_F_IPV6, 128); EQ(BPF_F_TUNINFO_IPV6, 1);
EQ(BPF_F_SKIP_FIELD_MASK, 255); EQ(BPF_F_USER_STACK, 256); EQ(BPF_F_FAST_STACK_CMP, 512);
EQ(BPF_F_REUSE_STACKID, 1024); EQ(BPF_F_USER_BUILD_ID, 2048); EQ(BPF_F_ZERO_CSUM_TX, 2);
EQ(BPF_F_DONT_FRAGMENT, 4); EQ(BPF_F_SEQ_NUMBER, 8); EQ(BPF_F_NO_TUNNEL_KEY, 16);
EQ(BPF_F_TUNINFO_FLAGS, 16); EQ(BPF_F_INDEX_MASK, 4294967295ULL);
EQ(BPF_F_CURRENT_CPU, 4294967295ULL); EQ(BPF_F_CTXLEN_MASK, 4503595332403200ULL);
EQ(BPF_F_CURRENT_NETNS, -1); EQ(BPF_CSUM_LEVEL_QUERY, 0); EQ(BPF_CSUM_LEVEL_INC, 1);
EQ(BPF_CSUM_LEVEL_DEC, 2); EQ(BPF_CSUM_LEVEL_RESET, 3); EQ(BPF_F_ADJ_ROOM_FIXED_GSO, 1);
EQ(BPF_F_ADJ_ROOM_ENCAP_L3_IPV4, 2); EQ(BPF_F_ADJ_ROOM_ENCAP_L3_IPV6, 4);
EQ(BPF_F_ADJ_ROOM_ENCAP_L4_GRE, 8); EQ(BPF_F_ADJ_ROOM_ENCAP_L4_UDP, 16);
EQ(BPF_F_ADJ_ROOM_NO_CSUM_RESET, 32); EQ(BPF_F_ADJ_ROOM_ENCAP_L2_ETH, 64);
EQ(BPF_F_ADJ_ROOM_DECAP_L3_IPV4, 128); EQ(BPF_F_ADJ_ROOM_DECAP_L3_IPV6, 256);
EQ(BPF_ADJ_ROOM_ENCAP_L2_MASK, 255); EQ(BPF_ADJ_ROOM_ENCAP_L2_SHIFT, 56);
EQ(BPF_F_SYSCTL_BASE_NAME, 1); EQ(BPF_LOCAL_STORAGE_GET_F_CREATE, 1);
EQ(BPF_SK_STORAGE_GET_F_CREATE, 1); EQ(BPF_F_GET_BRANCH_RECORDS_SIZE, 1); EQ(BPF_RB_NO_WAKEUP, 1);
EQ(BPF_RB_FORCE_WAKEUP, 2); EQ(BPF_RB_AVAIL_DATA, 0); EQ(BPF_RB_RING_SIZE, 1);
EQ(BPF_RB_CONS_POS, 2); EQ(BPF_RB_PROD_POS, 3); EQ(BPF_RINGBUF_BUSY_BIT, 2147483648ULL);
EQ(BPF_RINGBUF_DISCARD_BIT, 1073741824); EQ(BPF_RINGBUF_HDR_SZ, 8); EQ(BPF_SK_LOOKUP_F_REPLACE, 1);
EQ(BPF_SK_LOOKUP_F_NO_REUSEPORT, 2); EQ(BPF_ADJ_ROOM_NET, 0); EQ(BPF_ADJ_ROOM_MAC, 1);
EQ(BPF_HDR_START_MAC, 0); EQ(BPF_HDR_START_NET, 1); EQ(BPF_LWT_ENCAP_SEG6, 0);
EQ(BPF_LWT_ENCAP_SEG6_INLINE, 1); EQ(BPF_LWT_ENCAP_IP, 2); EQ(BPF_F_BPRM_SECUREEXEC, 1);
EQ(BPF_F_INGRESS, 1); EQ(BPF_F_BROADCAST, 8); EQ(BPF_F_EXCLUDE_INGRESS, 16);
EQ(BPF_SKB_TSTAMP_UNSPEC, 0); EQ(BPF_SKB_TSTAMP_DELIVERY_MONO, 1); EQ(BPF_SKB_CLOCK_REALTIME, 0);
EQ(BPF_SKB_CLOCK_MONOTONIC, 1); EQ(BPF_SKB_CLOCK_TAI, 2); EQ(BPF_F_TIMER_ABS, 1);
EQ(BPF_F_TIMER_CPU_PIN, 2); EQ(BPF_F_PAD_ZEROS, 1); EQ(BTF_F_COMPACT, 1); EQ(BTF_F_NONAME, 2);
EQ(BTF_F_PTR_RAW, 4); EQ(BTF_F_ZERO, 8); EQ(BPF_STDOUT, 1); EQ(BPF_STDERR, 2); EQ(BPF_OK, 0);
EQ(BPF_DROP, 2); EQ(BPF_REDIRECT, 7); EQ(BPF_LWT_REROUTE, 128);
EQ(BPF_FLOW_DISSECTOR_CONTINUE, 129); EQ(TCX_NEXT, -1); EQ(TCX_PASS, 0); EQ(TCX_DROP, 2);
EQ(TCX_REDIRECT, 7); EQ(XDP_ABORTED, 0); EQ(XDP_DROP, 1); EQ(XDP_PASS, 2); EQ(XDP_TX, 3);
EQ(XDP_REDIRECT, 4); EQ(SK_DROP, 0); EQ(SK_PASS, 1); EQ(BPF_SOCK_OPS_RTO_CB_FLAG, 1);
EQ(BPF_SOCK_OPS_RETRANS_CB_FLAG, 2); EQ(BPF_SOCK_OPS_STATE_CB_FLAG, 4);
EQ(BPF_SOCK_OPS_RTT_CB_FLAG, 8); EQ(BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG, 16);
EQ(BPF_SOCK_OPS_PARSE_UNKNOWN_HDR_OPT_CB_FLAG, 32); EQ(BPF_SOCK_OPS_WRITE_HDR_OPT_CB_FLAG, 64);
EQ(BPF_SOCK_OPS_ALL_CB_FLAGS, 127); EQ(BPF_SOCK_OPS_VOID, 0); EQ(BPF_SOCK_OPS_TIMEOUT_INIT, 1);
EQ(BPF_SOCK_OPS_RWND_INIT, 2); EQ(BPF_SOCK_OPS_TCP_CONNECT_CB, 3);
EQ(BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB, 4); EQ(BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB, 5);
EQ(BPF_SOCK_OPS_NEEDS_ECN, 6); EQ(BPF_SOCK_OPS_BASE_RTT, 7); EQ(BPF_SOCK_OPS_RTO_CB, 8);
EQ(BPF_SOCK_OPS_RETRANS_CB, 9); EQ(BPF_SOCK_OPS_STATE_CB, 10); EQ(BPF_SOCK_OPS_TCP_LISTEN_CB, 11);
EQ(BPF_SOCK_OPS_RTT_CB, 12); EQ(BPF_SOCK_OPS_PARSE_HDR_OPT_CB, 13);
EQ(BPF_SOCK_OPS_HDR_OPT_LEN_CB, 14); EQ(BPF_SOCK_OPS_WRITE_HDR_OPT_CB, 15);
EQ(BPF_SOCK_OPS_TSTAMP_SCHED_CB, 16); EQ(BPF_SOCK_OPS_TSTAMP_SND_SW_CB, 17);
EQ(BPF_SOCK_OPS_TSTAMP_SND_HW_CB, 18); EQ(BPF_SOCK_OPS_TSTAMP_ACK_CB, 19);
EQ(BPF_SOCK_OPS_TSTAMP_SENDMSG_CB, 20); EQ(BPF_TCP_ESTABLISHED, 1); EQ(BPF_TCP_SYN_SENT, 2);
EQ(BPF_TCP_SYN_RECV, 3); EQ(BPF_TCP_FIN_WAIT1, 4); EQ(BPF_TCP_FIN_WAIT2, 5);
EQ(BPF_TCP_TIME_WAIT, 6); EQ(BPF_TCP_CLOSE, 7); EQ(BPF_TCP_CLOSE_WAIT, 8); EQ(BPF_TCP_LAST_ACK, 9);
EQ(BPF_TCP_LISTEN, 10); EQ(BPF_TCP_CLOSING, 11); EQ(BPF_TCP_NEW_SYN_RECV, 12);
EQ(BPF_TCP_BOUND_INACTIVE, 13); EQ(BPF_TCP_MAX_STATES, 14); EQ(TCP_BPF_IW, 1001);
EQ(TCP_BPF_SNDCWND_CLAMP, 1002); EQ(TCP_BPF_DELACK_MAX, 1003); EQ(TCP_BPF_RTO_MIN, 1004);
EQ(TCP_BPF_SYN, 1005); EQ(TCP_BPF_SYN_IP, 1006); EQ(TCP_BPF_SYN_MAC, 1007);
EQ(TCP_BPF_SOCK_OPS_CB_FLAGS, 1008); EQ(SK_BPF_CB_FLAGS, 1009); EQ(SK_BPF_CB_TX_TIMESTAMPING, 1);
EQ(SK_BPF_CB_MASK, 1); EQ(BPF_LOAD_HDR_OPT_TCP_SYN, 1); EQ(BPF_WRITE_HDR_TCP_CURRENT_MSS, 1);
EQ(BPF_WRITE_HDR_TCP_SYNACK_COOKIE, 2); EQ(BPF_FIB_LOOKUP_DIRECT, 1); EQ(BPF_FIB_LOOKUP_OUTPUT, 2);
EQ(BPF_FIB_LOOKUP_SKIP_NEIGH, 4); EQ(BPF_FIB_LOOKUP_TBID, 8); EQ(BPF_FIB_LOOKUP_SRC, 16);
EQ(BPF_FIB_LOOKUP_MARK, 32); EQ(BPF_FIB_LKUP_RET_SUCCESS, 0); EQ(BPF_FIB_LKUP_RET_BLACKHOLE, 1);
EQ(BPF_FIB_LKUP_RET_UNREACHABLE, 2); EQ(BPF_FIB_LKUP_RET_PROHIBIT, 3);
EQ(BPF_FIB_LKUP_RET_NOT_FWDED, 4); EQ(BPF_FIB_LKUP_RET_FWD_DISABLED, 5);
EQ(BPF_FIB_LKUP_RET_UNSUPP_LWT, 6); EQ(BPF_FIB_LKUP_RET_NO_NEIGH, 7);
EQ(BPF_FIB_LKUP_RET_FRAG_NEEDED, 8); EQ(BPF_FIB_LKUP_RET_NO_SRC_ADDR, 9); EQ(BPF_MTU_CHK_SEGS, 1);
EQ(BPF_MTU_CHK_RET_SUCCESS, 0); EQ(BPF_MTU_CHK_RET_FRAG_NEEDED, 1);
EQ(BPF_MTU_CHK_RET_SEGS_TOOBIG, 2); EQ(BPF_FD_TYPE_RAW_TRACEPOINT, 0);
EQ(BPF_FD_TYPE_TRACEPOINT, 1); EQ(BPF_FD_TYPE_KPROBE, 2); EQ(BPF_FD_TYPE_KRETPROBE, 3);
EQ(BPF_FD_TYPE_UPROBE, 4); EQ(BPF_FD_TYPE_URETPROBE, 5); EQ(BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG, 1);
EQ(BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL, 2); EQ(BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP, 4);
