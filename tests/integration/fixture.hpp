// The base fixture of every integration test (tests that talk to the running kernel).
//
//   class program_test : public ebpf_test::kernel_test {};
//   TEST_F(program_test, Something) { auto dir = bpffs(); ... }
//
// - Skips the test, with the reason, when not root or when bpf() is unavailable.
// - Records the open fds in SetUp and fails in TearDown if the test leaked one (every fd the
//   library hands out is owned by an RAII type, so a leak is a bug).
// - Helpers for the kernel resources tests need, all undone in TearDown: a private bpffs mount,
//   a child cgroup v2, a temp directory. Plus fork_child() for work that must happen in another
//   process (another cgroup, another network namespace).
// - ebpf_test::insn: a tiny assembler for hand-written test programs.
#pragma once

#include <ebpf/error.hpp>
#include <ebpf/types.hpp>
#include <ebpf/unique_fd.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "sys/bpf.hpp"

namespace ebpf_test {

// ---------------------------------------------------------------------------------------------
// A tiny eBPF assembler: enough for hand-written test programs.
namespace insn {

using ebpf::instruction;

inline instruction make(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
                        std::int32_t imm) {
  return instruction{code, static_cast<std::uint8_t>((dst & 0x0f) | (src << 4)), off, imm};
}

// Registers.
inline constexpr std::uint8_t r0 = 0, r1 = 1, r2 = 2, r3 = 3, r4 = 4, r5 = 5, r6 = 6, r10 = 10;

inline instruction mov64_imm(std::uint8_t dst, std::int32_t imm) { return make(0xb7, dst, 0, 0, imm); }
inline instruction mov64_reg(std::uint8_t dst, std::uint8_t src) { return make(0xbf, dst, src, 0, 0); }
inline instruction add64_imm(std::uint8_t dst, std::int32_t imm) { return make(0x07, dst, 0, 0, imm); }
inline instruction rsh64_imm(std::uint8_t dst, std::int32_t imm) { return make(0x77, dst, 0, 0, imm); }
inline instruction exit() { return make(0x95, 0, 0, 0, 0); }
inline instruction call(std::int32_t helper) { return make(0x85, 0, 0, 0, helper); }
/// *(u32 *)(dst + off) = imm
inline instruction st_w(std::uint8_t dst, std::int16_t off, std::int32_t imm) { return make(0x62, dst, 0, off, imm); }
/// dst = *(u32 *)(src + off)
inline instruction ldx_w(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return make(0x61, dst, src, off, 0); }
/// dst = *(u16 *)(src + off)
inline instruction ldx_h(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return make(0x69, dst, src, off, 0); }
/// lock *(u64 *)(dst + off) += src
inline instruction atomic_add64(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return make(0xdb, dst, src, off, 0); }
/// if dst == imm goto pc + 1 + off
inline instruction jeq_imm(std::uint8_t dst, std::int32_t imm, std::int16_t off) { return make(0x15, dst, 0, off, imm); }
inline instruction jne_imm(std::uint8_t dst, std::int32_t imm, std::int16_t off) { return make(0x55, dst, 0, off, imm); }
/// if dst > src goto pc + 1 + off (unsigned)
inline instruction jgt_reg(std::uint8_t dst, std::uint8_t src, std::int16_t off) { return make(0x2d, dst, src, off, 0); }

/// dst = map fd (ld_imm64 with src = BPF_PSEUDO_MAP_FD): two instructions.
inline void ld_map_fd(std::vector<instruction>& out, std::uint8_t dst, int map_fd) {
  out.push_back(make(0x18, dst, 1, 0, map_fd));
  out.push_back(make(0, 0, 0, 0, 0));
}

inline constexpr std::int32_t helper_map_lookup_elem = 1;
inline constexpr std::int32_t helper_get_current_pid_tgid = 14;

/// Adds 1 to the u64 at key 0 of array map `map_fd` (clobbers r0-r5).
inline std::vector<instruction> count_into(int map_fd) {
  std::vector<instruction> out;
  ld_map_fd(out, r1, map_fd);
  out.push_back(mov64_reg(r2, r10));
  out.push_back(add64_imm(r2, -4));
  out.push_back(st_w(r10, -4, 0));
  out.push_back(call(helper_map_lookup_elem));
  out.push_back(jeq_imm(r0, 0, 2));
  out.push_back(mov64_imm(r1, 1));
  out.push_back(atomic_add64(r0, r1, 0));
  return out;
}

inline void append(std::vector<instruction>& out, const std::vector<instruction>& more) {
  out.insert(out.end(), more.begin(), more.end());
}

}  // namespace insn

// ---------------------------------------------------------------------------------------------

/// A cgroup v2 directory made for one test, removed in TearDown.
struct child_cgroup {
  std::string path;
  ebpf::unique_fd fd;  // O_RDONLY | O_DIRECTORY, for attach_cgroup
};

class kernel_test : public ::testing::Test {
 public:
  /// The open fds of this process, with what they point at.
  static std::map<int, std::string> open_fds() {
    std::map<int, std::string> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return fds;
    int own = ::dirfd(dir);
    while (dirent* entry = ::readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      int fd = std::atoi(entry->d_name);
      if (fd == own) continue;
      char target[256] = {};
      std::string path = std::string("/proc/self/fd/") + entry->d_name;
      ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
      fds[fd] = n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?";
    }
    ::closedir(dir);
    return fds;
  }

