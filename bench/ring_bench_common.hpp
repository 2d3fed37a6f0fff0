// The machinery shared by bench/ringbuf.cpp and bench/perfbuf.cpp: the three modes (stream,
// drain, latency), the producer thread, record checking, the watchdog, the result lines and the
// summary. Each benchmark supplies its consumers and a function that runs its producer program.
//
// Threads: the consumer runs on the calling thread, pinned to CPU 1; the producer runs on its
// own thread, pinned to CPU 0 (BPF_PROG_TEST_RUN runs the program on the calling CPU).
//
// Modes:
//   stream   the producer runs its program flat out (chunks of bpf_loop records). When the ring
//            is full the program stops and the producer runs it again for the rest at once (it
//            spins until there is room): no record is lost, and `full` counts the refusals.
//            seconds = from the producer's start to the consumer's handling of the last record
//            (end-to-end). (Dropping instead of waiting makes the number meaningless on a
//            shared machine: a consumer that is preempted for a few ms loses most records, and
//            the producer speeds up when its reservations fail.) What sets this number is mostly
//            how often the consumer catches up and sleeps: every wakeup costs the producer an
//            irq_work (an interrupt, expensive on this VM), so a consumer that returns to the
//            ring less eagerly (bigger batches) makes the whole pipeline faster.
//   drain    the ring is prefilled to capacity with no reader, then drained: seconds = the
//            consumer's time from the start of the drain to the last record. Several cycles of
//            prefill and drain on one consumer; the first, which maps the ring in, is not timed.
//   latency  one record per period (default 1 ms) with a timestamp taken by the program; the
//            consumer blocks in its wait between records and compares each timestamp with
//            CLOCK_MONOTONIC when it handles the record (bpf_ktime_get_ns is that clock).
//            Both threads run SCHED_FIFO then (see set_realtime() and --realtime). Each line
//            also prints h=A/B/C/D, the samples under 300 us, 300-950, 950-1300 and above (for
//            the default period of 1 ms):
//            a consumer that missed a wakeup sees its record only with the next one, a period
//            later, which piles samples into C; stalls of the machine spread over B and D for
//            every consumer alike (raw included).
//
// Every run checks that the consumer got exactly the records the program reported produced, in
// order (seq), none short; anything else prints FAILED and exits 1. A run that does not finish
// within its deadline (a consumer that missed a wakeup) does the same.
#pragma once

#include "ring_producer.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace ring_bench {

inline constexpr int producer_cpu = 0;
inline constexpr int consumer_cpu = 1;
/// Records per BPF_PROG_TEST_RUN in stream and drain runs.
inline constexpr std::uint32_t chunk_records = 1u << 16;

inline std::uint64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

/// CPU time of the calling thread (user + system): what a consumer cost, whatever else the
/// machine's two CPUs were doing meanwhile.
inline std::uint64_t thread_cpu_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

/// Prints the failure and exits 1 at once (also from the watchdog thread, while the consumer is
/// stuck in a wait: no destructor runs).
[[noreturn]] inline void fail(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "FAILED: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

inline void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) != 0) {
    static std::once_flag warned;
    std::call_once(warned, [] {
      std::fprintf(stderr, "warning: cannot pin threads to CPUs 0 and 1; producer and consumer may share a CPU\n");
    });
  }
}

/// Latency runs put the producer and consumer threads in SCHED_FIFO (they sleep almost all
/// the time): a wakeup then preempts whatever else the shared CPUs run, so the numbers are the
/// wakeup path's, not the other tenants' time slices. Other runs stay SCHED_OTHER unless asked
/// (--realtime all): stream runs then measure the pipeline rather than the CPU share the
/// consumer gets, but they take both CPUs from everything else while they last.
inline bool set_realtime(bool on) {
  sched_param param{};
  param.sched_priority = on ? 10 : 0;
  if (::pthread_setschedparam(::pthread_self(), on ? SCHED_FIFO : SCHED_OTHER, &param) == 0) return true;
  if (on) {
    static std::once_flag warned;
    std::call_once(warned, [] { std::fprintf(stderr, "warning: no SCHED_FIFO; latency runs compete with other load\n"); });
  }
  return false;
}

/// What a consumer counts and checks, record by record (inline in every consumer's loop).
struct tally {
  std::uint64_t records = 0;
  std::uint64_t next_seq = 0;
  std::uint64_t disorder = 0;       // records whose seq was not the one expected
  std::uint64_t short_records = 0;  // records smaller than the size produced
  std::uint64_t kernel_lost = 0;    // perf: samples the kernel reported lost (PERF_RECORD_LOST)
  std::uint32_t min_size = 0;
  std::vector<std::uint64_t>* latency_ns = nullptr;  // latency runs: reserved up front

  void record(const void* data, std::size_t size) noexcept {
    ++records;
    if (size < min_size || size < sizeof(bench_record)) {
      ++short_records;
      return;
    }
    bench_record header;
    std::memcpy(&header, data, sizeof header);
    if (header.seq != next_seq) ++disorder;
    next_seq = header.seq + 1;
    if (latency_ns != nullptr) latency_ns->push_back(now_ns() - header.ts_ns);
  }
};

