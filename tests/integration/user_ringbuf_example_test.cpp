// examples/user_ringbuf run as a user would: its script of 300 ADDs, 8 GETs, a DELETE and a GET
// goes to the kernel through a user ring buffer of 128 commands, so the sender must wait for the
// program to drain; every reply must come back once, in order, with the values a key-value store
// gives (computed here independently).
#include "example_process.hpp"
#include "fixture.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

class UserRingbufExampleTest : public ebpf_test::kernel_test {};

TEST_F(UserRingbufExampleTest, TheKernelAnswersEveryCommandInOrder) {
  const std::string binary = ebpf_test::example_binary("user_ringbuf");
  if (::access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << binary << " was not built (meson -Dexamples=false)";
  constexpr unsigned adds = 300;
  ebpf_test::example_process run(binary, "--count " + std::to_string(adds), temp_dir());
  ASSERT_TRUE(run.started());
  const std::vector<std::string> lines = run.read_lines();
  const int status = run.finish();
  const std::string errors = run.errors();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << errors;
  ASSERT_EQ(WEXITSTATUS(status), 0) << errors;

  // The replies a key-value store gives to the script.
  std::vector<std::string> expected = {"SEQ OP KEY RESULT"};
  std::map<unsigned, long long> store;
  unsigned seq = 0;
  for (unsigned i = 0; i < adds; ++i, ++seq) {
    store[i % 8] += i;
    expected.push_back(std::to_string(seq) + " add " + std::to_string(i % 8) + " " + std::to_string(store[i % 8]));
  }
  for (unsigned key = 0; key < 8; ++key, ++seq)
    expected.push_back(std::to_string(seq) + " get " + std::to_string(key) + " " + std::to_string(store[key]));
  expected.push_back(std::to_string(seq++) + " delete 3 ok");
  expected.push_back(std::to_string(seq++) + " get 3 not found");

  // Compare with the columns' padding collapsed.
  std::vector<std::string> got;
  for (const auto& line : lines) {
    std::istringstream words(line);
    std::string word, joined;
    while (words >> word) joined += (joined.empty() ? "" : " ") + word;
    got.push_back(joined);
  }
  EXPECT_EQ(got, expected);

  // All drained, none lost.
  std::smatch summary;
  ASSERT_TRUE(std::regex_search(errors, summary,
                                std::regex(R"((\d+) commands, (\d+) drained by (\d+) program runs; the sender )"
                                           R"(waited for room (\d+) times; (\d+) replies lost)")))
      << errors;
  EXPECT_EQ(std::stoul(summary[1]), adds + 10);
  EXPECT_EQ(std::stoul(summary[2]), adds + 10);
  EXPECT_GE(std::stoul(summary[3]), (adds + 10 + 31) / 32) << "the program drains at most 32 per run";
  // How often the sender waited for room depends on timing (under ASan it may never wait): the
  // waiting itself is proven by AsyncTest.UserRingBufferWaitsForTheProgramToDrain.
  EXPECT_EQ(std::stoul(summary[5]), 0u) << errors;
}

}  // namespace
