// uprobe_malloc: what the eBPF program and main.cpp share.
#pragma once

#ifdef __cplusplus
#include <cstdint>
typedef std::uint64_t malloc_u64;
#else
typedef __u64 malloc_u64;
#endif

// Totals of every malloc() call the traced process made while the probe was attached.
struct malloc_totals {
  malloc_u64 calls;
  malloc_u64 bytes;
};

#define UPROBE_MALLOC_MAX_SIZES 1024  // distinct request sizes kept in `by_size`
