// examples/tcp_cc run as a user would: it registers its BPF congestion control, moves data over
// loopback with it, and prints what the BPF side counted; the counts must show the stack used it.
#include "example_process.hpp"
#include "fixture.hpp"

#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

namespace {

class TcpCcExampleTest : public ebpf_test::kernel_test {};

bool available(const std::string& name) {
  std::ifstream in("/proc/sys/net/ipv4/tcp_available_congestion_control");
  std::string word;
  while (in >> word)
    if (word == name) return true;
  return false;
}

TEST_F(TcpCcExampleTest, RegistersUsesAndUnregistersItsCongestionControl) {
  const std::string binary = ebpf_test::example_binary("tcp_cc");
  if (::access(binary.c_str(), X_OK) != 0) GTEST_SKIP() << "examples not built (" << binary << ")";
  char temp[] = "/tmp/tcp_cc_test.XXXXXX";
  ASSERT_NE(::mkdtemp(temp), nullptr);
  ebpf_test::example_process run(binary, "--bytes 8388608", temp);
  ASSERT_TRUE(run.started());
  auto lines = run.read_lines();
  int status = run.finish();
  std::string output;
  for (const auto& line : lines) output += line + "\n";
  ASSERT_EQ(status, 0) << output << run.errors();
  std::filesystem::remove_all(temp);

  std::map<std::string, std::string> values;  // "init calls" -> "2"
  for (const auto& line : lines)
    if (auto colon = line.find(": "); colon != std::string::npos && line.find('\'') == std::string::npos)
      values[line.substr(0, colon)] = line.substr(colon + 2);
  ASSERT_EQ(lines.size(), 9u) << output;
  EXPECT_EQ(lines[0], "registered congestion control 'ebpfpp_reno' (available: yes)");
  EXPECT_NE(lines[1].find("sent 8388608 bytes over 127.0.0.1:"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("with congestion control 'ebpfpp_reno'"), std::string::npos) << lines[1];
  EXPECT_GE(std::stoull(values.at("init calls")), 2u);  // client and accepted socket
  EXPECT_GT(std::stoull(values.at("cong_avoid calls")), 0u);
  EXPECT_GE(std::stoull(values.at("segments acked in cong_avoid")), std::stoull(values.at("cong_avoid calls")));
  // The window read through CO-RE from the socket: at least the initial window (10 segments),
  // and a plausible window, not a misread field. It need not grow: reno grows only a window the
  // sender fills (tcp_is_cwnd_limited), and a slow emulated CPU (the QEMU stage, 6.1) leaves the
  // sender application-limited.
  EXPECT_GE(std::stoull(values.at("max cwnd")), 10u);
  EXPECT_LT(std::stoull(values.at("max cwnd")), 1u << 20);
  EXPECT_EQ(lines[8], "unregistered 'ebpfpp_reno' (available: no)");
  EXPECT_FALSE(available("ebpfpp_reno"));
}

}  // namespace
