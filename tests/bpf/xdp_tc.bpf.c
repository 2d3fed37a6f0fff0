// Programs for tests/integration/xdp_tc_test.cpp: XDP and tc programs that count the test's
// frames (ethertype 0x88b5, "IEEE 802 local experimental", which nothing else on a private veth
// pair sends), and two TCX programs that record the order they ran in.
#include <ebpfpp/bpf.h>

#define TEST_ETHERTYPE 0x88b5

enum slot {
  SLOT_XDP_PASS = 0,    // xdp_count_pass ran on a test frame
  SLOT_XDP_DROP = 1,    // xdp_count_drop ran on a test frame (and dropped it)
  SLOT_TC_INGRESS = 2,  // tc_count_ingress
  SLOT_TC_EGRESS = 3,   // tc_count_egress
  SLOT_ORDER_NEXT = 4,  // next free index in `order`
  SLOT_COUNT = 8,
};

#define ORDER_ENTRIES 64

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SLOT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

// order[i] is the id (1 or 2) of the i-th TCX program run.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, ORDER_ENTRIES);
  __type(key, __u32);
  __type(value, __u32);
} order SEC(".maps");

static __always_inline int is_test_frame(void *data, void *data_end) {
  if (data + 14 > data_end) return 0;
  return *(__u16 *)(data + 12) == bpf_htons(TEST_ETHERTYPE);
}

static __always_inline void count(__u32 slot) {
  __u64 *value = bpf_map_lookup_elem(&counters, &slot);
  if (value) __sync_fetch_and_add(value, 1);
}

static __always_inline void record(__u32 id) {
  __u32 slot = SLOT_ORDER_NEXT;
  __u64 *next = bpf_map_lookup_elem(&counters, &slot);
  if (!next) return;
  __u32 index = (__u32)__sync_fetch_and_add(next, 1);
  __u32 *entry = bpf_map_lookup_elem(&order, &index);
  if (entry) *entry = id;
}

SEC("xdp")
int xdp_count_pass(struct xdp_md *ctx) {
  if (is_test_frame((void *)(long)ctx->data, (void *)(long)ctx->data_end)) count(SLOT_XDP_PASS);
  return XDP_PASS;
}

SEC("xdp")
int xdp_count_drop(struct xdp_md *ctx) {
  if (!is_test_frame((void *)(long)ctx->data, (void *)(long)ctx->data_end)) return XDP_PASS;
  count(SLOT_XDP_DROP);
  return XDP_DROP;
}

SEC("tc")
int tc_count_ingress(struct __sk_buff *skb) {
  if (is_test_frame((void *)(long)skb->data, (void *)(long)skb->data_end)) count(SLOT_TC_INGRESS);
  return TC_ACT_OK;
}

SEC("tc")
int tc_count_egress(struct __sk_buff *skb) {
  if (is_test_frame((void *)(long)skb->data, (void *)(long)skb->data_end)) count(SLOT_TC_EGRESS);
  return TC_ACT_OK;
}

// Both return TCX_NEXT so that the next program on the hook runs too.
SEC("tcx/ingress")
int tcx_record_1(struct __sk_buff *skb) {
  if (is_test_frame((void *)(long)skb->data, (void *)(long)skb->data_end)) record(1);
  return TCX_NEXT;
}

SEC("tcx/ingress")
int tcx_record_2(struct __sk_buff *skb) {
  if (is_test_frame((void *)(long)skb->data, (void *)(long)skb->data_end)) record(2);
  return TCX_NEXT;
}

EBPFPP_LICENSE("GPL");
