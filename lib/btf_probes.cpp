// Kernel BTF feature probes: each loads the smallest BTF that uses one feature (libbpf's
// probe_kern_btf_* in src/features.c / src/libbpf.c); the kernel's BTF loader rejects kinds it
// does not know with EINVAL. The answers are cached for the process, as libbpf caches them
// per object (kernel_supports); the kernel cannot lose a feature while we run.
#include <ebpf/btf_sanitizer.hpp>

#include "sys/bpf.hpp"

#include <unistd.h>

#include <cstdint>
#include <string_view>
#include <vector>

namespace ebpf {
namespace {

// A raw BTF blob from type words and a string section (which starts with the empty string).
std::vector<std::byte> blob(const std::vector<std::uint32_t>& types, std::string_view strings) {
  std::vector<std::byte> out;
  auto put = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
  };
  const auto type_len = static_cast<std::uint32_t>(types.size() * 4);
  put(0x0001eB9Fu);  // magic 0xeB9F, version 1, flags 0
  put(24);           // hdr_len
  put(0);            // type_off
  put(type_len);
  put(type_len);  // str_off
  put(static_cast<std::uint32_t>(strings.size()));
  for (std::uint32_t w : types) put(w);
  for (char c : strings) out.push_back(static_cast<std::byte>(c));
  return out;
}

constexpr std::uint32_t info(btf_kind kind, std::uint32_t vlen = 0, bool kind_flag = false) {
  return (kind_flag ? 1u << 31 : 0u) | (static_cast<std::uint32_t>(kind) << 24) | vlen;
}

// Strings shared by the probes: "\0int\0a\0.data\0?.data\0tag\0float\0e\0"
//                                  0 1   5 7      13      20   24     30
constexpr std::string_view strings{"\0int\0a\0.data\0?.data\0tag\0float\0e\0", 32};
constexpr std::uint32_t s_int = 1, s_a = 5, s_data = 7, s_qdata = 13, s_tag = 20, s_float = 24, s_e = 30;
// [1] int: 4 bytes, signed, 32 bits
#define EBPF_PROBE_INT s_int, info(btf_kind::integer), 4, (1u << 24) | 32

bool loads(const std::vector<std::uint32_t>& types) {
  const std::vector<std::byte> bytes = blob(types, strings);
  const int fd = sys::btf_load_attempt(bytes, -1, nullptr, 0, 0, nullptr);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

btf_features probe() {
  btf_features f;
  const std::uint32_t none = 0;
  // [1] int; [2] func_proto int(void); [3] func "a" -> [2], linkage static / global
  f.func = loads({EBPF_PROBE_INT, none, info(btf_kind::function_proto), 1, s_a, info(btf_kind::function, 0), 2});
  f.func_global = loads({EBPF_PROBE_INT, none, info(btf_kind::function_proto), 1, s_a, info(btf_kind::function, 1), 2});
  // [1] int; [2] var "a" int, static; [3] datasec ".data" / "?.data" of 4 bytes holding [2]
  f.datasec = loads({EBPF_PROBE_INT, s_a, info(btf_kind::variable), 1, 0, s_data, info(btf_kind::datasec, 1), 4, 2, 0, 4});
  f.qmark_datasec =
      loads({EBPF_PROBE_INT, s_a, info(btf_kind::variable), 1, 0, s_qdata, info(btf_kind::datasec, 1), 4, 2, 0, 4});
  // [1] float "float" of 4 bytes
  f.floating = loads({s_float, info(btf_kind::floating), 4});
  // [1] int; [2] var "a" int; [3] decl_tag "tag" on [2] itself (component -1)
  f.decl_tag = loads({EBPF_PROBE_INT, s_a, info(btf_kind::variable), 1, 0, s_tag, info(btf_kind::decl_tag), 2,
                      0xffffffffu});
  // [1] int; [2] type_tag "tag" -> [1]; [3] pointer -> [2]
  f.type_tag = loads({EBPF_PROBE_INT, s_tag, info(btf_kind::type_tag), 1, none, info(btf_kind::pointer), 2});
  // [1] enum64 "e" of 8 bytes, one enumerator "a" = 1
  f.enum64 = loads({s_e, info(btf_kind::enum64, 1), 8, s_a, 1, 0});
  return f;
}

#undef EBPF_PROBE_INT

}  // namespace

const btf_features& kernel_btf_features() {
  static const btf_features features = probe();
  return features;
}

btf sanitize_btf_for_kernel(const btf& types) {
  const btf_features& features = kernel_btf_features();
  if (!needs_sanitizing(types, features)) return types;
  return sanitize_btf(types, features);
}

}  // namespace ebpf
