// ebpfpp: the libbpf-compatible program section table (see include/ebpf/section.hpp).
//
// Source of every convention: libbpf's src/libbpf.c, the section_defs[] table (v1.6), its
// sec_def_matches() for the matching rules, libbpf_prepare_prog_load() for what the flags mean at
// load, and the attach_*() functions for how targets are spelled. Read there, written here.

#include <ebpf/section.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace ebpf {
namespace {

// Per-convention properties: libbpf's enum sec_def_flags, renamed.
enum flag : std::uint8_t {
  // SEC_EXP_ATTACH_OPT: the expected attach type may be dropped on kernels without the field.
  optional_at_load = 1,
  // SEC_ATTACHABLE: BPF_PROG_ATTACH-style; libbpf_attach_type_by_name() answers for it.
  attachable = 2,
  // SEC_ATTACH_BTF: the target is a BTF id resolved at load from the name after the first '/'.
  btf_target = 4,
  // SEC_SLEEPABLE: load with BPF_F_SLEEPABLE.
  sleepable = 8,
  // SEC_XDP_FRAGS: load with BPF_F_XDP_HAS_FRAGS.
  xdp_frags = 16,
  // Ours: the return-probe form (libbpf tells it apart inside attach_kprobe() and friends).
  retprobe = 32,
};
constexpr std::uint8_t attachable_opt = attachable | optional_at_load;  // SEC_ATTACHABLE_OPT

struct convention {
  // libbpf's spelling: "name" matches exactly; "name+" matches "name" or "name/<anything>".
  // (libbpf also knows "name/" = "name/<anything>" only; its current table has none.)
  std::string_view pattern;
  program_type type;
  std::optional<attach_type> attach;
  std::uint8_t flags;
  attach_method method;
};

using pt = program_type;
using at = attach_type;
using am = attach_method;
constexpr std::optional<attach_type> none{};

// libbpf src/libbpf.c section_defs[] (v1.6.x): one line per SEC_DEF, in libbpf's order. Order
// matters only for first-match between entries that could both match a name; with the current
// names no two can (section_table_test checks it), but keeping libbpf's order means a future
// overlap behaves like libbpf.
constexpr convention table[] = {
    // Socket filters and SO_REUSEPORT selection.
    {"socket",                  pt::socket_filter, none, 0, am::none},
    {"sk_reuseport/migrate",    pt::sk_reuseport, at::sk_reuseport_select_or_migrate, attachable, am::none},
    {"sk_reuseport",            pt::sk_reuseport, at::sk_reuseport_select, attachable, am::none},

    // Kprobes and uprobes (program type kprobe); attach_kprobe()/attach_uprobe()/attach_usdt()...
    {"kprobe+",                 pt::kprobe, none, 0, am::kprobe},
    {"uprobe+",                 pt::kprobe, none, 0, am::uprobe},
    {"uprobe.s+",               pt::kprobe, none, sleepable, am::uprobe},
    {"kretprobe+",              pt::kprobe, none, retprobe, am::kprobe},
    {"uretprobe+",              pt::kprobe, none, retprobe, am::uprobe},
    {"uretprobe.s+",            pt::kprobe, none, retprobe | sleepable, am::uprobe},
    {"kprobe.multi+",           pt::kprobe, at::trace_kprobe_multi, 0, am::kprobe_multi},
    {"kretprobe.multi+",        pt::kprobe, at::trace_kprobe_multi, retprobe, am::kprobe_multi},
    {"kprobe.session+",         pt::kprobe, at::trace_kprobe_session, 0, am::kprobe_session},
    {"uprobe.multi+",           pt::kprobe, at::trace_uprobe_multi, 0, am::uprobe_multi},
    {"uretprobe.multi+",        pt::kprobe, at::trace_uprobe_multi, retprobe, am::uprobe_multi},
    {"uprobe.session+",         pt::kprobe, at::trace_uprobe_session, 0, am::uprobe_session},
    {"uprobe.multi.s+",         pt::kprobe, at::trace_uprobe_multi, sleepable, am::uprobe_multi},
    {"uretprobe.multi.s+",      pt::kprobe, at::trace_uprobe_multi, retprobe | sleepable, am::uprobe_multi},
    {"uprobe.session.s+",       pt::kprobe, at::trace_uprobe_session, sleepable, am::uprobe_session},
    {"ksyscall+",               pt::kprobe, none, 0, am::ksyscall},
    {"kretsyscall+",            pt::kprobe, none, retprobe, am::ksyscall},
    {"usdt+",                   pt::kprobe, none, 0, am::usdt},  // SEC_USDT: see section_info
    {"usdt.s+",                 pt::kprobe, none, sleepable, am::usdt},

    // Traffic control: tcx (6.6) and netkit (6.7) links; "tc", "classifier", "action" are legacy.
    {"tc/ingress",              pt::sched_cls, at::tcx_ingress, 0, am::none},  // alias of tcx/ingress
    {"tc/egress",               pt::sched_cls, at::tcx_egress, 0, am::none},   // alias of tcx/egress
    {"tcx/ingress",             pt::sched_cls, at::tcx_ingress, 0, am::none},
    {"tcx/egress",              pt::sched_cls, at::tcx_egress, 0, am::none},
    {"tc",                      pt::sched_cls, none, 0, am::none},
    {"classifier",              pt::sched_cls, none, 0, am::none},
    {"action",                  pt::sched_act, none, 0, am::none},
    {"netkit/primary",          pt::sched_cls, at::netkit_primary, 0, am::none},
    {"netkit/peer",             pt::sched_cls, at::netkit_peer, 0, am::none},

    // Tracepoints; attach_tp()/attach_raw_tp().
    {"tracepoint+",             pt::tracepoint, none, 0, am::tracepoint},
    {"tp+",                     pt::tracepoint, none, 0, am::tracepoint},
    {"raw_tracepoint+",         pt::raw_tracepoint, none, 0, am::raw_tracepoint},
    {"raw_tp+",                 pt::raw_tracepoint, none, 0, am::raw_tracepoint},
    {"raw_tracepoint.w+",       pt::raw_tracepoint_writable, none, 0, am::raw_tracepoint},
    {"raw_tp.w+",               pt::raw_tracepoint_writable, none, 0, am::raw_tracepoint},

    // BTF-targeted tracing (trampolines), extensions, LSM, iterators; attach_trace()/_lsm()/_iter().
    {"tp_btf+",                 pt::tracing, at::trace_raw_tp, btf_target, am::tracing},
    {"fentry+",                 pt::tracing, at::trace_fentry, btf_target, am::tracing},
    {"fmod_ret+",               pt::tracing, at::modify_return, btf_target, am::tracing},
    {"fexit+",                  pt::tracing, at::trace_fexit, btf_target, am::tracing},
    {"fentry.s+",               pt::tracing, at::trace_fentry, btf_target | sleepable, am::tracing},
    {"fmod_ret.s+",             pt::tracing, at::modify_return, btf_target | sleepable, am::tracing},
    {"fexit.s+",                pt::tracing, at::trace_fexit, btf_target | sleepable, am::tracing},
    {"freplace+",               pt::ext, none, btf_target, am::tracing},
    {"lsm+",                    pt::lsm, at::lsm_mac, btf_target, am::lsm},
    {"lsm.s+",                  pt::lsm, at::lsm_mac, btf_target | sleepable, am::lsm},
    {"lsm_cgroup+",             pt::lsm, at::lsm_cgroup, btf_target, am::none},  // needs a cgroup
    {"iter+",                   pt::tracing, at::trace_iter, btf_target, am::iter},
    {"iter.s+",                 pt::tracing, at::trace_iter, btf_target | sleepable, am::iter},
    {"syscall",                 pt::syscall, none, sleepable, am::none},  // run, not attached

    // XDP: the ".frags" forms handle multi-buffer frames; devmap/cpumap are programs in map slots.
    {"xdp.frags/devmap",        pt::xdp, at::xdp_devmap, xdp_frags, am::none},
    {"xdp/devmap",              pt::xdp, at::xdp_devmap, attachable, am::none},
    {"xdp.frags/cpumap",        pt::xdp, at::xdp_cpumap, xdp_frags, am::none},
    {"xdp/cpumap",              pt::xdp, at::xdp_cpumap, attachable, am::none},
    {"xdp.frags",               pt::xdp, at::xdp, xdp_frags, am::none},
    {"xdp",                     pt::xdp, at::xdp, attachable_opt, am::none},

    // Perf events and lightweight tunnels.
    {"perf_event",              pt::perf_event, none, 0, am::none},
    {"lwt_in",                  pt::lwt_in, none, 0, am::none},
    {"lwt_out",                 pt::lwt_out, none, 0, am::none},
    {"lwt_xmit",                pt::lwt_xmit, none, 0, am::none},
    {"lwt_seg6local",           pt::lwt_seg6local, none, 0, am::none},

    // Sockets, sockmap/sockhash verdicts, IR decoding, flow dissector.
    {"sockops",                 pt::sock_ops, at::cgroup_sock_ops, attachable_opt, am::none},
    {"sk_skb/stream_parser",    pt::sk_skb, at::sk_skb_stream_parser, attachable_opt, am::none},
    {"sk_skb/stream_verdict",   pt::sk_skb, at::sk_skb_stream_verdict, attachable_opt, am::none},
    {"sk_skb/verdict",          pt::sk_skb, at::sk_skb_verdict, attachable_opt, am::none},
    {"sk_skb",                  pt::sk_skb, none, 0, am::none},
    {"sk_msg",                  pt::sk_msg, at::sk_msg_verdict, attachable_opt, am::none},
    {"lirc_mode2",              pt::lirc_mode2, at::lirc_mode2, attachable_opt, am::none},
    {"flow_dissector",          pt::flow_dissector, at::flow_dissector, attachable_opt, am::none},

    // cgroup programs.
    {"cgroup_skb/ingress",      pt::cgroup_skb, at::cgroup_inet_ingress, attachable_opt, am::none},
    {"cgroup_skb/egress",       pt::cgroup_skb, at::cgroup_inet_egress, attachable_opt, am::none},
    {"cgroup/skb",              pt::cgroup_skb, none, 0, am::none},
    {"cgroup/sock_create",      pt::cgroup_sock, at::cgroup_inet_sock_create, attachable, am::none},
    {"cgroup/sock_release",     pt::cgroup_sock, at::cgroup_inet_sock_release, attachable, am::none},
    {"cgroup/sock",             pt::cgroup_sock, at::cgroup_inet_sock_create, attachable_opt, am::none},
    {"cgroup/post_bind4",       pt::cgroup_sock, at::cgroup_inet4_post_bind, attachable, am::none},
    {"cgroup/post_bind6",       pt::cgroup_sock, at::cgroup_inet6_post_bind, attachable, am::none},
    {"cgroup/bind4",            pt::cgroup_sock_addr, at::cgroup_inet4_bind, attachable, am::none},
    {"cgroup/bind6",            pt::cgroup_sock_addr, at::cgroup_inet6_bind, attachable, am::none},
    {"cgroup/connect4",         pt::cgroup_sock_addr, at::cgroup_inet4_connect, attachable, am::none},
    {"cgroup/connect6",         pt::cgroup_sock_addr, at::cgroup_inet6_connect, attachable, am::none},
    {"cgroup/connect_unix",     pt::cgroup_sock_addr, at::cgroup_unix_connect, attachable, am::none},
    {"cgroup/sendmsg4",         pt::cgroup_sock_addr, at::cgroup_udp4_sendmsg, attachable, am::none},
    {"cgroup/sendmsg6",         pt::cgroup_sock_addr, at::cgroup_udp6_sendmsg, attachable, am::none},
    {"cgroup/sendmsg_unix",     pt::cgroup_sock_addr, at::cgroup_unix_sendmsg, attachable, am::none},
    {"cgroup/recvmsg4",         pt::cgroup_sock_addr, at::cgroup_udp4_recvmsg, attachable, am::none},
    {"cgroup/recvmsg6",         pt::cgroup_sock_addr, at::cgroup_udp6_recvmsg, attachable, am::none},
    {"cgroup/recvmsg_unix",     pt::cgroup_sock_addr, at::cgroup_unix_recvmsg, attachable, am::none},
    {"cgroup/getpeername4",     pt::cgroup_sock_addr, at::cgroup_inet4_getpeername, attachable, am::none},
    {"cgroup/getpeername6",     pt::cgroup_sock_addr, at::cgroup_inet6_getpeername, attachable, am::none},
    {"cgroup/getpeername_unix", pt::cgroup_sock_addr, at::cgroup_unix_getpeername, attachable, am::none},
    {"cgroup/getsockname4",     pt::cgroup_sock_addr, at::cgroup_inet4_getsockname, attachable, am::none},
    {"cgroup/getsockname6",     pt::cgroup_sock_addr, at::cgroup_inet6_getsockname, attachable, am::none},
    {"cgroup/getsockname_unix", pt::cgroup_sock_addr, at::cgroup_unix_getsockname, attachable, am::none},
    {"cgroup/sysctl",           pt::cgroup_sysctl, at::cgroup_sysctl, attachable, am::none},
    {"cgroup/getsockopt",       pt::cgroup_sockopt, at::cgroup_getsockopt, attachable, am::none},
    {"cgroup/setsockopt",       pt::cgroup_sockopt, at::cgroup_setsockopt, attachable, am::none},
    {"cgroup/dev",              pt::cgroup_device, at::cgroup_device, attachable_opt, am::none},

    // struct_ops members (attached through their struct_ops map), socket lookup, netfilter hooks.
    {"struct_ops+",             pt::struct_ops, none, 0, am::none},
    {"struct_ops.s+",           pt::struct_ops, none, sleepable, am::none},
    {"sk_lookup",               pt::sk_lookup, at::sk_lookup, attachable, am::none},
    {"netfilter",               pt::netfilter, at::netfilter, 0, am::none},
};

constexpr std::size_t table_size = sizeof(table) / sizeof(table[0]);

constexpr std::array<std::string_view, table_size> pattern_list = [] {
  std::array<std::string_view, table_size> patterns{};
  for (std::size_t i = 0; i < table_size; ++i) patterns[i] = table[i].pattern;
  return patterns;
}();

// libbpf's sec_def_matches(). On a match returns where the target starts in `name` (name.size()
// for none), else npos.
std::size_t match(std::string_view pattern, std::string_view name) noexcept {
  constexpr auto no = std::string_view::npos;
  if (pattern.empty()) return no;
  switch (pattern.back()) {
    case '/':  // "type/": needs the separator; whatever follows (even nothing) is the target
      return name.substr(0, pattern.size()) == pattern ? pattern.size() : no;
    case '+': {  // "type+": exactly "type", or "type/" followed by the target
      const std::string_view base = pattern.substr(0, pattern.size() - 1);
      if (name.substr(0, base.size()) != base) return no;
      if (name.size() == base.size()) return name.size();
      return name[base.size()] == '/' ? base.size() + 1 : no;
    }
    default:
      return name == pattern ? name.size() : no;
  }
}

// An unsigned number as libbpf's "%li" reads it, but without sign or whitespace: 0x hex, 0 octal,
// or decimal, the whole string, no overflow.
std::optional<std::uint64_t> parse_number(std::string_view text) noexcept {
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : text) {
    unsigned digit = 0;
    if (c >= '0' && c <= '9') digit = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<unsigned>(c - 'a') + 10;
    else if (c >= 'A' && c <= 'F') digit = static_cast<unsigned>(c - 'A') + 10;
    else return std::nullopt;
    if (digit >= base) return std::nullopt;
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / base) return std::nullopt;
    value = value * base + digit;
  }
  return value;
}

