// ebpfpp internal: the kernel layer. One typed function per bpf(2) command we use, plus
// perf_event_open, tracefs and mmap.
//
// This header deliberately does not include <linux/bpf.h>: it speaks in ebpfpp's own types, so the
// live glue (lib/map.cpp, lib/program.cpp, ...) never sees the UAPI. lib/sys/*.cpp fill each
// bpf_attr zeroed and sized to the last field used (see compat.hpp for the fields newer than the
// system headers).
//
// Errors: every function takes a `subject` naming what the caller works on ("map 'events'",
// "object 'probe.o': program 'handle_exec'"); the function appends its action, so what() reads
// "map 'events': create: Operation not permitted (run as root ...)". An empty subject yields just
// "create: ...". Kernel failures throw ebpf::error carrying the errno. Expected misses (a lookup
// that finds nothing, the end of an iteration) return false / std::nullopt instead of throwing.
//
// File descriptors: every fd returned is owned by an ebpf::unique_fd, is O_CLOEXEC and is above 2
// (the kernel sets O_CLOEXEC on every bpf fd; a result of 0..2 is moved up with F_DUPFD_CLOEXEC, as
// libbpf's ensure_good_fd does, so a later close can never take stdin/stdout/stderr).
#pragma once

#include <ebpf/types.hpp>
#include <ebpf/unique_fd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ebpf::sys {

// ---------------------------------------------------------------------------------------------
// Flag values (UAPI numbers, static_asserted against <linux/bpf.h> in lib/sys/bpf.cpp).

/// Update flags for map_update_elem / batch ops (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK).
inline constexpr std::uint64_t update_any = 0;
inline constexpr std::uint64_t update_noexist = 1;
inline constexpr std::uint64_t update_exist = 2;
inline constexpr std::uint64_t update_lock = 4;  ///< BPF_F_LOCK, also valid for lookup (5.1)

/// map_create flags (BPF_F_*).
inline constexpr std::uint32_t map_no_prealloc = 1u << 0;
inline constexpr std::uint32_t map_no_common_lru = 1u << 1;
inline constexpr std::uint32_t map_numa_node = 1u << 2;
inline constexpr std::uint32_t map_rdonly = 1u << 3;
inline constexpr std::uint32_t map_wronly = 1u << 4;
inline constexpr std::uint32_t map_stack_build_id = 1u << 5;
inline constexpr std::uint32_t map_zero_seed = 1u << 6;
inline constexpr std::uint32_t map_rdonly_prog = 1u << 7;
inline constexpr std::uint32_t map_wronly_prog = 1u << 8;
inline constexpr std::uint32_t map_clone = 1u << 9;
inline constexpr std::uint32_t map_mmapable = 1u << 10;
inline constexpr std::uint32_t map_preserve_elems = 1u << 11;
inline constexpr std::uint32_t map_inner_map = 1u << 12;
inline constexpr std::uint32_t map_link = 1u << 13;
inline constexpr std::uint32_t map_path_fd = 1u << 14;
inline constexpr std::uint32_t map_vtype_btf_obj_fd = 1u << 15;  // 6.9
inline constexpr std::uint32_t map_token_fd = 1u << 16;          // 6.9
inline constexpr std::uint32_t map_segv_on_fault = 1u << 17;     // 6.9 (arena)
inline constexpr std::uint32_t map_no_user_conv = 1u << 18;      // 6.9 (arena)

/// prog_load flags (BPF_F_*).
inline constexpr std::uint32_t prog_strict_alignment = 1u << 0;
inline constexpr std::uint32_t prog_any_alignment = 1u << 1;
inline constexpr std::uint32_t prog_test_rnd_hi32 = 1u << 2;
inline constexpr std::uint32_t prog_test_state_freq = 1u << 3;
inline constexpr std::uint32_t prog_sleepable = 1u << 4;
inline constexpr std::uint32_t prog_xdp_has_frags = 1u << 5;
inline constexpr std::uint32_t prog_xdp_dev_bound_only = 1u << 6;
inline constexpr std::uint32_t prog_test_reg_invariants = 1u << 7;  // 6.7
inline constexpr std::uint32_t prog_token_fd = 1u << 16;            // 6.9

