// A program that needs a kfunc no kernel has, next to one that needs nothing: the first must fail
// alone (with an error naming the kfunc), and must not stop the second from loading when it is
// not asked for (its autoload is off). libbpf fails the whole object here.
#include <ebpfpp/bpf.h>

extern int ebpfpp_missing_kfunc(int value) __ksym;

__u64 runs;

SEC("?syscall")
int needs_missing_kfunc(void *ctx) {
	return ebpfpp_missing_kfunc(1);
}

SEC("syscall")
int needs_nothing(void *ctx) {
	runs++;
	return 0;
}

EBPFPP_LICENSE("GPL");