bool is_symbol_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

}  // namespace

std::optional<section_info> classify_section(std::string_view section_name) {
  section_info info;
  // libbpf's bpf_object__init_prog(): SEC("?name") is SEC("name") with autoload off; only one '?'
  // is stripped.
  if (!section_name.empty() && section_name.front() == '?') {
    info.autoload = false;
    section_name.remove_prefix(1);
  }
  for (const convention& entry : table) {
    const std::size_t target = match(entry.pattern, section_name);
    if (target == std::string_view::npos) continue;
    info.type = entry.type;
    info.expected_attach_type = entry.attach;
    info.attach_target = std::string(section_name.substr(target));
    info.convention = entry.pattern;
    info.sleepable = (entry.flags & sleepable) != 0;
    if (info.sleepable) info.program_flags |= prog_flag_sleepable;
    // libbpf_prepare_prog_load() sets BPF_F_XDP_HAS_FRAGS only for XDP programs; all ours are.
    if ((entry.flags & xdp_frags) != 0) info.program_flags |= prog_flag_xdp_has_frags;
    info.attach_type_at_load = entry.attach.has_value() && (entry.flags & optional_at_load) == 0;
    info.attachable = (entry.flags & attachable) != 0;
    info.needs_btf_attach_target = (entry.flags & btf_target) != 0;
    info.method = entry.method;
    info.retprobe = (entry.flags & retprobe) != 0;
    return info;
  }
  return std::nullopt;
}

