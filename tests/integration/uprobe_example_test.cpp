// The uprobe_malloc and usdt examples, run as a user would; their printed results are checked
// against what their child processes really did.
#include "example_process.hpp"
#include "fixture.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace {

class UprobeExampleTest : public ebpf_test::kernel_test {
 protected:
  std::vector<std::string> run(const std::string& name, const std::string& arguments) {
    ebpf_test::example_process process(ebpf_test::example_binary(name), arguments, temp_dir());
    EXPECT_TRUE(process.started());
    std::vector<std::string> lines = process.read_lines();
    int status = process.finish();
    EXPECT_EQ(status, 0) << process.errors();
    return lines;
  }
};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool built_with_asan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool built_with_asan = true;
#else
constexpr bool built_with_asan = false;
#endif
#else
constexpr bool built_with_asan = false;
#endif

TEST_F(UprobeExampleTest, UprobeMallocCountsTheChildsCalls) {
  // The child makes exactly 37 malloc(3131) calls and nothing else between the go signal and
  // _exit, and the probe is filtered to its pid.
  auto lines = run("uprobe_malloc", "--calls 37 --size 3131");
  if (built_with_asan) {
    // The example's child is this build's code: under ASan its malloc() is ASan's interceptor,
    // and libc's malloc, where the probe is, never runs. The child and the report still work.
    ASSERT_GE(lines.size(), 2u);
    EXPECT_EQ(lines[1].rfind("malloc calls: ", 0), 0u) << lines[1];
    GTEST_SKIP() << "ASan build: the child's malloc() is ASan's, so libc's malloc is never called";
  }
  ASSERT_GE(lines.size(), 3u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex("child [0-9]+ exited with 0"))) << lines[0];
  EXPECT_EQ(lines[1], "malloc calls: 37, bytes requested: 115847");
  EXPECT_EQ(lines[2], "  size     3131: 37 calls");
  EXPECT_EQ(lines.size(), 3u) << "no other size: no other process was counted";
}

TEST_F(UprobeExampleTest, UprobeMallocTracesACommand) {
  auto lines = run("uprobe_malloc", "-- /bin/ls /");
  // ls's own output comes first; the report follows.
  std::smatch match;
  bool found = false;
  for (const auto& line : lines) {
    if (std::regex_match(line, match, std::regex("malloc calls: ([0-9]+), bytes requested: ([0-9]+)"))) {
      found = true;
      EXPECT_GT(std::stoull(match[1]), 0u) << "ls allocates";
      EXPECT_GT(std::stoull(match[2]), 0u);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(UprobeExampleTest, UsdtPrintsTheDecodedArguments) {
  auto lines = run("usdt", "--ticks 4");
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex("probe ebpfpp_example:tick at file offset 0x[0-9a-f]+, arguments \".+\"")))
      << lines[0];
  EXPECT_EQ(lines[1], "4 ticks seen");
  EXPECT_EQ(lines[2], "tick number=0 square=0 label=\"tick-0\"");
  EXPECT_EQ(lines[3], "tick number=1 square=1 label=\"tick-1\"");
  EXPECT_EQ(lines[4], "tick number=2 square=4 label=\"tick-2\"");
  EXPECT_EQ(lines[5], "tick number=3 square=9 label=\"tick-3\"");
}

}  // namespace
