// CO-RE against the running kernel, with our headers only (no vmlinux.h): local, partial
// definitions of kernel types with "___flavor" names, relocated by the loader. The programs run
// through BPF_PROG_TEST_RUN (syscall programs, in the test's own thread) and record what they saw
// into globals (core_kernel.h); tests/integration/core_test.cpp checks every value against the
// kernel's BTF or against what the test process knows about itself (pid, parent, rlimits, ...).
//
// Built twice: as core_kernel.bpf.o with <ebpfpp/core.h>, and as core_kernel_libbpf.bpf.o with
// libbpf's <bpf/bpf_helpers.h> and <bpf/bpf_core_read.h> included first (CORE_WITH_LIBBPF): our
// headers must then step aside, and the test checks that both objects carry the same CO-RE
// relocations and see the same values.
#ifdef CORE_WITH_LIBBPF
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#endif
#include <ebpfpp/bpf.h>
#include <ebpfpp/core.h>

#include "core_kernel.h"

#define __core __attribute__((preserve_access_index))

struct sched_entity___mine {
	__u64 vruntime;
} __core;

struct rlimit___mine {
	__u64 rlim_cur;
	__u64 rlim_max;
} __core;

struct signal_struct___mine {
	struct rlimit___mine rlim[16]; /* RLIM_NLIMITS */
} __core;

/* Members in another order than the kernel's, and one the kernel does not have. */
struct task_struct___mine {
	char comm[16];
	int tgid;
	int pid;
	struct task_struct___mine *real_parent;
	struct task_struct___mine *group_leader;
	struct signal_struct___mine *signal;
	struct sched_entity___mine se;
	int static_prio;
	unsigned int sched_reset_on_fork : 1;
	unsigned int in_execve : 1;
	unsigned int in_iowait : 1;
	int ebpfpp_no_such_field;
} __core;

/* The field rename of 5.14 (volatile long state -> unsigned int __state), as tools handle it. */
struct task_struct___old {
	long state;
} __core;
struct task_struct___new {
	unsigned int __state;
} __core;

/* For bpf_core_type_matches: every member exists with a compatible type, or not. Not a char
   array: the kernel builds with -funsigned-char (6.2+) and BPF's char is signed, so the integer
   types differ in signedness and libbpf's rules (ours too) say "no match". */
struct task_struct___match {
	int pid;
	int tgid;
	struct task_struct___match *real_parent; /* behind a pointer only the name counts */
} __core;
struct task_struct___nomatch {
	char *comm; /* an array in the kernel */
} __core;

struct ebpfpp_no_such_type {
	int x;
} __core;

enum pid_type___mine {
	PIDTYPE_MAX___mine = 100, /* 4 in the kernel (PIDTYPE_PID, _TGID, _PGID, _SID, _MAX) */
	EBPFPP_NO_SUCH_PIDTYPE___mine = 101,
};
enum bpf_map_type___mine {
	BPF_MAP_TYPE_RINGBUF___mine = 1000, /* 27 */
};

/* UAPI types in user memory, for the _USER_ reads. */
struct __kernel_timespec___mine {
	long long tv_sec;
	long long tv_nsec;
} __core;
struct sockaddr_un___mine {
	unsigned short sun_family;
	char sun_path[108];
} __core;

struct core_queries queries;
struct core_reads reads;
struct core_direct direct;
struct core_misc misc;
/* Filled with a pattern by the test; write_bitfields changes three bits of it. */
unsigned char scratch[CORE_SCRATCH_SIZE];

/* A pointer chain in our own memory, for BPF_PROBE_READ (no relocation: local types). */
struct chain_node {
	struct chain_node *next;
	long value;
};
struct chain_node chain_a, chain_b, chain_c;
long chain_value = 1; /* set by the test before load */

static __always_inline struct task_struct___mine *current_task(void)
{
	return (struct task_struct___mine *)(long)bpf_get_current_task();
}

