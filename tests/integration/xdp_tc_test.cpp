// XDP (netlink skb / native, link), tc clsact + cls_bpf, TCX ordering and netkit, on a veth pair
// in a network namespace of the test's own, with real frames: AF_PACKET frames of ethertype
// 0x88b5 sent out of veth0 arrive on veth1 (tests/bpf/xdp_tc.bpf.c counts only those).
//
// Each test unshares a new network namespace in SetUp and goes back to the original one in
// TearDown: the namespace, its veth pair and its qdiscs vanish with the last reference. IPv6 is
// off in it, so the kernel sends nothing of its own on the pair.
#include <ebpf/ebpf.hpp>
#include <ebpf/netdev.hpp>

#include "fixture.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <array>
#include <gtest/gtest.h>

namespace {

constexpr std::uint16_t test_ethertype = 0x88b5;
enum slot : std::uint32_t { xdp_pass = 0, xdp_drop = 1, tc_ingress = 2, tc_egress = 3, order_next = 4 };

// Options built field by field: g++ 12 warns (-Wmissing-field-initializers) about designated
// initializers that leave members out.
template <class Options, class Set>
Options with(Set&& set) {
  Options options;
  set(options);
  return options;
}

ebpf::xdp_options netlink_xdp(std::uint32_t flags, const ebpf::program* replace = nullptr) {
  return with<ebpf::xdp_options>([&](auto& o) {
    o.method = ebpf::xdp_attach_method::netlink;
    o.flags = flags;
    o.replace = replace;
  });
}

ebpf::tc_options tc_at(std::uint32_t handle, std::uint16_t priority) {
  return with<ebpf::tc_options>([&](auto& o) {
    o.handle = handle;
    o.priority = priority;
  });
}

class xdp_tc_test : public ebpf_test::kernel_test {
 protected:
  void SetUp() override {
    kernel_test::SetUp();
    if (IsSkipped()) return;
    original_netns_ = ebpf::unique_fd::open("/proc/self/ns/net", O_RDONLY);
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    // New interfaces copy "default": no IPv6, so no router solicitations or MLD on the pair.
    write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    ASSERT_EQ(std::system("ip link add veth0 type veth peer name veth1 && ip link set veth0 up && "
                          "ip link set veth1 up"),
              0);
    veth0_ = static_cast<int>(::if_nametoindex("veth0"));
    veth1_ = static_cast<int>(::if_nametoindex("veth1"));
    ASSERT_GT(veth0_, 0);
    ASSERT_GT(veth1_, 0);

    const std::string path = std::string(EBPFPP_TEST_BPF_DIR) + "/xdp_tc.bpf.o";
    object_.emplace(ebpf::object::open(path));
    object_->load();
    counters_.emplace(object_->map("counters"));
    order_.emplace(object_->map("order"));
  }

  void TearDown() override {
    counters_.reset();
    order_.reset();
    object_.reset();
    if (original_netns_) {
      EXPECT_EQ(::setns(original_netns_.get(), CLONE_NEWNET), 0) << std::strerror(errno);
      original_netns_.reset();
    }
    kernel_test::TearDown();
  }

  static void write_file(const char* path, const char* text) {
    FILE* file = std::fopen(path, "w");
    if (!file) return;
    std::fputs(text, file);
    std::fclose(file);
  }

  ebpf::program& prog(const char* name) { return object_->program(name); }
  std::uint64_t counter(slot which) const { return counters_->lookup(which); }

  // Sends `n` frames of the test ethertype out of `ifindex`.
  static void send_frames(int ifindex, int n) {
    ebpf::unique_fd sock(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(sock) << std::strerror(errno);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    std::array<unsigned char, 60> frame{};
    std::memset(frame.data(), 0xff, 6);
    const unsigned char source[6] = {0x02, 0, 0, 0, 0, 1};
    std::memcpy(frame.data() + 6, source, 6);
    frame[12] = test_ethertype >> 8;
    frame[13] = test_ethertype & 0xff;
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(::sendto(sock.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                         sizeof to),
                static_cast<ssize_t>(frame.size()))
          << std::strerror(errno);
    }
  }

