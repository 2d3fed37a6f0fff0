// uprobe_malloc: counts malloc() calls and requested bytes of one process (the kernel filters by
// pid: the uprobe is attached with the child's pid), in total and per request size.
#include <ebpfpp/bpf.h>

#include "uprobe_malloc.h"

struct malloc_totals totals;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, UPROBE_MALLOC_MAX_SIZES);
  __type(key, __u64);    // requested size
  __type(value, __u64);  // calls
} by_size SEC(".maps");

SEC("uprobe")
int count_malloc(struct pt_regs *ctx) {
  __u64 size = ctx->rdi;  // malloc(size_t size): first argument (x86-64 System V)
  __u64 one = 1, *calls;

  __sync_fetch_and_add(&totals.calls, 1);
  __sync_fetch_and_add(&totals.bytes, size);
  calls = bpf_map_lookup_elem(&by_size, &size);
  if (calls)
    __sync_fetch_and_add(calls, 1);
  else
    bpf_map_update_elem(&by_size, &size, &one, BPF_NOEXIST);
  return 0;
}

EBPFPP_LICENSE("GPL");
