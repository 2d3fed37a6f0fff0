// Shared by core_kernel.bpf.c and tests/integration/core_test.cpp: what the CO-RE programs saw,
// relocated against the running kernel. Every field is a __u64 so the layout is the same on both
// sides without padding rules.
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

// Field, type and enumerator queries (no memory read): the values the loader patched in.
struct core_queries {
	__u64 pid_offset, pid_size, pid_exists;       /* task_struct.pid (through ___mine) */
	__u64 tgid_offset, comm_offset, comm_size;
	__u64 comm3_offset;                           /* &task->comm[3]: array element offset */
	__u64 vruntime_offset;                        /* task_struct.se.vruntime, the (type, path) form */
	__u64 rlim_cur7_offset;                       /* signal_struct.rlim[7].rlim_cur */
	__u64 missing_field_exists;                   /* a field no kernel has: 0 */
	__u64 missing_field_value;                    /* read only when it exists: stays 0 */
	__u64 state_exists, old_state_exists;         /* __state (5.14+) vs state (before) */
	__u64 task_exists, task_size;
	__u64 have_type_matches;                      /* 0 when built by clang 14 (no type_matches) */
	__u64 task_matches, task_mismatch;
	__u64 missing_type_exists, missing_type_size;
	__u64 task_id_local, task_id_kernel, missing_type_id_kernel;
	__u64 pidtype_max, pidtype_max_exists, missing_enumerator_exists, missing_enumerator_value;
	__u64 map_type_ringbuf;                       /* enum bpf_map_type: from a flavored enum */
	/* task_struct.sched_reset_on_fork (a 1-bit bitfield) as the loader described it */
	__u64 bitfield_offset, bitfield_size, bitfield_lshift, bitfield_rshift, bitfield_signed;
};

// Reads of the current task (the test's thread) and of memory the test passed in.
struct core_reads {
	__s64 pid, tgid;                 /* BPF_CORE_READ(task, pid) */
	__s64 parent_tgid;               /* BPF_CORE_READ(task, real_parent, tgid): getppid() */
	__s64 leader_pid;                /* BPF_CORE_READ(task, group_leader, pid): getpid() */
	__s64 ancestor9_tgid;            /* nine levels: real_parent x8, then tgid */
	__s64 static_prio;               /* 120 + nice */
	__u64 nofile_cur;                /* BPF_CORE_READ(task, signal, rlim[7].rlim_cur): RLIMIT_NOFILE */
	__u64 state;                     /* __state of a running task: 0 */
	__u64 reset_on_fork_probed;      /* BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork) */
	__s64 read_into_result;          /* BPF_CORE_READ_INTO's result: 0 */
	__s64 comm_length;               /* bpf_core_read_str's result: strlen + 1 */
	__s64 parent_comm_length;        /* BPF_CORE_READ_STR_INTO's result */
	char comm[16];                   /* bpf_core_read_str(&task->comm) */
	char parent_comm[16];            /* BPF_CORE_READ_STR_INTO(task, real_parent, comm) */
	/* BPF_CORE_READ_USER and friends on user memory holding kernel (UAPI) types */
	__s64 user_tv_sec, user_tv_nsec;
	__u64 user_family;
	__s64 user_path_length;
	char user_path[32];
};

// Reads through a BTF pointer (bpf_get_current_task_btf): direct loads, no helper.
struct core_direct {
	__u64 reset_on_fork;             /* BPF_CORE_READ_BITFIELD */
	__s64 pid;                       /* task->pid, a plain relocated load */
};

// Macros beyond plain reads: bitfield writes (on a scratch copy of task_struct's bytes in
// .bss), the non-CO-RE BPF_PROBE_READ chain, BPF_CORE_READ_USER_INTO; bpf_core_cast
// (core_cast.bpf.c).
#define CORE_SCRATCH_SIZE 16384 /* more than sizeof(struct task_struct): 9792 on Debian 6.1 */
struct core_misc {
	__u64 reset_on_fork_written;     /* BPF_CORE_READ_BITFIELD after BPF_CORE_WRITE_BITFIELD(.., 1) */
	__u64 in_execve_written;         /* the same with 1 */
	__u64 in_iowait_written;         /* the same with 0 */
	__s64 probe_chain_value;         /* BPF_PROBE_READ(&chain_a, next, next, value) */
	__s64 user_into_result;          /* BPF_CORE_READ_USER_INTO's result: 0 */
	__s64 user_into_tv_sec;
};

// The context of read_current (BPF_PROG_TEST_RUN ctx): user addresses for the _USER_ reads.
struct core_user_input {
	__u64 timespec_address;          /* struct __kernel_timespec */
	__u64 sockaddr_un_address;       /* struct sockaddr_un */
};