SEC("syscall")
int query(void *ctx)
{
	struct task_struct___mine *task = current_task();
	struct task_struct___old *old = (void *)task;
	struct task_struct___new *new = (void *)task;
	struct signal_struct___mine *signal = 0;

	queries.pid_offset = bpf_core_field_offset(task->pid);
	queries.pid_size = bpf_core_field_size(task->pid);
	queries.pid_exists = bpf_core_field_exists(task->pid);
	queries.tgid_offset = bpf_core_field_offset(struct task_struct___mine, tgid);
	queries.comm_offset = bpf_core_field_offset(task->comm);
	queries.comm_size = bpf_core_field_size(struct task_struct___mine, comm);
	queries.comm3_offset = bpf_core_field_offset(task->comm[3]);
	queries.vruntime_offset = bpf_core_field_offset(struct task_struct___mine, se.vruntime);
	queries.rlim_cur7_offset = bpf_core_field_offset(signal->rlim[7].rlim_cur);

	queries.missing_field_exists = bpf_core_field_exists(task->ebpfpp_no_such_field);
	if (bpf_core_field_exists(task->ebpfpp_no_such_field)) /* dead after relocation */
		queries.missing_field_value = BPF_CORE_READ(task, ebpfpp_no_such_field);
	queries.state_exists = bpf_core_field_exists(new->__state);
	queries.old_state_exists = bpf_core_field_exists(old->state);

	queries.task_exists = bpf_core_type_exists(struct task_struct___mine);
	queries.task_size = bpf_core_type_size(struct task_struct___mine);
#if __clang_major__ >= 15 /* clang 14 cannot emit type_matches */
	queries.have_type_matches = 1;
	queries.task_matches = bpf_core_type_matches(struct task_struct___match);
	queries.task_mismatch = bpf_core_type_matches(struct task_struct___nomatch);
#endif
	queries.missing_type_exists = bpf_core_type_exists(struct ebpfpp_no_such_type);
	queries.missing_type_size = bpf_core_type_size(struct ebpfpp_no_such_type);
	queries.task_id_local = bpf_core_type_id_local(struct task_struct___mine);
	queries.task_id_kernel = bpf_core_type_id_kernel(struct task_struct___mine);
	queries.missing_type_id_kernel = bpf_core_type_id_kernel(struct ebpfpp_no_such_type);

	queries.pidtype_max = bpf_core_enum_value(enum pid_type___mine, PIDTYPE_MAX___mine);
	queries.pidtype_max_exists = bpf_core_enum_value_exists(enum pid_type___mine, PIDTYPE_MAX___mine);
	queries.missing_enumerator_exists =
		bpf_core_enum_value_exists(enum pid_type___mine, EBPFPP_NO_SUCH_PIDTYPE___mine);
	if (bpf_core_enum_value_exists(enum pid_type___mine, EBPFPP_NO_SUCH_PIDTYPE___mine))
		queries.missing_enumerator_value =
			bpf_core_enum_value(enum pid_type___mine, EBPFPP_NO_SUCH_PIDTYPE___mine);
	queries.map_type_ringbuf = bpf_core_enum_value(enum bpf_map_type___mine, BPF_MAP_TYPE_RINGBUF___mine);

	queries.bitfield_offset = __builtin_preserve_field_info(task->sched_reset_on_fork, BPF_FIELD_BYTE_OFFSET);
	queries.bitfield_size = __builtin_preserve_field_info(task->sched_reset_on_fork, BPF_FIELD_BYTE_SIZE);
	queries.bitfield_lshift = __builtin_preserve_field_info(task->sched_reset_on_fork, BPF_FIELD_LSHIFT_U64);
	queries.bitfield_rshift = __builtin_preserve_field_info(task->sched_reset_on_fork, BPF_FIELD_RSHIFT_U64);
	queries.bitfield_signed = __builtin_preserve_field_info(task->sched_reset_on_fork, BPF_FIELD_SIGNED);
	return 0;
}