/// prog_attach / link flags.
inline constexpr std::uint32_t attach_allow_override = 1u << 0;  ///< BPF_F_ALLOW_OVERRIDE
inline constexpr std::uint32_t attach_allow_multi = 1u << 1;     ///< BPF_F_ALLOW_MULTI
inline constexpr std::uint32_t attach_replace = 1u << 2;         ///< BPF_F_REPLACE
inline constexpr std::uint32_t attach_before = 1u << 3;          ///< BPF_F_BEFORE (6.6)
inline constexpr std::uint32_t attach_after = 1u << 4;           ///< BPF_F_AFTER (6.6)
inline constexpr std::uint32_t attach_id = 1u << 5;              ///< BPF_F_ID (6.6)
inline constexpr std::uint32_t attach_link = 1u << 13;           ///< BPF_F_LINK (6.6)

/// XDP attach flags (XDP_FLAGS_* from <linux/if_link.h>).
inline constexpr std::uint32_t xdp_update_if_noexist = 1u << 0;
inline constexpr std::uint32_t xdp_skb_mode = 1u << 1;
inline constexpr std::uint32_t xdp_drv_mode = 1u << 2;
inline constexpr std::uint32_t xdp_hw_mode = 1u << 3;
inline constexpr std::uint32_t xdp_replace = 1u << 4;

/// prog_test_run flags.
inline constexpr std::uint32_t test_run_on_cpu = 1u << 0;          ///< BPF_F_TEST_RUN_ON_CPU (5.10)
inline constexpr std::uint32_t test_xdp_live_frames = 1u << 1;     ///< BPF_F_TEST_XDP_LIVE_FRAMES (5.18)
inline constexpr std::uint32_t test_skb_checksum_complete = 1u << 2;  ///< 6.11

/// obj_get / get_fd_by_id open flags.
inline constexpr std::uint32_t open_rdonly = 1u << 3;  ///< BPF_F_RDONLY
inline constexpr std::uint32_t open_wronly = 1u << 4;  ///< BPF_F_WRONLY

/// enum bpf_stats_type.
inline constexpr std::uint32_t stats_run_time = 0;

/// enum bpf_link_type values (UAPI numbers; static_asserted in bpf.cpp).
enum class link_type : std::uint32_t {
  unspec = 0,
  raw_tracepoint = 1,
  tracing = 2,
  cgroup = 3,
  iter = 4,
  netns = 5,
  xdp = 6,
  perf_event = 7,
  kprobe_multi = 8,
  struct_ops = 9,
  netfilter = 10,   // 6.4
  tcx = 11,         // 6.6
  uprobe_multi = 12,  // 6.6
  netkit = 13,      // 6.7
  sockmap = 14,     // 6.10
};

// ---------------------------------------------------------------------------------------------
// Maps.

/// Everything BPF_MAP_CREATE takes. Fields left at their defaults are not sent.
struct map_create_options {
  map_type type = map_type::unspec;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t flags = 0;        ///< map_* flags above
  int inner_map_fd = -1;          ///< array_of_maps / hash_of_maps template
  std::uint32_t numa_node = 0;    ///< used only with map_numa_node in flags
  std::string_view name;          ///< truncated to 15 bytes (BPF_OBJ_NAME_LEN - 1)
  std::uint32_t ifindex = 0;      ///< offload device
  int btf_fd = -1;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  std::uint32_t btf_vmlinux_value_type_id = 0;  ///< struct_ops (needs btf_fd too)
  std::uint64_t map_extra = 0;    ///< bloom filter hashes, arena address (5.16)
  int value_type_btf_obj_fd = -1; ///< 6.9, sets map_vtype_btf_obj_fd
  int token_fd = -1;              ///< 6.9, sets map_token_fd
};

/// BPF_MAP_CREATE. Throws: ebpf::error "<subject>: create: ...".
unique_fd map_create(const map_create_options& options, std::string_view subject);

/// BPF_MAP_LOOKUP_ELEM into `value` (value_size bytes, or value_size * possible CPUs for per-CPU
/// maps). `flags` may be update_lock. Returns false when the key is absent (ENOENT).
/// Throws: ebpf::error "<subject>: lookup: ..." for other errors.
bool map_lookup_elem(int map_fd, const void* key, void* value, std::uint64_t flags,
                     std::string_view subject);

/// BPF_MAP_UPDATE_ELEM. Throws: ebpf::error "<subject>: update: ..." (EEXIST for update_noexist,
/// ENOENT for update_exist, E2BIG when full).
void map_update_elem(int map_fd, const void* key, const void* value, std::uint64_t flags,
                     std::string_view subject);

