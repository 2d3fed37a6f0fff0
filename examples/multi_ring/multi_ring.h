// Shared by multi_ring.bpf.c and main.cpp: the records of the three ring buffers. Each ring has
// its own record type; time_ns (bpf_ktime_get_ns, CLOCK_MONOTONIC) orders records across rings.
#pragma once

#define MULTI_RING_COMM_LEN 16
#define MULTI_RING_FILENAME_LEN 256

// Ring `forks`: a process created a process (threads are left out).
struct fork_event {
  unsigned long long time_ns;
  unsigned int parent;  // tgid of the creating process
  unsigned int child;   // tgid of the new process
  char comm[MULTI_RING_COMM_LEN];  // the parent's command name
};

// Ring `execs`: a process called exec.
struct exec_event {
  unsigned long long time_ns;
  unsigned int pid;
  unsigned int reserved;  // explicit padding: both compilers see the same layout
  char comm[MULTI_RING_COMM_LEN];          // after the exec
  char filename[MULTI_RING_FILENAME_LEN];  // the path given to exec (truncated)
};

// Ring `exits`: a process called exit_group(code), i.e. exited normally.
struct exit_event {
  unsigned long long time_ns;
  unsigned int pid;
  int code;  // the exit status (0..255)
  char comm[MULTI_RING_COMM_LEN];
};

// Order of the rings in the multiplexing reader, and the index of their loss counters.
enum { RING_FORKS = 0, RING_EXECS = 1, RING_EXITS = 2, RING_COUNT = 3 };
