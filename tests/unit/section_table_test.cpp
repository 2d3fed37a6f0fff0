// Tests of lib/object/section_table.cpp: every libbpf section convention (libbpf src/libbpf.c,
// section_defs, v1.6), the matching rules, the flags, and the attach-target parsers.
// The agreement with a real libbpf is checked separately by section_libbpf_oracle_test.cpp.

#include <ebpf/section.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ebpf::attach_method;
using ebpf::attach_type;
using ebpf::program_type;
using pt = program_type;
using at = attach_type;
using am = attach_method;

// What we expect of one section name. Traits are letters so that each row stays on one line:
//   S sleepable, F xdp frags, L attach type at load, A attachable, B BTF attach target,
//   R return probe.
struct row {
  std::string_view name;
  std::string_view convention;
  program_type type;
  std::optional<attach_type> attach;
  std::string_view target;
  std::string_view traits;
  attach_method method;
};

std::ostream& operator<<(std::ostream& out, const row& r) { return out << '"' << r.name << '"'; }

constexpr std::optional<attach_type> none{};

// One or more rows per convention, grouped like the table.
const row rows[] = {
    {"socket", "socket", pt::socket_filter, none, "", "", am::none},
    {"sk_reuseport/migrate", "sk_reuseport/migrate", pt::sk_reuseport, at::sk_reuseport_select_or_migrate, "", "LA", am::none},
    {"sk_reuseport", "sk_reuseport", pt::sk_reuseport, at::sk_reuseport_select, "", "LA", am::none},

    {"kprobe/do_sys_open", "kprobe+", pt::kprobe, none, "do_sys_open", "", am::kprobe},
    {"kprobe/do_sys_open+0x10", "kprobe+", pt::kprobe, none, "do_sys_open+0x10", "", am::kprobe},
    {"kprobe", "kprobe+", pt::kprobe, none, "", "", am::kprobe},
    {"kprobe/", "kprobe+", pt::kprobe, none, "", "", am::kprobe},
    {"kprobe/a/b", "kprobe+", pt::kprobe, none, "a/b", "", am::kprobe},
    {"uprobe/usr/bin/bash:readline", "uprobe+", pt::kprobe, none, "usr/bin/bash:readline", "", am::uprobe},
    {"uprobe//usr/lib/libc.so.6:malloc+4", "uprobe+", pt::kprobe, none, "/usr/lib/libc.so.6:malloc+4", "", am::uprobe},
    {"uprobe", "uprobe+", pt::kprobe, none, "", "", am::uprobe},
    {"uprobe.s//bin/sh:main", "uprobe.s+", pt::kprobe, none, "/bin/sh:main", "S", am::uprobe},
    {"kretprobe/do_sys_open", "kretprobe+", pt::kprobe, none, "do_sys_open", "R", am::kprobe},
    {"kretprobe", "kretprobe+", pt::kprobe, none, "", "R", am::kprobe},
    {"uretprobe//bin/sh:main", "uretprobe+", pt::kprobe, none, "/bin/sh:main", "R", am::uprobe},
    {"uretprobe.s//bin/sh:main", "uretprobe.s+", pt::kprobe, none, "/bin/sh:main", "RS", am::uprobe},
    {"kprobe.multi/vfs_*", "kprobe.multi+", pt::kprobe, at::trace_kprobe_multi, "vfs_*", "L", am::kprobe_multi},
    {"kprobe.multi", "kprobe.multi+", pt::kprobe, at::trace_kprobe_multi, "", "L", am::kprobe_multi},
    {"kretprobe.multi/vfs_read", "kretprobe.multi+", pt::kprobe, at::trace_kprobe_multi, "vfs_read", "LR", am::kprobe_multi},
    {"kprobe.session/vfs_*", "kprobe.session+", pt::kprobe, at::trace_kprobe_session, "vfs_*", "L", am::kprobe_session},
    {"uprobe.multi//bin/sh:m*", "uprobe.multi+", pt::kprobe, at::trace_uprobe_multi, "/bin/sh:m*", "L", am::uprobe_multi},
    {"uretprobe.multi//bin/sh:m*", "uretprobe.multi+", pt::kprobe, at::trace_uprobe_multi, "/bin/sh:m*", "LR", am::uprobe_multi},
    {"uprobe.session//bin/sh:m*", "uprobe.session+", pt::kprobe, at::trace_uprobe_session, "/bin/sh:m*", "L", am::uprobe_session},
    {"uprobe.multi.s//bin/sh:m*", "uprobe.multi.s+", pt::kprobe, at::trace_uprobe_multi, "/bin/sh:m*", "LS", am::uprobe_multi},
    {"uretprobe.multi.s//bin/sh:m*", "uretprobe.multi.s+", pt::kprobe, at::trace_uprobe_multi, "/bin/sh:m*", "LRS", am::uprobe_multi},
    {"uprobe.session.s//bin/sh:m*", "uprobe.session.s+", pt::kprobe, at::trace_uprobe_session, "/bin/sh:m*", "LS", am::uprobe_session},
    {"ksyscall/openat", "ksyscall+", pt::kprobe, none, "openat", "", am::ksyscall},
    {"kretsyscall/openat", "kretsyscall+", pt::kprobe, none, "openat", "R", am::ksyscall},
    {"usdt/bin/app:prov:probe", "usdt+", pt::kprobe, none, "bin/app:prov:probe", "", am::usdt},
    {"usdt", "usdt+", pt::kprobe, none, "", "", am::usdt},
    {"usdt.s//bin/app:prov:probe", "usdt.s+", pt::kprobe, none, "/bin/app:prov:probe", "S", am::usdt},

    {"tc/ingress", "tc/ingress", pt::sched_cls, at::tcx_ingress, "", "L", am::none},
    {"tc/egress", "tc/egress", pt::sched_cls, at::tcx_egress, "", "L", am::none},
    {"tcx/ingress", "tcx/ingress", pt::sched_cls, at::tcx_ingress, "", "L", am::none},
    {"tcx/egress", "tcx/egress", pt::sched_cls, at::tcx_egress, "", "L", am::none},
    {"tc", "tc", pt::sched_cls, none, "", "", am::none},
    {"classifier", "classifier", pt::sched_cls, none, "", "", am::none},
    {"action", "action", pt::sched_act, none, "", "", am::none},
    {"netkit/primary", "netkit/primary", pt::sched_cls, at::netkit_primary, "", "L", am::none},
    {"netkit/peer", "netkit/peer", pt::sched_cls, at::netkit_peer, "", "L", am::none},

    {"tracepoint/sched/sched_process_exec", "tracepoint+", pt::tracepoint, none, "sched/sched_process_exec", "", am::tracepoint},
    {"tp/syscalls/sys_enter_openat", "tp+", pt::tracepoint, none, "syscalls/sys_enter_openat", "", am::tracepoint},
    {"tp", "tp+", pt::tracepoint, none, "", "", am::tracepoint},
    {"tp/", "tp+", pt::tracepoint, none, "", "", am::tracepoint},
    {"tp/sched", "tp+", pt::tracepoint, none, "sched", "", am::tracepoint},
    {"raw_tracepoint/sched_switch", "raw_tracepoint+", pt::raw_tracepoint, none, "sched_switch", "", am::raw_tracepoint},
    {"raw_tp/sched_switch", "raw_tp+", pt::raw_tracepoint, none, "sched_switch", "", am::raw_tracepoint},
    {"raw_tracepoint.w/bpf_test_finish", "raw_tracepoint.w+", pt::raw_tracepoint_writable, none, "bpf_test_finish", "", am::raw_tracepoint},
    {"raw_tp.w/bpf_test_finish", "raw_tp.w+", pt::raw_tracepoint_writable, none, "bpf_test_finish", "", am::raw_tracepoint},

    {"tp_btf/sched_switch", "tp_btf+", pt::tracing, at::trace_raw_tp, "sched_switch", "LB", am::tracing},
    {"fentry/do_unlinkat", "fentry+", pt::tracing, at::trace_fentry, "do_unlinkat", "LB", am::tracing},
    {"fentry/bpf_testmod:bpf_testmod_fentry_test1", "fentry+", pt::tracing, at::trace_fentry, "bpf_testmod:bpf_testmod_fentry_test1", "LB", am::tracing},
    {"fentry", "fentry+", pt::tracing, at::trace_fentry, "", "LB", am::tracing},
    {"fmod_ret/security_file_open", "fmod_ret+", pt::tracing, at::modify_return, "security_file_open", "LB", am::tracing},
    {"fexit/do_unlinkat", "fexit+", pt::tracing, at::trace_fexit, "do_unlinkat", "LB", am::tracing},
    {"fentry.s/do_unlinkat", "fentry.s+", pt::tracing, at::trace_fentry, "do_unlinkat", "LBS", am::tracing},
    {"fmod_ret.s/security_file_open", "fmod_ret.s+", pt::tracing, at::modify_return, "security_file_open", "LBS", am::tracing},
    {"fexit.s/do_unlinkat", "fexit.s+", pt::tracing, at::trace_fexit, "do_unlinkat", "LBS", am::tracing},
    {"freplace/handle_packet", "freplace+", pt::ext, none, "handle_packet", "B", am::tracing},
    {"lsm/file_open", "lsm+", pt::lsm, at::lsm_mac, "file_open", "LB", am::lsm},
    {"lsm.s/bprm_committed_creds", "lsm.s+", pt::lsm, at::lsm_mac, "bprm_committed_creds", "LBS", am::lsm},
    {"lsm_cgroup/socket_bind", "lsm_cgroup+", pt::lsm, at::lsm_cgroup, "socket_bind", "LB", am::none},
    {"iter/task", "iter+", pt::tracing, at::trace_iter, "task", "LB", am::iter},
    {"iter.s/task_file", "iter.s+", pt::tracing, at::trace_iter, "task_file", "LBS", am::iter},
    {"syscall", "syscall", pt::syscall, none, "", "S", am::none},

    {"xdp.frags/devmap", "xdp.frags/devmap", pt::xdp, at::xdp_devmap, "", "LF", am::none},
    {"xdp/devmap", "xdp/devmap", pt::xdp, at::xdp_devmap, "", "LA", am::none},
    {"xdp.frags/cpumap", "xdp.frags/cpumap", pt::xdp, at::xdp_cpumap, "", "LF", am::none},
    {"xdp/cpumap", "xdp/cpumap", pt::xdp, at::xdp_cpumap, "", "LA", am::none},
    {"xdp.frags", "xdp.frags", pt::xdp, at::xdp, "", "LF", am::none},
    {"xdp", "xdp", pt::xdp, at::xdp, "", "A", am::none},

    {"perf_event", "perf_event", pt::perf_event, none, "", "", am::none},
    {"lwt_in", "lwt_in", pt::lwt_in, none, "", "", am::none},
    {"lwt_out", "lwt_out", pt::lwt_out, none, "", "", am::none},
    {"lwt_xmit", "lwt_xmit", pt::lwt_xmit, none, "", "", am::none},
    {"lwt_seg6local", "lwt_seg6local", pt::lwt_seg6local, none, "", "", am::none},

    {"sockops", "sockops", pt::sock_ops, at::cgroup_sock_ops, "", "A", am::none},
    {"sk_skb/stream_parser", "sk_skb/stream_parser", pt::sk_skb, at::sk_skb_stream_parser, "", "A", am::none},
    {"sk_skb/stream_verdict", "sk_skb/stream_verdict", pt::sk_skb, at::sk_skb_stream_verdict, "", "A", am::none},
    {"sk_skb/verdict", "sk_skb/verdict", pt::sk_skb, at::sk_skb_verdict, "", "A", am::none},
    {"sk_skb", "sk_skb", pt::sk_skb, none, "", "", am::none},
    {"sk_msg", "sk_msg", pt::sk_msg, at::sk_msg_verdict, "", "A", am::none},
    {"lirc_mode2", "lirc_mode2", pt::lirc_mode2, at::lirc_mode2, "", "A", am::none},
    {"flow_dissector", "flow_dissector", pt::flow_dissector, at::flow_dissector, "", "A", am::none},

    {"cgroup_skb/ingress", "cgroup_skb/ingress", pt::cgroup_skb, at::cgroup_inet_ingress, "", "A", am::none},
    {"cgroup_skb/egress", "cgroup_skb/egress", pt::cgroup_skb, at::cgroup_inet_egress, "", "A", am::none},
    {"cgroup/skb", "cgroup/skb", pt::cgroup_skb, none, "", "", am::none},
    {"cgroup/sock_create", "cgroup/sock_create", pt::cgroup_sock, at::cgroup_inet_sock_create, "", "LA", am::none},
    {"cgroup/sock_release", "cgroup/sock_release", pt::cgroup_sock, at::cgroup_inet_sock_release, "", "LA", am::none},
    {"cgroup/sock", "cgroup/sock", pt::cgroup_sock, at::cgroup_inet_sock_create, "", "A", am::none},
    {"cgroup/post_bind4", "cgroup/post_bind4", pt::cgroup_sock, at::cgroup_inet4_post_bind, "", "LA", am::none},
    {"cgroup/post_bind6", "cgroup/post_bind6", pt::cgroup_sock, at::cgroup_inet6_post_bind, "", "LA", am::none},
    {"cgroup/bind4", "cgroup/bind4", pt::cgroup_sock_addr, at::cgroup_inet4_bind, "", "LA", am::none},
    {"cgroup/bind6", "cgroup/bind6", pt::cgroup_sock_addr, at::cgroup_inet6_bind, "", "LA", am::none},
    {"cgroup/connect4", "cgroup/connect4", pt::cgroup_sock_addr, at::cgroup_inet4_connect, "", "LA", am::none},
    {"cgroup/connect6", "cgroup/connect6", pt::cgroup_sock_addr, at::cgroup_inet6_connect, "", "LA", am::none},
    {"cgroup/connect_unix", "cgroup/connect_unix", pt::cgroup_sock_addr, at::cgroup_unix_connect, "", "LA", am::none},
    {"cgroup/sendmsg4", "cgroup/sendmsg4", pt::cgroup_sock_addr, at::cgroup_udp4_sendmsg, "", "LA", am::none},
    {"cgroup/sendmsg6", "cgroup/sendmsg6", pt::cgroup_sock_addr, at::cgroup_udp6_sendmsg, "", "LA", am::none},
    {"cgroup/sendmsg_unix", "cgroup/sendmsg_unix", pt::cgroup_sock_addr, at::cgroup_unix_sendmsg, "", "LA", am::none},
    {"cgroup/recvmsg4", "cgroup/recvmsg4", pt::cgroup_sock_addr, at::cgroup_udp4_recvmsg, "", "LA", am::none},
    {"cgroup/recvmsg6", "cgroup/recvmsg6", pt::cgroup_sock_addr, at::cgroup_udp6_recvmsg, "", "LA", am::none},
    {"cgroup/recvmsg_unix", "cgroup/recvmsg_unix", pt::cgroup_sock_addr, at::cgroup_unix_recvmsg, "", "LA", am::none},
    {"cgroup/getpeername4", "cgroup/getpeername4", pt::cgroup_sock_addr, at::cgroup_inet4_getpeername, "", "LA", am::none},
    {"cgroup/getpeername6", "cgroup/getpeername6", pt::cgroup_sock_addr, at::cgroup_inet6_getpeername, "", "LA", am::none},
    {"cgroup/getpeername_unix", "cgroup/getpeername_unix", pt::cgroup_sock_addr, at::cgroup_unix_getpeername, "", "LA", am::none},
    {"cgroup/getsockname4", "cgroup/getsockname4", pt::cgroup_sock_addr, at::cgroup_inet4_getsockname, "", "LA", am::none},
    {"cgroup/getsockname6", "cgroup/getsockname6", pt::cgroup_sock_addr, at::cgroup_inet6_getsockname, "", "LA", am::none},
    {"cgroup/getsockname_unix", "cgroup/getsockname_unix", pt::cgroup_sock_addr, at::cgroup_unix_getsockname, "", "LA", am::none},
    {"cgroup/sysctl", "cgroup/sysctl", pt::cgroup_sysctl, at::cgroup_sysctl, "", "LA", am::none},
    {"cgroup/getsockopt", "cgroup/getsockopt", pt::cgroup_sockopt, at::cgroup_getsockopt, "", "LA", am::none},
    {"cgroup/setsockopt", "cgroup/setsockopt", pt::cgroup_sockopt, at::cgroup_setsockopt, "", "LA", am::none},
    {"cgroup/dev", "cgroup/dev", pt::cgroup_device, at::cgroup_device, "", "A", am::none},

    {"struct_ops/tcp_init", "struct_ops+", pt::struct_ops, none, "tcp_init", "", am::none},
    {"struct_ops", "struct_ops+", pt::struct_ops, none, "", "", am::none},
    {"struct_ops.s/dispatch", "struct_ops.s+", pt::struct_ops, none, "dispatch", "S", am::none},
    {"sk_lookup", "sk_lookup", pt::sk_lookup, at::sk_lookup, "", "LA", am::none},
    {"netfilter", "netfilter", pt::netfilter, at::netfilter, "", "L", am::none},
};