/// BPF_MAP_DELETE_ELEM. Returns false when the key was absent (ENOENT).
/// Throws: ebpf::error "<subject>: delete: ...".
bool map_delete_elem(int map_fd, const void* key, std::string_view subject);

/// BPF_MAP_GET_NEXT_KEY: the key after `key` (or the first key when `key` is null) into
/// `next_key`. Returns false at the end of the map (ENOENT).
/// Throws: ebpf::error "<subject>: next key: ...".
bool map_get_next_key(int map_fd, const void* key, void* next_key, std::string_view subject);

/// BPF_MAP_LOOKUP_AND_DELETE_ELEM (hash: 5.14; queue/stack: key must be null). Returns false when
/// empty / absent (ENOENT). Throws: ebpf::error "<subject>: lookup and delete: ...".
bool map_lookup_and_delete_elem(int map_fd, const void* key, void* value, std::uint64_t flags,
                                std::string_view subject);

/// BPF_MAP_FREEZE (5.2). Throws: ebpf::error "<subject>: freeze: ...".
void map_freeze(int map_fd, std::string_view subject);

/// Result of a batch operation: `count` elements were processed; `done` is true when the kernel
/// reported the end of the map (ENOENT), in which case `count` may still be non-zero.
struct batch_result {
  std::uint32_t count = 0;
  bool done = false;
};

/// BPF_MAP_LOOKUP_BATCH (5.6). `in_batch` is null for the first call, else the `out_batch` token
/// of the previous call; tokens are key-sized for hash maps (4 bytes for arrays), so pass buffers
/// of at least max(key_size, 4) bytes. `keys`/`values` hold `count` elements.
/// Throws: ebpf::error "<subject>: lookup batch: ...".
batch_result map_lookup_batch(int map_fd, const void* in_batch, void* out_batch, void* keys,
                              void* values, std::uint32_t count, std::uint64_t elem_flags,
                              std::string_view subject);

/// BPF_MAP_LOOKUP_AND_DELETE_BATCH (5.6). Same contract as map_lookup_batch.
batch_result map_lookup_and_delete_batch(int map_fd, const void* in_batch, void* out_batch,
                                         void* keys, void* values, std::uint32_t count,
                                         std::uint64_t elem_flags, std::string_view subject);

/// BPF_MAP_UPDATE_BATCH (5.6): `count` keys and values. Returns the number updated.
/// Throws: ebpf::error "<subject>: update batch: ..." (the message says how many succeeded).
std::uint32_t map_update_batch(int map_fd, const void* keys, const void* values,
                               std::uint32_t count, std::uint64_t elem_flags,
                               std::string_view subject);

/// BPF_MAP_DELETE_BATCH (5.6): `count` keys. Returns the number deleted.
/// Throws: ebpf::error "<subject>: delete batch: ...".
std::uint32_t map_delete_batch(int map_fd, const void* keys, std::uint32_t count,
                               std::uint64_t elem_flags, std::string_view subject);

// ---------------------------------------------------------------------------------------------
// Pinning.

/// BPF_OBJ_PIN `fd` at `path` (in a bpffs). Throws: ebpf::error "<subject>: pin '<path>': ...".
void obj_pin(int fd, const std::string& path, std::string_view subject);

/// BPF_OBJ_GET the object pinned at `path`; `flags` may be open_rdonly/open_wronly.
/// Throws: ebpf::error "<subject>: open pinned '<path>': ...".
unique_fd obj_get(const std::string& path, std::uint32_t flags, std::string_view subject);

// ---------------------------------------------------------------------------------------------
// Programs.

/// Verifier-log settings for prog_load / btf_load.
struct log_options {
  /// 0: load without a log and, only if that fails, retry with level 1 to explain why.
  /// 1/2 (| 4 for stats): always load with a log of this level (it is returned in *log_out).
  std::uint32_t level = 0;
  std::uint32_t initial_size = 64 * 1024;  ///< first buffer size; grows on ENOSPC
  std::uint32_t max_size = 16 * 1024 * 1024;
};

