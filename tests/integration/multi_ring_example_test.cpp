// examples/multi_ring run as a user would, in both of its modes (a reader per ring, and one
// reader multiplexing the three rings): with --generate 4 it runs /bin/true, /bin/false,
// /bin/true, /bin/false and must show, for each of them, the fork from the example, the exec of
// the right file and the exit with the right status (0, 1), in that order by timestamp, though
// the three events came through three different rings.
#include "example_process.hpp"
#include "fixture.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct event {
  double time_ms = 0;
  std::string ring;
  unsigned pid = 0;
  std::map<std::string, std::string> details;  // key=value words
};

// "TIME_MS RING PID key=value..." (the header line does not parse: time is not a number).
bool parse(const std::string& line, event& out) {
  std::istringstream words(line);
  if (!(words >> out.time_ms >> out.ring >> out.pid)) return false;
  std::string word;
  while (words >> word) {
    const auto equals = word.find('=');
    if (equals == std::string::npos) return false;
    out.details[word.substr(0, equals)] = word.substr(equals + 1);
  }
  return true;
}

class MultiRingExampleTest : public ebpf_test::kernel_test, public ::testing::WithParamInterface<bool> {};

TEST_P(MultiRingExampleTest, ShowsForkExecAndExitOfEachGeneratedProcess) {
  const std::string binary = ebpf_test::example_binary("multi_ring");
  if (::access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << binary << " was not built (meson -Dexamples=false)";
  const bool multiplex = GetParam();
  ebpf_test::example_process run(binary, std::string("--generate 4 --seconds 2") + (multiplex ? " --multiplex" : ""),
                                 temp_dir());
  ASSERT_TRUE(run.started());
  const std::vector<std::string> lines = run.read_lines();
  const int status = run.finish();
  const std::string errors = run.errors();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << errors;
  ASSERT_EQ(WEXITSTATUS(status), 0) << errors;
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].find("TIME_MS"), lines[0].find_first_not_of(' ')) << "a header first";

  // Other processes on the machine show up too; the example's four children are the processes
  // forked by the parent that forked the most /bin/true and /bin/false.
  std::map<unsigned, event> forks, execs, exits;  // by pid (child pid for forks)
  std::map<std::string, std::size_t> lines_of;  // per ring
  for (std::size_t i = 1; i < lines.size(); ++i) {
    event e;
    ASSERT_TRUE(parse(lines[i], e)) << "not an event: " << lines[i];
    ++lines_of[e.ring];
    if (e.ring == "fork") forks[e.pid] = e;
    else if (e.ring == "exec") execs[e.pid] = e;
    else if (e.ring == "exit") exits[e.pid] = e;
    else ADD_FAILURE() << "unknown ring: " << lines[i];
  }
  std::map<std::string, int> children_of;
  for (const auto& [pid, fork] : forks) {
    auto exec = execs.find(pid);
    if (exec != execs.end() && (exec->second.details["filename"] == "/bin/true" ||
                                exec->second.details["filename"] == "/bin/false"))
      ++children_of[fork.details.at("parent")];
  }
  std::string example;
  for (const auto& [parent, count] : children_of)
    if (example.empty() || count > children_of[example]) example = parent;
  ASSERT_FALSE(example.empty()) << "no fork + exec of /bin/true or /bin/false";

  std::vector<event> children;  // the example's, in fork order
  for (const auto& [pid, fork] : forks)
    if (fork.details.at("parent") == example) children.push_back(fork);
  std::sort(children.begin(), children.end(), [](const event& a, const event& b) { return a.time_ms < b.time_ms; });
  ASSERT_EQ(children.size(), 4u);
  for (std::size_t i = 0; i < children.size(); ++i) {
    const unsigned pid = children[i].pid;
    const bool is_true = i % 2 == 0;
    EXPECT_EQ(children[i].details["comm"], "multi_ring");
    ASSERT_TRUE(execs.count(pid)) << "no exec of child " << pid;
    ASSERT_TRUE(exits.count(pid)) << "no exit of child " << pid;
    EXPECT_EQ(execs[pid].details["filename"], is_true ? "/bin/true" : "/bin/false");
    EXPECT_EQ(execs[pid].details["comm"], is_true ? "true" : "false");
    EXPECT_EQ(exits[pid].details["code"], is_true ? "0" : "1");
    EXPECT_EQ(exits[pid].details["comm"], is_true ? "true" : "false");
    EXPECT_LE(children[i].time_ms, execs[pid].time_ms) << "fork before exec";
    EXPECT_LE(execs[pid].time_ms, exits[pid].time_ms) << "exec before exit";
    if (i > 0) {
      EXPECT_LE(exits[children[i - 1].pid].time_ms, children[i].time_ms) << "one after the other";
    }
  }

  // The summary counts what was printed, and nothing was lost.
  const std::string expected_mode = multiplex ? "one reader for 3 rings: " : "3 readers: ";
  EXPECT_NE(errors.find(expected_mode + std::to_string(lines_of["fork"]) + " fork, " +
                        std::to_string(lines_of["exec"]) + " exec, " + std::to_string(lines_of["exit"]) +
                        " exit events shown"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("lost (ring full): 0 fork, 0 exec, 0 exit"), std::string::npos) << errors;
}

INSTANTIATE_TEST_SUITE_P(Modes, MultiRingExampleTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "OneReaderForAllRings" : "OneReaderPerRing";
                         });

}  // namespace
