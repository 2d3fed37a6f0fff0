// perfbuf: perf buffer (BPF_MAP_TYPE_PERF_EVENT_ARRAY) consumers against each other, with a
// real producer.
//
//   perfbuf [--rounds N] [--sizes 16,64,512] [--modes stream,drain,latency] [--consumers LIST]
//           [--watermark BYTES] ...
//
// The producer is produce_perf (bench/ring_producer.bpf.c): a raw_tp program run through
// BPF_PROG_TEST_RUN on CPU 0 (BPF_F_TEST_RUN_ON_CPU) that writes records with
// bpf_perf_event_output in a bpf_loop; they land in CPU 0's ring. The consumer runs on CPU 1 and
// reads every CPU's ring. Consumers, each set up fresh for every run (setup not timed):
//   async            ebpf::async::perf_buffer: co_await async_read_some batches
//   sync             ebpf::perf_buffer::poll with a callback
//   sync_batch       ebpf::perf_buffer::read_batch / commit / wait with the async reader's batch
//                    size: the async reader's loop without Asio
//   libbpf           perf_buffer__poll (libbpf 1.1: epoll, then every ring that woke); drain
//                    runs use perf_buffer__consume (nothing woke). Events are set up with
//                    perf_buffer__new_raw and the attributes perf_buffer__new uses, except
//                    wakeup_events in drain runs (below)
//   raw              hand-written: perf_event_open + mmap per CPU, data_head/data_tail, epoll
//   async_watermark  async with perf_buffer_options::watermark_bytes (stream only)
//   sync_watermark   sync with perf_buffer_options::watermark_bytes (stream only)
// In stream and latency runs all but the watermark ones wake the reader on every sample
// (wakeup_events = 1, libbpf's default); drain runs never wait, and open their events with a
// wakeup_events so large that the prefill wakes nobody (a wakeup per sample would make it slow). With a watermark the kernel wakes the reader only when a ring holds that many bytes:
// far fewer wakeups under load, but records below it wait: the watermark sync consumer polls
// with a 10 ms timeout, and the async one is woken by the producer's end (a cancel), so the last
// records of a stream run are read within that time.
//
// Output and checks as bench/ringbuf.cpp (ring_bench_common.hpp). The producer retries what a
// full ring refused (`full`); the kernel reports each refusal as a lost sample too, which the
// consumers count and check against `full`.
#include "ring_bench_common.hpp"

#include <ebpf/async/perf_buffer.hpp>
#include <ebpf/error.hpp>
#include <ebpf/map.hpp>
#include <ebpf/object.hpp>
#include <ebpf/perf_buffer.hpp>
#include <ebpf/program.hpp>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#ifndef EBPFPP_BENCH_RING_OBJECT
#define EBPFPP_BENCH_RING_OBJECT "ring_producer.bpf.o"
#endif

namespace {

using namespace ring_bench;

// The timeout of the watermark sync consumer's waits in stream runs (see the top).
constexpr int watermark_timeout_ms = 10;
// wakeup_events of the events of drain runs: no wakeup during the prefill.
constexpr std::uint32_t drain_wakeup_events = 1u << 30;

void handle(tally& t, const ebpf::ring::perf_record& record) noexcept {
  if (record.is_lost()) {
    t.kernel_lost += record.lost;
  } else {
    t.record(record.data.data(), record.data.size());
  }
}

class async_consumer final : public consumer {
 public:
  async_consumer(const ebpf::map& events, const ebpf::perf_buffer_options& options, std::size_t batch)
      : reader_(io_, events, options, batch != 0 ? batch : ebpf::async::default_batch_size),
        watermark_(options.watermark_bytes != 0) {}

  void run(run_control& control, tally& t, int) override {
    std::exception_ptr failure;
    io_.restart();  // drain runs call run() once per cycle
    asio::co_spawn(io_, loop(control, t), [&failure](std::exception_ptr e) { failure = e; });
    io_.run();
    if (failure) std::rethrow_exception(failure);
    // The last batch is only committed when the next read starts: give its room back now, as
    // a program that stops reading must (the next consumer of the ring starts there).
    reader_.commit();
  }
  // With a watermark the last records may sit below it, waking nobody: the producer's end
  // cancels the wait, and the loop reads on (a cancelled read loses nothing).
  void producer_done() override {
    if (watermark_) asio::post(io_, [this] { reader_.cancel(); });
  }