/// Everything BPF_PROG_LOAD takes.
struct prog_load_options {
  program_type type = program_type::unspec;
  std::span<const instruction> instructions;
  std::string_view license = "GPL";
  std::uint32_t kern_version = 0;
  std::uint32_t flags = 0;  ///< prog_* flags above
  std::optional<attach_type> expected_attach_type;
  std::string_view name;    ///< truncated to 15 bytes
  std::uint32_t ifindex = 0;  ///< offload / dev-bound XDP
  int prog_btf_fd = -1;
  std::span<const std::byte> func_info;  ///< bpf_func_info records
  std::uint32_t func_info_rec_size = 0;
  std::span<const std::byte> line_info;  ///< bpf_line_info records
  std::uint32_t line_info_rec_size = 0;
  std::uint32_t attach_btf_id = 0;
  int attach_btf_obj_fd = -1;  ///< module BTF (5.11); exclusive with attach_prog_fd
  int attach_prog_fd = -1;     ///< freplace / fentry on a BPF program
  std::span<const int> fd_array;  ///< fds referenced by BPF_PSEUDO_MAP_IDX / kfunc offsets (5.14)
  bool send_fd_array_cnt = false; ///< also pass fd_array_cnt (6.14): binds every map in fd_array
  int token_fd = -1;            ///< 6.9, sets prog_token_fd
};

/// One BPF_PROG_LOAD attempt with an explicit log buffer; never throws. Returns the fd (>= 0,
/// owned by the caller; already CLOEXEC and above 2) or -errno. `log_true_size` (6.4) receives the
/// size the full log needs, 0 when the kernel does not report it. Retries EAGAIN a few times as
/// libbpf does. For feature probes and the verifier-log loop.
int prog_load_attempt(const prog_load_options& options, char* log_buf, std::uint32_t log_size,
                      std::uint32_t log_level, std::uint32_t* log_true_size) noexcept;

/// BPF_PROG_LOAD with the verifier-log retry loop (lib/object/verifier_log.hpp). `log_out`, when
/// given, receives the log (only filled when a log was requested by log.level or the retry).
/// Throws: ebpf::verifier_error "<subject>: verifier rejected it ..." when the verifier explains
/// the failure; ebpf::error "<subject>: load: ..." otherwise (EPERM with the privilege hint).
unique_fd prog_load(const prog_load_options& options, std::string_view subject,
                    const log_options& log = {}, std::string* log_out = nullptr);

/// Input and output buffers for BPF_PROG_TEST_RUN. Empty spans are not sent.
struct test_run_options {
  std::span<const std::byte> data_in;
  std::span<std::byte> data_out;
  std::span<const std::byte> ctx_in;
  std::span<std::byte> ctx_out;
  std::uint32_t repeat = 0;
  std::uint32_t flags = 0;       ///< test_run_on_cpu, test_xdp_live_frames
  std::uint32_t cpu = 0;         ///< with test_run_on_cpu (5.10)
  std::uint32_t batch_size = 0;  ///< with test_xdp_live_frames (5.18)
};

struct test_run_result {
  std::uint32_t retval = 0;
  std::uint32_t duration_ns = 0;    ///< average per repetition
  std::uint32_t data_size_out = 0;  ///< may exceed data_out.size() (then ENOSPC is not raised:
                                    ///< we report the size and the caller truncates)
  std::uint32_t ctx_size_out = 0;
};

/// BPF_PROG_TEST_RUN (4.12; ctx 5.2). Throws: ebpf::error "<subject>: test run: ...".
test_run_result prog_test_run(int prog_fd, const test_run_options& options,
                              std::string_view subject);

// ---------------------------------------------------------------------------------------------
// BTF.

/// BPF_BTF_LOAD (4.18) of raw .BTF bytes, with the same log retry loop as prog_load.
/// Throws: ebpf::verifier_error "<subject>: verifier rejected it" with the BTF log, or
/// ebpf::error "<subject>: load BTF: ...".
unique_fd btf_load(std::span<const std::byte> data, std::string_view subject,
                   const log_options& log = {}, int token_fd = -1, std::string* log_out = nullptr);

/// One BPF_BTF_LOAD attempt; never throws. Returns the fd or -errno (see prog_load_attempt).
int btf_load_attempt(std::span<const std::byte> data, int token_fd, char* log_buf,
                     std::uint32_t log_size, std::uint32_t log_level,
                     std::uint32_t* log_true_size) noexcept;

// ---------------------------------------------------------------------------------------------
// Object information (BPF_OBJ_GET_INFO_BY_FD), returned as plain structs.

