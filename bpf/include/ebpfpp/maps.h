/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ebpfpp/maps.h -- optional one-line spellings of the common BTF map definitions.
 *
 *   EBPFPP_HASH(counts, __u32, __u64, 1024);
 * is the same as
 *   struct {
 *       __uint(type, BPF_MAP_TYPE_HASH);
 *       __uint(max_entries, 1024);
 *       __type(key, __u32);
 *       __type(value, __u64);
 *   } counts SEC(".maps");
 *
 * Anything else (map_flags, pinning, numa_node, map_extra, inner maps) is written out with the
 * __uint/__type/__array/__ulong macros of <ebpfpp/bpf.h>; these cover the plain cases only.
 */
#ifndef EBPFPP_MAPS_H
#define EBPFPP_MAPS_H

#include "bpf.h"

/* A keyed map of any type. */
#define EBPFPP_MAP(map_type, name, key_type, value_type, entries)                                  \
	struct {                                                                                   \
		__uint(type, map_type);                                                            \
		__uint(max_entries, entries);                                                      \
		__type(key, key_type);                                                             \
		__type(value, value_type);                                                         \
	} name SEC(".maps")

#define EBPFPP_HASH(name, K, V, N) EBPFPP_MAP(BPF_MAP_TYPE_HASH, name, K, V, N)
#define EBPFPP_PERCPU_HASH(name, K, V, N) EBPFPP_MAP(BPF_MAP_TYPE_PERCPU_HASH, name, K, V, N)
#define EBPFPP_LRU_HASH(name, K, V, N) EBPFPP_MAP(BPF_MAP_TYPE_LRU_HASH, name, K, V, N)
#define EBPFPP_LRU_PERCPU_HASH(name, K, V, N) EBPFPP_MAP(BPF_MAP_TYPE_LRU_PERCPU_HASH, name, K, V, N)
#define EBPFPP_ARRAY(name, V, N) EBPFPP_MAP(BPF_MAP_TYPE_ARRAY, name, __u32, V, N)
#define EBPFPP_PERCPU_ARRAY(name, V, N) EBPFPP_MAP(BPF_MAP_TYPE_PERCPU_ARRAY, name, __u32, V, N)

/* The kernel requires BPF_F_NO_PREALLOC for LPM tries; K starts with a __u32 prefix length. */
#define EBPFPP_LPM_TRIE(name, K, V, N)                                                             \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                                               \
		__uint(max_entries, N);                                                            \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, K);                                                                    \
		__type(value, V);                                                                  \
	} name SEC(".maps")

/* Keyless maps: bpf_map_push_elem / bpf_map_pop_elem / bpf_map_peek_elem. */
#define EBPFPP_QUEUE(name, V, N)                                                                   \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_QUEUE);                                                  \
		__uint(max_entries, N);                                                            \
		__type(value, V);                                                                  \
	} name SEC(".maps")
#define EBPFPP_STACK(name, V, N)                                                                   \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_STACK);                                                  \
		__uint(max_entries, N);                                                            \
		__type(value, V);                                                                  \
	} name SEC(".maps")

/* BYTES: a power of two and a multiple of the page size. */
#define EBPFPP_RINGBUF(name, BYTES)                                                                \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                                                \
		__uint(max_entries, BYTES);                                                        \
	} name SEC(".maps")

/* One slot per CPU; the loader sizes it to the number of possible CPUs. */
#define EBPFPP_PERF_EVENT_ARRAY(name)                                                              \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);                                       \
		__uint(key_size, sizeof(__u32));                                                   \
		__uint(value_size, sizeof(__u32));                                                 \
	} name SEC(".maps")

/* For bpf_tail_call(); slots are filled from user space (or with __array(values, ...)). */
#define EBPFPP_PROG_ARRAY(name, N)                                                                 \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);                                             \
		__uint(max_entries, N);                                                            \
		__uint(key_size, sizeof(__u32));                                                   \
		__uint(value_size, sizeof(__u32));                                                 \
	} name SEC(".maps")

/* Local storage attached to a kernel object: STORAGE is one of BPF_MAP_TYPE_SK_STORAGE,
   _INODE_STORAGE, _TASK_STORAGE, _CGRP_STORAGE. The kernel demands no preallocation and
   max_entries 0. */
#define EBPFPP_LOCAL_STORAGE(storage, name, V)                                                     \
	struct {                                                                                   \
		__uint(type, storage);                                                             \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, int);                                                                  \
		__type(value, V);                                                                  \
	} name SEC(".maps")

#endif /* EBPFPP_MAPS_H */
