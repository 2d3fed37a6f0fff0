// Iterators and struct_ops against the running kernel: iter/task output compared with /proc,
// iter/bpf_map_elem compared with the map, task iterators restricted to one process or thread,
// and a TCP congestion control registered through a struct_ops link (and a .struct_ops map),
// used by a real loopback connection, and gone again when the link is destroyed.
#include <ebpf/error.hpp>
#include <ebpf/features.hpp>
#include <ebpf/iter.hpp>
#include <ebpf/object.hpp>

#include "fixture.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace {

using ebpf_test::kernel_test;

std::string bpf_object(const std::string& name) { return std::string(EBPFPP_TEST_BPF_DIR) + "/" + name + ".bpf.o"; }

struct task_line {
  int tgid = 0;
  std::string comm;
};

// "<tgid> <tid> <comm>" lines -> tid -> (tgid, comm). comm may hold spaces: the rest of the line.
std::map<int, task_line> parse_tasks(const std::string& text) {
  std::map<int, task_line> tasks;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    int tgid = 0, tid = 0;
    fields >> tgid >> tid;
    std::string comm;
    std::getline(fields, comm);
    if (!comm.empty() && comm.front() == ' ') comm.erase(0, 1);
    EXPECT_TRUE(tasks.emplace(tid, task_line{tgid, comm}).second) << "task " << tid << " printed twice";
  }
  return tasks;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(path.c_str())) {
    while (dirent* entry = ::readdir(dir))
      if (entry->d_name[0] != '.') names.push_back(entry->d_name);
    ::closedir(dir);
  }
  return names;
}

std::string pid_namespace(const std::string& pid) {
  char target[64] = {};
  ssize_t n = ::readlink(("/proc/" + pid + "/ns/pid").c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

// Every thread /proc shows in our pid namespace, which the iterator walks. Processes whose
// namespace we cannot read (the VM's init here refuses even root) are left out: the iterator
// does not show them either.
std::set<int> proc_tids() {
  std::set<int> tids;
  const std::string own = pid_namespace("self");
  for (const auto& pid : list_dir("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (pid_namespace(pid) != own) continue;
    for (const auto& tid : list_dir("/proc/" + pid + "/task")) tids.insert(std::stoi(tid));
  }
  return tids;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string thread_comm(int tid) {
  std::string comm = read_text("/proc/self/task/" + std::to_string(tid) + "/comm");
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

int gettid_() { return static_cast<int>(::syscall(SYS_gettid)); }

// iter_options naming one task field (designated initialisers of a partial struct warn with
// -Wmissing-field-initializers on g++ 12).
ebpf::iter_options for_pid(int pid) {
  ebpf::iter_options options;
  options.pid = static_cast<std::uint32_t>(pid);
  return options;
}
ebpf::iter_options for_tid(int tid) {
  ebpf::iter_options options;
  options.tid = static_cast<std::uint32_t>(tid);
  return options;
}

// Threads that wait until destroyed: a process with several threads to iterate over.
class waiting_threads {
 public:
  explicit waiting_threads(int count) {
    for (int i = 0; i < count; ++i)
      threads_.emplace_back([this] {
        {
          std::lock_guard lock(mutex_);
          tids_.insert(gettid_());
        }
        cv_.notify_all();
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stop_; });
      });
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return tids_.size() == static_cast<std::size_t>(count); });
  }
  ~waiting_threads() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& thread : threads_) thread.join();
  }
  std::set<int> tids() {
    std::lock_guard lock(mutex_);
    return tids_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::set<int> tids_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

class IterTest : public kernel_test {
 protected:
  void SetUp() override {
    kernel_test::SetUp();
    if (IsSkipped()) return;
    object_ = std::make_unique<ebpf::object>(ebpf::object::open(bpf_object("iter")));
    object_->load();
  }
  void TearDown() override {
    object_.reset();
    kernel_test::TearDown();
  }
  std::unique_ptr<ebpf::object> object_;
};

TEST_F(IterTest, TaskIteratorPrintsOneLinePerTask) {
  waiting_threads threads(2);
  ebpf::link link = object_->program("dump_task").attach();  // from SEC("iter/task")
  EXPECT_EQ(link.info().type, ebpf::link_type::iter);
  auto before = proc_tids();
  auto tasks = parse_tasks(ebpf::read_iter(link));
  auto after = proc_tids();

  // Tasks alive during the whole pass were printed; the others were born or died meanwhile (the
  // machine runs other work), so they must be few and have been seen by /proc at one time or
  // another unless they lived only between the two listings.
  std::size_t stable = 0;
  for (int tid : before) {
    if (!after.count(tid)) continue;
    ++stable;
    EXPECT_TRUE(tasks.count(tid)) << "task " << tid << " is in /proc but was not printed";
  }
  ASSERT_GT(stable, 10u);
  std::size_t unknown = 0;
  for (const auto& [tid, line] : tasks)
    if (!before.count(tid) && !after.count(tid)) ++unknown;
  EXPECT_LE(unknown * 10, tasks.size()) << unknown << " of " << tasks.size() << " printed tasks were never in /proc";

  // Our own threads: exactly what /proc says about them.
  std::set<int> ours = threads.tids();
  ours.insert(gettid_());
  for (int tid : ours) {
    ASSERT_TRUE(tasks.count(tid)) << tid;
    EXPECT_EQ(tasks[tid].tgid, ::getpid());
    EXPECT_EQ(tasks[tid].comm, thread_comm(tid));
  }
  // kthreadd, the parent of kernel threads, is task 2 everywhere.
  ASSERT_TRUE(tasks.count(2));
  EXPECT_EQ(tasks[2].tgid, 2);
  EXPECT_EQ(tasks[2].comm, "kthreadd");
}

TEST_F(IterTest, StreamingReaderGivesTheSameOutputInSmallReads) {
  waiting_threads threads(1);
  ebpf::link link = object_->program("dump_task").attach_iter();
  ebpf::iter_reader reader(link);
  std::string text;
  std::array<std::byte, 7> chunk{};
  std::size_t reads = 0;
  while (std::size_t n = reader.read(chunk)) {
    ASSERT_LE(n, chunk.size());
    text.append(reinterpret_cast<const char*>(chunk.data()), n);
    ++reads;
  }
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.read(chunk), 0u);  // stays at the end
  EXPECT_GT(reads, text.size() / 7);
  auto tasks = parse_tasks(text);
  for (int tid : threads.tids()) EXPECT_TRUE(tasks.count(tid)) << tid;
  EXPECT_TRUE(tasks.count(gettid_()));

  // A session holds the iterator: it still runs after the link is gone; a new one cannot start.
  ebpf::iter_reader second(link);
  link = ebpf::link();
  auto again = parse_tasks(second.read_all());
  EXPECT_TRUE(again.count(gettid_()));
  EXPECT_THROW(ebpf::iter_reader{link}, ebpf::error);
}

