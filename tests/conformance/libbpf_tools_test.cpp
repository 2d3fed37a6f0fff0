// Conformance against real-world objects: the BPF objects embedded in Debian's libbpf-tools
// (execsnoop, biolatency, tcpconnect, ... about fifty tools built with CO-RE, __kconfig externs,
// const volatile .rodata, BTF-defined maps, kprobes, tracepoints, raw and BTF tracepoints, fentry).
// It also takes other objects as arguments (the "test_objects" test passes ours).
//
// Every program of every embedded object is loaded twice, alone: by libbpf (the oracle; linked
// by this test only, never by the library) and by ebpfpp (load_options::only). The kernel's
// program tag is a hash of the instructions as loaded (map fds zeroed, kernel/bpf/core.c
// bpf_prog_calc_tag), so equal tags mean our CO-RE, extern, subprogram and map relocation
// produced exactly libbpf's instructions.
//
// Verdict: the test fails when a program libbpf loads is not loaded by us, or gets another tag.
// Programs libbpf cannot load on this kernel either (fentry gives EPERM here, attach targets
// that do not exist, fields renamed since the tool was written) are reported, not failed.
//
// Usage: libbpf_tools_conformance [--verbose] [TOOL_OR_OBJECT...]
//   Without arguments, the tools are the files of the `libbpf-tools` package (dpkg's list),
//   deduplicated by their real path (several names are links to one binary). An argument may be
//   a tool binary (its embedded objects are carved out) or a .bpf.o file.
// Exit status: 0 all conform, 1 a mismatch, 77 skipped (not root, libbpf-tools not installed).
#include <ebpf/error.hpp>
#include <ebpf/object.hpp>
#include <ebpf/object_spec.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

constexpr int exit_skip = 77;  // meson's "skipped"
constexpr std::uint16_t em_bpf = 247;

struct embedded_object {
  std::string name;  // "execsnoop", or "tool.N" when a tool embeds several
  std::vector<std::byte> bytes;
};

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

template <typename T>
T read_le(const std::byte* at) {
  T value;
  std::memcpy(&value, at, sizeof value);  // x86-64 and the BPF objects are little-endian
  return value;
}

// A tool built with bpftool's skeleton holds its object as a byte array: a whole ELF64 file,
// whose section headers are its last bytes (e_shoff + e_shnum * e_shentsize). We look for ELF
// headers with e_machine EM_BPF after the tool's own header.
std::vector<embedded_object> carve(const std::vector<std::byte>& file, const std::string& tool) {
  constexpr std::size_t header_size = 64;  // Elf64_Ehdr
  static const std::byte magic[] = {std::byte{0x7f}, std::byte{'E'}, std::byte{'L'}, std::byte{'F'}};
  std::vector<embedded_object> found;
  std::size_t at = 1;
  while (at + header_size <= file.size()) {
    auto hit = std::search(file.begin() + static_cast<std::ptrdiff_t>(at), file.end(), std::begin(magic), std::end(magic));
    at = static_cast<std::size_t>(hit - file.begin());
    if (at + header_size > file.size()) break;
    const std::byte* header = file.data() + at;
    const bool elf64_le = header[4] == std::byte{2} && header[5] == std::byte{1};
    if (elf64_le && read_le<std::uint16_t>(header + 18) == em_bpf) {
      const auto shoff = read_le<std::uint64_t>(header + 40);
      const auto shentsize = read_le<std::uint16_t>(header + 58);
      const auto shnum = read_le<std::uint16_t>(header + 60);
      const std::uint64_t size = shoff + std::uint64_t{shnum} * shentsize;
      if (shoff <= file.size() && size <= file.size() - at) {
        found.push_back({tool, std::vector<std::byte>(header, header + size)});
        at += static_cast<std::size_t>(size);
        continue;
      }
    }
    ++at;
  }
  if (found.size() > 1)
    for (std::size_t i = 0; i < found.size(); ++i) found[i].name += "." + std::to_string(i);
  return found;
}

// The regular files of the libbpf-tools package, one per real path.
std::vector<std::string> package_tools() {
  std::ifstream list("/var/lib/dpkg/info/libbpf-tools.list");
  std::vector<std::string> tools;
  std::set<std::string> seen;
  std::string line;
  while (std::getline(list, line)) {
    if (line.rfind("/usr/sbin/", 0) != 0) continue;
    std::error_code ec;
    auto real = std::filesystem::canonical(line, ec);
    if (ec || !std::filesystem::is_regular_file(real, ec) || !seen.insert(real.string()).second) continue;
    tools.push_back(line);
  }
  std::sort(tools.begin(), tools.end());
  return tools;
}

