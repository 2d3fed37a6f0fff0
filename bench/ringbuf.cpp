// ringbuf: BPF ring buffer consumers against each other, with a real producer.
//
//   ringbuf [--rounds N] [--sizes 16,64,512] [--modes stream,drain,latency,paired] [--consumers LIST] ...
//
// The producer is produce_ringbuf (bench/ring_producer.bpf.c): a syscall program run through
// BPF_PROG_TEST_RUN on CPU 0 that reserves and submits records with bpf_loop. The consumer runs
// on CPU 1. Consumers, each set up fresh for every run (setup not timed):
//   async   ebpf::async::ring_buffer: co_await async_read_some batches (zero-copy views; the
//           consumer position is committed once per batch), on an io_context run by this thread
//   sync    ebpf::ring_buffer::poll with a callback
//   sync_batch  ebpf::ring_buffer::read_batch / commit / wait: the async reader's loop without
//           Asio, with the same batch size (tells what Asio adds from what the core costs)
//   libbpf  ring_buffer__poll (libbpf 1.1: epoll, then the callback through a function pointer,
//           consumer position stored after every record)
//   raw     hand-written: mmap, acquire loads of positions and headers, consumer position stored
//           once per pass over what was available, epoll_wait on the map fd when caught up
// Every consumer does the same per-record work (ring_bench::tally::record: count, check seq).
//
// Modes, checks and output: see ring_bench_common.hpp. Each run prints
//   consumer=NAME mode=MODE size=N records=N seconds=S lost=N full=N round=R mrps=M cpu_s=C
//            [p50_us= p99_us= max_us=]
// (lost is always 0: a run that loses or duplicates a record fails; full counts the producer's
// waits for room; cpu_s is the consumer thread's CPU time), and at the end a summary with ratios
// to libbpf and raw and the goals of the benchmark. --modes paired (see run_paired) runs each
// consumer against libbpf on the same events and prints
//   consumer=NAME paired_with=libbpf mode=paired size=N records=N round=R p50_us= p99_us=
//            libbpf_p50_us= libbpf_p99_us=
// then the pooled p50/p99 of each pair and their ratio.
// A benchmark, never a test: it only fails on a miscount or a stuck consumer.
#include "ring_bench_common.hpp"

#include <ebpf/async/ring_buffer.hpp>
#include <ebpf/error.hpp>
#include <ebpf/map.hpp>
#include <ebpf/object.hpp>
#include <ebpf/program.hpp>
#include <ebpf/ring_buffer.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#ifndef EBPFPP_BENCH_RING_OBJECT
#define EBPFPP_BENCH_RING_OBJECT "ring_producer.bpf.o"
#endif

namespace {

using namespace ring_bench;

class async_consumer final : public consumer {
 public:
  async_consumer(const ebpf::map& ring, std::size_t batch)
      : reader_(io_, ring, batch != 0 ? batch : ebpf::async::default_ring_batch_size) {}

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

 private:
  asio::awaitable<void> loop(run_control& control, tally& t) {
    for (;;) {
      const ebpf::async::ring_batch batch = co_await reader_.async_read_some(asio::use_awaitable);
      // for_each: the walk runs in the library, not in the coroutine's frame (see ring_batch).
      batch.for_each([&t](const ebpf::async::ring_record& record) { t.record(record.data.data(), record.size()); });
      if (control.after_records(t)) co_return;
    }
  }

  // One thread runs it: the concurrency hint lets Asio keep the reader's own posts off the
  // cross-thread queue.
  asio::io_context io_{1};
  ebpf::async::ring_buffer reader_;
};

class sync_consumer final : public consumer {
 public:
  explicit sync_consumer(const ebpf::map& ring) : reader_(ring) {}

  void run(run_control& control, tally& t, int timeout_ms) override {
    for (;;) {
      const std::size_t n = reader_.poll(std::chrono::milliseconds(timeout_ms), [&t](std::span<const std::byte> record) {
        t.record(record.data(), record.size());
      });
      if (n > 0 ? control.after_records(t) : control.after_idle(t)) return;
    }
  }

 private:
  ebpf::ring_buffer reader_;
};

/// The core's zero-copy batch API as an event loop of one's own uses it (the async reader's
/// loop without Asio): read_batch, handle, commit, and wait() when caught up. Its batch array is
/// the async reader's size, so the two differ only by what Asio adds.
class sync_batch_consumer final : public consumer {
 public:
  sync_batch_consumer(const ebpf::map& ring, std::size_t batch)
      : reader_(ring), views_(batch != 0 ? batch : ebpf::async::default_ring_batch_size) {}

