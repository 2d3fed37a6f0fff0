// BPF streams (6.17): a program writing lines to its own stdout and stderr with
// bpf_stream_printk, read back by ebpf::program::read_stream and ebpf::async::stream_reader.
// It records what each bpf_stream_printk returned (0, or the kernel's -errno) in `results`.
#include <ebpfpp/bpf.h>

__u32 runs;
__s64 results[3];

SEC("syscall")
int write_streams(void *ctx) {
	__u32 run = ++runs;
	results[0] = bpf_stream_printk(BPF_STDOUT, "run %u: hello from the program\n", run);
	results[1] = bpf_stream_printk(BPF_STDOUT, "run %u: %d + %d = %d\n", run, 2, 3, 5);
	results[2] = bpf_stream_printk(BPF_STDERR, "run %u: a warning\n", run);
	return 0;
}

EBPFPP_LICENSE("GPL");
