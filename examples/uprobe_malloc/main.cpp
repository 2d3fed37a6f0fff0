// uprobe_malloc: count the malloc() calls of a process this example starts, with a uprobe on
// libc's malloc filtered to that process.
//
//   uprobe_malloc [--calls N] [--size BYTES] [--object FILE] [-- COMMAND [ARGS...]]
//
// Without a command the child makes N malloc(BYTES) calls (default 100 x 4242) and exits; with
// one, the child runs it. Either way the child waits on a pipe until the probe is attached, so no
// call is missed, and the example prints the totals and the most frequent request sizes.
#include <ebpf/ebpf.hpp>

#include "uprobe_malloc.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::string directory_of_executable() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return ".";
  std::string result(path, static_cast<std::size_t>(length));
  return result.substr(0, result.rfind('/'));
}

// Through a volatile pointer, so the compiler cannot drop the malloc/free pairs.
void* (*volatile allocate)(std::size_t) = std::malloc;

}  // namespace

int main(int argc, char** argv) try {
  long calls = 100;
  std::size_t size = 4242;
  std::string object_path = directory_of_executable() + "/uprobe_malloc.bpf.o";
  std::vector<char*> command;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--calls" && i + 1 < argc) calls = std::stol(argv[++i]);
    else if (argument == "--size" && i + 1 < argc) size = std::stoul(argv[++i]);
    else if (argument == "--object" && i + 1 < argc) object_path = argv[++i];
    else if (argument == "--") { command.assign(argv + i + 1, argv + argc); break; }
    else throw std::runtime_error("unknown argument '" + argument + "'");
  }
  command.push_back(nullptr);

  // 1. Start the child, held on a pipe until the probe is in place.
  int go[2];
  if (pipe(go) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    close(go[1]);
    char byte;
    if (read(go[0], &byte, 1) != 1) _exit(2);
    if (command.front() != nullptr) {
      execvp(command.front(), command.data());
      _exit(127);
    }
    for (long i = 0; i < calls; ++i) std::free(allocate(size));
    _exit(0);
  }
  close(go[0]);

  // 2. Load, and attach to malloc in libc for that pid only ("libc.so.6" is looked up in
  //    /proc/<pid>/maps, so it is the very file the child uses).
  auto object = ebpf::object::open(object_path);
  object.load();
  ebpf::link probe = object.program("count_malloc").attach_uprobe(
      {.binary = "libc.so.6", .function = "malloc", .pid = child});

  // 3. Let the child run, and wait for it.
  if (write(go[1], "x", 1) != 1) throw std::runtime_error("cannot start the child");
  close(go[1]);
  int status = 0;
  waitpid(child, &status, 0);

  // 4. Report.
  auto totals = object.global<malloc_totals>("totals");
  std::printf("child %d exited with %d\n", static_cast<int>(child),
              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  std::printf("malloc calls: %llu, bytes requested: %llu\n",
              static_cast<unsigned long long>(totals.calls),
              static_cast<unsigned long long>(totals.bytes));
  std::vector<std::pair<std::uint64_t, std::uint64_t>> sizes;  // (calls, size)
  auto by_size = object.map<ebpf::hash_map<std::uint64_t, std::uint64_t>>("by_size");
  for (const auto& [request, count] : by_size.items()) sizes.emplace_back(count, request);
  std::sort(sizes.rbegin(), sizes.rend());
  if (sizes.size() > 5) sizes.resize(5);
  for (const auto& [count, request] : sizes)
    std::printf("  size %8llu: %llu calls\n", static_cast<unsigned long long>(request),
                static_cast<unsigned long long>(count));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "uprobe_malloc: %s\n", e.what());
  return 1;
}
