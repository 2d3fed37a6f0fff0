// ebpfpp: program::attach_usdt.
//
// One USDT probe can have several sites (one per place the macro expands), each with its own
// argument locations. Like libbpf (src/usdt.c), every site gets a spec record in the program's
// spec map (bpf/include/ebpfpp/usdt.h: `ebpfpp_usdt`, u32 id -> struct ebpfpp_usdt_spec) and a
// uprobe whose BPF cookie is that id; bpf_usdt_arg() looks its spec up by bpf_get_attach_cookie().
// Unlike libbpf we need no ip -> spec map for kernels without cookies: we require cookies (5.15),
// which keeps the eBPF side to one lookup.
//
// The spec map belongs to the program (it is one of its maps), so we find it from the program's
// map ids: any loader works, and several programs of one object share it. Ids are claimed with
// BPF_NOEXIST, so two processes sharing a pinned map never hand out the same id.

#include <ebpf/error.hpp>
#include <ebpf/features.hpp>
#include <ebpf/program.hpp>
#include <ebpf/uprobe.hpp>

#include <atomic>
#include <cerrno>
#include <unistd.h>

#include "attach/binary_file.hpp"
#include "attach/probe_attachment.hpp"
#include "attach/uprobe_multi_link.hpp"
#include "link_attachment.hpp"
#include "object/usdt_note.hpp"
#include "sys/bpf.hpp"
#include "sys/probe_event.hpp"

namespace ebpf {
namespace {

constexpr std::string_view spec_map_name = "ebpfpp_usdt";

bool has_errno(const error& e, int value) {
  return e.code().category() == std::system_category() && e.code().value() == value;
}

// The USDT attachment: the per-site uprobes (or one uprobe_multi link) plus the spec records
// they refer to, deleted after the probes are gone.
class usdt_attachment final : public detail::attachment {
 public:
  usdt_attachment(std::string subject, unique_fd spec_map)
      : attachment(std::move(subject)), spec_map_(std::move(spec_map)) {}
  // ebpf::link calls close() first, which leaves nothing to do here; only an attachment that
  // never reached a link (attach_usdt failed half-way) is cleaned up by this.
  ~usdt_attachment() override { close(); }

  void add(std::unique_ptr<detail::attachment> probe) { probes_.push_back(std::move(probe)); }
  void add_spec(std::uint32_t id) { spec_ids_.push_back(id); }
  int spec_map() const noexcept { return spec_map_.get(); }

  std::string_view kind() const noexcept override {
    return probes_.size() == 1 ? probes_.front()->kind() : std::string_view("usdt (uprobe per site)");
  }
  bool is_kernel_link() const noexcept override {
    return probes_.size() == 1 && probes_.front()->is_kernel_link();
  }
  int fd() const noexcept override { return probes_.empty() ? -1 : probes_.front()->fd(); }

