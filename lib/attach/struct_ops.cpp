// ebpfpp: registering struct_ops maps (kernel/bpf/bpf_struct_ops.c).
//
// Two ways, as in libbpf's bpf_map__attach_struct_ops (src/libbpf.c):
// - a map created without BPF_F_LINK (SEC(".struct_ops"), 5.6) is registered by writing its one
//   value (bpf_struct_ops_map_update_elem calls the subsystem's reg()) and unregistered by
//   deleting it (bpf_struct_ops_map_delete_elem: unreg(), the map is then spent);
// - a BPF_F_LINK map (SEC(".struct_ops.link"), 6.4) only checks and stores the value on update;
//   BPF_LINK_CREATE with attach type BPF_STRUCT_OPS registers it for as long as the link lives,
//   and BPF_LINK_UPDATE swaps in another map (the subsystem's update(), e.g.
//   tcp_update_congestion_control, which keeps the name).
// The value is written once per map: a second update gives EBUSY (state no longer INIT), which
// for a link map just means an earlier attach wrote it, as libbpf treats it too.
// Before 6.4 (68b04864ca42 "bpf: Create links for BPF struct_ops maps.", aef56f2e918b "bpf:
// Update the struct_ops of a bpf_link.") bpf_struct_ops_map_alloc_check refuses BPF_F_LINK with
// EINVAL, so the loader creates a SEC(".struct_ops.link") map as a plain one there
// (kernel_feature::struct_ops_link) and it is registered the first way; what only a link can do
// (pin, swap the map) then fails naming 6.4 instead of failing the whole object.
#include "attach/struct_ops.hpp"

#include <ebpf/error.hpp>

#include "link_attachment.hpp"
#include "sys/bpf.hpp"

#include <cerrno>
#include <fcntl.h>
#include <cstdint>

namespace ebpf::detail {
namespace {

void write_value(int map_fd, std::span<const std::byte> value, bool with_link, const std::string& subject) {
  const std::uint32_t zero = 0;
  try {
    sys::map_update_elem(map_fd, &zero, value.data(), 0, subject + ": register");
  } catch (const error& e) {
    if (with_link && e.code() == std::error_code(EBUSY, std::system_category())) return;
    if (e.code() == std::error_code(EEXIST, std::system_category()))
      throw error(e.code(), std::string(e.what()) + " (a struct_ops of this name is already registered)");
    if (e.code() == std::error_code(EBUSY, std::system_category()))
      throw error(e.code(), std::string(e.what()) + " (the map is registered already, or was unregistered: reload the object)");
    throw;
  }
}

// A SEC(".struct_ops") map (or a ".struct_ops.link" one on a kernel without struct_ops links)
// registered by its value: deleting the element unregisters.
class struct_ops_registration final : public attachment {
 public:
  struct_ops_registration(unique_fd map, std::string subject, bool instead_of_link)
      : attachment(std::move(subject)), map_(std::move(map)), instead_of_link_(instead_of_link) {}

  std::string_view kind() const noexcept override { return "struct_ops map (update_elem)"; }
  void pin(const std::string& path) override {
    if (!instead_of_link_) return attachment::pin(path);  // throws: not a kernel link
    throw_error(errc::unsupported, subject_ + ": pin '" + path + "': " + no_link_reason);
  }
  void update(int new_prog_fd) override {
    if (!instead_of_link_) return attachment::update(new_prog_fd);  // throws: cannot swap
    throw_error(errc::unsupported, subject_ + ": update: " + no_link_reason);
  }
  int fd() const noexcept override { return map_.get(); }
  void close() noexcept override {
    if (!map_) return;
    const std::uint32_t zero = 0;
    try {
      sys::map_delete_elem(map_.get(), &zero, subject_);
    } catch (...) {
      // Destructors never throw; the map stays registered until it is deleted elsewhere.
    }
    map_.reset();
  }
  bool detach() override {
    const std::uint32_t zero = 0;
    sys::map_delete_elem(map_.get(), &zero, subject_ + ": unregister");
    map_.reset();
    return true;
  }
  unique_fd release() noexcept override {
    // The registration holds the map; our fd is not what keeps it.
    map_.reset();
    return {};
  }
  link_info info() const override { return {}; }

  static constexpr const char* no_link_reason =
      "struct_ops links need kernel 6.4 (BPF_F_LINK struct_ops maps); this kernel registered the "
      "SEC(\".struct_ops.link\") map by its value, which can be unregistered but not pinned or swapped";

 private:
  unique_fd map_;
  bool instead_of_link_;
};

}  // namespace

link attach_struct_ops(int map_fd, std::span<const std::byte> value, bool with_link, const std::string& subject,
                       bool instead_of_link) {
  write_value(map_fd, value, with_link, subject);
  if (!with_link) {
    unique_fd map(::fcntl(map_fd, F_DUPFD_CLOEXEC, 3));
    if (!map) {
      int saved = errno;
      const std::uint32_t zero = 0;
      sys::map_delete_elem(map_fd, &zero, subject);
      throw_errno(saved, subject + ": dup map fd");
    }
    return link(std::make_unique<struct_ops_registration>(std::move(map), subject, instead_of_link));
  }
  sys::link_create_options create;
  create.prog_fd = map_fd;  // link_create.map_fd shares the field (kernel/bpf/syscall.c link_create)
  create.type = attach_type::struct_ops;
  auto link_fd = sys::link_create(create, subject + ": register");
  return link(make_kernel_link(std::move(link_fd), subject, "struct_ops bpf_link"));
}

void update_struct_ops_link(int link_fd, int map_fd, std::span<const std::byte> value, const std::string& subject) {
  write_value(map_fd, value, /*with_link=*/true, subject);
  // link_update.new_map_fd shares the field of new_prog_fd (kernel/bpf/syscall.c link_update_map).
  sys::link_update(link_fd, map_fd, -1, subject);
}

}  // namespace ebpf::detail
