// libbpf as the oracle: every program of our test objects, loaded by libbpf and by ebpfpp, must
// get the same kernel tag. The tag is the kernel's hash of the instructions with map fds zeroed
// (kernel/bpf/core.c bpf_prog_calc_tag), so equal tags mean our relocation produced exactly the
// instructions libbpf produces. libbpf is linked by this test only, never by the library.
#include <ebpf/object.hpp>

#include "fixture.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>

namespace {

class LibbpfOracleTest : public ebpf_test::kernel_test, public ::testing::WithParamInterface<const char*> {};

std::string tag_hex(const std::uint8_t* tag) {
  char text[17];
  for (int i = 0; i < 8; ++i) std::snprintf(text + 2 * i, 3, "%02x", tag[i]);
  return text;
}

std::map<std::string, std::string> libbpf_tags(const std::string& path) {
  libbpf_set_print(nullptr);
  std::map<std::string, std::string> tags;
  bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
  if (!object) {
    ADD_FAILURE() << "libbpf cannot open " << path;
    return tags;
  }
  if (int err = bpf_object__load(object); err != 0) {
    ADD_FAILURE() << "libbpf cannot load " << path << ": " << err;
    bpf_object__close(object);
    return tags;
  }
  bpf_program* program;
  bpf_object__for_each_program(program, object) {
    if (!bpf_program__autoload(program)) continue;
    bpf_prog_info info{};
    __u32 length = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &length) == 0)
      tags[bpf_program__name(program)] = tag_hex(info.tag);
  }
  bpf_object__close(object);
  return tags;
}

TEST_P(LibbpfOracleTest, SameTagsAsLibbpf) {
  std::string path = std::string(EBPFPP_TEST_BPF_DIR) + "/" + GetParam();
  auto expected = libbpf_tags(path);
  ASSERT_FALSE(expected.empty());
  auto object = ebpf::object::open(path);
  object.load();
  for (const auto& [name, tag] : expected) {
    SCOPED_TRACE(name);
    EXPECT_EQ(object.program(name).info().tag_string(), tag);
  }
  EXPECT_EQ(object.program_names().size(), expected.size());
}

INSTANTIATE_TEST_SUITE_P(TestObjects, LibbpfOracleTest,
                         ::testing::Values("loader.bpf.o", "libbpf_headers.bpf.o"),
                         [](const auto& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('.'));
                         });

}  // namespace