SEC("syscall")
int read_current(struct core_user_input *input)
{
	struct task_struct___mine *task = current_task();
	struct task_struct___old *old = (void *)task;
	struct task_struct___new *new = (void *)task;
	struct __kernel_timespec___mine *timespec = (void *)(long)input->timespec_address;
	struct sockaddr_un___mine *address = (void *)(long)input->sockaddr_un_address;
	int pid = 0;

	reads.read_into_result = BPF_CORE_READ_INTO(&pid, task, pid);
	reads.pid = pid;
	reads.tgid = BPF_CORE_READ(task, tgid);
	reads.parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	reads.leader_pid = BPF_CORE_READ(task, group_leader, pid);
	reads.ancestor9_tgid = BPF_CORE_READ(task, real_parent, real_parent, real_parent, real_parent, real_parent,
					     real_parent, real_parent, real_parent, tgid);
	reads.static_prio = BPF_CORE_READ(task, static_prio);
	reads.nofile_cur = BPF_CORE_READ(task, signal, rlim[7].rlim_cur);
	if (bpf_core_field_exists(new->__state))
		reads.state = BPF_CORE_READ(new, __state);
	else
		reads.state = BPF_CORE_READ(old, state);
	reads.reset_on_fork_probed = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	reads.comm_length = bpf_core_read_str(reads.comm, sizeof(reads.comm), &task->comm);
	reads.parent_comm_length = BPF_CORE_READ_STR_INTO(&reads.parent_comm, task, real_parent, comm);

	reads.user_tv_sec = BPF_CORE_READ_USER(timespec, tv_sec);
	bpf_core_read_user(&reads.user_tv_nsec, sizeof(reads.user_tv_nsec), &timespec->tv_nsec);
	reads.user_family = BPF_CORE_READ_USER(address, sun_family);
	reads.user_path_length = BPF_CORE_READ_USER_STR_INTO(&reads.user_path, address, sun_path);
	return 0;
}

/* Direct loads through a pointer the verifier knows is a task_struct. */
SEC("syscall")
int read_direct(void *ctx)
{
	struct task_struct___mine *task = (void *)bpf_get_current_task_btf();

	direct.reset_on_fork = BPF_CORE_READ_BITFIELD(task, sched_reset_on_fork);
	direct.pid = task->pid;
	return 0;
}

/* BPF_CORE_WRITE_BITFIELD on bytes laid out like the kernel's task_struct (relocated offsets
   into scratch), read back with BPF_CORE_READ_BITFIELD; the test checks every byte of scratch. */
SEC("syscall")
int write_bitfields(void *ctx)
{
	struct task_struct___mine *copy = (void *)scratch;

	BPF_CORE_WRITE_BITFIELD(copy, sched_reset_on_fork, 1);
	BPF_CORE_WRITE_BITFIELD(copy, in_execve, 1);
	BPF_CORE_WRITE_BITFIELD(copy, in_iowait, 0);
	misc.reset_on_fork_written = BPF_CORE_READ_BITFIELD(copy, sched_reset_on_fork);
	misc.in_execve_written = BPF_CORE_READ_BITFIELD(copy, in_execve);
	misc.in_iowait_written = BPF_CORE_READ_BITFIELD(copy, in_iowait);
	return 0;
}

/* The non-relocated BPF_PROBE_READ chain and BPF_CORE_READ_USER_INTO. (bpf_core_cast is in
   core_cast.bpf.c: its kfunc extern must not be in this object, see there.) */
SEC("syscall")
int read_misc(struct core_user_input *input)
{
	struct __kernel_timespec___mine *timespec = (void *)(long)input->timespec_address;
	long long tv_sec = 0;

	chain_a.next = &chain_b;
	chain_b.next = &chain_c;
	chain_c.value = chain_value;
	misc.probe_chain_value = BPF_PROBE_READ(&chain_a, next, next, value);
	misc.user_into_result = BPF_CORE_READ_USER_INTO(&tv_sec, timespec, tv_sec);
	misc.user_into_tv_sec = tv_sec;
	return 0;
}

/* A reachable read of a field the kernel lacks: the loader poisons it and the verifier rejects
   the program; object::load's error must name the relocation. */
SEC("syscall")
int read_missing(void *ctx)
{
	struct task_struct___mine *task = current_task();

	queries.missing_field_value = BPF_CORE_READ(task, ebpfpp_no_such_field);
	return 0;
}

EBPFPP_LICENSE("GPL");