  // A packet socket that sees the test frames arriving on `ifindex` (after XDP and tc ingress).
  static ebpf::unique_fd receiver(int ifindex) {
    ebpf::unique_fd sock(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(test_ethertype)));
    if (!sock) ebpf::throw_errno(errno, "test: packet socket");
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(test_ethertype);
    at.sll_ifindex = ifindex;
    if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) ebpf::throw_errno(errno, "test: bind");
    return sock;
  }

  // Frames that arrived on a receiver() socket within 200 ms of quiet.
  static int drain(const ebpf::unique_fd& sock) {
    int frames = 0;
    pollfd ready{sock.get(), POLLIN, 0};
    while (::poll(&ready, 1, 200) > 0) {
      char buffer[128];
      while (::recv(sock.get(), buffer, sizeof buffer, 0) > 0) ++frames;
    }
    return frames;
  }

  // Waits (up to a second) until counter `which` reaches `value`; returns its final value.
  std::uint64_t wait_counter(slot which, std::uint64_t value) const {
    for (int i = 0; i < 100 && counter(which) < value; ++i) ::usleep(10000);
    ::usleep(20000);  // and lets any surplus arrive, so an over-count is seen
    return counter(which);
  }

  static bool has_errno(const ebpf::error& e, int value) {
    return e.code().category() == std::system_category() && e.code().value() == value;
  }

  // Whether this kernel lacks TCX (6.6, "bpf: Add fd-based tcx multi-prog infra with link
  // support"; the feature probe links to ifindex 0xffffffff). Where it does, attach_tcx must
  // still fail the way a user can act on: EINVAL with the version in the message.
  bool tcx_missing() {
    if (ebpf::probe_feature(ebpf::kernel_feature::tcx_link).supported()) return false;
    try {
      prog("tcx_record_1").attach_tcx(veth1_, ebpf::tc_direction::ingress);
      ADD_FAILURE() << "attach_tcx succeeded where the tcx_link probe says there is no TCX";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, EINVAL)) << e.what();
      EXPECT_NE(std::string(e.what()).find("TCX needs kernel 6.6"), std::string::npos) << e.what();
    }
    return true;
  }

  static bool has_clsact(const char* dev) {
    std::string command = std::string("tc qdisc show dev ") + dev + " | grep -q clsact";
    return std::system(command.c_str()) == 0;
  }

  ebpf::unique_fd original_netns_;
  int veth0_ = 0;
  int veth1_ = 0;
  std::optional<ebpf::object> object_;
  std::optional<ebpf::array_map<std::uint64_t>> counters_;
  std::optional<ebpf::array_map<std::uint32_t>> order_;
};

// ---- XDP ------------------------------------------------------------------------------------

