// Shared by user_ringbuf.bpf.c and main.cpp: a tiny key-value store in the kernel, driven by
// commands user space writes into a user ring buffer; the program answers each command with a
// reply in a ring buffer.
#pragma once

// Ring sizes in bytes (powers of two, multiples of the page size). A command takes 32 bytes of
// its ring (8-byte header + 24), so 128 commands fill `commands`; a reply takes 40.
#define USER_RINGBUF_COMMAND_BYTES 4096
#define USER_RINGBUF_REPLY_BYTES 16384
#define USER_RINGBUF_REPLY_FOOTPRINT 40

enum command_op {
  OP_SET = 1,     // store[key] = value
  OP_ADD = 2,     // store[key] += value (a missing key counts as 0); replies with the new value
  OP_GET = 3,     // replies with store[key]
  OP_DELETE = 4,  // removes key
};

enum reply_status {
  STATUS_OK = 0,
  STATUS_NOT_FOUND = 1,    // GET or DELETE of a missing key
  STATUS_BAD_COMMAND = 2,  // unknown op, or a record that is not a command
  STATUS_FULL = 3,         // the store has no room for a new key
};

// One record of the user ring buffer `commands`.
struct command {
  unsigned long long seq;  // echoed in the reply
  unsigned int op;         // enum command_op
  unsigned int key;
  long long value;
};

// One record of the ring buffer `replies`.
struct reply {
  unsigned long long seq;
  unsigned int op;
  unsigned int key;
  long long value;      // the key's value after the command (GET, SET, ADD)
  unsigned int status;  // enum reply_status
  unsigned int reserved;
};

// The context of the `serve` syscall program (BPF_PROG_TEST_RUN passes it in and copies it back).
struct serve_args {
  unsigned int limit;    // in: drain at most this many commands
  unsigned int drained;  // out: commands drained
};
