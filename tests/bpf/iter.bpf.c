// Iterator programs for tests/integration/attach_iter_struct_ops_test.cpp: one line per task
// ("<tgid> <tid> <comm>"), and one line per element of a hash map ("<key> <value>").
#include <ebpfpp/bpf.h>

#define __core __attribute__((preserve_access_index))

struct task_struct___iter {
	int pid;
	int tgid;
	char comm[16];
} __core;

// The iterators' contexts (struct bpf_iter__<name> in the kernel): one pointer per u64 slot,
// checked by the verifier against the kernel's own declaration; the last pointers are null in
// the final call, made once after the last object (meta->seq_num then counts the objects).
struct bpf_iter_meta___iter {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __core;

struct bpf_iter__task___iter {
	struct bpf_iter_meta___iter *meta;
	struct task_struct___iter *task;
} __core;

struct bpf_iter__bpf_map_elem___iter {
	struct bpf_iter_meta___iter *meta;
	void *map;
	void *key;
	void *value;
} __core;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} iter_input SEC(".maps");

SEC("iter/task")
int dump_task(struct bpf_iter__task___iter *ctx) {
	struct task_struct___iter *task = ctx->task;
	if (!task) return 0;
	static const char fmt[] = "%d %d %s\n";
	__u64 args[3] = {task->tgid, task->pid, (__u64)(unsigned long)task->comm};
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), args, sizeof(args));
	return 0;
}

SEC("iter/bpf_map_elem")
int dump_map(struct bpf_iter__bpf_map_elem___iter *ctx) {
	__u32 *key = ctx->key;
	__u64 *value = ctx->value;
	if (!key || !value) return 0;
	static const char fmt[] = "%u %llu\n";
	__u64 args[2] = {*key, *value};
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), args, sizeof(args));
	return 0;
}

EBPFPP_LICENSE("GPL");
