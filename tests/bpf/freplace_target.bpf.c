// The target of the freplace test (tests/integration/attach_tracing_test.cpp): an XDP program
// whose verdict comes from a global function, which attach_tracing.bpf.c's `new_decide` replaces.
// Global (not static) and noinline, so it is a separate BTF function the kernel can replace.
#include <ebpfpp/bpf.h>

__u32 verdict = XDP_PASS;  // a variable, so clang cannot fold decide()'s result into the caller
__u64 calls;

__noinline int decide(struct xdp_md *ctx) {
  __sync_fetch_and_add(&calls, 1);
  return ctx ? verdict : XDP_ABORTED;
}

SEC("xdp")
int xdp_entry(struct xdp_md *ctx) {
  return decide(ctx);
}

EBPFPP_LICENSE("GPL");
