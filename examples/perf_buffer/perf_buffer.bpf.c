// perf_buffer: execsnoop's exec events, sent through a perf event array instead of a ring buffer.
//
// bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, ...) writes the sample into the ring of
// the CPU the program runs on; user space opens one perf event and ring per CPU and stores the
// events' fds in the map (ebpf::perf_buffer does). The sample is built on the stack (280 bytes of
// the 512) and copied: unlike bpf_ringbuf_reserve there is no writing in place.
//
// When a CPU's ring is full the kernel drops the sample, the helper returns -ENOSPC, and the
// kernel writes a PERF_RECORD_LOST with the count before the next sample that fits: user space
// sees the losses late, and only if another sample comes. The program also counts its failed
// outputs itself (output_failed), which is exact at any time.
//
// Tracepoint contexts are read by their tracefs format layouts (no CO-RE), as in execsnoop.
#include <ebpfpp/bpf.h>

#include "perf_buffer.h"

#define CLONE_PARENT 0x00008000
#define CLONE_THREAD 0x00010000

// /sys/kernel/tracing/events/sched/sched_process_exec/format
struct sched_process_exec_args {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__u32 filename_loc; // __data_loc char[]: offset from the context start (low 16 bits), length (high 16)
	__s32 pid;
	__s32 old_pid;
};

// /sys/kernel/tracing/events/task/task_newtask/format
struct task_newtask_args {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__s32 pid;
	char comm[16];
	__u64 clone_flags;
	__s16 oom_score_adj;
};

// Key: a CPU number; value: a perf event fd that user space puts there. max_entries is left out:
// the loader makes it the number of possible CPUs (as libbpf does).
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

// tgid -> parent tgid, for processes created while the example runs (LRU: exits are not tracked).
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} parent_of SEC(".maps");

// Samples bpf_perf_event_output could not write (the CPU's ring was full, or had no reader).
__u64 output_failed;

SEC("tracepoint/task/task_newtask")
int handle_fork(struct task_newtask_args *ctx) {
	if (ctx->clone_flags & CLONE_THREAD)
		return 0; // a thread of the same process
	__u32 child = (__u32)ctx->pid;
	__u32 parent = bpf_get_current_pid_tgid() >> 32;
	if (ctx->clone_flags & CLONE_PARENT) {
		__u32 *grandparent = bpf_map_lookup_elem(&parent_of, &parent);
		if (!grandparent)
			return 0;
		parent = *grandparent;
	}
	bpf_map_update_elem(&parent_of, &child, &parent, BPF_ANY);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct sched_process_exec_args *ctx) {
	struct exec_event event = {};
	__u32 pid = (__u32)ctx->pid;
	__u32 *parent = bpf_map_lookup_elem(&parent_of, &pid);
	event.pid = pid;
	event.ppid = parent ? *parent : 0;
	bpf_get_current_comm(event.comm, sizeof(event.comm));
	__u16 offset = ctx->filename_loc & 0xffff;
	if (bpf_probe_read_kernel_str(event.filename, sizeof(event.filename), (void *)ctx + offset) < 0)
		event.filename[0] = '\0';
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &event, sizeof(event)) < 0)
		__sync_fetch_and_add(&output_failed, 1);
	return 0;
}

EBPFPP_LICENSE("GPL");