bool has(std::string_view traits, char c) { return traits.find(c) != std::string_view::npos; }

class SectionTableRows : public ::testing::TestWithParam<row> {};

TEST_P(SectionTableRows, ClassifiesLikeLibbpf) {
  const row& expected = GetParam();
  const auto info = ebpf::classify_section(expected.name);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->convention, expected.convention);
  EXPECT_EQ(info->type, expected.type) << ebpf::to_string(info->type);
  EXPECT_EQ(info->expected_attach_type, expected.attach);
  EXPECT_EQ(info->attach_target, expected.target);
  EXPECT_EQ(info->sleepable, has(expected.traits, 'S'));
  EXPECT_EQ(info->attach_type_at_load, has(expected.traits, 'L'));
  EXPECT_EQ(info->attachable, has(expected.traits, 'A'));
  EXPECT_EQ(info->needs_btf_attach_target, has(expected.traits, 'B'));
  EXPECT_EQ(info->retprobe, has(expected.traits, 'R'));
  EXPECT_EQ(info->method, expected.method);
  std::uint32_t flags = 0;
  if (has(expected.traits, 'S')) flags |= ebpf::prog_flag_sleepable;
  if (has(expected.traits, 'F')) flags |= ebpf::prog_flag_xdp_has_frags;
  EXPECT_EQ(info->program_flags, flags);
  EXPECT_TRUE(info->autoload);

  // The same name behind '?' is the same convention with autoload off.
  const auto optional = ebpf::classify_section("?" + std::string(expected.name));
  ASSERT_TRUE(optional.has_value());
  EXPECT_FALSE(optional->autoload);
  EXPECT_EQ(optional->convention, info->convention);
  EXPECT_EQ(optional->type, info->type);
  EXPECT_EQ(optional->expected_attach_type, info->expected_attach_type);
  EXPECT_EQ(optional->attach_target, info->attach_target);
  EXPECT_EQ(optional->program_flags, info->program_flags);
}