TEST_F(IterTest, TaskIteratorRestrictedToOneProcessOrThread) {
  waiting_threads threads(3);
  std::set<int> ours = threads.tids();
  ours.insert(gettid_());
  {
    ebpf::link link = object_->program("dump_task").attach_iter(for_pid(::getpid()));
    auto tasks = parse_tasks(ebpf::read_iter(link));
    std::set<int> printed;
    for (const auto& [tid, line] : tasks) {
      printed.insert(tid);
      EXPECT_EQ(line.tgid, ::getpid());
    }
    EXPECT_EQ(printed, ours);
  }
  {
    int one = *threads.tids().begin();
    ebpf::link link = object_->program("dump_task").attach_iter(for_tid(one));
    auto tasks = parse_tasks(ebpf::read_iter(link));
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks.begin()->first, one);
    EXPECT_EQ(tasks.begin()->second.comm, thread_comm(one));
  }
  {
    // Another process, by pid.
    pid_t child = fork_child([] {
      ::pause();
      return 0;
    });
    ebpf::link link = object_->program("dump_task").attach_iter(for_pid(child));
    auto tasks = parse_tasks(ebpf::read_iter(link));
    ::kill(child, SIGKILL);
    wait_child(child);
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks.begin()->first, child);
    EXPECT_EQ(tasks.begin()->second.tgid, child);
  }
  ebpf::iter_options both = for_tid(1);
  both.pid = 1;
  EXPECT_THROW(object_->program("dump_task").attach_iter(both), ebpf::error);
}

