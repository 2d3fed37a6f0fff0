// Hostile input: every object in tests/data/malformed/ (written by scripts/gen-malformed-objects)
// must be refused with the ebpf::error that expected.txt names, never a crash or a silent success.
//
// expected.txt has one line per file: `<file> <errc name> <substring the message must contain>`.
// Each file is parsed with object_spec::parse and, when that succeeds, every program is passed to
// maps_used_by and link_program (some damage only shows when linking).
#include <ebpf/error.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/relocation.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

const std::string malformed_dir = std::string(EBPFPP_TEST_DATA_DIR) + "/malformed";

struct malformed_case {
  std::string file;
  std::string errc_name;
  std::string substring;
};

// Read at registration time: a missing or unreadable list yields no cases, which
// CorpusIsComplete below reports.
std::vector<malformed_case> read_expected() {
  std::vector<malformed_case> cases;
  std::ifstream in(malformed_dir + "/expected.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto first = line.find(' ');
    auto second = first == std::string::npos ? std::string::npos : line.find(' ', first + 1);
    if (second == std::string::npos) {
      cases.push_back({line, "(malformed line in expected.txt)", ""});
      continue;
    }
    cases.push_back({line.substr(0, first), line.substr(first + 1, second - first - 1), line.substr(second + 1)});
  }
  return cases;
}

const std::vector<malformed_case>& expected_cases() {
  static const std::vector<malformed_case> cases = read_expected();
  return cases;
}

std::optional<ebpf::errc> errc_by_name(const std::string& name) {
  static const std::map<std::string, ebpf::errc> names = {
      {"invalid_object", ebpf::errc::invalid_object},
      {"invalid_btf", ebpf::errc::invalid_btf},
      {"unsupported_section", ebpf::errc::unsupported_section},
      {"unknown_symbol", ebpf::errc::unknown_symbol},
      {"relocation_failed", ebpf::errc::relocation_failed},
      {"not_found", ebpf::errc::not_found},
      {"type_mismatch", ebpf::errc::type_mismatch},
      {"invalid_argument", ebpf::errc::invalid_argument},
      {"verifier_rejected", ebpf::errc::verifier_rejected},
      {"unsupported", ebpf::errc::unsupported},
  };
  auto found = names.find(name);
  if (found == names.end()) return std::nullopt;
  return found->second;
}

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::transform(chars.begin(), chars.end(), bytes.begin(), [](char c) { return std::byte(static_cast<unsigned char>(c)); });
  return bytes;
}

class MalformedObjectTest : public ::testing::TestWithParam<malformed_case> {};

TEST_P(MalformedObjectTest, IsRefusedWithTheExpectedError) {
  const auto& expected = GetParam();
  auto code = errc_by_name(expected.errc_name);
  ASSERT_TRUE(code) << "unknown errc name '" << expected.errc_name << "' in expected.txt";
  const auto bytes = read_file(malformed_dir + "/" + expected.file);

  // object_spec::parse names the object as given; link_program uses object_spec::name, which is
  // the file name without its extensions.
  const std::string stem = expected.file.substr(0, expected.file.find('.'));
  std::string subject = "object '" + expected.file + "'";
  std::optional<ebpf::error> thrown;
  try {
    const auto spec = ebpf::object_spec::parse(bytes, expected.file);
    subject = "object '" + stem + "'";
    for (const auto& program : spec.programs) {
      ebpf::maps_used_by(spec, program);
      ebpf::link_program(spec, program, [](const std::string&) { return 100; });
    }
  } catch (const ebpf::error& e) {
    thrown = e;
  }
  ASSERT_TRUE(thrown) << expected.file << " parsed and linked without an error; expected " << expected.errc_name
                      << " containing \"" << expected.substring << "\"";
  const std::string message = thrown->what();
  EXPECT_EQ(thrown->code(), ebpf::make_error_code(*code))
      << "got " << thrown->code().message() << ": " << message;
  EXPECT_NE(message.find(expected.substring), std::string::npos) << message;
  EXPECT_NE(message.find(subject), std::string::npos) << "the message does not name " << subject << ": " << message;
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedObjectTest, ::testing::ValuesIn(expected_cases()),
                         [](const ::testing::TestParamInfo<malformed_case>& info) {
                           std::string name = info.param.file.substr(0, info.param.file.find('.'));
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

// Every committed object has an expectation and every expectation a file, and the corpus covers
// at least the 40 kinds of damage the generator was written for.
TEST(MalformedObjectCorpusTest, CorpusIsComplete) {
  std::set<std::string> listed;
  for (const auto& c : expected_cases()) {
    EXPECT_TRUE(listed.insert(c.file).second) << c.file << " is listed twice";
    EXPECT_FALSE(c.substring.empty()) << c.file << ": no message substring";
  }
  EXPECT_GE(listed.size(), 40u) << "expected.txt in " << malformed_dir;
  std::set<std::string> present;
  for (const auto& entry : std::filesystem::directory_iterator(malformed_dir))
    if (entry.path().extension() == ".o") present.insert(entry.path().filename().string());
  EXPECT_EQ(listed, present) << "regenerate with scripts/gen-malformed-objects";
}

}  // namespace
