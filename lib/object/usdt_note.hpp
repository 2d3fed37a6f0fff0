// ebpfpp internal: USDT probes (SystemTap SDT notes) of a user-space binary. Pure.
//
// <sys/sdt.h> (DTRACE_PROBE*, STAP_PROBE*) leaves a `nop` at the probe site and an ELF note in
// .note.stapsdt (owner "stapsdt", type 3) whose descriptor is
//
//   u64 pc | u64 base | u64 semaphore | "provider\0" "name\0" "args\0"
//
// `pc` is the nop's link-time address, `base` the link-time address of .stapsdt.base (if the
// binary was prelinked, .stapsdt.base moved and pc moves with it), `semaphore` the address of a
// u16 counter the probe's caller tests (non-zero while something is attached: the kernel
// increments it for uprobes created with a ref_ctr_offset, 4.20). `args` is what the assembler
// saw for each operand, e.g. "-4@%edi 8@-8(%rbp) 4@$5": [-]size@operand, negative = signed.
//
// Models read: libbpf src/usdt.c (collect_usdt_targets, parse_usdt_note, parse_usdt_arg for
// x86-64), https://sourceware.org/systemtap/wiki/UserSpaceProbeImplementation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ebpf::detail {

class elf_binary;

/// libbpf's BPF_USDT_MAX_ARG_CNT: <sys/sdt.h> itself stops at 12 operands.
inline constexpr std::size_t usdt_max_args = 12;

/// How to fetch one USDT argument in the probe (see bpf/include/ebpfpp/usdt.h).
struct usdt_arg_spec {
  enum class kind : std::uint8_t {
    constant = 0,       ///< "$5": value_or_offset
    reg = 1,            ///< "%edi": the register
    reg_deref = 2,      ///< "-8(%rbp)": *(reg + value_or_offset)
    reg_sib_deref = 3,  ///< "8(%rax,%rdx,4)": *(reg + (index << scale_shift) + value_or_offset)
  };
  kind type = kind::constant;
  std::int64_t value_or_offset = 0;
  std::uint16_t reg_offset = 0;        ///< offsetof(struct pt_regs, reg)
  std::uint16_t index_reg_offset = 0;  ///< reg_sib_deref
  std::uint8_t scale_shift = 0;        ///< reg_sib_deref: 0..3 (scale 1, 2, 4, 8)
  std::uint8_t size = 8;               ///< 1, 2, 4 or 8 bytes
  bool is_signed = false;
};

/// One raw stapsdt note.
struct usdt_note {
  std::string provider;
  std::string name;
  std::uint64_t pc = 0;
  std::uint64_t base = 0;
  std::uint64_t semaphore = 0;
  std::string args;
};

/// A probe site ready for a uprobe.
struct usdt_site {
  std::string provider;
  std::string name;
  std::uint64_t address = 0;         ///< pc, adjusted for prelinking
  std::uint64_t offset = 0;          ///< file offset of the probe's nop
  std::uint64_t semaphore = 0;       ///< address of the semaphore, 0 if none
  std::uint64_t semaphore_offset = 0;  ///< its file offset (the uprobe's ref_ctr_offset), 0 if none
  std::string args_text;
  std::vector<usdt_arg_spec> args;
};

/// Parses the notes of a .note.stapsdt section (64-bit: 8-byte addresses). Notes of other owners
/// or types are skipped. `subject` prefixes messages.
/// Throws: ebpf::error(errc::invalid_object) "<subject>: .note.stapsdt: ..." for a truncated note,
/// sizes that overrun the section, or a descriptor without its three strings.
std::vector<usdt_note> parse_stapsdt_notes(std::span<const std::byte> section,
                                           std::string_view subject);

/// Parses an x86-64 argument string ("-4@%edi 8@-8(%rbp) 4@$5"). An empty string is no argument.
/// Throws: ebpf::error(errc::invalid_object) "<subject>: USDT arguments '<text>': ..." naming the
/// argument that is malformed, has an unknown register or size, or when there are more than 12.
std::vector<usdt_arg_spec> parse_usdt_args(std::string_view text, std::string_view subject);

/// The sites of probe provider:name in `binary` (an empty provider or name matches any) (every note that matches: a probe used in several
/// places, or inlined, has one note per place), with file offsets computed through the PT_LOAD
/// segments and the .stapsdt.base adjustment.
/// Throws: ebpf::error(errc::invalid_object) for a malformed note, argument or an address outside
/// the file's segments; errc::not_found (naming the probes the binary has) when there is no such
/// probe.
std::vector<usdt_site> find_usdt_sites(const elf_binary& binary, std::string_view provider,
                                       std::string_view name);

/// The BPF-side record (struct ebpfpp_usdt_spec in bpf/include/ebpfpp/usdt.h): 16 argument slots
/// of 16 bytes (12 used at most; 16 so the eBPF side can bound an index with a mask), then u64
/// cookie, u16 arg_count and padding: 272 bytes.
inline constexpr std::size_t usdt_spec_size = 272;
std::array<std::byte, usdt_spec_size> encode_usdt_spec(std::span<const usdt_arg_spec> args,
                                                       std::uint64_t cookie);

}  // namespace ebpf::detail
