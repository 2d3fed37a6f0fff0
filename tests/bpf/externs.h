// Shared by externs.bpf.c and tests/integration/extern_test.cpp: what the programs report.
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

struct kconfig_report {
	__u64 hz;                /* CONFIG_HZ (int) */
	__u64 nr_cpus;           /* CONFIG_NR_CPUS (u32) */
	__u64 bpf_syscall;       /* CONFIG_BPF_SYSCALL (bool) */
	__u64 bpf_jit_tristate;  /* CONFIG_BPF_JIT (enum libbpf_tristate) */
	__u64 missing_tristate;  /* CONFIG_EBPFPP_NO_SUCH_OPTION (weak): 0 */
	__u64 kernel_version;    /* LINUX_KERNEL_VERSION */
	__u64 has_bpf_cookie;    /* LINUX_HAS_BPF_COOKIE */
	__u64 has_syscall_wrapper; /* LINUX_HAS_SYSCALL_WRAPPER */
	__u64 unknown_linux_weak;  /* LINUX_EBPFPP_UNKNOWN (weak): 0 */
	char hostname[16];       /* CONFIG_DEFAULT_HOSTNAME (char[16]) */
};

struct ksym_report {
	__u64 typeless_address;    /* &bpf_prog_put (typeless __ksym): the kallsyms address */
	__u64 missing_var_address; /* &ebpfpp_no_such_var (weak): 0 */
	__u64 prog_active_read;    /* 1 once *bpf_this_cpu_ptr(&bpf_prog_active) was read */
	__u64 init_found;          /* bpf_task_from_pid(1) (kfunc) found a task */
	__u64 weak_kfunc_exists;   /* bpf_ksym_exists(a weak kfunc the kernel lacks): 0 */
	__u64 real_kfunc_exists;   /* bpf_ksym_exists(bpf_task_release, weak here): 1 */
};