INSTANTIATE_TEST_SUITE_P(AllConventions, SectionTableRows, ::testing::ValuesIn(rows));

TEST(SectionTable, EveryConventionHasARow) {
  std::set<std::string_view> tested;
  for (const row& r : rows) tested.insert(r.convention);
  for (const std::string_view convention : ebpf::section_conventions())
    EXPECT_TRUE(tested.count(convention)) << convention << " has no row in section_table_test";
  EXPECT_EQ(tested.size(), ebpf::section_conventions().size());
}

TEST(SectionTable, ConventionsAreUniqueAndNoneShadowsAnother) {
  const auto conventions = ebpf::section_conventions();
  std::set<std::string_view> seen;
  for (const std::string_view convention : conventions) {
    EXPECT_TRUE(seen.insert(convention).second) << convention << " is listed twice";
    // Each convention's own spellings must reach it, not an earlier entry.
    std::vector<std::string> names;
    if (convention.back() == '+') {
      const std::string base(convention.substr(0, convention.size() - 1));
      names = {base, base + "/", base + "/target"};
    } else {
      names = {std::string(convention)};
    }
    for (const std::string& name : names) {
      const auto info = ebpf::classify_section(name);
      ASSERT_TRUE(info.has_value()) << name;
      EXPECT_EQ(info->convention, convention) << name;
    }
  }
}

