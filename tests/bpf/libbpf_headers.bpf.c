// SPDX-License-Identifier: GPL-2.0
/*
 * A program written against libbpf's headers only (<linux/bpf.h> + <bpf/bpf_helpers.h> from
 * libbpf-dev), as code ported from other projects looks. It needs -I/usr/include/x86_64-linux-gnu
 * for <asm/types.h>, so tests/bpf/meson.build builds it with its own custom_target. It proves our
 * BPF flags do not break such code (and gives the loader an object produced the libbpf way).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} bytes_by_ifindex SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u32 ifindex = skb->ifindex;
	__u64 *count = bpf_map_lookup_elem(&packets, &zero);
	__u64 *bytes;

	if (count)
		__sync_fetch_and_add(count, 1);
	bytes = bpf_map_lookup_elem(&bytes_by_ifindex, &ifindex);
	if (bytes) {
		__sync_fetch_and_add(bytes, skb->len);
	} else {
		__u64 initial = skb->len;
		bpf_map_update_elem(&bytes_by_ifindex, &ifindex, &initial, BPF_NOEXIST);
	}
	return 1; /* allow */
}

char LICENSE[] SEC("license") = "GPL";
