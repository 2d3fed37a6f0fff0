// Shared by tc_counter.bpf.c and main.cpp: the layout of the `packets` and `bytes` maps.
// Index = direction * PROTO_COUNT + protocol.
#pragma once

enum tc_counter_protocol {
  PROTO_IPV4_TCP = 0,
  PROTO_IPV4_UDP = 1,
  PROTO_IPV4_ICMP = 2,
  PROTO_IPV4_OTHER = 3,
  PROTO_IPV6 = 4,
  PROTO_ARP = 5,
  PROTO_OTHER = 6,
  PROTO_COUNT = 7,
};

enum tc_counter_direction {
  DIRECTION_INGRESS = 0,
  DIRECTION_EGRESS = 1,
  DIRECTION_COUNT = 2,
};
