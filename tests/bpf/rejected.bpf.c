// A program the verifier must reject: it reads a map value without checking it for NULL. (A hash
// map: since 6.14 the verifier knows an array lookup with a constant in-range key is never NULL.)
#include <ebpfpp/bpf.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} values SEC(".maps");

SEC("socket")
int unchecked_lookup(void *ctx) {
  __u32 key = 0;
  __u64 *value = bpf_map_lookup_elem(&values, &key);
  return *value;  // the verifier: R0 invalid mem access 'map_value_or_null'
}

SEC("socket")
int fine(void *ctx) { return 0; }

EBPFPP_LICENSE("GPL");
