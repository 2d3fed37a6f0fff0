// lib/sys against the running kernel: one typed function per bpf command.
#include "fixture.hpp"

#include <ebpf/error.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <vector>

#include "sys/bpf.hpp"

namespace {

using namespace ebpf_test::insn;
namespace sys = ebpf::sys;

class sys_test : public ebpf_test::kernel_test {};

ebpf::unique_fd make_map(ebpf::map_type type, std::uint32_t key_size, std::uint32_t value_size,
                         std::uint32_t max_entries, std::uint32_t flags = 0,
                         std::string_view name = "test_map") {
  sys::map_create_options options;
  options.type = type;
  options.key_size = key_size;
  options.value_size = value_size;
  options.max_entries = max_entries;
  options.flags = flags;
  options.name = name;
  return sys::map_create(options, "map '" + std::string(name) + "'");
}

ebpf::unique_fd load_return(ebpf::program_type type, std::int32_t value, std::string_view name) {
  std::array<ebpf::instruction, 2> insns = {mov64_imm(r0, value), exit()};
  sys::prog_load_options options;
  options.type = type;
  options.instructions = insns;
  options.name = name;
  return sys::prog_load(options, "program '" + std::string(name) + "'");
}

std::string errno_message(int value) { return std::strerror(value); }

TEST_F(sys_test, MapCreateErrorsNameTheMapAndTheAction) {
  try {
    make_map(ebpf::map_type::hash, 0, 8, 1, 0, "events");  // a hash needs a key
    FAIL() << "expected an error";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), std::error_code(EINVAL, std::system_category()));
    EXPECT_EQ(std::string(e.what()), "map 'events': create: " + errno_message(EINVAL));
  }
}

TEST_F(sys_test, MapElementOperations) {
  auto map = make_map(ebpf::map_type::hash, 4, 8, 16);
  std::uint32_t key = 7;
  std::uint64_t value = 42, out = 0;
  EXPECT_FALSE(sys::map_lookup_elem(map.get(), &key, &out, 0, "m"));  // a miss does not throw
  sys::map_update_elem(map.get(), &key, &value, sys::update_noexist, "m");
  ASSERT_TRUE(sys::map_lookup_elem(map.get(), &key, &out, 0, "m"));
  EXPECT_EQ(out, 42u);

  try {
    sys::map_update_elem(map.get(), &key, &value, sys::update_noexist, "map 'm'");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), EEXIST);
    EXPECT_EQ(std::string(e.what()).rfind("map 'm': update: ", 0), 0u) << e.what();
  }

  std::uint32_t key2 = 9;
  sys::map_update_elem(map.get(), &key2, &value, sys::update_any, "m");
  std::vector<std::uint32_t> keys;
  std::uint32_t next = 0;
  const void* previous = nullptr;
  std::uint32_t current = 0;
  while (sys::map_get_next_key(map.get(), previous, &next, "m")) {
    keys.push_back(next);
    current = next;
    previous = &current;
  }
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::uint32_t>{7, 9}));

  EXPECT_TRUE(sys::map_delete_elem(map.get(), &key, "m"));
  EXPECT_FALSE(sys::map_delete_elem(map.get(), &key, "m"));
}

TEST_F(sys_test, BatchOperations) {
  auto map = make_map(ebpf::map_type::hash, 4, 8, 64);
  std::vector<std::uint32_t> keys(10);
  std::vector<std::uint64_t> values(10);
  for (std::uint32_t i = 0; i < 10; ++i) {
    keys[i] = i + 100;
    values[i] = i * 3;
  }
  EXPECT_EQ(sys::map_update_batch(map.get(), keys.data(), values.data(), 10, 0, "m"), 10u);

  std::vector<std::uint32_t> got_keys(64);
  std::vector<std::uint64_t> got_values(64);
  std::uint32_t token = 0;
  auto result = sys::map_lookup_batch(map.get(), nullptr, &token, got_keys.data(),
                                      got_values.data(), 64, 0, "m");
  EXPECT_TRUE(result.done);  // everything fit: the kernel reports the end at once
  ASSERT_EQ(result.count, 10u);
  for (std::uint32_t i = 0; i < result.count; ++i) {
    EXPECT_EQ(got_values[i], (got_keys[i] - 100) * 3);
  }

  EXPECT_EQ(sys::map_delete_batch(map.get(), keys.data(), 4, 0, "m"), 4u);
  result = sys::map_lookup_and_delete_batch(map.get(), nullptr, &token, got_keys.data(),
                                            got_values.data(), 64, 0, "m");
  EXPECT_EQ(result.count, 6u);
  std::uint32_t any = 0;
  EXPECT_FALSE(sys::map_get_next_key(map.get(), nullptr, &any, "m"));  // empty now
}

