// perf_buffer: execsnoop through a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY) and
// ebpf::async::perf_buffer. It shows what a perf buffer adds to and takes from a ring buffer:
//   - one ring per CPU: every record says which CPU it came from;
//   - losses are reported by the kernel, as records in the stream (printed as they arrive);
//   - a watermark makes the kernel wake the reader only each time that many more bytes were
//     written to a CPU's ring, so a timer restarts the read now and then to pick up the samples
//     written since: a timer racing the read with awaitable operators (a cancelled read loses
//     nothing, and a read that starts looks at the rings before it waits).
//
//   perf_buffer [--json] [--seconds N] [--generate N] [--watermark BYTES] [--pages N] [--object FILE]
//
//   --json             one JSON object per line instead of a table
//   --seconds N        stop after N seconds (default: run until Ctrl-C / SIGTERM)
//   --generate N       after attaching, run /bin/true N times, so there is something to see at once
//   --watermark BYTES  wake the reader every BYTES written to a CPU's ring (default: on every sample)
//   --pages N          data pages per CPU ring, a power of two (default 8: 32 KiB); with 1 page and
//                      --generate 100 the rings overflow before the first read and samples are lost
//
// At the end it prints on stderr how many samples it showed, how many the kernel reported lost, and
// how many outputs the program counted as failed (the kernel reports a loss only with the next sample
// that fits in that CPU's ring, so the last losses may not have been reported yet).
#include <ebpf/async.hpp>

#include <asio/experimental/awaitable_operators.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "perf_buffer.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

extern char** environ;

namespace {

using namespace asio::experimental::awaitable_operators;

// How often a read that saw no wakeup is restarted (see monitor()).
constexpr std::chrono::milliseconds flush_interval{100};

struct settings {
  bool json = false;
  int seconds = 0;  // 0: until a signal
  int generate = 0;
  std::uint32_t watermark = 0;
  std::size_t pages = 8;
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

void print_event(std::uint32_t cpu, const exec_event& event, bool json) {
  const auto comm = text(event.comm, sizeof event.comm);
  const auto filename = text(event.filename, sizeof event.filename);
  if (json) {
    const nlohmann::json line = {{"cpu", cpu}, {"pid", event.pid}, {"ppid", event.ppid},
                                 {"comm", comm}, {"filename", filename}};
    std::puts(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%-4u %-8u %-8u %-16.*s %.*s\n", cpu, event.pid, event.ppid, static_cast<int>(comm.size()),
                comm.data(), static_cast<int>(filename.size()), filename.data());
  }
}

void print_lost(std::uint32_t cpu, std::uint64_t lost, bool json) {
  if (json) {
    std::puts(nlohmann::json{{"cpu", cpu}, {"lost", lost}}.dump().c_str());
  } else {
    std::printf("%-4u lost %llu samples (the ring was full)\n", cpu, static_cast<unsigned long long>(lost));
  }
}

// Reads batches until cancelled. Each read races a timer: without a watermark the kernel wakes the
// reader on every sample and the timer never matters; with one, the samples written since the last
// wakeup wake nobody, and when the timer wins the read is cancelled (keeping whatever it had read)
// and the next read, which looks at the rings before it waits, takes them.
asio::awaitable<void> monitor(ebpf::async::perf_buffer& events, bool json, std::uint64_t& shown) {
  asio::steady_timer flush(co_await asio::this_coro::executor);
  for (;;) {
    flush.expires_after(flush_interval);
    auto result = co_await (events.async_read_some(asio::use_awaitable) || flush.async_wait(asio::use_awaitable));
    if (result.index() == 1) continue;  // the timer won
    // Views into the per-CPU rings (or copies of samples that wrapped around a ring's end),
    // valid until the next read starts.
    const ebpf::async::perf_batch& batch = std::get<0>(result);
    for (const ebpf::async::perf_record& record : batch) {
      if (record.is_lost()) {
        print_lost(record.cpu, record.lost, json);
        continue;
      }
      // The kernel pads a sample to 4 bytes short of a multiple of 8: at least sizeof, at most 7 more.
      if (record.data.size() < sizeof(exec_event)) continue;
      exec_event event;  // a copy: perf sample data is only 4-byte aligned in the ring
      std::memcpy(&event, record.data.data(), sizeof event);
      print_event(record.cpu, event, json);
      ++shown;
    }
    std::fflush(stdout);
  }
}

// True when `failure` is how a cancelled monitor ends: operation_aborted. Cancelling `read || timer`
// from outside cancels both, and Asio's operator|| then throws asio::multiple_exceptions holding
// the first one.
bool is_cancellation(std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const asio::multiple_exceptions& both) {
    return is_cancellation(both.first_exception());
  } catch (const std::system_error& e) {
    return e.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
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
  options.object_path = directory_of_executable() + "/perf_buffer.bpf.o";
  CLI::App app{"perf_buffer: prints every exec() on the machine, through a BPF perf event array"};
  app.add_flag("--json", options.json, "one JSON object per line instead of a table");
  app.add_option("--seconds", options.seconds, "stop after N seconds (default: at Ctrl-C / SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--generate", options.generate, "after attaching, run /bin/true N times")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--watermark", options.watermark,
                 "wake the reader every BYTES written to a CPU's ring (default: on every sample)");
  app.add_option("--pages", options.pages, "data pages per CPU ring, a power of two")->check(CLI::PositiveNumber);
  app.add_option("--object", options.object_path, "the BPF object (default: next to this program)");
  CLI11_PARSE(app, argc, argv);

