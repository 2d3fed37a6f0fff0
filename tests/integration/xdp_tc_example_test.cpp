// The xdp_drop and tc_counter examples, run as processes on a veth pair in a private network
// namespace: the test sends crafted IPv4/UDP frames with AF_PACKET and checks the numbers the
// example prints when it exits.
#include <ebpf/features.hpp>
#include <ebpf/netdev.hpp>
#include <ebpf/unique_fd.hpp>

#include "fixture.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <gtest/gtest.h>
#include <regex>

namespace {

class xdp_tc_example_test : public ebpf_test::kernel_test {
 protected:
  void SetUp() override {
    kernel_test::SetUp();
    if (IsSkipped()) return;
    original_netns_ = ebpf::unique_fd::open("/proc/self/ns/net", O_RDONLY);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    if (FILE* file = std::fopen("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w")) {
      std::fputs("1", file);
      std::fclose(file);
    }
    ASSERT_EQ(std::system("ip link add veth0 type veth peer name veth1 && ip link set veth0 up && "
                          "ip link set veth1 up"),
              0);
    veth0_ = static_cast<int>(::if_nametoindex("veth0"));
    veth1_ = static_cast<int>(::if_nametoindex("veth1"));
  }

  void TearDown() override {
    if (original_netns_) {
      EXPECT_EQ(::setns(original_netns_.get(), CLONE_NEWNET), 0) << std::strerror(errno);
      original_netns_.reset();
    }
    kernel_test::TearDown();
  }

  static std::string example(const std::string& name) {
    return std::string(EBPFPP_EXAMPLES_DIR) + "/" + name + "/" + name;
  }

  // A running example: its stdout is read line by line.
  struct process {
    pid_t pid = -1;
    ebpf::unique_fd output;
    std::string text;  // everything read so far

    // Reads until a line containing `marker` arrived (true) or the process ended / 10 s passed.
    bool wait_for(const std::string& marker) {
      for (int i = 0; i < 100; ++i) {
        if (text.find(marker) != std::string::npos) return true;
        if (!read_some(100)) return text.find(marker) != std::string::npos;
      }
      return false;
    }
    // false at end of file.
    bool read_some(int timeout_ms) {
      pollfd ready{output.get(), POLLIN, 0};
      if (::poll(&ready, 1, timeout_ms) <= 0) return true;
      char buffer[4096];
      ssize_t n = ::read(output.get(), buffer, sizeof buffer);
      if (n <= 0) return false;
      text.append(buffer, static_cast<std::size_t>(n));
      return true;
    }
    // Everything it prints until it exits by itself (up to 30 s, then stop()); returns its exit
    // code. For a run that is expected to end early: an early stop() could interrupt it before
    // it even installed its SIGINT handler.
    int finish() {
      for (int i = 0; i < 300; ++i) {
        pollfd ready{output.get(), POLLIN, 0};
        if (::poll(&ready, 1, 100) > 0 && !read_some(0)) break;  // end of file: it exited
      }
      return stop();  // SIGINT to a process that already exited does nothing
    }
    // SIGINT, then everything it prints until it exits; returns its exit code.
    int stop() {
      ::kill(pid, SIGINT);
      while (read_some(10000)) {
      }
      output.reset();
      return wait_child(pid);
    }
  };

