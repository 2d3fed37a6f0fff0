// Tests of lib/types.cpp: enum names and their reverse parsers. The names are also compared with
// libbpf's own in section_libbpf_oracle_test.cpp.

#include <ebpf/types.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using ebpf::attach_type;
using ebpf::map_type;
using ebpf::program_type;

TEST(Types, ProgramTypeNames) {
  EXPECT_EQ(ebpf::to_string(program_type::unspec), "unspec");
  EXPECT_EQ(ebpf::to_string(program_type::socket_filter), "socket_filter");
  EXPECT_EQ(ebpf::to_string(program_type::cgroup_skb), "cgroup_skb");
  EXPECT_EQ(ebpf::to_string(program_type::raw_tracepoint_writable), "raw_tracepoint_writable");
  EXPECT_EQ(ebpf::to_string(program_type::netfilter), "netfilter");
  EXPECT_EQ(ebpf::to_string(static_cast<program_type>(33)), "unknown");
  EXPECT_EQ(ebpf::to_string(static_cast<program_type>(0xffffffffu)), "unknown");
}

TEST(Types, MapTypeNames) {
  EXPECT_EQ(ebpf::to_string(map_type::hash), "hash");
  EXPECT_EQ(ebpf::to_string(map_type::cgroup_storage), "cgroup_storage");
  EXPECT_EQ(ebpf::to_string(map_type::ringbuf), "ringbuf");
  EXPECT_EQ(ebpf::to_string(map_type::arena), "arena");
  EXPECT_EQ(ebpf::to_string(static_cast<map_type>(34)), "unknown");
}

TEST(Types, AttachTypeNames) {
  EXPECT_EQ(ebpf::to_string(attach_type::cgroup_inet_ingress), "cgroup_inet_ingress");
  EXPECT_EQ(ebpf::to_string(attach_type::trace_fentry), "trace_fentry");
  EXPECT_EQ(ebpf::to_string(attach_type::modify_return), "modify_return");
  EXPECT_EQ(ebpf::to_string(attach_type::trace_uprobe_session), "trace_uprobe_session");
  EXPECT_EQ(ebpf::to_string(static_cast<attach_type>(58)), "unknown");
}

// Every named value parses back to itself, and the parsers know every named value (a stale `last`
// in lib/types.cpp would lose the newest enumerators).
template <typename Enum, typename Parse>
void expect_round_trip(Parse parse, std::string_view what) {
  std::uint32_t named = 0;
  for (std::uint32_t value = 0; value < 256; ++value) {
    const auto e = static_cast<Enum>(value);
    const std::string_view name = ebpf::to_string(e);
    if (name == "unknown") continue;
    ++named;
    const std::optional<Enum> parsed = parse(name);
    ASSERT_TRUE(parsed.has_value()) << what << " " << name;
    EXPECT_EQ(*parsed, e) << what << " " << name;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string_view::npos)
        << what << " " << name;
  }
  EXPECT_GT(named, 0u);
}

TEST(Types, NamesRoundTrip) {
  expect_round_trip<program_type>(ebpf::program_type_from_string, "program_type");
  expect_round_trip<map_type>(ebpf::map_type_from_string, "map_type");
  expect_round_trip<attach_type>(ebpf::attach_type_from_string, "attach_type");
}

TEST(Types, NamesAreDenseFromZero) {
  // The reverse parsers rely on it; the UAPI enums have no holes.
  auto count = [](auto zero) {
    using Enum = decltype(zero);
    std::uint32_t value = 0;
    while (ebpf::to_string(static_cast<Enum>(value)) != "unknown") ++value;
    for (std::uint32_t rest = value; rest < 256; ++rest)
      EXPECT_EQ(ebpf::to_string(static_cast<Enum>(rest)), "unknown") << rest;
    return value;
  };
  EXPECT_EQ(count(program_type{}), 33u);   // __MAX_BPF_PROG_TYPE on kernel 6.18
  EXPECT_EQ(count(map_type{}), 34u);       // __MAX_BPF_MAP_TYPE
  EXPECT_EQ(count(attach_type{}), 58u);    // __MAX_BPF_ATTACH_TYPE
}

TEST(Types, ParsersAcceptUapiSpellingAndAnyCase) {
  EXPECT_EQ(ebpf::program_type_from_string("BPF_PROG_TYPE_XDP"), program_type::xdp);
  EXPECT_EQ(ebpf::program_type_from_string("bpf_prog_type_kprobe"), program_type::kprobe);
  EXPECT_EQ(ebpf::program_type_from_string("Cgroup_SKB"), program_type::cgroup_skb);
  EXPECT_EQ(ebpf::map_type_from_string("BPF_MAP_TYPE_RINGBUF"), map_type::ringbuf);
  EXPECT_EQ(ebpf::map_type_from_string("LRU_HASH"), map_type::lru_hash);
  EXPECT_EQ(ebpf::attach_type_from_string("BPF_CGROUP_INET_INGRESS"), attach_type::cgroup_inet_ingress);
  EXPECT_EQ(ebpf::attach_type_from_string("BPF_XDP"), attach_type::xdp);
  EXPECT_EQ(ebpf::attach_type_from_string("trace_kprobe_multi"), attach_type::trace_kprobe_multi);
}

TEST(Types, ParsersRejectEverythingElse) {
  for (const std::string_view bad : {"", "unknown", "UNKNOWN", "BPF_PROG_TYPE_", "BPF_PROG_TYPE",
                                     "xdp ", " xdp", "xdp\n", "x", "BPF_MAP_TYPE_XDP", "prog_type_xdp",
                                     "BPF_PROG_TYPE_BPF_PROG_TYPE_XDP", "cgroup-skb"})
    EXPECT_FALSE(ebpf::program_type_from_string(bad).has_value()) << bad;
  EXPECT_FALSE(ebpf::map_type_from_string("BPF_PROG_TYPE_HASH").has_value());
  EXPECT_FALSE(ebpf::map_type_from_string("hashmap").has_value());
  EXPECT_FALSE(ebpf::attach_type_from_string("BPF_ATTACH_TYPE_XDP").has_value());
  EXPECT_FALSE(ebpf::attach_type_from_string("BPF_").has_value());
  EXPECT_FALSE(ebpf::attach_type_from_string(std::string(1 << 16, 'x')).has_value());
}

}  // namespace
