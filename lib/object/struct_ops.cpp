// lay_out_struct_ops: an object's struct_ops variable placed in the kernel's map value.
//
// The map value the kernel wants (kernel/bpf/bpf_struct_ops.c, bpf_struct_ops_map_update_elem)
// is the wrapper struct that BPF_STRUCT_OPS_TYPE(<name>) declares in the kernel:
//
//   struct bpf_struct_ops_tcp_congestion_ops {      value_size = sizeof(this)
//     struct bpf_struct_ops_common_value common;    refcnt, state: must be zero from user space
//     struct tcp_congestion_ops data;               at data_offset
//   };
//
// Inside `data`, scalar members are copied as they are, and each function pointer member holds
// the fd of the program implementing it (the kernel swaps it for a trampoline); the kernel
// rejects a non-zero value in a member it does not know how to take. The object's struct is its
// own declaration (vmlinux.h or a partial one), so members are matched by name, like libbpf's
// bpf_map__init_kern_struct_ops (src/libbpf.c).
#include <ebpf/error.hpp>
#include <ebpf/struct_ops.hpp>

#include <algorithm>
#include <cstring>

namespace ebpf {
namespace {

bool is_zero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

bool is_function_pointer(const btf& types, std::uint32_t id) {
  auto type = types.type(types.skip_modifiers_and_typedefs(id));
  return type.kind == btf_kind::pointer &&
         types.type(types.skip_modifiers_and_typedefs(type.size_or_type)).kind == btf_kind::function_proto;
}

}  // namespace

struct_ops_layout lay_out_struct_ops(const btf& local, const struct_ops_spec& ops, const btf& kernel, std::string_view subject_view) {
  const std::string subject(subject_view);
  const std::string struct_name = "struct " + ops.type_name;
  struct_ops_layout layout;
  auto kernel_type = kernel.find(ops.type_name, btf_kind::struct_);
  if (!kernel_type) throw_error(errc::not_found, subject + ": " + struct_name + " is not in the kernel's BTF");
  const std::string wrapper = "bpf_struct_ops_" + ops.type_name;
  auto value_type = kernel.find(wrapper, btf_kind::struct_);
  if (!value_type)
    throw_error(errc::not_found, subject + ": the kernel has no struct " + wrapper + ": " + struct_name +
                                     " is not a struct_ops type of this kernel (or its subsystem is not built in)");
  layout.kernel_type_id = *kernel_type;
  layout.kernel_value_type_id = *value_type;
  bool found_data = false;
  for (const auto& member : kernel.members(*value_type)) {
    if (kernel.skip_modifiers_and_typedefs(member.type) == *kernel_type) {
      layout.data_offset = member.bit_offset / 8;
      found_data = true;
      break;
    }
  }
  if (!found_data) throw_error(errc::not_found, subject + ": struct " + wrapper + " holds no " + struct_name);
  const std::uint64_t value_size = kernel.size_of(*value_type);
  if (value_size > (1u << 20)) throw_error(errc::invalid_btf, subject + ": struct " + wrapper + " is " + std::to_string(value_size) + " bytes");
  layout.value.assign(static_cast<std::size_t>(value_size), std::byte{0});

  const auto kernel_members = kernel.members(*kernel_type);
  const auto local_members = local.members(ops.type_id);
  for (std::uint32_t i = 0; i < local_members.size(); ++i) {
    const auto& member = local_members[i];
    const std::string member_name(member.name);
    const std::string where = subject + ": member '" + member_name + "'";
    const std::string* program = nullptr;
    for (const auto& [index, name] : ops.programs)
      if (index == i) program = &name;
    if (member.bitfield_size || member.bit_offset % 8)
      throw_error(errc::type_mismatch, where + ": bitfields are not supported in struct_ops");
    const std::uint32_t offset = member.bit_offset / 8;
    const std::uint64_t size = is_function_pointer(local, member.type) ? 8 : local.size_of(member.type);
    if (offset > ops.data.size() || size > ops.data.size() - offset)
      throw_error(errc::invalid_object, where + ": outside the variable's " + std::to_string(ops.data.size()) + " bytes");
    const auto bytes = std::span<const std::byte>(ops.data).subspan(offset, static_cast<std::size_t>(size));

    std::optional<std::uint32_t> kernel_index;
    for (std::uint32_t k = 0; k < kernel_members.size(); ++k)
      if (kernel_members[k].name == member.name) kernel_index = k;
    if (!kernel_index) {
      // A member this kernel does not have is fine while the object leaves it unset: one object
      // can then serve kernels before and after the member was added.
      if (!program && is_zero(bytes)) continue;
      throw_error(errc::not_found, where + ": " + struct_name + " of this kernel has no such member" +
                                       (program ? " (set to program '" + *program + "')" : std::string(" (and the object sets it)")));
    }
    const auto& kernel_member = kernel_members[*kernel_index];
    if (kernel_member.bitfield_size || kernel_member.bit_offset % 8)
      throw_error(errc::type_mismatch, where + ": is a bitfield in the kernel's " + struct_name + " (not supported in struct_ops)");
    const std::uint32_t kernel_offset = layout.data_offset + kernel_member.bit_offset / 8;
    const auto local_type = local.type(local.skip_modifiers_and_typedefs(member.type));
    const auto kernel_member_type = kernel.type(kernel.skip_modifiers_and_typedefs(kernel_member.type));
    if (local_type.kind != kernel_member_type.kind)
      throw_error(errc::type_mismatch, where + ": is a " + std::string(to_string(local_type.kind)) + " in the object, a " +
                                           std::string(to_string(kernel_member_type.kind)) + " in the kernel's " + struct_name);
    if (local_type.kind == btf_kind::pointer) {
      if (!program) {
        // A pointer without a relocation is left unset (null): the object cannot give the kernel
        // an address.
        continue;
      }
      if (!is_function_pointer(kernel, kernel_member.type))
        throw_error(errc::type_mismatch, where + ": is set to program '" + *program + "' but is not a function pointer in the kernel's " + struct_name);
      if (kernel_offset + 8 > layout.value.size()) throw_error(errc::invalid_btf, where + ": outside struct " + wrapper);
      layout.programs.push_back({*program, member_name, *kernel_index, kernel_offset});
      continue;
    }
    const std::uint64_t kernel_size = kernel.size_of(kernel_member.type);
    if (kernel_size != size)
      throw_error(errc::type_mismatch, where + ": is " + std::to_string(size) + " bytes in the object, " + std::to_string(kernel_size) +
                                           " bytes in the kernel's " + struct_name);
    if (kernel_offset > layout.value.size() || size > layout.value.size() - kernel_offset)
      throw_error(errc::invalid_btf, where + ": outside struct " + wrapper);
    std::memcpy(layout.value.data() + kernel_offset, bytes.data(), bytes.size());
  }
  // The parser only records members of the struct; a hand-made spec may name others.
  for (const auto& [index, name] : ops.programs)
    if (index >= local_members.size()) throw_error(errc::invalid_object, subject + ": program '" + name + "' is set to member " + std::to_string(index) + ", which the struct lacks");
  return layout;
}

}  // namespace ebpf
