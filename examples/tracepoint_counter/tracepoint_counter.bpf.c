// Counts getpid() calls per process from the syscalls:sys_enter_getpid tracepoint.
#include <ebpfpp/bpf.h>

#include "tracepoint_counter.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);  // tgid
  __type(value, struct call_count);
} calls SEC(".maps");

// Set by user space before load: only count this process (0: every process).
const volatile __u32 only_tgid = 0;

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  if (only_tgid && tgid != only_tgid) return 0;
  struct call_count *count = bpf_map_lookup_elem(&calls, &tgid);
  if (count) {
    __sync_fetch_and_add(&count->calls, 1);
    return 0;
  }
  struct call_count fresh = {.calls = 1};
  bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
  bpf_map_update_elem(&calls, &tgid, &fresh, BPF_NOEXIST);
  return 0;
}

EBPFPP_LICENSE("GPL");