  void run(run_control& control, tally& t, int timeout_ms) override {
    for (;;) {
      const std::size_t n = reader_.read_batch(views_);
      if (n > 0) {
        for (std::size_t i = 0; i < n; ++i) t.record(views_[i].data(), views_[i].size());
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
  ebpf::ring_buffer reader_;
  std::vector<std::span<const std::byte>> views_;
};

class libbpf_consumer final : public consumer {
 public:
  explicit libbpf_consumer(const ebpf::map& ring) {
    rb_ = ::ring_buffer__new(ring.fd(), &libbpf_consumer::on_sample, this, nullptr);
    if (rb_ == nullptr) fail("libbpf: ring_buffer__new: " + std::string(std::strerror(errno)));
  }
  ~libbpf_consumer() override { ::ring_buffer__free(rb_); }
  libbpf_consumer(const libbpf_consumer&) = delete;
  libbpf_consumer& operator=(const libbpf_consumer&) = delete;

  void run(run_control& control, tally& t, int timeout_ms) override {
    tally_ = &t;
    for (;;) {
      const int n = ::ring_buffer__poll(rb_, timeout_ms);
      if (n < 0 && n != -EINTR) fail("libbpf: ring_buffer__poll: " + std::string(std::strerror(-n)));
      if (n > 0 ? control.after_records(t) : control.after_idle(t)) return;
    }
  }

 private:
  static int on_sample(void* context, void* data, std::size_t size) {
    static_cast<libbpf_consumer*>(context)->tally_->record(data, size);
    return 0;
  }
  ::ring_buffer* rb_ = nullptr;
  tally* tally_ = nullptr;
};

/// The hand-written consumer: what the kernel's layout allows at least cost.
class raw_consumer final : public consumer {
 public:
  explicit raw_consumer(const ebpf::map& ring) : capacity_(ring.max_entries()) {
    page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    fd_ = ::fcntl(ring.fd(), F_DUPFD_CLOEXEC, 3);
    if (fd_ < 0) fail("raw: dup: " + std::string(std::strerror(errno)));
    consumer_page_ = ::mmap(nullptr, page_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (consumer_page_ == MAP_FAILED) fail("raw: mmap consumer page: " + std::string(std::strerror(errno)));
    // The producer page, then the data pages, which the kernel maps twice: a record that wraps
    // around the end is contiguous.
    data_length_ = page_ + 2 * capacity_;
    producer_and_data_ = ::mmap(nullptr, data_length_, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(page_));
    if (producer_and_data_ == MAP_FAILED) fail("raw: mmap data: " + std::string(std::strerror(errno)));
    consumer_pos_ = static_cast<std::uint64_t*>(consumer_page_);
    producer_pos_ = static_cast<const std::uint64_t*>(producer_and_data_);
    data_ = static_cast<const unsigned char*>(producer_and_data_) + page_;
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    if (epoll_ < 0 || ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd_, &event) != 0) {
      fail("raw: epoll: " + std::string(std::strerror(errno)));
    }
  }
  ~raw_consumer() override {
    ::munmap(producer_and_data_, data_length_);
    ::munmap(consumer_page_, page_);
    ::close(epoll_);
    ::close(fd_);
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
      // The ring fd is readable while the producer is ahead of the consumer position (level
      // triggered), so a record submitted after the drain above cannot be slept through.
      epoll_event event;
      if (::epoll_wait(epoll_, &event, 1, timeout_ms) < 0 && errno != EINTR) {
        fail("raw: epoll_wait: " + std::string(std::strerror(errno)));
      }
    }
  }

 private:
  std::size_t drain(tally& t) noexcept {
    const std::uint64_t mask = capacity_ - 1;
    std::uint64_t consumed = *consumer_pos_;  // only this thread writes it
    std::size_t count = 0;
    for (;;) {
      const std::uint64_t produced = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
      if (consumed == produced) break;
      bool busy = false;
      while (consumed < produced) {
        const unsigned char* header = data_ + (consumed & mask);
        const std::uint32_t len = __atomic_load_n(reinterpret_cast<const std::uint32_t*>(header), __ATOMIC_ACQUIRE);
        if (len & BPF_RINGBUF_BUSY_BIT) {
          busy = true;
          break;
        }
        const std::uint32_t size = len & ~static_cast<std::uint32_t>(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
        consumed += (static_cast<std::uint64_t>(size) + BPF_RINGBUF_HDR_SZ + 7) & ~std::uint64_t{7};
        if ((len & BPF_RINGBUF_DISCARD_BIT) == 0) {
          t.record(header + BPF_RINGBUF_HDR_SZ, size);
          ++count;
        }
      }
      __atomic_store_n(consumer_pos_, consumed, __ATOMIC_RELEASE);
      if (busy) break;
    }
    return count;
  }

  std::uint64_t capacity_;
  std::size_t page_ = 0;
  std::size_t data_length_ = 0;
  int fd_ = -1;
  int epoll_ = -1;
  void* consumer_page_ = nullptr;
  void* producer_and_data_ = nullptr;
  std::uint64_t* consumer_pos_ = nullptr;
  const std::uint64_t* producer_pos_ = nullptr;
  const unsigned char* data_ = nullptr;
};

constexpr const char* usage =
    "ringbuf: BPF ring buffer consumers (ebpfpp async and sync, libbpf, raw mmap) on a real producer\n"
    "usage: ringbuf [options]\n"
    "  (--stream-records default: 4194304)\n";

}  // namespace

int main(int argc, char** argv) try {
  const std::string help = std::string(usage) + common_usage();
  // About half a second per stream run here (the producer emits 7-10 M records/s).
  options o = parse_options(argc, argv, help.c_str(), EBPFPP_BENCH_RING_OBJECT, 4u << 20);
  const std::vector<std::string> all{"async", "sync", "sync_batch", "libbpf", "raw"};
  const std::vector<std::string> consumers = select_consumers(all, o);
  const bool drain = std::find(o.modes.begin(), o.modes.end(), mode::drain) != o.modes.end();

  // Ring sizes are the benchmark's choice: set them in the parsed object before load.
  ebpf::object_spec spec = ebpf::object::open(o.object_path).spec();
  for (auto& m : spec.maps) {
    if (m.name == "stream_ring") m.max_entries = static_cast<std::uint32_t>(o.stream_ring_bytes);
    if (m.name == "drain_ring") m.max_entries = static_cast<std::uint32_t>(drain ? o.drain_ring_bytes : 4096);
  }
  ebpf::object object(std::move(spec));
  ebpf::load_options load;
  load.only = {"produce_ringbuf"};
  object.load(load);
  const ebpf::program& producer = object.program("produce_ringbuf");
  const ebpf::map& stream_ring = object.map("stream_ring");
  const ebpf::map& drain_ring = object.map("drain_ring");

  std::printf("# ringbuf: stream ring %llu KiB, drain ring %llu KiB, %llu records per stream run, %zu rounds, "
              "latency %llu records at %llu/s; producer CPU %d, consumer CPU %d\n",
              static_cast<unsigned long long>(o.stream_ring_bytes >> 10),
              static_cast<unsigned long long>(drain ? o.drain_ring_bytes >> 10 : 0),
              static_cast<unsigned long long>(o.stream_records), o.rounds,
              static_cast<unsigned long long>(o.latency_records), static_cast<unsigned long long>(o.latency_rate),
              producer_cpu, consumer_cpu);

  auto make_consumer = [&](const std::string& name, mode m, std::uint32_t) -> std::unique_ptr<consumer> {
    const ebpf::map& ring = m == mode::drain ? drain_ring : stream_ring;
    if (name == "async") return std::make_unique<async_consumer>(ring, o.async_batch);
    if (name == "sync") return std::make_unique<sync_consumer>(ring);
    if (name == "sync_batch") return std::make_unique<sync_batch_consumer>(ring, o.async_batch);
    if (name == "libbpf") return std::make_unique<libbpf_consumer>(ring);
    return std::make_unique<raw_consumer>(ring);
  };
  auto make_producer = [&](mode m, std::uint32_t size) -> producer_fn {
    const std::uint32_t which = m == mode::drain ? BENCH_DRAIN_RING : BENCH_STREAM_RING;
    return [&producer, size, which](std::uint32_t count, std::uint64_t first_seq, bool timestamp) {
      bench_produce_args args{};
      args.first_seq = first_seq;
      args.count = count;
      args.size = size;
      args.ring = which;
      args.timestamp = timestamp ? 1 : 0;
      args.stop_when_full = 1;
      ebpf::test_run_options run_options;
      run_options.ctx = std::as_bytes(std::span(&args, 1));
      const ebpf::test_run_result run = producer.test_run(run_options);
      if (run.retval != 0 || run.ctx_out.size() != sizeof args) fail("produce_ringbuf: retval " + std::to_string(run.retval));
      std::memcpy(&args, run.ctx_out.data(), sizeof args);
      return produce_result{args.produced, args.failed};
    };
  };
  // The kernel accepts a record while the producer stays at most capacity - 1 bytes ahead of
  // the consumer (__bpf_ringbuf_reserve): records of 8 + size bytes rounded up to 8.
  auto capacity = [&](std::uint32_t size) -> std::uint64_t {
    const std::uint64_t footprint = (static_cast<std::uint64_t>(size) + BPF_RINGBUF_HDR_SZ + 7) / 8 * 8;
    return (o.drain_ring_bytes - 1) / footprint;
  };
  run_all("ringbuf", o, consumers, make_consumer, make_producer, capacity);
  if (std::find(o.modes.begin(), o.modes.end(), mode::paired) != o.modes.end()) {
    // The two rings: the first is the stream ring, the second the drain ring (unused here).
    run_paired(o, consumers,
               [&](const std::string& name, bool second) { return make_consumer(name, second ? mode::drain : mode::latency, 0); },
               [&](bool second) { return make_producer(second ? mode::drain : mode::latency, o.latency_size); });
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "ringbuf: %s\n", e.what());
  return 1;
}
