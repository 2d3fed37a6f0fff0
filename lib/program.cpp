// ebpf::program: loading, inspecting, pinning and test-running a program (the attach functions
// live in link.cpp, next to the attachment kinds they create).

#include <ebpf/error.hpp>
#include <ebpf/program.hpp>

#include <algorithm>

#include "attach/uprobe_section.hpp"
#include "sys/bpf.hpp"

namespace ebpf {
namespace {

std::string default_subject(std::string_view name) { return "program '" + std::string(name) + "'"; }

}  // namespace

std::string program_info::tag_string() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(tag.size() * 2);
  for (std::uint8_t byte : tag) {
    hex += digits[byte >> 4];
    hex += digits[byte & 0x0f];
  }
  return hex;
}

program::program(unique_fd fd, std::string name, program_type type,
                 std::optional<attach_type> expected_attach_type) noexcept
    : fd_(std::move(fd)),
      subject_(default_subject(name)),
      name_(std::move(name)),
      type_(type),
      expected_attach_type_(expected_attach_type) {}

program program::load(const program_load_spec& spec, std::string* verifier_log) {
  std::string subject = spec.subject.empty() ? default_subject(spec.name) : spec.subject;
  if (spec.instructions.empty()) {
    throw_error(errc::invalid_argument, subject + ": load: the program has no instructions");
  }
  sys::prog_load_options options;
  options.type = spec.type;
  options.instructions = spec.instructions;
  options.license = spec.license;
  options.kern_version = spec.kernel_version;
  options.flags = spec.flags;
  options.expected_attach_type = spec.expected_attach_type;
  options.name = spec.name;
  options.ifindex = spec.ifindex;
  options.prog_btf_fd = spec.btf_fd;
  if (spec.btf_fd >= 0) {
    options.func_info = spec.func_info;
    options.func_info_rec_size = spec.func_info_record_size;
    options.line_info = spec.line_info;
    options.line_info_rec_size = spec.line_info_record_size;
  }
  options.attach_btf_id = spec.attach_btf_id;
  options.attach_btf_obj_fd = spec.attach_btf_obj_fd;
  options.attach_prog_fd = spec.attach_prog_fd;
  options.fd_array = spec.fd_array;
  options.token_fd = spec.token_fd;

  sys::log_options log;
  log.level = spec.log_level;
  unique_fd fd = sys::prog_load(options, subject, log, verifier_log);
  program loaded(std::move(fd), spec.name, spec.type, spec.expected_attach_type);
  loaded.subject_ = std::move(subject);
  return loaded;
}

program program::from_fd(unique_fd fd) {
  sys::fd_kind kind = sys::bpf_fd_kind(fd.get());
  if (kind != sys::fd_kind::program && kind != sys::fd_kind::unknown) {
    throw_error(errc::invalid_argument,
                "program: fd " + std::to_string(fd.get()) + " is not a BPF program");
  }
  sys::prog_info info = sys::prog_get_info(fd.get(), "program fd " + std::to_string(fd.get()));
  return program(std::move(fd), std::move(info.name), info.type);
}

program program::from_pin(const std::string& path) {
  return from_fd(sys::obj_get(path, 0, "program"));
}

program program::from_id(std::uint32_t id) {
  return from_fd(sys::prog_get_fd_by_id(id, "program"));
}

program program::dup() const {
  if (!fd_) throw_error(errc::invalid_argument, subject_ + ": dup: empty program handle");
  program copy(fd_.dup(), name_, type_, expected_attach_type_);
  copy.subject_ = subject_;
  copy.section_ = section_;
  return copy;
}

program_info program::info() const {
  sys::prog_info raw = sys::prog_get_info(fd_.get(), subject_);
  program_info info;
  info.id = raw.id;
  info.type = raw.type;
  info.name = std::move(raw.name);
  info.tag = raw.tag;
  info.xlated_length = raw.xlated_prog_len;
  info.jited_length = raw.jited_prog_len;
  info.map_ids = std::move(raw.map_ids);
  info.btf_id = raw.btf_id;
  info.run_count = raw.run_cnt;
  info.run_time = std::chrono::nanoseconds(raw.run_time_ns);
  info.verified_instructions = raw.verified_insns;
  info.load_time = std::chrono::nanoseconds(raw.load_time);
  info.created_by_uid = raw.created_by_uid;
  info.gpl_compatible = raw.gpl_compatible;
  info.recursion_misses = raw.recursion_misses;
  info.attach_btf_id = raw.attach_btf_id;
  info.attach_btf_object_id = raw.attach_btf_obj_id;
  info.ifindex = raw.ifindex;
  return info;
}

std::uint32_t program::id() const { return info().id; }

void program::pin(const std::string& path) const { sys::obj_pin(fd_.get(), path, subject_); }

std::size_t program::read_stream(program_stream stream, std::span<std::byte> buffer) const {
  return sys::prog_stream_read(fd(), static_cast<std::uint32_t>(stream), buffer, "program '" + name_ + "'");
}

std::string program::read_stream(program_stream stream) const {
  std::string text;
  std::byte chunk[4096];
  for (;;) {
    const std::size_t got = read_stream(stream, chunk);
    if (got == 0) return text;
    text.append(reinterpret_cast<const char*>(chunk), got);
  }
}