  void close() noexcept override {
    for (auto& probe : probes_) probe->close();
    probes_.clear();
    drop_specs();
  }
  bool detach() override {
    bool forced = true;
    std::exception_ptr failure;
    for (auto& probe : probes_) {
      try {
        forced = probe->detach() && forced;
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
    }
    probes_.clear();
    drop_specs();
    if (failure) std::rethrow_exception(failure);
    return forced;
  }
  // The fds keep the probes attached, and they need their specs: both stay. With several sites
  // only the first fd is returned; the others stay open (and attached) until the process exits.
  unique_fd release() noexcept override {
    unique_fd first;
    for (auto& probe : probes_) {
      unique_fd fd = probe->release();
      if (!first) first = std::move(fd);
      else (void)fd.release();
    }
    probes_.clear();
    spec_ids_.clear();
    return first;
  }
  void pin(const std::string& path) override {
    if (probes_.size() != 1) {
      throw_error(errc::unsupported, subject_ + ": pin '" + path + "': a USDT probe with " +
                                         std::to_string(probes_.size()) +
                                         " sites has no single kernel link (load the program for "
                                         "uprobe_multi to get one)");
    }
    probes_.front()->pin(path);
    spec_ids_.clear();  // the pinned link outlives us and keeps needing its specs
  }
  void update(int new_prog_fd) override {
    for (auto& probe : probes_) probe->update(new_prog_fd);
  }
  link_info info() const override {
    if (probes_.empty()) throw_error(errc::invalid_argument, subject_ + ": info: detached");
    return probes_.front()->info();
  }

 private:
  void drop_specs() noexcept {
    for (std::uint32_t id : spec_ids_) {
      try {
        sys::map_delete_elem(spec_map_.get(), &id, subject_);
      } catch (...) {
        // Teardown never throws; a spec left behind only occupies a slot.
      }
    }
    spec_ids_.clear();
  }

  unique_fd spec_map_;
  std::vector<std::uint32_t> spec_ids_;
  std::vector<std::unique_ptr<detail::attachment>> probes_;  // closed before the specs go
};

// The program's `ebpfpp_usdt` map, checked against the record layout this library writes.
unique_fd find_spec_map(int prog_fd, const std::string& subject, std::uint32_t& max_entries) {
  sys::prog_info info = sys::prog_get_info(prog_fd, subject);
  for (std::uint32_t id : info.map_ids) {
    unique_fd map_fd;
    try {
      map_fd = sys::map_get_fd_by_id(id, 0, subject);
    } catch (const error&) {
      continue;  // freed meanwhile
    }
    sys::map_info map = sys::map_get_info(map_fd.get(), subject);
    if (map.name != spec_map_name) continue;
    if (map.key_size != 4 || map.value_size != detail::usdt_spec_size) {
      throw_error(errc::type_mismatch,
                  subject + ": map '" + std::string(spec_map_name) + "' has key/value size " +
                      std::to_string(map.key_size) + "/" + std::to_string(map.value_size) +
                      ", not 4/" + std::to_string(detail::usdt_spec_size) +
                      " (built with another <ebpfpp/usdt.h>?)");
    }
    max_entries = map.max_entries;
    return map_fd;
  }
  throw_error(errc::not_found, subject + ": the program uses no '" + std::string(spec_map_name) +
                                   "' map: include <ebpfpp/usdt.h> and read arguments with "
                                   "bpf_usdt_arg()");
}

// Claims a free spec id (BPF_NOEXIST) and stores the record under it.
std::uint32_t store_spec(int map_fd, std::uint32_t max_entries,
                         const std::array<std::byte, detail::usdt_spec_size>& spec,
                         const std::string& subject) {
  static std::atomic<std::uint32_t> next{0};
  // A full map answers E2BIG; an id taken by another attachment EEXIST. Ids cycle through twice
  // the capacity, so a free slot is found whenever one exists.
  std::uint32_t attempts = max_entries * 2 + 1;
  for (std::uint32_t i = 0; i < attempts; ++i) {
    std::uint32_t id = next.fetch_add(1, std::memory_order_relaxed) % (max_entries * 2);
    try {
      sys::map_update_elem(map_fd, &id, spec.data(), sys::update_noexist, subject);
      return id;
    } catch (const error& e) {
      if (has_errno(e, EEXIST)) continue;
      if (has_errno(e, E2BIG)) {
        throw_error(errc::unsupported,
                    subject + ": map '" + std::string(spec_map_name) + "' is full (" +
                        std::to_string(max_entries) +
                        " probe sites): define EBPFPP_USDT_MAX_SPECS larger before including "
                        "<ebpfpp/usdt.h>");
      }
      throw;
    }
  }
  throw_error(errc::unsupported, subject + ": no free USDT spec id");
}

}  // namespace

link program::attach_usdt(const usdt_options& options) const {
  std::string subject = subject_ + ": usdt '" + options.binary + ":" + options.provider + ":" +
                        options.name + "'";
  if (options.provider.empty() || options.name.empty()) {
    throw_error(errc::invalid_argument, subject + ": provider and name are required");
  }
  std::string path;
  std::vector<detail::usdt_site> sites;
  try {
    path = resolve_binary_path(options.binary, options.pid);
    detail::binary_file file(path);
    sites = detail::find_usdt_sites(file.elf(), options.provider, options.name);
  } catch (const error& e) {
    throw error(e.code(), subject + ": " + e.what());
  }

  std::uint32_t max_entries = 0;
  unique_fd spec_map = find_spec_map(fd(), subject, max_entries);
  if (max_entries == 0) throw_error(errc::invalid_argument, subject + ": the spec map has no entries");

  // A program loaded for uprobe_multi (SEC("uprobe.multi"), or SEC("usdt") on a kernel with
  // uprobe_multi links) runs with the uprobe_multi run context, so a kernel that has those links
  // (6.6) attaches it through nothing else (kernel/bpf/syscall.c
  // bpf_prog_attach_check_attach_type); an older kernel knows nothing of that and takes it as a
  // plain uprobe program.
  const bool loaded_for_multi = expected_attach_type() == attach_type::trace_uprobe_multi;
  bool multi = false;
  switch (options.mode) {
    case usdt_attach_mode::automatic:
      // An unknown probe answer (no privileges) tries the link the program was loaded for.
      multi = loaded_for_multi &&
              probe_feature(kernel_feature::uprobe_multi_link).state != support::unsupported;
      break;
    case usdt_attach_mode::uprobe_per_site:
      if (loaded_for_multi && probe_feature(kernel_feature::uprobe_multi_link).supported()) {
        throw_error(errc::invalid_argument,
                    subject + ": one uprobe per site: the program was loaded for uprobe_multi (expected attach "
                              "type trace_uprobe_multi, as SEC(\"usdt\") is on kernels with uprobe_multi links), "
                              "and this kernel attaches such a program only through a uprobe_multi link (use "
                              "usdt_attach_mode::automatic, or load it from SEC(\"uprobe\"))");
      }
      break;
    case usdt_attach_mode::uprobe_multi:
      multi = true;
      break;
  }

  // On an exception below, the attachment's destructor detaches what was attached and deletes
  // the specs stored so far.
  auto attachment = std::make_unique<usdt_attachment>(subject, std::move(spec_map));
  std::vector<std::uint32_t> ids;
  for (const detail::usdt_site& site : sites) {
    ids.push_back(store_spec(attachment->spec_map(), max_entries,
                             detail::encode_usdt_spec(site.args, options.cookie), subject));
    attachment->add_spec(ids.back());
  }

  if (multi) {
    std::vector<std::uint64_t> offsets, ref_ctr_offsets, cookies;
    bool any_semaphore = false;
    for (std::size_t i = 0; i < sites.size(); ++i) {
      offsets.push_back(sites[i].offset);
      ref_ctr_offsets.push_back(sites[i].semaphore_offset);
      any_semaphore = any_semaphore || sites[i].semaphore_offset != 0;
      cookies.push_back(ids[i]);
    }
    sys::link_uprobe_multi extra;
    extra.path = path.c_str();
    extra.offsets = offsets;
    if (any_semaphore) extra.ref_ctr_offsets = ref_ctr_offsets;
    extra.cookies = cookies;
    int pid = options.pid == 0 ? static_cast<int>(::getpid()) : options.pid;
    extra.pid = pid > 0 ? static_cast<std::uint32_t>(pid) : 0u;
    attachment->add(detail::create_uprobe_multi_link(fd(), expected_attach_type(), attach_type::trace_uprobe_multi,
                                                     extra, subject,
                                                     "use usdt_attach_mode::automatic (one uprobe per site)"));
  } else {
    for (std::size_t i = 0; i < sites.size(); ++i) {
      sys::probe_event_options probe;
      probe.kind = sys::probe_kind::uprobe;
      probe.target = path;
      probe.offset = sites[i].offset;
      probe.ref_ctr_offset = sites[i].semaphore_offset;
      probe.pid = options.pid;
      sys::probe_event event = sys::open_probe_event(probe, subject);
      std::string site_subject = subject + " site " + std::to_string(i);
      std::unique_ptr<detail::attachment> probe_link = detail::attach_probe_event(
          std::move(event), sys::probe_kind::uprobe, fd(), ids[i], site_subject);
      attachment->add(std::move(probe_link));
    }
  }
  return link(std::move(attachment));
}

}  // namespace ebpf