std::span<const std::string_view> section_conventions() noexcept { return pattern_list; }

std::optional<tracepoint_target> parse_tracepoint_target(std::string_view target) {
  // libbpf's attach_tp(): the category runs to the first '/', the name is the rest.
  const std::size_t slash = target.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == target.size()) return std::nullopt;
  return tracepoint_target{std::string(target.substr(0, slash)), std::string(target.substr(slash + 1))};
}

std::optional<kprobe_target> parse_kprobe_target(std::string_view target) {
  // libbpf's attach_kprobe(): sscanf("%m[a-zA-Z0-9_.]+%li").
  std::size_t end = 0;
  while (end < target.size() && is_symbol_char(target[end])) ++end;
  if (end == 0) return std::nullopt;
  kprobe_target result{std::string(target.substr(0, end)), 0};
  if (end == target.size()) return result;
  if (target[end] != '+') return std::nullopt;
  const auto offset = parse_number(target.substr(end + 1));
  if (!offset) return std::nullopt;
  result.offset = *offset;
  return result;
}

std::optional<uprobe_target> parse_uprobe_target(std::string_view target) {
  // libbpf's attach_uprobe(): sscanf("%m[^/]/%m[^:]:%m[^\n]") over the whole name, then a trailing
  // "+<offset>" is split off only when it is a whole number.
  const std::size_t colon = target.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view function = target.substr(colon + 1);
  std::uint64_t offset = 0;
  if (const std::size_t plus = function.rfind('+'); plus != std::string_view::npos) {
    if (const auto number = parse_number(function.substr(plus + 1))) {
      offset = *number;
      function = function.substr(0, plus);
    }
  }
  if (function.empty() || function.find('\n') != std::string_view::npos) return std::nullopt;
  return uprobe_target{std::string(target.substr(0, colon)), std::string(function), offset};
}

std::optional<usdt_target> parse_usdt_target(std::string_view target) {
  // libbpf's attach_usdt(): sscanf("usdt/%m[^:]:%m[^:]:%m[^:]") must yield three parts.
  const std::size_t first = target.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = target.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::string_view path = target.substr(0, first);
  const std::string_view provider = target.substr(first + 1, second - first - 1);
  const std::string_view name = target.substr(second + 1);
  if (path.empty() || provider.empty() || name.empty() || name.find(':') != std::string_view::npos)
    return std::nullopt;
  return usdt_target{std::string(path), std::string(provider), std::string(name)};
}

}  // namespace ebpf
