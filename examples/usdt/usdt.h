// usdt example: what the eBPF program and main.cpp share.
#pragma once

#ifdef __cplusplus
#include <cstdint>
typedef std::int64_t usdt_example_s64;
#else
typedef __s64 usdt_example_s64;
#endif

#define USDT_EXAMPLE_MAX_TICKS 64

// One firing of ebpfpp_example:tick, its three arguments decoded by bpf_usdt_arg().
struct tick_event {
  usdt_example_s64 number;  // int: "-4@..."
  usdt_example_s64 square;  // long: "-8@..."
  char label[16];           // char *: the string it points to, read from the process
};
