// An XDP program that drops IPv4 UDP datagrams to the destination ports user space put into
// `blocked_ports`, and counts what it drops and passes.
#include <ebpfpp/bpf.h>

#include "xdp_drop.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u16);  // UDP destination port, host byte order
  __type(value, __u8);
} blocked_ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, COUNTER_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 counter, int verdict) {
  __u64 *value = bpf_map_lookup_elem(&counters, &counter);
  if (value) *value += 1;
  return verdict;
}

SEC("xdp")
int xdp_drop_udp(struct xdp_md *ctx) {
  __u8 *data = (__u8 *)(long)ctx->data;
  __u8 *data_end = (__u8 *)(long)ctx->data_end;
  // Ethernet: 14 bytes, ethertype at 12 (network order).
  if (data + 14 > data_end) return count(COUNTER_OTHER, XDP_PASS);
  if (*(__u16 *)(data + 12) != bpf_htons(0x0800)) return count(COUNTER_OTHER, XDP_PASS);
  // IPv4: header length in 32-bit words in the low nibble of byte 0, protocol at 9.
  __u8 *ip = data + 14;
  if (ip + 20 > data_end) return count(COUNTER_OTHER, XDP_PASS);
  if (ip[9] != 17) return count(COUNTER_OTHER, XDP_PASS);  // IPPROTO_UDP
  __u32 ip_length = (ip[0] & 0x0f) * 4;
  if (ip_length < 20) return count(COUNTER_OTHER, XDP_PASS);
  // UDP: destination port at 2.
  __u8 *udp = ip + ip_length;
  if (udp + 8 > data_end) return count(COUNTER_OTHER, XDP_PASS);
  __u16 port = bpf_ntohs(*(__u16 *)(udp + 2));
  if (bpf_map_lookup_elem(&blocked_ports, &port)) return count(COUNTER_UDP_DROPPED, XDP_DROP);
  return count(COUNTER_UDP_PASSED, XDP_PASS);
}

EBPFPP_LICENSE("GPL");
