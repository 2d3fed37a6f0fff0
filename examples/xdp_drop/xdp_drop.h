// Shared by xdp_drop.bpf.c and main.cpp: the layout of the `counters` map.
#pragma once

enum xdp_drop_counter {
  COUNTER_UDP_DROPPED = 0,  // IPv4 UDP datagrams to a blocked port: dropped
  COUNTER_UDP_PASSED = 1,   // other IPv4 UDP datagrams: passed
  COUNTER_OTHER = 2,        // every other frame: passed
  COUNTER_COUNT = 3,
};
