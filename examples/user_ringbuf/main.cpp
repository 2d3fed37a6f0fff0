// user_ringbuf: user space feeding a BPF program through a user ring buffer, with backpressure,
// and reading its answers from a ring buffer, all on one thread with Asio.
//
// user_ringbuf.bpf.c keeps a key-value store in a hash map. Three coroutines run concurrently:
//   - send_commands writes a script of commands into the user ring buffer `commands` with
//     ebpf::async::user_ring_buffer::async_reserve: when the ring is full (it holds 128), the
//     coroutine waits until the program has drained some, without blocking the thread;
//   - drive_program runs the `serve` program every millisecond (BPF_PROG_TEST_RUN): it drains up
//     to 32 commands with bpf_user_ringbuf_drain() and answers each one in the ring buffer
//     `replies`. It stands in for whatever would run such a program in real life;
//   - receive_replies reads the replies with ebpf::async::ring_buffer and prints them.
// When every reply is in, the driver is cancelled (awaitable operators: (send && receive) || drive).
//
//   user_ringbuf [--count N] [--object FILE]
//
//   --count N   the script: ADD key i%8 += i for i in 0..N-1, then GET of the 8 keys, then DELETE
//               of key 3 and a GET of it (default 200: the commands do not fit in the ring at once)
//
// Output (deterministic): one line per reply, in command order: SEQ OP KEY RESULT. On stderr: how
// often the sender had to wait for room and how often the program ran.
#include <ebpf/async.hpp>

#include <asio/experimental/awaitable_operators.hpp>

#include <CLI/CLI.hpp>

#include "user_ringbuf.h"

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

constexpr unsigned commands_per_run = 32;
constexpr std::chrono::milliseconds run_interval{1};
constexpr std::chrono::seconds time_limit{10};

struct statistics {
  std::uint64_t sender_waits = 0;  // commands that found the ring full
  std::uint64_t program_runs = 0;
  std::uint64_t drained = 0;
};

std::string directory_of_executable() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return ".";
  std::string result(path, static_cast<std::size_t>(length));
  return result.substr(0, result.rfind('/'));
}

std::vector<command> make_script(unsigned count) {
  std::vector<command> script;
  auto add = [&](unsigned op, unsigned key, long long value) {
    script.push_back(command{script.size(), op, key, value});
  };
  for (unsigned i = 0; i < count; ++i) add(OP_ADD, i % 8, i);
  for (unsigned key = 0; key < 8; ++key) add(OP_GET, key, 0);
  add(OP_DELETE, 3, 0);
  add(OP_GET, 3, 0);
  return script;
}

const char* op_name(unsigned op) {
  switch (op) {
    case OP_SET: return "set";
    case OP_ADD: return "add";
    case OP_GET: return "get";
    case OP_DELETE: return "delete";
    default: return "?";
  }
}

void print(const reply& answer) {
  std::string result;
  switch (answer.status) {
    case STATUS_OK: result = answer.op == OP_DELETE ? "ok" : std::to_string(answer.value); break;
    case STATUS_NOT_FOUND: result = "not found"; break;
    case STATUS_FULL: result = "store full"; break;
    default: result = "bad command"; break;
  }
  std::printf("%-6llu %-6s %-4u %s\n", answer.seq, op_name(answer.op), answer.key, result.c_str());
}

// Writes the script into the user ring buffer. async_reserve completes at once while there is
// room, and otherwise when the program has drained enough: backpressure without a thread.
asio::awaitable<void> send_commands(ebpf::async::user_ring_buffer& ring, const std::vector<command>& script,
                                    statistics& stats) {
  for (const command& next : script) {
    if (!ring.source().fits(sizeof next)) ++stats.sender_waits;
    std::span<std::byte> record = co_await ring.async_reserve(sizeof next, asio::use_awaitable);
    std::memcpy(record.data(), &next, sizeof next);  // written in place in the ring...
    ring.submit(record);                             // ...and handed to the kernel
  }
}

// Reads replies until `expected` came; the views are valid until the next read starts.
asio::awaitable<void> receive_replies(ebpf::async::ring_buffer& ring, std::size_t expected) {
  for (std::size_t received = 0; received < expected;) {
    auto batch = co_await ring.async_read_some(asio::use_awaitable);
    for (const reply& answer : batch.as<reply>()) print(answer);
    received += batch.size();
  }
}

// Runs `serve` every run_interval until cancelled.
asio::awaitable<void> drive_program(const ebpf::program& serve, statistics& stats) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(run_interval);
    co_await timer.async_wait(asio::use_awaitable);
    serve_args args{commands_per_run, 0};
    ebpf::test_run_options run;
    run.ctx = std::as_bytes(std::span(&args, 1));
    const ebpf::test_run_result result = serve.test_run(run);
    if (result.retval != 0) throw std::runtime_error("serve: bpf_user_ringbuf_drain failed: " + std::to_string(static_cast<int>(result.retval)));
    std::memcpy(&args, result.ctx_out.data(), std::min(sizeof args, result.ctx_out.size()));
    ++stats.program_runs;
    stats.drained += args.drained;
  }
}

asio::awaitable<void> time_out() {
  asio::steady_timer timer(co_await asio::this_coro::executor, time_limit);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<void> session(ebpf::object& object, const std::vector<command>& script, statistics& stats) {
  auto executor = co_await asio::this_coro::executor;
  ebpf::async::user_ring_buffer commands(executor, object.map("commands"));
  ebpf::async::ring_buffer replies(executor, object.map("replies"));
  const ebpf::program& serve = object.program("serve");
  // All three run concurrently; drive_program never ends by itself, so it is cancelled as soon
  // as the sender and the receiver are both done (or everything is, after time_limit).
  auto outcome = co_await ((send_commands(commands, script, stats) && receive_replies(replies, script.size())) ||
                           drive_program(serve, stats) || time_out());
  if (outcome.index() == 2) throw std::runtime_error("no complete answer within " + std::to_string(time_limit.count()) + " s");
}

}  // namespace

int main(int argc, char** argv) try {
  unsigned count = 200;
  std::string object_path = directory_of_executable() + "/user_ringbuf.bpf.o";
  CLI::App app{"user_ringbuf: commands to a BPF program through a user ring buffer, replies through a ring buffer"};
  app.add_option("--count", count, "ADD commands in the script (then 8 GETs, a DELETE and a GET)");
  app.add_option("--object", object_path, "the BPF object (default: next to this program)");
  CLI11_PARSE(app, argc, argv);

  auto object = ebpf::object::open(object_path);
  object.load();
  const std::vector<command> script = make_script(count);
  statistics stats;

  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, session(object, script, stats), [&](std::exception_ptr e) { failure = e; });
  std::printf("%-6s %-6s %-4s %s\n", "SEQ", "OP", "KEY", "RESULT");
  io.run();
  if (failure) std::rethrow_exception(failure);

  std::fprintf(stderr,
               "user_ringbuf: %zu commands, %llu drained by %llu program runs; the sender waited for room "
               "%llu times; %llu replies lost\n",
               script.size(), static_cast<unsigned long long>(stats.drained),
               static_cast<unsigned long long>(stats.program_runs), static_cast<unsigned long long>(stats.sender_waits),
               static_cast<unsigned long long>(object.global<std::uint64_t>("replies_lost")));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "user_ringbuf: %s\n", e.what());
  return 1;
}
