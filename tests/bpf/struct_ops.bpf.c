// struct_ops programs for tests/integration/attach_iter_struct_ops_test.cpp: a TCP congestion
// control built on the kernel's Reno kfuncs, counting its calls into globals, registered three
// ways: a .struct_ops.link map (test_cc), a second one of the same name for link update
// (test_cc_v2, its own init), and a .struct_ops map registered by update_elem (test_cc_legacy).
#include <ebpfpp/bpf.h>

// A struct, not a forward declaration: the loader checks each kfunc extern's prototype against
// the kernel's, and a pointer to a forward declaration does not match a pointer to a struct
// (libbpf's __bpf_core_types_are_compat compares kinds too). Its members are never accessed.
struct sock {
	int __unused;
};

// The members this object sets; the kernel's struct has more, at other offsets (the loader
// places these by name).
struct tcp_congestion_ops {
	void (*init)(struct sock *sk);
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	__u32 flags;
	char name[16];
};

extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

__u64 init_calls;
__u64 init_v2_calls;
__u64 cong_avoid_calls;
__u64 ssthresh_calls;

// struct_ops programs get the member's arguments as an array of u64.
SEC("struct_ops/cc_init")
void cc_init(unsigned long long *ctx) {
	__sync_fetch_and_add(&init_calls, 1);
}

SEC("struct_ops/cc_init_v2")
void cc_init_v2(unsigned long long *ctx) {
	__sync_fetch_and_add(&init_v2_calls, 1);
}

SEC("struct_ops/cc_ssthresh")
__u32 cc_ssthresh(unsigned long long *ctx) {
	__sync_fetch_and_add(&ssthresh_calls, 1);
	return tcp_reno_ssthresh((struct sock *)ctx[0]);
}

SEC("struct_ops/cc_cong_avoid")
void cc_cong_avoid(unsigned long long *ctx) {
	__sync_fetch_and_add(&cong_avoid_calls, 1);
	tcp_reno_cong_avoid((struct sock *)ctx[0], (__u32)ctx[1], (__u32)ctx[2]);
}

SEC("struct_ops/cc_undo_cwnd")
__u32 cc_undo_cwnd(unsigned long long *ctx) {
	return tcp_reno_undo_cwnd((struct sock *)ctx[0]);
}

// Not named by any struct_ops variable: the loader leaves it out.
SEC("struct_ops/cc_unused")
void cc_unused(unsigned long long *ctx) {
}

SEC(".struct_ops.link")
struct tcp_congestion_ops test_cc = {
	.init = (void *)cc_init,
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "ebpfpp_test_cc",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops test_cc_v2 = {
	.init = (void *)cc_init_v2,
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "ebpfpp_test_cc",
};

SEC(".struct_ops")
struct tcp_congestion_ops test_cc_legacy = {
	.init = (void *)cc_init,
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "ebpfpp_test_old",
};

EBPFPP_LICENSE("GPL");