TEST_F(xdp_tc_test, XdpNetlinkSkbModeCountsAndReplaceSemantics) {
  auto& pass = prog("xdp_count_pass");
  auto& drop = prog("xdp_count_drop");
  auto seen = receiver(veth1_);
  {
    auto first = pass.attach_xdp("veth1", netlink_xdp(ebpf::xdp_flags::skb_mode));
    EXPECT_EQ(first.kind(), "xdp (netlink)");
    EXPECT_FALSE(first.is_kernel_link());
    auto attached = ebpf::query_xdp("veth1");
    EXPECT_EQ(attached.mode, ebpf::xdp_attach_mode::generic);
    EXPECT_EQ(attached.prog_id, pass.id());
    EXPECT_EQ(attached.generic_prog_id, pass.id());
    EXPECT_EQ(first.info().prog_id, pass.id());
    EXPECT_EQ(first.info().ifindex, static_cast<std::uint32_t>(veth1_));

    send_frames(veth0_, 5);
    EXPECT_EQ(wait_counter(xdp_pass, 5), 5u);
    EXPECT_EQ(drain(seen), 5);

    // update_if_noexist: a program is there, so the kernel refuses with EBUSY.
    try {
      drop.attach_xdp(veth1_, netlink_xdp(ebpf::xdp_flags::skb_mode | ebpf::xdp_flags::update_if_noexist));
      ADD_FAILURE() << "update_if_noexist replaced an attached program";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, EBUSY)) << e.what();
      EXPECT_NE(std::string(e.what()).find("attach XDP to ifindex"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("already attached"), std::string::npos) << e.what();
    }
    // replace with the wrong expected program: EEXIST, with the kernel's reason.
    try {
      drop.attach_xdp("veth1", netlink_xdp(ebpf::xdp_flags::skb_mode, &drop));
      ADD_FAILURE() << "replace of a program that is not attached succeeded";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, EEXIST)) << e.what();
      EXPECT_NE(std::string(e.what()).find("interface 'veth1' (netlink)"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("does not match expected"), std::string::npos) << e.what();
    }
    EXPECT_EQ(ebpf::query_xdp("veth1").prog_id, pass.id());

    // replace with the right one: the drop program takes over.
    auto second = drop.attach_xdp("veth1", netlink_xdp(ebpf::xdp_flags::skb_mode, &pass));
    EXPECT_EQ(ebpf::query_xdp("veth1").prog_id, drop.id());
    send_frames(veth0_, 4);
    EXPECT_EQ(wait_counter(xdp_drop, 4), 4u);
    EXPECT_EQ(drain(seen), 0);  // dropped before the stack
    EXPECT_EQ(counter(xdp_pass), 5u);

    // `first` no longer owns the hook: destroying it must leave `second`'s program alone.
    first = ebpf::link();
    EXPECT_EQ(ebpf::query_xdp("veth1").prog_id, drop.id());
  }
  // `second` is gone: nothing is attached and frames flow untouched.
  EXPECT_EQ(ebpf::query_xdp("veth1").mode, ebpf::xdp_attach_mode::none);
  send_frames(veth0_, 3);
  EXPECT_EQ(drain(seen), 3);
  EXPECT_EQ(counter(xdp_pass), 5u);
  EXPECT_EQ(counter(xdp_drop), 4u);
}

TEST_F(xdp_tc_test, XdpNetlinkDriverModeDropsOnVeth) {
  auto& drop = prog("xdp_count_drop");
  auto seen = receiver(veth1_);
  {
    auto link = drop.attach_xdp(veth1_, netlink_xdp(ebpf::xdp_flags::drv_mode));
    auto attached = ebpf::query_xdp(veth1_);
    EXPECT_EQ(attached.mode, ebpf::xdp_attach_mode::driver);
    EXPECT_EQ(attached.driver_prog_id, drop.id());
    send_frames(veth0_, 6);
    EXPECT_EQ(wait_counter(xdp_drop, 6), 6u);
    EXPECT_EQ(drain(seen), 0);
  }
  EXPECT_EQ(ebpf::query_xdp(veth1_).mode, ebpf::xdp_attach_mode::none);
  send_frames(veth0_, 2);
  EXPECT_EQ(drain(seen), 2);
  EXPECT_EQ(counter(xdp_drop), 6u);
}

