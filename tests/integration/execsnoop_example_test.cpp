// The headline example, examples/execsnoop, run as a user would: with --generate 3 it execs
// /bin/true three times itself and must print those three events (as JSON lines, with the
// example as their parent), then exit on its own after --seconds 2.
#include "fixture.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>

namespace {

class ExecsnoopExampleTest : public ebpf_test::kernel_test {};

TEST_F(ExecsnoopExampleTest, PrintsTheGeneratedExecsAsJson) {
  const std::string binary = std::string(EBPFPP_EXAMPLES_DIR) + "/execsnoop/execsnoop";
  if (::access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << binary << " was not built (meson -Dexamples=false)";
  const std::string stderr_file = temp_dir() + "/stderr";
  FILE* pipe = ::popen((binary + " --generate 3 --seconds 2 --json 2>" + stderr_file).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  std::string errors;
  if (FILE* file = std::fopen(stderr_file.c_str(), "r")) {
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file)) errors.append(buffer, n);
    std::fclose(file);
  }
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << errors;
  ASSERT_EQ(WEXITSTATUS(status), 0) << errors;

  // Every line is one event; other execs on the machine may show up too.
  std::istringstream lines(output);
  std::string line;
  std::map<unsigned, unsigned> true_parents;  // pid -> ppid of the /bin/true events
  while (std::getline(lines, line)) {
    auto event = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(event.is_object()) << "not a JSON object: " << line;
    ASSERT_TRUE(event.contains("pid") && event.contains("ppid") && event.contains("comm") &&
                event.contains("filename"))
        << line;
    if (event["filename"] == "/bin/true") {
      EXPECT_EQ(event["comm"], "true") << line;
      true_parents[event["pid"].get<unsigned>()] = event["ppid"].get<unsigned>();
    }
  }
  // Other processes may run /bin/true meanwhile: the example's three share one parent (the
  // example itself, which the program saw fork them), the one most /bin/true events have.
  std::map<unsigned, int> per_parent;
  for (const auto& [pid, ppid] : true_parents) ++per_parent[ppid];
  unsigned parent = 0;
  for (const auto& [ppid, count] : per_parent)
    if (count > per_parent[parent]) parent = ppid;
  EXPECT_NE(parent, 0u) << output;
  EXPECT_EQ(per_parent[parent], 3) << output << errors;
  EXPECT_NE(errors.find("events shown, 0 lost"), std::string::npos) << errors;
}

}  // namespace