// ---- setup the tools do in user space before load, done the same way for both loaders ------
//
// A few maps are sized by the tool at run time: offcputime and wakeuptime declare a stack trace
// map without value size and entries (bpf_map__set_value_size / bpf_map__set_max_entries),
// cpudist a hash map without entries (sized to pid_max). We use the tools' defaults: 127 frames
// (perf_max_stack_depth) and 1024 entries. A perf event array without entries is left alone:
// both loaders size it to the possible CPUs.
constexpr std::uint32_t default_stack_value_size = 127 * 8;
constexpr std::uint32_t default_max_entries = 1024;

struct map_shape {
  std::uint32_t value_size;
  std::uint32_t max_entries;
};

map_shape as_the_tool_sets_it(std::uint32_t type, map_shape shape) {
  if (type == BPF_MAP_TYPE_STACK_TRACE && shape.value_size == 0) shape.value_size = default_stack_value_size;
  if (shape.max_entries == 0 && type != BPF_MAP_TYPE_PERF_EVENT_ARRAY && type != BPF_MAP_TYPE_RINGBUF)
    shape.max_entries = default_max_entries;
  return shape;
}

// ---- libbpf ---------------------------------------------------------------------------------

std::string libbpf_log;  // warnings of the current libbpf operation

int capture_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level != LIBBPF_WARN) return 0;
  char line[1024];
  std::vsnprintf(line, sizeof line, format, args);
  libbpf_log += line;
  return 0;
}

// The first warning (the cause; later ones repeat it per program and object), on one line.
std::string first_warning(const std::string& log) {
  std::string line = log.substr(0, log.find('\n'));
  if (line.rfind("libbpf: ", 0) == 0) line.erase(0, 8);
  return line;
}

std::string hex_tag(const unsigned char* tag) {
  char text[17];
  for (int i = 0; i < 8; ++i) std::snprintf(text + 2 * i, 3, "%02x", tag[i]);
  return text;
}

struct outcome {
  bool loaded = false;
  std::string tag;
  std::string error;
  /// The .kconfig map's contents (the values of __kconfig externs: LINUX_KERNEL_VERSION, ...),
  /// which the tag does not cover; empty when the object has none or the loader did not create it.
  std::vector<unsigned char> kconfig;
};

std::string hex(const std::vector<unsigned char>& bytes) {
  std::string text;
  char two[3];
  for (unsigned char byte : bytes) {
    std::snprintf(two, sizeof two, "%02x", byte);
    text += two;
  }
  return text;
}

// (Not LIBBPF_OPTS: clang 19 warns about the fields its designated initializer omits.)
bpf_object_open_opts open_options(const embedded_object& object) {
  bpf_object_open_opts options{};
  options.sz = sizeof options;
  options.object_name = object.name.c_str();
  return options;
}

// The object's programs as libbpf sees them; nullopt when libbpf cannot open it (libbpf_log says
// why).
std::optional<std::vector<std::string>> libbpf_program_names(const embedded_object& object) {
  std::vector<std::string> names;
  libbpf_log.clear();
  const auto options = open_options(object);
  bpf_object* opened = bpf_object__open_mem(object.bytes.data(), object.bytes.size(), &options);
  if (!opened) return std::nullopt;
  bpf_program* program;
  bpf_object__for_each_program(program, opened) names.push_back(bpf_program__name(program));
  bpf_object__close(opened);
  return names;
}

