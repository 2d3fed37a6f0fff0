// Shared by cgroup_skb.bpf.c and main.cpp: the layout of the `counters` map.
#pragma once

enum cgroup_skb_counter {
  COUNTER_PASSED = 0,   // IPv4 packets let through
  COUNTER_DROPPED = 1,  // IPv4 packets from a blocked source address
  COUNTER_COUNT = 2,
};
