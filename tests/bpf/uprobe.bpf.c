// Uprobe-family programs for tests/integration/uprobe_test.cpp. The probed functions live in the
// test executable (extern "C", noinline); each program records what it saw in globals.
#include <ebpfpp/bpf.h>
#include <ebpfpp/usdt.h>

__u64 entry_hits;
__u64 entry_cookie;
__u64 entry_args[2];
__u64 return_hits;
__s64 return_value;
__u64 multi_hits[4];  // indexed by the BPF cookie (1..3)
__u64 multi_other;    // hits whose cookie was out of range
__u64 session_entries;
__u64 session_returns;
__u64 sleepable_hits;
char sleepable_text[32];
__u64 section_hits;
__u64 usdt_hits;
__s32 usdt_arg_count;
__u64 usdt_cookie;
long usdt_args[12];
int usdt_errors;
int usdt_missing_arg;  // bpf_usdt_arg past the last argument

extern bool bpf_session_is_return(void) __ksym __weak;

SEC("uprobe")
int on_entry(struct pt_regs *ctx) {
  __sync_fetch_and_add(&entry_hits, 1);
  entry_cookie = bpf_get_attach_cookie(ctx);
  entry_args[0] = ctx->rdi;
  entry_args[1] = ctx->rsi;
  return 0;
}

SEC("uretprobe")
int on_return(struct pt_regs *ctx) {
  __sync_fetch_and_add(&return_hits, 1);
  return_value = (__s64)ctx->rax;
  return 0;
}

SEC("uprobe.multi")
int on_multi(struct pt_regs *ctx) {
  __u64 cookie = bpf_get_attach_cookie(ctx);
  if (cookie < 4)
    __sync_fetch_and_add(&multi_hits[cookie], 1);
  else
    __sync_fetch_and_add(&multi_other, 1);
  return 0;
}

// A session program runs at entry and, when it returns 0 there, at return too.
SEC("uprobe.session")
int on_session(struct pt_regs *ctx) {
  if (bpf_session_is_return())
    __sync_fetch_and_add(&session_returns, 1);
  else
    __sync_fetch_and_add(&session_entries, 1);
  return 0;
}

// Sleepable: may fault user memory in (bpf_copy_from_user), which a plain uprobe cannot.
SEC("uprobe.s")
int on_sleepable(struct pt_regs *ctx) {
  __sync_fetch_and_add(&sleepable_hits, 1);
  bpf_copy_from_user(sleepable_text, sizeof(sleepable_text) - 1, (const void *)ctx->rdi);
  return 0;
}

// Attached by program::attach() from the section: /proc/self/exe is the test executable both
// for our ELF lookup and for the kernel (which resolves the path when the probe is created).
SEC("uprobe//proc/self/exe:uprobe_test_section_target")
int on_section(struct pt_regs *ctx) {
  __sync_fetch_and_add(&section_hits, 1);
  return 0;
}

static __always_inline void record_usdt(struct pt_regs *ctx) {
  long value;
  __sync_fetch_and_add(&usdt_hits, 1);
  usdt_arg_count = bpf_usdt_arg_cnt(ctx);
  usdt_cookie = bpf_usdt_cookie(ctx);
  for (int i = 0; i < 12; i++) {
    if (i >= usdt_arg_count) break;
    if (bpf_usdt_arg(ctx, i, &value))
      usdt_errors++;
    else
      usdt_args[i] = value;
  }
  usdt_missing_arg = bpf_usdt_arg(ctx, usdt_arg_count, &value);
}

// SEC("usdt"): the loader loads it for uprobe_multi when the kernel has those links (6.6), and
// attach_usdt then picks one uprobe_multi link; one uprobe per site before.
SEC("usdt")
int on_usdt(struct pt_regs *ctx) {
  record_usdt(ctx);
  return 0;
}

// A plain uprobe program: one uprobe per site on every kernel.
SEC("uprobe")
int on_usdt_uprobe(struct pt_regs *ctx) {
  record_usdt(ctx);
  return 0;
}

// Loaded for uprobe_multi on every kernel: one uprobe_multi link (6.6).
SEC("uprobe.multi")
int on_usdt_multi(struct pt_regs *ctx) {
  record_usdt(ctx);
  return 0;
}

EBPFPP_LICENSE("GPL");
