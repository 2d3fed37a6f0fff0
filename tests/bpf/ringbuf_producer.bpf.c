// Deterministic producers for the ring integration tests: run through BPF_PROG_TEST_RUN, each
// emits exactly what its context asks for, so the tests can check counts, contents and order.
//
// - produce_ringbuf (syscall): `count` records with bpf_loop into one of three ringbufs, some
//   reserved and discarded, counting the reservations the kernel refused.
// - produce_perf (raw_tp): `count` records into the perf event array on the current CPU. A raw
//   tracepoint rather than a syscall program because syscall programs are always sleepable and
//   the verifier lets sleepable programs use no perf event array (check_map_prog_compatibility);
//   raw_tp test runs can also be sent to a chosen CPU (BPF_F_TEST_RUN_ON_CPU).
// - drain_user (syscall): bpf_user_ringbuf_drain of the user ring, summing the values.
#include <ebpfpp/bpf.h>

#include "ringbuf_producer.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PRODUCER_RING_BYTES);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PRODUCER_SMALL_RING_BYTES);
} small_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PRODUCER_RING_BYTES);
} second_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, PRODUCER_USER_RING_BYTES);
} user_ring SEC(".maps");

struct scratch {
	__u8 bytes[PRODUCER_MAX_RECORD];
};

/* Where records are assembled before they are copied into a ring: per CPU, so that producers
 * on two CPUs do not share it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* produce_perf's results (it has no writable context); added to atomically. */
__u64 perf_produced;
__u64 perf_failed;

/* Builds record `seq` of `size` bytes in this CPU's scratch buffer; NULL if it cannot. */
static __always_inline __u8 *build_record(__u64 seq, __u32 size) {
	__u32 zero = 0;
	__u8 *buffer = bpf_map_lookup_elem(&scratch, &zero);
	if (!buffer)
		return 0;
	struct ring_record *header = (struct ring_record *)buffer;
	header->seq = seq;
	header->size = size;
	header->cpu = bpf_get_smp_processor_id();
	for (__u32 i = sizeof(struct ring_record); i < size && i < PRODUCER_MAX_RECORD; i++)
		buffer[i] = producer_pattern(seq, i - sizeof(struct ring_record));
	return buffer;
}

static __always_inline __u32 clamp_size(__u32 size) {
	if (size < sizeof(struct ring_record))
		size = sizeof(struct ring_record);
	if (size > PRODUCER_MAX_RECORD)
		size = PRODUCER_MAX_RECORD;
	return size;
}

struct ringbuf_state {
	__u64 first_seq;
	__u32 size;
	__u32 discard_every;
	__u32 ring;
	__u32 produced;
	__u32 discarded;
	__u32 failed;
};

static __always_inline void *reserve_header(__u32 which) {
	if (which == RING_SMALL)
		return bpf_ringbuf_reserve(&small_ring, sizeof(struct ring_record), 0);
	if (which == RING_SECOND)
		return bpf_ringbuf_reserve(&second_ring, sizeof(struct ring_record), 0);
	return bpf_ringbuf_reserve(&ring, sizeof(struct ring_record), 0);
}

static long emit_ringbuf(__u32 index, struct ringbuf_state *state) {
	__u64 seq = state->first_seq + index;
	__u32 every = state->discard_every;
	if (every && index % every == every - 1) {
		struct ring_record *record = reserve_header(state->ring);
		if (!record) {
			state->failed++;
			return 0;
		}
		record->seq = seq;
		record->size = sizeof(struct ring_record);
		record->cpu = bpf_get_smp_processor_id();
		bpf_ringbuf_discard(record, 0);
		state->discarded++;
		return 0;
	}
	__u32 size = clamp_size(state->size);
	__u8 *buffer = build_record(seq, size);
	if (!buffer)
		return 1;
	long err;
	if (state->ring == RING_SMALL)
		err = bpf_ringbuf_output(&small_ring, buffer, size, 0);
	else if (state->ring == RING_SECOND)
		err = bpf_ringbuf_output(&second_ring, buffer, size, 0);
	else
		err = bpf_ringbuf_output(&ring, buffer, size, 0);
	if (err)
		state->failed++;
	else
		state->produced++;
	return 0;
}

SEC("syscall")
int produce_ringbuf(struct produce_args *args) {
	struct ringbuf_state state = {
		.first_seq = args->first_seq,
		.size = args->size,
		.discard_every = args->discard_every,
		.ring = args->ring,
	};
	bpf_loop(args->count, emit_ringbuf, &state, 0);
	args->produced = state.produced;
	args->discarded = state.discarded;
	args->failed = state.failed;
	return 0;
}

struct perf_state {
	void *ctx;
	__u64 first_seq;
	__u32 size;
};

static long emit_perf(__u32 index, struct perf_state *state) {
	__u64 seq = state->first_seq + index;
	__u32 size = clamp_size(state->size);
	__u8 *buffer = build_record(seq, size);
	if (!buffer)
		return 1;
	if (bpf_perf_event_output(state->ctx, &events, BPF_F_CURRENT_CPU, buffer, size))
		__sync_fetch_and_add(&perf_failed, 1);
	else
		__sync_fetch_and_add(&perf_produced, 1);
	return 0;
}

SEC("raw_tp")
int produce_perf(__u64 *args) {
	struct perf_state state = {
		.ctx = args,
		.first_seq = args[PERF_ARG_FIRST_SEQ],
		.size = (__u32)args[PERF_ARG_SIZE],
	};
	bpf_loop((__u32)args[PERF_ARG_COUNT], emit_perf, &state, 0);
	return 0;
}

struct drain_state {
	__u64 sum;
	__u64 next_seq;
	__u32 count;
	__u32 out_of_order;
};

static long on_user_record(struct bpf_dynptr *dynptr, struct drain_state *state) {
	struct user_record record;
	if (bpf_dynptr_read(&record, sizeof(record), dynptr, 0, 0))
		return 1; /* shorter than a user_record: stop */
	if (record.seq != state->next_seq)
		state->out_of_order++;
	state->next_seq = record.seq + 1;
	state->sum += record.value;
	state->count++;
	return 0;
}

SEC("syscall")
int drain_user(struct produce_args *args) {
	struct drain_state state = {.next_seq = args->next_seq};
	long drained = bpf_user_ringbuf_drain(&user_ring, on_user_record, &state, 0);
	args->produced = state.count;
	args->out_of_order = state.out_of_order;
	args->sum = state.sum;
	args->next_seq = state.next_seq;
	return drained < 0 ? (int)drained : 0;
}

EBPFPP_LICENSE("GPL");
