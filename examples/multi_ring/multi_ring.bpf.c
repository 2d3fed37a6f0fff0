// multi_ring: three programs, each writing its own record type into its own ring buffer:
//   task/task_newtask          -> forks (fork_event)
//   sched/sched_process_exec   -> execs (exec_event)
//   syscalls/sys_enter_exit_group -> exits (exit_event, with the exit status)
// Tracepoint contexts are read by their tracefs format layouts (no CO-RE), as in execsnoop.
#include <ebpfpp/bpf.h>

#include "multi_ring.h"

#define CLONE_THREAD 0x00010000

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

// /sys/kernel/tracing/events/syscalls/sys_enter_exit_group/format
struct sys_enter_exit_group_args {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	__s32 syscall_nr;
	__u32 pad;
	__u64 error_code; // the status passed to exit_group()
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} forks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} exits SEC(".maps");

// Records a ring had no room for, per ring (RING_FORKS, RING_EXECS, RING_EXITS).
__u64 lost[RING_COUNT];

SEC("tracepoint/task/task_newtask")
int handle_fork(struct task_newtask_args *ctx) {
	if (ctx->clone_flags & CLONE_THREAD)
		return 0;
	struct fork_event *event = bpf_ringbuf_reserve(&forks, sizeof(*event), 0);
	if (!event) {
		__sync_fetch_and_add(&lost[RING_FORKS], 1);
		return 0;
	}
	event->time_ns = bpf_ktime_get_ns();
	event->parent = bpf_get_current_pid_tgid() >> 32;
	event->child = (__u32)ctx->pid;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	bpf_ringbuf_submit(event, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct sched_process_exec_args *ctx) {
	struct exec_event *event = bpf_ringbuf_reserve(&execs, sizeof(*event), 0);
	if (!event) {
		__sync_fetch_and_add(&lost[RING_EXECS], 1);
		return 0;
	}
	event->time_ns = bpf_ktime_get_ns();
	event->pid = (__u32)ctx->pid;
	event->reserved = 0;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	__u16 offset = ctx->filename_loc & 0xffff;
	if (bpf_probe_read_kernel_str(event->filename, sizeof(event->filename), (void *)ctx + offset) < 0)
		event->filename[0] = '\0';
	bpf_ringbuf_submit(event, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_exit_group")
int handle_exit(struct sys_enter_exit_group_args *ctx) {
	struct exit_event *event = bpf_ringbuf_reserve(&exits, sizeof(*event), 0);
	if (!event) {
		__sync_fetch_and_add(&lost[RING_EXITS], 1);
		return 0;
	}
	event->time_ns = bpf_ktime_get_ns();
	event->pid = bpf_get_current_pid_tgid() >> 32;
	event->code = (int)(ctx->error_code & 0xff); // what wait() reports as the exit status
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	bpf_ringbuf_submit(event, 0);
	return 0;
}

EBPFPP_LICENSE("GPL");
