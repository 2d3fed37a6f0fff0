// Base object of the malformed corpus: one BTF-defined map and two socket filters, one of which
// loads the map (an ld_imm64 relocation).
#include "base.h"

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
  return *value;
}

SEC("socket")
int fine(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