TEST(SectionTable, ConventionStringsHaveStaticStorage) {
  std::string name = "kprobe/x";
  const auto info = ebpf::classify_section(name);
  ASSERT_TRUE(info.has_value());
  name.assign(name.size(), 'z');  // the view must not point into the argument
  EXPECT_EQ(info->convention, "kprobe+");
}

TEST(SectionTable, UnknownNamesAreNotClassified) {
  const std::string_view unknown[] = {
      "", "?", "??xdp", "?.text", ".text", "license", "maps", ".maps", ".rodata", ".BTF",
      "xdp/foo",           // libbpf 1.0 dropped the sloppy "xdp/<anything>"
      "xdp.frags/foo",     // only devmap and cpumap exist under xdp.frags/
      "xdp_foo", "xdp.", "xdp/", "xdp.frags/", "xdp/devmap/x",
      "XDP", "Xdp", "KPROBE/do_sys_open", "Kprobe/x", "TP/sched/x",  // case-sensitive, like libbpf
      " xdp", "xdp ", "kprobe /x",
      "kprobefoo", "kprobe.multifoo", "kprobe.", "kprobe.multi.s/x", "tpx/a/b", "tp_btfx",
      "tc/foo", "tc/", "tcx", "tcx/", "tcx/ingress/x", "netkit", "netkit/",
      "classifier/foo", "action/foo", "socket/foo", "socket_filter", "sk_reuseport/",
      "sk_skb/foo", "sk_skb/", "sk_msg/foo", "sockops/foo", "perf_event/foo", "lwt_in/x",
      "cgroup", "cgroup/", "cgroup/foo", "cgroup/skb/x", "cgroup_skb", "cgroup_skb/",
      "cgroup_skb/forward", "cgroup/sock/x", "cgroup/connect4/x",
      "syscall/x", "sk_lookup/x", "netfilter/x", "lirc_mode2/x", "flow_dissector/x",
      "raw_tp.x", "raw_tp.ws/x", "iter.x/task", "fentry.S/x", "lsm.S/x",
      "kprobe\\x", "uprobe:x",
  };
  for (const std::string_view name : unknown)
    EXPECT_FALSE(ebpf::classify_section(name).has_value()) << '"' << name << '"';
}