TEST_F(sys_test, QueuePopsInOrderAndReportsEmpty) {
  auto queue = make_map(ebpf::map_type::queue, 0, 4, 8);
  for (std::uint32_t v : {1u, 2u, 3u}) sys::map_update_elem(queue.get(), nullptr, &v, 0, "q");
  std::uint32_t out = 0;
  for (std::uint32_t expected : {1u, 2u, 3u}) {
    ASSERT_TRUE(sys::map_lookup_and_delete_elem(queue.get(), nullptr, &out, 0, "q"));
    EXPECT_EQ(out, expected);
  }
  EXPECT_FALSE(sys::map_lookup_and_delete_elem(queue.get(), nullptr, &out, 0, "q"));
}

TEST_F(sys_test, FrozenMapRefusesUpdates) {
  auto map = make_map(ebpf::map_type::array, 4, 4, 1);
  sys::map_freeze(map.get(), "map 'ro'");
  std::uint32_t key = 0, value = 1;
  try {
    sys::map_update_elem(map.get(), &key, &value, 0, "map 'ro'");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), EPERM);
  }
}

TEST_F(sys_test, PinAndGetGiveTheSameObject) {
  auto map = make_map(ebpf::map_type::array, 4, 4, 1);
  std::string path = bpffs() + "/pinned_map";
  sys::obj_pin(map.get(), path, "m");
  auto again = sys::obj_get(path, 0, "m");
  EXPECT_EQ(sys::map_get_info(again.get(), "m").id, sys::map_get_info(map.get(), "m").id);
  EXPECT_EQ(sys::bpf_fd_kind(again.get()), sys::fd_kind::map);

  try {
    sys::obj_get(bpffs() + "/missing", 0, "map 'x'");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("map 'x': open pinned '"), std::string::npos);
  }
}

TEST_F(sys_test, MapInfoReportsTheDefinition) {
  auto map = make_map(ebpf::map_type::lru_hash, 8, 16, 32, 0, "lru_map");
  auto info = sys::map_get_info(map.get(), "m");
  EXPECT_EQ(info.type, ebpf::map_type::lru_hash);
  EXPECT_EQ(info.key_size, 8u);
  EXPECT_EQ(info.value_size, 16u);
  EXPECT_EQ(info.max_entries, 32u);
  EXPECT_EQ(info.name, "lru_map");
  EXPECT_GT(info.id, 0u);
  auto by_id = sys::map_get_fd_by_id(info.id, sys::open_rdonly, "m");
  EXPECT_EQ(sys::map_get_info(by_id.get(), "m").id, info.id);
}

TEST_F(sys_test, ProgramEnumerationInfoAndXlated) {
  auto prog = load_return(ebpf::program_type::socket_filter, 2, "enum_me");
  auto info = sys::prog_get_info(prog.get(), "p");
  EXPECT_EQ(info.type, ebpf::program_type::socket_filter);
  EXPECT_EQ(info.name, "enum_me");
  EXPECT_EQ(info.xlated_prog_len, 2 * sizeof(ebpf::instruction));

  bool found = false;
  std::uint32_t id = 0;
  while (auto next = sys::prog_get_next_id(id)) {
    id = *next;
    if (id == info.id) found = true;
  }
  EXPECT_TRUE(found);

  auto by_id = sys::prog_get_fd_by_id(info.id, "p");
  EXPECT_EQ(sys::prog_get_info(by_id.get(), "p").tag, info.tag);
  auto xlated = sys::prog_get_xlated(prog.get(), "p");
  ASSERT_EQ(xlated.size(), 2u);
  EXPECT_EQ(xlated[0], mov64_imm(r0, 2));
  EXPECT_EQ(xlated[1], exit());
}

TEST_F(sys_test, ProgramInfoListsItsMaps) {
  auto map = make_map(ebpf::map_type::array, 4, 8, 1);
  std::vector<ebpf::instruction> insns = count_into(map.get());
  insns.push_back(mov64_imm(r0, 0));
  insns.push_back(exit());
  sys::prog_load_options options;
  options.type = ebpf::program_type::socket_filter;
  options.instructions = insns;
  auto prog = sys::prog_load(options, "p");
  auto info = sys::prog_get_info(prog.get(), "p");
  ASSERT_EQ(info.map_ids.size(), 1u);
  EXPECT_EQ(info.map_ids[0], sys::map_get_info(map.get(), "m").id);
}