 private:
  asio::awaitable<void> loop(run_control& control, tally& t) {
    for (;;) {
      auto [ec, batch] = co_await reader_.async_read_some(asio::experimental::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted) {
        if (control.after_idle(t)) co_return;
        continue;
      }
      if (ec) throw std::system_error(ec, "async_read_some");
      for (const auto& record : batch) handle(t, record);
      if (control.after_records(t)) co_return;
    }
  }

  asio::io_context io_{1};
  ebpf::async::perf_buffer reader_;
  bool watermark_;
};

class sync_consumer final : public consumer {
 public:
  sync_consumer(const ebpf::map& events, const ebpf::perf_buffer_options& options)
      : reader_(events, options), watermark_(options.watermark_bytes != 0) {}

  void run(run_control& control, tally& t, int timeout_ms) override {
    if (watermark_) timeout_ms = watermark_timeout_ms;
    for (;;) {
      const std::size_t n = reader_.poll(std::chrono::milliseconds(timeout_ms),
                                         [&t](const ebpf::ring::perf_record& record) { handle(t, record); });
      if (n > 0 ? control.after_records(t) : control.after_idle(t)) return;
    }
  }

 private:
  ebpf::perf_buffer reader_;
  bool watermark_;
};

/// The core's batch API as an event loop of one's own uses it (the async reader's loop without
/// Asio), with the async reader's batch size.
class sync_batch_consumer final : public consumer {
 public:
  sync_batch_consumer(const ebpf::map& events, const ebpf::perf_buffer_options& options, std::size_t batch)
      : reader_(events, options), records_(batch != 0 ? batch : ebpf::async::default_batch_size) {}

  void run(run_control& control, tally& t, int timeout_ms) override {
    for (;;) {
      const std::size_t n = reader_.read_batch(records_);
      if (n > 0) {
        for (std::size_t i = 0; i < n; ++i) handle(t, records_[i]);
        reader_.commit();
        if (control.after_records(t)) return;
        continue;
      }
      if (reader_.corrupt()) fail("sync_batch: corrupt ring");
      if (control.after_idle(t)) return;
      reader_.wait(std::chrono::milliseconds(timeout_ms));
    }
  }

 private:
  ebpf::perf_buffer reader_;
  std::vector<ebpf::ring::perf_record> records_;
};

/// libbpf's perf buffer through perf_buffer__new_raw: the same rings, epoll and read loop as
/// perf_buffer__new (whose events are these: a BPF output event per CPU, PERF_SAMPLE_RAW,
/// sample_period 1), with the wakeup setting chosen here so that drain runs can prefill fast.
class libbpf_consumer final : public consumer {
 public:
  libbpf_consumer(const ebpf::map& events, std::size_t pages, std::uint32_t wakeup_events, bool drain) : drain_(drain) {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_BPF_OUTPUT;
    attr.sample_type = PERF_SAMPLE_RAW;
    attr.sample_period = 1;
    attr.wakeup_events = wakeup_events;
    pb_ = ::perf_buffer__new_raw(events.fd(), pages, &attr, &libbpf_consumer::on_event, this, nullptr);
    if (pb_ == nullptr) fail("libbpf: perf_buffer__new_raw: " + std::string(std::strerror(errno)));
  }
  ~libbpf_consumer() override { ::perf_buffer__free(pb_); }
  libbpf_consumer(const libbpf_consumer&) = delete;
  libbpf_consumer& operator=(const libbpf_consumer&) = delete;

  void run(run_control& control, tally& t, int timeout_ms) override {
    tally_ = &t;
    for (;;) {
      // perf_buffer__poll returns the number of rings that woke, not of records. A drain reads
      // with perf_buffer__consume: the prefill woke nobody, so there is nothing to poll for.
      const std::uint64_t before = t.records + t.kernel_lost;
      const int n = drain_ ? ::perf_buffer__consume(pb_) : ::perf_buffer__poll(pb_, timeout_ms);
      if (n < 0 && n != -EINTR) fail("libbpf: perf_buffer__poll: " + std::string(std::strerror(-n)));
      const bool got = t.records + t.kernel_lost != before;
      if (got ? control.after_records(t) : control.after_idle(t)) return;
    }
  }

