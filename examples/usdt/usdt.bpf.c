// usdt example: record each ebpfpp_example:tick with its decoded arguments.
#include <ebpfpp/bpf.h>
#include <ebpfpp/usdt.h>

#include "usdt.h"

__u32 ticks_seen;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, USDT_EXAMPLE_MAX_TICKS);
  __type(key, __u32);
  __type(value, struct tick_event);
} ticks SEC(".maps");

SEC("usdt")
int on_tick(struct pt_regs *ctx) {
  long number, square, label;
  struct tick_event *event;
  __u32 slot;

  if (bpf_usdt_arg(ctx, 0, &number) || bpf_usdt_arg(ctx, 1, &square) ||
      bpf_usdt_arg(ctx, 2, &label))
    return 0;
  __sync_fetch_and_add(&ticks_seen, 1);
  slot = (__u32)number;  // the tick's own number picks its slot
  event = bpf_map_lookup_elem(&ticks, &slot);
  if (!event)
    return 0;  // beyond the array
  event->number = number;
  event->square = square;
  bpf_probe_read_user_str(event->label, sizeof(event->label), (const void *)label);
  return 0;
}

EBPFPP_LICENSE("GPL");
