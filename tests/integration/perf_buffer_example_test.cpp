// examples/perf_buffer run as a user would.
// - With --generate 3 it must print the three /bin/true execs it ran, each with the CPU whose
//   ring it came through, and lose nothing.
// - With one page per CPU and --generate 100, the rings overflow before the first read: the
//   program counts its failed outputs, and the kernel reports the losses with the next sample
//   of the CPU. The test then runs /bin/true pinned to every CPU: each of those execs must show
//   up with the CPU it was pinned to, after that CPU's loss record.
// - With a watermark as large as the ring, the kernel wakes the reader only after about 110
//   samples on one CPU: a few execs pinned to each CPU while the example waits must still show
//   up, picked up by the example's flush timer.
#include "example_process.hpp"
#include "fixture.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <chrono>
#include <string>
#include <vector>

namespace {

class PerfBufferExampleTest : public ebpf_test::kernel_test {
 protected:
  void SetUp() override {
    kernel_test::SetUp();
    if (IsSkipped()) return;
    binary_ = ebpf_test::example_binary("perf_buffer");
    if (::access(binary_.c_str(), X_OK) != 0) GTEST_SKIP() << binary_ << " was not built (meson -Dexamples=false)";
  }

  // The summary line: samples shown, lost (kernel), failed outputs (program).
  static bool summary(const std::string& errors, unsigned long& shown, unsigned long& lost, unsigned long& failed) {
    std::smatch match;
    if (!std::regex_search(errors, match,
                           std::regex(R"((\d+) samples shown on \d+ CPUs, (\d+) lost \(reported by the kernel\), )"
                                      R"((\d+) failed outputs)")))
      return false;
    shown = std::stoul(match[1]);
    lost = std::stoul(match[2]);
    failed = std::stoul(match[3]);
    return true;
  }

  // Runs /bin/true `per_cpu` times pinned to each online CPU, from this process (their parent).
  // Returns pid -> CPU.
  static std::map<unsigned, unsigned> exec_on_every_cpu(int per_cpu) {
    std::map<unsigned, unsigned> pinned;
    for (long cpu = 0; cpu < online_cpus(); ++cpu) {
      for (int i = 0; i < per_cpu; ++i) {
        pid_t child = fork_child([cpu] {
          cpu_set_t set;
          CPU_ZERO(&set);
          CPU_SET(static_cast<int>(cpu), &set);
          if (::sched_setaffinity(0, sizeof set, &set) != 0) return 126;
          ::execl("/bin/true", "true", static_cast<char*>(nullptr));
          return 127;
        });
        EXPECT_EQ(wait_child(child), 0);
        pinned[static_cast<unsigned>(child)] = static_cast<unsigned>(cpu);
      }
    }
    return pinned;
  }

  static long online_cpus() { return ::sysconf(_SC_NPROCESSORS_ONLN); }

