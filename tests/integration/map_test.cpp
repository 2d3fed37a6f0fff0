// Integration tests of ebpf::map and the typed views against the running kernel (root).
//
// Every map type of 6.18 (1..33) is created and exercised as far as user space can go:
//   - full element operations: hash, array, percpu_hash, percpu_array, lru_hash,
//     lru_percpu_hash, lpm_trie, array_of_maps, hash_of_maps, queue, stack, bloom_filter,
//     devmap (ifindex of lo), devmap_hash, cpumap (queue size), sockmap and sockhash (a unix
//     socket; lookup gives its cookie), reuseport_sockarray (a listening TCP socket),
//     prog_array (a tiny socket filter), perf_event_array (a BPF_OUTPUT perf event),
//     cgroup_array (a cgroup fd), cgroup_storage and percpu_cgroup_storage (entries appear when
//     a tiny cgroup_skb program using them is attached to a child cgroup), sk_storage (socket
//     fd key), inode_storage (file fd key), task_storage (pidfd key), cgrp_storage (cgroup fd
//     key) with a BTF blob built here, arena (mmap, write, read back).
//   - create, info and the errors user space gets: stack_trace (entries only come from
//     bpf_get_stackid in a program: lookup misses, no keys), xskmap (needs a bound AF_XDP
//     socket: keys are the array indices, lookup from user space is EOPNOTSUPP), ringbuf and
//     user_ringbuf (no element operations; their readers are tested in ring_buffer tests),
//     struct_ops (needs vmlinux BTF value type: created; updating it needs struct_ops programs,
//     tested with the program loader).
#include <ebpf/btf.hpp>
#include <ebpf/map.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"
#include "kernel_features.hpp"
#include "sys/bpf.hpp"

