// Two tc programs (one per direction) that count packets and bytes per protocol. The same
// objects run as TCX programs or as cls_bpf filters in direct-action mode: both see the frame
// from its Ethernet header, and both take TC_ACT_UNSPEC (TCX_NEXT) as "not my decision, go on".
#include <ebpfpp/bpf.h>

#include "tc_counter.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DIRECTION_COUNT * PROTO_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} packets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DIRECTION_COUNT * PROTO_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} bytes SEC(".maps");

static __always_inline __u32 classify(struct __sk_buff *skb) {
  switch (skb->protocol) {
    case bpf_htons(0x0800): {
      __u8 protocol;
      if (bpf_skb_load_bytes(skb, 14 + 9, &protocol, 1) != 0) return PROTO_IPV4_OTHER;
      if (protocol == 6) return PROTO_IPV4_TCP;
      if (protocol == 17) return PROTO_IPV4_UDP;
      if (protocol == 1) return PROTO_IPV4_ICMP;
      return PROTO_IPV4_OTHER;
    }
    case bpf_htons(0x86dd): return PROTO_IPV6;
    case bpf_htons(0x0806): return PROTO_ARP;
    default: return PROTO_OTHER;
  }
}

static __always_inline int count(struct __sk_buff *skb, __u32 direction) {
  __u32 index = direction * PROTO_COUNT + classify(skb);
  __u64 *value = bpf_map_lookup_elem(&packets, &index);
  if (value) *value += 1;
  value = bpf_map_lookup_elem(&bytes, &index);
  if (value) *value += skb->len;
  return TC_ACT_UNSPEC;
}

SEC("tc")
int count_ingress(struct __sk_buff *skb) { return count(skb, DIRECTION_INGRESS); }

SEC("tc")
int count_egress(struct __sk_buff *skb) { return count(skb, DIRECTION_EGRESS); }

EBPFPP_LICENSE("GPL");
