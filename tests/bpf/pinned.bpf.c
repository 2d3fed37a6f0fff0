// A map pinned by name (LIBBPF_PIN_BY_NAME): objects loaded with the same pin root share it.
#include <ebpfpp/bpf.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_counts SEC(".maps");

SEC("socket")
int bump_shared(void *ctx) {
  __u32 key = 1;
  __u64 one = 1, *value = bpf_map_lookup_elem(&shared_counts, &key);
  if (value)
    __sync_fetch_and_add(value, 1);
  else
    bpf_map_update_elem(&shared_counts, &key, &one, BPF_ANY);
  return 0;
}

EBPFPP_LICENSE("GPL");