TEST(SectionTable, OnlyOneLeadingQuestionMarkIsStripped) {
  const auto once = ebpf::classify_section("?tp/sched/sched_switch");
  ASSERT_TRUE(once.has_value());
  EXPECT_FALSE(once->autoload);
  EXPECT_EQ(once->attach_target, "sched/sched_switch");
  EXPECT_FALSE(ebpf::classify_section("??tp/sched/sched_switch").has_value());
  EXPECT_FALSE(ebpf::classify_section("x?xdp").has_value());
  // A '?' elsewhere belongs to the target (kprobe.multi globs use it).
  const auto glob = ebpf::classify_section("kprobe.multi/vfs_rea?");
  ASSERT_TRUE(glob.has_value());
  EXPECT_TRUE(glob->autoload);
  EXPECT_EQ(glob->attach_target, "vfs_rea?");
}

TEST(SectionTable, EmbeddedNulIsNotIgnored) {
  // Names come from an ELF string table and never hold a NUL; a view that does is not "xdp".
  EXPECT_FALSE(ebpf::classify_section(std::string_view("xdp\0", 4)).has_value());
  const auto info = ebpf::classify_section(std::string_view("kprobe/a\0b", 10));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->attach_target, std::string("a\0b", 3));
}

TEST(SectionTable, VeryLongNames) {
  const std::string function(1 << 20, 'f');
  const auto info = ebpf::classify_section("kprobe/" + function);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->attach_target, function);

  const auto tracepoint = ebpf::classify_section("?tracepoint/" + function + "/" + function);
  ASSERT_TRUE(tracepoint.has_value());
  EXPECT_FALSE(tracepoint->autoload);
  EXPECT_EQ(tracepoint->attach_target.size(), 2 * function.size() + 1);

  EXPECT_FALSE(ebpf::classify_section(function).has_value());
  EXPECT_FALSE(ebpf::classify_section("xdp" + function).has_value());
  EXPECT_FALSE(ebpf::classify_section(std::string(1 << 16, '?')).has_value());
}

