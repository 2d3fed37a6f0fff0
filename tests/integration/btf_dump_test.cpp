// vmlinux.h for real: the running kernel's BTF (/sys/kernel/btf/vmlinux, world-readable, so no
// root needed) written as C by ebpf::c_header and by `ebpfpp btf dump`, compiled with clang for
// the BPF target, its layouts checked against the BTF it came from, and compared with what
// bpftool (the oracle, tests only) writes. Plus the round trip of a compiled object: its BTF
// dumped, a program compiled against the header, and the new program's BTF compared with the
// original type by type.
//
// Needs clang with the BPF target (the build's bpf_clang); the bpftool comparisons skip when
// bpftool is not installed, the CLI ones when the tool is not built.
#include <ebpf/btf.hpp>
#include <ebpf/btf_dump.hpp>
#include <ebpf/error.hpp>

#include "../unit/btf_builder.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace {

using ebpf::btf;
using ebpf::btf_kind;

const char* const vmlinux_path = "/sys/kernel/btf/vmlinux";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::vector<std::byte> read_bytes(const std::string& path) {
  std::string text = read_text(path);
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

std::string bpftool_path() {
  for (const char* path : {"/usr/sbin/bpftool", "/usr/bin/bpftool"})
    if (::access(path, X_OK) == 0) return path;
  return "";
}

std::string tool_path() {
#ifdef EBPFPP_TOOL
  return EBPFPP_TOOL;
#else
  return "";
#endif
}

struct run_result {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
  double seconds = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class BtfDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(vmlinux_path, R_OK) != 0) GTEST_SKIP() << vmlinux_path << " is not readable (kernel without BTF?)";
    char pattern[] = "/tmp/ebpfpp-btf-dump-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  run_result run(const std::vector<std::string>& args) {
    static int counter = 0;
    const std::string base = dir_ + "/run" + std::to_string(++counter);
    const std::string out_path = base + ".out", err_path = base + ".err";
    std::vector<std::string> strings = args;
    std::vector<char*> argv;
    for (auto& arg : strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    run_result result;
    auto start = std::chrono::steady_clock::now();
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, strings[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << strings[0] << ": " << std::strerror(rc);
      return result;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.seconds = seconds_since(start);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = read_text(out_path);
    result.err = read_text(err_path);
    return result;
  }

  /// clang -target bpf -g -O2 -Wall -Werror -I<include_dir> -I<ebpfpp's bpf headers> -c source.
  run_result compile(const std::string& source_path, const std::string& include_dir, const std::string& output,
                     bool syntax_only = false) {
    std::vector<std::string> args{EBPFPP_BPF_CLANG, "-target", "bpf", "-g", "-O2", "-Wall", "-Werror",
                                  "-D__TARGET_ARCH_x86", "-I" + include_dir, "-I" EBPFPP_BPF_INCLUDE_DIR};
    if (syntax_only) {
      args.push_back("-fsyntax-only");
    } else {
      args.insert(args.end(), {"-c", "-o", output});
    }
    args.push_back(source_path);
    return run(args);
  }

  /// `header` as DIR/vmlinux.h in a directory of its own, for -I.
  std::string header_dir(const std::string& name, std::string_view header) {
    std::string d = dir_ + "/" + name;
    std::filesystem::create_directories(d);
    write_text(d + "/vmlinux.h", header);
    return d;
  }

  std::string dir_;
};

// ---- what a header defines ---------------------------------------------------------------------

// The definitions: after the preamble's preprocessor lines, up to the kfunc block (ours and
// bpftool >= 7.5) or the closing pragma.
std::string type_section(const std::string& header) {
  std::size_t begin = 0;
  while (begin < header.size() && (header[begin] == '#' || header[begin] == '\n')) {
    auto eol = header.find('\n', begin);
    begin = eol == std::string::npos ? header.size() : eol + 1;
  }
  auto end = std::min(header.find("\n/* BPF kfuncs */", begin),
                      header.find("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop", begin));
  if (end == std::string::npos) return "";
  return header.substr(begin, end - begin);
}

bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Tokens of a declaration with brace blocks collapsed to "{}" and attributes (and the type tag
// macro) removed.
std::vector<std::string> tokens_of(std::string_view text) {
  std::string flat;
  int braces = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{') {
      if (braces++ == 0) flat += " {} ";
      continue;
    }
    if (c == '}') {
      --braces;
      continue;
    }
    if (braces == 0) flat += c;
  }
  for (std::string_view macro : {std::string_view("__attribute__"), std::string_view("__btf_type_tag")}) {
    for (auto at = flat.find(macro); at != std::string::npos; at = flat.find(macro)) {
      auto open = flat.find('(', at);
      int depth = 0;
      std::size_t end = open;
      for (; end < flat.size(); ++end) {
        if (flat[end] == '(') ++depth;
        if (flat[end] == ')' && --depth == 0) break;
      }
      flat.erase(at, end + 1 - at);
    }
  }
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < flat.size();) {
    if (std::isspace(static_cast<unsigned char>(flat[i]))) {
      ++i;
    } else if (flat.compare(i, 2, "{}") == 0) {
      tokens.emplace_back("{}");
      i += 2;
    } else if (is_ident_char(flat[i])) {
      std::size_t j = i;
      while (j < flat.size() && is_ident_char(flat[j])) ++j;
      tokens.emplace_back(flat.substr(i, j - i));
      i = j;
    } else {
      tokens.emplace_back(1, flat[i++]);
    }
  }
  return tokens;
}