/// When a consumer is done, and when it handled its last record: the number of records the run
/// produces is published before the consumer starts (a run never loses one); the consumer calls
/// after_records() after every pass that handled records and after_idle() after a wait that
/// brought none (timeout or cancellation). (The total could also be published late, in which
/// case the time of the last pass with records is kept.)
class run_control {
 public:
  static constexpr std::uint64_t unknown = ~std::uint64_t{0};

  void set_total(std::uint64_t produced) noexcept { total_.store(produced, std::memory_order_release); }
  bool total_known() const noexcept { return total_.load(std::memory_order_acquire) != unknown; }

  /// True when every record produced was handled (the end time is now).
  bool after_records(const tally& t) noexcept {
    const std::uint64_t total = total_.load(std::memory_order_acquire);
    if (total == unknown) {
      // The producer is still running: this may be the last record, whose time counts.
      last_ns_ = now_ns();
      return false;
    }
    if (t.records < total) return false;
    end_ns_ = now_ns();
    return true;
  }
  /// True when every record produced was handled before the producer said how many there were
  /// (the end time is that of the last pass with records).
  bool after_idle(const tally& t) noexcept {
    const std::uint64_t total = total_.load(std::memory_order_acquire);
    if (total == unknown || t.records < total) return false;
    end_ns_ = last_ns_;
    return true;
  }
  std::uint64_t end_ns() const noexcept { return end_ns_; }

 private:
  std::atomic<std::uint64_t> total_{unknown};
  std::uint64_t last_ns_ = 0;
  std::uint64_t end_ns_ = 0;
};

/// One consumer, set up for one run (construction and destruction are not timed).
class consumer {
 public:
  virtual ~consumer() = default;
  /// Consumes on the calling thread until `control` says done. `timeout_ms` is how long one
  /// wait may block (-1: until woken).
  virtual void run(run_control& control, tally& t, int timeout_ms) = 0;
  /// Called on the producer thread when it has produced everything: a consumer that may sleep
  /// on records that wake nobody (below a perf watermark) and has no timeout is woken here.
  virtual void producer_done() {}
};

enum class mode { stream, drain, latency, paired };
inline const char* mode_name(mode m) {
  switch (m) {
    case mode::stream: return "stream";
    case mode::drain: return "drain";
    case mode::latency: return "latency";
    case mode::paired: return "paired";
  }
  return "?";
}

struct produce_result {
  std::uint64_t produced = 0;
  std::uint64_t failed = 0;  // refused because the ring was full (the run stopped there)
};

/// Runs the producer program once: up to `count` records of the run's size from `first_seq`
/// (`timestamp`: write ts_ns), stopping at the first the ring refuses. Called on the producer
/// thread only.
using producer_fn = std::function<produce_result(std::uint32_t count, std::uint64_t first_seq, bool timestamp)>;

struct run_result {
  std::string consumer;
  mode run_mode = mode::stream;
  std::uint32_t size = 0;
  std::size_t round = 0;
  std::uint64_t records = 0;
  std::uint64_t lost = 0;  // produced but not consumed: always 0 (a run fails otherwise)
  std::uint64_t full = 0;  // times the producer found the ring full and ran again
  double seconds = 0;
  double cpu_seconds = 0;  // the consumer thread's CPU time during the run
  std::vector<std::uint64_t> latency_ns;

  double rate() const { return seconds > 0 ? static_cast<double>(records) / seconds : 0; }
  double cpu_rate() const { return cpu_seconds > 0 ? static_cast<double>(records) / cpu_seconds : 0; }
};