TEST(SectionTable, TargetKeepsEverythingAfterTheFirstSeparator) {
  // libbpf hands "fentry/<target>" to its BTF lookup from the first '/', and "tp/<cat>/<name>"
  // splits later; the section table itself never interprets the target.
  const auto info = ebpf::classify_section("fentry/vmlinux:do_unlinkat");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->attach_target, "vmlinux:do_unlinkat");
  const auto raw = ebpf::classify_section("raw_tp/");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->attach_target, "");
  const auto slashes = ebpf::classify_section("kprobe//");
  ASSERT_TRUE(slashes.has_value());
  EXPECT_EQ(slashes->attach_target, "/");
}

TEST(SectionTable, ExpectedAttachTypeAtLoadMatchesLibbpfFlags) {
  // SEC_EXP_ATTACH_OPT entries may drop the attach type on old kernels; the rest with an attach
  // type must pass it (the kernel checks it: bpf_prog_load_check_attach() in kernel/bpf/syscall.c).
  for (const std::string_view name : {"xdp", "sockops", "sk_msg", "cgroup_skb/ingress", "cgroup/dev",
                                      "cgroup/sock", "lirc_mode2", "flow_dissector", "sk_skb/verdict"}) {
    const auto info = ebpf::classify_section(name);
    ASSERT_TRUE(info.has_value()) << name;
    EXPECT_TRUE(info->expected_attach_type.has_value()) << name;
    EXPECT_FALSE(info->attach_type_at_load) << name;
  }
  for (const std::string_view name : {"cgroup/connect4", "cgroup/sock_create", "fentry/f", "lsm/file_open",
                                      "xdp/devmap", "xdp.frags", "kprobe.multi/f", "netfilter",
                                      "sk_lookup", "tcx/ingress"}) {
    const auto info = ebpf::classify_section(name);
    ASSERT_TRUE(info.has_value()) << name;
    EXPECT_TRUE(info->attach_type_at_load) << name;
  }
  for (const std::string_view name : {"socket", "kprobe/f", "tp/a/b", "tc", "cgroup/skb", "usdt", "syscall"}) {
    const auto info = ebpf::classify_section(name);
    ASSERT_TRUE(info.has_value()) << name;
    EXPECT_FALSE(info->expected_attach_type.has_value()) << name;
    EXPECT_FALSE(info->attach_type_at_load) << name;
  }
}

