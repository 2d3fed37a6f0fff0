// btf: the cost of kernel BTF and CO-RE, ebpfpp against libbpf (the baseline) in the same run.
//
//   btf [--runs N] [TOOL_OR_OBJECT ...]
//
// Without arguments: the BPF objects embedded in Debian's libbpf-tools execsnoop, opensnoop and
// biolatency (carved out of the binaries the way tests/conformance does: an ELF64 with e_machine
// EM_BPF inside the tool). Every measurement runs in a fresh process forked from a parent that
// has read nothing but the object bytes, so each one starts without kernel BTF, caches or
// libbpf state; the median of N runs is printed. Times are CPU time of the measuring process
// (user + system, CLOCK_PROCESS_CPUTIME_ID), which a shared, loaded machine does not inflate the
// way it inflates wall time (printed too); on an idle machine the two agree for this
// single-threaded work. Peak RSS growth is the child's VmHWM at the end minus its VmRSS at the
// start.
//
// Measurements:
//   bare_walk        mmap /sys/kernel/btf/vmlinux and walk all type headers (record sizes only):
//                    the floor for anything that reads kernel BTF.
//   libbpf_btf       btf__parse("/sys/kernel/btf/vmlinux").
//   ebpfpp_core      object_spec::parse + kernel_core_index + every CO-RE relocation resolved
//                    (plan_core_relocations): "from nothing to CO-RE-resolved".
//   libbpf_core      libbpf 1.1 has no relocate-without-load step (bpf_object__prepare is 1.6),
//                    so this is bpf_object__open_mem + btf__load_vmlinux_btf, the part of its
//                    CO-RE work that precedes any bpf() call; its relocation proper is inside
//                    the load, measured next.
//   load_user        object open + load of the programs both loaders load here, minus the time
//                    spent inside bpf() calls (CPU time of each call, counted by wrapping
//                    syscall(2), which libbpf and lib/sys both call), for ebpfpp and for libbpf.
//                    Needs root.
// This is a benchmark, never a test: nothing fails on a slow result.
#include <ebpf/core.hpp>
#include <ebpf/error.hpp>
#include <ebpf/kernel_btf.hpp>
#include <ebpf/object.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/relocation.hpp>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace {

using bench_clock = std::chrono::steady_clock;

double bpf_seconds = 0;  // CPU time inside bpf() calls in this process (see syscall below)

double cpu_seconds(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return double(now.tv_sec) + double(now.tv_nsec) / 1e9;
}

}  // namespace

// Every syscall(2) of this process, libbpf's included (the executable's definition interposes
// libc's), forwarded to libc's; bpf() calls are timed. Six arguments are forwarded whatever the
// call takes, as the kernel reads only those it needs.
extern "C" long syscall(long number, ...) {
  using real_syscall = long (*)(long, ...);
  static const auto real = reinterpret_cast<real_syscall>(dlsym(RTLD_NEXT, "syscall"));
  va_list args;
  va_start(args, number);
  long a[6];
  for (long& arg : a) arg = va_arg(args, long);
  va_end(args);
  if (number != SYS_bpf) return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  const double start = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  const long result = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  const int saved = errno;
  bpf_seconds += cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - start;
  errno = saved;
  return result;
}

namespace {

constexpr std::uint16_t em_bpf = 247;

struct embedded_object {
  std::string name;
  std::vector<std::byte> bytes;
};

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  if (!chars.empty()) std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

template <typename T>
T read_le(const std::byte* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

// As tests/conformance/libbpf_tools_test.cpp carve(): a bpftool skeleton holds its object as a
// whole ELF64 file whose section headers are its last bytes.
std::vector<embedded_object> carve(const std::vector<std::byte>& file, const std::string& tool) {
  constexpr std::size_t header_size = 64;
  static const std::byte magic[] = {std::byte{0x7f}, std::byte{'E'}, std::byte{'L'}, std::byte{'F'}};
  std::vector<embedded_object> found;
  std::size_t at = 0;
  while (at + header_size <= file.size()) {
    auto hit = std::search(file.begin() + static_cast<std::ptrdiff_t>(at), file.end(), std::begin(magic), std::end(magic));
    at = static_cast<std::size_t>(hit - file.begin());
    if (at + header_size > file.size()) break;
    const std::byte* header = file.data() + at;
    if (header[4] == std::byte{2} && header[5] == std::byte{1} && read_le<std::uint16_t>(header + 18) == em_bpf) {
      const auto shoff = read_le<std::uint64_t>(header + 40);
      const std::uint64_t size = shoff + std::uint64_t{read_le<std::uint16_t>(header + 60)} * read_le<std::uint16_t>(header + 58);
      if (shoff <= file.size() && size <= file.size() - at) {
        found.push_back({tool, std::vector<std::byte>(header, header + size)});
        at += static_cast<std::size_t>(size);
        continue;
      }
    }
    ++at;
  }
  return found;
}

long status_kb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return 0;
}

struct sample {
  double wall_ms = 0;
  double ms = 0;          // whole measured work, CPU time
  double bpf_ms = 0;      // of which inside bpf()
  long rss_growth_kb = 0;
  int ok = 0;
};

// Runs `work` in a fresh child process; `work` returns false when it could not do its job.
sample in_child(const std::function<bool()>& work) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    sample s;
    const long rss_start = status_kb("VmRSS:");
    bpf_seconds = 0;
    const auto start = bench_clock::now();
    const double cpu_start = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    bool ok = false;
    try {
      ok = work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "  error: %s\n", e.what());
    }
    s.ms = (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start) * 1000;
    s.wall_ms = std::chrono::duration<double, std::milli>(bench_clock::now() - start).count();
    s.bpf_ms = bpf_seconds * 1000;
    s.rss_growth_kb = status_kb("VmHWM:") - rss_start;
    s.ok = ok ? 1 : 0;
    if (::write(fds[1], &s, sizeof s) != static_cast<ssize_t>(sizeof s)) _exit(2);
    _exit(0);
  }
  ::close(fds[1]);
  sample s;
  if (::read(fds[0], &s, sizeof s) != static_cast<ssize_t>(sizeof s)) s = {};
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return s;
}

