// Base object of the malformed corpus, after tests/bpf/loader.bpf.c: BTF maps of several kinds,
// map-in-map and prog-array `values`, global data in every kind of section, BPF-to-BPF calls
// (static and global subprograms, nested, one inside .text without a relocation), a bpf_loop
// callback (a function address) and programs in several sections.
#include "base.h"

enum { RESULT_TRIPLE = 0, RESULT_GLOBAL_HELPER = 1, RESULT_LOOP_SUM = 2, RESULT_DATA_COUNTER = 3, RESULT_COUNT = 8 };

struct loader_args {
  __u64 input;
  __u32 loops;
  __u32 pad;
  __u64 output;
};

struct xdp_md {
  __u32 data;
  __u32 data_end;
  __u32 data_meta;
  __u32 ingress_ifindex;
  __u32 rx_queue_index;
  __u32 egress_ifindex;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, RESULT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} results SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(__u64));
} per_cpu SEC(".maps");

struct inner_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct inner_array);
} outer SEC(".maps") = {
    .values = {[0] = &inner_a, [2] = &inner_b},
};

int tail_target(void *ctx);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, int(void *));
} jump_table SEC(".maps") = {
    .values = {[1] = (void *)&tail_target},
};

// Global data: .data, .rodata, .bss and a custom .data.* section.
__u64 data_counter = 42;
const volatile __u32 rodata_factor = 3;
__u64 bss_total;
__u32 custom_value SEC(".data.custom") = 1000;

static __u64 set_result(__u32 index, __u64 value) {
  bpf_map_update_elem(&results, &index, &value, 0);
  return value;
}

// A static subprogram and a global one, which calls another static one: nested BPF-to-BPF calls.
static __noinline __u64 triple(__u64 x) { return x * rodata_factor; }

static __noinline __u64 add_custom(__u64 x) { return x + custom_value; }

__noinline __u64 global_helper(__u64 x) { return add_custom(x) + 1; }

struct loop_state {
  __u64 sum;
};

static long add_index(__u64 index, void *ctx) {
  struct loop_state *state = ctx;
  state->sum += index;
  return 0;
}

SEC("syscall")
int run_all(struct loader_args *args) {
  set_result(RESULT_TRIPLE, triple(args->input));
  set_result(RESULT_GLOBAL_HELPER, global_helper(args->input));
  struct loop_state state = {0};
  bpf_loop(args->loops, add_index, &state, 0);
  set_result(RESULT_LOOP_SUM, state.sum);
  data_counter += 1;
  bss_total += args->input;
  set_result(RESULT_DATA_COUNTER, data_counter);

  __u32 key = args->input;
  __u64 one = 1, *count = bpf_map_lookup_elem(&counts, &key);
  if (count)
    __sync_fetch_and_add(count, 1);
  else
    bpf_map_update_elem(&counts, &key, &one, 0);

  __u32 zero = 0;
  __u64 *cpu_value = bpf_map_lookup_elem(&per_cpu, &zero);
  if (cpu_value) *cpu_value += 1;

  __u32 slot = 2;
  void *inner = bpf_map_lookup_elem(&outer, &slot);
  if (inner) {
    __u64 *value = bpf_map_lookup_elem(inner, &zero);
    if (value) *value = 77;
  }
  args->output = triple(args->input) + 1;
  return 0;
}

SEC("socket")
int tail_target(void *ctx) { return 9; }

SEC("socket")
int tail_caller(void *ctx) {
  bpf_tail_call(ctx, &jump_table, 1);
  return 1;  // only when the tail call failed
}

SEC("xdp")
int xdp_count_and_pass(struct xdp_md *ctx) {
  __u32 key = (__u32)(ctx->data_end - ctx->data);
  __u64 one = 1, *count = bpf_map_lookup_elem(&counts, &key);
  if (count)
    __sync_fetch_and_add(count, 1);
  else
    bpf_map_update_elem(&counts, &key, &one, 0);
  return 2;
}

// Not loaded unless asked for (leading '?').
SEC("?xdp")
int xdp_optional(struct xdp_md *ctx) { return 1; }

char LICENSE[] SEC("license") = "GPL";
