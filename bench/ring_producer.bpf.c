// Producers for the ring benchmarks (bench/ringbuf.cpp, bench/perfbuf.cpp), run through
// BPF_PROG_TEST_RUN from a producer thread; each emits `count` records with bpf_loop.
//
// - produce_ringbuf (syscall): bpf_ringbuf_reserve + submit into the stream or the drain ring,
//   with the kernel's default (adaptive) wakeup: a consumer is only woken when it had caught up.
//   Sizes 16, 64 and 512 bytes (reserve needs a constant size). Refused reservations are
//   counted; with stop_when_full the run stops at the first one, so that user space can retry
//   the rest in order (the benchmarks' producer never loses a record: it waits for room).
// - produce_perf (raw_tp): bpf_perf_event_output into the perf event array on the current CPU.
//   A raw tracepoint because syscall programs are sleepable and may not use a perf event array;
//   raw_tp test runs can also be sent to a chosen CPU (BPF_F_TEST_RUN_ON_CPU).
//
// Only the record header (struct bench_record) is written; see ring_producer.h.
#include <ebpfpp/bpf.h>

#include "ring_producer.h"

/* Sizes are set by the benchmark before load (these are its defaults). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} stream_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);
} drain_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct ringbuf_state {
	__u64 seq;
	__u32 size;
	__u32 ring;
	__u32 timestamp;
	__u32 stop_when_full;
	__u32 produced;
	__u32 failed;
};

#define RESERVE(map, size)                                                   \
	((size) == BENCH_SIZE_SMALL    ? bpf_ringbuf_reserve(&(map), BENCH_SIZE_SMALL, 0) \
	 : (size) == BENCH_SIZE_MEDIUM ? bpf_ringbuf_reserve(&(map), BENCH_SIZE_MEDIUM, 0) \
	                               : bpf_ringbuf_reserve(&(map), BENCH_SIZE_LARGE, 0))

static long emit_ringbuf(__u32 index, struct ringbuf_state *state) {
	struct bench_record *record;
	if (state->ring == BENCH_DRAIN_RING)
		record = RESERVE(drain_ring, state->size);
	else
		record = RESERVE(stream_ring, state->size);
	if (!record) {
		state->failed++;
		return state->stop_when_full ? 1 : 0;
	}
	record->seq = state->seq++;
	record->ts_ns = state->timestamp ? bpf_ktime_get_ns() : 0;
	bpf_ringbuf_submit(record, 0);
	state->produced++;
	return 0;
}

SEC("syscall")
int produce_ringbuf(struct bench_produce_args *args) {
	struct ringbuf_state state = {
		.seq = args->first_seq,
		.size = args->size,
		.ring = args->ring,
		.timestamp = args->timestamp,
		.stop_when_full = args->stop_when_full,
	};
	if (state.size != BENCH_SIZE_SMALL && state.size != BENCH_SIZE_MEDIUM &&
	    state.size != BENCH_SIZE_LARGE)
		return 1;
	bpf_loop(args->count, emit_ringbuf, &state, 0);
	args->produced = state.produced;
	args->failed = state.failed;
	return 0;
}

struct scratch {
	__u8 bytes[BENCH_MAX_RECORD];
};

/* Where a perf record is assembled before bpf_perf_event_output copies it (per CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* produce_perf's results for the last run (raw_tp test runs have no writable context). */
__u64 perf_produced;
__u64 perf_failed;

struct perf_state {
	void *ctx;
	struct bench_record *record;
	__u64 seq;
	__u64 size;
	__u32 timestamp;
	__u32 stop_when_full;
	__u32 produced;
	__u32 failed;
};

static long emit_perf(__u32 index, struct perf_state *state) {
	struct bench_record *record = state->record;
	__u64 size = state->size;
	if (size < sizeof(struct bench_record) || size > BENCH_MAX_RECORD)
		return 1;
	record->seq = state->seq;
	record->ts_ns = state->timestamp ? bpf_ktime_get_ns() : 0;
	if (bpf_perf_event_output(state->ctx, &events, BPF_F_CURRENT_CPU, record, size)) {
		state->failed++;
		if (state->stop_when_full)
			return 1;
	} else {
		state->seq++;
		state->produced++;
	}
	return 0;
}

SEC("raw_tp")
int produce_perf(__u64 *args) {
	__u32 zero = 0;
	struct bench_record *record = bpf_map_lookup_elem(&scratch, &zero);
	if (!record)
		return 1;
	struct perf_state state = {
		.ctx = args,
		.record = record,
		.seq = args[BENCH_PERF_FIRST_SEQ],
		.size = args[BENCH_PERF_SIZE],
		.timestamp = (__u32)args[BENCH_PERF_TIMESTAMP],
		.stop_when_full = (__u32)args[BENCH_PERF_STOP_WHEN_FULL],
	};
	bpf_loop((__u32)args[BENCH_PERF_COUNT], emit_perf, &state, 0);
	perf_produced = state.produced;
	perf_failed = state.failed;
	return 0;
}

EBPFPP_LICENSE("GPL");
