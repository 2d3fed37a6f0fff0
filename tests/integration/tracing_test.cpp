// Tracing programs from an object: tracepoint, raw_tp and tp_btf (attach_btf_id resolved from
// the kernel's BTF) each see this process's getpid() calls while linked, and stop when the link
// is destroyed.
#include <ebpf/ebpf.hpp>
#include <ebpf/kernel_btf.hpp>

#include "fixture.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace {

class TracingTest : public ebpf_test::kernel_test {
 protected:
  static void call_getpid(int times) {
    for (int i = 0; i < times; ++i) (void)::syscall(39);  // getpid, not cached by libc
  }
  std::array<std::uint64_t, 3> hits(ebpf::object& object) { return object.global<std::array<std::uint64_t, 3>>("hits"); }
};

TEST_F(TracingTest, EachKindCountsWhileLinked) {
  auto object = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/tracing.bpf.o");
  object.set_global("target_tgid", static_cast<std::uint32_t>(::getpid()));
  object.load();
  {
    // Each attaches where its SEC() says.
    auto tracepoint = object.program("on_tracepoint").attach();
    auto raw = object.program("on_raw_tp").attach();
    auto typed = object.program("on_tp_btf").attach();
    call_getpid(7);
    auto seen = hits(object);
    EXPECT_EQ(seen[0], 7u) << "tracepoint";
    EXPECT_EQ(seen[1], 7u) << "raw_tp";
    EXPECT_EQ(seen[2], 7u) << "tp_btf";
    EXPECT_EQ(object.global<std::uint64_t>("last_syscall_id"), 39u);
  }
  call_getpid(5);
  auto after = hits(object);
  EXPECT_EQ(after[0], 7u) << "detached when the link was destroyed";
  EXPECT_EQ(after[1], 7u);
  EXPECT_EQ(after[2], 7u);
}

TEST_F(TracingTest, TpBtfGetsItsAttachBtfIdFromTheKernel) {
  auto object = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/tracing.bpf.o");
  ebpf::load_options options;
  options.only = {"on_tp_btf"};
  object.load(options);
  auto expected = ebpf::kernel_btf().find("btf_trace_sys_enter", ebpf::btf_kind::typedef_);
  ASSERT_TRUE(expected);
  auto info = object.program("on_tp_btf").info();
  EXPECT_EQ(info.type, ebpf::program_type::tracing);
}

}  // namespace

namespace {

TEST_F(TracingTest, AttachWithoutATargetInTheSectionSaysWhatToUse) {
  auto object = ebpf::object::open(std::string(EBPFPP_TEST_BPF_DIR) + "/loader.bpf.o");
  object.load();
  try {
    object.program("xdp_count_and_pass").attach();
    FAIL();
  } catch (const ebpf::error& e) {
    EXPECT_EQ(e.code(), ebpf::errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("attach_xdp"), std::string::npos) << e.what();
  }
}

}  // namespace
