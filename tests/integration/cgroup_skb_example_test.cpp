// The demo's program, examples/cgroup_skb/cgroup_skb.bpf.o, dropping real traffic: a process in
// a child cgroup receives UDP datagrams over loopback from 127.0.0.1 and from 127.0.0.2; with
// 127.0.0.2 in the blocklist only the first arrive, and the counters say so.
#include <ebpf/ebpf.hpp>

#include "../../examples/cgroup_skb/cgroup_skb.h"
#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

namespace {

class CgroupSkbExampleTest : public ebpf_test::kernel_test {};

// Runs in a forked child: joins `cgroup`, sends `count` datagrams from each source address to a
// socket of its own on 127.0.0.1 and returns how many arrived from each, as from_1 * 16 + from_2.
int send_and_count(const std::string& cgroup, int count) {
  {
    FILE* procs = std::fopen((cgroup + "/cgroup.procs").c_str(), "w");
    if (!procs || std::fprintf(procs, "%d\n", ::getpid()) < 0 || std::fclose(procs) != 0) return 255;
  }
  auto udp = [](const char* address) {
    ebpf::unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in bind_to{};
    bind_to.sin_family = AF_INET;
    bind_to.sin_addr.s_addr = ebpf::ipv4(address);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&bind_to), sizeof bind_to) != 0) ebpf::throw_errno(errno, "bind");
    return fd;
  };
  auto receiver = udp("127.0.0.1");
  sockaddr_in destination{};
  socklen_t length = sizeof destination;
  ::getsockname(receiver.get(), reinterpret_cast<sockaddr*>(&destination), &length);
  auto from_1 = udp("127.0.0.1");
  auto from_2 = udp("127.0.0.2");
  for (int i = 0; i < count; ++i)
    for (int fd : {from_1.get(), from_2.get()})
      ::sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&destination), sizeof destination);
  int received_1 = 0, received_2 = 0;
  pollfd ready{receiver.get(), POLLIN, 0};
  while (::poll(&ready, 1, 200) > 0) {
    char byte;
    sockaddr_in source{};
    socklen_t source_length = sizeof source;
    if (::recvfrom(receiver.get(), &byte, 1, 0, reinterpret_cast<sockaddr*>(&source), &source_length) != 1) break;
    (source.sin_addr.s_addr == ebpf::ipv4("127.0.0.2") ? received_2 : received_1)++;
  }
  return received_1 * 16 + received_2;
}

TEST_F(CgroupSkbExampleTest, DropsPacketsFromBlockedAddresses) {
  const auto& cgroup = make_cgroup();
  const std::string path = std::string(EBPFPP_EXAMPLES_DIR) + "/cgroup_skb/cgroup_skb.bpf.o";
  if (::access(path.c_str(), R_OK) != 0) GTEST_SKIP() << path << " was not built (meson -Dexamples=false)";
  auto object = ebpf::object::open(path);
  object.load();
  auto blocklist = object.map<ebpf::hash_map<std::uint32_t, std::uint8_t>>("blocklist");
  blocklist.update(ebpf::ipv4("127.0.0.2"), 1);
  auto counters = object.map<ebpf::per_cpu_array<std::uint64_t>>("counters");

  // Before attaching, everything arrives.
  EXPECT_EQ(wait_child(fork_child([&] { return send_and_count(cgroup.path, 5); })), 5 * 16 + 5);
  {
    auto link = object.program("ingress_filter").attach_cgroup(cgroup.fd, ebpf::attach_type::cgroup_inet_ingress);
    EXPECT_EQ(wait_child(fork_child([&] { return send_and_count(cgroup.path, 5); })), 5 * 16 + 0);
    EXPECT_EQ(counters.sum(COUNTER_DROPPED), 5u);
    EXPECT_GE(counters.sum(COUNTER_PASSED), 5u);
  }
  // The link is gone: nothing is dropped any more and the counters stand still.
  EXPECT_EQ(wait_child(fork_child([&] { return send_and_count(cgroup.path, 5); })), 5 * 16 + 5);
  EXPECT_EQ(counters.sum(COUNTER_DROPPED), 5u);
}

}  // namespace
