// Shared between ringbuf_producer.bpf.c and the ring integration tests
// (tests/integration/ring_buffer_test.cpp, perf_buffer_test.cpp, user_ring_buffer_test.cpp).
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Sizes of the test rings (ringbuf_producer.bpf.c). */
#define PRODUCER_RING_BYTES (256 * 1024)
#define PRODUCER_SMALL_RING_BYTES 4096
#define PRODUCER_USER_RING_BYTES 4096
/* The largest record the producers emit. */
#define PRODUCER_MAX_RECORD 1024

/* Every record the producers emit starts with this header; `size - sizeof(struct ring_record)`
 * payload bytes follow, payload byte i being producer_pattern(seq, i). */
struct ring_record {
	__u64 seq;  /* first_seq + the record's index in its run */
	__u32 size; /* bytes of the whole record, this header included */
	__u32 cpu;  /* bpf_get_smp_processor_id() of the producer */
};

#define producer_pattern(seq, i) ((__u8)(((seq) * 31 + (i) * 7 + 1) & 0xff))

/* Which ring produce_ringbuf writes to. */
enum { RING_BIG = 0, RING_SMALL = 1, RING_SECOND = 2 };

/* The context of the syscall programs: inputs, then outputs the program writes back. */
struct produce_args {
	__u64 first_seq;     /* seq of the first record */
	__u32 count;         /* records to emit */
	__u32 size;          /* bytes per record, sizeof(struct ring_record)..PRODUCER_MAX_RECORD */
	__u32 discard_every; /* 0: none; n: each record whose index % n == n - 1 is reserved, then
	                        discarded (it takes its seq with it) */
	__u32 ring;          /* RING_* */
	__u32 produced;      /* out: records submitted (drain_user: records drained) */
	__u32 discarded;     /* out: records discarded */
	__u32 failed;        /* out: reservations the kernel refused because the ring was full */
	__u32 out_of_order;  /* out (drain_user): records whose seq was not the one expected */
	__u64 sum;           /* out (drain_user): sum of the drained records' values */
	__u64 next_seq;      /* in/out (drain_user): the seq expected next */
};

/* A record user space writes into the user ring buffer. */
struct user_record {
	__u64 seq;
	__u64 value;
};

/* produce_perf runs as a raw tracepoint program through BPF_PROG_TEST_RUN (which can pick the
 * CPU); its u64 args are: */
enum { PERF_ARG_COUNT = 0, PERF_ARG_SIZE = 1, PERF_ARG_FIRST_SEQ = 2, PERF_ARG_N = 3 };
