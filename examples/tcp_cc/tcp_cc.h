/* The counters the tcp_cc example's congestion control keeps, shared by tcp_cc.bpf.c and
 * main.cpp (global `stats` in .bss). */
#ifndef EBPFPP_EXAMPLE_TCP_CC_H
#define EBPFPP_EXAMPLE_TCP_CC_H

#ifdef __cplusplus
#include <cstdint>
typedef std::uint64_t tcp_cc_u64;
#else
typedef __u64 tcp_cc_u64;
#endif

/* The name the congestion control registers under (TCP_CA_NAME_MAX = 16 with the NUL). */
#define TCP_CC_NAME "ebpfpp_reno"

struct tcp_cc_stats {
	tcp_cc_u64 init;        /* sockets that started using it */
	tcp_cc_u64 cong_avoid;  /* ACKs while cwnd-limited: the congestion avoidance step */
	tcp_cc_u64 ssthresh;    /* losses (slow start threshold recomputed) */
	tcp_cc_u64 acked;       /* segments acknowledged in cong_avoid calls */
	tcp_cc_u64 max_cwnd;    /* largest congestion window seen, in segments */
	tcp_cc_u64 release;     /* sockets that stopped using it */
};

#endif