  // Starts `arguments`; its stdout (and, with `with_stderr`, its stderr) is read into `text`.
  static process start(const std::vector<std::string>& arguments, bool with_stderr = false) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) ebpf::throw_errno(errno, "test: pipe");
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) ebpf::throw_errno(errno, "test: fork");
    if (pid == 0) {
      ::dup2(pipe_fds[1], 1);
      if (with_stderr) ::dup2(pipe_fds[1], 2);
      std::vector<char*> argv;
      for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    process running;
    running.pid = pid;
    running.output = ebpf::unique_fd(pipe_fds[0]);
    return running;
  }

  // `count` IPv4/UDP frames of `payload` bytes to `port`, sent out of `ifindex`.
  static void send_udp(int ifindex, std::uint16_t port, int count, std::size_t payload = 18) {
    ebpf::unique_fd sock(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock) << std::strerror(errno);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    std::vector<unsigned char> frame(14 + 20 + 8 + payload, 0);
    std::memset(frame.data(), 0xff, 6);
    frame[6] = 0x02;
    frame[11] = 0x01;
    frame[12] = 0x08;  // IPv4
    unsigned char* ip = frame.data() + 14;
    ip[0] = 0x45;
    std::uint16_t total = htons(static_cast<std::uint16_t>(20 + 8 + payload));
    std::memcpy(ip + 2, &total, 2);
    ip[8] = 64;  // TTL
    ip[9] = 17;  // UDP
    const unsigned char source[4] = {10, 0, 0, 1}, destination[4] = {10, 0, 0, 2};
    std::memcpy(ip + 12, source, 4);
    std::memcpy(ip + 16, destination, 4);
    unsigned char* udp = ip + 20;
    std::uint16_t source_port = htons(40000), destination_port = htons(port);
    std::uint16_t udp_length = htons(static_cast<std::uint16_t>(8 + payload));
    std::memcpy(udp, &source_port, 2);
    std::memcpy(udp + 2, &destination_port, 2);
    std::memcpy(udp + 4, &udp_length, 2);
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(::sendto(sock.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
                static_cast<ssize_t>(frame.size()))
          << std::strerror(errno);
    }
  }

  // The number after `label` in the text after the last "total:".
  static long long total_value(const std::string& text, const std::string& label) {
    auto at = text.rfind("total:");
    if (at == std::string::npos) return -1;
    std::smatch match;
    std::string tail = text.substr(at);
    if (!std::regex_search(tail, match, std::regex(label + " +([0-9]+)"))) return -1;
    return std::stoll(match[1]);
  }

  ebpf::unique_fd original_netns_;
  int veth0_ = 0;
  int veth1_ = 0;
};

TEST_F(xdp_tc_example_test, XdpDropNetlinkSkbDropsTheBlockedPort) {
  const std::string exe = example("xdp_drop");
  if (::access(exe.c_str(), X_OK) != 0) GTEST_SKIP() << exe << " was not built (meson -Dexamples=false)";
  auto running = start({exe, "veth1", "--port", "9999", "--mode", "netlink", "--skb"});
  ASSERT_TRUE(running.wait_for("attached")) << running.text;
  EXPECT_NE(running.text.find("with netlink in generic (skb) mode"), std::string::npos) << running.text;
  EXPECT_EQ(std::system("ip link show dev veth1 | grep -q xdpgeneric"), 0);
  send_udp(veth0_, 9999, 7);
  send_udp(veth0_, 8888, 4);
  ::usleep(200000);
  EXPECT_EQ(running.stop(), 0) << running.text;
  EXPECT_EQ(total_value(running.text, "udp dropped"), 7) << running.text;
  EXPECT_EQ(total_value(running.text, "udp passed"), 4) << running.text;
  EXPECT_EQ(total_value(running.text, "other"), 0) << running.text;
  // The example detached on exit.
  EXPECT_NE(std::system("ip link show dev veth1 | grep -q xdp"), 0);
}

TEST_F(xdp_tc_example_test, XdpDropLinkNativeDropsTheBlockedPort) {
  const std::string exe = example("xdp_drop");
  if (::access(exe.c_str(), X_OK) != 0) GTEST_SKIP() << exe << " was not built (meson -Dexamples=false)";
  auto running = start({exe, "veth1", "--port", "5000", "--port", "5001", "--mode", "link", "--native"});
  ASSERT_TRUE(running.wait_for("attached")) << running.text;
  EXPECT_NE(running.text.find("with a bpf_link in native (driver) mode"), std::string::npos) << running.text;
  send_udp(veth0_, 5000, 3);
  send_udp(veth0_, 5001, 2);
  send_udp(veth0_, 5002, 6);
  ::usleep(200000);
  EXPECT_EQ(running.stop(), 0) << running.text;
  EXPECT_EQ(total_value(running.text, "udp dropped"), 5) << running.text;
  EXPECT_EQ(total_value(running.text, "udp passed"), 6) << running.text;
  EXPECT_NE(std::system("ip link show dev veth1 | grep -q xdp"), 0);
}

