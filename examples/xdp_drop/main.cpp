// xdp_drop: drop IPv4 UDP datagrams to chosen ports as they arrive on an interface, with XDP.
//
//   xdp_drop IFACE [--port N]... [--mode link|netlink] [--skb | --native] [--seconds N]
//            [--object FILE]
//
// Loads xdp_drop.bpf.o, puts each --port (default 9999) into the `blocked_ports` map and attaches
// `xdp_drop_udp` to IFACE: with a bpf_link (--mode link, the default; detached when the link is
// closed) or through netlink (--mode netlink, as `ip link set dev IFACE xdp` does; we detach on
// exit only if our program is still the one attached). --skb asks for generic XDP, --native for
// the driver's; without either the kernel picks. Prints the counters once a second and a final
// "total:" line on exit (Ctrl-C, or after --seconds).
#include <ebpf/ebpf.hpp>

#include "xdp_drop.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

struct options {
  std::string interface;
  std::vector<std::uint16_t> ports;
  ebpf::xdp_attach_method method = ebpf::xdp_attach_method::link;
  std::uint32_t mode = ebpf::xdp_flags::none;
  int seconds = 0;  // 0: until Ctrl-C
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
  parsed.object = directory_of_executable() + "/xdp_drop.bpf.o";
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(argument + " needs a value");
      return argv[++i];
    };
    if (argument == "--port") parsed.ports.push_back(static_cast<std::uint16_t>(std::stoul(value())));
    else if (argument == "--mode") {
      std::string mode = value();
      if (mode == "link") parsed.method = ebpf::xdp_attach_method::link;
      else if (mode == "netlink") parsed.method = ebpf::xdp_attach_method::netlink;
      else throw std::runtime_error("--mode is link or netlink, not '" + mode + "'");
    }
    else if (argument == "--skb") parsed.mode = ebpf::xdp_flags::skb_mode;
    else if (argument == "--native") parsed.mode = ebpf::xdp_flags::drv_mode;
    else if (argument == "--seconds") parsed.seconds = std::stoi(value());
    else if (argument == "--object") parsed.object = value();
    else if (!argument.empty() && argument[0] != '-' && parsed.interface.empty()) parsed.interface = argument;
    else throw std::runtime_error("unknown argument '" + argument + "' (see the comment at the top of main.cpp)");
  }
  if (parsed.interface.empty()) throw std::runtime_error("usage: xdp_drop IFACE [--port N]... [--mode link|netlink] [--skb|--native]");
  if (parsed.ports.empty()) parsed.ports.push_back(9999);
  return parsed;
}

void print_counters(const char* prefix, const ebpf::per_cpu_array<std::uint64_t>& counters) {
  std::printf("%sudp dropped %llu  udp passed %llu  other %llu\n", prefix,
              static_cast<unsigned long long>(counters.sum(COUNTER_UDP_DROPPED)),
              static_cast<unsigned long long>(counters.sum(COUNTER_UDP_PASSED)),
              static_cast<unsigned long long>(counters.sum(COUNTER_OTHER)));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  options options = parse_arguments(argc, argv);
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  std::signal(SIGTERM, [](int) { stop_requested = 1; });

  auto object = ebpf::object::open(options.object);
  object.load();
  auto blocked = object.map<ebpf::hash_map<std::uint16_t, std::uint8_t>>("blocked_ports");
  for (auto port : options.ports) blocked.update(port, 1);
  auto counters = object.map<ebpf::per_cpu_array<std::uint64_t>>("counters");

  ebpf::xdp_options attach_options;
  attach_options.method = options.method;
  attach_options.flags = options.mode;
  ebpf::link link = object.program("xdp_drop_udp").attach_xdp(options.interface, attach_options);
  auto attached = ebpf::query_xdp(options.interface);
  const char* mode = attached.mode == ebpf::xdp_attach_mode::generic  ? "generic (skb)"
                     : attached.mode == ebpf::xdp_attach_mode::driver ? "native (driver)"
                                                                      : "other";
  std::printf("attached to %s with %s in %s mode, dropping UDP to port", options.interface.c_str(),
              options.method == ebpf::xdp_attach_method::link ? "a bpf_link" : "netlink", mode);
  for (auto port : options.ports) std::printf(" %u", port);
  std::printf("\n");
  std::fflush(stdout);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.seconds);
  auto next_print = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!stop_requested && (options.seconds == 0 || std::chrono::steady_clock::now() < deadline)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::steady_clock::now() >= next_print) {
      print_counters("", counters);
      next_print += std::chrono::seconds(1);
    }
  }
  print_counters("total: ", counters);
  return 0;  // `link` detaches here
} catch (const std::exception& e) {
  std::fprintf(stderr, "xdp_drop: %s\n", e.what());
  return 1;
}