 private:
  // What libbpf's own sample/lost callbacks are called from (perf_buffer__process_record).
  static bpf_perf_event_ret on_event(void* context, int, perf_event_header* event) {
    tally& t = *static_cast<libbpf_consumer*>(context)->tally_;
    const auto* bytes = reinterpret_cast<const unsigned char*>(event);
    if (event->type == PERF_RECORD_SAMPLE) {
      std::uint32_t size;
      std::memcpy(&size, bytes + sizeof *event, sizeof size);
      t.record(bytes + sizeof *event + sizeof size, size);
    } else if (event->type == PERF_RECORD_LOST) {
      std::uint64_t lost;
      std::memcpy(&lost, bytes + sizeof *event + 8, sizeof lost);
      t.kernel_lost += lost;
    }
    return LIBBPF_PERF_EVENT_CONT;
  }
  ::perf_buffer* pb_ = nullptr;
  tally* tally_ = nullptr;
  bool drain_;
};

/// The hand-written consumer: one PERF_COUNT_SW_BPF_OUTPUT event per CPU, its ring mapped
/// read-write (so the kernel honours data_tail), data_tail stored once per pass.
class raw_consumer final : public consumer {
 public:
  raw_consumer(const ebpf::map& events, std::size_t pages, std::uint32_t wakeup_events) : pages_(pages) {
    page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    map_fd_ = ::fcntl(events.fd(), F_DUPFD_CLOEXEC, 3);
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (map_fd_ < 0 || epoll_ < 0) fail("raw: dup/epoll: " + std::string(std::strerror(errno)));
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    for (std::uint32_t cpu = 0; cpu < events.max_entries() && cpu < static_cast<std::uint32_t>(cpus); ++cpu) {
      perf_event_attr attr{};
      attr.size = sizeof attr;
      attr.type = PERF_TYPE_SOFTWARE;
      attr.config = PERF_COUNT_SW_BPF_OUTPUT;
      attr.sample_type = PERF_SAMPLE_RAW;
      attr.sample_period = 1;
      attr.wakeup_events = wakeup_events;
      ring r;
      r.cpu = cpu;
      r.fd = static_cast<int>(::syscall(SYS_perf_event_open, &attr, -1, static_cast<int>(cpu), -1, PERF_FLAG_FD_CLOEXEC));
      if (r.fd < 0) fail("raw: perf_event_open: " + std::string(std::strerror(errno)));
      r.length = (pages_ + 1) * page_;
      r.base = ::mmap(nullptr, r.length, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, 0);
      if (r.base == MAP_FAILED) fail("raw: mmap perf ring: " + std::string(std::strerror(errno)));
      r.page = static_cast<perf_event_mmap_page*>(r.base);
      r.data = static_cast<const unsigned char*>(r.base) + page_;
      rings_.push_back(r);
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u32 = cpu;
      if (::ioctl(r.fd, PERF_EVENT_IOC_ENABLE, 0) != 0 || ::epoll_ctl(epoll_, EPOLL_CTL_ADD, r.fd, &event) != 0 ||
          ::bpf_map_update_elem(map_fd_, &cpu, &r.fd, BPF_ANY) != 0) {
        fail("raw: enable/epoll/map update: " + std::string(std::strerror(errno)));
      }
    }
    scratch_.resize(65536);
  }
  ~raw_consumer() override {
    for (auto& r : rings_) {
      ::bpf_map_delete_elem(map_fd_, &r.cpu);
      ::munmap(r.base, r.length);
      ::close(r.fd);
    }
    ::close(epoll_);
    ::close(map_fd_);
  }
  raw_consumer(const raw_consumer&) = delete;
  raw_consumer& operator=(const raw_consumer&) = delete;