TEST_F(xdp_tc_example_test, TcCounterTcxCountsBothDirections) {
  const std::string exe = example("tc_counter");
  if (::access(exe.c_str(), X_OK) != 0) GTEST_SKIP() << exe << " was not built (meson -Dexamples=false)";
  if (!ebpf::probe_feature(ebpf::kernel_feature::tcx_link).supported()) {
    // Before 6.6: --tcx refuses with the reason and the way out, and attaches nothing.
    auto refused = start({exe, "veth0", "--tcx"}, /*with_stderr=*/true);
    EXPECT_NE(refused.finish(), 0) << refused.text;
    EXPECT_EQ(refused.text.find("attached"), std::string::npos) << refused.text;
    EXPECT_NE(refused.text.find("TCX needs kernel 6.6; use --clsact"), std::string::npos) << refused.text;
    GTEST_SKIP() << "TCX needs kernel 6.6 (tc_counter --tcx said so; the clsact and automatic modes "
                    "are tested on this kernel)";
  }
  auto running = start({exe, "veth0", "--tcx"});
  ASSERT_TRUE(running.wait_for("attached")) << running.text;
  EXPECT_NE(running.text.find("(tcx links)"), std::string::npos) << running.text;
  send_udp(veth0_, 7000, 5, 18);  // out of veth0: 60-byte frames
  send_udp(veth1_, 7000, 3, 58);  // into veth0: 100-byte frames
  ::usleep(200000);
  EXPECT_EQ(running.stop(), 0) << running.text;
  EXPECT_EQ(total_value(running.text, "egress +ipv4/udp +packets"), 5) << running.text;
  EXPECT_EQ(total_value(running.text, "egress +ipv4/udp +packets [0-9]+ bytes"), 5 * 60) << running.text;
  EXPECT_EQ(total_value(running.text, "ingress +ipv4/udp +packets"), 3) << running.text;
  EXPECT_EQ(total_value(running.text, "ingress +ipv4/udp +packets [0-9]+ bytes"), 3 * 100) << running.text;
  // The links are gone with the process.
  EXPECT_TRUE(ebpf::query_tcx("veth0", ebpf::tc_direction::ingress).programs.empty());
  EXPECT_TRUE(ebpf::query_tcx("veth0", ebpf::tc_direction::egress).programs.empty());
}

TEST_F(xdp_tc_example_test, TcCounterAutomaticTakesTcxWhereTheKernelHasIt) {
  const std::string exe = example("tc_counter");
  if (::access(exe.c_str(), X_OK) != 0) GTEST_SKIP() << exe << " was not built (meson -Dexamples=false)";
  const bool tcx = ebpf::probe_feature(ebpf::kernel_feature::tcx_link).supported();
  auto running = start({exe, "veth0"});  // --auto is the default
  ASSERT_TRUE(running.wait_for("attached")) << running.text;
  EXPECT_NE(running.text.find(tcx ? "(tcx links)" : "(clsact cls_bpf filters; no TCX before kernel 6.6)"),
            std::string::npos)
      << running.text;
  EXPECT_EQ(std::system("tc qdisc show dev veth0 | grep -q clsact") == 0, !tcx);
  send_udp(veth0_, 7000, 2, 18);
  send_udp(veth1_, 7000, 1, 58);
  ::usleep(200000);
  EXPECT_EQ(running.stop(), 0) << running.text;
  EXPECT_EQ(total_value(running.text, "egress +ipv4/udp +packets"), 2) << running.text;
  EXPECT_EQ(total_value(running.text, "ingress +ipv4/udp +packets"), 1) << running.text;
  EXPECT_NE(std::system("tc qdisc show dev veth0 | grep -q clsact"), 0);
}

TEST_F(xdp_tc_example_test, TcCounterClsactCountsBothDirectionsAndRemovesItsQdisc) {
  const std::string exe = example("tc_counter");
  if (::access(exe.c_str(), X_OK) != 0) GTEST_SKIP() << exe << " was not built (meson -Dexamples=false)";
  auto running = start({exe, "veth0", "--clsact"});
  ASSERT_TRUE(running.wait_for("attached")) << running.text;
  EXPECT_NE(running.text.find("(clsact cls_bpf filters)"), std::string::npos) << running.text;
  EXPECT_EQ(std::system("tc filter show dev veth0 ingress | grep -q 'direct-action'"), 0);
  send_udp(veth0_, 7000, 4, 18);
  send_udp(veth1_, 7000, 2, 58);
  ::usleep(200000);
  EXPECT_EQ(running.stop(), 0) << running.text;
  EXPECT_EQ(total_value(running.text, "egress +ipv4/udp +packets"), 4) << running.text;
  EXPECT_EQ(total_value(running.text, "egress +ipv4/udp +packets [0-9]+ bytes"), 4 * 60) << running.text;
  EXPECT_EQ(total_value(running.text, "ingress +ipv4/udp +packets"), 2) << running.text;
  EXPECT_EQ(total_value(running.text, "ingress +ipv4/udp +packets [0-9]+ bytes"), 2 * 100) << running.text;
  EXPECT_NE(std::system("tc qdisc show dev veth0 | grep -q clsact"), 0);
}

}  // namespace
