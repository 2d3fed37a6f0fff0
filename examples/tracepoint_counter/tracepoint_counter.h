// Shared by tracepoint_counter.bpf.c and main.cpp.
#pragma once

#define TASK_COMM_LEN 16

// Value of the `calls` map: how often a process called getpid().
struct call_count {
  unsigned long long calls;
  char comm[TASK_COMM_LEN];
};
