// The Aya book's flagship example in C: a cgroup_skb program that drops every IPv4 packet whose
// source address user space put into `blocklist`, counting what it passes and drops.
#include <ebpfpp/bpf.h>

#include "cgroup_skb.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);  // IPv4 source address, network byte order
  __type(value, __u8);
} blocklist SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

static void count(__u32 counter) {
  __u64 *value = bpf_map_lookup_elem(&counters, &counter);
  if (value) *value += 1;
}

SEC("cgroup_skb/ingress")
int ingress_filter(struct __sk_buff *skb) {
  if (skb->protocol != bpf_htons(0x0800))  // ETH_P_IP
    return 1;
  // For cgroup_skb programs the packet starts at the IP header; saddr is at offset 12.
  __u32 source;
  if (bpf_skb_load_bytes(skb, 12, &source, sizeof(source)) != 0) return 1;
  if (bpf_map_lookup_elem(&blocklist, &source)) {
    count(COUNTER_DROPPED);
    return 0;  // drop
  }
  count(COUNTER_PASSED);
  return 1;  // pass
}

EBPFPP_LICENSE("GPL");