TEST_F(xdp_tc_test, XdpLinkBlocksNetlinkAndLinkUpdateSwaps) {
  auto& pass = prog("xdp_count_pass");
  auto& drop = prog("xdp_count_drop");
  {
    auto link = pass.attach_xdp("veth1");  // default: a bpf_link, native on veth
    EXPECT_TRUE(link.is_kernel_link());
    EXPECT_EQ(link.info().type, ebpf::link_type::xdp);
    EXPECT_EQ(link.info().ifindex, static_cast<std::uint32_t>(veth1_));
    EXPECT_EQ(ebpf::query_xdp("veth1").prog_id, pass.id());
    try {
      drop.attach_xdp("veth1", netlink_xdp(ebpf::xdp_flags::none));
      ADD_FAILURE() << "netlink replaced an XDP link";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, EBUSY)) << e.what();
    }
    EXPECT_THROW(drop.attach_xdp("veth1", with<ebpf::xdp_options>([&](auto& o) { o.replace = &pass; })), ebpf::error);  // netlink-only option
    send_frames(veth0_, 2);
    EXPECT_EQ(wait_counter(xdp_pass, 2), 2u);
    link.update(drop);
    EXPECT_EQ(ebpf::query_xdp("veth1").prog_id, drop.id());
    send_frames(veth0_, 3);
    EXPECT_EQ(wait_counter(xdp_drop, 3), 3u);
  }
  EXPECT_EQ(ebpf::query_xdp("veth1").mode, ebpf::xdp_attach_mode::none);
  send_frames(veth0_, 3);
  ::usleep(100000);
  EXPECT_EQ(counter(xdp_pass), 2u);
  EXPECT_EQ(counter(xdp_drop), 3u);
}

TEST_F(xdp_tc_test, UnknownInterfaceIsNamed) {
  try {
    prog("xdp_count_pass").attach_xdp("nosuchdev0");
    ADD_FAILURE() << "attached to a missing interface";
  } catch (const ebpf::error& e) {
    EXPECT_TRUE(has_errno(e, ENODEV)) << e.what();
    EXPECT_NE(std::string(e.what()).find("interface 'nosuchdev0'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ebpf::query_xdp("nosuchdev0"), ebpf::error);
}

TEST_F(xdp_tc_test, AttachFromTheSectionNamesTheCallThatTakesAnInterface) {
  try {
    prog("xdp_count_pass").attach();
    ADD_FAILURE() << "attach() found an interface in SEC(\"xdp\")";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("attach_xdp(interface"), std::string::npos) << e.what();
  }
  try {
    prog("tcx_record_1").attach();
    ADD_FAILURE() << "attach() found an interface in SEC(\"tcx/ingress\")";
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("attach_tcx(interface, direction)"), std::string::npos) << e.what();
  }
}

// ---- tc: clsact + cls_bpf --------------------------------------------------------------------

TEST_F(xdp_tc_test, TcClsactCountsIngressAndEgressAndCleansUp) {
  auto& ingress = prog("tc_count_ingress");
  auto& egress = prog("tc_count_egress");
  ASSERT_FALSE(has_clsact("veth0"));
  ASSERT_FALSE(has_clsact("veth1"));
  {
    auto out = egress.attach_tc("veth0", ebpf::tc_direction::egress);
    auto in = ingress.attach_tc("veth1", ebpf::tc_direction::ingress, tc_at(7, 3));
    EXPECT_TRUE(has_clsact("veth0"));
    EXPECT_EQ(in.kind(), "tc filter (netlink)");
    EXPECT_EQ(in.info().prog_id, ingress.id());

    auto filters = ebpf::query_tc("veth1", ebpf::tc_direction::ingress);
    ASSERT_EQ(filters.size(), 1u);
    EXPECT_EQ(filters[0].kind, "bpf");
    EXPECT_EQ(filters[0].handle, 7u);
    EXPECT_EQ(filters[0].priority, 3u);
    EXPECT_EQ(filters[0].prog_id, ingress.id());
    EXPECT_TRUE(filters[0].direct_action);
    EXPECT_EQ(filters[0].name, "tc_count_ingres:[" + std::to_string(ingress.id()) + "]");
    EXPECT_TRUE(ebpf::query_tc("veth1", ebpf::tc_direction::egress).empty());
    auto egress_filters = ebpf::query_tc("veth0", ebpf::tc_direction::egress);
    ASSERT_EQ(egress_filters.size(), 1u);
    EXPECT_NE(egress_filters[0].handle, 0u);    // chosen by the kernel
    EXPECT_NE(egress_filters[0].priority, 0u);

    // The same handle and priority again: EEXIST.
    try {
      ingress.attach_tc("veth1", ebpf::tc_direction::ingress, tc_at(7, 3));
      ADD_FAILURE() << "a second filter took the same handle and priority";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, EEXIST)) << e.what();
    }

    send_frames(veth0_, 5);
    EXPECT_EQ(wait_counter(tc_egress, 5), 5u);
    EXPECT_EQ(wait_counter(tc_ingress, 5), 5u);
  }
  // Both filters are gone, and so are the qdiscs we created.
  EXPECT_TRUE(ebpf::query_tc("veth1", ebpf::tc_direction::ingress).empty());
  EXPECT_FALSE(has_clsact("veth0"));
  EXPECT_FALSE(has_clsact("veth1"));
  send_frames(veth0_, 4);
  ::usleep(100000);
  EXPECT_EQ(counter(tc_egress), 5u);
  EXPECT_EQ(counter(tc_ingress), 5u);
}