// The name a typedef declares: after the type specifiers (keywords, one tag, or one typedef
// name), the first identifier is the declarator's.
std::string typedef_name(std::string_view statement) {
  static const std::set<std::string> keywords{"const", "volatile", "restrict", "signed", "unsigned",
                                              "short", "long", "int", "char", "void", "_Bool",
                                              "float", "double", "__int128"};
  auto tokens = tokens_of(statement);
  bool have_base = false;
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (!is_ident_char(t[0]) || std::isdigit(static_cast<unsigned char>(t[0]))) continue;
    if (t == "struct" || t == "union" || t == "enum") {
      if (i + 1 < tokens.size() && is_ident_char(tokens[i + 1][0])) ++i;  // the tag
      if (i + 1 < tokens.size() && tokens[i + 1] == "{}") ++i;
      have_base = true;
    } else if (keywords.count(t)) {
      if (t != "const" && t != "volatile" && t != "restrict") have_base = true;
    } else if (!have_base) {
      have_base = true;  // a typedef name used as the type
    } else {
      return t;
    }
  }
  return "";
}

// "struct task_struct", "enum pid_type", "typedef pid_t", ... for every top-level definition
// (forward declarations `struct x;` define nothing).
std::multiset<std::string> defined_names(const std::string& types) {
  std::multiset<std::string> names;
  std::size_t start = 0;
  while (start < types.size()) {
    auto end = types.find(";\n\n", start);
    if (end == std::string::npos) end = types.size();
    std::string_view statement(types.data() + start, end - start);
    start = end + 3;
    if (statement.rfind("typedef ", 0) == 0) {
      names.insert("typedef " + typedef_name(statement));
      continue;
    }
    for (std::string_view kind : {"struct ", "union ", "enum "}) {
      if (statement.rfind(kind, 0) != 0) continue;
      auto brace = statement.find(" {");
      if (brace == std::string_view::npos) break;  // a forward declaration
      std::string_view tag = statement.substr(kind.size(), brace - kind.size());
      if (tag.empty() || statement[kind.size()] == '{') break;  // anonymous enum of constants
      names.insert(std::string(kind) + std::string(tag));
      break;
    }
  }
  return names;
}

// Both outputs in one spelling where the C is the same: newer libbpf writes `(void)` for an
// empty parameter list (older `()`), and sizes 1-byte enums with mode(byte) (older: nothing).
std::string normalized(std::string text) {
  for (std::string_view attr : {std::string_view(" __attribute__((mode(byte)))")}) {
    for (auto at = text.find(attr); at != std::string::npos; at = text.find(attr, at)) text.erase(at, attr.size());
  }
  for (auto at = text.find("()"); at != std::string::npos; at = text.find("()", at + 6)) text.replace(at, 2, "(void)");
  return text;
}

// ---- layout checks generated from BTF ----------------------------------------------------------