outcome libbpf_load(const embedded_object& object, const std::string& only) {
  outcome result;
  libbpf_log.clear();
  const auto options = open_options(object);
  bpf_object* opened = bpf_object__open_mem(object.bytes.data(), object.bytes.size(), &options);
  if (!opened) {
    result.error = "open: " + first_warning(libbpf_log);
    return result;
  }
  bpf_program* program;
  bpf_object__for_each_program(program, opened)
    bpf_program__set_autoload(program, bpf_program__name(program) == only);
  bpf_map* map;
  bpf_object__for_each_map(map, opened) {
    const map_shape declared{bpf_map__value_size(map), bpf_map__max_entries(map)};
    const map_shape shape = as_the_tool_sets_it(bpf_map__type(map), declared);
    if (shape.value_size != declared.value_size) bpf_map__set_value_size(map, shape.value_size);
    if (shape.max_entries != declared.max_entries) bpf_map__set_max_entries(map, shape.max_entries);
  }
  if (int err = bpf_object__load(opened); err != 0) {
    result.error = std::string(std::strerror(-err)) + ": " + first_warning(libbpf_log);
  } else {
    bpf_prog_info info{};
    __u32 length = sizeof info;
    program = bpf_object__find_program_by_name(opened, only.c_str());
    if (bpf_obj_get_info_by_fd(bpf_program__fd(program), &info, &length) == 0) {
      result.loaded = true;
      result.tag = hex_tag(info.tag);
      if (const bpf_map* kconfig = bpf_object__find_map_by_name(opened, ".kconfig")) {
        result.kconfig.resize(bpf_map__value_size(kconfig));
        const std::uint32_t zero = 0;
        if (bpf_map_lookup_elem(bpf_map__fd(kconfig), &zero, result.kconfig.data()) != 0) result.kconfig.clear();
      }
    } else {
      result.error = std::string("bpf_obj_get_info_by_fd: ") + std::strerror(errno);
    }
  }
  bpf_object__close(opened);
  return result;
}

// ---- ebpfpp ---------------------------------------------------------------------------------