TEST_F(xdp_tc_test, TcKeepsAClsactQdiscItDidNotCreate) {
  ASSERT_EQ(std::system("tc qdisc add dev veth1 clsact"), 0);
  auto& ingress = prog("tc_count_ingress");
  {
    auto link = ingress.attach_tc(veth1_, ebpf::tc_direction::ingress);
    send_frames(veth0_, 2);
    EXPECT_EQ(wait_counter(tc_ingress, 2), 2u);
    // Replace the program in place (NLM_F_REPLACE on the same handle and priority).
    link.update(prog("tc_count_egress"));
    auto filters = ebpf::query_tc(veth1_, ebpf::tc_direction::ingress);
    ASSERT_EQ(filters.size(), 1u);
    EXPECT_EQ(filters[0].prog_id, prog("tc_count_egress").id());
    send_frames(veth0_, 3);
    EXPECT_EQ(wait_counter(tc_egress, 3), 3u);
  }
  EXPECT_TRUE(ebpf::query_tc(veth1_, ebpf::tc_direction::ingress).empty());
  EXPECT_TRUE(has_clsact("veth1"));
}

TEST_F(xdp_tc_test, DetachAfterTheInterfaceIsGone) {
  const bool with_tcx = !tcx_missing();
  auto xdp = prog("xdp_count_pass").attach_xdp("veth1", netlink_xdp(ebpf::xdp_flags::skb_mode));
  auto tc = prog("tc_count_ingress").attach_tc("veth1", ebpf::tc_direction::ingress);
  ebpf::link tcx;
  if (with_tcx) {
    tcx = prog("tcx_record_1").attach_tcx("veth1", ebpf::tc_direction::ingress,
                                          with<ebpf::tcx_options>([](auto& o) { o.legacy_attach = true; }));
  }
  ASSERT_EQ(std::system("ip link del veth0"), 0);  // takes veth1 with it
  EXPECT_NO_THROW(xdp.detach());
  EXPECT_NO_THROW(tc.detach());
  EXPECT_FALSE(xdp);
  EXPECT_FALSE(tc);
  if (!with_tcx) GTEST_SKIP() << "XDP and tc detached; the TCX part needs kernel 6.6";
  EXPECT_NO_THROW(tcx.detach());
  EXPECT_FALSE(tcx);
}

// ---- TCX -------------------------------------------------------------------------------------

std::vector<std::uint32_t> ids_of(const ebpf::mprog_query_result& result) {
  std::vector<std::uint32_t> ids;
  for (const auto& entry : result.programs) ids.push_back(entry.prog_id);
  return ids;
}