struct summary {
  double ms = 0, user_ms = 0, wall_ms = 0;
  long rss_kb = 0;
  bool ok = false;
};

summary median_of(std::size_t runs, const std::function<bool()>& work) {
  std::vector<double> ms, user, wall;
  std::vector<long> rss;
  for (std::size_t i = 0; i < runs; ++i) {
    const sample s = in_child(work);
    if (!s.ok) return {};
    ms.push_back(s.ms);
    wall.push_back(s.wall_ms);
    user.push_back(s.ms - s.bpf_ms);
    rss.push_back(s.rss_growth_kb);
  }
  std::sort(ms.begin(), ms.end());
  std::sort(user.begin(), user.end());
  std::sort(rss.begin(), rss.end());
  std::sort(wall.begin(), wall.end());
  return {ms[runs / 2], user[runs / 2], wall[runs / 2], rss[runs / 2], true};
}

// ---- the measured work ----------------------------------------------------------------------

bool bare_walk() {
  const int fd = ::open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  ::fstat(fd, &st);
  const auto size = static_cast<std::size_t>(st.st_size);
  void* at = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (at == MAP_FAILED) return false;
  const auto* p = static_cast<const std::uint8_t*>(at);
  const std::uint32_t hdr_len = read_le<std::uint32_t>(reinterpret_cast<const std::byte*>(p + 4));
  const std::uint32_t type_off = read_le<std::uint32_t>(reinterpret_cast<const std::byte*>(p + 8));
  const std::uint32_t type_len = read_le<std::uint32_t>(reinterpret_cast<const std::byte*>(p + 12));
  std::size_t off = hdr_len + type_off, end = off + type_len, count = 0;
  while (off + 12 <= end) {
    std::uint32_t info;
    std::memcpy(&info, p + off + 4, 4);
    const std::uint32_t kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
    std::size_t tail = 0;
    switch (kind) {
      case 1: case 14: case 17: tail = 4; break;                 // int, var, decl_tag
      case 3: tail = 12; break;                                  // array
      case 4: case 5: case 15: case 19: tail = 12 * vlen; break; // struct, union, datasec, enum64
      case 6: case 13: tail = 8 * vlen; break;                   // enum, func_proto
      default: break;
    }
    off += 12 + tail;
    ++count;
  }
  ::munmap(at, size);
  return count > 100000;
}

bool libbpf_btf() {
  btf* parsed = btf__parse("/sys/kernel/btf/vmlinux", nullptr);
  if (!parsed) return false;
  const bool ok = btf__type_cnt(parsed) > 100000;
  btf__free(parsed);
  return ok;
}

bool ebpfpp_core(const embedded_object& object) {
  const auto spec = ebpf::object_spec::parse(object.bytes, object.name);
  ebpf::core_candidate_cache cache(ebpf::kernel_core_index());
  const ebpf::core_plan plan = ebpf::plan_core_relocations(spec, cache);
  std::size_t resolved = 0;
  for (const auto& function : plan.by_function) resolved += function.size();
  return resolved > 0;
}

int quiet(libbpf_print_level, const char*, va_list) { return 0; }

bpf_object* libbpf_open(const embedded_object& object) {
  bpf_object_open_opts options{};
  options.sz = sizeof options;
  options.object_name = object.name.c_str();
  return bpf_object__open_mem(object.bytes.data(), object.bytes.size(), &options);
}

bool libbpf_core(const embedded_object& object) {
  bpf_object* opened = libbpf_open(object);
  if (!opened) return false;
  btf* vmlinux = btf__load_vmlinux_btf();
  const bool ok = vmlinux != nullptr;
  btf__free(vmlinux);
  bpf_object__close(opened);
  return ok;
}