outcome ebpfpp_load(const embedded_object& object, const std::string& only) {
  outcome result;
  try {
    auto spec = ebpf::object_spec::parse(object.bytes, object.name);
    for (auto& map : spec.maps) {
      const auto shape = as_the_tool_sets_it(static_cast<std::uint32_t>(map.type), {map.value_size, map.max_entries});
      map.value_size = shape.value_size;
      map.max_entries = shape.max_entries;
    }
    ebpf::object loaded(std::move(spec));
    ebpf::load_options options;
    options.only = {only};
    loaded.load(options);
    result.tag = loaded.program(only).info().tag_string();
    result.loaded = true;
    const auto created = loaded.map_names();
    if (std::find(created.begin(), created.end(), ".kconfig") != created.end()) {
      auto& kconfig = loaded.map(".kconfig");
      result.kconfig.resize(kconfig.value_size());
      const std::uint32_t zero = 0;
      if (!kconfig.lookup(std::as_bytes(std::span(&zero, 1)), std::as_writable_bytes(std::span(result.kconfig))))
        result.kconfig.clear();
    }
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

// ---- report ---------------------------------------------------------------------------------

std::string one_line(std::string text, std::size_t width = 220) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

struct object_result {
  std::string name;
  std::size_t programs = 0, libbpf_loaded = 0, we_loaded = 0, tags_equal = 0;
  double seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  bool verbose = false;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--verbose") == 0) verbose = true;
    else inputs.push_back(argv[i]);
  }
  if (::geteuid() != 0) {
    std::cout << "SKIP: loading programs needs root\n";
    return exit_skip;
  }
  if (inputs.empty()) inputs = package_tools();
  if (inputs.empty()) {
    std::cout << "SKIP: libbpf-tools is not installed (apt-get install libbpf-tools; scripts/bootstrap does)\n";
    return exit_skip;
  }
  libbpf_set_print(capture_libbpf);

  std::vector<embedded_object> objects;
  for (const auto& input : inputs) {
    auto bytes = read_file(input);
    const std::string base = std::filesystem::path(input).filename().string();
    if (bytes.size() >= 20 && read_le<std::uint16_t>(bytes.data() + 18) == em_bpf) {
      objects.push_back({base.substr(0, base.find('.')), std::move(bytes)});
      continue;
    }
    auto carved = carve(bytes, base);
    if (carved.empty()) std::cout << "note: " << input << " embeds no BPF object\n";
    for (auto& object : carved) objects.push_back(std::move(object));
  }

  const auto started = std::chrono::steady_clock::now();
  std::vector<object_result> table;
  std::vector<std::string> failures;      // libbpf loads it, we do not, or the tags differ
  std::vector<std::string> both_fail;     // reported: the kernel refuses it whoever loads it
  std::vector<std::string> only_we_load;  // reported: we accept what libbpf refuses
  std::size_t kconfig_compared = 0;       // programs whose .kconfig values were compared
  for (const auto& object : objects) {
    const auto object_started = std::chrono::steady_clock::now();
    object_result row;
    row.name = object.name;
    // The programs: libbpf's list; ours when libbpf cannot open the object (its programs are then
    // all "libbpf cannot load"); and if neither parses it there is nothing to compare.
    const auto libbpf_names = libbpf_program_names(object);
    const std::string libbpf_open_error = libbpf_names ? "" : "open: " + first_warning(libbpf_log);
    std::vector<std::string> names = libbpf_names.value_or(std::vector<std::string>{});
    try {
      auto spec = ebpf::object_spec::parse(object.bytes, object.name);
      if (!libbpf_names)
        for (const auto& program : spec.programs) names.push_back(program.name);
    } catch (const std::exception& e) {
      // Each program's load below fails the same way; only an object libbpf cannot open either
      // leaves no program names to try.
      if (!libbpf_names)
        both_fail.push_back(object.name + ": no programs to compare\n      libbpf: " + one_line(libbpf_open_error) +
                            "\n      ebpfpp: " + one_line(e.what()));
    }
    for (const auto& name : names) {
      ++row.programs;
      const std::string subject = object.name + "/" + name;
      outcome oracle;
      if (libbpf_open_error.empty()) oracle = libbpf_load(object, name);
      else oracle.error = libbpf_open_error;
      outcome ours = ebpfpp_load(object, name);
      row.libbpf_loaded += oracle.loaded;
      row.we_loaded += ours.loaded;
      if (oracle.loaded && ours.loaded && oracle.tag == ours.tag) ++row.tags_equal;
      if (oracle.loaded && ours.loaded && !oracle.kconfig.empty() && !ours.kconfig.empty()) {
        ++kconfig_compared;
        if (oracle.kconfig != ours.kconfig)
          failures.push_back(subject + ": .kconfig values " + hex(ours.kconfig) + ", libbpf's " + hex(oracle.kconfig));
      }
      if (oracle.loaded && !ours.loaded) {
        failures.push_back(subject + ": libbpf loads it (tag " + oracle.tag + "), we do not: " + one_line(ours.error, 2000));
      } else if (oracle.loaded && oracle.tag != ours.tag) {
        failures.push_back(subject + ": tag " + ours.tag + ", libbpf's " + oracle.tag);
      } else if (!oracle.loaded && ours.loaded) {
        only_we_load.push_back(subject + ": libbpf: " + one_line(oracle.error));
      } else if (!oracle.loaded) {
        both_fail.push_back(subject + "\n      libbpf: " + one_line(oracle.error) + "\n      ebpfpp: " + one_line(ours.error));
      }
      if (verbose)
        std::cout << subject << ": libbpf " << (oracle.loaded ? oracle.tag : "failed") << ", ebpfpp "
                  << (ours.loaded ? ours.tag : "failed") << "\n";
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - object_started).count();
    table.push_back(row);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  object_result total;
  std::printf("%-22s %8s %8s %8s %8s %7s\n", "OBJECT", "PROGRAMS", "LIBBPF", "EBPFPP", "TAGS_EQ", "SECONDS");
  for (const auto& row : table) {
    std::printf("%-22s %8zu %8zu %8zu %8zu %7.2f\n", row.name.c_str(), row.programs, row.libbpf_loaded, row.we_loaded,
                row.tags_equal, row.seconds);
    total.programs += row.programs;
    total.libbpf_loaded += row.libbpf_loaded;
    total.we_loaded += row.we_loaded;
    total.tags_equal += row.tags_equal;
  }
  std::printf("%-22s %8zu %8zu %8zu %8zu %7.2f\n", ("total (" + std::to_string(table.size()) + " objects)").c_str(),
              total.programs, total.libbpf_loaded, total.we_loaded, total.tags_equal, seconds);

  if (!only_we_load.empty()) {
    std::cout << "\nloaded by ebpfpp only (" << only_we_load.size() << "):\n";
    for (const auto& line : only_we_load) std::cout << "  " << line << "\n";
  }
  if (!both_fail.empty()) {
    std::cout << "\nneither loads (" << both_fail.size() << "; reported, not failed):\n";
    for (const auto& line : both_fail) std::cout << "  " << line << "\n";
  }
  if (!failures.empty()) {
    std::cout << "\nFAILED (" << failures.size() << "): programs libbpf loads that we do not load or load differently:\n";
    for (const auto& line : failures) std::cout << "  " << line << "\n";
    return 1;
  }
  std::cout << "\nevery program libbpf loads (" << total.libbpf_loaded << ") loads with ebpfpp with the same tag";
  if (kconfig_compared) std::cout << "; the .kconfig values of " << kconfig_compared << " of them are equal too";
  std::cout << "\n";
  return 0;
}
