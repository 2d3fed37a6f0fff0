// execsnoop: an event-driven monitor of every exec() on the machine. A tracepoint program writes
// one exec_event per exec into a ring buffer; a coroutine co_awaits batches of them.
//
//   execsnoop [--json] [--seconds N] [--generate N] [--object FILE]
//
//   --json        one JSON object per event instead of a table
//   --seconds N   stop after N seconds (default: run until Ctrl-C / SIGTERM)
//   --generate N  after attaching, run /bin/true N times, so there is something to see at once
//
// At the end it prints how many events it showed and how many the ring buffer had no room for.
#include <ebpf/async.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "execsnoop.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>

extern char** environ;

namespace {

struct settings {
  bool json = false;
  int seconds = 0;  // 0: until a signal
  int generate = 0;
  std::string object_path;
};

std::string directory_of_executable() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return ".";
  std::string result(path, static_cast<std::size_t>(length));
  return result.substr(0, result.rfind('/'));
}

// A NUL-terminated field of the event, never reading past its array.
std::string_view text(const char* field, std::size_t capacity) {
  std::size_t length = 0;
  while (length < capacity && field[length] != '\0') ++length;
  return {field, length};
}

// The parent of a process that existed before execsnoop started (the program only saw the
// processes created since), from /proc; 0 when it is already gone.
unsigned parent_from_proc(unsigned pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("PPid:", 0) == 0) return static_cast<unsigned>(std::stoul(line.substr(5)));
  return 0;
}

void print(const exec_event& event, bool json) {
  const unsigned ppid = event.ppid != 0 ? event.ppid : parent_from_proc(event.pid);
  const auto comm = text(event.comm, sizeof event.comm);
  const auto filename = text(event.filename, sizeof event.filename);
  if (json) {
    const nlohmann::json line = {{"pid", event.pid}, {"ppid", ppid}, {"comm", comm}, {"filename", filename}};
    // Replace, not throw, on bytes that are not UTF-8 (a filename may hold any bytes).
    std::puts(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%-8u %-8u %-16.*s %.*s\n", event.pid, ppid, static_cast<int>(comm.size()), comm.data(),
                static_cast<int>(filename.size()), filename.data());
  }
  std::fflush(stdout);
}

// Reads batches until cancelled: each batch is a set of zero-copy views into the ring, and the
// consumer position moves past them when the next read starts.
asio::awaitable<void> monitor(ebpf::object& object, bool json, std::uint64_t& shown) {
  ebpf::async::ring_buffer events(co_await asio::this_coro::executor, object.map("events"));
  for (;;) {
    auto batch = co_await events.async_read_some(asio::use_awaitable);
    for (const exec_event& event : batch.as<exec_event>()) {
      print(event, json);
      ++shown;
    }
  }
}

// Runs /bin/true `count` times and waits for each.
void generate_execs(int count) {
  for (int i = 0; i < count; ++i) {
    char program[] = "/bin/true";
    char* arguments[] = {program, nullptr};
    pid_t child = 0;
    if (posix_spawn(&child, program, nullptr, nullptr, arguments, environ) != 0) continue;
    int status = 0;
    waitpid(child, &status, 0);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  settings options;
  options.object_path = directory_of_executable() + "/execsnoop.bpf.o";
  CLI::App app{"execsnoop: prints every exec() on the machine, through a BPF ring buffer"};
  app.add_flag("--json", options.json, "one JSON object per event instead of a table");
  app.add_option("--seconds", options.seconds, "stop after N seconds (default: at Ctrl-C / SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--generate", options.generate, "after attaching, run /bin/true N times")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--object", options.object_path, "the BPF object (default: next to this program)");
  CLI11_PARSE(app, argc, argv);

  auto object = ebpf::object::open(options.object_path);
  object.load();
  ebpf::link fork_link = object.program("handle_fork").attach();  // tracepoint/task/task_newtask
  ebpf::link exec_link = object.program("handle_exec").attach();  // tracepoint/sched/sched_process_exec

  asio::io_context io;
  std::uint64_t shown = 0;
  std::exception_ptr failure;

  // Ctrl-C, SIGTERM or the deadline cancel the monitor; its read completes with
  // operation_aborted, the coroutine ends, and io.run() returns once nothing is left to do.
  asio::cancellation_signal stop_monitor;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer deadline(io);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) stop_monitor.emit(asio::cancellation_type::terminal);
  });
  if (options.seconds > 0) {
    deadline.expires_after(std::chrono::seconds(options.seconds));
    deadline.async_wait([&](std::error_code ec) {
      if (!ec) stop_monitor.emit(asio::cancellation_type::terminal);
    });
  }

  if (!options.json) std::printf("%-8s %-8s %-16s %s\n", "PID", "PPID", "COMM", "FILENAME");
  asio::co_spawn(io, monitor(object, options.json, shown),
                 asio::bind_cancellation_slot(stop_monitor.slot(), [&](std::exception_ptr e) {
                   failure = e;
                   stop_monitor.slot().clear();  // the monitor is done: nothing left to cancel
                   signals.cancel();
                   deadline.cancel();
                 }));
  generate_execs(options.generate);  // the events wait in the ring until io.run() reads them
  io.run();

  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::system_error& e) {
      if (e.code() != asio::error::operation_aborted) throw;  // aborted: the normal way out
    }
  }
  std::fprintf(stderr, "execsnoop: %llu events shown, %llu lost (ring buffer full)\n",
               static_cast<unsigned long long>(shown),
               static_cast<unsigned long long>(object.global<std::uint64_t>("lost_events")));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "execsnoop: %s\n", e.what());
  return 1;
}