/// Exits the process when a run overruns its deadline (a consumer asleep that nothing wakes).
class watchdog {
 public:
  watchdog() : thread_([this] { loop(); }) {}
  ~watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void arm(std::string what, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    what_ = std::move(what);
    deadline_ = now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(mutex_);
    deadline_ = 0;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!quit_) {
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      if (deadline_ != 0 && now_ns() > deadline_) fail(what_ + ": did not finish in time (a lost wakeup or lost records?)");
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string what_;
  std::uint64_t deadline_ = 0;
  bool quit_ = false;
  std::thread thread_;
};

inline std::string describe(const std::string& name, mode m, std::uint32_t size) {
  return "consumer=" + name + " mode=" + mode_name(m) + " size=" + std::to_string(size);
}

/// Checks a finished run: the consumer handled exactly what was produced, in order.
inline void verify(const std::string& what, const tally& t, const produce_result& produced) {
  if (t.records != produced.produced) {
    fail(what + ": consumed " + std::to_string(t.records) + " records, the program produced " +
         std::to_string(produced.produced));
  }
  if (t.disorder != 0) fail(what + ": " + std::to_string(t.disorder) + " records out of sequence");
  if (t.short_records != 0) fail(what + ": " + std::to_string(t.short_records) + " records too short");
  // Perf: every refused sample is counted by the kernel too and reported as lost before the
  // next sample that fits (the producer retried it, so nothing was lost in fact).
  if (t.kernel_lost > produced.failed) {
    fail(what + ": the kernel reported " + std::to_string(t.kernel_lost) + " lost, the program saw only " +
         std::to_string(produced.failed) + " refused");
  }
}

struct run_settings {
  std::uint64_t stream_records = 0;  // records the producer tries per stream run
  std::uint64_t drain_records = 0;   // the ring's capacity for this size (exact)
  std::size_t drain_cycles = 2;      // timed prefill + drain cycles, after one untimed
  std::uint64_t latency_records = 0;
  std::uint64_t latency_period_ns = 1000000;
  bool realtime = true;  // SCHED_FIFO in this run (latency runs by default)
};

/// One run of `c` in mode `m`: returns its result (exits on any miscount).
inline run_result run_one(const std::string& name, consumer& c, mode m, std::uint32_t size,
                          const producer_fn& produce, const run_settings& settings, watchdog& dog) {
  const std::string what = describe(name, m, size);
  tally t;
  t.min_size = size;
  run_control control;
  run_result result;
  result.consumer = name;
  result.run_mode = m;
  result.size = size;
  produce_result produced;
  std::uint64_t start_ns = 0;

  // Produces `records` more in chunks of bpf_loop runs, running the program again at once for
  // whatever a full ring refused; seqs continue after the records accepted.
  auto produce_all = [&](std::uint64_t records, bool timestamp) {
    while (records > 0) {
      const auto count = static_cast<std::uint32_t>(std::min<std::uint64_t>(records, chunk_records));
      const produce_result r = produce(count, produced.produced, timestamp);
      produced.produced += r.produced;
      produced.failed += r.failed;
      records -= r.produced;
    }
  };

  if (m == mode::drain) {
    // Cycles of prefill and drain on the same consumer; the first one is not timed. A fresh
    // mapping costs a fault per page the first time it is read (several microseconds each on
    // this VM, ~40 ms for a 64 MiB ring whatever the record size), which would otherwise be
    // what a drain measures rather than the consumer.
    std::uint64_t timed_records = 0;
    std::uint64_t timed_ns = 0;
    std::uint64_t timed_cpu_ns = 0;
    for (std::size_t cycle = 0; cycle <= settings.drain_cycles; ++cycle) {
      const std::uint64_t before = produced.produced;
      std::thread producer([&] {
        pin_to_cpu(producer_cpu);
        // Exactly the capacity, without retrying: a refusal means the computation is wrong.
        std::uint64_t left = settings.drain_records;
        while (left > 0) {
          const auto count = static_cast<std::uint32_t>(std::min<std::uint64_t>(left, chunk_records));
          const produce_result r = produce(count, produced.produced, false);
          produced.produced += r.produced;
          produced.failed += r.failed;
          if (r.failed != 0) break;
          left -= r.produced;
        }
      });
      producer.join();
      if (produced.failed != 0) {
        fail(what + ": the prefill of " + std::to_string(settings.drain_records) +
             " records (the computed capacity) had " + std::to_string(produced.failed) + " refused");
      }
      run_control cycle_control;
      cycle_control.set_total(produced.produced);
      dog.arm(what, 60);
      if (settings.realtime) set_realtime(true);
      const std::uint64_t start = now_ns();
      const std::uint64_t cpu_start = thread_cpu_ns();
      c.run(cycle_control, t, -1);
      const std::uint64_t cpu_end = thread_cpu_ns();
      if (settings.realtime) set_realtime(false);
      dog.disarm();
      if (t.records != produced.produced) break;  // verify() below says what went wrong
      if (cycle == 0) continue;
      timed_records += produced.produced - before;
      timed_ns += cycle_control.end_ns() - start;
      timed_cpu_ns += cpu_end - cpu_start;
    }
    verify(what, t, produced);
    result.records = timed_records;
    result.lost = produced.produced - t.records;
    result.seconds = static_cast<double>(timed_ns) / 1e9;
    result.cpu_seconds = static_cast<double>(timed_cpu_ns) / 1e9;
    return result;
  } else {
    std::atomic<bool> go{false};
    std::vector<std::uint64_t> latencies;
    const std::uint64_t total = m == mode::latency ? settings.latency_records : settings.stream_records;
    if (m == mode::latency) {
      latencies.reserve(settings.latency_records);
      t.latency_ns = &latencies;
    }
    control.set_total(total);
    const bool realtime = settings.realtime;
    std::thread producer([&] {
      pin_to_cpu(producer_cpu);
      if (realtime) set_realtime(true);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      start_ns = now_ns();
      if (m == mode::stream) {
        produce_all(settings.stream_records, false);
      } else {
        for (std::uint64_t i = 0; i < settings.latency_records; ++i) {
          const std::uint64_t at = start_ns + (i + 1) * settings.latency_period_ns;
          const timespec ts{static_cast<time_t>(at / 1000000000u), static_cast<long>(at % 1000000000u)};
          while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
          }
          produce_all(1, true);
        }
      }
      c.producer_done();
    });
    const double limit = m == mode::stream ? 120
                                           : 30 + static_cast<double>(settings.latency_records) *
                                                      static_cast<double>(settings.latency_period_ns) / 1e9;
    dog.arm(what, limit);
    if (realtime) set_realtime(true);
    const std::uint64_t cpu_start = thread_cpu_ns();
    go.store(true, std::memory_order_release);
    c.run(control, t, -1);
    result.cpu_seconds = static_cast<double>(thread_cpu_ns() - cpu_start) / 1e9;
    if (realtime) set_realtime(false);
    dog.disarm();
    producer.join();
    result.latency_ns = std::move(latencies);
  }
  verify(what, t, produced);
  result.records = t.records;
  result.lost = produced.produced - t.records;
  result.full = produced.failed;
  result.seconds = static_cast<double>(control.end_ns() - start_ns) / 1e9;
  return result;
}

