// tcp_cc: a TCP congestion control written in BPF (tcp_cc.bpf.c), registered with the kernel
// through a struct_ops link (6.4; on older kernels the loader registers the same object by its
// map value, 5.6), then used by a real TCP connection on loopback.
//
//   sudo ./tcp_cc [--bytes N]
//
// Loads tcp_cc.bpf.o (found next to the executable), registers "ebpfpp_reno" (it shows in
// /proc/sys/net/ipv4/tcp_available_congestion_control while the link lives), connects two
// sockets over 127.0.0.1 with setsockopt(TCP_CONGESTION, "ebpfpp_reno"), sends N bytes (default
// 16 MiB) through them, prints what the BPF side counted, and unregisters by destroying the link.
#include <ebpf/ebpf.hpp>

#include "tcp_cc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

std::string directory_of_executable() {
  char path[4096] = {};
  ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  std::string self = length > 0 ? std::string(path, static_cast<std::size_t>(length)) : std::string(".");
  return self.substr(0, self.rfind('/'));
}

bool congestion_control_available(const std::string& name) {
  std::ifstream in("/proc/sys/net/ipv4/tcp_available_congestion_control");
  std::string word;
  while (in >> word)
    if (word == name) return true;
  return false;
}

// A socket file descriptor closed when it goes out of scope.
struct socket_fd {
  int fd = -1;
  explicit socket_fd(int value) : fd(value) {}
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  ~socket_fd() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void use_congestion_control(int fd, const char* name) {
  if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, static_cast<socklen_t>(std::strlen(name))) != 0)
    fail(std::string("setsockopt(TCP_CONGESTION, \"") + name + "\")");
}

// Sends `bytes` from one loopback socket to another, both using congestion control `name`.
// Returns the port the listener had.
int transfer(std::size_t bytes, const char* name) {
  socket_fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  socket_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.fd < 0 || client.fd < 0) fail("socket");
  use_congestion_control(listener.fd, name);  // the accepted socket inherits it
  use_congestion_control(client.fd, name);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener.fd, reinterpret_cast<sockaddr*>(&address), length) != 0) fail("bind");
  if (::listen(listener.fd, 1) != 0) fail("listen");
  if (::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) fail("getsockname");
  if (::connect(client.fd, reinterpret_cast<sockaddr*>(&address), length) != 0) fail("connect");
  socket_fd server(::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (server.fd < 0) fail("accept");

  std::size_t received = 0;
  std::thread reader([&] {
    std::vector<char> buffer(1 << 16);
    while (received < bytes) {
      ssize_t n = ::read(server.fd, buffer.data(), buffer.size());
      if (n <= 0) break;
      received += static_cast<std::size_t>(n);
    }
  });
  std::vector<char> data(1 << 16, 'x');
  std::size_t sent = 0;
  while (sent < bytes) {
    ssize_t n = ::write(client.fd, data.data(), std::min(data.size(), bytes - sent));
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(client.fd, SHUT_WR);
  reader.join();
  if (received != bytes) throw std::runtime_error("transfer: received " + std::to_string(received) + " of " + std::to_string(bytes) + " bytes");
  return ntohs(address.sin_port);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t bytes = 16u << 20;
  for (int i = 1; i < argc; ++i) {
    std::string argument = argv[i];
    if (argument == "--bytes" && i + 1 < argc) {
      bytes = std::stoull(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--bytes N]\n", argv[0]);
      return 2;
    }
  }
  try {
    auto object = ebpf::object::open(directory_of_executable() + "/tcp_cc.bpf.o");
    object.load();
    {
      ebpf::link registration = object.attach_struct_ops("ebpfpp_reno");
      std::printf("registered congestion control '%s' (available: %s)\n", TCP_CC_NAME,
                  congestion_control_available(TCP_CC_NAME) ? "yes" : "no");
      int port = transfer(bytes, TCP_CC_NAME);
      std::printf("sent %zu bytes over 127.0.0.1:%d with congestion control '%s'\n", bytes, port, TCP_CC_NAME);
      auto stats = object.global<tcp_cc_stats>("stats");
      std::printf("init calls: %llu\n", static_cast<unsigned long long>(stats.init));
      std::printf("cong_avoid calls: %llu\n", static_cast<unsigned long long>(stats.cong_avoid));
      std::printf("segments acked in cong_avoid: %llu\n", static_cast<unsigned long long>(stats.acked));
      std::printf("ssthresh calls: %llu\n", static_cast<unsigned long long>(stats.ssthresh));
      std::printf("max cwnd: %llu\n", static_cast<unsigned long long>(stats.max_cwnd));
      std::printf("release calls: %llu\n", static_cast<unsigned long long>(stats.release));
    }
    std::printf("unregistered '%s' (available: %s)\n", TCP_CC_NAME, congestion_control_available(TCP_CC_NAME) ? "yes" : "no");
    std::fflush(stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tcp_cc: %s\n", e.what());
    return 1;
  }
  return 0;
}