TEST_F(sys_test, VmlinuxBtfIsEnumerable) {
  std::uint32_t id = 0;
  bool found = false;
  while (auto next = sys::btf_get_next_id(id)) {
    id = *next;
    auto fd = sys::btf_get_fd_by_id(id, "btf");
    auto info = sys::btf_get_info(fd.get(), "btf");
    if (info.name != "vmlinux") continue;
    found = true;
    EXPECT_TRUE(info.kernel_btf);
    std::vector<std::byte> data;
    sys::btf_get_info(fd.get(), "btf", &data);
    std::ifstream file("/sys/kernel/btf/vmlinux", std::ios::binary | std::ios::ate);
    ASSERT_TRUE(file) << "/sys/kernel/btf/vmlinux is missing";
    EXPECT_EQ(data.size(), static_cast<std::size_t>(file.tellg()));
    EXPECT_EQ(data.size(), info.btf_size);
  }
  EXPECT_TRUE(found) << "no BTF object named vmlinux";
}

// A BTF blob with one INT type "int": header, type section, string section.
std::vector<std::byte> tiny_btf(std::uint32_t bits) {
  std::vector<std::uint32_t> types = {1, 1u << 24 /* BTF_KIND_INT */, 4, bits};  // name "int"
  const char strings[] = "\0int";  // 5 bytes with the final NUL
  struct {
    std::uint16_t magic = 0xeb9f;
    std::uint8_t version = 1;
    std::uint8_t flags = 0;
    std::uint32_t hdr_len = 24;
    std::uint32_t type_off = 0;
    std::uint32_t type_len = 16;
    std::uint32_t str_off = 16;
    std::uint32_t str_len = 5;
  } header;
  static_assert(sizeof header == 24);
  std::vector<std::byte> blob(24 + 16 + 5);
  std::memcpy(blob.data(), &header, 24);
  std::memcpy(blob.data() + 24, types.data(), 16);
  std::memcpy(blob.data() + 40, strings, 5);
  return blob;
}

TEST_F(sys_test, BtfLoadAndRejection) {
  auto good = tiny_btf(32);
  auto fd = sys::btf_load(good, "object 'tiny'");
  auto info = sys::btf_get_info(fd.get(), "btf");
  EXPECT_EQ(info.btf_size, good.size());
  EXPECT_FALSE(info.kernel_btf);

  auto bad = tiny_btf(64);  // 64 bits in a 4-byte int
  try {
    sys::btf_load(bad, "object 'tiny'");
    FAIL();
  } catch (const ebpf::verifier_error& e) {
    EXPECT_EQ(e.code().value(), EINVAL);
    EXPECT_FALSE(e.log().empty());
    EXPECT_EQ(std::string(e.what()).rfind("object 'tiny': ", 0), 0u) << e.what();
  }
}

TEST_F(sys_test, FdsAreAboveTwoAndCloexecEvenWhenStdinIsClosed) {
  // With fd 0 free the kernel hands out 0; lib/sys must move it above 2.
  int saved_stdin = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved_stdin, 0);
  ::close(0);
  ebpf::unique_fd map;
  ebpf::unique_fd prog;
  try {
    map = make_map(ebpf::map_type::array, 4, 4, 1);
    prog = load_return(ebpf::program_type::socket_filter, 0, "low_fd");
  } catch (...) {
    ::dup2(saved_stdin, 0);
    ::close(saved_stdin);
    throw;
  }
  ::dup2(saved_stdin, 0);
  ::close(saved_stdin);
  EXPECT_GT(map.get(), 2);
  EXPECT_GT(prog.get(), 2);
  EXPECT_TRUE(is_cloexec(map.get()));
  EXPECT_TRUE(is_cloexec(prog.get()));
  auto perf = sys::perf_event_open_software(sys::perf_count_sw_cpu_clock, 1000000, 0, -1, "perf");
  EXPECT_GT(perf.get(), 2);
  EXPECT_TRUE(is_cloexec(perf.get()));
  EXPECT_EQ(sys::bpf_fd_kind(map.get()), sys::fd_kind::map);
  EXPECT_EQ(sys::bpf_fd_kind(prog.get()), sys::fd_kind::program);
  EXPECT_EQ(sys::bpf_fd_kind(perf.get()), sys::fd_kind::other);
}