  void run(run_control& control, tally& t, int timeout_ms) override {
    for (;;) {
      if (drain(t) > 0) {
        if (control.after_records(t)) return;
        continue;
      }
      if (control.after_idle(t)) return;
      // A perf event's readiness is set by the wakeup and cleared by whoever polls it: a sample
      // written after the drain above sets it again, so it cannot be slept through.
      epoll_event events[8];
      if (::epoll_wait(epoll_, events, 8, timeout_ms) < 0 && errno != EINTR) {
        fail("raw: epoll_wait: " + std::string(std::strerror(errno)));
      }
    }
  }

 private:
  struct ring {
    std::uint32_t cpu = 0;
    int fd = -1;
    void* base = nullptr;
    std::size_t length = 0;
    perf_event_mmap_page* page = nullptr;
    const unsigned char* data = nullptr;
  };

  std::size_t drain(tally& t) noexcept {
    const std::uint64_t size_of_data = static_cast<std::uint64_t>(pages_) * page_;
    const std::uint64_t mask = size_of_data - 1;
    std::size_t count = 0;
    for (auto& r : rings_) {
      const std::uint64_t head = __atomic_load_n(&r.page->data_head, __ATOMIC_ACQUIRE);
      std::uint64_t tail = r.page->data_tail;  // only this thread writes it
      if (tail == head) continue;
      while (tail < head) {
        const std::uint64_t offset = tail & mask;
        perf_event_header header;
        std::memcpy(&header, r.data + offset, sizeof header);  // 8-aligned: never wraps
        const unsigned char* record = r.data + offset;
        if (offset + header.size > size_of_data) {
          // The record wraps around the end of the ring (mapped once): copy it out.
          const std::uint64_t first = size_of_data - offset;
          std::memcpy(scratch_.data(), record, first);
          std::memcpy(scratch_.data() + first, r.data, header.size - first);
          record = scratch_.data();
        }
        if (header.type == PERF_RECORD_SAMPLE) {
          std::uint32_t raw_size;
          std::memcpy(&raw_size, record + sizeof header, sizeof raw_size);
          t.record(record + sizeof header + sizeof raw_size, raw_size);
        } else if (header.type == PERF_RECORD_LOST) {
          std::uint64_t lost;
          std::memcpy(&lost, record + sizeof header + 8, sizeof lost);
          t.kernel_lost += lost;
        }
        ++count;
        tail += header.size;
      }
      __atomic_store_n(&r.page->data_tail, tail, __ATOMIC_RELEASE);
    }
    return count;
  }

  std::size_t pages_;
  std::size_t page_ = 0;
  int map_fd_ = -1;
  int epoll_ = -1;
  std::vector<ring> rings_;
  std::vector<unsigned char> scratch_;
};

constexpr const char* usage =
    "perfbuf: perf buffer consumers (ebpfpp async and sync, with and without a watermark, libbpf,\n"
    "raw mmap) on a real producer\n"
    "usage: perfbuf [options]\n"
    "  --watermark BYTES    watermark_bytes of the *_watermark consumers (default 512 KiB)\n"
    "  (--stream-records default: 262144)\n";

}  // namespace

