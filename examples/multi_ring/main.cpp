// multi_ring: several programs and ring buffers, consumed concurrently on one thread by one
// asio::io_context. Three tracepoint programs write fork, exec and exit events into three rings
// (multi_ring.bpf.c); this program reads them in one of two ways:
//
//   - by default, one ebpf::async::ring_buffer per ring and one coroutine per reader, all on the
//     same io_context: each coroutine reads one record type, and a busy ring does not hold up the
//     others (each reader waits on its own fd);
//   - with --multiplex, a single reader over the three rings (one epoll fd, one wait): every
//     record says which ring it came from (ring_record::ring), and batches take the rings in turn.
//
// Records of different rings arrive in no particular order with each other (each ring is in
// order): the events carry bpf_ktime_get_ns() timestamps, printed in milliseconds since start.
//
//   multi_ring [--multiplex] [--seconds N] [--generate N] [--object FILE]
//
//   --multiplex   one reader for all three rings instead of one reader per ring
//   --seconds N   stop after N seconds (default: run until Ctrl-C / SIGTERM)
//   --generate N  after attaching, run /bin/true and /bin/false alternately, N processes in all
//
// Output: one line per event, "TIME_MS RING PID key=value...". At the end it prints on stderr
// how many events of each kind it showed and how many each ring had no room for.
#include <ebpf/async.hpp>

#include <CLI/CLI.hpp>

#include "multi_ring.h"

#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

struct settings {
  bool multiplex = false;
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

// CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns().
std::uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1000000000u + static_cast<std::uint64_t>(now.tv_nsec);
}

const std::uint64_t start_ns = monotonic_ns();

// A NUL-terminated field of an event, never reading past its array.
std::string_view text(const char* field, std::size_t capacity) {
  std::size_t length = 0;
  while (length < capacity && field[length] != '\0') ++length;
  return {field, length};
}

// Events shown, per ring.
std::array<std::uint64_t, RING_COUNT> shown{};

void print_line(std::uint64_t time_ns, const char* ring, unsigned pid, const std::string& details) {
  const double ms = (static_cast<double>(time_ns) - static_cast<double>(start_ns)) / 1e6;
  std::printf("%12.3f %-5s %-8u %s\n", ms, ring, pid, details.c_str());
}

void print(const fork_event& event) {
  print_line(event.time_ns, "fork", event.child,
             "parent=" + std::to_string(event.parent) + " comm=" + std::string(text(event.comm, sizeof event.comm)));
  ++shown[RING_FORKS];
}

void print(const exec_event& event) {
  print_line(event.time_ns, "exec", event.pid,
             "comm=" + std::string(text(event.comm, sizeof event.comm)) +
                 " filename=" + std::string(text(event.filename, sizeof event.filename)));
  ++shown[RING_EXECS];
}

void print(const exit_event& event) {
  print_line(event.time_ns, "exit", event.pid,
             "code=" + std::to_string(event.code) + " comm=" + std::string(text(event.comm, sizeof event.comm)));
  ++shown[RING_EXITS];
}

// One reader per ring: a coroutine that knows its ring's record type. Three of these run on the
// same io_context; each waits on its own ring and wakes only for it.
template <class Event>
asio::awaitable<void> read_ring(ebpf::async::ring_buffer& ring) {
  for (;;) {
    const ebpf::async::ring_batch batch = co_await ring.async_read_some(asio::use_awaitable);
    for (const Event& event : batch.as<Event>()) print(event);
    std::fflush(stdout);
  }
}

// One reader for every ring: the record's ring index (the order the maps were given in) says
// which type it holds.
asio::awaitable<void> read_multiplexed(ebpf::async::ring_buffer& rings) {
  for (;;) {
    auto batch = co_await rings.async_read_some(asio::use_awaitable);
    for (const ebpf::async::ring_record record : batch) {
      switch (record.ring) {
        case RING_FORKS: print(record.as<fork_event>()); break;
        case RING_EXECS: print(record.as<exec_event>()); break;
        case RING_EXITS: print(record.as<exit_event>()); break;
      }
    }
    std::fflush(stdout);
  }
}

