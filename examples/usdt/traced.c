/* usdt_traced: a tiny program with one USDT probe, ebpfpp_example:tick(int number, long square,
 * const char *label), fired `ticks` times (argument 1, default 5). It first waits for one byte
 * on stdin, so whoever started it can attach before the first tick. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int ticks = argc > 1 ? atoi(argv[1]) : 5;
  char go;
  if (read(0, &go, 1) != 1) return 2;
  for (int i = 0; i < ticks; i++) {
    char label[16];
    long square = (long)i * i;
    snprintf(label, sizeof label, "tick-%d", i);
    DTRACE_PROBE3(ebpfpp_example, tick, i, square, label);
  }
  return 0;
}