inline double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

inline double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

inline void print_line(const run_result& r) {
  std::printf("consumer=%s mode=%s size=%u records=%llu seconds=%.6f lost=%llu full=%llu round=%zu mrps=%.2f "
              "cpu_s=%.6f",
              r.consumer.c_str(), mode_name(r.run_mode), r.size, static_cast<unsigned long long>(r.records),
              r.seconds, static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.full), r.round,
              r.rate() / 1e6, r.cpu_seconds);
  if (!r.latency_ns.empty()) {
    std::vector<double> us;
    us.reserve(r.latency_ns.size());
    for (auto ns : r.latency_ns) us.push_back(static_cast<double>(ns) / 1e3);
    std::size_t b[4] = {};  // the h= histogram (see latency above)
    for (double v : us) ++b[v < 300 ? 0 : v < 950 ? 1 : v < 1300 ? 2 : 3];
    std::printf(" p50_us=%.1f p99_us=%.1f max_us=%.1f h=%zu/%zu/%zu/%zu", percentile(us, 0.5), percentile(us, 0.99),
                percentile(us, 1.0), b[0], b[1], b[2], b[3]);
  }
  std::printf("\n");
  std::fflush(stdout);
}

/// The summary: per mode and size, each consumer's median rate over the rounds and its ratio to
/// libbpf's and the raw consumer's. Ratios are medians of per-round ratios (each round runs the
/// consumers back to back, so a round's ratio is not skewed by the machine's swings between
/// rounds). Latency: p50/p99 of all the rounds' samples pooled. Then the goals of the issue.
inline void print_summary(const char* title, const std::vector<run_result>& results,
                          const std::vector<std::string>& consumers) {
  std::map<std::tuple<int, std::uint32_t, std::string>, std::vector<const run_result*>> runs;
  std::vector<std::pair<int, std::uint32_t>> groups;
  for (const auto& r : results) {
    const std::pair<int, std::uint32_t> group{static_cast<int>(r.run_mode), r.size};
    if (std::find(groups.begin(), groups.end(), group) == groups.end()) groups.push_back(group);
    runs[{group.first, group.second, r.consumer}].push_back(&r);
  }
  std::sort(groups.begin(), groups.end());

  auto find_round = [&](int m, std::uint32_t size, const std::string& name, std::size_t round) -> const run_result* {
    auto it = runs.find({m, size, name});
    if (it == runs.end()) return nullptr;
    for (const auto* r : it->second)
      if (r->round == round) return r;
    return nullptr;
  };
  // Median over rounds of this consumer's rate / the other's (throughput modes); by wall time
  // or by the consumer's CPU time.
  auto ratio = [&](int m, std::uint32_t size, const std::string& name, const std::string& other, bool cpu = false) {
    std::vector<double> ratios;
    for (const auto* r : runs[{m, size, name}]) {
      const run_result* o = find_round(m, size, other, r->round);
      if (o == nullptr) continue;
      const double mine = cpu ? r->cpu_rate() : r->rate(), theirs = cpu ? o->cpu_rate() : o->rate();
      if (theirs > 0) ratios.push_back(mine / theirs);
    }
    return ratios.empty() ? -1.0 : median(ratios);
  };
  auto pooled = [&](int m, std::uint32_t size, const std::string& name, double q) {
    std::vector<double> us;
    for (const auto* r : runs[{m, size, name}])
      for (auto ns : r->latency_ns) us.push_back(static_cast<double>(ns) / 1e3);
    return us.empty() ? -1.0 : percentile(us, q);
  };
  auto print_ratio = [](double value) {
    if (value < 0) std::printf(" %9s", "-");
    else std::printf(" %9.2f", value);
  };

  std::printf("\n== %s summary (medians over rounds; vs_libbpf / vs_raw = median of per-round ratios)\n", title);
  std::printf("Mrec/s: records / wall seconds (stream: end to end; drain: the drain). Mrec/cpu_s: records / CPU\n"
              "seconds of the consumer thread (its own cost, whatever else ran on the shared CPUs). full: times the\n"
              "producer found the ring full and waited (median; no record is ever lost).\n");
  std::printf("%-8s %5s %-16s %9s %9s %9s %11s %9s %9s %9s %6s\n", "mode", "size", "consumer", "Mrec/s", "vs_libbpf",
              "vs_raw", "Mrec/cpu_s", "vs_libbpf", "vs_raw", "full", "rounds");
  for (const auto& [m, size] : groups) {
    if (m == static_cast<int>(mode::latency)) continue;
    for (const auto& name : consumers) {
      auto it = runs.find({m, size, name});
      if (it == runs.end()) continue;
      std::vector<double> rates, cpu_rates, full;
      for (const auto* r : it->second) {
        rates.push_back(r->rate() / 1e6);
        cpu_rates.push_back(r->cpu_rate() / 1e6);
        full.push_back(static_cast<double>(r->full));
      }
      std::printf("%-8s %5u %-16s %9.2f", mode_name(static_cast<mode>(m)), size, name.c_str(), median(rates));
      print_ratio(ratio(m, size, name, "libbpf"));
      print_ratio(ratio(m, size, name, "raw"));
      std::printf(" %11.2f", median(cpu_rates));
      print_ratio(ratio(m, size, name, "libbpf", true));
      print_ratio(ratio(m, size, name, "raw", true));
      std::printf(" %9.0f %6zu\n", median(full), rates.size());
    }
  }
  bool any_latency = false;
  for (const auto& [m, size] : groups) {
    if (m != static_cast<int>(mode::latency)) continue;
    if (!any_latency) {
      std::printf("\n%-8s %5s %-16s %9s %9s %10s %9s\n", "mode", "size", "consumer", "p50_us", "p99_us",
                  "p99/libbpf", "samples");
      any_latency = true;
    }
    const double libbpf_p99 = pooled(m, size, "libbpf", 0.99);
    for (const auto& name : consumers) {
      auto it = runs.find({m, size, name});
      if (it == runs.end()) continue;
      std::size_t samples = 0;
      for (const auto* r : it->second) samples += r->latency_ns.size();
      const double p99 = pooled(m, size, name, 0.99);
      std::printf("%-8s %5u %-16s %9.1f %9.1f", "latency", size, name.c_str(), pooled(m, size, name, 0.5), p99);
      if (libbpf_p99 > 0) std::printf(" %10.2f", p99 / libbpf_p99);
      else std::printf(" %10s", "-");
      std::printf(" %9zu\n", samples);
    }
  }

  // The goals of the issue, judged from the numbers above.
  std::printf("\n== %s goals\n", title);
  for (const auto& [m, size] : groups) {
    if (m == static_cast<int>(mode::stream)) {
      const double r = ratio(m, size, "async", "libbpf");
      if (r >= 0) {
        std::printf("stream  size=%-4u async/libbpf = %.2f  (goal >= 1.00): %s\n", size, r, r >= 1.0 ? "met" : "MISSED");
      }
    } else if (m == static_cast<int>(mode::drain)) {
      const double r = ratio(m, size, "async", "raw"), c = ratio(m, size, "async", "raw", true);
      if (r >= 0) {
        std::printf("drain   size=%-4u async/raw    = %.2f wall, %.2f cpu  (goal >= 0.90): %s wall, %s cpu\n", size, r, c,
                    r >= 0.9 ? "met" : "MISSED", c >= 0.9 ? "met" : "MISSED");
      }
    } else {
      const double a = pooled(m, size, "async", 0.99), l = pooled(m, size, "libbpf", 0.99);
      if (a >= 0 && l > 0) {
        std::printf("latency size=%-4u async p99 %.1f us vs libbpf p99 %.1f us (goal: no worse): %s\n", size, a, l,
                    a <= l ? "met" : "MISSED");
      }
    }
  }
  std::fflush(stdout);
}