struct prog_info {
  program_type type = program_type::unspec;
  std::uint32_t id = 0;
  std::array<std::uint8_t, 8> tag{};
  std::uint32_t jited_prog_len = 0;
  std::uint32_t xlated_prog_len = 0;
  std::uint64_t load_time = 0;  ///< ns since boot
  std::uint32_t created_by_uid = 0;
  std::vector<std::uint32_t> map_ids;
  std::string name;
  std::uint32_t ifindex = 0;
  bool gpl_compatible = false;
  std::uint32_t btf_id = 0;
  std::uint32_t nr_func_info = 0;
  std::uint32_t nr_line_info = 0;
  std::uint64_t run_time_ns = 0;  ///< needs enable_stats or kernel.bpf_stats_enabled (5.1)
  std::uint64_t run_cnt = 0;
  std::uint64_t recursion_misses = 0;  ///< 5.12
  std::uint32_t verified_insns = 0;    ///< 5.16
  std::uint32_t attach_btf_obj_id = 0; ///< 5.16
  std::uint32_t attach_btf_id = 0;     ///< 5.16
};

struct map_info {
  map_type type = map_type::unspec;
  std::uint32_t id = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t flags = 0;
  std::string name;
  std::uint32_t ifindex = 0;
  std::uint32_t btf_vmlinux_value_type_id = 0;
  std::uint32_t btf_id = 0;
  std::uint32_t btf_key_type_id = 0;
  std::uint32_t btf_value_type_id = 0;
  std::uint64_t map_extra = 0;
};

struct link_info {
  link_type type = link_type::unspec;
  std::uint32_t id = 0;
  std::uint32_t prog_id = 0;
  // Type-specific details; zero/empty where the link type has none.
  std::optional<attach_type> attach;  ///< tracing, cgroup, netns, tcx, netkit, netfilter...
  std::uint64_t cgroup_id = 0;        ///< cgroup links
  std::uint32_t ifindex = 0;          ///< xdp, tcx, netkit links
  std::uint32_t netns_ino = 0;        ///< netns links
  std::uint32_t target_obj_id = 0;    ///< tracing links
  std::uint32_t target_btf_id = 0;    ///< tracing links
  std::string tp_name;                ///< raw_tracepoint links
  std::uint32_t perf_event_type = 0;  ///< perf_event links (enum bpf_perf_event_type, 6.6)
  // Filled by link_get_info for the newer link types (zero/empty where the kernel says nothing):
  std::uint64_t cookie = 0;        ///< raw_tp (6.10), tracing (6.13), perf_event (6.9)
  std::string target_name;         ///< perf_event: uprobe file, kprobe function or tracepoint
                                   ///< name (6.6); uprobe_multi path (6.8); iter target (5.9)
  std::uint64_t offset = 0;        ///< perf_event uprobe/kprobe offset
  std::uint64_t address = 0;       ///< perf_event kprobe address
  std::uint64_t ref_ctr_offset = 0;  ///< perf_event uprobe (6.12)
  std::uint64_t config = 0;        ///< perf_event of a plain event: perf_event_attr.config
  std::uint32_t event_type = 0;    ///< ... and perf_event_attr.type (PERF_TYPE_*)
  std::uint64_t missed = 0;        ///< kprobe / kprobe_multi: runs missed (6.7)
  std::uint32_t map_id = 0;        ///< struct_ops (6.4), sockmap (6.10), iter over a map (5.10)
  std::uint32_t flags = 0;         ///< kprobe_multi / uprobe_multi (return probe), netfilter
  std::uint32_t count = 0;         ///< kprobe_multi / uprobe_multi: number of probes
  std::uint32_t pid = 0;           ///< uprobe_multi pid filter; iter over a task (tid in `tid`)
  std::uint32_t tid = 0;
  std::uint32_t order = 0;         ///< iter over a cgroup: walk order
  std::uint32_t netfilter_pf = 0;  ///< netfilter (6.4): protocol family, hook, priority
  std::uint32_t netfilter_hooknum = 0;
  std::int32_t netfilter_priority = 0;
  std::vector<std::uint64_t> addresses;  ///< kprobe_multi addresses (0 without kallsyms rights)
                                         ///< or uprobe_multi file offsets
  std::vector<std::uint64_t> cookies;    ///< kprobe_multi / uprobe_multi cookies (6.9)
};

struct btf_info {
  std::uint32_t id = 0;
  std::uint32_t btf_size = 0;
  std::string name;           ///< "vmlinux", a module name, or empty (5.11)
  bool kernel_btf = false;    ///< 5.11
};

