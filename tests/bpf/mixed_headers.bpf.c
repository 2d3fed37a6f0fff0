// SPDX-License-Identifier: GPL-2.0
/*
 * <ebpfpp/bpf.h> after the kernel's own UAPI headers, the order bpf.h documents for mixing: its
 * UAPI part must step aside for <linux/bpf.h>, its types for <linux/types.h>, its TC_ACT_* for
 * <linux/pkt_cls.h>, and bpf_perf_event_data / pt_regs for <linux/bpf_perf_event.h>. Headers that
 * may also come after it (<linux/types.h>, <stdbool.h>, <linux/pkt_cls.h>) are included again
 * below. Built like libbpf_headers.bpf.c, with the multiarch include directory.
 */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <ebpfpp/bpf.h>
#include <linux/types.h>
#include <linux/in.h>
#include <stdbool.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tcp_packets SEC(".maps");

SEC("tc")
int count_tcp(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u32 zero = 0;
	__u64 *count;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (ip->protocol != IPPROTO_TCP)
		return TC_ACT_OK;
	count = bpf_map_lookup_elem(&tcp_packets, &zero);
	if (count)
		*count += 1;
	bpf_printk("tcp %pI4 -> %pI4", &ip->saddr, &ip->daddr);
	return TC_ACT_OK;
}

SEC("perf_event")
int sample(struct bpf_perf_event_data *ctx)
{
	bool user = ctx->regs.cs == 0x33;

	bpf_printk("sample ip=%llx user=%d", (__u64)ctx->regs.rip, user);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