TEST_F(sys_test, TestRunAndStats) {
  auto prog = load_return(ebpf::program_type::xdp, 2, "xdp_pass");
  std::vector<std::byte> packet(64, std::byte{0x5a});
  std::vector<std::byte> out(64 + 256);
  sys::test_run_options options;
  options.data_in = packet;
  options.data_out = out;
  options.repeat = 5;

  auto stats = sys::enable_stats();
  auto before = sys::prog_get_info(prog.get(), "p").run_cnt;
  auto result = sys::prog_test_run(prog.get(), options, "p");
  EXPECT_EQ(result.retval, 2u);  // XDP_PASS
  EXPECT_EQ(result.data_size_out, 64u);
  EXPECT_EQ(std::vector<std::byte>(out.begin(), out.begin() + 64), packet);
  EXPECT_GE(sys::prog_get_info(prog.get(), "p").run_cnt, before + 5);
}

TEST_F(sys_test, TestRunTruncatedOutputReportsTheFullSize) {
  auto prog = load_return(ebpf::program_type::xdp, 2, "xdp_pass");
  std::vector<std::byte> packet(64, std::byte{1});
  std::vector<std::byte> out(16);
  sys::test_run_options options;
  options.data_in = packet;
  options.data_out = out;
  auto result = sys::prog_test_run(prog.get(), options, "p");
  EXPECT_EQ(result.retval, 2u);
  EXPECT_EQ(result.data_size_out, 64u);  // more than fit
}

TEST_F(sys_test, MmapableArrayIsSharedWithLookups) {
  auto map = make_map(ebpf::map_type::array, 4, 8, 4, sys::map_mmapable);
  auto region = sys::mapped_region::map(map.get(), sys::page_size(),
                                        sys::mapped_region::prot_read | sys::mapped_region::prot_write,
                                        sys::mapped_region::map_shared, 0, "map 'mm'");
  ASSERT_TRUE(region);
  auto* values = static_cast<std::uint64_t*>(region.data());
  values[2] = 0x1122334455667788ull;
  std::uint32_t key = 2;
  std::uint64_t out = 0;
  ASSERT_TRUE(sys::map_lookup_elem(map.get(), &key, &out, 0, "m"));
  EXPECT_EQ(out, 0x1122334455667788ull);

  sys::mapped_region moved = std::move(region);
  EXPECT_FALSE(region);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_TRUE(moved);
}

TEST_F(sys_test, PossibleCpusCoversOnlineCpus) {
  EXPECT_GE(sys::possible_cpus(), static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN)));
}

TEST_F(sys_test, RawTracepointLinkInfo) {
  std::array<ebpf::instruction, 2> insns = {mov64_imm(r0, 0), exit()};
  sys::prog_load_options options;
  options.type = ebpf::program_type::raw_tracepoint;
  options.instructions = insns;
  auto prog = sys::prog_load(options, "p");
  auto link = sys::raw_tracepoint_open("sys_enter", prog.get(), 0, "p");
  auto info = sys::link_get_info(link.get(), "l");
  EXPECT_EQ(info.type, sys::link_type::raw_tracepoint);
  EXPECT_EQ(info.tp_name, "sys_enter");
  EXPECT_EQ(info.prog_id, sys::prog_get_info(prog.get(), "p").id);
  EXPECT_EQ(sys::bpf_fd_kind(link.get()), sys::fd_kind::link);

  bool found = false;
  std::uint32_t id = 0;
  while (auto next = sys::link_get_next_id(id)) {
    id = *next;
    found = found || id == info.id;
  }
  EXPECT_TRUE(found);
  auto by_id = sys::link_get_fd_by_id(info.id, "l");
  EXPECT_EQ(sys::link_get_info(by_id.get(), "l").id, info.id);

  try {
    sys::raw_tracepoint_open("no_such_tracepoint_xyz", prog.get(), 0, "program 'p'");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_EQ(std::string(e.what()).rfind("program 'p': open raw tracepoint 'no_such_tracepoint_xyz': ", 0), 0u)
        << e.what();
  }
}

TEST_F(sys_test, LinkCreateErrorsCarryTheSubject) {
  auto prog = load_return(ebpf::program_type::xdp, 2, "xdp_pass");
  sys::link_create_options options;
  options.prog_fd = prog.get();
  options.target = 0x7fffffff;  // no such interface
  options.type = ebpf::attach_type::xdp;
  try {
    sys::link_create(options, "program 'xdp_pass'");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("program 'xdp_pass': create link: ", 0), 0u) << e.what();
  }
}

TEST_F(sys_test, TracepointIdComesFromTracefs) {
  auto id = sys::tracepoint_id("syscalls", "sys_enter_getpid");
  EXPECT_GT(id, 0u);
  EXPECT_THROW(sys::tracepoint_id("syscalls", "../../x"), ebpf::error);
  try {
    sys::tracepoint_id("syscalls", "sys_enter_nothing_like_this");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
  }
}

}  // namespace
