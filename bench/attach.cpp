// attach: attach + detach latency per attach kind, ebpfpp against libbpf in the same run.
//
//   attach [--iterations N] [--seconds-per-kind S] [--kinds NAME,NAME,...]
//
// Needs root. The process first moves into a private network and mount namespace
// (unshare(CLONE_NEWNET | CLONE_NEWNS), mounts made private), creates a veth pair there with
// `ip link add`, mounts tracefs if the namespace has none, and makes a child cgroup of the cgroup2
// mount (/sys/fs/cgroup/unified, else /sys/fs/cgroup). Everything goes away at exit: the
// namespaces with the process, the cgroup with an rmdir.
//
// The BPF objects are the tests' (EBPFPP_BENCH_ATTACH_DIR, set by bench/meson.build): each is
// loaded once with ebpf::object (load_options::only) and once with libbpf (bpf_object__open_file
// + bpf_object__load, autoload off for the other programs), then one iteration is "create the
// attachment and destroy it" on each side, alternating A B / B A. One line per kind:
//
//   kind=xdp_link ebpfpp_us=41.2 ebpfpp_p90_us=50.3 libbpf_us=40.9 libbpf_p90_us=49.0 ratio=1.01 n=200 ...
//
// Kinds (ebpfpp call / libbpf 1.1 call):
//   tracepoint   attach_tracepoint("syscalls", "sys_enter_getpid") / bpf_program__attach_tracepoint:
//                perf_event_open of the tracefs event + a perf_event bpf_link on both sides.
//   raw_tp       attach_raw_tracepoint("sys_enter") / bpf_program__attach_raw_tracepoint.
//   xdp_netlink  attach_xdp(veth, {netlink, skb_mode}) / bpf_xdp_attach(skb_mode) and
//                bpf_xdp_detach with old_prog_fd (our detach also names the program it expects,
//                XDP_FLAGS_REPLACE, so both ask the kernel for the same thing).
//   xdp_link     attach_xdp(veth, {link}) / bpf_program__attach_xdp (native mode on veth).
//   tc           attach_tc(veth, ingress) / bpf_tc_attach + bpf_tc_detach: a cls_bpf filter on a
//                clsact qdisc that exists beforehand (created once by the bench, so neither side
//                creates or deletes it per iteration).
//   tcx          attach_tcx(veth, ingress) / bpf_link_create(BPF_TCX_INGRESS) + close: libbpf 1.1
//                has no bpf_program__attach_tcx (1.3), so its column is its raw bpf() wrapper.
//   cgroup_link  attach_cgroup(cg, cgroup_inet_ingress, {link}) / bpf_program__attach_cgroup.
//   sockmap      attach_sockmap(sock_map, sk_msg_verdict, prog_attach) / bpf_prog_attach +
//                bpf_prog_detach2 (BPF_PROG_ATTACH to the map, no link).
//   sk_lookup    attach_netns(netns fd) / bpf_program__attach_netns (a netns bpf_link).
// A kind the kernel refuses prints `kind=NAME skipped=<reason>`; a side that cannot attach while
// the other can gets `ebpfpp_missing=`/`libbpf_missing=` instead of numbers.
//
// This is a benchmark, never a test: nothing here fails on a slow result.
#include "bench_timing.hpp"

#include <ebpf/error.hpp>
#include <ebpf/link.hpp>
#include <ebpf/netdev.hpp>
#include <ebpf/network.hpp>
#include <ebpf/object.hpp>
#include <ebpf/program.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef EBPFPP_BENCH_ATTACH_DIR
#define EBPFPP_BENCH_ATTACH_DIR ""
#endif

namespace {

using bench_timing::bench_clock;

// BPF_TCX_INGRESS (6.6): Debian's linux-libc-dev 6.1 does not define it.
constexpr int tcx_ingress_attach_type = 46;

struct settings {
  std::size_t iterations = 300;
  double seconds_per_kind = 3.0;  // stop a kind early past this, after a minimum of iterations
  std::vector<std::string> kinds;  // empty: all
};

using bench_timing::stats;
using bench_timing::summarize;
using bench_timing::time_us;

std::string one_word(std::string text, std::size_t limit = 200) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), ' ', '_');
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

std::string errno_text(int error) { return std::strerror(error); }

std::size_t open_fd_count() {
  std::size_t count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++count;
    closedir(dir);
  }
  return count;
}

