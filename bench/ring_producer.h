// Shared between bench/ring_producer.bpf.c and the ring benchmarks (bench/ringbuf.cpp,
// bench/perfbuf.cpp, bench/ring_bench_common.hpp).
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Every record the producers emit starts with this header. The rest of a record (up to its size)
 * is reserved but not written: the benchmarks measure the transport, and the consumers only read
 * the header, as the references they are compared with do. */
struct bench_record {
	__u64 seq;   /* 0, 1, 2, ... counting only the records the ring accepted, so a consumer
	                sees an unbroken sequence even when the producer ran into a full ring */
	__u64 ts_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) just before submit, when asked for;
	                else 0 */
};

/* The record sizes the producers can emit (bpf_ringbuf_reserve needs a constant size). */
#define BENCH_SIZE_SMALL 16
#define BENCH_SIZE_MEDIUM 64
#define BENCH_SIZE_LARGE 512
#define BENCH_MAX_RECORD BENCH_SIZE_LARGE

/* Which ring produce_ringbuf writes to: the stream ring (stream and latency runs) or the big
 * ring that drain runs prefill. User space sets both sizes before load. */
enum { BENCH_STREAM_RING = 0, BENCH_DRAIN_RING = 1 };

/* The context of produce_ringbuf (a syscall program run with BPF_PROG_TEST_RUN): inputs, then
 * outputs the program writes back. */
struct bench_produce_args {
	__u64 first_seq;  /* seq of the first record accepted */
	__u32 count;      /* records to try (bpf_loop: at most 1 << 23) */
	__u32 size;       /* BENCH_SIZE_*; anything else: the program returns 1 and emits nothing */
	__u32 ring;       /* BENCH_*_RING */
	__u32 timestamp;  /* non-zero: write ts_ns */
	__u32 stop_when_full; /* non-zero: stop at the first refused reservation (so the caller
	                         can retry the rest in order) */
	__u32 produced;   /* out: records submitted */
	__u32 failed;     /* out: reservations the kernel refused (ring full) */
	__u32 pad;
};

/* produce_perf runs as a raw tracepoint program through BPF_PROG_TEST_RUN (which can pick the
 * CPU); its u64 args are: */
enum {
	BENCH_PERF_COUNT = 0,
	BENCH_PERF_SIZE = 1,
	BENCH_PERF_FIRST_SEQ = 2,
	BENCH_PERF_TIMESTAMP = 3,
	BENCH_PERF_STOP_WHEN_FULL = 4,
	BENCH_PERF_NARGS = 5,
};
/* ... and it leaves its results in the globals perf_produced / perf_failed (one run's counts). */
