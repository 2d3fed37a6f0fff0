// Runs an example program as a user would, for the example tests (perf_buffer, multi_ring,
// user_ringbuf): through the shell, its stdout read line by line while the test acts on what it
// has seen, its stderr collected in a file and read at the end.
//
//   ebpf_test::example_process run(ebpf_test::example_binary("multi_ring"), "--generate 4", dir);
//   std::string line;
//   while (run.read_line(line)) ...;
//   int status = run.finish();   // waitpid status; run.errors() is what it wrote to stderr
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ebpf_test {

/// Where the build put example `name` (examples/<name>/<name>).
inline std::string example_binary(const std::string& name) {
  return std::string(EBPFPP_EXAMPLES_DIR) + "/" + name + "/" + name;
}

class example_process {
 public:
  /// Starts `binary arguments`, stderr going to a file in `temp_dir`.
  example_process(const std::string& binary, const std::string& arguments, const std::string& temp_dir)
      : stderr_path_(temp_dir + "/stderr") {
    std::fflush(nullptr);
    pipe_ = ::popen((binary + " " + arguments + " 2>" + stderr_path_).c_str(), "r");
  }
  example_process(const example_process&) = delete;
  example_process& operator=(const example_process&) = delete;
  ~example_process() {
    if (pipe_) ::pclose(pipe_);
  }

  bool started() const noexcept { return pipe_ != nullptr; }

  /// The next line of stdout without its newline; false at the end.
  bool read_line(std::string& line) {
    line.clear();
    if (!pipe_) return false;
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe_)) {
      line += buffer;
      if (!line.empty() && line.back() == '\n') {
        line.pop_back();
        return true;
      }
    }
    return !line.empty();
  }

  /// Every remaining line of stdout.
  std::vector<std::string> read_lines() {
    std::vector<std::string> lines;
    std::string line;
    while (read_line(line)) lines.push_back(line);
    return lines;
  }

  /// Reads stdout to its end, waits for the program and returns the waitpid status (-1 if it
  /// never started).
  int finish() {
    if (!pipe_) return -1;
    read_lines();
    const int status = ::pclose(pipe_);
    pipe_ = nullptr;
    return status;
  }

  /// What the program wrote to stderr (complete after finish()).
  std::string errors() const {
    std::string text;
    if (FILE* file = std::fopen(stderr_path_.c_str(), "r")) {
      char buffer[4096];
      while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file)) text.append(buffer, n);
      std::fclose(file);
    }
    return text;
  }

 private:
  std::string stderr_path_;
  FILE* pipe_ = nullptr;
};

}  // namespace ebpf_test
