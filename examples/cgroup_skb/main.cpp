// cgroup_skb: drop IPv4 packets from blocked source addresses for every process in a cgroup.
//
//   cgroup_skb [--cgroup DIR] [--block ADDR]... [--seconds N] [--generate-traffic] [--object FILE]
//
// Loads cgroup_skb.bpf.o, puts each --block address into the `blocklist` hash map, attaches
// `ingress_filter` to the cgroup (default: the whole cgroup2 hierarchy at
// /sys/fs/cgroup/unified), and prints the passed/dropped counters once a second. With
// --generate-traffic it also sends UDP datagrams over loopback from 127.0.0.1 and from 127.0.0.2
// (blocked by default) to itself and shows which ones arrived. The link detaches on exit.
#include <ebpf/ebpf.hpp>

#include "cgroup_skb.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

struct options {
  std::string cgroup = "/sys/fs/cgroup/unified";
  std::vector<std::string> blocked;
  int seconds = 0;  // 0: until Ctrl-C
  bool generate_traffic = false;
  std::string object;
};

std::string directory_of_executable() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (length <= 0) return ".";
  std::string result(path, static_cast<std::size_t>(length));
  return result.substr(0, result.rfind('/'));
}

options parse_arguments(int argc, char** argv) {
  options parsed;
  parsed.object = directory_of_executable() + "/cgroup_skb.bpf.o";
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(argument + " needs a value");
      return argv[++i];
    };
    if (argument == "--cgroup") parsed.cgroup = value();
    else if (argument == "--block") parsed.blocked.push_back(value());
    else if (argument == "--seconds") parsed.seconds = std::stoi(value());
    else if (argument == "--generate-traffic") parsed.generate_traffic = true;
    else if (argument == "--object") parsed.object = value();
    else throw std::runtime_error("unknown argument '" + argument + "' (see the comment at the top of main.cpp)");
  }
  if (parsed.blocked.empty()) parsed.blocked.push_back("127.0.0.2");
  return parsed;
}

// A UDP receiver on 127.0.0.1 and one sender per source address, all non-blocking.
class loopback_traffic {
 public:
  loopback_traffic() {
    receiver_ = udp_socket("127.0.0.1", 0);
    sockaddr_in address{};
    socklen_t length = sizeof address;
    getsockname(receiver_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    destination_ = address;
    for (const char* source : {"127.0.0.1", "127.0.0.2"}) senders_.push_back({source, udp_socket(source, 0), 0, 0});
  }

  void send_round(int datagrams_per_source) {
    for (auto& sender : senders_) {
      for (int i = 0; i < datagrams_per_source; ++i) {
        const char payload[] = "ebpfpp";
        if (sendto(sender.socket.get(), payload, sizeof payload, 0, reinterpret_cast<const sockaddr*>(&destination_),
                   sizeof destination_) > 0)
          ++sender.sent;
      }
    }
    // Collect what arrived, by source address.
    char buffer[64];
    sockaddr_in from{};
    socklen_t length = sizeof from;
    while (recvfrom(receiver_.get(), buffer, sizeof buffer, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &length) > 0) {
      for (auto& sender : senders_)
        if (from.sin_addr.s_addr == ebpf::ipv4(sender.source)) ++sender.received;
      length = sizeof from;
    }
  }

  void print() const {
    for (const auto& sender : senders_)
      std::printf("  from %-10s sent %4llu  received %4llu\n", sender.source, static_cast<unsigned long long>(sender.sent),
                  static_cast<unsigned long long>(sender.received));
  }

 private:
  static ebpf::unique_fd udp_socket(const char* address, std::uint16_t port) {
    ebpf::unique_fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) ebpf::throw_errno(errno, "socket");
    sockaddr_in bind_address{};
    bind_address.sin_family = AF_INET;
    bind_address.sin_port = htons(port);
    bind_address.sin_addr.s_addr = ebpf::ipv4(address);
    if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&bind_address), sizeof bind_address) != 0)
      ebpf::throw_errno(errno, std::string("bind ") + address);
    return fd;
  }

  struct sender {
    const char* source;
    ebpf::unique_fd socket;
    std::uint64_t sent;
    std::uint64_t received;
  };
  ebpf::unique_fd receiver_;
  sockaddr_in destination_{};
  std::vector<sender> senders_;
};

}  // namespace

int main(int argc, char** argv) try {
  options options = parse_arguments(argc, argv);
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  std::signal(SIGTERM, [](int) { stop_requested = 1; });

  auto object = ebpf::object::open(options.object);
  object.load();

  auto blocklist = object.map<ebpf::hash_map<std::uint32_t, std::uint8_t>>("blocklist");
  for (const auto& address : options.blocked) blocklist.update(ebpf::ipv4(address), 1);

  auto cgroup = ebpf::unique_fd::open(options.cgroup.c_str(), O_RDONLY | O_DIRECTORY);
  ebpf::link link = object.program("ingress_filter").attach_cgroup(cgroup, ebpf::attach_type::cgroup_inet_ingress);
  std::printf("ingress_filter attached to %s, dropping IPv4 packets from", options.cgroup.c_str());
  for (const auto& address : options.blocked) std::printf(" %s", address.c_str());
  std::printf("\n");

  auto counters = object.map<ebpf::per_cpu_array<std::uint64_t>>("counters");
  std::optional<loopback_traffic> traffic;
  if (options.generate_traffic) traffic.emplace();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.seconds);
  while (!stop_requested && (options.seconds == 0 || std::chrono::steady_clock::now() < deadline)) {
    if (traffic) traffic->send_round(10);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    if (traffic) traffic->send_round(0);  // collect the stragglers
    std::printf("passed %6llu  dropped %6llu\n", static_cast<unsigned long long>(counters.sum(COUNTER_PASSED)),
                static_cast<unsigned long long>(counters.sum(COUNTER_DROPPED)));
    if (traffic) traffic->print();
    std::fflush(stdout);
  }
  std::printf("detaching\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "cgroup_skb: %s\n", e.what());
  return 1;
}
