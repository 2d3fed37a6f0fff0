// The few declarations the corpus's base objects need, spelled out here rather than taken from
// bpf/include/ebpfpp: the malformed corpus is generated from these sources alone (with clang-19),
// so it stays reproducible while the project's BPF headers and test programs evolve.
#pragma once

typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __noinline __attribute__((noinline))

enum {
  BPF_MAP_TYPE_HASH = 1,
  BPF_MAP_TYPE_ARRAY = 2,
  BPF_MAP_TYPE_PROG_ARRAY = 3,
  BPF_MAP_TYPE_PERCPU_ARRAY = 6,
  BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
};

static void *(* const bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (* const bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (* const bpf_tail_call)(void *ctx, void *prog_array_map, __u32 index) = (void *)12;
static long (* const bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;
