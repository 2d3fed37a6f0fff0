// execsnoop: one exec_event per exec() on the machine, through a ring buffer.
//
// No bpf_get_current_task() and no CO-RE: everything comes from two tracepoints' contexts, whose
// layouts are the tracefs format files (stable ABI for these fields), and from helpers.
//   - task/task_newtask remembers each new process's parent (current is the parent there);
//   - sched/sched_process_exec builds the event: pid from the context, comm from the helper (it is
//     the new program's name by then), filename through the __data_loc field.
#include <ebpfpp/bpf.h>

#include "execsnoop.h"

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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); // bytes: a power of two, a multiple of the page size
} events SEC(".maps");

// tgid -> parent tgid, for processes created while execsnoop runs (LRU: exits are not tracked).
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} parent_of SEC(".maps");

// Events the ring buffer had no room for (user space prints it: the kernel keeps no such count).
__u64 lost_events;

SEC("tracepoint/task/task_newtask")
int handle_fork(struct task_newtask_args *ctx) {
	if (ctx->clone_flags & CLONE_THREAD)
		return 0; // a thread of the same process
	__u32 child = (__u32)ctx->pid;
	__u32 parent = bpf_get_current_pid_tgid() >> 32;
	if (ctx->clone_flags & CLONE_PARENT) {
		// The child gets the caller's parent.
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
	struct exec_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
	if (!event) {
		__sync_fetch_and_add(&lost_events, 1);
		return 0;
	}
	__u32 pid = (__u32)ctx->pid;
	__u32 *parent = bpf_map_lookup_elem(&parent_of, &pid);
	event->pid = pid;
	event->ppid = parent ? *parent : 0;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	__u16 offset = ctx->filename_loc & 0xffff;
	if (bpf_probe_read_kernel_str(event->filename, sizeof(event->filename), (void *)ctx + offset) < 0)
		event->filename[0] = '\0';
	bpf_ringbuf_submit(event, 0);
	return 0;
}

EBPFPP_LICENSE("GPL");