// ---- the environment: network and mount namespace, veth pair, tracefs, child cgroup -----------

void run_shell(const std::string& command) {
  int status = std::system(command.c_str());
  if (status != 0) throw std::runtime_error("`" + command + "` failed (status " + std::to_string(status) + ")");
}

bool is_cgroup2(const char* path) {
  struct statfs info;
  return statfs(path, &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC;
}

class environment {
 public:
  environment() {
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
      throw std::runtime_error("unshare(CLONE_NEWNET | CLONE_NEWNS): " + errno_text(errno));
    // Our mounts (tracefs) must not propagate to the host's namespace.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw std::runtime_error("make / private: " + errno_text(errno));
    run_shell("ip link add bench0 type veth peer name bench1 && ip link set bench0 up && ip link set bench1 up");
    ifindex_ = static_cast<int>(if_nametoindex("bench0"));
    if (ifindex_ == 0) throw std::runtime_error("bench0: " + errno_text(errno));
    netns_fd_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (netns_fd_ < 0) throw std::runtime_error("/proc/self/ns/net: " + errno_text(errno));
    // libbpf 1.1 and ebpfpp both find tracefs at /sys/kernel/tracing (libbpf: unless
    // /sys/kernel/debug/tracing exists); mount it in our private namespace when absent.
    struct stat st;
    if (stat("/sys/kernel/tracing/events", &st) != 0 &&
        mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
      tracefs_error_ = "mount tracefs: " + errno_text(errno);
    const char* root = is_cgroup2("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified"
                       : is_cgroup2("/sys/fs/cgroup")       ? "/sys/fs/cgroup"
                                                            : nullptr;
    if (root == nullptr) {
      cgroup_error_ = "no cgroup2 mount at /sys/fs/cgroup/unified or /sys/fs/cgroup";
      return;
    }
    std::string path = std::string(root) + "/ebpfpp_bench_attach." + std::to_string(getpid());
    if (mkdir(path.c_str(), 0755) != 0) {
      cgroup_error_ = "mkdir " + path + ": " + errno_text(errno);
      return;
    }
    cgroup_path_ = path;
    cgroup_fd_ = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd_ < 0) cgroup_error_ = "open " + path + ": " + errno_text(errno);
  }
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  ~environment() {
    if (cgroup_fd_ >= 0) close(cgroup_fd_);
    if (!cgroup_path_.empty() && rmdir(cgroup_path_.c_str()) != 0)
      std::fprintf(stderr, "attach: rmdir %s: %s\n", cgroup_path_.c_str(), std::strerror(errno));
    if (netns_fd_ >= 0) close(netns_fd_);
    // The veth pair and the tracefs mount go with the namespaces when the process exits.
  }

  int ifindex() const { return ifindex_; }
  int netns_fd() const { return netns_fd_; }
  int cgroup_fd() const { return cgroup_fd_; }
  const std::string& cgroup_error() const { return cgroup_error_; }
  const std::string& tracefs_error() const { return tracefs_error_; }

 private:
  int ifindex_ = 0;
  int netns_fd_ = -1;
  int cgroup_fd_ = -1;
  std::string cgroup_path_;
  std::string cgroup_error_;
  std::string tracefs_error_;
};

// ---- one object, loaded by both libraries ----------------------------------------------------

struct libbpf_object_deleter {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};
using libbpf_object_ptr = std::unique_ptr<bpf_object, libbpf_object_deleter>;

struct loaded_pair {
  std::optional<ebpf::object> ours;
  libbpf_object_ptr theirs;
  std::string ours_error;
  std::string theirs_error;
};

// Loads `programs` of `path` on both sides (and the maps they use).
loaded_pair load_both(const std::string& path, const std::vector<std::string>& programs) {
  loaded_pair pair;
  try {
    auto object = ebpf::object::open(path);
    ebpf::load_options options;
    options.only = programs;
    object.load(options);
    pair.ours.emplace(std::move(object));
  } catch (const std::exception& e) {
    pair.ours_error = std::string("load: ") + e.what();
  }
  libbpf_object_ptr object(bpf_object__open_file(path.c_str(), nullptr));
  if (!object) {
    pair.theirs_error = "bpf_object__open_file: " + errno_text(errno);
    return pair;
  }
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, object.get()) {
    bool wanted = std::find(programs.begin(), programs.end(), bpf_program__name(program)) != programs.end();
    bpf_program__set_autoload(program, wanted);
  }
  if (int result = bpf_object__load(object.get()); result != 0) {
    pair.theirs_error = "bpf_object__load: " + errno_text(-result);
    return pair;
  }
  pair.theirs = std::move(object);
  return pair;
}

bpf_program* libbpf_program(const loaded_pair& pair, const char* name) {
  bpf_program* program = bpf_object__find_program_by_name(pair.theirs.get(), name);
  if (program == nullptr) throw std::runtime_error(std::string("libbpf: no program ") + name);
  return program;
}

// Throws when a libbpf call returning a bpf_link failed (libbpf 1.x: NULL and errno).
void destroy_or_throw(bpf_link* link, const char* what) {
  if (link == nullptr) throw std::runtime_error(std::string(what) + ": " + errno_text(errno));
  bpf_link__destroy(link);
}

void check(int result, const char* what) {
  if (result < 0) throw std::runtime_error(std::string(what) + ": " + errno_text(result == -1 ? errno : -result));
}

// ---- measuring one kind ----------------------------------------------------------------------

struct kind_case {
  std::string name;
  std::string note;               // appended to the line
  std::function<void()> ours;     // one attach + detach; throws on failure
  std::function<void()> theirs;   // same with libbpf
  std::string ours_missing;       // set: that side is not measured
  std::string theirs_missing;
};

void print_skip(const std::string& kind, const std::string& reason) {
  std::printf("kind=%s skipped=%s\n", kind.c_str(), one_word(reason).c_str());
  std::fflush(stdout);
}

void run_kind(const settings& config, kind_case& k) {
  // One attach + detach on each side first: a kernel refusal shows here, not as timed failures.
  auto probe = [](const std::function<void()>& body, std::string& missing) {
    if (!missing.empty() || !body) {
      if (missing.empty()) missing = "not available";
      return;
    }
    try {
      body();
    } catch (const std::exception& e) {
      missing = e.what();
    }
  };
  probe(k.ours, k.ours_missing);
  probe(k.theirs, k.theirs_missing);
  const bool ours = k.ours_missing.empty();
  const bool theirs = k.theirs_missing.empty();
  if (!ours && !theirs) {
    print_skip(k.name, "ebpfpp: " + k.ours_missing + "; libbpf: " + k.theirs_missing);
    return;
  }
  std::vector<std::function<void()>*> bodies;
  if (ours) bodies.push_back(&k.ours);
  if (theirs) bodies.push_back(&k.theirs);
  std::size_t failures = 0;
  std::string first_failure;
  auto run = [&](std::function<void()>& body) {
    try {
      body();
    } catch (const std::exception& e) {
      if (failures++ == 0) first_failure = e.what();
    }
  };
  for (int i = 0; i < 10; ++i)
    for (auto* body : bodies) run(*body);
  std::vector<std::vector<double>> samples(bodies.size());
  const std::size_t minimum = std::min<std::size_t>(config.iterations, 30);
  auto deadline = bench_clock::now() + std::chrono::duration_cast<bench_clock::duration>(
                                           std::chrono::duration<double>(config.seconds_per_kind));
  std::size_t round = 0;
  for (; round < config.iterations; ++round) {
    if (round >= minimum && bench_clock::now() > deadline) break;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
      std::size_t which = (round % 2 == 0) ? i : bodies.size() - 1 - i;
      samples[which].push_back(time_us([&] { run(*bodies[which]); }));
    }
  }
  auto number = [](double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.1f", value);
    return std::string(buffer);
  };
  std::string ours_us = "-", ours_p90 = "-", theirs_us = "-", theirs_p90 = "-", ratio = "-";
  stats our_stats, their_stats;
  std::size_t next = 0;
  if (ours) {
    our_stats = summarize(samples[next++]);
    ours_us = number(our_stats.median_us);
    ours_p90 = number(our_stats.p90_us);
  }
  if (theirs) {
    their_stats = summarize(samples[next++]);
    theirs_us = number(their_stats.median_us);
    theirs_p90 = number(their_stats.p90_us);
  }
  if (ours && theirs && their_stats.median_us > 0) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.2f", our_stats.median_us / their_stats.median_us);
    ratio = buffer;
  }
  std::string extra = k.note;
  if (!ours) extra += " ebpfpp_missing=" + one_word(k.ours_missing);
  if (!theirs) extra += " libbpf_missing=" + one_word(k.theirs_missing);
  if (failures != 0) extra += " failed_iterations=" + std::to_string(failures) + " first_failure=" + one_word(first_failure);
  std::printf("kind=%s ebpfpp_us=%s ebpfpp_p90_us=%s libbpf_us=%s libbpf_p90_us=%s ratio=%s n=%zu %s\n",
              k.name.c_str(), ours_us.c_str(), ours_p90.c_str(), theirs_us.c_str(), theirs_p90.c_str(),
              ratio.c_str(), round, extra.c_str());
  std::fflush(stdout);
}

