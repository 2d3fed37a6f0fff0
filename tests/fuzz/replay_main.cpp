// Replays a fuzz target's corpus as a plain test (no libFuzzer needed): every file under the
// directories (or the files) given on the command line goes through LLVMFuzzerTestOneInput.
// A target may let ebpf::error escape (bad input is expected to be rejected); anything else
// escaping, or a crash, fails the run. Also handy to reproduce one crash file found by the fuzzer:
//   build/tests/fuzz/btf_fuzz_replay crash-1234abcd
#include <ebpf/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <typeinfo>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else if (std::filesystem::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "%s: no such file or directory\n", argv[i]);
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    // An empty corpus would make this test pass without testing anything.
    std::fprintf(stderr, "no inputs found\n");
    return 1;
  }
  std::size_t rejected = 0;
  int failures = 0;
  for (const auto& path : inputs) {
    std::vector<std::uint8_t> data = read_all(path);
    try {
      LLVMFuzzerTestOneInput(data.data(), data.size());
    } catch (const ebpf::error&) {
      ++rejected;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FAIL %s: %s escaped: %s\n", path.c_str(), typeid(e).name(), e.what());
      ++failures;
    } catch (...) {
      std::fprintf(stderr, "FAIL %s: a non-std exception escaped\n", path.c_str());
      ++failures;
    }
  }
  std::printf("%zu inputs replayed, %zu rejected with ebpf::error escaping the target, %d failures\n",
              inputs.size(), rejected, failures);
  return failures == 0 ? 0 : 1;
}