/// BPF_OBJ_GET_INFO_BY_FD on a program (also fetches map_ids).
/// Throws: ebpf::error "<subject>: get info: ...".
prog_info prog_get_info(int prog_fd, std::string_view subject);
/// BPF_PROG_STREAM_READ_BY_FD (6.17): moves up to buffer.size() bytes of the program's stream
/// `stream_id` (1 stdout, 2 stderr) into `buffer`; returns how many (0: nothing pending).
std::size_t prog_stream_read(int prog_fd, std::uint32_t stream_id, std::span<std::byte> buffer,
                             std::string_view subject);
/// The program's translated (xlated) instructions, as the kernel rewrote them.
/// Throws: ebpf::error "<subject>: get info: ...".
std::vector<instruction> prog_get_xlated(int prog_fd, std::string_view subject);
/// BPF_OBJ_GET_INFO_BY_FD on a map. Throws: ebpf::error "<subject>: get info: ...".
map_info map_get_info(int map_fd, std::string_view subject);
/// BPF_OBJ_GET_INFO_BY_FD on a link. Throws: ebpf::error "<subject>: get info: ...".
link_info link_get_info(int link_fd, std::string_view subject);
/// BPF_OBJ_GET_INFO_BY_FD on a BTF object; `data`, when given, receives the raw BTF bytes.
/// Throws: ebpf::error "<subject>: get info: ...".
btf_info btf_get_info(int btf_fd, std::string_view subject, std::vector<std::byte>* data = nullptr);

// ---------------------------------------------------------------------------------------------
// Enumeration. *_get_next_id returns the next id after `start_id` (0 for the first), or nullopt at
// the end. *_get_fd_by_id throws ebpf::error "<subject>: open id N: ..." (ENOENT when the object
// went away meanwhile).

std::optional<std::uint32_t> prog_get_next_id(std::uint32_t start_id);
std::optional<std::uint32_t> map_get_next_id(std::uint32_t start_id);
std::optional<std::uint32_t> link_get_next_id(std::uint32_t start_id);  ///< 5.8
std::optional<std::uint32_t> btf_get_next_id(std::uint32_t start_id);   ///< 5.4
unique_fd prog_get_fd_by_id(std::uint32_t id, std::string_view subject);
unique_fd map_get_fd_by_id(std::uint32_t id, std::uint32_t open_flags, std::string_view subject);
unique_fd link_get_fd_by_id(std::uint32_t id, std::string_view subject);
unique_fd btf_get_fd_by_id(std::uint32_t id, std::string_view subject);

/// What kind of kernel object an fd refers to, from its /proc/self/fd link ("anon_inode:bpf-prog",
/// "anon_inode:bpf-map", "anon_inode:bpf_link" or "anon_inode:bpf-link", "anon_inode:btf").
/// OBJ_GET_INFO_BY_FD answers with the info of whatever the fd is, so callers check this before
/// reading a prog_info from a foreign fd. `unknown` when /proc is not mounted; `other` for any
/// other file.
enum class fd_kind { unknown, program, map, link, btf, other };
fd_kind bpf_fd_kind(int fd) noexcept;

// ---------------------------------------------------------------------------------------------
// Links and attachment.

/// BPF_LINK_CREATE extras, one per family of link (the attr's union).
struct link_perf_event { std::uint64_t bpf_cookie = 0; };          ///< BPF_PERF_EVENT, 5.15
struct link_tracing { std::uint32_t target_btf_id = 0; std::uint64_t cookie = 0; };  ///< 5.19
struct link_iter { std::span<const std::byte> info; };             ///< union bpf_iter_link_info
/// Relative placement for multi-prog attach points (tcx, netkit, cgroup since 6.12).
struct link_relative {
  std::uint32_t relative_fd_or_id = 0;  ///< with attach_before/after (+ attach_id, attach_link)
  std::uint64_t expected_revision = 0;
};