// A kind whose programs could not be loaded on one side gets that side's load error.
void set_load_errors(kind_case& k, const loaded_pair& pair) {
  if (!pair.ours) k.ours_missing = pair.ours_error;
  if (!pair.theirs) k.theirs_missing = pair.theirs_error;
}

settings parse_arguments(int argc, char** argv) {
  settings config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + ": missing value");
      return argv[++i];
    };
    if (arg == "--iterations") {
      config.iterations = std::max<std::size_t>(1, std::stoul(value()));
    } else if (arg == "--seconds-per-kind") {
      config.seconds_per_kind = std::stod(value());
    } else if (arg == "--kinds") {
      std::string list = value();
      std::size_t start = 0;
      while (start <= list.size()) {
        auto end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        if (end > start) config.kinds.push_back(list.substr(start, end - start));
        start = end + 1;
      }
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: %s [--iterations N] [--seconds-per-kind S] [--kinds NAME,NAME,...]\n", argv[0]);
      std::exit(0);
    } else {
      throw std::runtime_error(arg + ": unknown argument");
    }
  }
  return config;
}

int bench(const settings& config) {
  const std::string dir = EBPFPP_BENCH_ATTACH_DIR;
  environment env;
  auto wanted = [&](const char* kind) {
    return config.kinds.empty() || std::find(config.kinds.begin(), config.kinds.end(), kind) != config.kinds.end();
  };
  std::vector<kind_case> kinds;
  const int ifindex = env.ifindex();

  // Tracing: attach_tracing.bpf.o (the tracepoint and raw_tp programs only; the object's
  // trampoline programs do not load on every kernel).
  loaded_pair tracing = load_both(dir + "/attach_tracing.bpf.o", {"on_tracepoint", "on_raw_tp"});
  if (wanted("tracepoint")) {
    kind_case k{"tracepoint", "link=perf_event", {}, {}, {}, {}};
    set_load_errors(k, tracing);
    if (!env.tracefs_error().empty()) k.ours_missing = k.theirs_missing = env.tracefs_error();
    if (tracing.ours) k.ours = [&] { (void)tracing.ours->program("on_tracepoint").attach_tracepoint("syscalls", "sys_enter_getpid"); };
    if (tracing.theirs) {
      bpf_program* program = libbpf_program(tracing, "on_tracepoint");
      k.theirs = [program] {
        destroy_or_throw(bpf_program__attach_tracepoint(program, "syscalls", "sys_enter_getpid"),
                         "bpf_program__attach_tracepoint");
      };
    }
    kinds.push_back(std::move(k));
  }
  if (wanted("raw_tp")) {
    kind_case k{"raw_tp", "", {}, {}, {}, {}};
    set_load_errors(k, tracing);
    if (tracing.ours) k.ours = [&] { (void)tracing.ours->program("on_raw_tp").attach_raw_tracepoint("sys_enter"); };
    if (tracing.theirs) {
      bpf_program* program = libbpf_program(tracing, "on_raw_tp");
      k.theirs = [program] {
        destroy_or_throw(bpf_program__attach_raw_tracepoint(program, "sys_enter"), "bpf_program__attach_raw_tracepoint");
      };
    }
    kinds.push_back(std::move(k));
  }

  // XDP and TC: xdp_tc.bpf.o on bench0.
  loaded_pair net = load_both(dir + "/xdp_tc.bpf.o", {"xdp_count_pass", "tc_count_ingress"});
  if (wanted("xdp_netlink")) {
    kind_case k{"xdp_netlink", "mode=skb", {}, {}, {}, {}};
    set_load_errors(k, net);
    if (net.ours) {
      k.ours = [&, ifindex] {
        ebpf::xdp_options options;
        options.method = ebpf::xdp_attach_method::netlink;
        options.flags = ebpf::xdp_flags::skb_mode;
        (void)net.ours->program("xdp_count_pass").attach_xdp(ebpf::net_interface(ifindex), options);
      };
    }
    if (net.theirs) {
      int fd = bpf_program__fd(libbpf_program(net, "xdp_count_pass"));
      k.theirs = [fd, ifindex] {
        check(bpf_xdp_attach(ifindex, fd, XDP_FLAGS_SKB_MODE, nullptr), "bpf_xdp_attach");
        bpf_xdp_attach_opts options;
        std::memset(&options, 0, sizeof(options));
        options.sz = sizeof(options);
        options.old_prog_fd = fd;
        check(bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, &options), "bpf_xdp_detach");
      };
    }
    kinds.push_back(std::move(k));
  }
  if (wanted("xdp_link")) {
    kind_case k{"xdp_link", "mode=native", {}, {}, {}, {}};
    set_load_errors(k, net);
    if (net.ours) {
      k.ours = [&, ifindex] {
        ebpf::xdp_options options;
        options.method = ebpf::xdp_attach_method::link;
        (void)net.ours->program("xdp_count_pass").attach_xdp(ebpf::net_interface(ifindex), options);
      };
    }
    if (net.theirs) {
      bpf_program* program = libbpf_program(net, "xdp_count_pass");
      k.theirs = [program, ifindex] {
        destroy_or_throw(bpf_program__attach_xdp(program, ifindex), "bpf_program__attach_xdp");
      };
    }
    kinds.push_back(std::move(k));
  }
  // The clsact qdisc both sides' filters go on: made once here, so that neither side creates
  // (or, ours, deletes) it per iteration. It goes with the namespace.
  bpf_tc_hook hook;
  std::memset(&hook, 0, sizeof(hook));
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  if (wanted("tc")) {
    kind_case k{"tc", "qdisc=clsact_preexisting libbpf_api=bpf_tc_attach/bpf_tc_detach", {}, {}, {}, {}};
    set_load_errors(k, net);
    if (int result = bpf_tc_hook_create(&hook); result != 0 && result != -EEXIST)
      k.ours_missing = k.theirs_missing = "create clsact qdisc: " + errno_text(-result);
    if (net.ours) {
      k.ours = [&, ifindex] {
        (void)net.ours->program("tc_count_ingress").attach_tc(ebpf::net_interface(ifindex), ebpf::tc_direction::ingress);
      };
    }
    if (net.theirs) {
      int fd = bpf_program__fd(libbpf_program(net, "tc_count_ingress"));
      k.theirs = [fd, &hook] {
        bpf_tc_opts options;
        std::memset(&options, 0, sizeof(options));
        options.sz = sizeof(options);
        options.prog_fd = fd;
        check(bpf_tc_attach(&hook, &options), "bpf_tc_attach");
        // Detach names the filter by the handle and priority the kernel picked (and nothing else).
        bpf_tc_opts detach;
        std::memset(&detach, 0, sizeof(detach));
        detach.sz = sizeof(detach);
        detach.handle = options.handle;
        detach.priority = options.priority;
        check(bpf_tc_detach(&hook, &detach), "bpf_tc_detach");
      };
    }
    kinds.push_back(std::move(k));
  }
  if (wanted("tcx")) {
    kind_case k{"tcx", "link=tcx libbpf_api=bpf_link_create(libbpf_1.1_has_no_bpf_program__attach_tcx)", {}, {}, {}, {}};
    set_load_errors(k, net);
    if (net.ours) {
      k.ours = [&, ifindex] {
        (void)net.ours->program("tc_count_ingress").attach_tcx(ebpf::net_interface(ifindex), ebpf::tc_direction::ingress);
      };
    }
    if (net.theirs) {
      int fd = bpf_program__fd(libbpf_program(net, "tc_count_ingress"));
      k.theirs = [fd, ifindex] {
        int link = bpf_link_create(fd, ifindex, static_cast<bpf_attach_type>(tcx_ingress_attach_type), nullptr);
        check(link, "bpf_link_create(BPF_TCX_INGRESS)");
        close(link);
      };
    }
    kinds.push_back(std::move(k));
  }

  // Cgroup, sockmap and netns: attach_network.bpf.o.
  loaded_pair sock = load_both(dir + "/attach_network.bpf.o", {"skb_ingress", "msg_to_key0", "steer_7007"});
  if (wanted("cgroup_link")) {
    kind_case k{"cgroup_link", "type=cgroup_inet_ingress", {}, {}, {}, {}};
    set_load_errors(k, sock);
    if (env.cgroup_fd() < 0) k.ours_missing = k.theirs_missing = env.cgroup_error();
    const int cgroup = env.cgroup_fd();
    if (sock.ours) {
      k.ours = [&, cgroup] {
        ebpf::cgroup_attach_options options;
        options.api = ebpf::attach_api::link;
        (void)sock.ours->program("skb_ingress").attach_cgroup(cgroup, ebpf::attach_type::cgroup_inet_ingress, options);
      };
    }
    if (sock.theirs) {
      bpf_program* program = libbpf_program(sock, "skb_ingress");
      k.theirs = [program, cgroup] {
        destroy_or_throw(bpf_program__attach_cgroup(program, cgroup), "bpf_program__attach_cgroup");
      };
    }
    kinds.push_back(std::move(k));
  }
  if (wanted("sockmap")) {
    kind_case k{"sockmap", "type=sk_msg_verdict api=prog_attach", {}, {}, {}, {}};
    set_load_errors(k, sock);
    if (sock.ours) {
      const int map = sock.ours->map("sock_map").fd();
      k.ours = [&, map] {
        (void)sock.ours->program("msg_to_key0").attach_sockmap(map, ebpf::attach_type::sk_msg_verdict,
                                                              ebpf::attach_api::prog_attach);
      };
    }
    if (sock.theirs) {
      const int fd = bpf_program__fd(libbpf_program(sock, "msg_to_key0"));
      const int map = bpf_object__find_map_fd_by_name(sock.theirs.get(), "sock_map");
      k.theirs = [fd, map] {
        check(bpf_prog_attach(fd, map, BPF_SK_MSG_VERDICT, 0), "bpf_prog_attach");
        check(bpf_prog_detach2(fd, map, BPF_SK_MSG_VERDICT), "bpf_prog_detach2");
      };
    }
    kinds.push_back(std::move(k));
  }
  if (wanted("sk_lookup")) {
    kind_case k{"sk_lookup", "link=netns", {}, {}, {}, {}};
    set_load_errors(k, sock);
    const int netns = env.netns_fd();
    if (sock.ours) k.ours = [&, netns] { (void)sock.ours->program("steer_7007").attach_netns(netns); };
    if (sock.theirs) {
      bpf_program* program = libbpf_program(sock, "steer_7007");
      k.theirs = [program, netns] {
        destroy_or_throw(bpf_program__attach_netns(program, netns), "bpf_program__attach_netns");
      };
    }
    kinds.push_back(std::move(k));
  }

  for (const auto& kind : config.kinds) {
    bool known = std::any_of(kinds.begin(), kinds.end(), [&](const kind_case& k) { return k.name == kind; });
    if (!known) std::fprintf(stderr, "attach: unknown kind '%s'\n", kind.c_str());
  }
  for (auto& k : kinds) run_kind(config, k);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings config;
  try {
    config = parse_arguments(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attach: %s\n", e.what());
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "attach: needs root (network namespace, cgroup, BPF)\n");
    return 2;
  }
  if (std::string(EBPFPP_BENCH_ATTACH_DIR).empty()) {
    std::fprintf(stderr, "attach: built without the tests' BPF objects (EBPFPP_BENCH_ATTACH_DIR)\n");
    return 2;
  }
  libbpf_set_print(nullptr);
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) load[0] = load[1] = load[2] = -1;
  std::printf("# ebpfpp vs libbpf %s: attach + detach, one iteration = create the attachment and destroy it\n",
              libbpf_version_string());
  std::printf("# times in microseconds (median, p90); ratio = ebpfpp/libbpf median; loadavg %.2f %.2f %.2f\n",
              load[0], load[1], load[2]);
  std::fflush(stdout);
  const std::size_t fds_before = open_fd_count();
  int status = 0;
  try {
    status = bench(config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attach: %s\n", e.what());
    return 1;
  }
  if (std::size_t fds_after = open_fd_count(); fds_after != fds_before)
    std::printf("# open fds changed: %zu before, %zu after\n", fds_before, fds_after);
  return status;
}