// Tag names (struct/union/enum) that occur once: the header keeps them unrenamed.
std::set<std::string_view> unique_tags(const btf& types) {
  std::map<std::string_view, int> count;
  for (std::uint32_t id = 1; id < types.type_count(); ++id) {
    auto t = types.type(id);
    bool counts = t.kind == btf_kind::struct_ || t.kind == btf_kind::union_ || t.kind == btf_kind::enum64 ||
                  (t.kind == btf_kind::enum_ && t.vlen > 0);
    if (counts && !t.name.empty()) ++count[t.name];
  }
  std::set<std::string_view> unique;
  for (const auto& [name, n] : count)
    if (n == 1) unique.insert(name);
  return unique;
}

// Whether a type holds __builtin_va_list by value: the header leaves that typedef to the
// compiler, whose BPF va_list is a pointer (8 bytes) while the kernel's x86-64 one is 24, so the
// layouts of these few types (struct va_format, warn_args, ...) differ by design, as bpftool's.
class va_list_finder {
 public:
  explicit va_list_finder(const btf& types) : types_(types), state_(types.type_count(), 0) {}
  bool contains(std::uint32_t id) {
    if (state_[id] != 0) return state_[id] == 2;
    state_[id] = 1;  // in progress: a loop is no va_list
    auto t = types_.type(id);
    bool found = false;
    switch (t.kind) {
      case btf_kind::typedef_:
        found = t.name == "__builtin_va_list" || contains(t.size_or_type);
        break;
      case btf_kind::const_:
      case btf_kind::volatile_:
      case btf_kind::restrict_:
      case btf_kind::type_tag:
        found = contains(t.size_or_type);
        break;
      case btf_kind::array:
        found = contains(types_.array(id).element_type);
        break;
      case btf_kind::struct_:
      case btf_kind::union_:
        for (const auto& m : types_.members(id)) found = found || contains(m.type);
        break;
      default:
        break;
    }
    state_[id] = found ? 2 : 3;
    return found;
  }

 private:
  const btf& types_;
  std::vector<std::uint8_t> state_;
};

std::uint32_t skip_modifiers(const btf& types, std::uint32_t id) {
  for (;;) {
    auto t = types.type(id);
    if (t.kind != btf_kind::const_ && t.kind != btf_kind::volatile_ && t.kind != btf_kind::restrict_ &&
        t.kind != btf_kind::type_tag)
      return id;
    id = t.size_or_type;
  }
}

// _Static_assert of sizeof and offsetof for every uniquely named struct and union: what the
// compiler makes of the header must be the layout BTF describes. Members of anonymous members
// are reached through the enclosing struct, as C allows.
std::string layout_asserts(const btf& types, std::size_t& count) {
  auto unique = unique_tags(types);
  va_list_finder va_list(types);
  std::string out = "#include \"vmlinux.h\"\n";
  count = 0;
  std::function<void(const std::string&, std::uint32_t, std::uint64_t)> members =
      [&](const std::string& type, std::uint32_t id, std::uint64_t base_bits) {
        for (const auto& m : types.members(id)) {
          if (m.bitfield_size != 0 || (base_bits + m.bit_offset) % 8 != 0) continue;
          if (m.name.empty()) {
            std::uint32_t inner = skip_modifiers(types, m.type);
            auto k = types.type(inner).kind;
            if ((k == btf_kind::struct_ || k == btf_kind::union_) && types.type(inner).name.empty()) {
              members(type, inner, base_bits + m.bit_offset);
            }
            continue;
          }
          out += "_Static_assert(__builtin_offsetof(" + type + ", " + std::string(m.name) +
                 ") == " + std::to_string((base_bits + m.bit_offset) / 8) + ", \"" + type + "." +
                 std::string(m.name) + "\");\n";
          ++count;
        }
      };
  for (std::uint32_t id = 1; id < types.type_count(); ++id) {
    auto t = types.type(id);
    if (t.kind != btf_kind::struct_ && t.kind != btf_kind::union_) continue;
    if (t.name.empty() || !unique.count(t.name) || va_list.contains(id)) continue;
    std::string type = std::string(t.kind == btf_kind::struct_ ? "struct " : "union ") + std::string(t.name);
    out += "_Static_assert(sizeof(" + type + ") == " + std::to_string(t.size_or_type) + ", \"" + type + "\");\n";
    ++count;
    members(type, id, 0);
  }
  return out;
}

