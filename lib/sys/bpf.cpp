// ebpfpp: the bpf(2) commands.
//
// Every command fills a zeroed attr and passes the size up to the last field it uses, the way
// libbpf's src/bpf.c does with offsetofend(): the kernel copies `size` bytes, zero-fills the rest
// and rejects a larger attr whose unknown tail is not zero (bpf_check_uarg_tail_zero). Passing
// sizeof(union bpf_attr) would work only while our header and the kernel agree; passing the used
// size lets one binary run on kernels older and newer than the header it was built with.

#include "sys/bpf.hpp"

#include <ebpf/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "object/verifier_log.hpp"
#include "sys/compat.hpp"

#define EBPF_OFFSETOFEND(type, field) (offsetof(type, field) + sizeof(static_cast<type*>(nullptr)->field))

namespace ebpf::sys {
namespace {

constexpr std::size_t object_name_max = 15;  // BPF_OBJ_NAME_LEN - 1: room for the NUL

std::string context(std::string_view subject, std::string_view action) {
  std::string message(subject);
  if (!message.empty()) message += ": ";
  message += action;
  return message;
}

[[noreturn]] void fail(int errno_value, std::string_view subject, std::string_view action) {
  throw_errno(errno_value, context(subject, action));
}

std::uint64_t ptr(const void* pointer) noexcept {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

template <class Attr>
long sys_bpf(int cmd, Attr& attr, std::size_t size) noexcept {
  return ::syscall(__NR_bpf, cmd, &attr, size);
}

// A new fd of 0..2 would be closed by code that assumes stdin/stdout/stderr, or written to by
// printf: move it above 2 (libbpf's ensure_good_fd). bpf fds are already O_CLOEXEC: the kernel
// creates them with anon_inode_getfd(..., O_CLOEXEC) (kernel/bpf/syscall.c bpf_map_new_fd,
// bpf_prog_new_fd, bpf_link_settle; btf_new_fd), and F_DUPFD_CLOEXEC keeps that.
int ensure_good_fd(int fd) noexcept {
  if (fd < 0 || fd > 2) return fd;
  int good = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  ::close(fd);
  return good < 0 ? -saved : good;
}

// Runs a command that returns an fd: the fd (> 2) or -errno.
template <class Attr>
int sys_bpf_fd(int cmd, Attr& attr, std::size_t size) noexcept {
  long fd = sys_bpf(cmd, attr, size);
  if (fd < 0) return -errno;
  return ensure_good_fd(static_cast<int>(fd));
}

template <class Attr>
unique_fd checked_fd(int cmd, Attr& attr, std::size_t size, std::string_view subject,
                     std::string_view action) {
  int fd = sys_bpf_fd(cmd, attr, size);
  if (fd < 0) fail(-fd, subject, action);
  return unique_fd(fd);
}

template <class Attr>
void checked(int cmd, Attr& attr, std::size_t size, std::string_view subject,
             std::string_view action) {
  if (sys_bpf(cmd, attr, size) < 0) fail(errno, subject, action);
}

template <class Attr>
void zero(Attr& attr) noexcept {
  std::memset(&attr, 0, sizeof attr);
}

void copy_name(char (&out)[16], std::string_view name) noexcept {
  std::size_t n = std::min(name.size(), object_name_max);
  if (n > 0) std::memcpy(out, name.data(), n);  // an empty view may have a null data()
  out[n] = '\0';
}

std::string name_of(const char (&name)[16]) {
  return std::string(name, ::strnlen(name, sizeof name));
}

std::uint32_t checked_count(std::size_t count, std::string_view subject, std::string_view what) {
  if (count > std::numeric_limits<std::uint32_t>::max()) {
    throw_error(errc::invalid_argument, context(subject, what) + ": count " +
                                            std::to_string(count) + " does not fit in 32 bits");
  }
  return static_cast<std::uint32_t>(count);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Maps.

unique_fd map_create(const map_create_options& options, std::string_view subject) {
  compat::map_create_attr attr;
  zero(attr);
  std::size_t size = EBPF_OFFSETOFEND(compat::map_create_attr, max_entries);
  auto use = [&size](std::size_t end) { size = std::max(size, end); };

  attr.map_type = static_cast<std::uint32_t>(options.type);
  attr.key_size = options.key_size;
  attr.value_size = options.value_size;
  attr.max_entries = options.max_entries;
  attr.map_flags = options.flags;
  if (options.flags != 0) use(EBPF_OFFSETOFEND(compat::map_create_attr, map_flags));
  if (options.inner_map_fd >= 0) {
    attr.inner_map_fd = static_cast<std::uint32_t>(options.inner_map_fd);
    use(EBPF_OFFSETOFEND(compat::map_create_attr, inner_map_fd));
  }
  if (options.flags & map_numa_node) {
    attr.numa_node = options.numa_node;
    use(EBPF_OFFSETOFEND(compat::map_create_attr, numa_node));
  }
  if (!options.name.empty()) {
    copy_name(attr.map_name, options.name);
    use(EBPF_OFFSETOFEND(compat::map_create_attr, map_name));
  }
  if (options.ifindex != 0) {
    attr.map_ifindex = options.ifindex;
    use(EBPF_OFFSETOFEND(compat::map_create_attr, map_ifindex));
  }
  if (options.btf_fd >= 0) {
    attr.btf_fd = static_cast<std::uint32_t>(options.btf_fd);
    attr.btf_key_type_id = options.btf_key_type_id;
    attr.btf_value_type_id = options.btf_value_type_id;
    use(EBPF_OFFSETOFEND(compat::map_create_attr, btf_value_type_id));
  }
  if (options.btf_vmlinux_value_type_id != 0) {
    attr.btf_vmlinux_value_type_id = options.btf_vmlinux_value_type_id;
    use(EBPF_OFFSETOFEND(compat::map_create_attr, btf_vmlinux_value_type_id));
  }
  if (options.map_extra != 0) {
    attr.map_extra = options.map_extra;
    use(EBPF_OFFSETOFEND(compat::map_create_attr, map_extra));
  }
  if (options.value_type_btf_obj_fd >= 0) {
    attr.value_type_btf_obj_fd = options.value_type_btf_obj_fd;
    attr.map_flags |= compat::f_vtype_btf_obj_fd;
    use(EBPF_OFFSETOFEND(compat::map_create_attr, value_type_btf_obj_fd));
  }
  if (options.token_fd >= 0) {
    attr.map_token_fd = options.token_fd;
    attr.map_flags |= compat::f_token_fd;
    use(EBPF_OFFSETOFEND(compat::map_create_attr, map_token_fd));
  }
  return checked_fd(BPF_MAP_CREATE, attr, size, subject, "create");
}

bool map_lookup_elem(int map_fd, const void* key, void* value, std::uint64_t flags,
                     std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = ptr(key);
  attr.value = ptr(value);
  attr.flags = flags;
  if (sys_bpf(BPF_MAP_LOOKUP_ELEM, attr, EBPF_OFFSETOFEND(union bpf_attr, flags)) == 0) return true;
  if (errno == ENOENT) return false;
  fail(errno, subject, "lookup");
}

void map_update_elem(int map_fd, const void* key, const void* value, std::uint64_t flags,
                     std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = ptr(key);
  attr.value = ptr(value);
  attr.flags = flags;
  checked(BPF_MAP_UPDATE_ELEM, attr, EBPF_OFFSETOFEND(union bpf_attr, flags), subject, "update");
}

bool map_delete_elem(int map_fd, const void* key, std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = ptr(key);
  if (sys_bpf(BPF_MAP_DELETE_ELEM, attr, EBPF_OFFSETOFEND(union bpf_attr, key)) == 0) return true;
  if (errno == ENOENT) return false;
  fail(errno, subject, "delete");
}

bool map_get_next_key(int map_fd, const void* key, void* next_key, std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = ptr(key);
  attr.next_key = ptr(next_key);
  if (sys_bpf(BPF_MAP_GET_NEXT_KEY, attr, EBPF_OFFSETOFEND(union bpf_attr, next_key)) == 0) {
    return true;
  }
  if (errno == ENOENT) return false;
  fail(errno, subject, "next key");
}

bool map_lookup_and_delete_elem(int map_fd, const void* key, void* value, std::uint64_t flags,
                                std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.key = ptr(key);
  attr.value = ptr(value);
  attr.flags = flags;
  if (sys_bpf(BPF_MAP_LOOKUP_AND_DELETE_ELEM, attr, EBPF_OFFSETOFEND(union bpf_attr, flags)) == 0) {
    return true;
  }
  if (errno == ENOENT) return false;
  fail(errno, subject, "lookup and delete");
}

void map_freeze(int map_fd, std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.map_fd = static_cast<std::uint32_t>(map_fd);
  checked(BPF_MAP_FREEZE, attr, EBPF_OFFSETOFEND(union bpf_attr, map_fd), subject, "freeze");
}

namespace {

// The four batch commands share one attr layout. ENOENT means "no more elements": the kernel
// still reports how many it processed in `count`.
batch_result map_batch(int cmd, int map_fd, const void* in_batch, void* out_batch,
                       const void* keys, const void* values, std::uint32_t count,
                       std::uint64_t elem_flags, std::string_view subject, std::string_view action,
                       bool end_is_enoent) {
  union bpf_attr attr;
  zero(attr);
  attr.batch.map_fd = static_cast<std::uint32_t>(map_fd);
  attr.batch.in_batch = ptr(in_batch);
  attr.batch.out_batch = ptr(out_batch);
  attr.batch.keys = ptr(keys);
  attr.batch.values = ptr(values);
  attr.batch.count = count;
  attr.batch.elem_flags = elem_flags;
  if (sys_bpf(cmd, attr, EBPF_OFFSETOFEND(union bpf_attr, batch)) == 0) {
    return {attr.batch.count, false};
  }
  int error = errno;
  if (error == ENOENT && end_is_enoent) return {attr.batch.count, true};
  fail(error, subject,
       std::string(action) + " (" + std::to_string(attr.batch.count) + " of " +
           std::to_string(count) + " done)");
}

}  // namespace

batch_result map_lookup_batch(int map_fd, const void* in_batch, void* out_batch, void* keys,
                              void* values, std::uint32_t count, std::uint64_t elem_flags,
                              std::string_view subject) {
  return map_batch(BPF_MAP_LOOKUP_BATCH, map_fd, in_batch, out_batch, keys, values, count,
                   elem_flags, subject, "lookup batch", true);
}

batch_result map_lookup_and_delete_batch(int map_fd, const void* in_batch, void* out_batch,
                                         void* keys, void* values, std::uint32_t count,
                                         std::uint64_t elem_flags, std::string_view subject) {
  return map_batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, map_fd, in_batch, out_batch, keys, values,
                   count, elem_flags, subject, "lookup and delete batch", true);
}

std::uint32_t map_update_batch(int map_fd, const void* keys, const void* values,
                               std::uint32_t count, std::uint64_t elem_flags,
                               std::string_view subject) {
  return map_batch(BPF_MAP_UPDATE_BATCH, map_fd, nullptr, nullptr, keys, values, count,
                   elem_flags, subject, "update batch", false)
      .count;
}

std::uint32_t map_delete_batch(int map_fd, const void* keys, std::uint32_t count,
                               std::uint64_t elem_flags, std::string_view subject) {
  return map_batch(BPF_MAP_DELETE_BATCH, map_fd, nullptr, nullptr, keys, nullptr, count,
                   elem_flags, subject, "delete batch", false)
      .count;
}

// ---------------------------------------------------------------------------------------------
// Pinning.

void obj_pin(int fd, const std::string& path, std::string_view subject) {
  compat::obj_attr attr;
  zero(attr);
  attr.pathname = ptr(path.c_str());
  attr.bpf_fd = static_cast<std::uint32_t>(fd);
  checked(BPF_OBJ_PIN, attr, EBPF_OFFSETOFEND(compat::obj_attr, file_flags), subject,
          "pin '" + path + "'");
}

unique_fd obj_get(const std::string& path, std::uint32_t flags, std::string_view subject) {
  compat::obj_attr attr;
  zero(attr);
  attr.pathname = ptr(path.c_str());
  attr.file_flags = flags;
  return checked_fd(BPF_OBJ_GET, attr, EBPF_OFFSETOFEND(compat::obj_attr, file_flags), subject,
                    "open pinned '" + path + "'");
}

// ---------------------------------------------------------------------------------------------
// Programs.

int prog_load_attempt(const prog_load_options& options, char* log_buf, std::uint32_t log_size,
                      std::uint32_t log_level, std::uint32_t* log_true_size) noexcept {
  if (log_true_size) *log_true_size = 0;
  if (options.instructions.size() > std::numeric_limits<std::uint32_t>::max()) return -E2BIG;
  if ((!options.func_info.empty() &&
       (options.func_info_rec_size == 0 || options.func_info.size() % options.func_info_rec_size)) ||
      (!options.line_info.empty() &&
       (options.line_info_rec_size == 0 || options.line_info.size() % options.line_info_rec_size))) {
    return -EINVAL;
  }
  if (options.fd_array.size() > std::numeric_limits<std::uint32_t>::max()) return -E2BIG;

  // The license must be NUL-terminated; keep short ones on the stack.
  char license[128];
  std::string long_license;
  const char* license_ptr = license;
  if (options.license.size() < sizeof license) {
    std::memcpy(license, options.license.data(), options.license.size());
    license[options.license.size()] = '\0';
  } else {
    try {
      long_license.assign(options.license);
    } catch (...) {
      return -ENOMEM;
    }
    license_ptr = long_license.c_str();
  }

  compat::prog_load_attr attr;
  zero(attr);
  // log_true_size is always inside the size: older kernels see a zero tail and accept it; 6.4+
  // write the needed log size back (kernel/bpf/syscall.c bpf_prog_load).
  std::size_t size = EBPF_OFFSETOFEND(compat::prog_load_attr, log_true_size);
  attr.prog_type = static_cast<std::uint32_t>(options.type);
  attr.insn_cnt = static_cast<std::uint32_t>(options.instructions.size());
  attr.insns = ptr(options.instructions.data());
  attr.license = ptr(license_ptr);
  attr.log_level = log_level;
  attr.log_size = log_buf ? log_size : 0;
  attr.log_buf = ptr(log_buf);
  attr.kern_version = options.kern_version;
  attr.prog_flags = options.flags;
  copy_name(attr.prog_name, options.name);
  attr.prog_ifindex = options.ifindex;
  if (options.expected_attach_type) {
    attr.expected_attach_type = static_cast<std::uint32_t>(*options.expected_attach_type);
  }
  if (options.prog_btf_fd >= 0) attr.prog_btf_fd = static_cast<std::uint32_t>(options.prog_btf_fd);
  if (!options.func_info.empty()) {
    attr.func_info_rec_size = options.func_info_rec_size;
    attr.func_info = ptr(options.func_info.data());
    attr.func_info_cnt =
        static_cast<std::uint32_t>(options.func_info.size() / options.func_info_rec_size);
  }
  if (!options.line_info.empty()) {
    attr.line_info_rec_size = options.line_info_rec_size;
    attr.line_info = ptr(options.line_info.data());
    attr.line_info_cnt =
        static_cast<std::uint32_t>(options.line_info.size() / options.line_info_rec_size);
  }
  attr.attach_btf_id = options.attach_btf_id;
  if (options.attach_prog_fd >= 0) {
    attr.attach_prog_fd = static_cast<std::uint32_t>(options.attach_prog_fd);
  } else if (options.attach_btf_obj_fd >= 0) {
    attr.attach_prog_fd = static_cast<std::uint32_t>(options.attach_btf_obj_fd);  // same slot
  }
  if (!options.fd_array.empty()) attr.fd_array = ptr(options.fd_array.data());
  if (options.token_fd >= 0) {
    attr.prog_token_fd = options.token_fd;
    attr.prog_flags |= compat::f_token_fd;
    size = std::max(size, EBPF_OFFSETOFEND(compat::prog_load_attr, prog_token_fd));
  }
  if (options.send_fd_array_cnt) {
    attr.fd_array_cnt = static_cast<std::uint32_t>(options.fd_array.size());
    size = std::max(size, EBPF_OFFSETOFEND(compat::prog_load_attr, fd_array_cnt));
  }

  // The verifier can give EAGAIN when it was interrupted; libbpf (bpf.c, sys_bpf_prog_load)
  // retries a few times, and so do we.
  int fd = -EAGAIN;
  for (int attempt = 0; attempt < 5 && fd == -EAGAIN; ++attempt) {
    fd = sys_bpf_fd(BPF_PROG_LOAD, attr, size);
  }
  if (log_true_size) *log_true_size = attr.log_true_size;
  return fd;
}

namespace {

detail::verifier_log_options to_detail(const log_options& log) {
  detail::verifier_log_options options;
  options.level = log.level;
  options.initial_size = log.initial_size;
  options.max_size = log.max_size;
  return options;
}

}  // namespace

unique_fd prog_load(const prog_load_options& options, std::string_view subject,
                    const log_options& log, std::string* log_out) {
  auto attempt = [&options](const detail::log_request& request) {
    detail::load_attempt result;
    result.fd = prog_load_attempt(options, request.buffer, request.size, request.level,
                                  &result.log_true_size);
    return result;
  };
  detail::load_result result = detail::load_with_log(attempt, subject, "load", to_detail(log));
  unique_fd fd(result.fd);
  if (log_out) *log_out = std::move(result.log);
  return fd;
}

test_run_result prog_test_run(int prog_fd, const test_run_options& options,
                              std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.test.prog_fd = static_cast<std::uint32_t>(prog_fd);
  attr.test.data_size_in = checked_count(options.data_in.size(), subject, "test run");
  attr.test.data_in = ptr(options.data_in.data());
  attr.test.data_size_out = checked_count(options.data_out.size(), subject, "test run");
  attr.test.data_out = options.data_out.empty() ? 0 : ptr(options.data_out.data());
  attr.test.repeat = options.repeat;
  attr.test.ctx_size_in = checked_count(options.ctx_in.size(), subject, "test run");
  attr.test.ctx_in = options.ctx_in.empty() ? 0 : ptr(options.ctx_in.data());
  attr.test.ctx_size_out = checked_count(options.ctx_out.size(), subject, "test run");
  attr.test.ctx_out = options.ctx_out.empty() ? 0 : ptr(options.ctx_out.data());
  attr.test.flags = options.flags;
  attr.test.cpu = options.cpu;
  attr.test.batch_size = options.batch_size;
  std::size_t size = EBPF_OFFSETOFEND(union bpf_attr, test.ctx_out);
  if (options.flags != 0 || options.cpu != 0) size = EBPF_OFFSETOFEND(union bpf_attr, test.cpu);
  if (options.batch_size != 0) size = EBPF_OFFSETOFEND(union bpf_attr, test.batch_size);

  long rc = sys_bpf(BPF_PROG_TEST_RUN, attr, size);
  int error = rc < 0 ? errno : 0;
  // ENOSPC with a larger data_size_out: the output did not fit. The kernel still copied what
  // fits and wrote retval and duration (net/bpf/test_run.c, bpf_test_finish): report the real
  // size and let the caller see the truncation.
  if (error == ENOSPC && attr.test.data_size_out > options.data_out.size()) error = 0;
  if (error != 0) fail(error, subject, "test run");
  return {attr.test.retval, attr.test.duration, attr.test.data_size_out, attr.test.ctx_size_out};
}

// ---------------------------------------------------------------------------------------------
// BTF.

int btf_load_attempt(std::span<const std::byte> data, int token_fd, char* log_buf,
                     std::uint32_t log_size, std::uint32_t log_level,
                     std::uint32_t* log_true_size) noexcept {
  if (log_true_size) *log_true_size = 0;
  if (data.size() > std::numeric_limits<std::uint32_t>::max()) return -E2BIG;
  compat::btf_load_attr attr;
  zero(attr);
  std::size_t size = EBPF_OFFSETOFEND(compat::btf_load_attr, btf_log_true_size);
  attr.btf = ptr(data.data());
  attr.btf_size = static_cast<std::uint32_t>(data.size());
  attr.btf_log_buf = ptr(log_buf);
  attr.btf_log_size = log_buf ? log_size : 0;
  attr.btf_log_level = log_level;
  if (token_fd >= 0) {
    attr.btf_flags = compat::f_token_fd;
    attr.btf_token_fd = token_fd;
    size = EBPF_OFFSETOFEND(compat::btf_load_attr, btf_token_fd);
  }
  int fd = sys_bpf_fd(BPF_BTF_LOAD, attr, size);
  if (log_true_size) *log_true_size = attr.btf_log_true_size;
  return fd;
}

unique_fd btf_load(std::span<const std::byte> data, std::string_view subject,
                   const log_options& log, int token_fd, std::string* log_out) {
  auto attempt = [data, token_fd](const detail::log_request& request) {
    detail::load_attempt result;
    result.fd = btf_load_attempt(data, token_fd, request.buffer, request.size, request.level,
                                 &result.log_true_size);
    return result;
  };
  detail::load_result result = detail::load_with_log(attempt, subject, "load BTF", to_detail(log));
  unique_fd fd(result.fd);
  if (log_out) *log_out = std::move(result.log);
  return fd;
}

// ---------------------------------------------------------------------------------------------
// Object information.

namespace {

template <class Info>
void get_info(int fd, Info& info, std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.info.bpf_fd = static_cast<std::uint32_t>(fd);
  attr.info.info_len = sizeof info;
  attr.info.info = ptr(&info);
  checked(BPF_OBJ_GET_INFO_BY_FD, attr, EBPF_OFFSETOFEND(union bpf_attr, info), subject,
          "get info");
}

}  // namespace

std::size_t prog_stream_read(int prog_fd, std::uint32_t stream_id, std::span<std::byte> buffer,
                             std::string_view subject) {
  compat::prog_stream_read_attr attr;
  zero(attr);
  attr.stream_buf = ptr(buffer.data());
  attr.stream_buf_len = checked_count(buffer.size(), subject, "read stream");
  attr.stream_id = stream_id;
  attr.prog_fd = static_cast<std::uint32_t>(prog_fd);
  // Returns the number of bytes copied (kernel/bpf/syscall.c prog_stream_read -> bpf_stream_read).
  long copied = sys_bpf(compat::cmd_prog_stream_read_by_fd, attr, sizeof attr);
  if (copied < 0) fail(errno, subject, "read stream (BPF_PROG_STREAM_READ_BY_FD, kernel 6.17)");
  return static_cast<std::size_t>(copied);
}

prog_info prog_get_info(int prog_fd, std::string_view subject) {
  struct bpf_prog_info info;
  zero(info);
  get_info(prog_fd, info, subject);

  std::vector<std::uint32_t> map_ids;
  // A program can gain maps (BPF_PROG_BIND_MAP) between the two calls; ask again until the
  // buffer was large enough.
  for (int attempt = 0; info.nr_map_ids > map_ids.size() && attempt < 4; ++attempt) {
    map_ids.assign(info.nr_map_ids, 0);
    zero(info);
    info.nr_map_ids = static_cast<std::uint32_t>(map_ids.size());
    info.map_ids = ptr(map_ids.data());
    get_info(prog_fd, info, subject);
  }
  map_ids.resize(std::min<std::size_t>(map_ids.size(), info.nr_map_ids));

  prog_info out;
  out.type = static_cast<program_type>(info.type);
  out.id = info.id;
  std::memcpy(out.tag.data(), info.tag, out.tag.size());
  out.jited_prog_len = info.jited_prog_len;
  out.xlated_prog_len = info.xlated_prog_len;
  out.load_time = info.load_time;
  out.created_by_uid = info.created_by_uid;
  out.map_ids = std::move(map_ids);
  out.name = name_of(info.name);
  out.ifindex = info.ifindex;
  out.gpl_compatible = info.gpl_compatible != 0;
  out.btf_id = info.btf_id;
  out.nr_func_info = info.nr_func_info;
  out.nr_line_info = info.nr_line_info;
  out.run_time_ns = info.run_time_ns;
  out.run_cnt = info.run_cnt;
  out.recursion_misses = info.recursion_misses;
  out.verified_insns = info.verified_insns;
  out.attach_btf_obj_id = info.attach_btf_obj_id;
  out.attach_btf_id = info.attach_btf_id;
  return out;
}

std::vector<instruction> prog_get_xlated(int prog_fd, std::string_view subject) {
  struct bpf_prog_info info;
  zero(info);
  get_info(prog_fd, info, subject);
  std::vector<instruction> insns;
  for (int attempt = 0; info.xlated_prog_len > insns.size() * sizeof(instruction) && attempt < 4;
       ++attempt) {
    insns.assign((info.xlated_prog_len + sizeof(instruction) - 1) / sizeof(instruction), {});
    zero(info);
    info.xlated_prog_len = static_cast<std::uint32_t>(insns.size() * sizeof(instruction));
    info.xlated_prog_insns = ptr(insns.data());
    get_info(prog_fd, info, subject);
  }
  insns.resize(std::min<std::size_t>(insns.size(), info.xlated_prog_len / sizeof(instruction)));
  return insns;
}

map_info map_get_info(int map_fd, std::string_view subject) {
  struct bpf_map_info info;
  zero(info);
  get_info(map_fd, info, subject);
  map_info out;
  out.type = static_cast<map_type>(info.type);
  out.id = info.id;
  out.key_size = info.key_size;
  out.value_size = info.value_size;
  out.max_entries = info.max_entries;
  out.flags = info.map_flags;
  out.name = name_of(info.name);
  out.ifindex = info.ifindex;
  out.btf_vmlinux_value_type_id = info.btf_vmlinux_value_type_id;
  out.btf_id = info.btf_id;
  out.btf_key_type_id = info.btf_key_type_id;
  out.btf_value_type_id = info.btf_value_type_id;
  out.map_extra = info.map_extra;
  return out;
}

link_info link_get_info(int link_fd, std::string_view subject) {
  compat::link_info info;
  zero(info);
  get_info(link_fd, info, subject);

  link_info out;
  out.type = static_cast<link_type>(info.type);
  out.id = info.id;
  out.prog_id = info.prog_id;
  switch (out.type) {
    case link_type::raw_tracepoint: {
      // With a null buffer the kernel reports the name length (including the NUL).
      std::uint32_t length = info.u.raw_tracepoint.tp_name_len;
      if (length > 0 && length < 4096) {
        std::string name(length, '\0');
        zero(info);
        info.u.raw_tracepoint.tp_name = ptr(name.data());
        info.u.raw_tracepoint.tp_name_len = length;
        get_info(link_fd, info, subject);
        name.resize(::strnlen(name.data(), name.size()));
        out.tp_name = std::move(name);
      }
      out.cookie = info.u.raw_tracepoint.cookie;
      break;
    }
    case link_type::tracing:
      out.attach = static_cast<attach_type>(info.u.tracing.attach_type);
      out.target_obj_id = info.u.tracing.target_obj_id;
      out.target_btf_id = info.u.tracing.target_btf_id;
      out.cookie = info.u.tracing.cookie;
      break;
    case link_type::cgroup:
      out.attach = static_cast<attach_type>(info.u.cgroup.attach_type);
      out.cgroup_id = info.u.cgroup.cgroup_id;
      break;
    case link_type::netns:
      out.attach = static_cast<attach_type>(info.u.netns.attach_type);
      out.netns_ino = info.u.netns.netns_ino;
      break;
    case link_type::xdp:
      out.ifindex = info.u.xdp.ifindex;
      break;
    case link_type::perf_event: {
      // The name (uprobe file, kprobe function, tracepoint) needs a buffer of our own: ask again
      // with one (kernel/bpf/syscall.c bpf_perf_link_fill_link_info, 6.6).
      out.perf_event_type = info.u.perf_event.type;
      std::string name(4096, '\0');
      zero(info);
      switch (out.perf_event_type) {
        case compat::perf_event_uprobe:
        case compat::perf_event_uretprobe:
          info.u.perf_event.uprobe.file_name = ptr(name.data());
          info.u.perf_event.uprobe.name_len = static_cast<std::uint32_t>(name.size());
          get_info(link_fd, info, subject);
          out.offset = info.u.perf_event.uprobe.offset;
          out.cookie = info.u.perf_event.uprobe.cookie;
          out.ref_ctr_offset = info.u.perf_event.uprobe.ref_ctr_offset;
          break;
        case compat::perf_event_kprobe:
        case compat::perf_event_kretprobe:
          info.u.perf_event.kprobe.func_name = ptr(name.data());
          info.u.perf_event.kprobe.name_len = static_cast<std::uint32_t>(name.size());
          get_info(link_fd, info, subject);
          out.offset = info.u.perf_event.kprobe.offset;
          out.address = info.u.perf_event.kprobe.addr;
          out.missed = info.u.perf_event.kprobe.missed;
          out.cookie = info.u.perf_event.kprobe.cookie;
          break;
        case compat::perf_event_tracepoint:
          info.u.perf_event.tracepoint.tp_name = ptr(name.data());
          info.u.perf_event.tracepoint.name_len = static_cast<std::uint32_t>(name.size());
          get_info(link_fd, info, subject);
          out.cookie = info.u.perf_event.tracepoint.cookie;
          break;
        case compat::perf_event_event:
          get_info(link_fd, info, subject);
          out.config = info.u.perf_event.event.config;
          out.event_type = info.u.perf_event.event.type;
          out.cookie = info.u.perf_event.event.cookie;
          break;
        default:
          break;
      }
      name.resize(::strnlen(name.data(), name.size()));
      out.target_name = std::move(name);
      break;
    }
    case link_type::tcx:
    case link_type::netkit:
      out.ifindex = info.u.tcx.ifindex;
      out.attach = static_cast<attach_type>(info.u.tcx.attach_type);
      break;
    case link_type::iter: {
      std::string name(256, '\0');
      zero(info);
      info.u.iter.target_name = ptr(name.data());
      info.u.iter.target_name_len = static_cast<std::uint32_t>(name.size());
      get_info(link_fd, info, subject);
      name.resize(::strnlen(name.data(), name.size()));
      out.target_name = std::move(name);
      // Which union member the kernel filled depends on the target (bpf_iter_reg's
      // fill_link_info): map_id for map iterators, cgroup/task fields for those targets.
      out.map_id = info.u.iter.map_id;
      if (out.target_name == "cgroup") {
        out.cgroup_id = info.u.iter.cgroup.cgroup_id;
        out.order = info.u.iter.cgroup.order;
      } else if (out.target_name.rfind("task", 0) == 0) {
        out.tid = info.u.iter.task.tid;
        out.pid = info.u.iter.task.pid;
      }
      break;
    }
    case link_type::struct_ops:
      out.map_id = info.u.map.map_id;
      break;
    case link_type::sockmap:
      out.map_id = info.u.map.map_id;
      out.attach = static_cast<attach_type>(info.u.map.attach_type);
      break;
    case link_type::netfilter:
      out.netfilter_pf = info.u.netfilter.pf;
      out.netfilter_hooknum = info.u.netfilter.hooknum;
      out.netfilter_priority = info.u.netfilter.priority;
      out.flags = info.u.netfilter.flags;
      break;
    case link_type::kprobe_multi: {
      // The first answer holds the count; the arrays need a second call.
      std::uint32_t count = info.u.kprobe_multi.count;
      out.count = count;
      out.flags = info.u.kprobe_multi.flags;
      out.missed = info.u.kprobe_multi.missed;
      if (count > 0 && count <= (1u << 20)) {
        out.addresses.assign(count, 0);
        out.cookies.assign(count, 0);
        zero(info);
        info.u.kprobe_multi.addrs = ptr(out.addresses.data());
        info.u.kprobe_multi.cookies = ptr(out.cookies.data());
        info.u.kprobe_multi.count = count;
        get_info(link_fd, info, subject);
      }
      break;
    }
    case link_type::uprobe_multi: {
      std::uint32_t count = info.u.uprobe_multi.count;
      std::string path(4096, '\0');
      std::vector<std::uint64_t> ref_ctr_offsets;
      zero(info);
      info.u.uprobe_multi.path = ptr(path.data());
      info.u.uprobe_multi.path_size = static_cast<std::uint32_t>(path.size());
      if (count > 0 && count <= (1u << 20)) {
        out.addresses.assign(count, 0);
        out.cookies.assign(count, 0);
        ref_ctr_offsets.assign(count, 0);
        info.u.uprobe_multi.offsets = ptr(out.addresses.data());
        info.u.uprobe_multi.cookies = ptr(out.cookies.data());
        info.u.uprobe_multi.ref_ctr_offsets = ptr(ref_ctr_offsets.data());
        info.u.uprobe_multi.count = count;
      }
      get_info(link_fd, info, subject);
      path.resize(::strnlen(path.data(), path.size()));
      out.target_name = std::move(path);
      out.count = info.u.uprobe_multi.count;
      out.flags = info.u.uprobe_multi.flags;
      out.pid = info.u.uprobe_multi.pid;
      break;
    }
    default:
      break;
  }
  return out;
}

btf_info btf_get_info(int btf_fd, std::string_view subject, std::vector<std::byte>* data) {
  struct bpf_btf_info info;
  char name[64] = {};  // module names are at most MODULE_NAME_LEN (56) bytes
  zero(info);
  info.name = ptr(name);
  info.name_len = sizeof name;
  get_info(btf_fd, info, subject);
  btf_info out;
  out.id = info.id;
  out.btf_size = info.btf_size;
  out.name.assign(name, ::strnlen(name, sizeof name));
  out.kernel_btf = info.kernel_btf != 0;
  if (data) {
    data->assign(info.btf_size, std::byte{0});
    zero(info);
    info.btf = ptr(data->data());
    info.btf_size = static_cast<std::uint32_t>(data->size());
    get_info(btf_fd, info, subject);
    data->resize(std::min<std::size_t>(data->size(), info.btf_size));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Enumeration.

namespace {

std::optional<std::uint32_t> next_id(int cmd, std::uint32_t start_id, std::string_view what) {
  compat::get_id_attr attr;
  zero(attr);
  attr.start_id = start_id;
  if (sys_bpf(cmd, attr, EBPF_OFFSETOFEND(compat::get_id_attr, next_id)) == 0) return attr.next_id;
  if (errno == ENOENT) return std::nullopt;
  fail(errno, what, "next id after " + std::to_string(start_id));
}

unique_fd fd_by_id(int cmd, std::uint32_t id, std::uint32_t open_flags, std::string_view subject) {
  compat::get_id_attr attr;
  zero(attr);
  attr.start_id = id;
  attr.open_flags = open_flags;
  return checked_fd(cmd, attr, EBPF_OFFSETOFEND(compat::get_id_attr, open_flags), subject,
                    "open id " + std::to_string(id));
}

}  // namespace

std::optional<std::uint32_t> prog_get_next_id(std::uint32_t start_id) {
  return next_id(BPF_PROG_GET_NEXT_ID, start_id, "programs");
}
std::optional<std::uint32_t> map_get_next_id(std::uint32_t start_id) {
  return next_id(BPF_MAP_GET_NEXT_ID, start_id, "maps");
}
std::optional<std::uint32_t> link_get_next_id(std::uint32_t start_id) {
  return next_id(BPF_LINK_GET_NEXT_ID, start_id, "links");
}
std::optional<std::uint32_t> btf_get_next_id(std::uint32_t start_id) {
  return next_id(BPF_BTF_GET_NEXT_ID, start_id, "BTF objects");
}
unique_fd prog_get_fd_by_id(std::uint32_t id, std::string_view subject) {
  return fd_by_id(BPF_PROG_GET_FD_BY_ID, id, 0, subject);
}
unique_fd map_get_fd_by_id(std::uint32_t id, std::uint32_t open_flags, std::string_view subject) {
  return fd_by_id(BPF_MAP_GET_FD_BY_ID, id, open_flags, subject);
}
unique_fd link_get_fd_by_id(std::uint32_t id, std::string_view subject) {
  return fd_by_id(BPF_LINK_GET_FD_BY_ID, id, 0, subject);
}
unique_fd btf_get_fd_by_id(std::uint32_t id, std::string_view subject) {
  return fd_by_id(BPF_BTF_GET_FD_BY_ID, id, 0, subject);
}

// ---------------------------------------------------------------------------------------------
// Links and attachment.

unique_fd link_create(const link_create_options& options, std::string_view subject) {
  compat::link_create_attr attr;
  zero(attr);
  std::size_t size = EBPF_OFFSETOFEND(compat::link_create_attr, flags);
  attr.prog_fd = static_cast<std::uint32_t>(options.prog_fd);
  attr.target_fd = options.target;
  attr.attach_type = static_cast<std::uint32_t>(options.type);
  attr.flags = options.flags;

  struct fill_extra {
    compat::link_create_attr& attr;
    std::size_t& size;
    void operator()(std::monostate) const {}
    void operator()(const link_perf_event& extra) const {
      attr.u.perf_event.bpf_cookie = extra.bpf_cookie;
      size = EBPF_OFFSETOFEND(compat::link_create_attr, u.perf_event.bpf_cookie);
    }
    void operator()(const link_tracing& extra) const {
      attr.u.tracing.target_btf_id = extra.target_btf_id;
      attr.u.tracing.cookie = extra.cookie;
      size = EBPF_OFFSETOFEND(compat::link_create_attr, u.tracing.cookie);
    }
    void operator()(const link_iter& extra) const {
      attr.u.iter.iter_info = ptr(extra.info.data());
      attr.u.iter.iter_info_len = static_cast<std::uint32_t>(extra.info.size());
      size = EBPF_OFFSETOFEND(compat::link_create_attr, u.iter.iter_info_len);
    }
    void operator()(const link_relative& extra) const {
      attr.u.relative.relative_fd = extra.relative_fd_or_id;
      attr.u.relative.expected_revision = extra.expected_revision;
      size = EBPF_OFFSETOFEND(compat::link_create_attr, u.relative.expected_revision);
    }
    void operator()(const link_kprobe_multi& extra) const {
      attr.u.kprobe_multi.flags = extra.flags;
      attr.u.kprobe_multi.cnt = static_cast<std::uint32_t>(
          extra.symbols.empty() ? extra.addresses.size() : extra.symbols.size());
      if (!extra.symbols.empty()) attr.u.kprobe_multi.syms = ptr(extra.symbols.data());
      if (!extra.addresses.empty()) attr.u.kprobe_multi.addrs = ptr(extra.addresses.data());
      if (!extra.cookies.empty()) attr.u.kprobe_multi.cookies = ptr(extra.cookies.data());
      size = EBPF_OFFSETOFEND(compat::link_create_attr, u.kprobe_multi.cookies);
    }
    void operator()(const link_uprobe_multi& extra) const {
      attr.u.uprobe_multi.path = ptr(extra.path);
      attr.u.uprobe_multi.offsets = ptr(extra.offsets.data());
      if (!extra.ref_ctr_offsets.empty())
        attr.u.uprobe_multi.ref_ctr_offsets = ptr(extra.ref_ctr_offsets.data());
      if (!extra.cookies.empty()) attr.u.uprobe_multi.cookies = ptr(extra.cookies.data());
      attr.u.uprobe_multi.cnt = static_cast<std::uint32_t>(extra.offsets.size());
      attr.u.uprobe_multi.flags = extra.flags;
      attr.u.uprobe_multi.pid = extra.pid;
      size = EBPF_OFFSETOFEND(compat::link_create_attr, u.uprobe_multi.pid);
    }
    void operator()(const link_netfilter& extra) const {
      attr.u.netfilter.pf = extra.pf;
      attr.u.netfilter.hooknum = extra.hooknum;
      attr.u.netfilter.priority = extra.priority;
      attr.u.netfilter.flags = extra.flags;
      size = EBPF_OFFSETOFEND(compat::link_create_attr, u.netfilter.flags);
    }
  };
  std::visit(fill_extra{attr, size}, options.extra);
  return checked_fd(BPF_LINK_CREATE, attr, size, subject, "create link");
}

void link_update(int link_fd, int new_prog_fd, int old_prog_fd, std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.link_update.link_fd = static_cast<std::uint32_t>(link_fd);
  attr.link_update.new_prog_fd = static_cast<std::uint32_t>(new_prog_fd);
  if (old_prog_fd >= 0) {
    attr.link_update.flags = BPF_F_REPLACE;
    attr.link_update.old_prog_fd = static_cast<std::uint32_t>(old_prog_fd);
  }
  checked(BPF_LINK_UPDATE, attr, EBPF_OFFSETOFEND(union bpf_attr, link_update.old_prog_fd), subject,
          "update link");
}

void link_detach(int link_fd, std::string_view subject) {
  union bpf_attr attr;
  zero(attr);
  attr.link_detach.link_fd = static_cast<std::uint32_t>(link_fd);
  checked(BPF_LINK_DETACH, attr, EBPF_OFFSETOFEND(union bpf_attr, link_detach), subject,
          "detach link");
}

void prog_attach(int target_fd, int prog_fd, attach_type type, std::uint32_t flags,
                 int replace_prog_fd, std::string_view subject) {
  compat::prog_attach_attr attr;
  zero(attr);
  std::size_t size = EBPF_OFFSETOFEND(compat::prog_attach_attr, attach_flags);
  attr.target_fd = static_cast<std::uint32_t>(target_fd);
  attr.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd);
  attr.attach_type = static_cast<std::uint32_t>(type);
  attr.attach_flags = flags;
  if (replace_prog_fd >= 0) {
    attr.attach_flags |= BPF_F_REPLACE;
    attr.replace_bpf_fd = static_cast<std::uint32_t>(replace_prog_fd);
    size = EBPF_OFFSETOFEND(compat::prog_attach_attr, replace_bpf_fd);
  }
  checked(BPF_PROG_ATTACH, attr, size, subject, "attach");
}

void prog_detach(int target_fd, int prog_fd, attach_type type, std::string_view subject) {
  compat::prog_attach_attr attr;
  zero(attr);
  attr.target_fd = static_cast<std::uint32_t>(target_fd);
  if (prog_fd >= 0) attr.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd);
  attr.attach_type = static_cast<std::uint32_t>(type);
  checked(BPF_PROG_DETACH, attr, EBPF_OFFSETOFEND(compat::prog_attach_attr, attach_type), subject,
          "detach");
}

unique_fd raw_tracepoint_open(std::string_view name, int prog_fd, std::uint64_t cookie,
                              std::string_view subject) {
  std::string owned_name(name);  // NUL-terminated for the kernel
  compat::raw_tracepoint_attr attr;
  zero(attr);
  std::size_t size = EBPF_OFFSETOFEND(compat::raw_tracepoint_attr, prog_fd);
  attr.name = name.empty() ? 0 : ptr(owned_name.c_str());
  attr.prog_fd = static_cast<std::uint32_t>(prog_fd);
  if (cookie != 0) {
    attr.cookie = cookie;
    size = EBPF_OFFSETOFEND(compat::raw_tracepoint_attr, cookie);
  }
  return checked_fd(BPF_RAW_TRACEPOINT_OPEN, attr, size, subject,
                    name.empty() ? std::string("open raw tracepoint")
                                 : "open raw tracepoint '" + owned_name + "'");
}

unique_fd enable_stats(std::uint32_t type) {
  union bpf_attr attr;
  zero(attr);
  attr.enable_stats.type = type;
  return checked_fd(BPF_ENABLE_STATS, attr, EBPF_OFFSETOFEND(union bpf_attr, enable_stats), {},
                    "enable stats");
}

void socket_attach_bpf(int sock_fd, int prog_fd, std::string_view subject) {
  if (::setsockopt(sock_fd, SOL_SOCKET, SO_ATTACH_BPF, &prog_fd, sizeof prog_fd) != 0) {
    fail(errno, subject, "attach to socket");
  }
}

bool socket_detach_bpf(int sock_fd) noexcept {
  int unused = 0;  // SO_DETACH_BPF ignores the value, but needs an int-sized option
  return ::setsockopt(sock_fd, SOL_SOCKET, SO_DETACH_BPF, &unused, sizeof unused) == 0;
}

}  // namespace ebpf::sys

namespace ebpf::sys {

fd_kind bpf_fd_kind(int fd) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char target[128];
  ssize_t n = ::readlink(path, target, sizeof target - 1);
  if (n < 0) return errno == ENOENT && ::access("/proc/self/fd", F_OK) == 0 ? fd_kind::other
                                                                            : fd_kind::unknown;
  std::string_view link(target, static_cast<std::size_t>(n));
  // The names given to anon_inode_getfd()/anon_inode_getfile() in kernel/bpf/syscall.c and btf.c.
  if (link == "anon_inode:bpf-prog") return fd_kind::program;
  if (link == "anon_inode:bpf-map") return fd_kind::map;
  // A link is "bpf_link" when created (bpf_link_prime) but "bpf-link" when opened from a pin
  // or by id (bpf_link_new_fd).
  if (link == "anon_inode:bpf_link" || link == "anon_inode:bpf-link") return fd_kind::link;
  if (link == "anon_inode:btf") return fd_kind::btf;
  return fd_kind::other;
}

}  // namespace ebpf::sys
