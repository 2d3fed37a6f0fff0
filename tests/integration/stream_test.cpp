// BPF streams (kernel 6.17): a program's bpf_stream_printk output read back with
// ebpf::program::read_stream and ebpf::async::stream_reader (line by line, cancellation, close).
#include <ebpf/async.hpp>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "fixture.hpp"
#include "kernel_features.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <memory>

namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

class StreamTest : public ebpf_test::kernel_test {
 protected:
  void SetUp() override {
    kernel_test::SetUp();
    if (IsSkipped()) return;
    object_ = std::make_unique<ebpf::object>(ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/streams.bpf.o"));
    try {
      object_->load();
    } catch (const ebpf::verifier_error& e) {
      // bpf_stream_printk is the __weak kfunc bpf_stream_vprintk_impl (6.18): on older kernels
      // (the QEMU stage's 6.1 and 6.12) the loader poisons the call and the verifier refuses it.
      if (!ebpf_test::kernel_has_function("bpf_stream_vprintk_impl"))
        GTEST_SKIP() << "kernel " << ebpf_test::kernel_release()
                     << " has no BPF streams (kfunc bpf_stream_vprintk_impl, 6.18): " << e.what();
      throw;
    }
  }
  void TearDown() override {
    context_.reset();
    object_.reset();
    kernel_test::TearDown();
  }
  ebpf::program& writer() { return object_->program("write_streams"); }

  // Runs the writer and says whether the kernel accepted its output. On the 6.18 VM of our CI
  // every bpf_stream_printk returns -ENOMEM: the stream allocator (alloc_pages_nolock in
  // kernel/bpf/stream.c) refuses there, so nothing reaches the stream.
  bool run_writer() {
    writer().test_run();
    auto results = object_->global<std::array<std::int64_t, 3>>("results");
    for (auto result : results) {
      if (result == -ENOMEM) return false;
      EXPECT_EQ(result, 0);
    }
    return true;
  }
  static constexpr const char* no_stream_memory =
      "bpf_stream_printk returns -ENOMEM on this kernel (its stream page allocator, "
      "alloc_pages_nolock, refuses here), so programs cannot write to streams";

  template <class Awaitable>
  void run(Awaitable&& coroutine) {
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(io, std::forward<Awaitable>(coroutine), [&](std::exception_ptr e) {
      failure = e;
      done = true;
    });
    io.run_for(20s);
    ASSERT_TRUE(done) << "the coroutine did not finish";
    if (failure) std::rethrow_exception(failure);
  }

  std::unique_ptr<ebpf::object> object_;
  std::unique_ptr<asio::io_context> context_ = std::make_unique<asio::io_context>();
  asio::io_context& io = *context_;
};

TEST_F(StreamTest, ProgramOutputIsReadOnceFromEachStream) {
  EXPECT_EQ(writer().read_stream(ebpf::program_stream::out), "") << "nothing before the first run";
  if (!run_writer()) {
    // The read path still works: the kernel answers, with nothing pending.
    EXPECT_EQ(writer().read_stream(ebpf::program_stream::out), "");
    EXPECT_EQ(writer().read_stream(ebpf::program_stream::err), "");
    GTEST_SKIP() << no_stream_memory;
  }
  run_writer();
  EXPECT_EQ(writer().read_stream(ebpf::program_stream::out),
            "run 1: hello from the program\nrun 1: 2 + 3 = 5\nrun 2: hello from the program\nrun 2: 2 + 3 = 5\n");
  EXPECT_EQ(writer().read_stream(ebpf::program_stream::err), "run 1: a warning\nrun 2: a warning\n");
  EXPECT_EQ(writer().read_stream(ebpf::program_stream::out), "") << "reading consumes";
  // A small buffer takes the text in pieces, losing nothing.
  run_writer();
  std::string pieces;
  std::byte chunk[7];
  while (std::size_t got = writer().read_stream(ebpf::program_stream::out, chunk))
    pieces.append(reinterpret_cast<const char*>(chunk), got);
  EXPECT_EQ(pieces, "run 3: hello from the program\nrun 3: 2 + 3 = 5\n");
}

TEST_F(StreamTest, ABadStreamIdIsAnError) {
  std::byte buffer[16];
  EXPECT_THROW(writer().read_stream(static_cast<ebpf::program_stream>(7), buffer), ebpf::error);
}

TEST_F(StreamTest, AsyncReaderPollsAndIsCancellable) {
  // Without output the reader keeps polling; a timer racing it wins, and close() ends it.
  run([&]() -> asio::awaitable<void> {
    ebpf::async::stream_reader err(co_await asio::this_coro::executor, writer(), ebpf::program_stream::err, 5ms);
    asio::steady_timer timeout(co_await asio::this_coro::executor);
    timeout.expires_after(40ms);
    auto outcome = co_await (err.async_read_line(asio::use_awaitable) || timeout.async_wait(asio::use_awaitable));
    EXPECT_EQ(outcome.index(), 1u) << "nothing was written: the timer wins";
    err.close();
    auto [ec, text] = co_await err.async_read_some(asio::experimental::as_tuple(asio::use_awaitable));
    EXPECT_EQ(ec, asio::error::bad_descriptor);
    EXPECT_TRUE(text.empty());
  }());
}

TEST_F(StreamTest, AsyncReaderDeliversLinesAsTheyAppear) {
  if (!run_writer()) GTEST_SKIP() << no_stream_memory;
  run([&]() -> asio::awaitable<void> {
    ebpf::async::stream_reader out(co_await asio::this_coro::executor, writer(), ebpf::program_stream::out, 5ms);
    EXPECT_EQ(co_await out.async_read_line(asio::use_awaitable), "run 1: hello from the program");
    // The next run happens only after the reader started waiting: it must poll to see it.
    asio::steady_timer later(co_await asio::this_coro::executor);
    later.expires_after(30ms);
    later.async_wait([&](std::error_code) { run_writer(); });
    EXPECT_EQ(co_await out.async_read_line(asio::use_awaitable), "run 1: 2 + 3 = 5");
    EXPECT_EQ(co_await out.async_read_line(asio::use_awaitable), "run 2: hello from the program");
    // Cancelling with text buffered loses nothing.
    out.cancel();
    EXPECT_EQ(co_await out.async_read_some(asio::use_awaitable), "run 2: 2 + 3 = 5\n");
  }());
}

}  // namespace