bool ebpfpp_load(const embedded_object& object, const std::vector<std::string>& programs) {
  auto loaded = ebpf::object::open_memory(object.bytes, object.name);
  ebpf::load_options options;
  options.only = programs;
  loaded.load(options);
  return true;
}

bool libbpf_load(const embedded_object& object, const std::vector<std::string>& programs) {
  bpf_object* opened = libbpf_open(object);
  if (!opened) return false;
  bpf_program* program;
  bpf_object__for_each_program(program, opened) {
    const std::string name = bpf_program__name(program);
    bpf_program__set_autoload(program, std::find(programs.begin(), programs.end(), name) != programs.end());
  }
  const int err = bpf_object__load(opened);
  bpf_object__close(opened);
  return err == 0;
}

// The programs both loaders load on this kernel, each alone (as the conformance suite decides).
std::vector<std::string> loadable_programs(const embedded_object& object) {
  std::vector<std::string> both;
  const auto spec = ebpf::object_spec::parse(object.bytes, object.name);
  for (const auto& program : spec.programs) {
    const std::vector<std::string> alone{program.name};
    if (in_child([&] { return ebpfpp_load(object, alone); }).ok && in_child([&] { return libbpf_load(object, alone); }).ok)
      both.push_back(program.name);
  }
  return both;
}

void print(const char* what, const std::string& object, const summary& s, bool user = false) {
  if (!s.ok) {
    std::printf("%-12s %-14s failed\n", object.c_str(), what);
    return;
  }
  if (user)
    std::printf("%-12s %-14s %8.2f ms CPU  (user space %7.2f ms; wall %8.2f ms)  +%5.1f MB peak RSS\n", object.c_str(),
                what, s.ms, s.user_ms, s.wall_ms, s.rss_kb / 1024.0);
  else
    std::printf("%-12s %-14s %8.2f ms CPU  (wall %8.2f ms)  +%5.1f MB peak RSS\n", object.c_str(), what, s.ms, s.wall_ms,
                s.rss_kb / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t runs = 7;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::max<std::size_t>(1, std::strtoul(argv[++i], nullptr, 10));
    } else {
      inputs.push_back(arg);
    }
  }
  if (inputs.empty()) inputs = {"/usr/sbin/execsnoop", "/usr/sbin/opensnoop", "/usr/sbin/biolatency"};
  libbpf_set_print(quiet);

  std::vector<embedded_object> objects;
  for (const auto& input : inputs) {
    const auto bytes = read_file(input);
    const std::string name = input.substr(input.find_last_of('/') + 1);
    if (bytes.size() >= 4 && std::memcmp(bytes.data(), "\x7f" "ELF", 4) == 0 && read_le<std::uint16_t>(bytes.data() + 18) == em_bpf) {
      objects.push_back({name, bytes});
    } else {
      auto carved = carve(bytes, name);
      if (carved.empty()) std::fprintf(stderr, "btf: %s: no embedded BPF object (install libbpf-tools)\n", input.c_str());
      for (auto& object : carved) objects.push_back(std::move(object));
    }
  }
  if (objects.empty()) return 1;
  std::printf("fresh process per run, median of %zu runs; load average %s\n", runs, [] {
    std::ifstream in("/proc/loadavg");
    std::string first;
    in >> first;
    return first;
  }().c_str());

  const summary walk = median_of(runs, bare_walk);
  const summary libbpf_parse = median_of(runs, libbpf_btf);
  print("bare_walk", "vmlinux", walk);
  print("libbpf_btf", "vmlinux", libbpf_parse);
  const bool root = ::geteuid() == 0;
  for (const auto& object : objects) {
    const summary ours = median_of(runs, [&] { return ebpfpp_core(object); });
    const summary theirs = median_of(runs, [&] { return libbpf_core(object); });
    print("ebpfpp_core", object.name, ours);
    print("libbpf_core", object.name, theirs);
    if (ours.ok && theirs.ok && walk.ok)
      std::printf("%-12s ratios: ebpfpp/libbpf time %.3f, RSS %.3f; ebpfpp/bare walk time %.2f  (goal: <= 5 ms, <= 3 MB)\n",
                  object.name.c_str(), ours.ms / theirs.ms, double(ours.rss_kb) / double(std::max(1L, theirs.rss_kb)),
                  ours.ms / walk.ms);
    if (!root) continue;
    const auto programs = loadable_programs(object);
    if (programs.empty()) {
      std::printf("%-12s load: no program loads with both here\n", object.name.c_str());
      continue;
    }
    const summary our_load = median_of(runs, [&] { return ebpfpp_load(object, programs); });
    const summary their_load = median_of(runs, [&] { return libbpf_load(object, programs); });
    print("ebpfpp_load", object.name, our_load, true);
    print("libbpf_load", object.name, their_load, true);
    if (our_load.ok && their_load.ok)
      std::printf("%-12s load (%zu programs) user-space ratio ebpfpp/libbpf %.3f  (goal: <= 0.1)\n", object.name.c_str(),
                  programs.size(), our_load.user_ms / their_load.user_ms);
  }
  return 0;
}
