// usdt: attach to the USDT probe ebpfpp_example:tick of usdt_traced (a tiny C program built next
// to this example), run it, and print each firing with its arguments decoded in the kernel.
//
//   usdt [--ticks N] [--object FILE] [--traced PROGRAM]
//
// The probe's sites and argument specs are listed first (from the binary's .note.stapsdt), then
// the traced program is started, held on a pipe until the probe is attached, and let go.
#include <ebpf/ebpf.hpp>

#include "usdt.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

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
  int ticks = 5;
  std::string object_path = directory_of_executable() + "/usdt.bpf.o";
  std::string traced = directory_of_executable() + "/usdt_traced";
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--ticks" && i + 1 < argc) ticks = std::stoi(argv[++i]);
    else if (argument == "--object" && i + 1 < argc) object_path = argv[++i];
    else if (argument == "--traced" && i + 1 < argc) traced = argv[++i];
    else throw std::runtime_error("unknown argument '" + argument + "'");
  }
  if (ticks < 0 || ticks > USDT_EXAMPLE_MAX_TICKS) throw std::runtime_error("--ticks: 0 to 64");

  // 1. What the binary declares.
  for (const auto& probe : ebpf::list_usdt_probes(traced, "ebpfpp_example", "tick"))
    std::printf("probe %s:%s at file offset 0x%llx, arguments \"%s\"\n", probe.provider.c_str(),
                probe.name.c_str(), static_cast<unsigned long long>(probe.offset),
                probe.arguments.c_str());

  // 2. Start the traced program; it waits for a byte on stdin.
  int go[2];
  if (pipe(go) != 0) throw std::runtime_error("pipe failed");
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) throw std::runtime_error("fork failed");
  if (child == 0) {
    dup2(go[0], 0);
    close(go[0]);
    close(go[1]);
    std::string count = std::to_string(ticks);
    execl(traced.c_str(), traced.c_str(), count.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(go[0]);

  // 3. Load and attach to the probe in that process (its arguments are decoded with the specs
  //    attach_usdt stores in the object's ebpfpp_usdt map).
  auto object = ebpf::object::open(object_path);
  object.load();
  ebpf::link link = object.program("on_tick").attach_usdt(
      {.binary = traced, .provider = "ebpfpp_example", .name = "tick", .pid = child});

  // 4. Go, and wait for it to finish.
  if (write(go[1], "x", 1) != 1) throw std::runtime_error("cannot start the traced program");
  close(go[1]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("usdt_traced failed (status " + std::to_string(status) + ")");

  // 5. Print what the probe saw.
  auto seen = object.global<std::uint32_t>("ticks_seen");
  std::printf("%u ticks seen\n", seen);
  auto events = object.map<ebpf::array_map<tick_event>>("ticks");
  for (std::uint32_t i = 0; i < seen && i < USDT_EXAMPLE_MAX_TICKS; ++i) {
    tick_event event = events.lookup(i);
    std::printf("tick number=%lld square=%lld label=\"%.*s\"\n", static_cast<long long>(event.number),
                static_cast<long long>(event.square), static_cast<int>(sizeof event.label),
                event.label);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "usdt: %s\n", e.what());
  return 1;
}