// A readable description of a member's type, down to the first named type: how a header
// round trip is compared (ids differ between two BTFs, shapes must not).
std::string shape(const btf& types, std::uint32_t id, int depth = 0) {
  if (id == 0) return "void";
  if (depth > 32) return "...";
  auto t = types.type(id);
  std::string name(t.name);
  switch (t.kind) {
    case btf_kind::integer:
    case btf_kind::floating:
    case btf_kind::typedef_:
      return name;
    case btf_kind::struct_:
    case btf_kind::union_:
    case btf_kind::enum_:
    case btf_kind::enum64:
      return std::string(ebpf::to_string(t.kind)) + " " + (name.empty() ? "(anon)" : name);
    case btf_kind::forward:
      return (t.kind_flag ? "union " : "struct ") + name;
    case btf_kind::pointer:
      return "*" + shape(types, t.size_or_type, depth + 1);
    case btf_kind::const_:
    case btf_kind::volatile_:
    case btf_kind::restrict_:
      return std::string(ebpf::to_string(t.kind)) + " " + shape(types, t.size_or_type, depth + 1);
    case btf_kind::type_tag:
      return "tag(" + name + ") " + shape(types, t.size_or_type, depth + 1);
    case btf_kind::array:
      return "[" + std::to_string(types.array(id).count) + "]" + shape(types, types.array(id).element_type, depth + 1);
    case btf_kind::function_proto: {
      std::string out = "fn(";
      for (const auto& p : types.parameters(id)) out += shape(types, p.type, depth + 1) + ",";
      return out + ")->" + shape(types, t.size_or_type, depth + 1);
    }
    default:
      return std::string(ebpf::to_string(t.kind));
  }
}

// Compares an aggregate of `a` with one of `b`: size, and per member name, bit offset,
// bitfield size and (with `shapes`) type shape; anonymous members recursively. Returns the
// first difference, empty when equal.
std::string compare_aggregate(const btf& a, std::uint32_t a_id, const btf& b, std::uint32_t b_id, bool shapes,
                              const std::string& where) {
  auto ta = a.type(a_id), tb = b.type(b_id);
  if (ta.kind != tb.kind) return where + ": kind differs";
  if (ta.size_or_type != tb.size_or_type) {
    return where + ": size " + std::to_string(ta.size_or_type) + " vs " + std::to_string(tb.size_or_type);
  }
  if (ta.kind == btf_kind::enum_ || ta.kind == btf_kind::enum64) {
    auto ea = a.enumerators(a_id), eb = b.enumerators(b_id);
    if (ea.size() != eb.size()) return where + ": enumerator count differs";
    for (std::size_t i = 0; i < ea.size(); ++i) {
      if (ea[i].name != eb[i].name || ea[i].value != eb[i].value) return where + ": enumerator " + std::to_string(i);
    }
    return "";
  }
  auto ma = a.members(a_id), mb = b.members(b_id);
  if (ma.size() != mb.size()) return where + ": member count " + std::to_string(ma.size()) + " vs " + std::to_string(mb.size());
  for (std::size_t i = 0; i < ma.size(); ++i) {
    std::string member = where + "." + (ma[i].name.empty() ? "(anon)" : std::string(ma[i].name));
    if (ma[i].name != mb[i].name) return member + ": name differs: " + std::string(mb[i].name);
    if (ma[i].bit_offset != mb[i].bit_offset || ma[i].bitfield_size != mb[i].bitfield_size) {
      return member + ": at bit " + std::to_string(ma[i].bit_offset) + ":" + std::to_string(ma[i].bitfield_size) +
             " vs " + std::to_string(mb[i].bit_offset) + ":" + std::to_string(mb[i].bitfield_size);
    }
    std::uint32_t ia = skip_modifiers(a, ma[i].type), ib = skip_modifiers(b, mb[i].type);
    auto ka = a.type(ia);
    if ((ka.kind == btf_kind::struct_ || ka.kind == btf_kind::union_ || ka.kind == btf_kind::enum_) && ka.name.empty()) {
      std::string inner = compare_aggregate(a, ia, b, ib, shapes, member);
      if (!inner.empty()) return inner;
    } else if (shapes && shape(a, ma[i].type) != shape(b, mb[i].type)) {
      return member + ": type " + shape(a, ma[i].type) + " vs " + shape(b, mb[i].type);
    }
  }
  return "";
}