namespace {

using ebpf::map;
using ebpf::map_create_spec;
using ebpf::map_type;

map_create_spec spec_of(map_type type, std::uint32_t key_size, std::uint32_t value_size,
                        std::uint32_t max_entries, std::uint32_t flags = 0) {
  map_create_spec spec;
  spec.name = "t_" + std::string(ebpf::to_string(type));
  spec.type = type;
  spec.key_size = key_size;
  spec.value_size = value_size;
  spec.max_entries = max_entries;
  spec.flags = flags;
  return spec;
}

map make(map_type type, std::uint32_t key_size, std::uint32_t value_size,
         std::uint32_t max_entries, std::uint32_t flags = 0) {
  return map::create(spec_of(type, key_size, value_size, max_entries, flags));
}

template <class T>
std::span<const std::byte> bytes(const T& value) {
  return std::as_bytes(std::span<const T, 1>(&value, 1));
}
template <class T>
std::span<std::byte> out_bytes(T& value) {
  return std::as_writable_bytes(std::span<T, 1>(&value, 1));
}

bool is_errno(const ebpf::error& e, int value) {
  return e.code() == std::error_code(value, std::system_category());
}

// Runs `fn`, expects an ebpf::error with this errno, returns its message.
template <class Fn>
std::string expect_errno(int value, Fn&& fn) {
  try {
    fn();
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(is_errno(e, value)) << "expected errno " << value << ", got: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected errno " << value << ", nothing was thrown";
  return {};
}

template <class Fn>
std::string expect_errc(ebpf::errc code, Fn&& fn) {
  try {
    fn();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::make_error_code(code)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected " << ebpf::make_error_code(code).message() << ", nothing thrown";
  return {};
}

// ---- a minimal BTF writer: int + struct pair { int a; int b; } -------------------------------

struct tiny_btf {
  static constexpr std::uint32_t int_id = 1;
  static constexpr std::uint32_t pair_id = 2;

  static std::vector<std::byte> build() {
    const char strings[] = "\0int\0pair\0a\0b";  // offsets: int 1, pair 5, a 10, b 12
    std::vector<std::uint32_t> types = {
        // [1] INT "int": name, info (kind 1), size 4, then encoding signed | 32 bits
        1, 1u << 24, 4, (1u << 24) | 32,
        // [2] STRUCT "pair": name, info (kind 4, vlen 2), size 8, members (name, type, bit offset)
        5, (4u << 24) | 2, 8, 10, int_id, 0, 12, int_id, 32,
    };
    std::uint32_t type_len = static_cast<std::uint32_t>(types.size() * 4);
    std::uint32_t str_len = sizeof strings;  // includes the final NUL
    std::vector<std::byte> out(24 + type_len + str_len);
    std::uint16_t magic = 0xeB9F;
    std::uint8_t version = 1, flags = 0;
    std::uint32_t header[] = {24, 0, type_len, type_len, str_len};
    std::memcpy(out.data(), &magic, 2);
    std::memcpy(out.data() + 2, &version, 1);
    std::memcpy(out.data() + 3, &flags, 1);
    std::memcpy(out.data() + 4, header, sizeof header);
    std::memcpy(out.data() + 24, types.data(), type_len);
    std::memcpy(out.data() + 24 + type_len, strings, str_len);
    return out;
  }

  static ebpf::unique_fd load() {
    auto blob = build();
    return ebpf::sys::btf_load(blob, "tiny BTF");
  }
};

struct pair_value {
  std::int32_t a;
  std::int32_t b;
};

// A local storage map (int key = an fd, value struct pair) described by tiny BTF.
map make_storage(map_type type, int btf_fd) {
  auto spec = spec_of(type, 4, sizeof(pair_value), 0, ebpf::map_flag::no_prealloc);
  spec.btf_fd = btf_fd;
  spec.btf_key_type_id = tiny_btf::int_id;
  spec.btf_value_type_id = tiny_btf::pair_id;
  return map::create(spec);
}

// ---- tiny programs --------------------------------------------------------------------------

// r0 = value; exit
ebpf::unique_fd load_return(ebpf::program_type type, std::int32_t value) {
  namespace insn = ebpf_test::insn;
  std::vector<ebpf::instruction> code = {insn::mov64_imm(insn::r0, value), insn::exit()};
  ebpf::sys::prog_load_options options;
  options.type = type;
  options.instructions = code;
  options.name = "ret";
  return ebpf::sys::prog_load(options, "program 'ret'");
}

// cgroup_skb: bpf_get_local_storage(&storage, 0); return 1. Attaching it to a cgroup creates the
// storage entry for that cgroup.
ebpf::unique_fd load_storage_user(int storage_fd) {
  namespace insn = ebpf_test::insn;
  constexpr std::int32_t helper_get_local_storage = 81;
  std::vector<ebpf::instruction> code;
  insn::ld_map_fd(code, insn::r1, storage_fd);
  code.push_back(insn::mov64_imm(insn::r2, 0));
  code.push_back(insn::call(helper_get_local_storage));
  code.push_back(insn::mov64_imm(insn::r0, 1));
  code.push_back(insn::exit());
  ebpf::sys::prog_load_options options;
  options.type = ebpf::program_type::cgroup_skb;
  options.instructions = code;
  options.name = "storage_user";
  return ebpf::sys::prog_load(options, "program 'storage_user'");
}

// ---- environment ----------------------------------------------------------------------------

std::uint64_t cgroup_id(const ebpf_test::child_cgroup& cgroup) {
  struct stat st {};
  if (::fstat(cgroup.fd.get(), &st) != 0) return 0;
  return st.st_ino;  // a cgroup2 directory's inode number is its cgroup id
}

std::uint64_t socket_cookie(int fd) {
  std::uint64_t cookie = 0;
  socklen_t length = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &length) != 0) return 0;
  return cookie;
}

std::uint32_t count_possible_cpus_independently() {
  std::ifstream in("/sys/devices/system/cpu/possible");
  std::string text;
  std::getline(in, text);
  std::uint32_t count = 0;
  std::stringstream ranges(text);
  std::string range;
  while (std::getline(ranges, range, ',')) {
    auto dash = range.find('-');
    if (dash == std::string::npos) {
      ++count;
    } else {
      count += static_cast<std::uint32_t>(std::stoul(range.substr(dash + 1)) -
                                          std::stoul(range.substr(0, dash)) + 1);
    }
  }
  return count;
}

class MapTest : public ebpf_test::kernel_test {};

// ---- free helpers ---------------------------------------------------------------------------

TEST(MapHelpers, Ipv4IsNetworkByteOrder) {
  EXPECT_EQ(ebpf::ipv4("10.0.0.7"), htonl(0x0a000007));
  EXPECT_EQ(ebpf::ipv4("255.255.255.255"), 0xffffffffu);
  EXPECT_EQ(ebpf::ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(ebpf::ipv4("192.168.1.20"), htonl(0xc0a80114));
  in_addr parsed{};
  ASSERT_EQ(::inet_pton(AF_INET, "172.16.254.3", &parsed), 1);
  EXPECT_EQ(ebpf::ipv4("172.16.254.3"), parsed.s_addr);
}

TEST(MapHelpers, Ipv4RejectsBadInput) {
  for (const char* bad : {"", "10.0.0", "10.0.0.7.1", "256.0.0.1", "10.0.0.-1", "a.b.c.d",
                          "10..0.1", " 10.0.0.1", "10.0.0.1 ", "010.0.0.1", "10.0.0.1x",
                          "1000.0.0.1", "10.0.0.99999999999"}) {
    std::string message = expect_errc(ebpf::errc::invalid_argument, [&] { ebpf::ipv4(bad); });
    EXPECT_NE(message.find("ipv4 '" + std::string(bad) + "'"), std::string::npos) << message;
  }
}

TEST(MapHelpers, PossibleCpusMatchesSysfs) {
  EXPECT_EQ(ebpf::possible_cpus(), count_possible_cpus_independently());
  EXPECT_GE(ebpf::possible_cpus(), 1u);
  // Cached and thread-safe: concurrent first calls agree.
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      if (ebpf::possible_cpus() != count_possible_cpus_independently()) ++mismatches;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// ---- map basics -----------------------------------------------------------------------------

TEST_F(MapTest, CreateReportsInfo) {
  auto spec = spec_of(map_type::hash, 4, 8, 64, ebpf::map_flag::no_prealloc);
  spec.name = "info_check";
  map m = map::create(spec);
  EXPECT_GT(m.fd(), 2);
  EXPECT_GT(m.id(), 0u);
  EXPECT_EQ(m.name(), "info_check");
  EXPECT_EQ(m.type(), map_type::hash);
  EXPECT_EQ(m.key_size(), 4u);
  EXPECT_EQ(m.value_size(), 8u);
  EXPECT_EQ(m.max_entries(), 64u);
  EXPECT_EQ(m.flags(), ebpf::map_flag::no_prealloc);
  EXPECT_EQ(m.value_buffer_size(), 8u);
  EXPECT_EQ(fcntl(m.fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST_F(MapTest, LongAndOddNamesAreSanitizedForTheKernel) {
  auto spec = spec_of(map_type::array, 4, 4, 1);
  spec.name = "my-very-long-map-name";
  map m = map::create(spec);
  EXPECT_EQ(m.name(), "my-very-long-map-name");  // kept whole for messages
  map again = map::from_id(m.id());
  EXPECT_EQ(again.name(), "my_very_long_ma");  // 15 characters, '-' replaced
}

TEST_F(MapTest, CreateErrorsNameTheMapAndHint) {
  std::string message = expect_errno(EINVAL, [] { make(map_type::lpm_trie, 8, 4, 16); });
  EXPECT_NE(message.find("map 't_lpm_trie': create"), std::string::npos) << message;
  EXPECT_NE(message.find("no_prealloc"), std::string::npos) << message;
  EXPECT_NE(message.find("key 8"), std::string::npos) << message;

  message = expect_errno(EINVAL, [] { make(map_type::ringbuf, 0, 0, 1000); });
  EXPECT_NE(message.find("power of two"), std::string::npos) << message;

  message = expect_errc(ebpf::errc::invalid_argument,
                        [] { make(map_type::array_of_maps, 4, 4, 4); });
  EXPECT_NE(message.find("needs an inner map"), std::string::npos) << message;
}

TEST_F(MapTest, FromFdFromIdAndDupShareTheMap) {
  map m = make(map_type::hash, 4, 4, 8);
  std::uint32_t key = 1, value = 11;
  m.update(bytes(key), bytes(value));

  map by_id = map::from_id(m.id());
  EXPECT_EQ(by_id.id(), m.id());
  EXPECT_EQ(by_id.type(), map_type::hash);
  EXPECT_EQ(by_id.name(), "t_hash");
  std::uint32_t out = 0;
  ASSERT_TRUE(by_id.lookup(bytes(key), out_bytes(out)));
  EXPECT_EQ(out, 11u);

  map by_fd = map::from_fd(ebpf::unique_fd(::fcntl(m.fd(), F_DUPFD_CLOEXEC, 3)));
  EXPECT_EQ(by_fd.id(), m.id());
  EXPECT_EQ(by_fd.key_size(), 4u);

  map copy = m.dup();
  EXPECT_NE(copy.fd(), m.fd());
  EXPECT_EQ(copy.id(), m.id());
  EXPECT_EQ(copy.name(), m.name());
}

TEST_F(MapTest, FromFdRejectsOtherObjects) {
  auto program = load_return(ebpf::program_type::socket_filter, 0);
  std::string message = expect_errc(ebpf::errc::invalid_argument, [&] {
    map::from_fd(ebpf::unique_fd(::fcntl(program.get(), F_DUPFD_CLOEXEC, 3)));
  });
  EXPECT_NE(message.find("is not a BPF map (it is a bpf-prog)"), std::string::npos) << message;
  expect_errno(ENOENT, [] { map::from_id(0xfffffff0u); });
}

TEST_F(MapTest, ByteLevelSizesAreChecked) {
  map m = make(map_type::hash, 4, 8, 8);
  std::uint64_t key8 = 1, value8 = 2;
  std::uint32_t key4 = 1, value4 = 2;
  std::string message =
      expect_errc(ebpf::errc::invalid_argument, [&] { m.update(bytes(key8), bytes(value8)); });
  EXPECT_NE(message.find("map 't_hash': update: key is 8 bytes, the map's key is 4 bytes"),
            std::string::npos)
      << message;
  message = expect_errc(ebpf::errc::invalid_argument, [&] { m.update(bytes(key4), bytes(value4)); });
  EXPECT_NE(message.find("value buffer is 4 bytes, the map's value is 8 bytes"), std::string::npos)
      << message;
  expect_errc(ebpf::errc::invalid_argument, [&] { m.lookup(bytes(key4), out_bytes(value4)); });
  expect_errc(ebpf::errc::invalid_argument, [&] { m.erase(bytes(key8)); });
  // An empty key on a keyed map is not "no key".
  expect_errc(ebpf::errc::invalid_argument, [&] { m.lookup({}, out_bytes(value8)); });
}

TEST_F(MapTest, EmptyMapOperationsFailWithEbadf) {
  map empty;
  std::uint32_t key = 0, value = 0;
  EXPECT_EQ(empty.fd(), -1);
  expect_errno(EBADF, [&] { empty.lookup({}, {}); });
  ebpf::hash_map<std::uint32_t, std::uint32_t> view;
  std::string message = expect_errno(EBADF, [&] { view.update(key, value); });
  EXPECT_NE(message.find("no map"), std::string::npos) << message;
}

// ---- hash -----------------------------------------------------------------------------------

TEST_F(MapTest, HashCrud) {
  ebpf::hash_map<std::uint32_t, std::uint64_t> h(make(map_type::hash, 4, 8, 4));
  EXPECT_FALSE(h.lookup(1).has_value());
  EXPECT_FALSE(h.contains(1));
  h.update(1, 100);
  h.update(2, 200);
  EXPECT_EQ(h.lookup(1), std::optional<std::uint64_t>(100));
  EXPECT_TRUE(h.contains(2));
  h.update(1, 101, ebpf::update_flags::exist);
  EXPECT_EQ(h.lookup(1), std::optional<std::uint64_t>(101));
  std::string message = expect_errno(EEXIST, [&] { h.update(1, 5, ebpf::update_flags::no_exist); });
  EXPECT_NE(message.find("map 't_hash': update"), std::string::npos) << message;
  expect_errno(ENOENT, [&] { h.update(9, 5, ebpf::update_flags::exist); });
  h.update(3, 300);
  h.update(4, 400);
  expect_errno(E2BIG, [&] { h.update(5, 500); });  // full
  EXPECT_TRUE(h.erase(4));
  EXPECT_FALSE(h.erase(4));
  EXPECT_EQ(h.lookup_and_delete(3), std::optional<std::uint64_t>(300));
  EXPECT_FALSE(h.lookup_and_delete(3).has_value());
  EXPECT_FALSE(h.contains(3));
}

TEST_F(MapTest, HashIterationVisitsEveryKeyOnce) {
  ebpf::hash_map<std::uint32_t, std::uint32_t> h(make(map_type::hash, 4, 4, 128));
  for (std::uint32_t i = 0; i < 100; ++i) h.update(i, i * 3);
  std::set<std::uint32_t> seen;
  for (std::uint32_t key : h.keys()) EXPECT_TRUE(seen.insert(key).second) << key;
  EXPECT_EQ(seen.size(), 100u);
  std::map<std::uint32_t, std::uint32_t> items;
  for (auto [key, value] : h.items()) items[key] = value;
  ASSERT_EQ(items.size(), 100u);
  for (auto [key, value] : items) EXPECT_EQ(value, key * 3);
  // Raw keys too.
  std::size_t raw = 0;
  for (std::span<const std::byte> key : h.raw().keys()) {
    EXPECT_EQ(key.size(), 4u);
    ++raw;
  }
  EXPECT_EQ(raw, 100u);
}

TEST_F(MapTest, HashIterationSurvivesDeletingTheCurrentKey) {
  ebpf::hash_map<std::uint32_t, std::uint32_t> h(make(map_type::hash, 4, 4, 256));
  for (std::uint32_t i = 0; i < 200; ++i) h.update(i, i);
  std::set<std::uint32_t> seen;
  for (std::uint32_t key : h.keys()) {
    EXPECT_TRUE(seen.insert(key).second) << "key " << key << " seen twice";
    EXPECT_TRUE(h.erase(key));
  }
  EXPECT_EQ(seen.size(), 200u);
  std::size_t left = 0;
  for (auto key : h.keys()) {
    (void)key;
    ++left;
  }
  EXPECT_EQ(left, 0u);
}

TEST_F(MapTest, HashIterationThatKeepsRestartingThrowsInsteadOfLooping) {
  // Someone else deletes the successor before we reach it, every time: the kernel restarts the
  // walk from the first key, so the walk would never end. It stops after max_entries visits.
  ebpf::hash_map<std::uint32_t, std::uint32_t> h(make(map_type::hash, 4, 4, 16));
  for (std::uint32_t i = 0; i < 16; ++i) h.update(i, i);
  ebpf::key_cursor cursor(h.raw());
  std::size_t visits = 0;
  std::string message = expect_errno(EAGAIN, [&] {
    std::uint32_t successor = 0, fresh = 1000;
    while (cursor.next()) {
      ++visits;
      // Delete the key the cursor will move to next and add another one (the map stays full):
      // the cursor's next get_next_key then asks about a key that is gone, and starts over.
      if (h.raw().get_next_key(cursor.key(), out_bytes(successor))) {
        h.erase(successor);
        h.update(fresh, fresh);
        ++fresh;
      }
    }
  });
  EXPECT_EQ(visits, 16u);
  EXPECT_NE(message.find("changed during the walk"), std::string::npos) << message;
}

TEST_F(MapTest, HashBatchOperations) {
  ebpf::hash_map<std::uint32_t, std::uint64_t> h(make(map_type::hash, 4, 8, 1024));
  std::vector<std::uint32_t> keys(500);
  std::vector<std::uint64_t> values(500);
  for (std::uint32_t i = 0; i < 500; ++i) {
    keys[i] = i;
    values[i] = std::uint64_t{i} << 20;
  }
  EXPECT_EQ(h.update_batch(std::span<const std::uint32_t>(keys), std::span<const std::uint64_t>(values)), 500u);

  auto all = h.lookup_batch(7);  // small chunks: many calls, buckets may need a bigger chunk
  ASSERT_EQ(all.size(), 500u);
  std::sort(all.begin(), all.end());
  for (std::uint32_t i = 0; i < 500; ++i) {
    EXPECT_EQ(all[i].first, i);
    EXPECT_EQ(all[i].second, std::uint64_t{i} << 20);
  }

  // Byte level: the last batch ends with ENOENT and entries at the same time.
  ebpf::batch_cursor cursor;
  std::vector<std::byte> key_buffer(4 * 64), value_buffer(8 * 64);
  std::size_t total = 0, calls = 0;
  while (!cursor.done()) {
    total += h.raw().lookup_batch(cursor, key_buffer, value_buffer);
    ASSERT_LT(++calls, 100u);
  }
  EXPECT_EQ(total, 500u);
  EXPECT_EQ(h.raw().lookup_batch(cursor, key_buffer, value_buffer), 0u);  // stays done
  cursor.reset();
  EXPECT_GT(h.raw().lookup_batch(cursor, key_buffer, value_buffer), 0u);

  // Delete the first 100 in one call; a missing key stops the kernel, which is reported as a count.
  EXPECT_EQ(h.erase_batch(std::span<const std::uint32_t>(keys.data(), 100)), 100u);
  std::vector<std::uint32_t> mixed = {100, 101, 5, 102};  // 5 is already gone
  EXPECT_EQ(h.erase_batch(std::span<const std::uint32_t>(mixed)), 2u);
  EXPECT_FALSE(h.contains(101));
  EXPECT_TRUE(h.contains(102));

  auto drained = h.lookup_and_delete_batch();
  EXPECT_EQ(drained.size(), 398u);
  EXPECT_TRUE(h.lookup_batch().empty());
  std::size_t left = 0;
  for (auto key : h.keys()) {
    (void)key;
    ++left;
  }
  EXPECT_EQ(left, 0u);

  // Mismatched spans are the caller's mistake.
  expect_errc(ebpf::errc::invalid_argument, [&] {
    h.update_batch(std::span<const std::uint32_t>(keys.data(), 2), std::span<const std::uint64_t>(values.data(), 3));
  });
  expect_errc(ebpf::errc::invalid_argument, [&] {
    ebpf::batch_cursor c;
    std::vector<std::byte> k(8), v(8);
    h.raw().lookup_batch(c, k, v);  // 2 keys but room for 1 value
  });
}

TEST_F(MapTest, HashBatchBucketLargerThanBatchIsReported) {
  // 4096 keys in 4096 buckets: some bucket holds two or more keys (a certainty for any hash
  // seed, by the birthday bound), and a one-entry batch cannot take a bucket apart.
  ebpf::hash_map<std::uint32_t, std::uint32_t> h(make(map_type::hash, 4, 4, 4096));
  for (std::uint32_t i = 0; i < 4096; ++i) h.update(i, i);
  ebpf::batch_cursor cursor;
  std::vector<std::byte> k(4), v(4);
  std::string message = expect_errno(ENOSPC, [&] {
    while (!cursor.done()) h.raw().lookup_batch(cursor, k, v);
  });
  EXPECT_NE(message.find("one hash bucket holds more entries than the batch has room for"),
            std::string::npos)
      << message;
  // The typed helper grows the batch instead, and gets everything.
  auto all = h.lookup_batch(1);
  EXPECT_EQ(all.size(), 4096u);
  std::set<std::uint32_t> keys;
  for (auto& [key, value] : all) {
    EXPECT_EQ(key, value);
    keys.insert(key);
  }
  EXPECT_EQ(keys.size(), 4096u);
}

TEST_F(MapTest, BatchOnMapTypesWithoutBatchSupportIsUnsupported) {
  map q = make(map_type::queue, 0, 4, 4);
  std::string message = expect_errc(ebpf::errc::unsupported, [&] {
    ebpf::batch_cursor c;
    q.lookup_batch(c, {}, {});
  });
  EXPECT_NE(message.find("map 't_queue': lookup batch: map type queue has no keys"), std::string::npos)
      << message;
  map devmap = make(map_type::devmap, 4, 4, 4);
  message = expect_errc(ebpf::errc::unsupported, [&] {
    ebpf::batch_cursor c;
    std::vector<std::byte> k(16), v(16);
    devmap.lookup_batch(c, k, v);
  });
  EXPECT_NE(message.find("map type devmap has no batch operations"), std::string::npos) << message;
  map array = make(map_type::array, 4, 4, 4);
  message = expect_errc(ebpf::errc::unsupported, [&] {
    std::uint32_t keys[2] = {0, 1};
    array.delete_batch(std::as_bytes(std::span(keys)));
  });
  EXPECT_NE(message.find("delete batch"), std::string::npos) << message;
}

TEST_F(MapTest, LruHashEvictsInsteadOfFailing) {
  ebpf::lru_hash_map<std::uint32_t, std::uint32_t> h(make(map_type::lru_hash, 4, 4, 64));
  for (std::uint32_t i = 0; i < 1000; ++i) h.update(i, i);  // never E2BIG
  std::size_t count = 0;
  for (auto [key, value] : h.items()) {
    EXPECT_EQ(key, value);
    ++count;
  }
  EXPECT_GT(count, 0u);
  EXPECT_LE(count, 64u);
  EXPECT_TRUE(h.contains(999));  // the newest entry survives
}

// ---- arrays ---------------------------------------------------------------------------------

TEST_F(MapTest, ArrayMap) {
  struct value_type {
    std::uint32_t a;
    std::uint16_t b;
    std::uint16_t c;
  };
  ebpf::array_map<value_type> a(make(map_type::array, 4, sizeof(value_type), 8));
  EXPECT_EQ(a.lookup(3).a, 0u);  // arrays start zeroed
  a.update(3, {7, 8, 9});
  auto v = a.lookup(3);
  EXPECT_EQ(v.a, 7u);
  EXPECT_EQ(v.b, 8u);
  EXPECT_EQ(v.c, 9u);
  std::string message = expect_errc(ebpf::errc::invalid_argument, [&] { a.lookup(8); });
  EXPECT_NE(message.find("index 8 is out of range (max_entries 8)"), std::string::npos) << message;
  expect_errc(ebpf::errc::invalid_argument, [&] { a.update(100, {}); });
  expect_errno(EEXIST, [&] { a.update(1, {}, ebpf::update_flags::no_exist); });
  expect_errno(EINVAL, [&] { a.raw().erase(bytes(std::uint32_t{1})); });  // arrays cannot delete
  std::uint32_t index = 0;
  for (auto [key, value] : a.items()) {
    EXPECT_EQ(key, index++);
    EXPECT_EQ(value.a, key == 3 ? 7u : 0u);
  }
  EXPECT_EQ(index, 8u);
  // Arrays support lookup batches (keyed by index).
  ebpf::batch_cursor cursor;
  std::vector<std::byte> keys(4 * 8), values(sizeof(value_type) * 8);
  EXPECT_EQ(a.raw().lookup_batch(cursor, keys, values), 8u);
}

TEST_F(MapTest, PerCpuArraySumsAcrossCpus) {
  std::uint32_t cpus = ebpf::possible_cpus();
  ebpf::per_cpu_array<std::uint64_t> counters(make(map_type::percpu_array, 4, 8, 4));
  EXPECT_EQ(counters.raw().value_buffer_size(), 8u * cpus);
  std::vector<std::uint64_t> per_cpu(cpus);
  std::iota(per_cpu.begin(), per_cpu.end(), 10);
  counters.update(1, std::span<const std::uint64_t>(per_cpu));
  EXPECT_EQ(counters.lookup(1), per_cpu);
  std::uint64_t expected = 0;
  for (auto v : per_cpu) expected += v;
  EXPECT_EQ(counters.sum(1), expected);
  counters.update(2, 5);  // every CPU
  EXPECT_EQ(counters.sum(2), 5u * cpus);
  EXPECT_EQ(counters.sum(0), 0u);
  std::vector<std::uint64_t> one_too_many(cpus + 1);
  std::string message = expect_errc(ebpf::errc::invalid_argument, [&] {
    counters.update(0, std::span<const std::uint64_t>(one_too_many));
  });
  EXPECT_NE(message.find(std::to_string(cpus + 1) + " values for " + std::to_string(cpus) +
                         " possible CPUs"),
            std::string::npos)
      << message;
}

TEST_F(MapTest, PerCpuValuesArePaddedToEightBytes) {
  // A 4-byte value occupies an 8-byte slot per CPU.
  std::uint32_t cpus = ebpf::possible_cpus();
  ebpf::per_cpu_array<std::uint32_t> a(make(map_type::percpu_array, 4, 4, 2));
  EXPECT_EQ(a.raw().value_buffer_size(), 8u * cpus);
  std::vector<std::uint32_t> values(cpus);
  for (std::uint32_t i = 0; i < cpus; ++i) values[i] = 1000 + i;
  a.update(0, std::span<const std::uint32_t>(values));
  EXPECT_EQ(a.lookup(0), values);
  std::vector<std::byte> raw(a.raw().value_buffer_size());
  ASSERT_TRUE(a.raw().lookup(bytes(std::uint32_t{0}), raw));
  for (std::uint32_t i = 0; i < cpus; ++i) {
    std::uint32_t slot;
    std::memcpy(&slot, raw.data() + 8 * i, 4);
    EXPECT_EQ(slot, 1000 + i);
  }
}

TEST_F(MapTest, PerCpuHashAndLruPerCpuHash) {
  std::uint32_t cpus = ebpf::possible_cpus();
  for (map_type type : {map_type::percpu_hash, map_type::lru_percpu_hash}) {
    SCOPED_TRACE(std::string(ebpf::to_string(type)));
    ebpf::per_cpu_hash<std::uint32_t, std::uint64_t> h(make(type, 4, 8, 16));
    EXPECT_FALSE(h.lookup(1).has_value());
    EXPECT_FALSE(h.sum(1).has_value());
    h.update(1, 3);
    EXPECT_EQ(h.sum(1), std::optional<std::uint64_t>(3u * cpus));
    std::vector<std::uint64_t> values(cpus, 0);
    values[0] = 40;
    values[cpus - 1] += 2;
    h.update(2, std::span<const std::uint64_t>(values));
    EXPECT_EQ(h.lookup(2), std::optional<std::vector<std::uint64_t>>(values));
    EXPECT_EQ(h.sum(2), std::optional<std::uint64_t>(42));
    std::set<std::uint32_t> keys;
    for (auto key : h.keys()) keys.insert(key);
    EXPECT_EQ(keys, (std::set<std::uint32_t>{1, 2}));
    std::size_t items = 0;
    for (auto& [key, per_cpu] : h.items()) {
      EXPECT_EQ(per_cpu.size(), cpus);
      ++items;
    }
    EXPECT_EQ(items, 2u);
    EXPECT_TRUE(h.erase(1));
    EXPECT_FALSE(h.contains(1));
    // Per-CPU hashes support batches too; values are per-CPU sized.
    ebpf::batch_cursor cursor;
    std::vector<std::byte> k(4 * 4), v(h.raw().value_buffer_size() * 4);
    EXPECT_EQ(h.raw().lookup_batch(cursor, k, v), 1u);
    EXPECT_TRUE(cursor.done());
  }
}

// ---- LPM trie -------------------------------------------------------------------------------

TEST_F(MapTest, LpmTrieFindsTheLongestPrefix) {
  using key = ebpf::lpm_key<4>;
  static_assert(sizeof(key) == 8);
  ebpf::lpm_trie<key, std::uint32_t> trie(
      make(map_type::lpm_trie, sizeof(key), 4, 16, ebpf::map_flag::no_prealloc));
  auto prefix = [](std::uint32_t bits, const char* address) {
    key k;
    k.prefix_len = bits;
    std::uint32_t a = ebpf::ipv4(address);
    std::memcpy(k.data, &a, 4);
    return k;
  };
  trie.update(prefix(8, "10.0.0.0"), 8);
  trie.update(prefix(16, "10.1.0.0"), 16);
  trie.update(prefix(24, "10.1.2.0"), 24);
  EXPECT_EQ(trie.lookup(prefix(32, "10.1.2.3")), std::optional<std::uint32_t>(24));
  EXPECT_EQ(trie.lookup(prefix(32, "10.1.3.3")), std::optional<std::uint32_t>(16));
  EXPECT_EQ(trie.lookup(prefix(32, "10.200.0.1")), std::optional<std::uint32_t>(8));
  EXPECT_FALSE(trie.lookup(prefix(32, "11.0.0.1")).has_value());
  EXPECT_TRUE(trie.erase(prefix(24, "10.1.2.0")));
  EXPECT_EQ(trie.lookup(prefix(32, "10.1.2.3")), std::optional<std::uint32_t>(16));
  std::size_t count = 0;
  for (auto [k, v] : trie.items()) {
    EXPECT_EQ(k.prefix_len, v);
    ++count;
  }
  EXPECT_EQ(count, 2u);
}

// ---- queue, stack, bloom --------------------------------------------------------------------

TEST_F(MapTest, QueueIsFifo) {
  ebpf::queue<std::uint32_t> q(make(map_type::queue, 0, 4, 3));
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_FALSE(q.peek().has_value());
  q.push(1);
  q.push(2);
  q.push(3);
  expect_errno(E2BIG, [&] { q.push(4); });
  q.push(4, ebpf::update_flags::exist);  // overwrite the oldest
  EXPECT_EQ(q.peek(), std::optional<std::uint32_t>(2));
  EXPECT_EQ(q.pop(), std::optional<std::uint32_t>(2));
  EXPECT_EQ(q.pop(), std::optional<std::uint32_t>(3));
  EXPECT_EQ(q.pop(), std::optional<std::uint32_t>(4));
  EXPECT_FALSE(q.pop().has_value());
  // No keys: iteration is a clear kernel error, not a crash.
  expect_errno(EINVAL, [&] {
    for (auto key : q.raw().keys()) (void)key;
  });
}

TEST_F(MapTest, StackIsLifo) {
  ebpf::stack<std::uint64_t> s(make(map_type::stack, 0, 8, 8));
  for (std::uint64_t i = 1; i <= 5; ++i) s.push(i * 10);
  EXPECT_EQ(s.peek(), std::optional<std::uint64_t>(50));
  for (std::uint64_t i = 5; i >= 1; --i) EXPECT_EQ(s.pop(), std::optional<std::uint64_t>(i * 10));
  EXPECT_FALSE(s.pop().has_value());
}

TEST_F(MapTest, BloomFilter) {
  auto spec = spec_of(map_type::bloom_filter, 0, 8, 1000);
  spec.map_extra = 3;  // hash functions
  ebpf::bloom_filter<std::uint64_t> bloom(map::create(spec));
  EXPECT_EQ(bloom.raw().info().map_extra, 3u);
  for (std::uint64_t i = 0; i < 100; ++i) bloom.push(i * 7919);
  for (std::uint64_t i = 0; i < 100; ++i) EXPECT_TRUE(bloom.contains(i * 7919));
  // 1000-entry filter holding 100 values: false positives are rare; most absent values miss.
  int misses = 0;
  for (std::uint64_t i = 0; i < 100; ++i) misses += bloom.contains(i * 7919 + 1) ? 0 : 1;
  EXPECT_GT(misses, 80);
}

// ---- map in map, prog array -----------------------------------------------------------------

TEST_F(MapTest, ArrayOfMapsAndHashOfMaps) {
  for (map_type outer_type : {map_type::array_of_maps, map_type::hash_of_maps}) {
    SCOPED_TRACE(std::string(ebpf::to_string(outer_type)));
    auto spec = spec_of(outer_type, 4, 4, 4);
    spec.inner_map = std::make_shared<map_create_spec>(spec_of(map_type::array, 4, 8, 2));
    ebpf::map_of_maps outer(map::create(spec));
    map inner = make(map_type::array, 4, 8, 2);
    ebpf::array_map<std::uint64_t>(inner).update(1, 77);

    EXPECT_FALSE(outer.lookup(std::uint32_t{2}).has_value());
    outer.set(std::uint32_t{2}, inner);
    EXPECT_EQ(outer.lookup(std::uint32_t{2}), std::optional<std::uint32_t>(inner.id()));
    auto opened = outer.get(std::uint32_t{2});
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(opened->id(), inner.id());
    EXPECT_EQ(ebpf::array_map<std::uint64_t>(std::move(*opened)).lookup(1), 77u);

    // An inner map of another shape is refused by the kernel.
    map wrong = make(map_type::hash, 4, 4, 2);
    expect_errno(EINVAL, [&] { outer.set(std::uint32_t{1}, wrong); });
    // Wrong key width is caught before the kernel.
    expect_errc(ebpf::errc::type_mismatch, [&] { outer.set(std::uint64_t{1}, inner); });

    EXPECT_TRUE(outer.erase(std::uint32_t{2}));
    EXPECT_FALSE(outer.lookup(std::uint32_t{2}).has_value());
  }
  // An inner map by fd works as well as a template spec.
  map inner = make(map_type::hash, 4, 4, 2);
  auto spec = spec_of(map_type::hash_of_maps, 8, 4, 4);
  spec.inner_map_fd = inner.fd();
  ebpf::map_of_maps outer(map::create(spec));
  outer.set(std::uint64_t{1} << 40, inner);
  EXPECT_EQ(outer.lookup(std::uint64_t{1} << 40), std::optional<std::uint32_t>(inner.id()));
}

TEST_F(MapTest, ProgArrayHoldsPrograms) {
  auto program = load_return(ebpf::program_type::socket_filter, 0);
  auto info = ebpf::sys::prog_get_info(program.get(), "program 'ret'");
  ebpf::prog_array jumps(make(map_type::prog_array, 4, 4, 4));
  EXPECT_FALSE(jumps.lookup(1).has_value());
  jumps.set(1, program.get());
  EXPECT_EQ(jumps.lookup(1), std::optional<std::uint32_t>(info.id));
  struct has_fd {
    int fd_;
    int fd() const { return fd_; }
  };
  jumps.set(2, has_fd{program.get()});
  EXPECT_EQ(jumps.lookup(2), std::optional<std::uint32_t>(info.id));
  EXPECT_TRUE(jumps.erase(1));
  EXPECT_FALSE(jumps.erase(1));
  expect_errc(ebpf::errc::invalid_argument, [&] { jumps.set(4, program.get()); });
  // A program of another type cannot join: the array is bound to socket_filter now.
  auto other = load_return(ebpf::program_type::xdp, 2);
  expect_errno(EINVAL, [&] { jumps.set(3, other.get()); });
}

// ---- type mismatch --------------------------------------------------------------------------

TEST_F(MapTest, TypedViewsCheckSizesAndTypes) {
  auto spec = spec_of(map_type::hash, 4, 1, 8);
  spec.name = "blocklist";
  spec.key_type_name = "__u32";
  spec.value_type_name = "__u8";
  map m = map::create(spec);
  std::string message = expect_errc(ebpf::errc::type_mismatch, [&] {
    ebpf::hash_map<std::uint64_t, std::uint8_t> wrong(m);
  });
  EXPECT_EQ(message, "map 'blocklist': key type is 8 bytes, the map's key is 4 bytes (BTF: __u32)");
  message = expect_errc(ebpf::errc::type_mismatch, [&] {
    ebpf::hash_map<std::uint32_t, std::uint32_t> wrong(m);
  });
  EXPECT_EQ(message, "map 'blocklist': value type is 4 bytes, the map's value is 1 bytes (BTF: __u8)");
  message = expect_errc(ebpf::errc::type_mismatch, [&] { ebpf::array_map<std::uint8_t> wrong(m); });
  EXPECT_EQ(message, "map 'blocklist': array_map needs a map of type array, this one is hash");
  message = expect_errc(ebpf::errc::type_mismatch,
                        [&] { ebpf::per_cpu_hash<std::uint32_t, std::uint8_t> wrong(m); });
  EXPECT_EQ(message,
            "map 'blocklist': per_cpu_hash needs a map of type percpu_hash or lru_percpu_hash, "
            "this one is hash");
  // Without BTF names, no parenthesis.
  map plain = make(map_type::array, 4, 8, 1);
  message = expect_errc(ebpf::errc::type_mismatch, [&] { ebpf::array_map<std::uint32_t> wrong(plain); });
  EXPECT_EQ(message, "map 't_array': value type is 4 bytes, the map's value is 8 bytes");
  // set_type_names is what the object loader uses; dup() keeps them.
  plain.set_type_names("int", "struct big");
  map copy = plain.dup();
  message = expect_errc(ebpf::errc::type_mismatch, [&] { ebpf::array_map<std::uint32_t> wrong(copy); });
  EXPECT_EQ(message, "map 't_array': value type is 4 bytes, the map's value is 8 bytes (BTF: struct big)");

  // The right view works on the borrowed map, and the map outlives it.
  {
    ebpf::hash_map<std::uint32_t, std::uint8_t> ok(m);
    ok.update(ebpf::ipv4("10.0.0.7"), 1);
  }
  std::uint8_t flag = 0;
  ASSERT_TRUE(m.lookup(bytes(ebpf::ipv4("10.0.0.7")), out_bytes(flag)));
  EXPECT_EQ(flag, 1);
}

TEST_F(MapTest, TypedViewsMoveWithTheirMap) {
  ebpf::hash_map<std::uint32_t, std::uint32_t> a(make(map_type::hash, 4, 4, 4));
  a.update(1, 2);
  int fd = a.fd();
  ebpf::hash_map<std::uint32_t, std::uint32_t> b(std::move(a));
  EXPECT_EQ(b.fd(), fd);
  EXPECT_EQ(b.lookup(1), std::optional<std::uint32_t>(2));
  EXPECT_EQ(a.fd(), -1);
  ebpf::hash_map<std::uint32_t, std::uint32_t> c;
  c = std::move(b);
  EXPECT_EQ(c.lookup(1), std::optional<std::uint32_t>(2));
  // A borrowed view moves its pointer, not the map.
  map m = make(map_type::hash, 4, 4, 4);
  ebpf::hash_map<std::uint32_t, std::uint32_t> borrowed(m);
  ebpf::hash_map<std::uint32_t, std::uint32_t> moved(std::move(borrowed));
  moved.update(5, 6);
  EXPECT_EQ(m.fd(), moved.fd());
}

// ---- pin, freeze, mmap ----------------------------------------------------------------------

TEST_F(MapTest, PinAndOpenPinned) {
  // A private bpffs mount of the fixture (unmounted at the end of the test).
  std::string path = bpffs() + "/counts";
  map m = make(map_type::hash, 4, 4, 4);
  ebpf::hash_map<std::uint32_t, std::uint32_t>(m).update(1, 42);
  m.pin(path);
  expect_errno(EEXIST, [&] { m.pin(path); });
  {
    map pinned = map::from_pin(path);
    EXPECT_EQ(pinned.id(), m.id());
    EXPECT_EQ(pinned.type(), map_type::hash);
    using view = ebpf::hash_map<std::uint32_t, std::uint32_t>;
    EXPECT_EQ(view(std::move(pinned)).lookup(1), std::optional<std::uint32_t>(42));
  }
  map other = make(map_type::hash, 4, 4, 4);
  std::string message = expect_errc(ebpf::errc::invalid_argument, [&] { other.unpin(path); });
  EXPECT_NE(message.find("the pin is map id"), std::string::npos) << message;
  m.unpin(path);
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  expect_errno(ENOENT, [&] { map::from_pin(path); });

  // A pinned program is not a map.
  auto program = load_return(ebpf::program_type::socket_filter, 0);
  std::string prog_path = bpffs() + "/prog";
  ebpf::sys::obj_pin(program.get(), prog_path, "program");
  message = expect_errc(ebpf::errc::invalid_argument, [&] { map::from_pin(prog_path); });
  EXPECT_NE(message.find("is not a BPF map (it is a bpf-prog)"), std::string::npos) << message;
  ::unlink(prog_path.c_str());
}

TEST_F(MapTest, PinOutsideBpffsSaysSo) {
  map m = make(map_type::array, 4, 4, 1);
  std::string message = expect_errc(ebpf::errc::invalid_argument,
                                    [&] { m.pin("/tmp/ebpfpp_not_bpffs_" + std::to_string(::getpid())); });
  EXPECT_NE(message.find("not on a BPF filesystem"), std::string::npos) << message;
}

TEST_F(MapTest, FreezeMakesTheMapReadOnlyForUserSpace) {
  ebpf::array_map<std::uint32_t> a(make(map_type::array, 4, 4, 2));
  a.update(0, 9);
  a.raw().freeze();
  std::string message = expect_errno(EPERM, [&] { a.update(0, 10); });
  EXPECT_EQ(message,
            "map 't_array': update: Operation not permitted (the map is frozen: user space can "
            "only read it)");
  EXPECT_EQ(a.lookup(0), 9u);
  // Freezing twice: the kernel refuses the write access a freeze needs (EPERM); before that
  // check moved ahead of the frozen check (6.1 still has the old order) it said EBUSY.
  try {
    a.raw().freeze();
    ADD_FAILURE() << "a second freeze must fail";
  } catch (const ebpf::error& e) {
    message = e.what();
    EXPECT_TRUE(is_errno(e, EPERM) || is_errno(e, EBUSY)) << message;
  }
  EXPECT_NE(message.find("the map is frozen"), std::string::npos) << message;
  // A map created read-only for user space says so too.
  map read_only = make(map_type::array, 4, 4, 1, ebpf::map_flag::rdonly);
  message = expect_errno(EPERM, [&] { read_only.update(bytes(std::uint32_t{0}), bytes(std::uint32_t{1})); });
  EXPECT_NE(message.find("this fd is read-only"), std::string::npos) << message;
}

TEST_F(MapTest, MmapableArray) {
  ebpf::array_map<std::uint64_t> a(make(map_type::array, 4, 8, 16, ebpf::map_flag::mmapable));
  auto region = a.mmap();
  ASSERT_TRUE(region);
  EXPECT_GE(region.size(), 16u * 8);
  EXPECT_EQ(region.size() % static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), 0u);
  std::uint64_t value = 0x1122334455667788;
  std::memcpy(region.data() + 8 * 5, &value, 8);
  EXPECT_EQ(a.lookup(5), value);
  a.update(6, 66);
  std::uint64_t seen;
  std::memcpy(&seen, region.data() + 8 * 6, 8);
  EXPECT_EQ(seen, 66u);
  // A writable mapping prevents freezing (kernel: EBUSY); once it is gone, freeze works and a
  // later writable mapping is refused while a read-only one still works.
  expect_errno(EBUSY, [&] { a.raw().freeze(); });
  ebpf::mapped_region moved = std::move(region);
  EXPECT_FALSE(region);
  moved = ebpf::mapped_region();
  a.raw().freeze();
  expect_errno(EPERM, [&] { a.mmap(true); });
  auto read_only = a.mmap(false);
  std::memcpy(&seen, read_only.data() + 8 * 5, 8);
  EXPECT_EQ(seen, value);
  // Non-mmapable maps are refused with a reason.
  map plain = make(map_type::array, 4, 8, 2);
  std::string message = expect_errc(ebpf::errc::invalid_argument, [&] { plain.mmap(); });
  EXPECT_NE(message.find("without mmapable"), std::string::npos) << message;
}

TEST_F(MapTest, ArenaMapsAndFaultsInPages) {
  auto spec = spec_of(map_type::arena, 0, 0, 4, ebpf::map_flag::mmapable);
  map arena;
  try {
    arena = map::create(spec);
  } catch (const ebpf::error& e) {
    if (is_errno(e, EINVAL) && !ebpf_test::kernel_has_enumerator("bpf_map_type", "BPF_MAP_TYPE_ARENA"))
      GTEST_SKIP() << "kernel " << ebpf_test::kernel_release() << " has no arena maps (6.9): " << e.what();
    throw;
  }
  auto region = arena.mmap();
  ASSERT_TRUE(region);
  std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(region.size(), 4 * page);
  // User space touching an arena page allocates it (no segv_on_fault).
  region.data()[page + 3] = std::byte{0x5a};
  EXPECT_EQ(region.data()[page + 3], std::byte{0x5a});
  EXPECT_EQ(region.data()[0], std::byte{0});
}

// ---- every other map type -------------------------------------------------------------------

TEST_F(MapTest, PerfEventArrayTakesPerfEventFds) {
  map m = make(map_type::perf_event_array, 4, 4, ebpf::possible_cpus());
  auto event = ebpf::sys::perf_event_open_software(ebpf::sys::perf_count_sw_bpf_output, 1, -1, 0,
                                                   "bpf output");
  std::uint32_t key = 0, fd = static_cast<std::uint32_t>(event.get());
  m.update(bytes(key), bytes(fd));
  EXPECT_TRUE(m.erase(bytes(key)));
  EXPECT_FALSE(m.erase(bytes(key)));
  // Keys are the indices, as for any array.
  std::size_t keys = 0;
  for (auto k : m.keys()) keys += k.size() == 4 ? 1 : 0;
  EXPECT_EQ(keys, ebpf::possible_cpus());
}

TEST_F(MapTest, CgroupArrayTakesCgroupFds) {
  const auto& cgroup = make_cgroup();
  map m = make(map_type::cgroup_array, 4, 4, 2);
  std::uint32_t key = 1, fd = static_cast<std::uint32_t>(cgroup.fd.get());
  m.update(bytes(key), bytes(fd));
  EXPECT_TRUE(m.erase(bytes(key)));
  EXPECT_FALSE(m.erase(bytes(key)));
}

TEST_F(MapTest, StackTraceMapHasNoEntriesWithoutPrograms) {
  // Entries come only from bpf_get_stackid() in a program; user space can look up, iterate and
  // delete them. Created empty: lookups miss and there are no keys.
  map m = make(map_type::stack_trace, 4, 8 * 16, 32);
  std::uint32_t key = 3;
  std::vector<std::byte> value(8 * 16);
  EXPECT_FALSE(m.lookup(bytes(key), value));
  EXPECT_FALSE(m.erase(bytes(key)));
  std::size_t keys = 0;
  for (auto k : m.keys()) keys += k.size();
  EXPECT_EQ(keys, 0u);
}

TEST_F(MapTest, DevmapAndDevmapHashHoldInterfaces) {
  const std::uint32_t loopback = 1;
  {
    map m = make(map_type::devmap, 4, 4, 4);
    std::uint32_t key = 2, out = 0;
    m.update(bytes(key), bytes(loopback));
    ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
    EXPECT_EQ(out, loopback);
    EXPECT_TRUE(m.erase(bytes(key)));
    EXPECT_FALSE(m.lookup(bytes(key), out_bytes(out)));
  }
  {
    map m = make(map_type::devmap_hash, 4, 4, 4);
    std::uint32_t key = 12345, out = 0;
    m.update(bytes(key), bytes(loopback));
    ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
    EXPECT_EQ(out, loopback);
    std::size_t keys = 0;
    for (auto k : m.keys()) {
      std::uint32_t value;
      std::memcpy(&value, k.data(), 4);
      EXPECT_EQ(value, key);
      ++keys;
    }
    EXPECT_EQ(keys, 1u);
    EXPECT_TRUE(m.erase(bytes(key)));
  }
}

TEST_F(MapTest, CpumapTakesQueueSizes) {
  map m = make(map_type::cpumap, 4, 4, ebpf::possible_cpus());
  std::uint32_t cpu = 0, qsize = 192, out = 0;
  m.update(bytes(cpu), bytes(qsize));
  ASSERT_TRUE(m.lookup(bytes(cpu), out_bytes(out)));
  EXPECT_EQ(out, 192u);
  EXPECT_TRUE(m.erase(bytes(cpu)));
}

TEST_F(MapTest, XskmapNeedsXdpSockets) {
  // Filling it needs a bound AF_XDP socket with a umem (tested with the XDP examples); here:
  // creation, the array-like keys, and the errors user space gets.
  map m = make(map_type::xskmap, 4, 4, 4);
  std::size_t keys = 0;
  for (auto k : m.keys()) keys += k.size() == 4 ? 1 : 0;
  EXPECT_EQ(keys, 4u);
  std::uint32_t key = 0, value = 0;
  expect_errno(EOPNOTSUPP, [&] { m.lookup(bytes(key), out_bytes(value)); });
  int not_xsk = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(not_xsk, 0);
  std::uint32_t fd = static_cast<std::uint32_t>(not_xsk);
  EXPECT_THROW(m.update(bytes(key), bytes(fd)), ebpf::error);
  ::close(not_xsk);
}

TEST_F(MapTest, SockmapAndSockhashHoldSockets) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  std::uint64_t cookie = socket_cookie(pair[0]);
  ASSERT_NE(cookie, 0u);
  for (map_type type : {map_type::sockmap, map_type::sockhash}) {
    SCOPED_TRACE(std::string(ebpf::to_string(type)));
    map m = make(type, 4, 8, 4);
    std::uint32_t key = 3;
    std::uint64_t fd = static_cast<std::uint64_t>(pair[0]), out = 0;
    m.update(bytes(key), bytes(fd));
    // Looking a socket up from user space gives its cookie (value_size 8).
    ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
    EXPECT_EQ(out, cookie);
    EXPECT_TRUE(m.erase(bytes(key)));
    EXPECT_FALSE(m.lookup(bytes(key), out_bytes(out)));
  }
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST_F(MapTest, ReuseportSockarrayHoldsListeningSockets) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  int one = 1;
  ASSERT_EQ(::setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(s, 4), 0);
  map m = make(map_type::reuseport_sockarray, 4, 8, 2);
  std::uint32_t key = 1;
  std::uint64_t fd = static_cast<std::uint64_t>(s), out = 0;
  m.update(bytes(key), bytes(fd));
  ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
  EXPECT_EQ(out, socket_cookie(s));
  EXPECT_TRUE(m.erase(bytes(key)));
  ::close(s);
}

struct cgroup_storage_key {
  std::uint64_t cgroup_inode_id;
  std::uint32_t attach_type;
  std::uint32_t padding;
};

TEST_F(MapTest, CgroupStorageEntriesAppearWhenAProgramIsAttached) {
  const auto& cgroup = make_cgroup();
  map storage = make(map_type::cgroup_storage, sizeof(cgroup_storage_key), 8, 0);
  cgroup_storage_key key{cgroup_id(cgroup), static_cast<std::uint32_t>(ebpf::attach_type::cgroup_inet_ingress), 0};
  std::uint64_t value = 0;
  EXPECT_FALSE(storage.lookup(bytes(key), out_bytes(value)));
  auto program = load_storage_user(storage.fd());
  ebpf::sys::prog_attach(cgroup.fd.get(), program.get(), ebpf::attach_type::cgroup_inet_ingress, 0, -1,
                         "storage_user");
  ASSERT_TRUE(storage.lookup(bytes(key), out_bytes(value)));
  EXPECT_EQ(value, 0u);
  value = 1234;
  storage.update(bytes(key), bytes(value));
  std::uint64_t out = 0;
  ASSERT_TRUE(storage.lookup(bytes(key), out_bytes(out)));
  EXPECT_EQ(out, 1234u);
  std::size_t keys = 0;
  for (auto k : storage.keys()) {
    cgroup_storage_key seen;
    std::memcpy(&seen, k.data(), sizeof seen);
    EXPECT_EQ(seen.cgroup_inode_id, cgroup_id(cgroup));
    ++keys;
  }
  EXPECT_EQ(keys, 1u);
  ebpf::sys::prog_detach(cgroup.fd.get(), program.get(), ebpf::attach_type::cgroup_inet_ingress,
                         "storage_user");
}

TEST_F(MapTest, PercpuCgroupStorage) {
  const auto& cgroup = make_cgroup();
  std::uint32_t cpus = ebpf::possible_cpus();
  map storage = make(map_type::percpu_cgroup_storage, sizeof(cgroup_storage_key), 4, 0);
  EXPECT_EQ(storage.value_buffer_size(), 8u * cpus);
  auto program = load_storage_user(storage.fd());
  ebpf::sys::prog_attach(cgroup.fd.get(), program.get(), ebpf::attach_type::cgroup_inet_egress, 0, -1,
                         "storage_user");
  cgroup_storage_key key{cgroup_id(cgroup), static_cast<std::uint32_t>(ebpf::attach_type::cgroup_inet_egress), 0};
  std::vector<std::byte> values(storage.value_buffer_size());
  for (std::uint32_t cpu = 0; cpu < cpus; ++cpu) {
    std::uint32_t v = 10 + cpu;
    std::memcpy(values.data() + 8 * cpu, &v, 4);
  }
  storage.update(bytes(key), values);
  std::vector<std::byte> out(storage.value_buffer_size());
  ASSERT_TRUE(storage.lookup(bytes(key), out));
  for (std::uint32_t cpu = 0; cpu < cpus; ++cpu) {
    std::uint32_t v;
    std::memcpy(&v, out.data() + 8 * cpu, 4);
    EXPECT_EQ(v, 10 + cpu);
  }
  ebpf::sys::prog_detach(cgroup.fd.get(), program.get(), ebpf::attach_type::cgroup_inet_egress,
                         "storage_user");
}

TEST_F(MapTest, LocalStorageMapsWithBtf) {
  auto btf = tiny_btf::load();
  pair_value value{3, 4}, out{};

  // sk_storage: the key is a socket fd.
  {
    map m = make_storage(map_type::sk_storage, btf.get());
    EXPECT_GT(m.info().btf_id, 0u);
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    std::int32_t key = s;
    EXPECT_FALSE(m.lookup(bytes(key), out_bytes(out)));
    m.update(bytes(key), bytes(value));
    ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
    EXPECT_EQ(out.a, 3);
    EXPECT_EQ(out.b, 4);
    EXPECT_TRUE(m.erase(bytes(key)));
    EXPECT_FALSE(m.lookup(bytes(key), out_bytes(out)));
    ::close(s);
  }
  // inode_storage: the key is an fd of the file (needs the BPF LSM, active here).
  {
    map m = make_storage(map_type::inode_storage, btf.get());
    auto file = ebpf::unique_fd::open("/proc/self/exe", O_RDONLY);
    std::int32_t key = file.get();
    m.update(bytes(key), bytes(value));
    ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
    EXPECT_EQ(out.b, 4);
    EXPECT_TRUE(m.erase(bytes(key)));
  }
  // task_storage: the key is a pidfd.
  {
    map m = make_storage(map_type::task_storage, btf.get());
    ebpf::unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    ASSERT_TRUE(pidfd);
    std::int32_t key = pidfd.get();
    m.update(bytes(key), bytes(value));
    ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
    EXPECT_EQ(out.a, 3);
    EXPECT_TRUE(m.erase(bytes(key)));
  }
  // Without BTF the kernel refuses, and the message says why.
  std::string message = expect_errno(EINVAL, [] {
    make(map_type::sk_storage, 4, 8, 0, ebpf::map_flag::no_prealloc);
  });
  EXPECT_NE(message.find("need BTF"), std::string::npos) << message;
  // cgrp_storage (6.2): the key is a cgroup fd. Last, because older kernels skip here.
  {
    const auto& cgroup = make_cgroup();
    map m;
    try {
      m = make_storage(map_type::cgrp_storage, btf.get());
    } catch (const ebpf::error& e) {
      if (is_errno(e, EINVAL) &&
          !ebpf_test::kernel_has_enumerator("bpf_map_type", "BPF_MAP_TYPE_CGRP_STORAGE"))
        GTEST_SKIP() << "sk, inode and task storage work; kernel " << ebpf_test::kernel_release()
                     << " has no cgrp_storage maps (6.2): " << e.what();
      throw;
    }
    std::int32_t key = cgroup.fd.get();
    m.update(bytes(key), bytes(value));
    ASSERT_TRUE(m.lookup(bytes(key), out_bytes(out)));
    EXPECT_EQ(out.a, 3);
    EXPECT_TRUE(m.erase(bytes(key)));
  }
}

TEST_F(MapTest, RingBuffersHaveNoElementOperations) {
  std::uint32_t size = 4 * static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
  for (map_type type : {map_type::ringbuf, map_type::user_ringbuf}) {
    SCOPED_TRACE(std::string(ebpf::to_string(type)));
    map m = make(type, 0, 0, size);
    EXPECT_EQ(m.type(), type);
    EXPECT_EQ(m.max_entries(), size);
    EXPECT_THROW(m.lookup({}, {}), ebpf::error);
    EXPECT_THROW(
        {
          for (auto k : m.keys()) (void)k;
        },
        ebpf::error);
  }
}

TEST_F(MapTest, StructOpsMapNeedsVmlinuxBtf) {
  // The value type is the kernel's struct bpf_struct_ops_tcp_congestion_ops; filling it needs
  // struct_ops programs (the object loader's tests do that). Here: create with both BTFs.
  std::ifstream in("/sys/kernel/btf/vmlinux", std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(raw.empty());
  auto vmlinux = ebpf::btf::parse(std::as_bytes(std::span(raw)));
  auto id = vmlinux.find("bpf_struct_ops_tcp_congestion_ops", ebpf::btf_kind::struct_);
  ASSERT_TRUE(id.has_value());
  auto btf = tiny_btf::load();
  auto spec = spec_of(map_type::struct_ops, 4, static_cast<std::uint32_t>(vmlinux.size_of(*id)), 1);
  spec.btf_fd = btf.get();
  spec.btf_vmlinux_value_type_id = *id;
  map m = map::create(spec);
  EXPECT_EQ(m.type(), map_type::struct_ops);
  EXPECT_EQ(m.info().btf_vmlinux_value_type_id, *id);
  // Without a BTF fd the kernel says EINVAL (KERNEL.md), and the message says what is missing.
  spec.btf_fd = -1;
  std::string message = expect_errno(EINVAL, [&] { map::create(spec); });
  EXPECT_NE(message.find("struct_ops maps need"), std::string::npos) << message;
}

TEST_F(MapTest, EveryMapTypeOfThisKernelCanBeCreated) {
  // One line per type 1..33 with the smallest valid shape: a guard that the table above stays
  // complete. Storage and struct_ops maps need BTF and are created in their own tests. Older
  // kernels (the QEMU stage's 6.1) stop earlier: the kernel's own enum bpf_map_type says which
  // of the 33 it has, and each of those must work.
  auto btf = tiny_btf::load();
  std::uint32_t page = static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
  const ebpf::btf& kernel = ebpf::kernel_btf();
  auto kernel_enum = kernel.find("bpf_map_type", ebpf::btf_kind::enum_);
  ASSERT_TRUE(kernel_enum.has_value()) << "enum bpf_map_type in the kernel's BTF";
  std::set<std::int64_t> kernel_types;
  for (const auto& e : kernel.enumerators(*kernel_enum))
    if (e.name.substr(0, 2) != "__") kernel_types.insert(e.value);
  std::vector<map> maps;
  std::size_t expected = 0;
  for (std::uint32_t t = 1; t <= 33; ++t) {
    auto type = static_cast<map_type>(t);
    SCOPED_TRACE(std::string(ebpf::to_string(type)));
    if (!kernel_types.count(t)) continue;
    if (type != map_type::struct_ops) ++expected;
    map_create_spec spec = spec_of(type, 4, 4, 4);
    switch (type) {
      case map_type::stack_trace: spec.value_size = 8; break;
      case map_type::lpm_trie: spec.key_size = 8; spec.flags = ebpf::map_flag::no_prealloc; break;
      case map_type::array_of_maps:
      case map_type::hash_of_maps:
        spec.inner_map = std::make_shared<map_create_spec>(spec_of(map_type::array, 4, 4, 1));
        break;
      case map_type::cgroup_storage:
      case map_type::percpu_cgroup_storage: spec.key_size = 8; spec.max_entries = 0; break;
      case map_type::queue:
      case map_type::stack: spec.key_size = 0; break;
      case map_type::bloom_filter: spec.key_size = 0; break;
      case map_type::ringbuf:
      case map_type::user_ringbuf: spec.key_size = 0; spec.value_size = 0; spec.max_entries = page; break;
      case map_type::arena:
        spec.key_size = 0; spec.value_size = 0; spec.flags = ebpf::map_flag::mmapable;
        break;
      case map_type::cpumap: spec.max_entries = 1; break;
      case map_type::sk_storage:
      case map_type::inode_storage:
      case map_type::task_storage:
      case map_type::cgrp_storage:
        spec.value_size = sizeof(pair_value); spec.max_entries = 0;
        spec.flags = ebpf::map_flag::no_prealloc; spec.btf_fd = btf.get();
        spec.btf_key_type_id = tiny_btf::int_id; spec.btf_value_type_id = tiny_btf::pair_id;
        break;
      case map_type::struct_ops: continue;  // StructOpsMapNeedsVmlinuxBtf
      default: break;
    }
    maps.push_back(map::create(spec));
    EXPECT_EQ(maps.back().type(), type);
    EXPECT_GT(maps.back().id(), 0u);
  }
  EXPECT_EQ(maps.size(), expected);
  // 6.1 has types 1..31 (user_ringbuf), 6.18 all 33.
  EXPECT_GE(maps.size(), 30u);
}

}  // namespace
