// Shared between loader.bpf.c and the tests that run it.
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

enum {
  RESULT_TRIPLE = 0,
  RESULT_GLOBAL_HELPER = 1,
  RESULT_LOOP_SUM = 2,
  RESULT_DATA_COUNTER = 3,
  RESULT_COUNT = 8,
};

struct loader_args {
  __u64 input;
  __u32 loops;
  __u32 pad;
  __u64 output;
};
