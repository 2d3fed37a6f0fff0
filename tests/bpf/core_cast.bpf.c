// bpf_core_cast: a pointer the verifier knows as the kernel's type (kfunc bpf_rdonly_cast, 6.2),
// whose member loads are then direct and relocated. The kfunc is an extern, so this object has
// both CO-RE relocations and a ksym: the combination tests/integration/core_test.cpp checks.
#include <ebpfpp/bpf.h>
#include <ebpfpp/core.h>

struct task_struct___cast {
	int pid;
	int tgid;
	struct task_struct___cast *real_parent;
} __attribute__((preserve_access_index));

__s64 cast_pid, cast_tgid, cast_parent_tgid;

SEC("syscall")
int read_cast(void *ctx)
{
	struct task_struct___cast *task =
		bpf_core_cast((void *)(long)bpf_get_current_task(), struct task_struct___cast);

	cast_pid = task->pid;
	cast_tgid = task->tgid;
	cast_parent_tgid = task->real_parent->tgid; /* a second direct load, through the cast pointer */
	return 0;
}

EBPFPP_LICENSE("GPL");