TEST_F(xdp_tc_test, TcxLinksRunInTheOrderAsked) {
  if (tcx_missing()) GTEST_SKIP() << "TCX needs kernel 6.6";
  auto& one = prog("tcx_record_1");
  auto& two = prog("tcx_record_2");
  {
    auto first = one.attach_tcx("veth1", ebpf::tc_direction::ingress);
    auto info = first.info();
    EXPECT_EQ(info.type, ebpf::link_type::tcx);
    EXPECT_EQ(info.ifindex, static_cast<std::uint32_t>(veth1_));
    EXPECT_EQ(info.attach, ebpf::attach_type::tcx_ingress);
    auto before = ebpf::query_tcx("veth1", ebpf::tc_direction::ingress);
    ASSERT_EQ(before.programs.size(), 1u);
    EXPECT_EQ(before.programs[0].link_id, info.id);

    // A stale revision is refused.
    try {
      two.attach_tcx("veth1", ebpf::tc_direction::ingress, with<ebpf::tcx_options>([&](auto& o) {
                       o.expected_revision = before.revision + 5;
                     }));
      ADD_FAILURE() << "a stale expected_revision was accepted";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, ESTALE)) << e.what();
    }
    // Program 2 goes before the link of program 1, at the revision we saw.
    auto second = two.attach_tcx("veth1", ebpf::tc_direction::ingress,
                                 with<ebpf::tcx_options>([&](auto& o) {
                                   o.position = ebpf::mprog_position::before;
                                   o.relative_link = &first;
                                   o.expected_revision = before.revision;
                                 }));
    auto now = ebpf::query_tcx("veth1", ebpf::tc_direction::ingress);
    EXPECT_EQ(ids_of(now), (std::vector<std::uint32_t>{two.id(), one.id()}));
    EXPECT_GT(now.revision, before.revision);

    send_frames(veth0_, 1);
    EXPECT_EQ(wait_counter(order_next, 2), 2u);
    EXPECT_EQ(order_->lookup(0), 2u);
    EXPECT_EQ(order_->lookup(1), 1u);
  }
  EXPECT_TRUE(ebpf::query_tcx("veth1", ebpf::tc_direction::ingress).programs.empty());
  send_frames(veth0_, 2);
  ::usleep(100000);
  EXPECT_EQ(counter(order_next), 2u);
}

TEST_F(xdp_tc_test, TcxLegacyAttachOrdersByProgramId) {
  if (tcx_missing()) GTEST_SKIP() << "TCX needs kernel 6.6";
  auto& one = prog("tcx_record_1");
  auto& two = prog("tcx_record_2");
  {
    auto second = two.attach_tcx(veth1_, ebpf::tc_direction::ingress,
                                 with<ebpf::tcx_options>([](auto& o) { o.legacy_attach = true; }));
    EXPECT_EQ(second.kind(), "tcx (prog_attach)");
    EXPECT_EQ(second.info().attach, ebpf::attach_type::tcx_ingress);
    // Program 1 goes before program 2, named by its id.
    auto first = one.attach_tcx(veth1_, ebpf::tc_direction::ingress,
                                with<ebpf::tcx_options>([&](auto& o) {
                                  o.position = ebpf::mprog_position::before;
                                  o.relative_program_id = two.id();
                                  o.legacy_attach = true;
                                }));
    auto now = ebpf::query_tcx(veth1_, ebpf::tc_direction::ingress);
    EXPECT_EQ(ids_of(now), (std::vector<std::uint32_t>{one.id(), two.id()}));
    ASSERT_EQ(now.programs.size(), 2u);
    EXPECT_EQ(now.programs[0].link_id, 0u);  // no link objects
    // An anchor that is not attached.
    try {
      prog("tc_count_egress").attach_tcx(veth1_, ebpf::tc_direction::ingress,
                                         with<ebpf::tcx_options>([&](auto& o) {
                                           o.position = ebpf::mprog_position::after;
                                           o.relative_program = &prog("tc_count_ingress");
                                         }));
      ADD_FAILURE() << "an absent anchor was accepted";
    } catch (const ebpf::error& e) {
      EXPECT_TRUE(has_errno(e, ENOENT)) << e.what();
    }
    send_frames(veth0_, 1);
    EXPECT_EQ(wait_counter(order_next, 2), 2u);
    EXPECT_EQ(order_->lookup(0), 1u);
    EXPECT_EQ(order_->lookup(1), 2u);
  }
  EXPECT_TRUE(ebpf::query_tcx(veth1_, ebpf::tc_direction::ingress).programs.empty());
  send_frames(veth0_, 2);
  ::usleep(100000);
  EXPECT_EQ(counter(order_next), 2u);
}