TEST_F(IterTest, MapElementIteratorDumpsTheMapExactly) {
  auto& map = object_->map("iter_input");
  std::map<std::uint32_t, std::uint64_t> expected;
  for (std::uint32_t key = 0; key < 300; key += 3) {
    std::uint64_t value = 0x100000000ull * key + 7 * key + 1;
    map.update(std::as_bytes(std::span(&key, 1)), std::as_bytes(std::span(&value, 1)));
    expected[key] = value;
  }
  ebpf::iter_options options;
  options.map_fd = map.fd();
  ebpf::link link = object_->program("dump_map").attach_iter(options);
  std::map<std::uint32_t, std::uint64_t> dumped;
  std::istringstream in(ebpf::read_iter(link));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::uint32_t key = 0;
    std::uint64_t value = 0;
    ASSERT_TRUE(fields >> key >> value) << line;
    EXPECT_TRUE(dumped.emplace(key, value).second) << "key " << key << " twice";
  }
  EXPECT_EQ(dumped, expected);

  // The map iterator needs its map: the kernel refuses a link without one.
  try {
    object_->program("dump_map").attach_iter();
    FAIL() << "attached a map element iterator without a map";
  } catch (const ebpf::error& e) {
    EXPECT_NE(std::string(e.what()).find("attach iterator 'bpf_map_elem'"), std::string::npos) << e.what();
  }
}

// ---- struct_ops --------------------------------------------------------------------------

constexpr const char* available_cc = "/proc/sys/net/ipv4/tcp_available_congestion_control";

bool cc_available(const std::string& name) {
  std::istringstream in(read_text(available_cc));
  std::string word;
  while (in >> word)
    if (word == name) return true;
  return false;
}

