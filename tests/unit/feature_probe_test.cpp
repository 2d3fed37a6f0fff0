// The pure half of the feature probes: how a verifier log becomes an answer, the helper names,
// the names of kernel features (include/ebpf/features.hpp, lib/object/feature_probe.cpp).
#include <ebpf/features.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>

namespace {

using ebpf::support;
using ebpf::detail::classify_helper_probe;
using ebpf::detail::classify_program_type_probe;

// Verifier logs as 6.18 writes them for `call N; exit` (kernel/bpf/verifier.c check_helper_call).
constexpr const char* unknown_id_log = "0: R1=ctx() R10=fp0\n0: (85) call unknown#212\ninvalid func unknown#212\n"
                                       "processed 1 insns (limit 1000000) max_states_per_insn 0\n";
constexpr const char* wrong_type_log = "0: R1=ctx() R10=fp0\n0: (85) call bpf_sys_bpf#166\n"
                                       "program of this type cannot use helper bpf_sys_bpf#166\n";
constexpr const char* old_kernel_log = "0: (85) call bpf_sys_bpf#166\nunknown func bpf_sys_bpf#166\n";
constexpr const char* argument_log = "0: R1=ctx() R10=fp0\n0: (85) call bpf_map_lookup_elem#1\n"
                                     "R1 type=ctx expected=map_ptr\nprocessed 1 insns\n";

TEST(FeatureProbeTest, LoadedHelperProgramMeansSupported) {
  auto result = classify_helper_probe(0, "");
  EXPECT_EQ(result.state, support::supported);
  EXPECT_EQ(result.error, 0);
  EXPECT_TRUE(result);
}

TEST(FeatureProbeTest, InvalidFuncMeansTheKernelDoesNotKnowTheHelper) {
  auto result = classify_helper_probe(EINVAL, unknown_id_log);
  EXPECT_EQ(result.state, support::unsupported);
  EXPECT_EQ(result.error, EINVAL);
  EXPECT_EQ(result.detail, "invalid func unknown#212");
  EXPECT_FALSE(result);
}

TEST(FeatureProbeTest, CannotUseHelperMeansNotForThisProgramType) {
  auto result = classify_helper_probe(EINVAL, wrong_type_log);
  EXPECT_EQ(result.state, support::unsupported);
  EXPECT_EQ(result.detail, "program of this type cannot use helper bpf_sys_bpf#166");
  auto older = classify_helper_probe(EINVAL, old_kernel_log);
  EXPECT_EQ(older.state, support::unsupported);
  EXPECT_EQ(older.detail, "unknown func bpf_sys_bpf#166");
}

TEST(FeatureProbeTest, OtherVerifierComplaintsMeanTheHelperExists) {
  // The verifier found the helper and then objected to its argument: the helper is there.
  auto result = classify_helper_probe(EACCES, argument_log);
  EXPECT_EQ(result.state, support::supported);
  EXPECT_EQ(result.error, 0);
  // Sleepable-only helpers in a non-sleepable program: also known to the kernel.
  EXPECT_EQ(classify_helper_probe(EINVAL, "helper call might sleep in a non-sleepable prog\n").state, support::supported);
}

TEST(FeatureProbeTest, NoLogMeansTheVerifierNeverRan) {
  for (int error : {EPERM, ENOMEM, EFAULT}) {
    auto result = classify_helper_probe(error, "");
    EXPECT_EQ(result.state, support::unknown) << error;
    EXPECT_EQ(result.error, error);
  }
  EXPECT_EQ(classify_helper_probe(EPERM, "\n \n").state, support::unknown) << "whitespace is no log";
}

TEST(FeatureProbeTest, ProgramTypeVerdicts) {
  EXPECT_EQ(classify_program_type_probe(0, "", 0, "").state, support::supported);
  // find_prog_type() refuses an unknown type before the verifier writes anything.
  auto unknown_type = classify_program_type_probe(EINVAL, "", 0, "");
  EXPECT_EQ(unknown_type.state, support::unsupported);
  EXPECT_EQ(unknown_type.error, EINVAL);
  // The verifier ran: the type exists even though our minimal program did not please it.
  auto ran = classify_program_type_probe(EINVAL, "0: (b7) r0 = 0\nAt program exit the register R0 has value (0x0; 0x0)\n", 0, "");
  EXPECT_EQ(ran.state, support::supported);
  EXPECT_EQ(ran.detail, "At program exit the register R0 has value (0x0; 0x0)");
  // Types whose probe cannot load: only the expected failure proves them.
  constexpr const char* tracing_log = "attach_btf_id 1 is not a function\n";
  EXPECT_EQ(classify_program_type_probe(EINVAL, tracing_log, EINVAL, "attach_btf_id 1 is not a function").state, support::supported);
  EXPECT_EQ(classify_program_type_probe(EINVAL, "", EINVAL, "attach_btf_id 1 is not a function").state, support::unsupported);
  EXPECT_EQ(classify_program_type_probe(524, "", 524, "").state, support::supported) << "struct_ops: ENOTSUPP";
  // EPERM (no privileges, or lockdown refusing tracing programs) tells nothing.
  auto denied = classify_program_type_probe(EPERM, "", EINVAL, "attach_btf_id 1 is not a function");
  EXPECT_EQ(denied.state, support::unknown);
  EXPECT_EQ(denied.error, EPERM);
  EXPECT_EQ(classify_program_type_probe(EPERM, "", 0, "").state, support::unknown);
}

TEST(FeatureProbeTest, LogLineWithFindsTheLastMatchingLine) {
  EXPECT_EQ(ebpf::detail::log_line_with("a x\nb\nc x\n", "x"), "c x");
  EXPECT_EQ(ebpf::detail::log_line_with("a\nb\n\n", ""), "b") << "empty needle: the last non-empty line";
  EXPECT_EQ(ebpf::detail::log_line_with("no newline", "new"), "no newline");
  EXPECT_EQ(ebpf::detail::log_line_with("", "x"), "");
}

TEST(FeatureProbeTest, HelperNamesFollowTheKernelEnum) {
  EXPECT_EQ(ebpf::helper_name(0), "");
  EXPECT_EQ(ebpf::helper_name(1), "bpf_map_lookup_elem");
  EXPECT_EQ(ebpf::helper_name(6), "bpf_trace_printk");
  EXPECT_EQ(ebpf::helper_name(36), "bpf_probe_write_user");
  EXPECT_EQ(ebpf::helper_name(113), "bpf_probe_read_kernel");
  EXPECT_EQ(ebpf::helper_name(166), "bpf_sys_bpf");
  EXPECT_EQ(ebpf::helper_name(174), "bpf_get_attach_cookie");
  EXPECT_EQ(ebpf::helper_name(177), "bpf_trace_vprintk");
  EXPECT_EQ(ebpf::helper_name(211), "bpf_cgrp_storage_delete");
  EXPECT_EQ(ebpf::helper_id_limit(), 212u);
  EXPECT_EQ(ebpf::helper_name(212), "");
  std::set<std::string_view> names;
  for (std::uint32_t id = 1; id < ebpf::helper_id_limit(); ++id) {
    EXPECT_EQ(ebpf::helper_name(id).substr(0, 4), "bpf_") << id;
    names.insert(ebpf::helper_name(id));
  }
  EXPECT_EQ(names.size(), ebpf::helper_id_limit() - 1) << "names are unique";
}

TEST(FeatureProbeTest, KernelFeatureNamesAreUniqueAndDescribed) {
  std::set<std::string_view> names;
  std::uint32_t expected = 0;
  for (auto feature : ebpf::all_kernel_features()) {
    EXPECT_EQ(static_cast<std::uint32_t>(feature), expected++) << "declaration order";
    EXPECT_NE(ebpf::to_string(feature), "unknown");
    EXPECT_NE(ebpf::description(feature).find('('), std::string_view::npos) << "names its kernel version";
    names.insert(ebpf::to_string(feature));
  }
  EXPECT_EQ(names.size(), ebpf::all_kernel_features().size());
  EXPECT_EQ(ebpf::to_string(ebpf::kernel_feature::btf_enum64), "btf_enum64");
  EXPECT_EQ(ebpf::to_string(ebpf::support::unknown), "unknown");
  EXPECT_EQ(ebpf::to_string(static_cast<ebpf::kernel_feature>(9999)), "unknown");
}

}  // namespace