TEST_F(xdp_tc_test, TcxFirstGoesBeforeEverything) {
  if (tcx_missing()) GTEST_SKIP() << "TCX needs kernel 6.6";
  auto& one = prog("tcx_record_1");
  auto& two = prog("tcx_record_2");
  auto last = one.attach_tcx("veth1", ebpf::tc_direction::egress);
  auto first = two.attach_tcx("veth1", ebpf::tc_direction::egress,
                              with<ebpf::tcx_options>([](auto& o) { o.position = ebpf::mprog_position::first; }));
  EXPECT_EQ(ids_of(ebpf::query_tcx("veth1", ebpf::tc_direction::egress)),
            (std::vector<std::uint32_t>{two.id(), one.id()}));
  EXPECT_TRUE(ebpf::query_tcx("veth1", ebpf::tc_direction::ingress).programs.empty());
  send_frames(veth1_, 1);  // out of veth1: its egress hook
  EXPECT_EQ(wait_counter(order_next, 2), 2u);
  EXPECT_EQ(order_->lookup(0), 2u);
  EXPECT_EQ(order_->lookup(1), 1u);
}

TEST_F(xdp_tc_test, TcxOptionsWithoutAnAnchorAreRejected) {
  auto& one = prog("tcx_record_1");
  EXPECT_THROW(one.attach_tcx("veth1", ebpf::tc_direction::egress, with<ebpf::tcx_options>([](auto& o) { o.position = ebpf::mprog_position::after; })),
               ebpf::error);
  auto& two = prog("tcx_record_2");
  EXPECT_THROW(one.attach_tcx("veth1", ebpf::tc_direction::egress,
                              with<ebpf::tcx_options>([&](auto& o) {
                                o.position = ebpf::mprog_position::first;
                                o.relative_program = &two;
                              })),
               ebpf::error);
}

// ---- netkit ----------------------------------------------------------------------------------

TEST_F(xdp_tc_test, NetkitNeedsANetkitDevice) {
  // A veth is not a netkit device. Our host kernel is built without CONFIG_NETKIT (KERNEL.md), so
  // no netkit device can be made there; the 6.12 guest has netkit and runs the whole test.
  try {
    prog("tcx_record_1").attach_netkit("veth0", ebpf::netkit_side::primary);
    ADD_FAILURE() << "netkit attach to a veth succeeded";
  } catch (const ebpf::error& e) {
    // EINVAL without CONFIG_NETKIT; ENXIO from a kernel with netkit (not a netkit device).
    EXPECT_TRUE(has_errno(e, EINVAL) || has_errno(e, ENXIO)) << e.what();
    EXPECT_NE(std::string(e.what()).find("netkit primary to interface 'veth0'"), std::string::npos) << e.what();
  }
  // Debian 12's iproute2 (6.1) knows no netkit options but passes the kind through. Not "nk0":
  // without a peer name the kernel names the peer "nk%d" and registers it first
  // (drivers/net/netkit.c netkit_new_link), so the peer would take nk0 and the device fail.
  std::string refusal;
  if (FILE* ip = ::popen("ip link add ebpfnk type netkit 2>&1", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, ip)) refusal += line;
    if (::pclose(ip) == 0) refusal.clear();
    else if (refusal.empty()) refusal = "ip link add failed";
  }
  if (!refusal.empty()) {
    GTEST_SKIP() << "no netkit device can be created here (netkit is 6.7 with CONFIG_NETKIT): "
                 << refusal;
  }
  auto link = prog("tcx_record_1").attach_netkit("ebpfnk", ebpf::netkit_side::primary);
  auto info = link.info();
  EXPECT_EQ(info.type, ebpf::link_type::netkit);
  EXPECT_EQ(info.ifindex, ::if_nametoindex("ebpfnk"));
  EXPECT_EQ(info.attach, ebpf::attach_type::netkit_primary);
}

}  // namespace
