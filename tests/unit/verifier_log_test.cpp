// The verifier-log retry loop, against a fake kernel.
#include "verifier_log.hpp"

#include <ebpf/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace {

using ebpf::detail::load_attempt;
using ebpf::detail::load_with_log;
using ebpf::detail::log_request;
using ebpf::detail::verifier_log_options;

// A fake BPF_PROG_LOAD: records each request and answers with a scripted log and result.
struct fake_kernel {
  std::string log;                 // what the verifier would print
  int error = EACCES;              // errno of a rejected load (0: the program is fine)
  bool report_true_size = true;    // 6.4+ behaviour
  std::vector<log_request> calls;

  load_attempt operator()(const log_request& request) {
    calls.push_back(request);
    load_attempt result;
    if (request.buffer == nullptr) {
      result.fd = error ? -error : 42;
      return result;
    }
    std::uint32_t needed = static_cast<std::uint32_t>(log.size() + 1);
    if (report_true_size) result.log_true_size = needed;
    std::size_t copied = std::min<std::size_t>(log.size(), request.size - 1);
    // Rotating log (6.4+): a truncated log keeps its end.
    std::memcpy(request.buffer, log.data() + (log.size() - copied), copied);
    request.buffer[copied] = '\0';
    if (needed > request.size) {
      result.fd = -ENOSPC;
    } else {
      result.fd = error ? -error : 42;
    }
    return result;
  }
};

ebpf::detail::load_function as_function(fake_kernel& kernel) {
  return [&kernel](const log_request& request) { return kernel(request); };
}

TEST(VerifierLogTest, SuccessNeedsNoLog) {
  fake_kernel kernel;
  kernel.error = 0;
  auto result = load_with_log(as_function(kernel), "program 'f'", "load");
  EXPECT_EQ(result.fd, 42);
  EXPECT_TRUE(result.log.empty());
  ASSERT_EQ(kernel.calls.size(), 1u);
  EXPECT_EQ(kernel.calls[0].buffer, nullptr);
  EXPECT_EQ(kernel.calls[0].level, 0u);
}

TEST(VerifierLogTest, FailureIsRetriedWithALogAndThrowsVerifierError) {
  fake_kernel kernel;
  kernel.log = "0: (95) exit\nR0 !read_ok\nprocessed 1 insns\n";
  try {
    load_with_log(as_function(kernel), "program 'f'", "load");
    FAIL() << "expected verifier_error";
  } catch (const ebpf::verifier_error& e) {
    EXPECT_EQ(e.code(), std::error_code(EACCES, std::system_category()));
    EXPECT_EQ(e.log(), kernel.log);
    EXPECT_NE(std::string(e.what()).find("program 'f': verifier rejected it"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("R0 !read_ok"), std::string::npos);
  }
  ASSERT_EQ(kernel.calls.size(), 2u);
  EXPECT_EQ(kernel.calls[0].buffer, nullptr);
  EXPECT_EQ(kernel.calls[1].level, 1u);
  EXPECT_EQ(kernel.calls[1].size, 64u * 1024);
}

TEST(VerifierLogTest, GrowsToTheSizeTheKernelReports) {
  fake_kernel kernel;
  kernel.log = std::string(200000, 'x') + "\nthe reason\n";
  EXPECT_THROW(load_with_log(as_function(kernel), "p", "load"), ebpf::verifier_error);
  ASSERT_EQ(kernel.calls.size(), 3u);
  EXPECT_EQ(kernel.calls[1].size, 64u * 1024);
  EXPECT_EQ(kernel.calls[2].size, kernel.log.size() + 1);  // log_true_size, not a blind doubling
}

TEST(VerifierLogTest, DoublesWhenTheKernelDoesNotReportASize) {
  fake_kernel kernel;
  kernel.report_true_size = false;
  kernel.log = std::string(200000, 'x') + "\nthe reason\n";
  try {
    load_with_log(as_function(kernel), "p", "load");
    FAIL();
  } catch (const ebpf::verifier_error& e) {
    EXPECT_EQ(e.log(), kernel.log);
  }
  std::vector<std::uint32_t> sizes;
  for (const auto& call : kernel.calls) sizes.push_back(call.size);
  EXPECT_EQ(sizes, (std::vector<std::uint32_t>{0, 64u * 1024, 128u * 1024, 256u * 1024}));
}

TEST(VerifierLogTest, StopsAtTheCapAndReportsTheOriginalErrno) {
  fake_kernel kernel;
  kernel.error = EINVAL;
  kernel.log = std::string(1000000, 'x') + "\nlast line\n";
  verifier_log_options options;
  options.max_size = 256 * 1024;
  try {
    load_with_log(as_function(kernel), "p", "load", options);
    FAIL();
  } catch (const ebpf::verifier_error& e) {
    EXPECT_EQ(e.code().value(), EINVAL);  // not ENOSPC: that only said the log was cut
    EXPECT_EQ(e.log().size(), 256u * 1024 - 1);
    EXPECT_NE(e.log().find("last line"), std::string::npos);  // the end survives
  }
  EXPECT_EQ(kernel.calls.back().size, 256u * 1024);
}

TEST(VerifierLogTest, EpermWithoutLogIsAPlainErrorWithTheHint) {
  fake_kernel kernel;
  kernel.error = EPERM;
  try {
    load_with_log(as_function(kernel), "program 'f'", "load");
    FAIL();
  } catch (const ebpf::verifier_error&) {
    FAIL() << "an empty log is not a verifier rejection";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), std::error_code(EPERM, std::system_category()));
    std::string what = e.what();
    EXPECT_EQ(what.rfind("program 'f': load: ", 0), 0u) << what;
    EXPECT_NE(what.find("CAP_BPF"), std::string::npos) << what;
  }
}