  /// Runs `body` in a forked child process and returns its pid; the child exits with body's
  /// return value (127 if it throws). Never use gtest assertions inside `body`.
  static pid_t fork_child(const std::function<int()>& body) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) ebpf::throw_errno(errno, "test: fork");
    if (pid == 0) {
      int code = 127;
      try {
        code = body();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
      }
      ::_exit(code);
    }
    return pid;
  }

  /// Waits for a child; its exit code, or 128 + signal.
  static int wait_child(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
  }

  /// Whether `fd` has FD_CLOEXEC.
  static bool is_cloexec(int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC) != 0;
  }

 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "integration tests need root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, "
                      "CAP_SYS_ADMIN); euid is "
                   << ::geteuid();
    }
    try {
      ebpf::sys::map_create_options probe;
      probe.type = ebpf::map_type::array;
      probe.key_size = 4;
      probe.value_size = 4;
      probe.max_entries = 1;
      ebpf::sys::map_create(probe, "probe map");
    } catch (const ebpf::error& e) {
      GTEST_SKIP() << "bpf() is unavailable here: " << e.what();
    }
    fds_before_ = open_fds();
    checking_fds_ = true;
  }

  void TearDown() override {
    cleanup();
    if (!checking_fds_) return;
    auto after = open_fds();
    std::string leaked;
    for (const auto& [fd, target] : after) {
      if (!fds_before_.count(fd)) leaked += " " + std::to_string(fd) + " -> " + target + ";";
    }
    EXPECT_TRUE(leaked.empty()) << "file descriptors leaked by the test:" << leaked;
  }

  /// A private bpffs mounted on a temp directory for this test (unmounted in TearDown).
  std::string bpffs() {
    if (!bpffs_.empty()) return bpffs_;
    std::string dir = temp_dir() + "/bpffs";
    if (::mkdir(dir.c_str(), 0700) != 0) ebpf::throw_errno(errno, "test: mkdir " + dir);
    if (::mount("bpf", dir.c_str(), "bpf", 0, nullptr) != 0) {
      ebpf::throw_errno(errno, "test: mount bpffs at " + dir);
    }
    bpffs_ = dir;
    return dir;
  }

  /// /sys/fs/bpf, mounting a bpffs there if none is (it then stays mounted, as a system would).
  static std::string sys_fs_bpf() {
    const char* path = "/sys/fs/bpf";
    struct statfs fs;
    constexpr long bpf_fs_magic = 0xcafe4a11;  // BPF_FS_MAGIC
    if (::statfs(path, &fs) == 0 && static_cast<long>(fs.f_type) == bpf_fs_magic) return path;
    if (::mount("bpf", path, "bpf", 0, nullptr) != 0) ebpf::throw_errno(errno, "test: mount bpffs at /sys/fs/bpf");
    return path;
  }

  /// A new child cgroup of /sys/fs/cgroup/unified (removed in TearDown, after the processes
  /// moved into it have been waited for).
  const child_cgroup& make_cgroup() {
    static int counter = 0;
    std::string root = "/sys/fs/cgroup/unified";
    struct statfs fs;
    constexpr long cgroup2_magic = 0x63677270;  // CGROUP2_SUPER_MAGIC
    if (::statfs(root.c_str(), &fs) != 0 || static_cast<long>(fs.f_type) != cgroup2_magic) {
      root = "/sys/fs/cgroup";  // a pure cgroup2 system
    }
    child_cgroup cgroup;
    cgroup.path = root + "/ebpfpp-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    if (::mkdir(cgroup.path.c_str(), 0755) != 0) ebpf::throw_errno(errno, "test: mkdir " + cgroup.path);
    cgroups_.push_back(std::move(cgroup));
    cgroups_.back().fd = ebpf::unique_fd::open(cgroups_.back().path.c_str(), O_RDONLY | O_DIRECTORY);
    return cgroups_.back();
  }

  /// A temp directory for this test (removed with its contents in TearDown).
  std::string temp_dir() {
    if (!temp_dir_.empty()) return temp_dir_;
    char pattern[] = "/tmp/ebpfpp-test-XXXXXX";
    if (!::mkdtemp(pattern)) ebpf::throw_errno(errno, "test: mkdtemp");
    temp_dir_ = pattern;
    return temp_dir_;
  }

 private:
  void cleanup() {
    if (!bpffs_.empty()) {
      ::umount2(bpffs_.c_str(), MNT_DETACH);
      bpffs_.clear();
    }
    for (auto& cgroup : cgroups_) {
      cgroup.fd.reset();
      // The cgroup stays busy for a moment after its last process was reaped.
      for (int attempt = 0; attempt < 50 && ::rmdir(cgroup.path.c_str()) != 0 && errno == EBUSY; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    cgroups_.clear();
    if (!temp_dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(temp_dir_, ignored);
      temp_dir_.clear();
    }
  }

  std::map<int, std::string> fds_before_;
  bool checking_fds_ = false;
  std::string bpffs_;
  std::string temp_dir_;
  std::deque<child_cgroup> cgroups_;  // a deque: make_cgroup() hands out references
};

}  // namespace ebpf_test
