// ebpfpp (pure): the parts of feature probing that need no kernel: the verifier-verdict
// classifiers, the helper names, the names of kernel features (include/ebpf/features.hpp).
#include <ebpf/features.hpp>

#include <array>
#include <cerrno>

namespace ebpf {
namespace {

// enum bpf_func_id of kernel 6.18, from its BTF (`bpftool btf dump file /sys/kernel/btf/vmlinux
// format c`): index = helper id. bpf_ prefixed as bpftool prints them; id 0 (unspec) has no name.
constexpr std::array<std::string_view, 212> helper_names = {
    "", "bpf_map_lookup_elem", "bpf_map_update_elem", "bpf_map_delete_elem", "bpf_probe_read",
    "bpf_ktime_get_ns", "bpf_trace_printk", "bpf_get_prandom_u32", "bpf_get_smp_processor_id",
    "bpf_skb_store_bytes", "bpf_l3_csum_replace", "bpf_l4_csum_replace", "bpf_tail_call",
    "bpf_clone_redirect", "bpf_get_current_pid_tgid", "bpf_get_current_uid_gid",
    "bpf_get_current_comm", "bpf_get_cgroup_classid", "bpf_skb_vlan_push", "bpf_skb_vlan_pop",
    "bpf_skb_get_tunnel_key", "bpf_skb_set_tunnel_key", "bpf_perf_event_read", "bpf_redirect",
    "bpf_get_route_realm", "bpf_perf_event_output", "bpf_skb_load_bytes", "bpf_get_stackid",
    "bpf_csum_diff", "bpf_skb_get_tunnel_opt", "bpf_skb_set_tunnel_opt", "bpf_skb_change_proto",
    "bpf_skb_change_type", "bpf_skb_under_cgroup", "bpf_get_hash_recalc", "bpf_get_current_task",
    "bpf_probe_write_user", "bpf_current_task_under_cgroup", "bpf_skb_change_tail",
    "bpf_skb_pull_data", "bpf_csum_update", "bpf_set_hash_invalid", "bpf_get_numa_node_id",
    "bpf_skb_change_head", "bpf_xdp_adjust_head", "bpf_probe_read_str", "bpf_get_socket_cookie",
    "bpf_get_socket_uid", "bpf_set_hash", "bpf_setsockopt", "bpf_skb_adjust_room",
    "bpf_redirect_map", "bpf_sk_redirect_map", "bpf_sock_map_update", "bpf_xdp_adjust_meta",
    "bpf_perf_event_read_value", "bpf_perf_prog_read_value", "bpf_getsockopt",
    "bpf_override_return", "bpf_sock_ops_cb_flags_set", "bpf_msg_redirect_map",
    "bpf_msg_apply_bytes", "bpf_msg_cork_bytes", "bpf_msg_pull_data", "bpf_bind",
    "bpf_xdp_adjust_tail", "bpf_skb_get_xfrm_state", "bpf_get_stack", "bpf_skb_load_bytes_relative",
    "bpf_fib_lookup", "bpf_sock_hash_update", "bpf_msg_redirect_hash", "bpf_sk_redirect_hash",
    "bpf_lwt_push_encap", "bpf_lwt_seg6_store_bytes", "bpf_lwt_seg6_adjust_srh",
    "bpf_lwt_seg6_action", "bpf_rc_repeat", "bpf_rc_keydown", "bpf_skb_cgroup_id",
    "bpf_get_current_cgroup_id", "bpf_get_local_storage", "bpf_sk_select_reuseport",
    "bpf_skb_ancestor_cgroup_id", "bpf_sk_lookup_tcp", "bpf_sk_lookup_udp", "bpf_sk_release",
    "bpf_map_push_elem", "bpf_map_pop_elem", "bpf_map_peek_elem", "bpf_msg_push_data",
    "bpf_msg_pop_data", "bpf_rc_pointer_rel", "bpf_spin_lock", "bpf_spin_unlock", "bpf_sk_fullsock",
    "bpf_tcp_sock", "bpf_skb_ecn_set_ce", "bpf_get_listener_sock", "bpf_skc_lookup_tcp",
    "bpf_tcp_check_syncookie", "bpf_sysctl_get_name", "bpf_sysctl_get_current_value",
    "bpf_sysctl_get_new_value", "bpf_sysctl_set_new_value", "bpf_strtol", "bpf_strtoul",
    "bpf_sk_storage_get", "bpf_sk_storage_delete", "bpf_send_signal", "bpf_tcp_gen_syncookie",
    "bpf_skb_output", "bpf_probe_read_user", "bpf_probe_read_kernel", "bpf_probe_read_user_str",
    "bpf_probe_read_kernel_str", "bpf_tcp_send_ack", "bpf_send_signal_thread", "bpf_jiffies64",
    "bpf_read_branch_records", "bpf_get_ns_current_pid_tgid", "bpf_xdp_output",
    "bpf_get_netns_cookie", "bpf_get_current_ancestor_cgroup_id", "bpf_sk_assign",
    "bpf_ktime_get_boot_ns", "bpf_seq_printf", "bpf_seq_write", "bpf_sk_cgroup_id",
    "bpf_sk_ancestor_cgroup_id", "bpf_ringbuf_output", "bpf_ringbuf_reserve", "bpf_ringbuf_submit",
    "bpf_ringbuf_discard", "bpf_ringbuf_query", "bpf_csum_level", "bpf_skc_to_tcp6_sock",
    "bpf_skc_to_tcp_sock", "bpf_skc_to_tcp_timewait_sock", "bpf_skc_to_tcp_request_sock",
    "bpf_skc_to_udp6_sock", "bpf_get_task_stack", "bpf_load_hdr_opt", "bpf_store_hdr_opt",
    "bpf_reserve_hdr_opt", "bpf_inode_storage_get", "bpf_inode_storage_delete", "bpf_d_path",
    "bpf_copy_from_user", "bpf_snprintf_btf", "bpf_seq_printf_btf", "bpf_skb_cgroup_classid",
    "bpf_redirect_neigh", "bpf_per_cpu_ptr", "bpf_this_cpu_ptr", "bpf_redirect_peer",
    "bpf_task_storage_get", "bpf_task_storage_delete", "bpf_get_current_task_btf",
    "bpf_bprm_opts_set", "bpf_ktime_get_coarse_ns", "bpf_ima_inode_hash", "bpf_sock_from_file",
    "bpf_check_mtu", "bpf_for_each_map_elem", "bpf_snprintf", "bpf_sys_bpf",
    "bpf_btf_find_by_name_kind", "bpf_sys_close", "bpf_timer_init", "bpf_timer_set_callback",
    "bpf_timer_start", "bpf_timer_cancel", "bpf_get_func_ip", "bpf_get_attach_cookie",
    "bpf_task_pt_regs", "bpf_get_branch_snapshot", "bpf_trace_vprintk", "bpf_skc_to_unix_sock",
    "bpf_kallsyms_lookup_name", "bpf_find_vma", "bpf_loop", "bpf_strncmp", "bpf_get_func_arg",
    "bpf_get_func_ret", "bpf_get_func_arg_cnt", "bpf_get_retval", "bpf_set_retval",
    "bpf_xdp_get_buff_len", "bpf_xdp_load_bytes", "bpf_xdp_store_bytes", "bpf_copy_from_user_task",
    "bpf_skb_set_tstamp", "bpf_ima_file_hash", "bpf_kptr_xchg", "bpf_map_lookup_percpu_elem",
    "bpf_skc_to_mptcp_sock", "bpf_dynptr_from_mem", "bpf_ringbuf_reserve_dynptr",
    "bpf_ringbuf_submit_dynptr", "bpf_ringbuf_discard_dynptr", "bpf_dynptr_read",
    "bpf_dynptr_write", "bpf_dynptr_data", "bpf_tcp_raw_gen_syncookie_ipv4",
    "bpf_tcp_raw_gen_syncookie_ipv6", "bpf_tcp_raw_check_syncookie_ipv4",
    "bpf_tcp_raw_check_syncookie_ipv6", "bpf_ktime_get_tai_ns", "bpf_user_ringbuf_drain",
    "bpf_cgrp_storage_get", "bpf_cgrp_storage_delete",

};

struct feature_text {
  kernel_feature feature;
  std::string_view name;
  std::string_view description;
};

constexpr std::array<feature_text, 27> feature_texts = {{
    {kernel_feature::prog_name, "prog_name", "program names in BPF_PROG_LOAD (4.15)"},
    {kernel_feature::expected_attach_type, "expected_attach_type", "expected_attach_type in BPF_PROG_LOAD (4.17)"},
    {kernel_feature::btf, "btf", "BTF upload with BPF_BTF_LOAD (4.18)"},
    {kernel_feature::btf_func, "btf_func", "BTF_KIND_FUNC and BTF_KIND_FUNC_PROTO (5.0)"},
    {kernel_feature::btf_func_global, "btf_func_global", "BTF global function linkage (5.6)"},
    {kernel_feature::btf_datasec, "btf_datasec", "BTF_KIND_VAR and BTF_KIND_DATASEC (5.2)"},
    {kernel_feature::btf_float, "btf_float", "BTF_KIND_FLOAT (5.13)"},
    {kernel_feature::btf_decl_tag, "btf_decl_tag", "BTF_KIND_DECL_TAG (5.16)"},
    {kernel_feature::btf_type_tag, "btf_type_tag", "BTF_KIND_TYPE_TAG (5.17)"},
    {kernel_feature::btf_enum64, "btf_enum64", "BTF_KIND_ENUM64 (6.0)"},
    {kernel_feature::btf_in_map_create, "btf_in_map_create", "key/value BTF in BPF_MAP_CREATE (4.18)"},
    {kernel_feature::module_btf, "module_btf", "named BTF objects, module BTF (5.11)"},
    {kernel_feature::global_data, "global_data", "global data: BPF_PSEUDO_MAP_VALUE (5.2)"},
    {kernel_feature::mmapable_maps, "mmapable_maps", "BPF_F_MMAPABLE array maps (5.5)"},
    {kernel_feature::ringbuf, "ringbuf", "BPF ring buffer maps (5.8)"},
    {kernel_feature::bounded_loops, "bounded_loops", "bounded loops (5.3)"},
    {kernel_feature::probe_read_kernel, "probe_read_kernel", "bpf_probe_read_kernel() (5.5)"},
    {kernel_feature::bpf_cookie, "bpf_cookie", "bpf_get_attach_cookie() (5.15)"},
    {kernel_feature::kfunc_calls, "kfunc_calls", "calls of kernel functions, kfuncs (5.13)"},
    {kernel_feature::enable_stats, "enable_stats", "BPF_ENABLE_STATS run-time statistics (5.8)"},
    {kernel_feature::bpf_link, "bpf_link", "BPF_LINK_CREATE and cgroup links (5.7)"},
    {kernel_feature::perf_link, "perf_link", "perf_event links (5.15)"},
    {kernel_feature::kprobe_multi_link, "kprobe_multi_link", "kprobe_multi links (5.18, CONFIG_FPROBE)"},
    {kernel_feature::uprobe_multi_link, "uprobe_multi_link", "uprobe_multi links (6.6)"},
    {kernel_feature::tcx_link, "tcx_link", "tcx links (6.6)"},
    {kernel_feature::netkit_link, "netkit_link", "netkit links (6.7, CONFIG_NETKIT)"},
    {kernel_feature::struct_ops_link, "struct_ops_link", "struct_ops links, BPF_F_LINK struct_ops maps (6.4)"},
}};

constexpr std::array<kernel_feature, feature_texts.size()> make_feature_list() {
  std::array<kernel_feature, feature_texts.size()> out{};
  for (std::size_t i = 0; i < feature_texts.size(); ++i) out[i] = feature_texts[i].feature;
  return out;
}
constexpr auto feature_list = make_feature_list();

constexpr bool texts_in_order() {
  for (std::size_t i = 0; i < feature_texts.size(); ++i)
    if (static_cast<std::size_t>(feature_texts[i].feature) != i) return false;
  return true;
}
static_assert(texts_in_order(), "feature_texts must list every kernel_feature in declaration order");

bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

}  // namespace

std::string_view to_string(support answer) noexcept {
  switch (answer) {
    case support::supported: return "supported";
    case support::unsupported: return "unsupported";
    case support::unknown: return "unknown";
  }
  return "unknown";
}

std::span<const kernel_feature> all_kernel_features() noexcept { return feature_list; }

std::string_view to_string(kernel_feature feature) noexcept {
  auto index = static_cast<std::size_t>(feature);
  return index < feature_texts.size() ? feature_texts[index].name : std::string_view("unknown");
}

std::string_view description(kernel_feature feature) noexcept {
  auto index = static_cast<std::size_t>(feature);
  return index < feature_texts.size() ? feature_texts[index].description : std::string_view("unknown feature");
}

std::string_view helper_name(std::uint32_t helper_id) noexcept {
  return helper_id < helper_names.size() ? helper_names[helper_id] : std::string_view();
}

std::uint32_t helper_id_limit() noexcept { return static_cast<std::uint32_t>(helper_names.size()); }

namespace detail {

std::string_view log_line_with(std::string_view log, std::string_view needle) noexcept {
  std::string_view found;
  while (!log.empty()) {
    auto end = log.find('\n');
    std::string_view line = log.substr(0, end);
    if (!line.empty() && contains(line, needle)) found = line;
    if (end == std::string_view::npos) break;
    log.remove_prefix(end + 1);
  }
  return found;
}

probe_result classify_helper_probe(int error, std::string_view log) {
  probe_result result;
  if (error == 0) {
    result.state = support::supported;
    return result;
  }
  // kernel/bpf/verifier.c, check_helper_call() and get_helper_proto(): an id beyond the kernel's
  // enum gives "invalid func unknown#N"; a helper the program type's get_func_proto() does not
  // offer gives "unknown func bpf_x#N" (older kernels) or "program of this type cannot use helper
  // bpf_x#N" (6.x, also for helpers lockdown withdraws, e.g. bpf_probe_write_user). The same
  // three strings decide in libbpf's libbpf_probe_bpf_helper() and bpftool's probe_helper_ifindex().
  for (std::string_view marker : {std::string_view("invalid func "), std::string_view("unknown func "),
                                  std::string_view("program of this type cannot use helper ")}) {
    std::string_view line = log_line_with(log, marker);
    if (!line.empty()) {
      result.state = support::unsupported;
      result.error = error;
      result.detail = std::string(line);
      return result;
    }
  }
  if (log.find_first_not_of(" \n\t") != std::string_view::npos) {
    // The verifier looked the helper up and objected to something else (its arguments, the
    // context, sleepability): the helper exists for this program type.
    result.state = support::supported;
    return result;
  }
  result.state = support::unknown;
  result.error = error;
  return result;
}

probe_result classify_program_type_probe(int error, std::string_view log, int expected_error,
                                         std::string_view expected_message) {
  probe_result result;
  if (error == 0) {
    result.state = support::supported;
    return result;
  }
  if (expected_error != 0 && error == expected_error &&
      (expected_message.empty() || contains(log, expected_message))) {
    // The failure only a kernel that knows the type gives (libbpf's probe_prog_load exp_err).
    result.state = support::supported;
    result.detail = std::string(expected_message);
    return result;
  }
  const bool verifier_ran = log.find_first_not_of(" \n\t") != std::string_view::npos;
  if ((error == EINVAL || error == E2BIG || error == EOPNOTSUPP || error == 524 /* ENOTSUPP */) &&
      !verifier_ran) {
    // bpf_prog_load() -> find_prog_type() refuses an unknown type with EINVAL before any log is
    // written; E2BIG: an older kernel saw attr fields it does not know.
    result.state = support::unsupported;
    result.error = error;
    return result;
  }
  if (verifier_ran && expected_error == 0) {
    // The verifier ran, so the kernel knows the type; our minimal program failed for another
    // reason (the line says which).
    result.state = support::supported;
    result.detail = std::string(log_line_with(log, ""));
    return result;
  }
  result.state = support::unknown;
  result.error = error;
  result.detail = std::string(log_line_with(log, ""));
  return result;
}

}  // namespace detail
}  // namespace ebpf