/// Command-line settings shared by both benchmarks.
struct options {
  std::size_t rounds = 5;
  std::vector<std::uint32_t> sizes{BENCH_SIZE_SMALL, BENCH_SIZE_MEDIUM, BENCH_SIZE_LARGE};
  std::vector<mode> modes{mode::stream, mode::drain, mode::latency};
  std::vector<std::string> consumers;  // empty: all
  std::uint64_t stream_records = 0;  // set by each benchmark
  std::uint64_t stream_ring_bytes = 4u << 20;
  std::uint64_t drain_ring_bytes = 64u << 20;
  std::size_t drain_cycles = 2;
  std::uint64_t latency_records = 1000;
  std::uint64_t latency_rate = 1000;  // records per second
  std::uint32_t latency_size = BENCH_SIZE_SMALL;
  std::size_t async_batch = 0;  // 0: the reader's default
  std::string realtime = "latency";  // which runs are SCHED_FIFO: none, latency, all
  std::uint64_t watermark_bytes = 512u << 10;  // perf only
  std::string object_path;
};

inline std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) parts.push_back(text.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

inline std::uint64_t parse_number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 0);
  if (errno != 0 || end == text.c_str() || *end != '\0') fail(flag + ": not a number: '" + text + "'");
  return value;
}

/// Parses the flags both benchmarks take (see `usage`); exits on a bad one.
inline options parse_options(int argc, char** argv, const char* usage, std::string default_object,
                             std::uint64_t default_stream_records) {
  options o;
  o.object_path = std::move(default_object);
  o.stream_records = default_stream_records;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf("%s", usage);
      std::exit(0);
    }
    if (i + 1 >= argc) fail(flag + ": missing value (see --help)");
    const std::string value = argv[++i];
    if (flag == "--rounds") {
      o.rounds = parse_number(flag, value);
    } else if (flag == "--sizes") {
      o.sizes.clear();
      for (const auto& part : split(value)) {
        const auto size = parse_number(flag, part);
        if (size != BENCH_SIZE_SMALL && size != BENCH_SIZE_MEDIUM && size != BENCH_SIZE_LARGE) {
          fail(flag + ": the producer emits 16, 64 or 512 bytes, not " + part);
        }
        o.sizes.push_back(static_cast<std::uint32_t>(size));
      }
    } else if (flag == "--modes") {
      o.modes.clear();
      for (const auto& part : split(value)) {
        if (part == "stream") o.modes.push_back(mode::stream);
        else if (part == "drain") o.modes.push_back(mode::drain);
        else if (part == "latency") o.modes.push_back(mode::latency);
        else if (part == "paired") o.modes.push_back(mode::paired);
        else fail(flag + ": unknown mode '" + part + "'");
      }
    } else if (flag == "--consumers") {
      o.consumers = split(value);
    } else if (flag == "--stream-records") {
      o.stream_records = parse_number(flag, value);
    } else if (flag == "--stream-ring") {
      o.stream_ring_bytes = parse_number(flag, value);
    } else if (flag == "--drain-ring") {
      o.drain_ring_bytes = parse_number(flag, value);
    } else if (flag == "--drain-cycles") {
      o.drain_cycles = parse_number(flag, value);
    } else if (flag == "--latency-records") {
      o.latency_records = parse_number(flag, value);
    } else if (flag == "--latency-rate") {
      o.latency_rate = parse_number(flag, value);
    } else if (flag == "--async-batch") {
      o.async_batch = parse_number(flag, value);
    } else if (flag == "--watermark") {
      o.watermark_bytes = parse_number(flag, value);
    } else if (flag == "--realtime") {
      if (value != "none" && value != "latency" && value != "all") fail(flag + ": none, latency or all");
      o.realtime = value;
    } else if (flag == "--object") {
      o.object_path = value;
    } else {
      fail("unknown flag " + flag + " (see --help)");
    }
  }
  if (o.rounds == 0 || o.latency_rate == 0 || o.drain_cycles == 0) {
    fail("--rounds, --drain-cycles and --latency-rate must be positive");
  }
  const auto power_of_two = [](std::uint64_t v) { return v >= 4096 && (v & (v - 1)) == 0; };
  if (!power_of_two(o.stream_ring_bytes) || !power_of_two(o.drain_ring_bytes)) {
    fail("ring sizes must be powers of two of at least 4096 bytes");
  }
  return o;
}

