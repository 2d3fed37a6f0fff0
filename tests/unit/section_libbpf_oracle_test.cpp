// Oracle test: our section table and enum names against the installed libbpf (Debian's 1.1.2).
//
// For every name libbpf knows, libbpf_prog_type_by_name() and libbpf_attach_type_by_name() must
// agree with classify_section(). Names libbpf 1.1 does not know are either unknown to us too, or
// belong to a convention added after libbpf 1.1 (listed below, checked by section_table_test).
// Only tests may link libbpf (ARCHITECTURE.md); the library never does.

#include <ebpf/section.hpp>
#include <ebpf/types.hpp>

#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstdarg>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Conventions of libbpf 1.2 to 1.6 that libbpf 1.1's section_defs does not have (diff of
// src/libbpf.c between v1.1.2 and v1.6.x).
const std::set<std::string_view> newer_than_libbpf_1_1 = {
    "kprobe.session+", "uprobe.multi+", "uretprobe.multi+", "uprobe.session+", "uprobe.multi.s+",
    "uretprobe.multi.s+", "uprobe.session.s+", "usdt.s+", "tc/ingress", "tc/egress", "tcx/ingress",
    "tcx/egress", "netkit/primary", "netkit/peer", "sk_skb/verdict", "cgroup/connect_unix",
    "cgroup/sendmsg_unix", "cgroup/recvmsg_unix", "cgroup/getpeername_unix",
    "cgroup/getsockname_unix", "struct_ops.s+", "netfilter",
};

int quiet(enum libbpf_print_level, const char*, va_list) { return 0; }

// Names to ask both about: spellings of every convention, near misses of each, and a hand-written
// list of real-world and malformed names.
std::vector<std::string> candidate_names() {
  std::vector<std::string> names = {
      "", ".text", "license", "maps", ".maps", "xdp/foo", "xdp.frags/foo", "XDP", "Kprobe/x",
      "tp/sched/sched_switch", "tracepoint/syscalls/sys_enter_execve", "raw_tp/sys_enter",
      "kprobe/do_sys_open+0x10", "kretprobe/do_sys_open", "uprobe//bin/bash:readline",
      "uretprobe//lib/libc.so.6:malloc", "uprobe.s//bin/sh:main", "usdt//bin/app:p:n",
      "fentry/do_unlinkat", "fentry.s/f", "fexit/f", "fmod_ret/f", "freplace/f", "lsm/file_open",
      "lsm.s/f", "lsm_cgroup/socket_bind", "iter/task", "iter.s/task", "tp_btf/sched_switch",
      "ksyscall/openat", "kretsyscall/openat", "kprobe.multi/vfs_*", "kretprobe.multi/vfs_*",
      "cgroup/skb", "cgroup/sock", "cgroup/dev", "cgroup/sysctl", "sockops", "sk_msg",
      "sk_skb/stream_parser", "sk_skb/stream_verdict", "sk_skb/verdict", "sk_skb",
      "struct_ops/init", "struct_ops", "syscall", "socket", "sk_reuseport/migrate",
      "sk_reuseport", "xdp", "xdp.frags", "xdp/devmap", "xdp/cpumap", "xdp.frags/devmap",
      "xdp.frags/cpumap", "tc", "tc/ingress", "tcx/ingress", "classifier", "action", "netfilter",
      "perf_event", "lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local", "lirc_mode2",
      "flow_dissector", "sk_lookup", "raw_tracepoint.w/x", "raw_tp.w/x", "tp/", "kprobe/",
      "kprobe//", "kprobefoo", "tcx", "cgroup", "cgroup/", "cgroup_skb", "cgroup_skb/ingress",
      "cgroup_skb/egress", "cgroup/connect4", "cgroup/connect_unix", "cgroup/getsockopt",
      "cgroup/setsockopt", "cgroup/post_bind4", "cgroup/sock_release", "uprobe.multi//x:y",
      "kprobe.session/f", "netkit/primary",
  };
  for (const std::string_view convention : ebpf::section_conventions()) {
    const bool plus = convention.back() == '+';
    const std::string base(plus ? convention.substr(0, convention.size() - 1) : convention);
    for (const std::string& name :
         {base, base + "/", base + "/x", base + "/x/y", base + "x", base + ".s", base + ".s/x",
          base.substr(0, base.size() - 1), "?" + base, base + " "}) {
      names.push_back(name);
    }
    std::string upper = base;
    for (char& c : upper)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    names.push_back(upper);
  }
  return names;
}

