// Tracing programs for tests/integration/tracing_test.cpp: the same event (this process calling
// getpid) seen through a tracefs tracepoint, a raw tracepoint and a BTF-typed tracepoint, each
// counting into its own slot of a global array, filtered on the test's tgid set before load.
#include <ebpfpp/bpf.h>

const volatile __u32 target_tgid = 0;
__u64 hits[3];  // 0: tracepoint, 1: raw_tp, 2: tp_btf
__u64 last_syscall_id;

static __always_inline int is_target(void) {
  return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_tracepoint(void *ctx) {
  if (is_target()) __sync_fetch_and_add(&hits[0], 1);
  return 0;
}

SEC("raw_tp/sys_enter")
int on_raw_tp(__u64 *args) {  // args[0]: struct pt_regs *, args[1]: syscall id
  if (is_target() && args[1] == 39 /* __NR_getpid on x86-64 */) __sync_fetch_and_add(&hits[1], 1);
  return 0;
}

SEC("tp_btf/sys_enter")
int on_tp_btf(__u64 *args) {  // BTF-typed: the verifier knows args[1] is a long
  if (is_target() && args[1] == 39) {
    __sync_fetch_and_add(&hits[2], 1);
    last_syscall_id = args[1];
  }
  return 0;
}

EBPFPP_LICENSE("GPL");