inline const char* common_usage() {
  return "  --rounds N           rounds; each runs every consumer once per mode and size (default 5)\n"
         "  --sizes LIST         record sizes among 16,64,512 (default all)\n"
         "  --modes LIST         among stream,drain,latency (default all)\n"
         "  --consumers LIST     consumer names (default all)\n"
         "  --stream-records N   records the producer tries per stream run\n"
         "  --stream-ring BYTES  ring size of stream and latency runs (default 4 MiB)\n"
         "  --drain-ring BYTES   ring size of drain runs (default 64 MiB)\n"
         "  --drain-cycles N     timed prefill + drain cycles per drain run, after an untimed one\n"
         "                       that maps the ring in (default 2)\n"
         "  --latency-records N  records per latency run (default 1000)\n"
         "  --latency-rate N     records per second in latency runs (default 1000)\n"
         "  --async-batch N      batch array of the async reader (default: its default, 256)\n"
         "  --realtime WHICH     runs whose threads are SCHED_FIFO: none, latency (default) or all\n"
         "                       (all: stream and drain runs take both CPUs from other work)\n"
         "  --object FILE        the producer object (default: ring_producer.bpf.o of the build)\n";
}

/// The consumers selected, in the benchmark's order.
inline std::vector<std::string> select_consumers(const std::vector<std::string>& all, const options& o) {
  if (o.consumers.empty()) return all;
  for (const auto& name : o.consumers)
    if (std::find(all.begin(), all.end(), name) == all.end()) fail("unknown consumer '" + name + "'");
  std::vector<std::string> chosen;
  for (const auto& name : all)
    if (std::find(o.consumers.begin(), o.consumers.end(), name) != o.consumers.end()) chosen.push_back(name);
  return chosen;
}

/// Factory of one benchmark's consumers: nullptr when `name` does not take part in mode `m`.
using consumer_factory = std::function<std::unique_ptr<consumer>(const std::string& name, mode m, std::uint32_t size)>;
/// The producer of one mode and size.
using producer_factory = std::function<producer_fn(mode m, std::uint32_t size)>;
/// The exact number of records of `size` that fill the drain ring.
using capacity_fn = std::function<std::uint64_t(std::uint32_t size)>;