test_run_result program::test_run(const test_run_options& options) const {
  if (type_ == program_type::syscall) {
    // BPF_PROG_TYPE_SYSCALL runs once, takes no packet and no ctx_out: the kernel writes the
    // context back into the ctx_in buffer (net/bpf/test_run.c bpf_prog_test_run_syscall), so we
    // hand it a copy and return that as ctx_out.
    if (!options.data.empty() || options.repeat > 1 || options.flags)
      throw_error(errc::invalid_argument, subject_ + ": test run: syscall programs take only a context (no data, repeat or flags)");
    test_run_result result;
    result.ctx_out.assign(options.ctx.begin(), options.ctx.end());
    sys::test_run_options run;
    run.ctx_in = result.ctx_out;
    sys::test_run_result raw = sys::prog_test_run(fd_.get(), run, subject_);
    result.retval = raw.retval;
    result.ctx_out.resize(std::min(result.ctx_out.size(), options.ctx_out_size.value_or(result.ctx_out.size())));
    return result;
  }
  std::size_t data_capacity = options.data_out_size.value_or(
      options.data.empty() ? std::size_t{0} : options.data.size() + 4096);
  std::size_t ctx_capacity = options.ctx_out_size.value_or(options.ctx.size());

  test_run_result result;
  result.data_out.resize(data_capacity);
  result.ctx_out.resize(ctx_capacity);

  sys::test_run_options run;
  run.data_in = options.data;
  run.data_out = result.data_out;
  run.ctx_in = options.ctx;
  run.ctx_out = result.ctx_out;
  run.repeat = options.repeat;
  run.flags = options.flags;
  run.cpu = options.cpu;
  run.batch_size = options.batch_size;
  sys::test_run_result raw = sys::prog_test_run(fd_.get(), run, subject_);

  result.retval = raw.retval;
  result.duration = std::chrono::nanoseconds(raw.duration_ns);
  result.data_size_out = raw.data_size_out;
  result.data_out.resize(std::min<std::size_t>(data_capacity, raw.data_size_out));
  result.ctx_out.resize(std::min<std::size_t>(ctx_capacity, raw.ctx_size_out));
  return result;
}

link program::attach() const {
  if (!section_)
    throw_error(errc::invalid_argument, subject_ + ": attach: the program has no section to say where (use an attach_* function)");
  const section_info& section = *section_;
  const std::string where = subject_ + ": attach as SEC(\"" + std::string(section.convention) + "\")";
  if (type_ == program_type::struct_ops)
    throw_error(errc::invalid_argument, where + ": a struct_ops program runs as a member of its struct_ops map: register the "
                                                 "map with object::attach_struct_ops(\"<variable>\")");
  switch (section.method) {
    case attach_method::tracepoint: {
      auto target = parse_tracepoint_target(section.attach_target);
      if (!target) throw_error(errc::invalid_argument, where + ": section target '" + section.attach_target + "' is not <category>/<name>");
      return attach_tracepoint(target->category, target->name);
    }
    case attach_method::raw_tracepoint:
      if (section.attach_target.empty()) throw_error(errc::invalid_argument, where + ": the section names no tracepoint (use attach_raw_tracepoint)");
      return attach_raw_tracepoint(section.attach_target);
    case attach_method::tracing:
    case attach_method::lsm:
      // The target was fixed at load (attach_btf_id, and attach_prog_fd for freplace).
      return attach_trace();
    case attach_method::kprobe: {
      auto target = parse_kprobe_target(section.attach_target);
      if (!target) throw_error(errc::invalid_argument, where + ": section target '" + section.attach_target + "' is not <function>[+<offset>] (use attach_kprobe)");
      return attach_kprobe({.symbol = target->function, .offset = target->offset, .retprobe = section.retprobe});
    }
    case attach_method::ksyscall:
      if (section.attach_target.empty()) throw_error(errc::invalid_argument, where + ": the section names no syscall (use attach_kprobe with syscall = true)");
      return attach_kprobe({.symbol = section.attach_target, .retprobe = section.retprobe, .syscall = true});
    case attach_method::kprobe_multi:
    case attach_method::kprobe_session:
      if (section.attach_target.empty()) throw_error(errc::invalid_argument, where + ": the section names no function pattern (use attach_kprobe_multi)");
      return attach_kprobe_multi({.pattern = section.attach_target, .retprobe = section.retprobe});
    case attach_method::iter:
      return attach_iter();
    case attach_method::uprobe:
    case attach_method::uprobe_multi:
    case attach_method::uprobe_session:
    case attach_method::usdt:
      return detail::attach_uprobe_section(*this, section, where);
    default:
      break;
  }
  // sk_lookup and flow_dissector hook a network namespace: the caller's, unless told otherwise.
  if (type_ == program_type::sk_lookup || type_ == program_type::flow_dissector) return attach_netns();
  // XDP and tc programs hook a network device, and no section convention names one.
  if (type_ == program_type::xdp)
    throw_error(errc::invalid_argument, where + ": an XDP program needs an interface: use attach_xdp(interface, options)");
  if (type_ == program_type::sched_cls)
    throw_error(errc::invalid_argument, where + ": a tc program needs an interface: use attach_tcx(interface, direction) "
                                                 "or attach_tc(interface, direction)");
  throw_error(errc::invalid_argument, where + ": the section does not say where to attach: use attach_cgroup, attach_xdp, "
                                               "attach_socket_filter or the attach call for this program type");
}

unique_fd enable_program_stats() { return sys::enable_stats(sys::stats_run_time); }

std::vector<std::uint32_t> program_ids() {
  std::vector<std::uint32_t> ids;
  for (auto id = sys::prog_get_next_id(0); id; id = sys::prog_get_next_id(*id)) ids.push_back(*id);
  return ids;
}

}  // namespace ebpf