TEST(SectionLibbpfOracle, AgreesWithLibbpfProgTypeByName) {
  libbpf_set_print(quiet);
  std::size_t compared = 0;
  for (const std::string& name : candidate_names()) {
    const auto ours = ebpf::classify_section(name);
    bpf_prog_type type{};
    bpf_attach_type attach{};
    // libbpf strips a leading '?' before looking a program's section up (bpf_object__init_prog),
    // not inside libbpf_prog_type_by_name; do the same.
    const std::string looked_up = (!name.empty() && name[0] == '?') ? name.substr(1) : name;
    const bool known = libbpf_prog_type_by_name(looked_up.c_str(), &type, &attach) == 0;
    if (!known) {
      if (ours) {
        EXPECT_TRUE(newer_than_libbpf_1_1.count(ours->convention))
            << '"' << name << "\": libbpf 1.1 does not know it, we say " << ours->convention;
      }
      continue;
    }
    ++compared;
    ASSERT_TRUE(ours.has_value()) << '"' << name << "\" is known to libbpf but not to us";
    EXPECT_FALSE(newer_than_libbpf_1_1.count(ours->convention)) << name;
    EXPECT_EQ(static_cast<std::uint32_t>(ours->type), static_cast<std::uint32_t>(type))
        << '"' << name << "\": ours " << ebpf::to_string(ours->type) << ", libbpf "
        << ebpf::to_string(static_cast<ebpf::program_type>(type));
    const std::uint32_t our_attach =
        ours->expected_attach_type ? static_cast<std::uint32_t>(*ours->expected_attach_type) : 0;
    EXPECT_EQ(our_attach, static_cast<std::uint32_t>(attach)) << '"' << name << '"';

    // SEC_ATTACHABLE: libbpf_attach_type_by_name() answers exactly for those.
    bpf_attach_type attachable_type{};
    const bool attachable = libbpf_attach_type_by_name(looked_up.c_str(), &attachable_type) == 0;
    EXPECT_EQ(ours->attachable, attachable) << '"' << name << '"';
    if (attachable) {
      EXPECT_EQ(our_attach, static_cast<std::uint32_t>(attachable_type)) << name;
    }
  }
  // Every convention of libbpf 1.1 was compared at least in its plain spelling.
  EXPECT_GE(compared, ebpf::section_conventions().size() - newer_than_libbpf_1_1.size());
}

TEST(SectionLibbpfOracle, EveryOldConventionIsKnownToLibbpf) {
  libbpf_set_print(quiet);
  for (const std::string_view convention : ebpf::section_conventions()) {
    if (newer_than_libbpf_1_1.count(convention)) continue;
    std::string name(convention);
    if (name.back() == '+') name.pop_back();
    bpf_prog_type type{};
    bpf_attach_type attach{};
    EXPECT_EQ(libbpf_prog_type_by_name(name.c_str(), &type, &attach), 0) << convention;
  }
}

TEST(SectionLibbpfOracle, EnumNamesMatchLibbpf) {
  // libbpf 1.1's name tables end earlier than ours; compare wherever it has a name.
  std::size_t compared = 0;
  for (std::uint32_t value = 0; value < 64; ++value) {
    if (const char* name = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(value))) {
      EXPECT_EQ(ebpf::to_string(static_cast<ebpf::program_type>(value)), name) << value;
      ++compared;
    }
    if (const char* name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(value))) {
      EXPECT_EQ(ebpf::to_string(static_cast<ebpf::map_type>(value)), name) << value;
      ++compared;
    }
    if (const char* name = libbpf_bpf_attach_type_str(static_cast<bpf_attach_type>(value))) {
      EXPECT_EQ(ebpf::to_string(static_cast<ebpf::attach_type>(value)), name) << value;
      ++compared;
    }
  }
  EXPECT_GT(compared, 90u);
}

}  // namespace