// Compares every named struct, union and enum of `compiled` that `original` has once by that
// name; returns how many were compared, failing the test for each difference (at most 10).
std::size_t compare_named(const btf& original, const btf& compiled, bool shapes) {
  auto unique = unique_tags(original);
  va_list_finder va_list(original);
  std::size_t compared = 0;
  int failures = 0;
  for (std::uint32_t id = 1; id < compiled.type_count(); ++id) {
    auto t = compiled.type(id);
    if (t.name.empty() || !unique.count(t.name)) continue;
    if (t.kind != btf_kind::struct_ && t.kind != btf_kind::union_ && t.kind != btf_kind::enum_ &&
        t.kind != btf_kind::enum64)
      continue;
    auto original_id = original.find(t.name, t.kind);
    if (!original_id || va_list.contains(*original_id)) continue;
    std::string difference = compare_aggregate(original, *original_id, compiled, id, shapes,
                                               std::string(ebpf::to_string(t.kind)) + " " + std::string(t.name));
    if (!difference.empty() && ++failures <= 10) ADD_FAILURE() << difference;
    ++compared;
  }
  return compared;
}

btf compiled_btf(const std::string& object) {
  auto section = ebpf::test::read_elf_section(object, ".BTF");
  if (!section) throw std::runtime_error(object + " has no .BTF");
  return btf::parse(*section);
}

// ---- the tests ---------------------------------------------------------------------------------

// A tracing program against the header: task_struct fields through CO-RE (the header applies
// preserve_access_index to every struct) and two kfuncs the header declares.
const char* const task_program = R"(#include "vmlinux.h"
#include <ebpfpp/bpf.h>

SEC("tp_btf/sched_switch")
int on_switch(unsigned long long *ctx) {
  struct task_struct *prev = (struct task_struct *)ctx[1];
  int pid = prev->tgid + prev->real_parent->pid + (int)prev->se.load.weight;
#ifdef USE_KFUNCS
  struct task_struct *held = bpf_task_acquire(prev);
  if (held) {
    pid += held->pid;
    bpf_task_release(held);
  }
#endif
  return pid;
}

EBPFPP_LICENSE("GPL");
)";

TEST_F(BtfDumpTest, VmlinuxHeaderCompilesAndKeepsTheKernelsLayout) {
  btf kernel = btf::parse(read_bytes(vmlinux_path));
  auto start = std::chrono::steady_clock::now();
  std::string header = ebpf::c_header(kernel);
  double dump_seconds = seconds_since(start);
  std::cout << "[ info ] c_header(vmlinux): " << kernel.type_count() << " types, " << header.size() << " bytes in "
            << dump_seconds * 1000 << " ms\n";
  std::string ours = header_dir("ours", header);

  write_text(dir_ + "/task.bpf.c", std::string("#define USE_KFUNCS\n") + task_program);
  auto compiled = compile(dir_ + "/task.bpf.c", ours, dir_ + "/task.bpf.o");
  ASSERT_EQ(compiled.status, 0) << compiled.err.substr(0, 4000);
  // The program's own BTF describes task_struct as the kernel does (size, every member).
  btf program = compiled_btf(dir_ + "/task.bpf.o");
  auto task = program.find("task_struct", btf_kind::struct_);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(program.type(*task).size_or_type, kernel.type(*kernel.find("task_struct", btf_kind::struct_)).size_or_type);
  EXPECT_GT(compare_named(kernel, program, false), 50u);

  // Every struct and union's size and member offsets, as the compiler lays the header out.
  std::size_t asserts = 0;
  write_text(dir_ + "/layout.c", layout_asserts(kernel, asserts));
  EXPECT_GT(asserts, 50000u);
  auto layout = compile(dir_ + "/layout.c", ours, "", /*syntax_only=*/true);
  EXPECT_EQ(layout.status, 0) << layout.err.substr(0, 4000);
  std::cout << "[ info ] " << asserts << " sizeof/offsetof assertions hold (" << layout.seconds << " s)\n";

  // Bitfields have no offsetof: compile a pointer to every uniquely named struct with a
  // bitfield, and compare the BTF clang writes for them (and everything they contain) with the
  // kernel's, member by member.
  auto unique = unique_tags(kernel);
  std::string bitfields = "#include \"vmlinux.h\"\n";
  int pointers = 0;
  for (std::uint32_t id = 1; id < kernel.type_count(); ++id) {
    auto t = kernel.type(id);
    if ((t.kind != btf_kind::struct_ && t.kind != btf_kind::union_) || !t.kind_flag || t.name.empty() ||
        !unique.count(t.name))
      continue;
    bool has_bitfield = false;
    for (const auto& m : kernel.members(id)) has_bitfield = has_bitfield || m.bitfield_size != 0;
    if (!has_bitfield) continue;
    bitfields += std::string(t.kind == btf_kind::struct_ ? "struct " : "union ") + std::string(t.name) + " *p" +
                 std::to_string(pointers++) + ";\n";
  }
  write_text(dir_ + "/bitfields.c", bitfields);
  auto bits = compile(dir_ + "/bitfields.c", ours, dir_ + "/bitfields.o");
  ASSERT_EQ(bits.status, 0) << bits.err.substr(0, 4000);
  std::size_t compared = compare_named(kernel, compiled_btf(dir_ + "/bitfields.o"), false);
  EXPECT_GT(compared, 500u);
  std::cout << "[ info ] " << pointers << " structs with bitfields: " << compared
            << " structs/unions/enums round-tripped through clang (" << bits.seconds << " s)\n";
}

