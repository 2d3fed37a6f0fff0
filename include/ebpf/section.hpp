// ebpfpp: libbpf-compatible ELF section names for programs. Pure: no kernel.
//
// SEC("tracepoint/sched/sched_process_exec") or SEC("cgroup_skb/ingress") says which program
// type and expected attach type a program has, and for many kinds also what to attach to.
// The conventions are libbpf's (the section_defs table in libbpf's src/libbpf.c), so objects
// written for libbpf load unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <ebpf/types.hpp>

namespace ebpf {

/// What a program's section name means.
struct section_info {
  program_type type = program_type::unspec;
  /// The expected_attach_type passed at load time (and the default attach type), if any.
  std::optional<attach_type> expected_attach_type;
  /// The part after the prefix: "sched/sched_process_exec" for "tracepoint/sched/sched_process_exec",
  /// "do_sys_open" for "kprobe/do_sys_open"; empty when there is none.
  std::string attach_target;
  /// The matched convention, e.g. "tracepoint+" or "cgroup_skb/ingress" (for messages).
  std::string_view convention;
  bool sleepable = false;  ///< ".s" variants (BPF_F_SLEEPABLE)
  bool autoload = true;    ///< false for a leading '?'
  std::uint32_t program_flags = 0;  ///< extra prog_flags, e.g. BPF_F_XDP_HAS_FRAGS for "xdp.frags"
  /// The expected attach type must be given at load time (the kernel checks it); otherwise it is
  /// only the default for attaching (libbpf's SEC_ATTACHABLE without SEC_EXP_ATTACH_OPT).
  bool attach_type_at_load = false;
  /// Program types whose attach target is a BTF id resolved at load (fentry, lsm, tp_btf, iter...).
  bool needs_btf_attach_target = false;
};

/// Classifies a section name. Returns std::nullopt when no convention matches (the caller decides
/// whether that is an error: it is only one when a program lives in the section).
std::optional<section_info> classify_section(std::string_view section_name);

}  // namespace ebpf