/// Runs every round: in each, every size and mode, the consumers back to back (rotated by one
/// per round so none always goes first); latency runs last. Prints a line per run, then the
/// summary.
inline void run_all(const char* title, const options& o, const std::vector<std::string>& consumers,
                    const consumer_factory& make_consumer, const producer_factory& make_producer,
                    const capacity_fn& drain_capacity) {
  pin_to_cpu(consumer_cpu);
  watchdog dog;
  std::vector<run_result> results;
  auto run = [&](const std::string& name, mode m, std::uint32_t size, std::size_t round) {
    auto c = make_consumer(name, m, size);
    if (!c) return;
    run_settings settings;
    settings.stream_records = o.stream_records;
    settings.drain_records = drain_capacity(size);
    settings.drain_cycles = o.drain_cycles;
    settings.realtime = o.realtime == "all" || (o.realtime == "latency" && m == mode::latency);
    settings.latency_records = o.latency_records;
    settings.latency_period_ns = 1000000000u / o.latency_rate;
    run_result r = run_one(name, *c, m, size, make_producer(m, size), settings, dog);
    r.round = round;
    print_line(r);
    results.push_back(std::move(r));
  };
  for (std::size_t round = 0; round < o.rounds; ++round) {
    for (const std::uint32_t size : o.sizes) {
      for (const mode m : o.modes) {
        if (m == mode::latency || m == mode::paired) continue;
        for (std::size_t k = 0; k < consumers.size(); ++k) run(consumers[(k + round) % consumers.size()], m, size, round);
      }
    }
  }
  if (std::find(o.modes.begin(), o.modes.end(), mode::latency) != o.modes.end()) {
    for (std::size_t round = 0; round < o.rounds; ++round) {
      for (std::size_t k = 0; k < consumers.size(); ++k) {
        run(consumers[(k + round) % consumers.size()], mode::latency, o.latency_size, round);
      }
    }
  }
  if (!results.empty()) print_summary(title, results, consumers);
}

