// tracepoint_counter: count getpid() calls per process with a tracepoint program (sync, no Asio).
//
//   tracepoint_counter [--seconds N] [--self] [--object FILE]
//
// Attaches `count_getpid` to syscalls:sys_enter_getpid and prints the per-process counts from the
// `calls` hash map every second. --self sets the .rodata global `only_tgid` before load so only
// this process is counted, and calls getpid() itself so there is something to see.
#include <ebpf/ebpf.hpp>

#include "tracepoint_counter.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {

std::string directory_of_executable() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return ".";
  std::string result(path, static_cast<std::size_t>(length));
  return result.substr(0, result.rfind('/'));
}

}  // namespace

int main(int argc, char** argv) try {
  int seconds = 3;
  bool only_self = false;
  std::string object_path = directory_of_executable() + "/tracepoint_counter.bpf.o";
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--seconds" && i + 1 < argc) seconds = std::stoi(argv[++i]);
    else if (argument == "--self") only_self = true;
    else if (argument == "--object" && i + 1 < argc) object_path = argv[++i];
    else throw std::runtime_error("unknown argument '" + argument + "'");
  }

  auto object = ebpf::object::open(object_path);
  if (only_self) object.set_global("only_tgid", static_cast<std::uint32_t>(getpid()));
  object.load();
  ebpf::link link = object.program("count_getpid").attach();  // where SEC("tracepoint/...") says

  auto calls = object.map<ebpf::hash_map<std::uint32_t, call_count>>("calls");
  for (int second = 0; second < seconds; ++second) {
    if (only_self)
      for (int i = 0; i < 100; ++i) (void)getpid();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::printf("--- after %d s\n", second + 1);
    for (const auto& [tgid, count] : calls.items())
      std::printf("%8u %-16.16s %llu\n", tgid, count.comm, static_cast<unsigned long long>(count.calls));
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tracepoint_counter: %s\n", e.what());
  return 1;
}