  auto object = ebpf::object::open(options.object_path);
  object.load();

  asio::io_context io;
  // Opens a perf event and maps a ring on every online CPU, and puts the events' fds into the map:
  // from here on bpf_perf_event_output has somewhere to write.
  ebpf::perf_buffer_options perf_options;
  perf_options.pages_per_cpu = options.pages;
  perf_options.watermark_bytes = options.watermark;
  ebpf::async::perf_buffer events(io, object.map("events"), perf_options);

  ebpf::link fork_link = object.program("handle_fork").attach();  // tracepoint/task/task_newtask
  ebpf::link exec_link = object.program("handle_exec").attach();  // tracepoint/sched/sched_process_exec

  std::uint64_t shown = 0;
  std::exception_ptr failure;

  // Ctrl-C, SIGTERM or the deadline cancel the monitor (execsnoop explains this part).
  asio::cancellation_signal stop_monitor;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer deadline(io);
  signals.async_wait([&](std::error_code ec, int) {
    if (!ec) stop_monitor.emit(asio::cancellation_type::terminal);
  });
  if (!options.json) {
    std::printf("%-4s %-8s %-8s %-16s %s\n", "CPU", "PID", "PPID", "COMM", "FILENAME");
    std::fflush(stdout);  // at once: whoever reads the output knows the example is ready
  }
  asio::co_spawn(io, monitor(events, options.json, shown),
                 asio::bind_cancellation_slot(stop_monitor.slot(), [&](std::exception_ptr e) {
                   failure = e;
                   stop_monitor.slot().clear();
                   signals.cancel();
                   deadline.cancel();
                 }));
  generate_execs(options.generate);  // the samples wait in the rings (or are lost) until io.run()
  // The deadline counts from here: on a slow machine (a QEMU guest without KVM) generating can
  // take longer than --seconds, and a deadline armed before it would stop the monitor unread.
  if (options.seconds > 0) {
    deadline.expires_after(std::chrono::seconds(options.seconds));
    deadline.async_wait([&](std::error_code ec) {
      if (!ec) stop_monitor.emit(asio::cancellation_type::terminal);
    });
  }
  io.run();

  if (failure && !is_cancellation(failure)) std::rethrow_exception(failure);  // aborted: the normal way out
  std::fprintf(stderr, "perf_buffer: %llu samples shown on %zu CPUs, %llu lost (reported by the kernel), "
               "%llu failed outputs (counted by the program)\n",
               static_cast<unsigned long long>(shown), events.source().size(),
               static_cast<unsigned long long>(events.source().lost()),
               static_cast<unsigned long long>(object.global<std::uint64_t>("output_failed")));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "perf_buffer: %s\n", e.what());
  return 1;
}