/// Paired latency (--modes paired; the ring buffer bench only, which has two rings): one
/// consumer on each ring, both threads SCHED_FIFO on the consumer CPU, and every period the
/// producer writes one timestamped record to each ring, in alternating order. Both consumers
/// are woken by the same event at the same moment, so a stall of the machine (this VM's
/// host) delays both: the p99s compare the consumers, not two stretches of the machine's
/// noise as back-to-back runs do. Whichever runs second waits for the first; alternating the
/// order shares that out. `make_on_ring(name, second)`: a consumer of the first or the second
/// ring; `produce_on(second)`: that ring's producer.
inline void run_paired(const options& o, const std::vector<std::string>& consumers,
                       const std::function<std::unique_ptr<consumer>(const std::string&, bool second)>& make_on_ring,
                       const std::function<producer_fn(bool second)>& produce_on) {
  const std::string baseline = "libbpf";
  struct pooled {
    std::vector<double> ours, theirs;
    std::vector<double> difference;  // per event: ours - libbpf, us
    // Events that neither consumer saw later than a period: the machine did not stall them, so
    // their tail is the consumers' own.
    std::vector<double> quiet_ours, quiet_theirs;
  };
  std::vector<std::pair<std::string, pooled>> pools;
  const std::uint64_t period_ns = 1000000000u / o.latency_rate;
  watchdog dog;
  for (std::size_t round = 0; round < o.rounds; ++round) {
    for (const auto& name : consumers) {
      if (name == baseline) continue;
      // Which consumer reads the first ring alternates by round too.
      const bool ours_second = round % 2 == 1;
      auto ours = make_on_ring(name, ours_second);
      auto theirs = make_on_ring(baseline, !ours_second);
      tally t_ours, t_theirs;
      std::vector<std::uint64_t> lat_ours, lat_theirs;
      lat_ours.reserve(o.latency_records);
      lat_theirs.reserve(o.latency_records);
      t_ours.latency_ns = &lat_ours;
      t_theirs.latency_ns = &lat_theirs;
      t_ours.min_size = t_theirs.min_size = o.latency_size;
      run_control c_ours, c_theirs;
      c_ours.set_total(o.latency_records);
      c_theirs.set_total(o.latency_records);
      producer_fn first = produce_on(false), second = produce_on(true);
      produce_result made_first, made_second;
      std::atomic<int> ready{0};
      auto consume = [&](consumer& c, run_control& control, tally& t) {
        pin_to_cpu(consumer_cpu);
        set_realtime(true);
        ready.fetch_add(1);
        c.run(control, t, -1);
        set_realtime(false);
      };
      const std::string what = "consumer=" + name + "+" + baseline + " mode=paired round=" + std::to_string(round);
      dog.arm(what, 30 + static_cast<double>(o.latency_records) * static_cast<double>(period_ns) / 1e9);
      std::thread a([&] { consume(*ours, c_ours, t_ours); });
      std::thread b([&] { consume(*theirs, c_theirs, t_theirs); });
      std::thread producer([&] {
        pin_to_cpu(producer_cpu);
        set_realtime(true);
        while (ready.load() < 2) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // both consumers asleep in their wait
        const std::uint64_t start = now_ns();
        for (std::uint64_t i = 0; i < o.latency_records; ++i) {
          const std::uint64_t at = start + (i + 1) * period_ns;
          const timespec ts{static_cast<time_t>(at / 1000000000u), static_cast<long>(at % 1000000000u)};
          while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
          }
          auto one = [&](bool to_second) {
            produce_result& made = to_second ? made_second : made_first;
            const produce_result r = (to_second ? second : first)(1, made.produced, true);
            made.produced += r.produced;
            made.failed += r.failed;
          };
          one(i % 2 == 1);
          one(i % 2 == 0);
        }
        set_realtime(false);
        ours->producer_done();
        theirs->producer_done();
      });
      producer.join();
      a.join();
      b.join();
      dog.disarm();
      verify(what + " (" + name + ")", t_ours, ours_second ? made_second : made_first);
      verify(what + " (" + baseline + ")", t_theirs, ours_second ? made_first : made_second);
      auto to_us = [](const std::vector<std::uint64_t>& ns) {
        std::vector<double> us;
        us.reserve(ns.size());
        for (auto v : ns) us.push_back(static_cast<double>(v) / 1e3);
        return us;
      };
      const auto us_ours = to_us(lat_ours), us_theirs = to_us(lat_theirs);
      std::printf("consumer=%s paired_with=%s mode=paired size=%u records=%zu round=%zu p50_us=%.1f p99_us=%.1f "
                  "%s_p50_us=%.1f %s_p99_us=%.1f\n",
                  name.c_str(), baseline.c_str(), o.latency_size, us_ours.size(), round, percentile(us_ours, 0.5),
                  percentile(us_ours, 0.99), baseline.c_str(), percentile(us_theirs, 0.5), baseline.c_str(),
                  percentile(us_theirs, 0.99));
      std::fflush(stdout);
      auto it = std::find_if(pools.begin(), pools.end(), [&](const auto& p) { return p.first == name; });
      if (it == pools.end()) it = pools.insert(pools.end(), {name, {}});
      it->second.ours.insert(it->second.ours.end(), us_ours.begin(), us_ours.end());
      it->second.theirs.insert(it->second.theirs.end(), us_theirs.begin(), us_theirs.end());
      // Record k of each ring is event k (both consumers verified all in order).
      const double period_us = static_cast<double>(period_ns) / 1e3;
      for (std::size_t k = 0; k < us_ours.size() && k < us_theirs.size(); ++k) {
        it->second.difference.push_back(us_ours[k] - us_theirs[k]);
        if (us_ours[k] < period_us && us_theirs[k] < period_us) {
          it->second.quiet_ours.push_back(us_ours[k]);
          it->second.quiet_theirs.push_back(us_theirs[k]);
        }
      }
    }
  }
  std::printf("\n== paired latency (the same events, pooled over %zu rounds)\n", o.rounds);
  // The machine's stalls (here: the consumer CPU gone for up to ~6 ms, every consumer alike)
  // make p99 a count of stalled samples; the per-event difference shows what the consumer adds.
  std::printf("%-12s %9s %9s %9s %9s %10s %10s %11s %11s %11s\n", "consumer", "p50_us", "p99_us", "lb_p50_us",
              "lb_p99_us", "p50/libbpf", "p99/libbpf", "diff_p1_us", "diff_p50_us", "diff_p99_us");
  for (const auto& [name, pool] : pools) {
    const double p50 = percentile(pool.ours, 0.5), p99 = percentile(pool.ours, 0.99);
    const double lp50 = percentile(pool.theirs, 0.5), lp99 = percentile(pool.theirs, 0.99);
    std::printf("%-12s %9.1f %9.1f %9.1f %9.1f %10.2f %10.2f %11.1f %11.1f %11.1f\n", name.c_str(), p50, p99, lp50,
                lp99, p50 / lp50, p99 / lp99, percentile(pool.difference, 0.01), percentile(pool.difference, 0.5),
                percentile(pool.difference, 0.99));
    const double qp99 = percentile(pool.quiet_ours, 0.99), lqp99 = percentile(pool.quiet_theirs, 0.99);
    std::printf("%-12s events neither saw stalled (under a period): %zu of %zu, p99 %.1f us vs libbpf %.1f us (%.2f)\n",
                "", pool.quiet_ours.size(), pool.ours.size(), qp99, lqp99, qp99 / lqp99);
    if (name == "async") {
      std::printf("paired latency: async p99 %.1f us vs libbpf p99 %.1f us on the same events (goal: no worse): %s\n", p99,
                  lp99, p99 <= lp99 ? "met" : "MISSED");
      std::printf("paired latency, unstalled events: async p99 %.1f us vs libbpf p99 %.1f us (goal: no worse): %s\n", qp99,
                  lqp99, qp99 <= lqp99 ? "met" : "MISSED");
    }
  }
}

}  // namespace ring_bench