// Waits up to a second for the congestion control list to show (or not show) `name`.
bool wait_cc(const std::string& name, bool present) {
  for (int i = 0; i < 100; ++i) {
    if (cc_available(name) == present) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// In a child in its own network namespace: a loopback TCP connection whose both ends use
// congestion control `cc`, `bytes` sent through it. Exit codes: 0 done, 2 the kernel does not
// know `cc` (setsockopt ENOENT), 3.. other failures.
int transfer_with(const std::string& cc, std::size_t bytes) {
  return kernel_test::wait_child(kernel_test::fork_child([cc, bytes]() -> int {
    if (::unshare(CLONE_NEWNET) != 0) return 3;
    int control = ::socket(AF_INET, SOCK_DGRAM, 0);
    ifreq lo{};
    std::strcpy(lo.ifr_name, "lo");
    if (::ioctl(control, SIOCGIFFLAGS, &lo) != 0) return 4;
    lo.ifr_flags |= IFF_UP;
    if (::ioctl(control, SIOCSIFFLAGS, &lo) != 0) return 4;
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int client = ::socket(AF_INET, SOCK_STREAM, 0);
    for (int fd : {listener, client})
      if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc.c_str(), static_cast<socklen_t>(cc.size())) != 0)
        return errno == ENOENT ? 2 : 5;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      return 6;
    if (::connect(client, reinterpret_cast<sockaddr*>(&address), length) != 0) return 7;
    int server = ::accept(listener, nullptr, nullptr);
    if (server < 0) return 8;
    char used[16] = {};
    socklen_t used_length = sizeof used;
    if (::getsockopt(server, IPPROTO_TCP, TCP_CONGESTION, used, &used_length) != 0 || cc != used) return 9;
    std::atomic<std::size_t> received{0};
    std::thread reader([&] {
      std::vector<char> buffer(1 << 16);
      while (received < bytes) {
        ssize_t n = ::read(server, buffer.data(), buffer.size());
        if (n <= 0) break;
        received += static_cast<std::size_t>(n);
      }
    });
    std::vector<char> data(1 << 16, 'x');
    for (std::size_t sent = 0; sent < bytes;) {
      ssize_t n = ::write(client, data.data(), std::min(data.size(), bytes - sent));
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
    reader.join();
    ::close(server);
    ::close(client);
    ::close(listener);
    return received == bytes ? 0 : 10;
  }));
}

// Kernel major.minor as a number (6.18 -> 618).
int kernel_version() {
  struct utsname name;
  ::uname(&name);
  int major = 0, minor = 0;
  std::sscanf(name.release, "%d.%d", &major, &minor);
  return major * 100 + minor;
}

// Whether SEC(".struct_ops.link") maps get a struct_ops bpf_link: 6.4 (68b04864ca42 "bpf: Create
// links for BPF struct_ops maps."). Older kernels register them by their value instead. The
// probe must agree with the version, so that no test skips on a kernel that has links.
bool struct_ops_links() {
  const bool supported = ebpf::probe_feature(ebpf::kernel_feature::struct_ops_link).supported();
  EXPECT_EQ(supported, kernel_version() >= 604) << "struct_ops_link probe";
  return supported;
}

constexpr const char* no_struct_ops_links = "struct_ops links (BPF_F_LINK maps, BPF_LINK_UPDATE) need kernel 6.4";

class StructOpsTest : public kernel_test {
 protected:
  void SetUp() override {
    kernel_test::SetUp();
    if (IsSkipped()) return;
    object_ = std::make_unique<ebpf::object>(ebpf::object::open(bpf_object("struct_ops")));
    object_->load();
  }
  void TearDown() override {
    object_.reset();
    kernel_test::TearDown();
  }
  std::uint64_t counter(const char* name) { return object_->global<std::uint64_t>(name); }
  std::unique_ptr<ebpf::object> object_;
};

TEST_F(StructOpsTest, LoaderMakesOneMapPerVariableAndSkipsUnusedPrograms) {
  const auto* spec = object_->spec().find_map("test_cc");
  ASSERT_TRUE(spec && spec->struct_ops);
  EXPECT_EQ(spec->type, ebpf::map_type::struct_ops);
  EXPECT_TRUE(spec->struct_ops->link);
  EXPECT_EQ(spec->struct_ops->type_name, "tcp_congestion_ops");
  EXPECT_FALSE(object_->spec().find_map("test_cc_legacy")->struct_ops->link);
  auto info = object_->map("test_cc").info();
  EXPECT_EQ(info.type, ebpf::map_type::struct_ops);
  EXPECT_EQ(info.key_size, 4u);
  EXPECT_GT(info.value_size, spec->value_size);  // the kernel's bpf_struct_ops_tcp_congestion_ops
  // BPF_F_LINK where the kernel has struct_ops links (6.4), a plain struct_ops map before.
  EXPECT_EQ(object_->map("test_cc").flags() & (1u << 13), struct_ops_links() ? 1u << 13 : 0u);
  EXPECT_EQ(object_->map("test_cc_legacy").flags() & (1u << 13), 0u);
  EXPECT_EQ(object_->program("cc_cong_avoid").type(), ebpf::program_type::struct_ops);
  EXPECT_THROW(object_->program("cc_unused"), ebpf::error);
  try {
    object_->program("cc_init").attach();
    FAIL() << "a struct_ops program attached on its own";
  } catch (const ebpf::error& e) {
    EXPECT_NE(std::string(e.what()).find("object::attach_struct_ops"), std::string::npos) << e.what();
  }
  try {
    object_->attach_struct_ops("no_such_ops");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_NE(std::string(e.what()).find("struct_ops 'no_such_ops'"), std::string::npos) << e.what();
  }
}

TEST_F(StructOpsTest, LinkRegistersACongestionControlThatSocketsUse) {
  ASSERT_FALSE(cc_available("ebpfpp_test_cc"));
  EXPECT_EQ(transfer_with("ebpfpp_test_cc", 1 << 16), 2);  // unknown before registration
  {
    ebpf::link link = object_->attach_struct_ops("test_cc");
    if (struct_ops_links()) {
      EXPECT_TRUE(link.is_kernel_link());
      EXPECT_EQ(link.info().type, ebpf::link_type::struct_ops);
    } else {
      // Before 6.4 the loader created the map without BPF_F_LINK: registered by its value, the
      // registration still unregisters when destroyed (checked below).
      EXPECT_FALSE(link.is_kernel_link());
      EXPECT_EQ(link.kind(), "struct_ops map (update_elem)");
    }
    EXPECT_TRUE(cc_available("ebpfpp_test_cc"));
    // A second registration of the same name is refused while the first lives.
    EXPECT_THROW(object_->attach_struct_ops("test_cc_v2"), ebpf::error);

    ASSERT_EQ(transfer_with("ebpfpp_test_cc", 8 << 20), 0);
    EXPECT_GE(counter("init_calls"), 2u);  // both ends of the connection
    EXPECT_GT(counter("cong_avoid_calls"), 0u);
  }
  EXPECT_TRUE(wait_cc("ebpfpp_test_cc", false)) << "still registered after the link was destroyed";
  const auto init_calls = counter("init_calls");
  EXPECT_EQ(transfer_with("ebpfpp_test_cc", 1 << 16), 2);
  ASSERT_EQ(transfer_with("reno", 1 << 20), 0);
  EXPECT_EQ(counter("init_calls"), init_calls);
}

TEST_F(StructOpsTest, LinkUpdateSwapsTheMap) {
  ebpf::link link = object_->attach_struct_ops("test_cc");
  if (!struct_ops_links()) {
    // What a link could do and this registration cannot fails naming the version; the
    // registration itself works and unregisters.
    EXPECT_TRUE(cc_available("ebpfpp_test_cc"));
    try {
      object_->update_struct_ops(link, "test_cc_v2");
      ADD_FAILURE() << "swapped a struct_ops map without struct_ops links";
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::unsupported);
      EXPECT_NE(std::string(e.what()).find("kernel 6.4"), std::string::npos) << e.what();
    }
    try {
      link.pin("/sys/fs/bpf/ebpfpp_struct_ops_test_link");
      ADD_FAILURE() << "pinned a struct_ops registration without struct_ops links";
    } catch (const ebpf::error& e) {
      EXPECT_EQ(e.code(), ebpf::errc::unsupported);
      EXPECT_NE(std::string(e.what()).find("kernel 6.4"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(cc_available("ebpfpp_test_cc")) << "a refused swap left it registered";
    link.detach();
    EXPECT_TRUE(wait_cc("ebpfpp_test_cc", false));
    GTEST_SKIP() << no_struct_ops_links << "; this is " << kernel_version() / 100 << "." << kernel_version() % 100;
  }
  object_->update_struct_ops(link, "test_cc_v2");
  EXPECT_TRUE(cc_available("ebpfpp_test_cc"));
  const auto init_calls = counter("init_calls");
  ASSERT_EQ(transfer_with("ebpfpp_test_cc", 1 << 20), 0);
  EXPECT_EQ(counter("init_calls"), init_calls);
  EXPECT_GE(counter("init_v2_calls"), 2u);
  // A plain .struct_ops map cannot go into a link.
  EXPECT_THROW(object_->update_struct_ops(link, "test_cc_legacy"), ebpf::error);
  link.detach();
  EXPECT_TRUE(wait_cc("ebpfpp_test_cc", false));
}

TEST_F(StructOpsTest, PlainStructOpsMapRegistersByItsValue) {
  ASSERT_FALSE(cc_available("ebpfpp_test_old"));
  {
    ebpf::link registration = object_->attach_struct_ops("test_cc_legacy");
    EXPECT_FALSE(registration.is_kernel_link());
    EXPECT_TRUE(cc_available("ebpfpp_test_old"));
    ASSERT_EQ(transfer_with("ebpfpp_test_old", 1 << 20), 0);
    EXPECT_GE(counter("init_calls"), 2u);
  }
  EXPECT_TRUE(wait_cc("ebpfpp_test_old", false));
  // The kernel does not register a map twice: reload the object for that.
  EXPECT_THROW(object_->attach_struct_ops("test_cc_legacy"), ebpf::error);
}

TEST_F(StructOpsTest, MembersWhoseProgramsWereNotLoadedAreNamed) {
  auto partial = ebpf::object::open(bpf_object("struct_ops"));
  ebpf::load_options options;
  options.only = {"cc_init"};  // test_cc and test_cc_legacy are created; their other members are not loaded
  partial.load(options);
  try {
    partial.attach_struct_ops("test_cc");
    FAIL() << "registered a struct_ops whose programs are missing";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::not_found);
    EXPECT_NE(std::string(e.what()).find("struct_ops 'test_cc': cannot register: not loaded: program 'cc_ssthresh' (member 'ssthresh')"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(cc_available("ebpfpp_test_cc"));
  // test_cc_v2 names none of the loaded programs: not created at all.
  EXPECT_THROW(partial.attach_struct_ops("test_cc_v2"), ebpf::error);
}

}  // namespace
