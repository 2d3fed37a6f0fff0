#include <ebpf/error.hpp>

#include <cerrno>
#include <gtest/gtest.h>

namespace {

TEST(ErrorTest, ErrnoMessageIsAChainWithAHint) {
  try {
    ebpf::throw_errno(EPERM, "object 'x.o': program 'p': load");
    FAIL() << "no throw";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), std::error_code(EPERM, std::system_category()));
    EXPECT_STREQ(e.what(),
                 "object 'x.o': program 'p': load: Operation not permitted "
                 "(run as root or grant CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN)");
  }
}

TEST(ErrorTest, LibraryCodesHaveTheirOwnCategory) {
  ebpf::error e(ebpf::errc::not_found, "map 'events': not found");
  EXPECT_EQ(e.code(), ebpf::errc::not_found);
  EXPECT_STREQ(e.code().category().name(), "ebpf");
  EXPECT_STREQ(e.what(), "map 'events': not found");
}

TEST(ErrorTest, VerifierErrorShowsTheTailAndKeepsTheLog) {
  std::string log;
  for (int i = 1; i <= 12; ++i) log += "line " + std::to_string(i) + "\n";
  ebpf::verifier_error e(EACCES, "program 'p'", log);
  EXPECT_EQ(e.log(), log);
  std::string what = e.what();
  EXPECT_NE(what.find("12 log lines, 7 lines omitted"), std::string::npos) << what;
  EXPECT_NE(what.find("line 12"), std::string::npos);
  EXPECT_EQ(what.find("line 7\n"), std::string::npos);
}

}  // namespace
