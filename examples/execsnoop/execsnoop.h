// Shared by execsnoop.bpf.c and main.cpp: one record of the `events` ring buffer per exec().
#pragma once

#define EXECSNOOP_COMM_LEN 16
#define EXECSNOOP_FILENAME_LEN 256

struct exec_event {
  unsigned int pid;   // the process that called exec (its tgid)
  unsigned int ppid;  // its parent when it was created; 0 when it was created before execsnoop
  char comm[EXECSNOOP_COMM_LEN];          // the command name after the exec, NUL-terminated
  char filename[EXECSNOOP_FILENAME_LEN];  // the path given to exec, NUL-terminated (truncated)
};