TEST(SectionTable, SleepableAndFragsFlagValues) {
  EXPECT_EQ(ebpf::prog_flag_sleepable, 16u);       // BPF_F_SLEEPABLE
  EXPECT_EQ(ebpf::prog_flag_xdp_has_frags, 32u);   // BPF_F_XDP_HAS_FRAGS
  EXPECT_EQ(ebpf::classify_section("lsm.s/file_open")->program_flags, 16u);
  EXPECT_EQ(ebpf::classify_section("?xdp.frags/cpumap")->program_flags, 32u);
  EXPECT_EQ(ebpf::classify_section("xdp")->program_flags, 0u);
  EXPECT_EQ(ebpf::classify_section("fentry/f")->program_flags, 0u);
}

// --- attach-target parsers -------------------------------------------------------------------

TEST(SectionTargets, Tracepoint) {
  const auto info = ebpf::classify_section("tp/syscalls/sys_enter_openat");
  ASSERT_TRUE(info.has_value());
  const auto target = ebpf::parse_tracepoint_target(info->attach_target);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->category, "syscalls");
  EXPECT_EQ(target->name, "sys_enter_openat");

  const auto nested = ebpf::parse_tracepoint_target("a/b/c");
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(nested->category, "a");
  EXPECT_EQ(nested->name, "b/c");

  for (const std::string_view bad : {"", "sched", "sched/", "/sched_switch", "/"})
    EXPECT_FALSE(ebpf::parse_tracepoint_target(bad).has_value()) << bad;
}

