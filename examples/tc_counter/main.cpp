// tc_counter: count packets and bytes per protocol in both directions of an interface.
//
//   tc_counter IFACE [--auto | --tcx | --clsact] [--seconds N] [--object FILE]
//
// Loads tc_counter.bpf.o and attaches `count_ingress` and `count_egress` to IFACE: as TCX links
// (--tcx; TCX needs kernel 6.6) or as cls_bpf filters on the clsact qdisc (--clsact; netlink,
// any kernel since 4.5; the qdisc is created if missing and removed on exit if we created it).
// --auto, the default, takes TCX where the kernel has it (ebpf::kernel_feature::tcx_link) and
// clsact elsewhere.
// Prints the table once a second and a final one, headed "total:", on exit (Ctrl-C or --seconds).
#include <ebpf/ebpf.hpp>

#include "tc_counter.h"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

enum class mode { automatic, tcx, clsact };

struct options {
  std::string interface;
  mode how = mode::automatic;
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
  parsed.object = directory_of_executable() + "/tc_counter.bpf.o";
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(argument + " needs a value");
      return argv[++i];
    };
    if (argument == "--auto") parsed.how = mode::automatic;
    else if (argument == "--tcx") parsed.how = mode::tcx;
    else if (argument == "--clsact") parsed.how = mode::clsact;
    else if (argument == "--seconds") parsed.seconds = std::stoi(value());
    else if (argument == "--object") parsed.object = value();
    else if (!argument.empty() && argument[0] != '-' && parsed.interface.empty()) parsed.interface = argument;
    else throw std::runtime_error("unknown argument '" + argument + "' (see the comment at the top of main.cpp)");
  }
  if (parsed.interface.empty()) throw std::runtime_error("usage: tc_counter IFACE [--auto|--tcx|--clsact] [--seconds N]");
  return parsed;
}

const char* const protocol_names[PROTO_COUNT] = {"ipv4/tcp", "ipv4/udp", "ipv4/icmp", "ipv4/other",
                                                 "ipv6", "arp", "other"};

// One line per direction and protocol that saw traffic.
void print_table(const char* heading, const ebpf::per_cpu_array<std::uint64_t>& packets,
                 const ebpf::per_cpu_array<std::uint64_t>& bytes) {
  std::printf("%s\n", heading);
  for (std::uint32_t direction = 0; direction < DIRECTION_COUNT; ++direction) {
    for (std::uint32_t protocol = 0; protocol < PROTO_COUNT; ++protocol) {
      std::uint32_t index = direction * PROTO_COUNT + protocol;
      std::uint64_t count = packets.sum(index);
      if (count == 0) continue;
      std::printf("  %-7s %-10s packets %llu bytes %llu\n", direction == DIRECTION_INGRESS ? "ingress" : "egress",
                  protocol_names[protocol], static_cast<unsigned long long>(count),
                  static_cast<unsigned long long>(bytes.sum(index)));
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  options options = parse_arguments(argc, argv);
  std::signal(SIGINT, [](int) { stop_requested = 1; });
  std::signal(SIGTERM, [](int) { stop_requested = 1; });

  auto object = ebpf::object::open(options.object);
  object.load();
  auto packets = object.map<ebpf::per_cpu_array<std::uint64_t>>("packets");
  auto bytes = object.map<ebpf::per_cpu_array<std::uint64_t>>("bytes");

  auto& ingress = object.program("count_ingress");
  auto& egress = object.program("count_egress");
  // TCX is kernel 6.6. The probe is cached and cheap; asking it first turns a bare EINVAL from
  // BPF_LINK_CREATE into advice.
  const bool have_tcx = ebpf::probe_feature(ebpf::kernel_feature::tcx_link).supported();
  if (options.how == mode::tcx && !have_tcx) {
    throw std::runtime_error("this kernel has no TCX: TCX needs kernel 6.6; use --clsact (or "
                             "--auto, which picks what the kernel has)");
  }
  const bool tcx = options.how == mode::tcx || (options.how == mode::automatic && have_tcx);
  ebpf::link in, out;
  if (tcx) {
    in = ingress.attach_tcx(options.interface, ebpf::tc_direction::ingress);
    out = egress.attach_tcx(options.interface, ebpf::tc_direction::egress);
  } else {
    in = ingress.attach_tc(options.interface, ebpf::tc_direction::ingress);
    out = egress.attach_tc(options.interface, ebpf::tc_direction::egress);
  }
  std::printf("attached to %s ingress and egress (%s%s)\n", options.interface.c_str(),
              tcx ? "tcx links" : "clsact cls_bpf filters",
              options.how == mode::automatic && !tcx ? "; no TCX before kernel 6.6" : "");
  std::fflush(stdout);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.seconds);
  auto next_print = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!stop_requested && (options.seconds == 0 || std::chrono::steady_clock::now() < deadline)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::steady_clock::now() >= next_print) {
      print_table("counters:", packets, bytes);
      next_print += std::chrono::seconds(1);
    }
  }
  print_table("total:", packets, bytes);
  return 0;  // the links detach here
} catch (const std::exception& e) {
  std::fprintf(stderr, "tc_counter: %s\n", e.what());
  return 1;
}