TEST(VerifierLogTest, WhitespaceOnlyLogCountsAsEmpty) {
  fake_kernel kernel;
  kernel.error = E2BIG;
  kernel.log = "\n \n";
  EXPECT_THROW(
      {
        try {
          load_with_log(as_function(kernel), "p", "load BTF");
        } catch (const ebpf::verifier_error&) {
          FAIL();
        }
      },
      ebpf::error);
}

TEST(VerifierLogTest, RequestedLevelIsUsedFromTheStartAndTheLogReturned) {
  fake_kernel kernel;
  kernel.error = 0;
  kernel.log = "processed 2 insns\n";
  verifier_log_options options;
  options.level = 2;
  auto result = load_with_log(as_function(kernel), "p", "load", options);
  EXPECT_EQ(result.fd, 42);
  EXPECT_EQ(result.log, kernel.log);
  ASSERT_EQ(kernel.calls.size(), 1u);
  EXPECT_EQ(kernel.calls[0].level, 2u);
}

TEST(VerifierLogTest, RequestedLogTooLargeStillLoadsTheProgram) {
  fake_kernel kernel;
  kernel.error = 0;
  kernel.log = std::string(10000, 'y');
  verifier_log_options options;
  options.level = 1;
  options.initial_size = 1024;
  options.max_size = 4096;
  auto result = load_with_log(as_function(kernel), "p", "load", options);
  EXPECT_EQ(result.fd, 42);
  EXPECT_EQ(result.log.size(), 4095u);  // truncated, but kept
  EXPECT_EQ(kernel.calls.back().buffer, nullptr);  // final attempt without a log
}

TEST(VerifierLogTest, SizesAreClampedToWhatTheKernelAccepts) {
  fake_kernel kernel;
  kernel.log = "x\n";
  verifier_log_options options;
  options.initial_size = 1;               // the kernel rejects log_size < 128
  options.max_size = 0xffffffffu;         // and log_size > 16 MiB - 1 before 5.2
  EXPECT_THROW(load_with_log(as_function(kernel), "p", "load", options), ebpf::verifier_error);
  EXPECT_EQ(kernel.calls[1].size, ebpf::detail::min_log_size);

  fake_kernel big;
  big.report_true_size = false;
  big.log = std::string(20u << 20, 'z');
  options.initial_size = 8u << 20;
  EXPECT_THROW(load_with_log(as_function(big), "p", "load", options), ebpf::verifier_error);
  EXPECT_EQ(big.calls.back().size, ebpf::detail::max_log_size);
}

TEST(VerifierLogTest, UnterminatedBufferIsNotOverread) {
  ebpf::detail::load_function kernel = [](const log_request& request) {
    load_attempt result;
    if (request.buffer) std::memset(request.buffer, 'q', request.size);  // no NUL at all
    result.fd = -EACCES;
    return result;
  };
  try {
    load_with_log(kernel, "p", "load");
    FAIL();
  } catch (const ebpf::verifier_error& e) {
    EXPECT_EQ(e.log().size(), 64u * 1024);
  }
}

}  // namespace