  std::string binary_;
};

TEST_F(PerfBufferExampleTest, PrintsTheGeneratedExecsWithTheirCpu) {
  ebpf_test::example_process run(binary_, "--generate 3 --seconds 2 --json", temp_dir());
  ASSERT_TRUE(run.started());
  const auto lines = run.read_lines();
  const int status = run.finish();
  const std::string errors = run.errors();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << errors;
  ASSERT_EQ(WEXITSTATUS(status), 0) << errors;

  std::map<unsigned, int> true_per_parent;
  std::size_t samples = 0;
  for (const auto& line : lines) {
    auto sample = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(sample.is_object()) << line;
    ASSERT_TRUE(sample.contains("cpu")) << line;
    EXPECT_LT(sample["cpu"].get<long>(), online_cpus()) << line;
    if (sample.contains("lost")) continue;
    ++samples;
    ASSERT_TRUE(sample.contains("pid") && sample.contains("ppid") && sample.contains("comm") &&
                sample.contains("filename"))
        << line;
    if (sample["filename"] == "/bin/true") {
      EXPECT_EQ(sample["comm"], "true") << line;
      ++true_per_parent[sample["ppid"].get<unsigned>()];
    }
  }
  int most = 0;
  for (const auto& [ppid, count] : true_per_parent)
    if (ppid != 0) most = std::max(most, count);
  EXPECT_EQ(most, 3) << "the example's three /bin/true";

  unsigned long shown = 0, lost = 0, failed = 0;
  ASSERT_TRUE(summary(errors, shown, lost, failed)) << errors;
  EXPECT_EQ(shown, samples);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(failed, 0u);
}

TEST_F(PerfBufferExampleTest, ReportsLostSamples) {
  ebpf_test::example_process run(binary_, "--pages 1 --generate 100 --seconds 3 --json", temp_dir());
  ASSERT_TRUE(run.started());
  std::vector<std::string> lines;
  std::string line;
  ASSERT_TRUE(run.read_line(line)) << run.errors();  // the example is reading: the rings overflowed by now
  lines.push_back(line);
  // The next sample of each CPU brings that CPU's loss record.
  const std::map<unsigned, unsigned> pinned = exec_on_every_cpu(2);
  for (const auto& rest : run.read_lines()) lines.push_back(rest);
  const int status = run.finish();
  const std::string errors = run.errors();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << errors;
  ASSERT_EQ(WEXITSTATUS(status), 0) << errors;

  unsigned long lost_lines = 0;
  std::size_t examples_true = 0;  // /bin/true execs of the example itself (not pinned ones)
  std::map<unsigned, std::size_t> lost_at;  // CPU -> index of its first loss record
  std::set<unsigned> seen_pinned;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto record = nlohmann::json::parse(lines[i], nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(record.is_object() && record.contains("cpu")) << lines[i];
    const unsigned cpu = record["cpu"].get<unsigned>();
    if (record.contains("lost")) {
      EXPECT_GT(record["lost"].get<unsigned long>(), 0u);
      lost_lines += record["lost"].get<unsigned long>();
      lost_at.emplace(cpu, i);
      continue;
    }
    const unsigned pid = record["pid"].get<unsigned>();
    auto found = pinned.find(pid);
    if (found != pinned.end()) {
      EXPECT_EQ(cpu, found->second) << "pid " << pid << " ran pinned to CPU " << found->second;
      EXPECT_EQ(record["ppid"].get<unsigned>(), static_cast<unsigned>(::getpid()));
      if (lost_at.count(cpu)) {
        EXPECT_LT(lost_at[cpu], i) << "the loss record comes before the next sample";
      }
      seen_pinned.insert(pid);
    } else if (record["filename"] == "/bin/true" && record["ppid"].get<unsigned>() != 0) {
      ++examples_true;
    }
  }
  EXPECT_EQ(seen_pinned.size(), pinned.size()) << "every pinned exec";

  unsigned long shown = 0, lost = 0, failed = 0;
  ASSERT_TRUE(summary(errors, shown, lost, failed)) << errors;
  EXPECT_GT(lost, 0u) << errors;
  EXPECT_EQ(lost, lost_lines) << "the printed loss records add up to the kernel's count";
  EXPECT_LE(lost, failed) << "the kernel reports a loss only with a later sample";
  // Each of the example's 100 execs was either shown or a failed output (one page per CPU holds
  // about 13 samples of 296 bytes).
  EXPECT_LT(examples_true, 100u);
  EXPECT_GE(examples_true + failed, 100u) << errors;
}

TEST_F(PerfBufferExampleTest, DeliversSamplesBelowTheWatermark) {
  // 32 KiB rings (8 pages) that wake the reader every 32 KiB written: about 110 execs on one CPU.
  ebpf_test::example_process run(binary_, "--watermark 32768 --seconds 2", temp_dir());
  ASSERT_TRUE(run.started());
  std::string header;
  ASSERT_TRUE(run.read_line(header)) << run.errors();
  EXPECT_EQ(header.rfind("CPU ", 0), 0u) << header;
  // The example printed its header when it was ready; let its first read start and wait.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const std::map<unsigned, unsigned> pinned = exec_on_every_cpu(1);
  const std::vector<std::string> lines = run.read_lines();
  const int status = run.finish();
  const std::string errors = run.errors();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << errors;
  ASSERT_EQ(WEXITSTATUS(status), 0) << errors;

  std::set<unsigned> seen_pinned;
  for (const auto& row : lines) {
    // CPU PID PPID COMM FILENAME, or "CPU lost N samples (the ring was full)"
    std::istringstream words(row);
    unsigned cpu = 0, pid = 0, ppid = 0;
    std::string comm, filename;
    if (!(words >> cpu >> pid >> ppid >> comm >> filename)) continue;
    auto found = pinned.find(pid);
    if (found == pinned.end()) continue;
    EXPECT_EQ(cpu, found->second) << row;
    EXPECT_EQ(ppid, static_cast<unsigned>(::getpid())) << row;
    EXPECT_EQ(comm, "true") << row;
    EXPECT_EQ(filename, "/bin/true") << row;
    seen_pinned.insert(pid);
  }
  EXPECT_EQ(seen_pinned.size(), pinned.size()) << "every pinned exec, though no wakeup announced it";
}

}  // namespace
