// A TCP congestion control in BPF: Reno, through the kernel's own tcp_reno_* kfuncs, counting
// what the TCP stack asks of it. Registered by main.cpp through a struct_ops link (by its map
// value before 6.4); a socket picks it with setsockopt(TCP_CONGESTION, "ebpfpp_reno").
//
// Models (read, not copied): the kernel's tools/testing/selftests/bpf/progs/bpf_cubic.c and
// tcp_ca_*.c. The kernel requires ssthresh, undo_cwnd and cong_avoid (or cong_control)
// (net/ipv4/tcp_cong.c tcp_validate_congestion_control).
#include <ebpfpp/bpf.h>

#include "tcp_cc.h"

#define __core __attribute__((preserve_access_index))

// A struct, not a forward declaration: the loader checks each kfunc extern's prototype against
// the kernel's, and a pointer to a forward declaration does not match a pointer to a struct
// (libbpf's __bpf_core_types_are_compat compares kinds too). Its members are never accessed.
struct sock {
	int __unused;
};

// The struct_ops verifier hands members a struct sock * that it promotes to struct tcp_sock
// (net/ipv4/bpf_tcp_ca.c bpf_tcp_ca_is_valid_access): read the window through CO-RE.
struct tcp_sock___cc {
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
} __core;

// Only the members this congestion control sets; the loader places them by name in the kernel's
// struct tcp_congestion_ops, whose layout differs.
struct tcp_congestion_ops {
	void (*init)(struct sock *sk);
	void (*release)(struct sock *sk);
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	char name[16];
};

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

struct tcp_cc_stats stats;

// struct_ops programs receive the member's arguments as an array of u64.
SEC("struct_ops/reno_init")
void reno_init(unsigned long long *ctx) {
	__sync_fetch_and_add(&stats.init, 1);
}

SEC("struct_ops/reno_release")
void reno_release(unsigned long long *ctx) {
	__sync_fetch_and_add(&stats.release, 1);
}

SEC("struct_ops/reno_ssthresh")
__u32 reno_ssthresh(unsigned long long *ctx) {
	__sync_fetch_and_add(&stats.ssthresh, 1);
	return tcp_reno_ssthresh((struct sock *)ctx[0]);
}

SEC("struct_ops/reno_cong_avoid")
void reno_cong_avoid(unsigned long long *ctx) {
	struct sock *sk = (struct sock *)ctx[0];
	__u32 acked = (__u32)ctx[2];
	__sync_fetch_and_add(&stats.cong_avoid, 1);
	__sync_fetch_and_add(&stats.acked, acked);
	tcp_reno_cong_avoid(sk, (__u32)ctx[1], acked);
	__u32 cwnd = ((struct tcp_sock___cc *)sk)->snd_cwnd;
	if (cwnd > stats.max_cwnd) stats.max_cwnd = cwnd;
}

SEC("struct_ops/reno_undo_cwnd")
__u32 reno_undo_cwnd(unsigned long long *ctx) {
	return tcp_reno_undo_cwnd((struct sock *)ctx[0]);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops ebpfpp_reno = {
	.init = (void *)reno_init,
	.release = (void *)reno_release,
	.ssthresh = (void *)reno_ssthresh,
	.cong_avoid = (void *)reno_cong_avoid,
	.undo_cwnd = (void *)reno_undo_cwnd,
	.name = TCP_CC_NAME,
};

EBPFPP_LICENSE("GPL");
