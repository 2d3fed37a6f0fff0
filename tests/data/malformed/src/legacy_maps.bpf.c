// Base object of the malformed corpus: maps defined the pre-BTF way, struct bpf_map_def in
// SEC("maps").
#include "base.h"

struct legacy_map_def {
  unsigned int type;
  unsigned int key_size;
  unsigned int value_size;
  unsigned int max_entries;
  unsigned int map_flags;
};

struct legacy_map_def legacy_hash SEC("maps") = {
    .type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 16, .map_flags = 0};
struct legacy_map_def legacy_array SEC("maps") = {
    .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2, .map_flags = 0};

SEC("socket")
int legacy_filter(void *ctx) {
  __u32 key = 1;
  __u64 value = 5;
  bpf_map_update_elem(&legacy_hash, &key, &value, 0);
  __u32 *slot = bpf_map_lookup_elem(&legacy_array, &key);
  if (slot) *slot = 6;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
