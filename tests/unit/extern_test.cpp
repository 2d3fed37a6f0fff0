// Externs, pure: kconfig parsing and encoding (libbpf's rules), the externs of a compiled object
// (classification, order, .kconfig layout), the BTF fix-ups that make its BTF loadable, and how
// link_program turns extern references into instructions.
#include <ebpf/error.hpp>
#include <ebpf/kconfig.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/relocation.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

namespace {

using ebpf::extern_kind;
using ebpf::extern_spec;
using ebpf::kconfig_value_type;

std::vector<std::byte> read_object(const std::string& name) {
  std::ifstream in(std::string(EBPFPP_TEST_BPF_DIR) + "/" + name, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(raw.size());
  std::memcpy(bytes.data(), raw.data(), raw.size());
  return bytes;
}

extern_spec kconfig_extern(kconfig_value_type type, std::uint32_t size, bool is_signed = false) {
  extern_spec spec;
  spec.name = "CONFIG_TEST";
  spec.kind = extern_kind::kconfig;
  spec.value_type = type;
  spec.size = size;
  spec.is_signed = is_signed;
  return spec;
}

std::vector<std::byte> encode(const extern_spec& spec, std::string_view value) {
  std::vector<std::byte> out(spec.size, std::byte{0xee});
  ebpf::encode_kconfig_value(spec, value, out);
  return out;
}

template <class T>
T as(const std::vector<std::byte>& bytes) {
  T value{};
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

TEST(KconfigTest, ParsesAssignmentsAndSkipsComments) {
  auto values = ebpf::parse_kconfig(
      "#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_A=y\n# CONFIG_B is not set\n"
      "CONFIG_C=\"text with = sign\"\r\nCONFIG_D=0x10\nCONFIG_A=n\nOTHER=1\n");
  EXPECT_EQ(values.size(), 3u);
  EXPECT_EQ(values.at("CONFIG_A"), "y") << "the first assignment wins";
  EXPECT_EQ(values.at("CONFIG_C"), "\"text with = sign\"");
  EXPECT_EQ(values.at("CONFIG_D"), "0x10");
  EXPECT_FALSE(values.count("CONFIG_B"));
}

TEST(KconfigTest, RefusesLinesWithoutValue) {
  EXPECT_THROW(ebpf::parse_kconfig("CONFIG_A\n"), ebpf::error);
  try {
    ebpf::parse_kconfig("CONFIG_OK=y\nCONFIG_A=\n");
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(KconfigTest, EncodesTristateBoolAndChar) {
  auto tristate = kconfig_extern(kconfig_value_type::tristate, 4);
  EXPECT_EQ(as<std::uint32_t>(encode(tristate, "y")), 1u);
  EXPECT_EQ(as<std::uint32_t>(encode(tristate, "m")), 2u);
  EXPECT_EQ(as<std::uint32_t>(encode(tristate, "n")), 0u);
  auto boolean = kconfig_extern(kconfig_value_type::boolean, 1);
  EXPECT_EQ(as<std::uint8_t>(encode(boolean, "y")), 1u);
  EXPECT_THROW(encode(boolean, "0"), ebpf::error) << "a config number implies an integer (libbpf's rule)";
  std::vector<std::byte> out(1);
  ebpf::encode_kconfig_number(boolean, 1, out);  // a LINUX_HAS_* value
  EXPECT_EQ(out[0], std::byte{1});
  EXPECT_THROW(ebpf::encode_kconfig_number(boolean, 2, out), ebpf::error);
  EXPECT_THROW(encode(boolean, "m"), ebpf::error);
  EXPECT_THROW(encode(boolean, "2"), ebpf::error);
  auto character = kconfig_extern(kconfig_value_type::character, 1);
  EXPECT_EQ(as<char>(encode(character, "m")), 'm');
  EXPECT_EQ(as<std::uint8_t>(encode(character, "65")), 65u);
}

TEST(KconfigTest, EncodesIntegersWithRangeChecks) {
  auto u16 = kconfig_extern(kconfig_value_type::integer, 2);
  EXPECT_EQ(as<std::uint16_t>(encode(u16, "0xffff")), 0xffffu);
  EXPECT_THROW(encode(u16, "65536"), ebpf::error);
  auto s8 = kconfig_extern(kconfig_value_type::integer, 4, /*is_signed=*/true);
  EXPECT_EQ(as<std::int32_t>(encode(s8, "-5")), -5);
  EXPECT_EQ(as<std::int32_t>(encode(s8, "017")), 15) << "octal, as strtoull base 0";
  EXPECT_THROW(encode(s8, "0x80000000"), ebpf::error);
  auto u64 = kconfig_extern(kconfig_value_type::integer, 8);
  EXPECT_EQ(as<std::uint64_t>(encode(u64, "18446744073709551615")), ~std::uint64_t{0});
  EXPECT_THROW(encode(u64, "12abc"), ebpf::error);
  EXPECT_THROW(encode(u64, "y"), ebpf::error) << "a letter needs bool/tristate/char";
  EXPECT_THROW(encode(u64, "\"s\""), ebpf::error);
}

TEST(KconfigTest, EncodesStringsTruncatedWithNul) {
  auto array = kconfig_extern(kconfig_value_type::char_array, 6);
  auto out = encode(array, "\"abc\"");
  EXPECT_STREQ(reinterpret_cast<const char*>(out.data()), "abc");
  out = encode(array, "\"abcdefgh\"");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.data())), "abcde") << "truncated to size-1";
  EXPECT_THROW(encode(array, "\"unterminated"), ebpf::error);
  EXPECT_THROW(encode(array, "5"), ebpf::error);
}

TEST(KconfigTest, KernelVersionOfRelease) {
  EXPECT_EQ(ebpf::kernel_version_of_release("6.18.44-fc-v769"), (6u << 16) + (18u << 8) + 44u);
  EXPECT_EQ(ebpf::kernel_version_of_release("5.10.300"), (5u << 16) + (10u << 8) + 255u) << "patch capped";
  EXPECT_EQ(ebpf::kernel_version_of_release("6.1"), (6u << 16) + (1u << 8));
  EXPECT_EQ(ebpf::kernel_version_of_release("garbage"), 0u);
}

TEST(ExternSpecTest, ClassifiesOrdersAndLaysOutExterns) {
  auto spec = ebpf::object_spec::parse(read_object("externs.bpf.o"), "externs.bpf.o");
  std::vector<std::string> names;
  for (const auto& e : spec.externs) names.push_back(e.name);
  // kconfig first, by alignment descending, size ascending, name; then ksyms by name.
  const std::vector<std::string> expected = {
      "CONFIG_BPF_JIT", "CONFIG_EBPFPP_NO_SUCH_OPTION", "CONFIG_HZ", "CONFIG_NR_CPUS", "LINUX_EBPFPP_UNKNOWN",
      "LINUX_KERNEL_VERSION", "CONFIG_BPF_SYSCALL", "LINUX_HAS_BPF_COOKIE", "LINUX_HAS_SYSCALL_WRAPPER",
      "CONFIG_DEFAULT_HOSTNAME", "bpf_prog_active", "bpf_prog_put", "bpf_task_from_pid", "bpf_task_release",
      "ebpfpp_no_such_kfunc", "ebpfpp_no_such_var"};
  EXPECT_EQ(names, expected);
  auto hz = spec.find_extern("CONFIG_HZ");
  ASSERT_TRUE(hz);
  EXPECT_EQ(hz->kind, extern_kind::kconfig);
  EXPECT_EQ(hz->value_type, kconfig_value_type::integer);
  EXPECT_TRUE(hz->is_signed);
  EXPECT_EQ(hz->offset, 8u);
  EXPECT_EQ(spec.find_extern("CONFIG_BPF_JIT")->value_type, kconfig_value_type::tristate);
  EXPECT_EQ(spec.find_extern("CONFIG_BPF_JIT")->offset, 0u);
  EXPECT_EQ(spec.find_extern("CONFIG_BPF_SYSCALL")->value_type, kconfig_value_type::boolean);
  EXPECT_EQ(spec.find_extern("CONFIG_BPF_SYSCALL")->offset, 24u);
  EXPECT_EQ(spec.find_extern("CONFIG_DEFAULT_HOSTNAME")->value_type, kconfig_value_type::char_array);
  EXPECT_EQ(spec.find_extern("CONFIG_DEFAULT_HOSTNAME")->offset, 27u);
  EXPECT_TRUE(spec.find_extern("CONFIG_EBPFPP_NO_SUCH_OPTION")->weak);
  EXPECT_EQ(spec.find_extern("bpf_prog_put")->kind, extern_kind::ksym_typeless);
  EXPECT_EQ(spec.find_extern("bpf_prog_active")->kind, extern_kind::ksym_variable);
  EXPECT_EQ(spec.find_extern("bpf_task_from_pid")->kind, extern_kind::ksym_function);
  auto kconfig = spec.find_map(".kconfig");
  ASSERT_TRUE(kconfig);
  EXPECT_EQ(kconfig->origin, ebpf::map_origin::kconfig);
  EXPECT_EQ(kconfig->value_size, 27u + 16u);
  EXPECT_EQ(spec.kernel_map_name(*kconfig), "externs.kconfig");
}

TEST(ExternSpecTest, BtfIsFixedUpForTheKernel) {
  auto spec = ebpf::object_spec::parse(read_object("externs.bpf.o"), "externs.bpf.o");
  const auto& types = *spec.types;
  auto ksyms = types.find(".ksyms", ebpf::btf_kind::datasec);
  ASSERT_TRUE(ksyms);
  auto dummy = types.find("dummy_ksym", ebpf::btf_kind::variable);
  ASSERT_TRUE(dummy) << "a VAR stands in for the kfuncs in .ksyms";
  std::uint32_t offset = 0;
  for (const auto& var : types.datasec_vars(*ksyms)) {
    EXPECT_EQ(types.type(var.type).kind, ebpf::btf_kind::variable) << "a DATASEC lists only VARs";
    EXPECT_EQ(types.var_linkage(var.type), 1u);
    EXPECT_EQ(var.offset, offset);
    EXPECT_EQ(var.size, 4u);
    offset += 4;
  }
  EXPECT_EQ(types.size_of(*ksyms), offset);
  auto kfunc = types.find("bpf_task_from_pid", ebpf::btf_kind::function);
  ASSERT_TRUE(kfunc);
  EXPECT_EQ(types.func_linkage(*kfunc), 1u) << "extern -> global";
  for (const auto& parameter : types.parameters(types.type(*kfunc).size_or_type))
    EXPECT_FALSE(parameter.name.empty()) << "global functions need named parameters";
  auto kconfig = types.find(".kconfig", ebpf::btf_kind::datasec);
  ASSERT_TRUE(kconfig);
  for (const auto& var : types.datasec_vars(*kconfig)) {
    EXPECT_EQ(types.var_linkage(var.type), 1u);
    EXPECT_EQ(var.offset, spec.find_extern(types.type(var.type).name)->offset);
  }
  // The rewritten blob parses again: what the kernel gets is well-formed.
  EXPECT_NO_THROW(ebpf::btf::parse(types.bytes()));
}

TEST(ExternSpecTest, LinkPointsExternsAtTheirValues) {
  auto spec = ebpf::object_spec::parse(read_object("externs.bpf.o"), "externs.bpf.o");
  ebpf::link_inputs inputs;
  inputs.map_fd = [](const std::string& name) { return name == ".kconfig" ? 77 : 5; };
  inputs.externs.resize(spec.externs.size());
  std::size_t poisoned_index = 0;
  for (std::size_t i = 0; i < spec.externs.size(); ++i) {
    const auto& e = spec.externs[i];
    if (e.name == "bpf_task_from_pid") inputs.externs[i] = {true, 1111, 0, 0, {}};
    if (e.name == "bpf_task_release") inputs.externs[i] = {true, 2222, 0, 0, {}};
    if (e.name == "bpf_prog_active") inputs.externs[i] = {true, 3333, 0, 0, {}};
    if (e.name == "bpf_prog_put") inputs.externs[i] = {true, 0, 0, 0xffffffff12345678, {}};
    if (e.name == "ebpfpp_no_such_kfunc") poisoned_index = i;
  }
  auto linked = ebpf::link_program(spec, *spec.find_program("use_ksyms"), inputs);
  bool kfunc_call = false, btf_id_load = false, address_load = false, poisoned = false;
  for (std::size_t i = 0; i < linked.instructions.size(); ++i) {
    const auto& insn = linked.instructions[i];
    if (insn.code == 0x85 && insn.src() == 2 && insn.imm == 1111) kfunc_call = true;
    if (insn.code == 0x85 && insn.src() == 0 && insn.imm == static_cast<std::int32_t>(2002000000 + poisoned_index)) poisoned = true;
    if (insn.code == 0x18 && insn.src() == 3 && insn.imm == 3333) btf_id_load = true;
    if (insn.code == 0x18 && insn.src() == 0 && static_cast<std::uint32_t>(insn.imm) == 0x12345678u &&
        static_cast<std::uint32_t>(linked.instructions[i + 1].imm) == 0xffffffffu)
      address_load = true;
  }
  auto typed = ebpf::link_program(spec, *spec.find_program("use_typed_ksym"), inputs);
  for (const auto& insn : typed.instructions)
    if (insn.code == 0x18 && insn.src() == 3 && insn.imm == 3333) btf_id_load = true;
  EXPECT_TRUE(kfunc_call);
  EXPECT_TRUE(btf_id_load) << "a typed __ksym variable is ld_imm64 BPF_PSEUDO_BTF_ID";
  EXPECT_TRUE(address_load);
  EXPECT_TRUE(poisoned) << "an unresolved weak kfunc call is poisoned with libbpf's constant and extern index";

  auto kconfig = ebpf::link_program(spec, *spec.find_program("read_kconfig"), inputs);
  bool reads_kconfig = false;
  for (std::size_t i = 0; i + 1 < kconfig.instructions.size(); ++i)
    if (kconfig.instructions[i].code == 0x18 && kconfig.instructions[i].src() == 2 && kconfig.instructions[i].imm == 77 &&
        kconfig.instructions[i + 1].imm == static_cast<std::int32_t>(spec.find_extern("CONFIG_HZ")->offset))
      reads_kconfig = true;
  EXPECT_TRUE(reads_kconfig) << "CONFIG_HZ is read from the .kconfig map at its offset";
  EXPECT_EQ(ebpf::maps_used_by(spec, *spec.find_program("read_kconfig")).count(".kconfig"), 1u);
}

TEST(ExternSpecTest, StrongUnresolvedExternsFailTheLinkWithTheReason) {
  auto spec = ebpf::object_spec::parse(read_object("externs.bpf.o"), "externs.bpf.o");
  ebpf::link_inputs inputs;
  inputs.map_fd = [](const std::string&) { return 5; };
  inputs.externs.resize(spec.externs.size());
  for (std::size_t i = 0; i < spec.externs.size(); ++i) inputs.externs[i].unresolved_reason = "reason for " + spec.externs[i].name;
  try {
    ebpf::link_program(spec, *spec.find_program("use_ksyms"), inputs);
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::unknown_symbol);
    EXPECT_NE(std::string(e.what()).find("reason for "), std::string::npos) << e.what();
  }
}

}  // namespace