// Runs /bin/true and /bin/false alternately, `count` processes in all, waiting for each.
void generate_processes(int count) {
  for (int i = 0; i < count; ++i) {
    char program_true[] = "/bin/true";
    char program_false[] = "/bin/false";
    char* program = i % 2 == 0 ? program_true : program_false;
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
  options.object_path = directory_of_executable() + "/multi_ring.bpf.o";
  CLI::App app{"multi_ring: fork, exec and exit events through three BPF ring buffers, read concurrently"};
  app.add_flag("--multiplex", options.multiplex, "one reader for all three rings instead of one per ring");
  app.add_option("--seconds", options.seconds, "stop after N seconds (default: at Ctrl-C / SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--generate", options.generate, "after attaching, run /bin/true and /bin/false, N in all")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--object", options.object_path, "the BPF object (default: next to this program)");
  CLI11_PARSE(app, argc, argv);

  auto object = ebpf::object::open(options.object_path);
  object.load();
  ebpf::link fork_link = object.program("handle_fork").attach();  // tracepoint/task/task_newtask
  ebpf::link exec_link = object.program("handle_exec").attach();  // tracepoint/sched/sched_process_exec
  ebpf::link exit_link = object.program("handle_exit").attach();  // tracepoint/syscalls/sys_enter_exit_group

  asio::io_context io;
  std::vector<ebpf::async::ring_buffer> readers;
  std::exception_ptr failure;

  // Ctrl-C, SIGTERM, the deadline or a failing reader close the readers: each outstanding read
  // completes with operation_aborted, its coroutine ends, and io.run() returns once nothing is left.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer deadline(io);
  auto stop = [&] {
    for (auto& reader : readers) reader.close();
    signals.cancel();
    deadline.cancel();
  };
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) stop();
  });
  if (options.seconds > 0) {
    deadline.expires_after(std::chrono::seconds(options.seconds));
    deadline.async_wait([&](std::error_code ec) {
      if (!ec) stop();
    });
  }
  auto on_done = [&](std::exception_ptr e) {
    if (!e || failure) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& error) {
      if (error.code() == asio::error::operation_aborted) return;  // closed: the normal way out
    } catch (...) {
    }
    failure = e;
    stop();
  };

  if (options.multiplex) {
    readers.emplace_back(io, object.map("forks"), object.map("execs"), object.map("exits"));
    asio::co_spawn(io, read_multiplexed(readers[0]), on_done);
  } else {
    readers.emplace_back(io, object.map("forks"));
    readers.emplace_back(io, object.map("execs"));
    readers.emplace_back(io, object.map("exits"));
    asio::co_spawn(io, read_ring<fork_event>(readers[RING_FORKS]), on_done);
    asio::co_spawn(io, read_ring<exec_event>(readers[RING_EXECS]), on_done);
    asio::co_spawn(io, read_ring<exit_event>(readers[RING_EXITS]), on_done);
  }

  std::printf("%12s %-5s %-8s %s\n", "TIME_MS", "RING", "PID", "DETAILS");
  generate_processes(options.generate);  // the events wait in the rings until io.run() reads them
  io.run();
  if (failure) std::rethrow_exception(failure);

  const auto lost = object.global<std::array<std::uint64_t, RING_COUNT>>("lost");
  std::fprintf(stderr,
               "multi_ring: %s: %llu fork, %llu exec, %llu exit events shown; lost (ring full): "
               "%llu fork, %llu exec, %llu exit\n",
               options.multiplex ? "one reader for 3 rings" : "3 readers",
               static_cast<unsigned long long>(shown[RING_FORKS]), static_cast<unsigned long long>(shown[RING_EXECS]),
               static_cast<unsigned long long>(shown[RING_EXITS]), static_cast<unsigned long long>(lost[RING_FORKS]),
               static_cast<unsigned long long>(lost[RING_EXECS]), static_cast<unsigned long long>(lost[RING_EXITS]));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "multi_ring: %s\n", e.what());
  return 1;
}