TEST_F(BtfDumpTest, VmlinuxHeaderMatchesBpftool) {
  std::string bpftool = bpftool_path();
  if (bpftool.empty()) GTEST_SKIP() << "bpftool is not installed (apt install bpftool)";
  btf kernel = btf::parse(read_bytes(vmlinux_path));
  auto start = std::chrono::steady_clock::now();
  std::string header = ebpf::c_header(kernel);
  double ours_seconds = seconds_since(start);
  auto theirs = run({bpftool, "btf", "dump", "file", vmlinux_path, "format", "c"});
  ASSERT_EQ(theirs.status, 0) << theirs.err;
  std::cout << "[ info ] vmlinux.h: ebpfpp " << ours_seconds * 1000 << " ms (in process, parse excluded), bpftool "
            << theirs.seconds * 1000 << " ms (process)\n";

  // Both compile the same program (bpftool before 7.5 declares no kfuncs).
  write_text(dir_ + "/task.bpf.c", task_program);
  for (const auto& [name, text] : {std::pair<std::string, std::string>{"ours", header}, {"bpftool", theirs.out}}) {
    auto result = compile(dir_ + "/task.bpf.c", header_dir(name, text), dir_ + "/task." + name + ".o");
    EXPECT_EQ(result.status, 0) << name << ":\n" << result.err.substr(0, 4000);
  }

  // The same definitions: every struct, union, enum and typedef name, with the same ___N suffixes.
  std::string our_types = type_section(header), their_types = type_section(theirs.out);
  ASSERT_FALSE(our_types.empty());
  ASSERT_FALSE(their_types.empty());
  auto our_names = defined_names(our_types), their_names = defined_names(their_types);
  EXPECT_GT(our_names.size(), 10000u);
  std::vector<std::string> only_ours, only_theirs;
  std::set_difference(our_names.begin(), our_names.end(), their_names.begin(), their_names.end(),
                      std::back_inserter(only_ours));
  std::set_difference(their_names.begin(), their_names.end(), our_names.begin(), our_names.end(),
                      std::back_inserter(only_theirs));
  EXPECT_TRUE(only_ours.empty() && only_theirs.empty())
      << only_ours.size() << " only in ours (first: " << (only_ours.empty() ? "" : only_ours[0]) << "), "
      << only_theirs.size() << " only in bpftool's (first: " << (only_theirs.empty() ? "" : only_theirs[0]) << ")";
  EXPECT_EQ(our_names.count("struct task_struct"), 1u);

  // And the same text, line for line, where the two libbpf generations agree on spelling.
  std::istringstream a(normalized(our_types)), b(normalized(their_types));
  std::string line_a, line_b;
  int line = 0, differences = 0;
  std::string first;
  for (;;) {
    bool more_a = static_cast<bool>(std::getline(a, line_a));
    bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) break;
    ++line;
    if (line_a != line_b && ++differences == 1) {
      first = "line " + std::to_string(line) + ": ours '" + line_a + "', bpftool '" + line_b + "'";
    }
  }
  EXPECT_EQ(differences, 0) << first;
  std::cout << "[ info ] " << our_names.size() << " definitions, " << line << " lines, identical to bpftool's\n";
}

