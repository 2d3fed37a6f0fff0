// Externs resolved at load time: __kconfig values (real CONFIG_ ones, libbpf's LINUX_ virtual
// ones, weak missing ones) and __ksym variables (typed, typeless, missing weak) and kfuncs (real,
// missing weak behind bpf_ksym_exists). Both programs run through BPF_PROG_TEST_RUN and write
// what they saw into globals (externs.h).
#include <ebpfpp/bpf.h>

#include "externs.h"

extern int CONFIG_HZ __kconfig;
extern unsigned int CONFIG_NR_CPUS __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern enum libbpf_tristate CONFIG_EBPFPP_NO_SUCH_OPTION __kconfig __weak;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_BPF_COOKIE __kconfig;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern int LINUX_EBPFPP_UNKNOWN __kconfig __weak;

struct task_struct;
/* typeless: an address from kallsyms (a function: this kernel lists no data symbols there) */
extern const void bpf_prog_put __ksym;
extern const int bpf_prog_active __ksym;             /* typed per-CPU variable */
extern const int ebpfpp_no_such_var __ksym __weak;
extern struct task_struct *bpf_task_from_pid(int pid) __ksym;
extern void bpf_task_release(struct task_struct *task) __ksym __weak;
extern int ebpfpp_no_such_kfunc(int value) __ksym __weak;

struct kconfig_report kconfig_seen;
int lookup_pid = 1; /* set by the test: its own pid */
struct ksym_report ksym_seen;

SEC("syscall")
int read_kconfig(void *ctx) {
	kconfig_seen.hz = CONFIG_HZ;
	kconfig_seen.nr_cpus = CONFIG_NR_CPUS;
	kconfig_seen.bpf_syscall = CONFIG_BPF_SYSCALL;
	kconfig_seen.bpf_jit_tristate = CONFIG_BPF_JIT;
	kconfig_seen.missing_tristate = CONFIG_EBPFPP_NO_SUCH_OPTION;
	kconfig_seen.kernel_version = LINUX_KERNEL_VERSION;
	kconfig_seen.has_bpf_cookie = LINUX_HAS_BPF_COOKIE;
	kconfig_seen.has_syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	kconfig_seen.unknown_linux_weak = LINUX_EBPFPP_UNKNOWN;
	__builtin_memcpy(kconfig_seen.hostname, CONFIG_DEFAULT_HOSTNAME, sizeof(kconfig_seen.hostname));
	return 0;
}

SEC("syscall")
int use_ksyms(void *ctx) {
	ksym_seen.typeless_address = (__u64)&bpf_prog_put;
	ksym_seen.missing_var_address = (__u64)&ebpfpp_no_such_var;
	struct task_struct *init = bpf_task_from_pid(lookup_pid);
	if (init) {
		ksym_seen.init_found = 1;
		bpf_task_release(init);
	}
	ksym_seen.real_kfunc_exists = bpf_ksym_exists(bpf_task_release);
	if (bpf_ksym_exists(ebpfpp_no_such_kfunc)) {
		ksym_seen.weak_kfunc_exists = 1;
		return ebpfpp_no_such_kfunc(1); /* poisoned: the verifier prunes it as dead code */
	}
	return 0;
}

/* A typed kernel variable: the kernel looks its address up in kallsyms, which lists data symbols
   only with CONFIG_KALLSYMS_ALL. */
SEC("syscall")
int use_typed_ksym(void *ctx) {
	const int *active = bpf_this_cpu_ptr(&bpf_prog_active);
	if (*active >= 0)
		ksym_seen.prog_active_read = 1;
	return 0;
}

EBPFPP_LICENSE("GPL");
