// Programs for tests/integration/attach_network_test.cpp: one counter per hook (a .bss global the
// test reads through object::global), so each test can prove its hook ran and that destroying
// the link stopped it.
#include <ebpfpp/bpf.h>

// A program that counts its runs in n_<name> and returns `value`.
#define COUNT(section, name, ctx_type, value)            \
  __u64 n_##name = 0;                                    \
  SEC(section) int name(ctx_type *ctx) {                 \
    __sync_fetch_and_add(&n_##name, 1);                  \
    return value;                                        \
  }

// ---- every cgroup hook ----------------------------------------------------------------------
COUNT("cgroup_skb/ingress", skb_ingress, struct __sk_buff, 1)
COUNT("cgroup_skb/egress", skb_egress, struct __sk_buff, 1)
COUNT("cgroup/sock_create", sock_create, struct bpf_sock, 1)
COUNT("cgroup/sock_release", sock_release, struct bpf_sock, 1)
COUNT("cgroup/post_bind4", post_bind4, struct bpf_sock, 1)
COUNT("cgroup/post_bind6", post_bind6, struct bpf_sock, 1)
COUNT("cgroup/bind4", bind4, struct bpf_sock_addr, 1)
COUNT("cgroup/bind6", bind6, struct bpf_sock_addr, 1)
COUNT("cgroup/connect4", connect4, struct bpf_sock_addr, 1)
COUNT("cgroup/connect6", connect6, struct bpf_sock_addr, 1)
COUNT("cgroup/sendmsg4", sendmsg4, struct bpf_sock_addr, 1)
COUNT("cgroup/sendmsg6", sendmsg6, struct bpf_sock_addr, 1)
COUNT("cgroup/recvmsg4", recvmsg4, struct bpf_sock_addr, 1)
COUNT("cgroup/recvmsg6", recvmsg6, struct bpf_sock_addr, 1)
COUNT("cgroup/getpeername4", getpeername4, struct bpf_sock_addr, 1)
COUNT("cgroup/getpeername6", getpeername6, struct bpf_sock_addr, 1)
COUNT("cgroup/getsockname4", getsockname4, struct bpf_sock_addr, 1)
COUNT("cgroup/getsockname6", getsockname6, struct bpf_sock_addr, 1)
COUNT("cgroup/connect_unix", connect_unix, struct bpf_sock_addr, 1)
COUNT("cgroup/sendmsg_unix", sendmsg_unix, struct bpf_sock_addr, 1)
COUNT("cgroup/recvmsg_unix", recvmsg_unix, struct bpf_sock_addr, 1)
COUNT("cgroup/getpeername_unix", getpeername_unix, struct bpf_sock_addr, 1)
COUNT("cgroup/getsockname_unix", getsockname_unix, struct bpf_sock_addr, 1)
COUNT("cgroup/getsockopt", getsockopt_hook, struct bpf_sockopt, 1)
COUNT("cgroup/setsockopt", setsockopt_hook, struct bpf_sockopt, 1)
COUNT("cgroup/sysctl", sysctl_hook, struct bpf_sysctl, 1)
COUNT("cgroup/dev", device_hook, struct bpf_cgroup_dev_ctx, 1)
COUNT("sockops", sock_ops, struct bpf_sock_ops, 1)

// ---- flags, replacement and ordering: three programs on one hook ----------------------------
// Each appends its digit to run_order (run_order * 10 + digit), so the test sees which ran and in
// which order. The trigger is single-threaded: no atomics needed.
__u64 run_order = 0;
SEC("cgroup/sock_create") int order_a(struct bpf_sock *ctx) { run_order = run_order * 10 + 1; return 1; }
SEC("cgroup/sock_create") int order_b(struct bpf_sock *ctx) { run_order = run_order * 10 + 2; return 1; }
SEC("cgroup/sock_create") int order_c(struct bpf_sock *ctx) { run_order = run_order * 10 + 3; return 1; }

// ---- sockmap / sockhash ---------------------------------------------------------------------
struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} sock_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} sock_hash SEC(".maps");

// Every message sent on a socket of sock_map goes to the receive queue of the socket at key 0.
__u64 n_msg = 0;
__u64 msg_bytes = 0;
SEC("sk_msg") int msg_to_key0(struct sk_msg_md *msg) {
  __sync_fetch_and_add(&n_msg, 1);
  __sync_fetch_and_add(&msg_bytes, msg->size);
  return bpf_msg_redirect_map(msg, &sock_map, 0, BPF_F_INGRESS);
}

// The stream parser says each skb is one whole message; the verdicts count and pass.
__u64 n_parser = 0;
__u64 n_stream_verdict = 0;
__u64 stream_bytes = 0;
SEC("sk_skb/stream_parser") int skb_parser(struct __sk_buff *skb) {
  __sync_fetch_and_add(&n_parser, 1);
  return skb->len;
}
SEC("sk_skb/stream_verdict") int skb_stream_verdict(struct __sk_buff *skb) {
  __sync_fetch_and_add(&n_stream_verdict, 1);
  __sync_fetch_and_add(&stream_bytes, skb->len);
  return SK_PASS;
}
// sk_skb/verdict (5.13, no parser): what a socket of sock_hash receives is redirected to the
// receive queue of the socket at key 1 of sock_hash.
__u64 n_verdict = 0;
SEC("sk_skb/verdict") int skb_verdict_to_key1(struct __sk_buff *skb) {
  __sync_fetch_and_add(&n_verdict, 1);
  return bpf_sk_redirect_hash(skb, &sock_hash, &(__u32){1}, BPF_F_INGRESS);
}

// ---- sk_lookup: connections to port 7007 go to the listener at key 0 of lookup_map -----------
struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lookup_map SEC(".maps");

__u64 n_steered = 0;
SEC("sk_lookup") int steer_7007(struct bpf_sk_lookup *ctx) {
  if (ctx->local_port != 7007) return SK_PASS;
  __u32 key = 0;
  struct bpf_sock *sk = bpf_map_lookup_elem(&lookup_map, &key);
  if (!sk) return SK_PASS;
  long err = bpf_sk_assign(ctx, sk, 0);
  bpf_sk_release(sk);
  if (err) return SK_DROP;
  __sync_fetch_and_add(&n_steered, 1);
  return SK_PASS;
}

// ---- flow dissector: count, then let the kernel's dissector do the work (6.0) ----------------
COUNT("flow_dissector", dissect, struct __sk_buff, BPF_FLOW_DISSECTOR_CONTINUE)

// ---- netfilter (ctx is struct bpf_nf_ctx; unused): NF_ACCEPT = 1, NF_DROP = 0 -----------------
COUNT("netfilter", nf_accept, void, 1)
COUNT("netfilter", nf_drop, void, 0)

// ---- SO_REUSEPORT: always the socket at key 1 ------------------------------------------------
struct {
  __uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} reuse_map SEC(".maps");

__u64 n_reuseport = 0;
SEC("sk_reuseport") int pick_key1(struct sk_reuseport_md *md) {
  __u32 key = 1;
  __sync_fetch_and_add(&n_reuseport, 1);
  return bpf_sk_select_reuseport(md, &reuse_map, &key, 0) == 0 ? SK_PASS : SK_DROP;
}

EBPFPP_LICENSE("GPL");