/// kprobe_multi (5.18): either symbol names or addresses; cookies optional (same count).
/// `flags` is 1 (BPF_F_KPROBE_MULTI_RETURN) for kretprobes.
struct link_kprobe_multi {
  std::uint32_t flags = 0;
  std::span<const char* const> symbols;
  std::span<const std::uint64_t> addresses;
  std::span<const std::uint64_t> cookies;
};
/// uprobe_multi (6.6): file offsets in `path`; ref_ctr_offsets and cookies optional (same count).
/// `flags` is 1 (BPF_F_UPROBE_MULTI_RETURN) for uretprobes; `pid` 0 for every process.
struct link_uprobe_multi {
  const char* path = nullptr;
  std::span<const std::uint64_t> offsets;
  std::span<const std::uint64_t> ref_ctr_offsets;
  std::span<const std::uint64_t> cookies;
  std::uint32_t flags = 0;
  std::uint32_t pid = 0;
};
/// netfilter (6.4): protocol family (NFPROTO_*), hook (NF_INET_*), priority, flags
/// (BPF_F_NETFILTER_IP_DEFRAG, 6.6).
struct link_netfilter {
  std::uint32_t pf = 0;
  std::uint32_t hooknum = 0;
  std::int32_t priority = 0;
  std::uint32_t flags = 0;
};

struct link_create_options {
  int prog_fd = -1;              ///< the program (or the struct_ops map fd)
  std::uint32_t target = 0;      ///< target fd (cgroup, netns, perf event...) or ifindex (xdp, tcx)
  attach_type type = attach_type::cgroup_inet_ingress;
  std::uint32_t flags = 0;
  std::variant<std::monostate, link_perf_event, link_tracing, link_iter, link_relative,
               link_kprobe_multi, link_uprobe_multi, link_netfilter>
      extra;
};

/// BPF_LINK_CREATE (5.7; cgroup 5.7, xdp 5.9, perf_event 5.15, tracing cookie 5.19, tcx 6.6).
/// Throws: ebpf::error "<subject>: create link: ...".
unique_fd link_create(const link_create_options& options, std::string_view subject);

/// BPF_LINK_UPDATE (5.7): swap the link's program; with old_prog_fd >= 0 only if it still runs
/// that one (BPF_F_REPLACE). Throws: ebpf::error "<subject>: update link: ...".
void link_update(int link_fd, int new_prog_fd, int old_prog_fd, std::string_view subject);

/// BPF_LINK_DETACH (5.9). Throws: ebpf::error "<subject>: detach link: ...".
void link_detach(int link_fd, std::string_view subject);

/// BPF_PROG_ATTACH (legacy attach: cgroup, sockmap, flow dissector, lirc...). `flags` are
/// attach_* flags; `replace_prog_fd` >= 0 sets attach_replace (5.6).
/// Throws: ebpf::error "<subject>: attach: ...".
void prog_attach(int target_fd, int prog_fd, attach_type type, std::uint32_t flags,
                 int replace_prog_fd, std::string_view subject);

/// BPF_PROG_DETACH. `prog_fd` -1 detaches whatever is attached (single-prog attach points).
/// Throws: ebpf::error "<subject>: detach: ...".
void prog_detach(int target_fd, int prog_fd, attach_type type, std::string_view subject);

/// BPF_RAW_TRACEPOINT_OPEN (4.17): `name` is the tracepoint for raw_tracepoint programs, empty for
/// tp_btf / fentry / fexit / lsm (whose target is in the program's attach_btf_id). `cookie` 6.10.
/// Throws: ebpf::error "<subject>: open raw tracepoint '<name>': ...".
unique_fd raw_tracepoint_open(std::string_view name, int prog_fd, std::uint64_t cookie,
                              std::string_view subject);

/// BPF_ENABLE_STATS (5.8): run_cnt / run_time_ns are collected while the returned fd is open.
/// Throws: ebpf::error "enable stats: ...".
unique_fd enable_stats(std::uint32_t type = stats_run_time);

/// SO_ATTACH_BPF (3.19): run socket-filter program `prog_fd` on socket `sock_fd`.
/// Throws: ebpf::error "<subject>: attach to socket: ...".
void socket_attach_bpf(int sock_fd, int prog_fd, std::string_view subject);
/// SO_DETACH_BPF; never throws (used on teardown). Returns false on failure (e.g. ENOENT when
/// nothing is attached).
bool socket_detach_bpf(int sock_fd) noexcept;

// ---------------------------------------------------------------------------------------------
// perf_event_open and tracefs.

/// The perf_event_attr fields we use. Always opened with PERF_FLAG_FD_CLOEXEC.
struct perf_event_options {
  std::uint32_t type = 0;           ///< PERF_TYPE_* (or a dynamic PMU type, e.g. uprobe)
  std::uint64_t config = 0;
  std::uint64_t config1 = 0;        ///< e.g. uprobe path pointer
  std::uint64_t config2 = 0;        ///< e.g. uprobe offset
  std::uint64_t sample_period = 0;  ///< or the frequency when `freq`
  bool freq = false;
  std::uint64_t sample_type = 0;
  std::uint32_t wakeup_events = 0;
  bool disabled = false;
  int pid = -1;                     ///< -1: every process (then cpu must be >= 0)
  int cpu = 0;
  int group_fd = -1;
};