TEST_F(BtfDumpTest, RawDumpMatchesBpftool) {
  std::string bpftool = bpftool_path();
  if (bpftool.empty()) GTEST_SKIP() << "bpftool is not installed (apt install bpftool)";
  btf kernel = btf::parse(read_bytes(vmlinux_path));
  std::string ours = ebpf::raw_dump(kernel);
  auto theirs = run({bpftool, "btf", "dump", "file", vmlinux_path});
  ASSERT_EQ(theirs.status, 0) << theirs.err;
  ASSERT_EQ(ours.size(), theirs.out.size());
  EXPECT_TRUE(ours == theirs.out);
}

TEST_F(BtfDumpTest, CommandLine) {
  std::string tool = tool_path();
  if (tool.empty()) GTEST_SKIP() << "the ebpfpp tool is not part of this build (-Dtools=false)";
  btf kernel = btf::parse(read_bytes(vmlinux_path));

  auto c = run({tool, "btf", "dump"});  // FILE defaults to /sys/kernel/btf/vmlinux, format to c
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_TRUE(c.out == ebpf::c_header(kernel));
  std::cout << "[ info ] `ebpfpp btf dump > vmlinux.h`: " << c.seconds * 1000 << " ms\n";

  auto raw = run({tool, "btf", "dump", "--format", "raw", vmlinux_path});
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_TRUE(raw.out == ebpf::raw_dump(kernel));

  auto missing = run({tool, "btf", "dump", dir_ + "/missing"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("missing': open: No such file or directory"), std::string::npos) << missing.err;

  write_text(dir_ + "/junk", "not btf at all");
  auto junk = run({tool, "btf", "dump", dir_ + "/junk"});
  EXPECT_EQ(junk.status, 1);
  EXPECT_NE(junk.err.find("neither raw BTF (magic 0xeb9f) nor an ELF object"), std::string::npos) << junk.err;

  auto usage = run({tool, "btf", "dump", "--format", "xml"});
  EXPECT_EQ(usage.status, 2) << usage.err;
}

// A compiled object: its BTF dumped by the tool, a program compiled against that header, and the
// new program's BTF equal to the original for every type it uses (layout, bitfields, type tags,
// qualifiers, function pointers, enum64).
TEST_F(BtfDumpTest, ObjectRoundTrip) {
  const std::string object = std::string(EBPFPP_TEST_BPF_DIR) + "/btf_types.bpf.o";
  btf original = compiled_btf(object);
  std::string header;
  std::string tool = tool_path();
  if (!tool.empty()) {
    auto dumped = run({tool, "btf", "dump", object});
    ASSERT_EQ(dumped.status, 0) << dumped.err;
    header = dumped.out;
  } else {
    header = ebpf::c_header(original);
  }
  std::string dir = header_dir("object", header);
  write_text(dir_ + "/user.bpf.c", R"(#include "vmlinux.h"

struct flags flags_out;
flags_t typedef_out;
union value value_out;
struct with_ptrs ptrs_out;
enum big big_out;
enum color color_out;
struct core_target target_out;

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
)");
  auto compiled = compile(dir_ + "/user.bpf.c", dir, dir_ + "/user.bpf.o");
  ASSERT_EQ(compiled.status, 0) << compiled.err << "\n" << header;
  btf again = compiled_btf(dir_ + "/user.bpf.o");
  EXPECT_EQ(compare_named(original, again, /*shapes=*/true), 6u);  // 3 structs, 1 union, 2 enums
  auto ptrs = again.find("with_ptrs", btf_kind::struct_);
  ASSERT_TRUE(ptrs.has_value());
  EXPECT_EQ(shape(again, again.members(*ptrs)[0].type), "*tag(user) int");
  EXPECT_EQ(shape(again, again.members(*ptrs)[4].type), "*fn(u32,u64,)->union value");
}

}  // namespace
