// Shared by perf_buffer.bpf.c and main.cpp: one sample of the `events` perf event array per exec().
#pragma once

#define PERF_BUFFER_COMM_LEN 16
#define PERF_BUFFER_FILENAME_LEN 256

// The CPU is not in the sample: every CPU has its own ring, and the reader tells which one a
// sample came from (ebpf::async::perf_record::cpu).
struct exec_event {
  unsigned int pid;   // the process that called exec (its tgid)
  unsigned int ppid;  // its parent when it was created; 0 when it was created before the example
  char comm[PERF_BUFFER_COMM_LEN];          // the command name after the exec, NUL-terminated
  char filename[PERF_BUFFER_FILENAME_LEN];  // the path given to exec, NUL-terminated (truncated)
};