/// PERF_TYPE_* and PERF_COUNT_SW_* numbers from <linux/perf_event.h>.
inline constexpr std::uint32_t perf_type_software = 1;
inline constexpr std::uint32_t perf_type_tracepoint = 2;
inline constexpr std::uint64_t perf_count_sw_cpu_clock = 0;
inline constexpr std::uint64_t perf_count_sw_bpf_output = 10;
inline constexpr std::uint64_t perf_sample_raw = 1u << 10;

/// perf_event_open(2). Throws: ebpf::error "<subject>: perf_event_open: ...".
unique_fd perf_event_open(const perf_event_options& options, std::string_view subject);
/// A tracepoint perf event for tracefs id `tracepoint_id` on every process (pid -1, cpu 0).
/// Throws: ebpf::error "<subject>: perf_event_open: ...".
unique_fd perf_event_open_tracepoint(std::uint64_t tracepoint_id, std::string_view subject);
/// A software event (PERF_COUNT_SW_*), e.g. cpu clock with a sample period in ns.
/// Throws: ebpf::error "<subject>: perf_event_open: ...".
unique_fd perf_event_open_software(std::uint64_t config, std::uint64_t sample_period, int pid,
                                   int cpu, std::string_view subject);
/// PERF_EVENT_IOC_SET_BPF (4.1). Throws: ebpf::error "<subject>: attach to perf event: ...".
void perf_event_set_bpf(int perf_fd, int prog_fd, std::string_view subject);
/// PERF_EVENT_IOC_ENABLE. Throws: ebpf::error "<subject>: enable perf event: ...".
void perf_event_enable(int perf_fd, std::string_view subject);
/// PERF_EVENT_IOC_DISABLE; never throws (used on teardown). Returns false on failure.
bool perf_event_disable(int perf_fd) noexcept;

/// The tracefs directory, mounting tracefs at /sys/kernel/tracing when nothing is mounted there
/// (and falling back to /sys/kernel/debug/tracing). Thread-safe; the answer is cached.
/// Throws: ebpf::error "tracefs: mount: ..." when neither is available.
std::string tracefs_path();

/// The id of tracepoint <category>/<name> from tracefs events/<category>/<name>/id.
/// Throws: ebpf::error "tracepoint '<category>/<name>': ..." (ENOENT when it does not exist).
std::uint64_t tracepoint_id(std::string_view category, std::string_view name);

// ---------------------------------------------------------------------------------------------
// Memory mapping.

/// Owns one mmap()ed region: move-only, munmap on destruction.
class mapped_region {
 public:
  /// PROT_* / MAP_* values (the usual Linux numbers, static_asserted in the .cpp).
  static constexpr int prot_read = 1;
  static constexpr int prot_write = 2;
  static constexpr int map_shared = 1;

  mapped_region() noexcept = default;
  mapped_region(mapped_region&& other) noexcept;
  mapped_region& operator=(mapped_region&& other) noexcept;
  mapped_region(const mapped_region&) = delete;
  mapped_region& operator=(const mapped_region&) = delete;
  ~mapped_region();

  /// mmap(addr_hint, length, prot, flags, fd, offset). `addr_hint` is null except for arenas.
  /// Throws: ebpf::error "<subject>: mmap: ...".
  static mapped_region map(int fd, std::size_t length, int prot, int flags, std::uint64_t offset,
                           std::string_view subject, void* addr_hint = nullptr);

  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::span<std::byte> bytes() const noexcept {
    return {static_cast<std::byte*>(data_), size_};
  }
  explicit operator bool() const noexcept { return data_ != nullptr; }
  /// munmap now (errors ignored).
  void reset() noexcept;

 private:
  mapped_region(void* data, std::size_t size) noexcept : data_(data), size_(size) {}
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

/// The system page size.
std::size_t page_size() noexcept;

/// The number of possible CPUs (/sys/devices/system/cpu/possible), the per-CPU value count.
/// Cached. Throws: ebpf::error "possible CPUs: ..." when the file cannot be read or parsed.
unsigned possible_cpus();

}  // namespace ebpf::sys