int main(int argc, char** argv) try {
  const std::string help = std::string(usage) + common_usage();
  // Waking the reader on every sample makes the producer slow (an irq_work and a wakeup each):
  // a second or two per stream run here.
  options o = parse_options(argc, argv, help.c_str(), EBPFPP_BENCH_RING_OBJECT, 256u << 10);
  if (std::find(o.modes.begin(), o.modes.end(), mode::paired) != o.modes.end())
    fail("--modes paired: the ring buffer bench only (it needs two rings; this bench has one perf event array)");
  const std::vector<std::string> all{"async",  "sync", "sync_batch", "libbpf", "raw", "async_watermark",
                                     "sync_watermark"};
  const std::vector<std::string> consumers = select_consumers(all, o);
  if (o.watermark_bytes == 0 || o.watermark_bytes > o.stream_ring_bytes) {
    fail("--watermark must be between 1 and the stream ring size");
  }

  ebpf::object object = ebpf::object::open(o.object_path);
  ebpf::load_options load;
  load.only = {"produce_perf"};  // not the ringbufs
  object.load(load);
  const ebpf::program& producer = object.program("produce_perf");
  const ebpf::map& events = object.map("events");
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));

  std::printf("# perfbuf: stream ring %llu KiB per CPU, drain ring %llu KiB per CPU, watermark %llu KiB, %llu records "
              "per stream run, %zu rounds, latency %llu records at %llu/s; producer CPU %d, consumer CPU %d\n",
              static_cast<unsigned long long>(o.stream_ring_bytes >> 10),
              static_cast<unsigned long long>(o.drain_ring_bytes >> 10),
              static_cast<unsigned long long>(o.watermark_bytes >> 10),
              static_cast<unsigned long long>(o.stream_records), o.rounds,
              static_cast<unsigned long long>(o.latency_records), static_cast<unsigned long long>(o.latency_rate),
              producer_cpu, consumer_cpu);

  auto make_consumer = [&](const std::string& name, mode m, std::uint32_t) -> std::unique_ptr<consumer> {
    const std::size_t pages = (m == mode::drain ? o.drain_ring_bytes : o.stream_ring_bytes) / page;
    // A wakeup per sample costs the producer an irq_work each (a self-interrupt), which makes a
    // 64 MiB prefill take over ten seconds here; a drain never waits, so its events wake nobody.
    const std::uint32_t wakeup_events = m == mode::drain ? drain_wakeup_events : 1;
    ebpf::perf_buffer_options options;
    options.pages_per_cpu = pages;
    options.wakeup_events = wakeup_events;
    const bool watermark = name == "async_watermark" || name == "sync_watermark";
    if (watermark) {
      // Only stream runs tell something about a watermark: a drain never waits, and at a few
      // records per millisecond they would sit below it.
      if (m != mode::stream) return nullptr;
      options.watermark_bytes = static_cast<std::uint32_t>(o.watermark_bytes);
    }
    if (name == "async" || name == "async_watermark") return std::make_unique<async_consumer>(events, options, o.async_batch);
    if (name == "sync" || name == "sync_watermark") return std::make_unique<sync_consumer>(events, options);
    if (name == "sync_batch") return std::make_unique<sync_batch_consumer>(events, options, o.async_batch);
    if (name == "libbpf") return std::make_unique<libbpf_consumer>(events, pages, wakeup_events, m == mode::drain);
    return std::make_unique<raw_consumer>(events, pages, wakeup_events);
  };
  auto make_producer = [&](mode, std::uint32_t size) -> producer_fn {
    return [&producer, &object, size](std::uint32_t count, std::uint64_t first_seq, bool timestamp) {
      std::uint64_t args[BENCH_PERF_NARGS] = {};
      args[BENCH_PERF_COUNT] = count;
      args[BENCH_PERF_SIZE] = size;
      args[BENCH_PERF_FIRST_SEQ] = first_seq;
      args[BENCH_PERF_TIMESTAMP] = timestamp ? 1 : 0;
      args[BENCH_PERF_STOP_WHEN_FULL] = 1;
      ebpf::test_run_options run_options;
      run_options.ctx = std::as_bytes(std::span(args));
      // bpf_prog_test_run_raw_tp refuses data, output buffers and repeat.
      run_options.ctx_out_size = 0;
      run_options.data_out_size = 0;
      run_options.repeat = 0;
      run_options.flags = BPF_F_TEST_RUN_ON_CPU;
      run_options.cpu = producer_cpu;
      const ebpf::test_run_result run = producer.test_run(run_options);
      if (run.retval != 0) fail("produce_perf: retval " + std::to_string(run.retval));
      return produce_result{object.global<std::uint64_t>("perf_produced"), object.global<std::uint64_t>("perf_failed")};
    };
  };
  // A sample is its 8-byte header, the u32 size and the data, padded to 8 (perf_prepare_sample);
  // the kernel keeps at least one byte of the ring free (ring_buffer_has_space: CIRC_SPACE).
  auto capacity = [&](std::uint32_t size) -> std::uint64_t {
    const std::uint64_t sample = 8 + (static_cast<std::uint64_t>(size) + 4 + 7) / 8 * 8;
    return (o.drain_ring_bytes - 1) / sample;
  };
  run_all("perfbuf", o, consumers, make_consumer, make_producer, capacity);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "perfbuf: %s\n", e.what());
  return 1;
}
