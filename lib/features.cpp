// ebpfpp: feature probes against the running kernel (include/ebpf/features.hpp).
//
// Each probe is modelled on the kernel's own selftests' expectations as libbpf
// (src/libbpf_probes.c, src/features.c), bpftool (src/feature.c) and cilium/ebpf (features/,
// link/syscalls.go) encode them: what a minimal program or map of each type needs, and which
// errno or verifier message only a kernel that knows the feature gives. The verdict logic that
// needs no kernel is in lib/object/feature_probe.cpp (unit-tested).
#include <ebpf/features.hpp>

#include <ebpf/error.hpp>

#include "sys/bpf.hpp"

#include <sys/utsname.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

namespace ebpf {
namespace {

constexpr int enotsupp = 524;  // ENOTSUPP: the kernel-internal "not supported" errno

// ---------------------------------------------------------------------------------------------
// The cache: (question kind, a, b) -> answer. Unknown answers are not stored (features.hpp).

enum class question : std::uint8_t { program_type, map_type, helper, feature };
using cache_key = std::tuple<question, std::uint32_t, std::uint32_t>;

std::mutex cache_mutex;
std::map<cache_key, probe_result>& cache() {
  static std::map<cache_key, probe_result> answers;
  return answers;
}

template <class Probe>
probe_result cached(question kind, std::uint32_t a, std::uint32_t b, Probe probe) {
  const cache_key key{kind, a, b};
  {
    std::lock_guard lock(cache_mutex);
    auto found = cache().find(key);
    if (found != cache().end()) return found->second;
  }
  // Probe without the lock: probes load programs (milliseconds at worst) and other questions
  // should not wait for them. Two threads asking the same new question both probe; the first
  // answer stored wins.
  probe_result answer;
  try {
    answer = probe();
  } catch (const error& e) {
    answer.state = support::unknown;
    answer.error = e.code().category() == std::system_category() ? e.code().value() : EINVAL;
    answer.detail = e.what();
  } catch (const std::exception& e) {
    answer.state = support::unknown;
    answer.error = ENOMEM;
    answer.detail = e.what();
  }
  if (answer.state == support::unknown) return answer;
  std::lock_guard lock(cache_mutex);
  return cache().emplace(key, std::move(answer)).first->second;
}

int errno_of(const error& e) {
  return e.code().category() == std::system_category() ? e.code().value() : EINVAL;
}

probe_result answer(support state, int error = 0, std::string detail = {}) {
  probe_result out;
  out.state = state;
  out.error = error;
  out.detail = std::move(detail);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Instructions.

instruction insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
  return instruction{code, static_cast<std::uint8_t>((dst & 0x0f) | (src << 4)), off, imm};
}
instruction mov64_imm(std::uint8_t dst, std::int32_t imm) { return insn(0xb7, dst, 0, 0, imm); }
instruction mov64_reg(std::uint8_t dst, std::uint8_t src) { return insn(0xbf, dst, src, 0, 0); }
instruction add64_imm(std::uint8_t dst, std::int32_t imm) { return insn(0x07, dst, 0, 0, imm); }
instruction sub64_imm(std::uint8_t dst, std::int32_t imm) { return insn(0x17, dst, 0, 0, imm); }
instruction jne_imm(std::uint8_t dst, std::int32_t imm, std::int16_t off) { return insn(0x55, dst, 0, off, imm); }
instruction call_helper(std::int32_t id) { return insn(0x85, 0, 0, 0, id); }
instruction call_kfunc(std::int32_t btf_id) { return insn(0x85, 0, 2 /* BPF_PSEUDO_KFUNC_CALL */, 0, btf_id); }
instruction exit_insn() { return insn(0x95, 0, 0, 0, 0); }
/// *(u64 *)(dst + off) = imm
instruction st_dw(std::uint8_t dst, std::int16_t off, std::int32_t imm) { return insn(0x7a, dst, 0, off, imm); }

const std::vector<instruction>& return_zero() {
  static const std::vector<instruction> insns{mov64_imm(0, 0), exit_insn()};
  return insns;
}

// LINUX_VERSION_CODE of the running kernel: kprobe programs had to carry it before 5.0.
std::uint32_t kernel_version_code() {
  struct utsname name;
  if (::uname(&name) != 0) return 0;
  unsigned major = 0, minor = 0, patch = 0;
  if (std::sscanf(name.release, "%u.%u.%u", &major, &minor, &patch) < 2) return 0;
  return (major << 16) + (minor << 8) + (patch > 255 ? 255 : patch);
}

// ---------------------------------------------------------------------------------------------
// Program loads.

struct load_outcome {
  int error = 0;  // 0: loaded
  std::string log;
};

load_outcome try_load(const sys::prog_load_options& options, bool want_log) {
  std::string log(want_log ? 4096 : 0, '\0');
  int fd = sys::prog_load_attempt(options, want_log ? log.data() : nullptr, static_cast<std::uint32_t>(log.size()),
                                  want_log ? 1 : 0, nullptr);
  load_outcome out;
  if (fd >= 0) {
    unique_fd owned(fd);
  } else {
    out.error = -fd;
  }
  log.resize(::strnlen(log.data(), log.size()));
  out.log = std::move(log);
  return out;
}

// How a program of `type` must be loaded for the kernel to accept a trivial body, and for the
// types that cannot load without a real target, which failure proves the type exists.
struct type_setup {
  sys::prog_load_options options;
  int expected_error = 0;
  std::string_view expected_message;
  bool helpers_probeable = true;
};

type_setup setup_for(program_type type, std::span<const instruction> insns) {
  type_setup setup;
  setup.options.type = type;
  setup.options.instructions = insns;
  setup.options.license = "GPL";
  switch (type) {
    case program_type::cgroup_sock_addr:
      setup.options.expected_attach_type = attach_type::cgroup_inet4_connect;
      break;
    case program_type::cgroup_sockopt:
      setup.options.expected_attach_type = attach_type::cgroup_getsockopt;
      break;
    case program_type::sk_lookup:
      setup.options.expected_attach_type = attach_type::sk_lookup;
      break;
    case program_type::lirc_mode2:
      setup.options.expected_attach_type = attach_type::lirc_mode2;
      break;
    case program_type::netfilter:
      setup.options.expected_attach_type = attach_type::netfilter;
      break;
    case program_type::kprobe:
      setup.options.kern_version = kernel_version_code();
      break;
    case program_type::syscall:
      // Syscall programs must be sleepable (kernel/bpf/verifier.c check_attach_btf_id).
      setup.options.flags = sys::prog_sleepable;
      break;
    case program_type::tracing:
    case program_type::lsm:
      // Type id 1 of vmlinux BTF is never a function, so a kernel that knows the type fails in
      // bpf_check_attach_target() with this message; one that does not fails earlier (EINVAL
      // without it). As libbpf's probe_prog_load().
      setup.options.expected_attach_type =
          type == program_type::tracing ? attach_type::trace_fentry : attach_type::lsm_mac;
      setup.options.attach_btf_id = 1;
      setup.expected_error = EINVAL;
      setup.expected_message = "attach_btf_id 1 is not a function";
      setup.helpers_probeable = false;
      break;
    case program_type::ext:
      setup.options.attach_btf_id = 1;
      setup.expected_error = EINVAL;
      setup.expected_message = "Cannot replace kernel functions";
      setup.helpers_probeable = false;
      break;
    case program_type::struct_ops:
      // Without a struct_ops target the kernel answers ENOTSUPP from check_struct_ops_btf_id().
      setup.expected_error = enotsupp;
      setup.helpers_probeable = false;
      break;
    default:
      break;
  }
  return setup;
}

probe_result probe_program_type_now(program_type type) {
  if (type == program_type::unspec) return answer(support::unsupported, EINVAL, "unspec is not a program type");
  type_setup setup = setup_for(type, return_zero());
  load_outcome outcome = try_load(setup.options, true);
  return detail::classify_program_type_probe(outcome.error, outcome.log, setup.expected_error, setup.expected_message);
}

probe_result probe_helper_now(program_type type, std::uint32_t helper_id) {
  probe_result type_answer = probe_program_type(type);
  if (type_answer.state == support::unsupported)
    return answer(support::unsupported, type_answer.error, "program type " + std::string(to_string(type)) + " is not supported");
  if (type_answer.state == support::unknown)
    return answer(support::unknown, type_answer.error, "program type " + std::string(to_string(type)) + ": " + type_answer.detail);
  const std::vector<instruction> insns{call_helper(static_cast<std::int32_t>(helper_id)), exit_insn()};
  type_setup setup = setup_for(type, insns);
  if (!setup.helpers_probeable)
    return answer(support::unknown, EOPNOTSUPP,
                  "programs of type " + std::string(to_string(type)) + " need a real attach target to load, so helpers cannot be probed");
  load_outcome outcome = try_load(setup.options, true);
  return detail::classify_helper_probe(outcome.error, outcome.log);
}

// A program that loads or not, with no type-specific expectation: supported when it loads,
// unsupported when the kernel (or its verifier) refuses it.
probe_result loads(program_type type, std::span<const instruction> insns, std::optional<attach_type> expected = {}) {
  sys::prog_load_options options;
  options.type = type;
  options.instructions = insns;
  options.expected_attach_type = expected;
  load_outcome outcome = try_load(options, true);
  if (outcome.error == 0) return answer(support::supported);
  if (outcome.error == EPERM || outcome.error == EACCES)
    return outcome.log.empty() ? answer(support::unknown, outcome.error)
                               : answer(support::unsupported, outcome.error, std::string(detail::log_line_with(outcome.log, "")));
  return answer(support::unsupported, outcome.error, std::string(detail::log_line_with(outcome.log, "")));
}

// ---------------------------------------------------------------------------------------------
// BTF blobs (the encoding of include/uapi/linux/btf.h).

constexpr std::uint32_t btf_info(std::uint32_t kind, bool kind_flag, std::uint32_t vlen) {
  return (kind_flag ? 1u << 31 : 0u) | (kind << 24) | (vlen & 0xffff);
}
constexpr std::uint32_t kind_int = 1, kind_ptr = 2, kind_struct = 4, kind_func = 12, kind_func_proto = 13, kind_var = 14,
                        kind_datasec = 15, kind_float = 16, kind_decl_tag = 17, kind_type_tag = 18, kind_enum64 = 19;
constexpr std::uint32_t int_signed = 1u << 24;  // BTF_INT_ENC(BTF_INT_SIGNED, 0, 0)
constexpr std::uint32_t func_global = 1;        // BTF_FUNC_GLOBAL, in the vlen bits of a FUNC

// A raw BTF blob: header, then `types` (u32 words), then `strings` (starting with "\0").
std::vector<std::byte> btf_blob(std::span<const std::uint32_t> types, std::string_view strings) {
  struct header {
    std::uint16_t magic = 0xeb9f;
    std::uint8_t version = 1;
    std::uint8_t flags = 0;
    std::uint32_t hdr_len = 24;
    std::uint32_t type_off = 0;
    std::uint32_t type_len = 0;
    std::uint32_t str_off = 0;
    std::uint32_t str_len = 0;
  } hdr;
  static_assert(sizeof(header) == 24);
  hdr.type_len = static_cast<std::uint32_t>(types.size_bytes());
  hdr.str_off = hdr.type_len;
  hdr.str_len = static_cast<std::uint32_t>(strings.size());
  std::vector<std::byte> out(sizeof hdr + types.size_bytes() + strings.size());
  std::memcpy(out.data(), &hdr, sizeof hdr);
  std::memcpy(out.data() + sizeof hdr, types.data(), types.size_bytes());
  std::memcpy(out.data() + sizeof hdr + types.size_bytes(), strings.data(), strings.size());
  return out;
}

// BPF_BTF_LOAD; the fd on success, else -errno (the log, if any, in *log).
int load_btf(std::span<const std::uint32_t> types, std::string_view strings, std::string* log = nullptr) {
  std::vector<std::byte> blob = btf_blob(types, strings);
  std::string buffer(log ? 4096 : 0, '\0');
  int fd = sys::btf_load_attempt(blob, -1, log ? buffer.data() : nullptr, static_cast<std::uint32_t>(buffer.size()),
                                 log ? 1 : 0, nullptr);
  if (log) *log = buffer.substr(0, ::strnlen(buffer.data(), buffer.size()));
  return fd;
}

probe_result btf_loads(std::span<const std::uint32_t> types, std::string_view strings) {
  std::string log;
  int fd = load_btf(types, strings, &log);
  if (fd >= 0) {
    unique_fd owned(fd);
    return answer(support::supported);
  }
  if (-fd == EPERM && log.empty()) return answer(support::unknown, EPERM);
  return answer(support::unsupported, -fd, std::string(detail::log_line_with(log, "")));
}

// int [1]; struct bpf_spin_lock { int val; } [2]; struct val { int cnt; struct bpf_spin_lock l; } [3]:
// the value type libbpf's probes give local-storage maps (they need BTF and accept a spin lock).
int load_storage_btf() {
  static constexpr char strings[] = "\0bpf_spin_lock\0val\0cnt\0l";
  const std::uint32_t types[] = {
      0, btf_info(kind_int, false, 0), 4, int_signed | 32,  // [1] int
      1, btf_info(kind_struct, false, 1), 4,                // [2] struct bpf_spin_lock
      15, 1, 0,                                             //     int val;
      15, btf_info(kind_struct, false, 2), 8,               // [3] struct val
      19, 1, 0,                                             //     int cnt;
      23, 2, 32,                                            //     struct bpf_spin_lock l;
  };
  return load_btf(types, std::string_view(strings, sizeof strings));
}

// ---------------------------------------------------------------------------------------------
// Maps.

std::optional<int> map_error(const sys::map_create_options& options) {
  try {
    unique_fd fd = sys::map_create(options, "feature probe");
    return std::nullopt;
  } catch (const error& e) {
    return errno_of(e);
  }
}

probe_result probe_map_type_now(map_type type) {
  sys::map_create_options options;
  options.type = type;
  options.key_size = 4;
  options.value_size = 4;
  options.max_entries = 1;
  int expected_error = 0;
  unique_fd btf, inner;
  const auto number = static_cast<std::uint32_t>(type);
  switch (type) {
    case map_type::unspec:
      return answer(support::unsupported, EINVAL, "unspec is not a map type");
    case map_type::stack_trace:
      options.value_size = 8;
      break;
    case map_type::lpm_trie:
      options.key_size = 8;
      options.value_size = 8;
      options.flags = sys::map_no_prealloc;
      break;
    case map_type::cgroup_storage:
    case map_type::percpu_cgroup_storage:
      options.key_size = 16;  // struct bpf_cgroup_storage_key
      options.value_size = 8;
      options.max_entries = 0;
      break;
    case map_type::queue:
    case map_type::stack:
    case map_type::bloom_filter:
      options.key_size = 0;
      break;
    case map_type::sk_storage:
    case map_type::inode_storage:
    case map_type::task_storage:
    case map_type::cgrp_storage: {
      int fd = load_storage_btf();
      if (fd < 0) return answer(support::unknown, -fd, "the BTF the storage maps need was refused");
      btf = unique_fd(fd);
      options.btf_fd = btf.get();
      options.btf_key_type_id = 1;
      options.btf_value_type_id = 3;
      options.value_size = 8;
      options.max_entries = 0;
      options.flags = sys::map_no_prealloc;
      break;
    }
    case map_type::ringbuf:
    case map_type::user_ringbuf:
      options.key_size = 0;
      options.value_size = 0;
      options.max_entries = static_cast<std::uint32_t>(sys::page_size());
      break;
    case map_type::struct_ops:
      // No struct_ops value type has BTF id 1 in vmlinux: a kernel that knows the map type
      // looks it up and answers ENOTSUPP (kernel/bpf/bpf_struct_ops.c bpf_struct_ops_map_alloc
      // via bpf_struct_ops_find_value), as libbpf's probe_map_create() expects.
      options.btf_vmlinux_value_type_id = 1;
      expected_error = enotsupp;
      break;
    case map_type::arena:
      options.key_size = 0;
      options.value_size = 0;
      options.max_entries = 1;  // one page
      options.flags = sys::map_mmapable;
      break;
    case map_type::array_of_maps:
    case map_type::hash_of_maps: {
      sys::map_create_options inner_options;
      inner_options.type = map_type::hash;
      inner_options.key_size = inner_options.value_size = inner_options.max_entries = 4;
      try {
        inner = sys::map_create(inner_options, "feature probe: inner map");
      } catch (const error& e) {
        return answer(support::unknown, errno_of(e), e.what());
      }
      options.inner_map_fd = inner.get();
      break;
    }
    default:
      if (number == 34) options.value_size = 16;  // insn_array (6.19): struct bpf_insn_array_value
      break;
  }
  std::optional<int> error = map_error(options);
  if (!error) return expected_error ? answer(support::unsupported, 0, "created where a failure was expected") : answer(support::supported);
  if (expected_error && *error == expected_error) return answer(support::supported);
  if (*error == EPERM || *error == EACCES) return answer(support::unknown, *error);
  // find_and_alloc_map() refuses an unknown type with EINVAL; E2BIG: attr fields the kernel
  // lacks; ENOTSUPP/EOPNOTSUPP: compiled out.
  if (*error == EINVAL || *error == E2BIG || *error == EOPNOTSUPP || *error == enotsupp)
    return answer(support::unsupported, *error);
  return answer(support::unknown, *error);
}

// ---------------------------------------------------------------------------------------------
// Links: create one against a target that cannot exist and tell the errno of a kernel that
// checked the target (it knows the link type) from EINVAL (it does not).

probe_result link_errno_probe(program_type type, std::optional<attach_type> expected, const sys::link_create_options& link,
                              int knows_it) {
  sys::prog_load_options options;
  options.type = type;
  options.instructions = return_zero();
  options.expected_attach_type = expected;
  if (type == program_type::kprobe) options.kern_version = kernel_version_code();
  int fd = sys::prog_load_attempt(options, nullptr, 0, 0, nullptr);
  if (fd < 0) {
    if (-fd == EINVAL) return answer(support::unsupported, EINVAL, "the program for the link did not load");
    return answer(support::unknown, -fd, "the program for the link did not load");
  }
  unique_fd prog(fd);
  sys::link_create_options with_prog = link;
  with_prog.prog_fd = prog.get();
  try {
    unique_fd created = sys::link_create(with_prog, "feature probe");
    return answer(support::supported);
  } catch (const error& e) {
    int code = errno_of(e);
    if (code == knows_it) return answer(support::supported);
    if (code == EINVAL || code == EOPNOTSUPP || code == enotsupp) return answer(support::unsupported, code);
    return answer(support::unknown, code, e.what());
  }
}

probe_result probe_feature_now(kernel_feature feature) {
  switch (feature) {
    case kernel_feature::prog_name: {
      sys::prog_load_options options;
      options.type = program_type::socket_filter;
      options.instructions = return_zero();
      options.name = "ebpfpp_probe";
      load_outcome outcome = try_load(options, false);
      if (outcome.error == 0) return answer(support::supported);
      return answer(outcome.error == EPERM ? support::unknown : support::unsupported, outcome.error);
    }
    case kernel_feature::expected_attach_type:
      return loads(program_type::cgroup_sock, return_zero(), attach_type::cgroup_inet_sock_create);
    case kernel_feature::btf: {
      const std::uint32_t types[] = {1, btf_info(kind_int, false, 0), 4, int_signed | 32};
      return btf_loads(types, std::string_view("\0int", 5));
    }
    case kernel_feature::btf_func:
    case kernel_feature::btf_func_global: {
      // int [1]; void (int a) [2]; x [3], static or global.
      const std::uint32_t types[] = {
          1, btf_info(kind_int, false, 0), 4, int_signed | 32,
          0, btf_info(kind_func_proto, false, 1), 0, 7, 1,
          5, btf_info(kind_func, false, feature == kernel_feature::btf_func_global ? func_global : 0), 2,
      };
      return btf_loads(types, std::string_view("\0int\0x\0a", 9));
    }
    case kernel_feature::btf_datasec: {
      // int [1]; static int x [2]; .data { x } [3].
      const std::uint32_t types[] = {
          0, btf_info(kind_int, false, 0), 4, int_signed | 32,
          1, btf_info(kind_var, false, 0), 1, 0,
          3, btf_info(kind_datasec, false, 1), 4, 2, 0, 4,
      };
      return btf_loads(types, std::string_view("\0x\0.data", 9));
    }
    case kernel_feature::btf_float: {
      const std::uint32_t types[] = {1, btf_info(kind_float, false, 0), 4};
      return btf_loads(types, std::string_view("\0float", 7));
    }
    case kernel_feature::btf_decl_tag: {
      // int [1]; static int x [2]; tag "tag" on x [3] (component -1: the variable itself).
      const std::uint32_t types[] = {
          0, btf_info(kind_int, false, 0), 4, int_signed | 32,
          1, btf_info(kind_var, false, 0), 1, 0,
          1, btf_info(kind_decl_tag, false, 0), 2, 0xffffffffu,
      };
      return btf_loads(types, std::string_view("\0tag", 5));
    }
    case kernel_feature::btf_type_tag: {
      // int [1]; int __tag("tag") [2]; pointer to it [3].
      const std::uint32_t types[] = {
          0, btf_info(kind_int, false, 0), 4, int_signed | 32,
          1, btf_info(kind_type_tag, false, 0), 1,
          0, btf_info(kind_ptr, false, 0), 2,
      };
      return btf_loads(types, std::string_view("\0tag", 5));
    }
    case kernel_feature::btf_enum64: {
      const std::uint32_t types[] = {1, btf_info(kind_enum64, false, 0), 8};
      return btf_loads(types, std::string_view("\0enum64", 8));
    }
    case kernel_feature::btf_in_map_create: {
      const std::uint32_t types[] = {1, btf_info(kind_int, false, 0), 4, int_signed | 32};
      int fd = load_btf(types, std::string_view("\0int", 5));
      if (fd < 0) return answer(support::unsupported, -fd, "BTF itself was refused");
      unique_fd btf(fd);
      sys::map_create_options options;
      options.type = map_type::array;
      options.key_size = options.value_size = 4;
      options.max_entries = 1;
      options.btf_fd = btf.get();
      options.btf_key_type_id = options.btf_value_type_id = 1;
      std::optional<int> error = map_error(options);
      if (!error) return answer(support::supported);
      return answer(*error == EPERM ? support::unknown : support::unsupported, *error);
    }
    case kernel_feature::module_btf: {
      // Module BTF came with names for BTF objects (struct bpf_btf_info name/name_len, 5.11):
      // asking for the name of a loaded BTF works exactly where module BTF does (as libbpf's
      // probe_module_btf() decides).
      const std::uint32_t types[] = {1, btf_info(kind_int, false, 0), 4, int_signed | 32};
      int fd = load_btf(types, std::string_view("\0int", 5));
      if (fd < 0) return answer(support::unsupported, -fd, "BTF itself was refused");
      unique_fd btf(fd);
      try {
        sys::btf_get_info(btf.get(), "feature probe");
        return answer(support::supported);
      } catch (const error& e) {
        return answer(support::unsupported, errno_of(e));
      }
    }
    case kernel_feature::global_data: {
      sys::map_create_options options;
      options.type = map_type::array;
      options.key_size = 4;
      options.value_size = 32;
      options.max_entries = 1;
      unique_fd map = sys::map_create(options, "feature probe: global data map");
      // r1 = &map[0] (ld_imm64 with BPF_PSEUDO_MAP_VALUE); *(u64 *)r1 = 42; r0 = 0; exit
      const std::vector<instruction> insns{insn(0x18, 1, 2, 0, map.get()), insn(0, 0, 0, 0, 0), st_dw(1, 0, 42),
                                           mov64_imm(0, 0), exit_insn()};
      return loads(program_type::socket_filter, insns);
    }
    case kernel_feature::mmapable_maps: {
      sys::map_create_options options;
      options.type = map_type::array;
      options.key_size = options.value_size = 4;
      options.max_entries = 1;
      options.flags = sys::map_mmapable;
      std::optional<int> error = map_error(options);
      if (!error) return answer(support::supported);
      return answer(*error == EPERM ? support::unknown : support::unsupported, *error);
    }
    case kernel_feature::ringbuf:
      return probe_map_type(map_type::ringbuf);
    case kernel_feature::bounded_loops: {
      // r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop; exit (a back-edge: refused before 5.3).
      const std::vector<instruction> insns{mov64_imm(0, 10), sub64_imm(0, 1), jne_imm(0, 0, -2), exit_insn()};
      return loads(program_type::socket_filter, insns);
    }
    case kernel_feature::probe_read_kernel: {
      // bpf_probe_read_kernel(fp - 8, 8, NULL)
      const std::vector<instruction> insns{mov64_reg(1, 10), add64_imm(1, -8), mov64_imm(2, 8), mov64_imm(3, 0),
                                           call_helper(113), exit_insn()};
      return loads(program_type::tracepoint, insns);
    }
    case kernel_feature::bpf_cookie: {
      const std::vector<instruction> insns{call_helper(174 /* bpf_get_attach_cookie */), exit_insn()};
      return loads(program_type::tracepoint, insns);
    }
    case kernel_feature::kfunc_calls: {
      // A kfunc call to BTF id 1 (never a function in vmlinux): a kernel with kfunc calls looks
      // the id up and says so (kernel/bpf/verifier.c add_kfunc_call / fetch_kfunc_meta); one
      // without them rejects the call instruction's src_reg ("reserved fields") first.
      const std::vector<instruction> insns{call_kfunc(1), exit_insn()};
      sys::prog_load_options options;
      options.type = program_type::syscall;
      options.flags = sys::prog_sleepable;
      options.instructions = insns;
      load_outcome outcome = try_load(options, true);
      if (outcome.error == 0) return answer(support::supported);
      std::string_view line = detail::log_line_with(outcome.log, "is not a function");
      if (!line.empty()) return answer(support::supported, 0, std::string(line));
      for (std::string_view refusal : {std::string_view("reserved fields"), std::string_view("not supported"),
                                       std::string_view("JIT does not support"), std::string_view("JIT is required")}) {
        line = detail::log_line_with(outcome.log, refusal);
        if (!line.empty()) return answer(support::unsupported, outcome.error, std::string(line));
      }
      return answer(support::unknown, outcome.error, std::string(detail::log_line_with(outcome.log, "")));
    }
    case kernel_feature::enable_stats:
      try {
        unique_fd stats = sys::enable_stats(sys::stats_run_time);
        return answer(support::supported);
      } catch (const error& e) {
        int code = errno_of(e);
        return answer(code == EPERM ? support::unknown : support::unsupported, code);
      }
    case kernel_feature::bpf_link: {
      // A cgroup link on fd -1: EBADF from a kernel with links (cgroup_bpf_link_attach looks up
      // the cgroup fd), EINVAL from one without BPF_LINK_CREATE (cilium/ebpf haveBPFLink).
      sys::link_create_options link;
      link.target = 0xffffffffu;
      link.type = attach_type::cgroup_inet_ingress;
      return link_errno_probe(program_type::cgroup_skb, std::nullopt, link, EBADF);
    }
    case kernel_feature::perf_link: {
      // A perf_event link on fd -1: EBADF when the kernel looks the perf event up (libbpf
      // probe_perf_link).
      sys::link_create_options link;
      link.target = 0xffffffffu;
      link.type = attach_type::perf_event;
      return link_errno_probe(program_type::tracepoint, std::nullopt, link, EBADF);
    }
    case kernel_feature::kprobe_multi_link: {
      // The real thing on one symbol that every kernel has (cilium/ebpf haveBPFLinkKprobeMulti).
      // EOPNOTSUPP: the link type exists but the kernel was built without CONFIG_FPROBE.
      static const char* const symbols[] = {"vprintk"};
      sys::link_create_options link;
      link.type = attach_type::trace_kprobe_multi;
      link.extra = sys::link_kprobe_multi{0, symbols, {}, {}};
      return link_errno_probe(program_type::kprobe, attach_type::trace_kprobe_multi, link, 0);
    }
    case kernel_feature::uprobe_multi_link: {
      // A uprobe_multi on "/" (a directory): EBADF from a kernel that opens the path (libbpf
      // probe_uprobe_multi_link), EINVAL from one without the link type.
      static const std::uint64_t offsets[] = {0};
      sys::link_create_options link;
      link.type = attach_type::trace_uprobe_multi;
      sys::link_uprobe_multi multi;
      multi.path = "/";
      multi.offsets = offsets;
      link.extra = multi;
      return link_errno_probe(program_type::kprobe, attach_type::trace_uprobe_multi, link, EBADF);
    }
    case kernel_feature::tcx_link:
    case kernel_feature::netkit_link: {
      // On ifindex 0xffffffff: ENODEV from a kernel that looks the device up (cilium/ebpf
      // haveTCX / haveNetkit); EINVAL without the link type (or, for netkit, without
      // CONFIG_NETKIT: link_create falls through to netkit_link_attach's stub).
      const attach_type type =
          feature == kernel_feature::tcx_link ? attach_type::tcx_ingress : attach_type::netkit_primary;
      sys::link_create_options link;
      link.target = 0xffffffffu;
      link.type = type;
      return link_errno_probe(program_type::sched_cls, type, link, ENODEV);
    }
    case kernel_feature::struct_ops_link: {
      // A BPF_F_LINK struct_ops map of a value type that cannot exist (BTF id 1, as in the map
      // type probe). Since 6.4 (68b04864ca42 "bpf: Create links for BPF struct_ops maps.")
      // bpf_struct_ops_map_alloc_check accepts BPF_F_LINK and the lookup of the value type
      // answers ENOTSUPP; before, it refuses any map_flags with EINVAL (as it does when the map
      // type is unknown or compiled out).
      sys::map_create_options options;
      options.type = map_type::struct_ops;
      options.key_size = 4;
      options.value_size = 4;
      options.max_entries = 1;
      options.flags = 1u << 13;  // BPF_F_LINK as a map flag
      options.btf_vmlinux_value_type_id = 1;
      std::optional<int> error = map_error(options);
      if (!error) return answer(support::unknown, 0, "created a struct_ops map of BTF id 1");
      if (*error == enotsupp) return answer(support::supported);
      if (*error == EINVAL) return answer(support::unsupported, EINVAL);
      return answer(support::unknown, *error);
    }
  }
  return answer(support::unknown, EINVAL, "no probe for this feature");
}

}  // namespace

probe_result probe_program_type(program_type type) {
  return cached(question::program_type, static_cast<std::uint32_t>(type), 0,
                [type] { return probe_program_type_now(type); });
}

probe_result probe_map_type(map_type type) {
  return cached(question::map_type, static_cast<std::uint32_t>(type), 0, [type] { return probe_map_type_now(type); });
}

probe_result probe_helper(program_type type, std::uint32_t helper_id) {
  return cached(question::helper, static_cast<std::uint32_t>(type), helper_id,
                [type, helper_id] { return probe_helper_now(type, helper_id); });
}

probe_result probe_feature(kernel_feature feature) {
  return cached(question::feature, static_cast<std::uint32_t>(feature), 0, [feature] { return probe_feature_now(feature); });
}

}  // namespace ebpf
