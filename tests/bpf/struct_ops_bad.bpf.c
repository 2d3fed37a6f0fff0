// A struct_ops variable whose member points to a program that is not a struct_ops program:
// object_spec::parse must refuse it naming both (tests/unit/struct_ops_test.cpp).
#include <ebpfpp/bpf.h>

struct sock {
	int __unused;
};

struct tcp_congestion_ops {
	void (*init)(struct sock *sk);
	char name[16];
};

SEC("xdp")
int not_a_member(void *ctx) {
	return 2;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops bad_cc = {
	.init = (void *)not_a_member,
	.name = "bad_cc",
};

EBPFPP_LICENSE("GPL");
