// user_ringbuf: a key-value store in the kernel, fed through a user ring buffer.
//
// User space writes commands into `commands` (BPF_MAP_TYPE_USER_RINGBUF, 6.1); `serve` takes them
// with bpf_user_ringbuf_drain(), applies them to the `store` hash map and answers each one in
// `replies` (BPF_MAP_TYPE_RINGBUF). It is a syscall program, run from user space with
// BPF_PROG_TEST_RUN; any program that may sleep or not could drain the same way (a tracepoint,
// a timer, a packet).
//
// Backpressure flows both ways: `serve` drains at most what the replies ring has room for (a
// drained command cannot be put back), and user space waits for room in `commands` when serve
// is behind (ebpf::async::user_ring_buffer::async_reserve).
#include <ebpfpp/bpf.h>

#include "user_ringbuf.h"

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, USER_RINGBUF_COMMAND_BYTES);
} commands SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, USER_RINGBUF_REPLY_BYTES);
} replies SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __s64);
} store SEC(".maps");

// Replies the ring had no room for (serve checks first, so this stays 0).
__u64 replies_lost;

struct drain_state {
	__u32 left;    // commands serve may still take
	__u32 handled; // commands taken
};

static void apply(const struct command *command, struct reply *reply) {
	__u32 key = command->key;
	__s64 value = command->value;
	__s64 *stored;
	switch (command->op) {
	case OP_SET:
		if (bpf_map_update_elem(&store, &key, &value, BPF_ANY))
			reply->status = STATUS_FULL;
		reply->value = value;
		break;
	case OP_ADD:
		stored = bpf_map_lookup_elem(&store, &key);
		if (stored) {
			reply->value = __sync_add_and_fetch(stored, value);
		} else if (bpf_map_update_elem(&store, &key, &value, BPF_NOEXIST)) {
			reply->status = STATUS_FULL;
		} else {
			reply->value = value;
		}
		break;
	case OP_GET:
		stored = bpf_map_lookup_elem(&store, &key);
		if (stored)
			reply->value = *stored;
		else
			reply->status = STATUS_NOT_FOUND;
		break;
	case OP_DELETE:
		if (bpf_map_delete_elem(&store, &key))
			reply->status = STATUS_NOT_FOUND;
		break;
	default:
		reply->status = STATUS_BAD_COMMAND;
	}
}

// Called by bpf_user_ringbuf_drain for each record; the record is consumed whatever this
// returns. Returns 1 to stop draining, 0 to go on.
static long handle_command(struct bpf_dynptr *record, struct drain_state *state) {
	struct command command;
	struct reply reply = {};
	if (bpf_dynptr_read(&command, sizeof(command), record, 0, 0) == 0) {
		reply.seq = command.seq;
		reply.op = command.op;
		reply.key = command.key;
		apply(&command, &reply);
	} else {
		reply.status = STATUS_BAD_COMMAND; // shorter than a command
	}
	if (bpf_ringbuf_output(&replies, &reply, sizeof(reply), 0))
		__sync_fetch_and_add(&replies_lost, 1);
	state->handled++;
	return --state->left == 0;
}

SEC("syscall")
int serve(struct serve_args *args) {
	// Room in `replies` for how many replies: AVAIL_DATA is what user space has not consumed yet.
	__u64 used = bpf_ringbuf_query(&replies, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&replies, BPF_RB_RING_SIZE);
	__u64 room = used < size ? (size - used) / USER_RINGBUF_REPLY_FOOTPRINT : 0;
	struct drain_state state = {.left = args->limit, .handled = 0};
	if (room < state.left)
		state.left = (__u32)room;
	args->drained = 0;
	if (state.left == 0)
		return 0;
	long drained = bpf_user_ringbuf_drain(&commands, handle_command, &state, 0);
	args->drained = state.handled;
	return drained < 0 ? (int)drained : 0;
}

EBPFPP_LICENSE("GPL");
