// Programs for tests/integration/attach_tracing_test.cpp: every tracing attach kind, each counting
// into its own slot of `hits` when the test process (target_tgid) triggers it, and recording the
// BPF cookie it was attached with in the same slot of `cookies`. Each test loads only the
// programs it needs (load_options::only), so a kind the running kernel lacks (kprobe.session
// before 6.10) does not stop the others.
#include <ebpfpp/bpf.h>

enum slot {
  slot_perf = 0,
  slot_tracepoint,
  slot_raw_tp,
  slot_tp_btf,
  slot_kprobe,
  slot_kretprobe,
  slot_ksyscall,
  slot_kprobe_multi,
  slot_session_entry,
  slot_session_return,
  slot_fentry,
  slot_fexit,
  slot_fmod_ret,
  slot_lsm,
  slot_count,
};

const volatile __u32 target_tgid = 0;
__u64 hits[slot_count];
__u64 cookies[slot_count];
__u64 perf_other_tgid;  // perf samples of another process (pid-filtered events must see none)
__u64 fexit_ret;        // what bpf_fentry_test1 returned, seen by fexit

static __always_inline int is_target(void) {
  return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline void count(enum slot slot, void *ctx) {
  __sync_fetch_and_add(&hits[slot], 1);
  cookies[slot] = bpf_get_attach_cookie(ctx);
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx) {
  if (is_target())
    count(slot_perf, ctx);
  else
    __sync_fetch_and_add(&perf_other_tgid, 1);
  return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_tracepoint(void *ctx) {
  if (is_target()) count(slot_tracepoint, ctx);
  return 0;
}

// bpf_get_attach_cookie in raw_tp programs is 6.10: older kernels refuse to load this one.
SEC("raw_tp/sys_enter")
int on_raw_tp(__u64 *args) {  // args[1]: the syscall number
  if (is_target() && args[1] == 39 /* __NR_getpid, x86-64 */) count(slot_raw_tp, args);
  return 0;
}

SEC("tp_btf/sys_enter")
int on_tp_btf(__u64 *args) {
  if (is_target() && args[1] == 39) count(slot_tp_btf, args);
  return 0;
}

// kprobes: the test picks the function at run time (the getpid syscall wrapper).
SEC("kprobe")
int on_kprobe(void *ctx) {
  if (is_target()) count(slot_kprobe, ctx);
  return 0;
}

SEC("kretprobe")
int on_kretprobe(void *ctx) {
  if (is_target()) count(slot_kretprobe, ctx);
  return 0;
}

SEC("ksyscall/getpid")
int on_ksyscall(void *ctx) {
  if (is_target()) count(slot_ksyscall, ctx);
  return 0;
}

SEC("kprobe.multi")
int on_kprobe_multi(void *ctx) {
  if (is_target()) count(slot_kprobe_multi, ctx);
  return 0;
}

extern bool bpf_session_is_return(void) __ksym __weak;

// Runs at entry and at return of each function (6.10); returning 0 at entry asks for the return.
SEC("kprobe.session")
int on_session(void *ctx) {
  if (!is_target()) return 1;  // non-zero at entry: skip the return run
  if (bpf_ksym_exists(bpf_session_is_return) && bpf_session_is_return())
    count(slot_session_return, ctx);
  else
    count(slot_session_entry, ctx);
  return 0;
}

// bpf_fentry_test1(int a) returns a + 1; BPF_PROG_TEST_RUN of a tracing program calls it with 1.
SEC("fentry/bpf_fentry_test1")
int on_fentry(__u64 *ctx) {
  if (ctx[0] == 1) count(slot_fentry, ctx);
  return 0;
}

SEC("fexit/bpf_fentry_test1")
int on_fexit(__u64 *ctx) {  // ctx[0]: a, ctx[1]: the return value
  if (ctx[0] == 1) {
    fexit_ret = ctx[1];
    count(slot_fexit, ctx);
  }
  return 0;
}

// bpf_modify_return_test(int a, int *b) normally does *b += 1 and returns a + *b; a non-zero
// return here skips it and becomes its return value.
SEC("fmod_ret/bpf_modify_return_test")
int on_fmod_ret(__u64 *ctx) {
  count(slot_fmod_ret, ctx);
  return 1234;
}

// security_socket_create(family, type, protocol, kern): refuse UDP/IPv4 sockets of the test
// process with EPERM (LSM programs return 0 or -errno; 6.12+ enforce [-4095, 0]).
SEC("lsm/socket_create")
int on_lsm(__u64 *ctx) {
  int ret = (int)ctx[4];  // the previous hooks' verdict
  if (ret != 0) return ret;
  if (is_target() && ctx[0] == 2 /* AF_INET */ && ctx[1] == 2 /* SOCK_DGRAM */) {
    count(slot_lsm, ctx);
    return -1;  // -EPERM
  }
  return 0;
}

// lsm_cgroup: 1 allows, 0 refuses (EPERM); applies only to tasks in the attached cgroup.
SEC("lsm_cgroup/socket_bind")
int on_lsm_cgroup(__u64 *ctx) {
  return 0;
}

// Replaces `decide` of freplace_target.bpf.c's XDP program: XDP_DROP instead of XDP_PASS.
struct xdp_md;
SEC("freplace/decide")
int new_decide(struct xdp_md *ctx) {
  return 1;  // XDP_DROP
}

EBPFPP_LICENSE("GPL");