TEST(SectionTargets, Kprobe) {
  const auto info = ebpf::classify_section("kprobe/do_sys_open");
  ASSERT_TRUE(info.has_value());
  auto target = ebpf::parse_kprobe_target(info->attach_target);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->function, "do_sys_open");
  EXPECT_EQ(target->offset, 0u);

  struct {
    std::string_view text;
    std::string_view function;
    std::uint64_t offset;
  } const good[] = {
      {"tcp_v4_connect+0x10", "tcp_v4_connect", 0x10},
      {"f+16", "f", 16},
      {"f+010", "f", 8},
      {"f+0", "f", 0},
      {"f+0X1F", "f", 0x1f},
      {"do_sys_open.cold", "do_sys_open.cold", 0},
      {"f+18446744073709551615", "f", 18446744073709551615u},
  };
  for (const auto& g : good) {
    target = ebpf::parse_kprobe_target(g.text);
    ASSERT_TRUE(target.has_value()) << g.text;
    EXPECT_EQ(target->function, g.function) << g.text;
    EXPECT_EQ(target->offset, g.offset) << g.text;
  }
  for (const std::string_view bad : {"", "+16", "f+", "f+-1", "f+0x", "f+08", "f+16x", "f-1", "f 1",
                                     "f+18446744073709551616", "a/b", "f++1", "f+ 1"})
    EXPECT_FALSE(ebpf::parse_kprobe_target(bad).has_value()) << bad;
}

TEST(SectionTargets, Uprobe) {
  const auto info = ebpf::classify_section("uprobe//usr/lib/libc.so.6:malloc+0x8");
  ASSERT_TRUE(info.has_value());
  auto target = ebpf::parse_uprobe_target(info->attach_target);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->binary_path, "/usr/lib/libc.so.6");
  EXPECT_EQ(target->function, "malloc");
  EXPECT_EQ(target->offset, 8u);

  // Like libbpf, the function is everything after the first ':' and a "+x" that is not a whole
  // number stays in it.
  target = ebpf::parse_uprobe_target("libc.so.6:ns::f+abc");
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->binary_path, "libc.so.6");
  EXPECT_EQ(target->function, "ns::f+abc");
  EXPECT_EQ(target->offset, 0u);

  target = ebpf::parse_uprobe_target("/bin/sh:readline@LIBREADLINE");
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->function, "readline@LIBREADLINE");

  for (const std::string_view bad : {"", "/bin/sh", "/bin/sh:", ":main", "/bin/sh:+16"})
    EXPECT_FALSE(ebpf::parse_uprobe_target(bad).has_value()) << bad;
}

TEST(SectionTargets, Usdt) {
  const auto info = ebpf::classify_section("usdt//usr/lib/libc.so.6:libc:setjmp");
  ASSERT_TRUE(info.has_value());
  const auto target = ebpf::parse_usdt_target(info->attach_target);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->binary_path, "/usr/lib/libc.so.6");
  EXPECT_EQ(target->provider, "libc");
  EXPECT_EQ(target->name, "setjmp");

  for (const std::string_view bad : {"", "a", "a:b", "a:b:", "a::c", ":b:c", "a:b:c:d"})
    EXPECT_FALSE(ebpf::parse_usdt_target(bad).has_value()) << bad;
}

}  // namespace
