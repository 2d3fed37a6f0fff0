// object_load: ebpfpp against libbpf on the same objects, in the same process.
//
//   object_load [--parse-iterations N] [--load-iterations N] [--seconds-per-phase S] [--no-load]
//               [FILE.bpf.o ...]
//
// Without files it measures the objects the build produced (EBPFPP_BENCH_OBJECTS, set by
// bench/meson.build). One line per object and phase:
//
//   object=loader.bpf.o phase=parse ebpfpp_us=12.3 ebpfpp_p90_us=14.0 libbpf_us=45.6 ...
//
// Phases (every number is the time of one whole iteration, construction to destruction):
//   parse       ebpfpp: object_spec::parse(bytes) + ~object_spec
//               libbpf: bpf_object__open_mem(bytes) + bpf_object__close. libbpf 1.1 parses ELF,
//               BTF, BTF.ext, maps, programs and collects (does not apply) relocations there,
//               with no bpf() syscall; it also mmaps anonymous memory for each global-data map
//               (bpf_object__init_internal_map), which is most of its time on objects with
//               .data/.rodata/.bss.
//   parse+link  ebpfpp: parse + link_program(spec, program, fake map fds) for every program that
//               links without a kernel + destruction. libbpf has no user-space-only relocation
//               step (it relocates inside bpf_object__load, after creating maps), so the libbpf
//               column repeats open_mem + close: the ratio shows what linking adds on our side.
//   load        ebpfpp: object::open_memory + load() + ~object
//               libbpf: bpf_object__open_mem + bpf_object__load + bpf_object__close
//               Both load the same programs: those both load on this kernel (found once before
//               timing; the others get autoload off on both sides). When only one side loads
//               the object, its number is printed alone with the other's reason. Needs root.
//               Objects that pin maps are skipped (load would leave state in bpffs).
//
// Iterations of the implementations alternate, in turn order A B / B A, so machine noise and
// cache warmth hit both. This is a benchmark, never a test: nothing here fails on a slow result.
#include "bench_timing.hpp"

#include <ebpf/error.hpp>
#include <ebpf/object.hpp>
#include <ebpf/object_spec.hpp>
#include <ebpf/relocation.hpp>

#include <bpf/libbpf.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef EBPFPP_BENCH_OBJECTS
#define EBPFPP_BENCH_OBJECTS ""
#endif

namespace {

using bench_timing::bench_clock;

struct settings {
  std::size_t parse_iterations = 3000;
  std::size_t load_iterations = 100;
  double seconds_per_phase = 2.5;  // stop a phase early past this, after a minimum of iterations
  bool load = true;
  std::vector<std::string> files;
};

using bench_timing::stats;
using bench_timing::summarize;
using bench_timing::time_us;

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  if (!chars.empty()) std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::size_t open_fd_count() {
  std::size_t count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++count;
    closedir(dir);
  }
  return count;
}

// libbpf side. open_mem does not copy the buffer; it must outlive the bpf_object.
bpf_object* libbpf_open(const std::vector<std::byte>& bytes, const std::string& name) {
  bpf_object_open_opts options;
  std::memset(&options, 0, sizeof(options));
  options.sz = sizeof(options);
  options.object_name = name.c_str();
  // libbpf 1.x returns NULL and sets errno on failure.
  return bpf_object__open_mem(bytes.data(), bytes.size(), &options);
}

// One side's result in a line: its samples, or why it has none.
struct side {
  bool measured = false;
  stats result;
  std::string missing;  // why not measured
};

std::string one_word(std::string text, std::size_t limit = 140) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), ' ', '_');
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

void print_line(const std::string& object, const char* phase, const side& ours, const side& theirs,
                std::size_t iterations, std::string extra) {
  auto number = [](const side& s, double value) {
    char buffer[32];
    if (!s.measured) return std::string("-");
    std::snprintf(buffer, sizeof(buffer), "%.1f", value);
    return std::string(buffer);
  };
  std::string ratio = "-";
  if (ours.measured && theirs.measured && theirs.result.median_us > 0) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.2f", ours.result.median_us / theirs.result.median_us);
    ratio = buffer;
  }
  if (!ours.measured) extra += " ebpfpp_missing=" + one_word(ours.missing);
  if (!theirs.measured) extra += " libbpf_missing=" + one_word(theirs.missing);
  std::printf("object=%s phase=%s ebpfpp_us=%s ebpfpp_p90_us=%s libbpf_us=%s libbpf_p90_us=%s ratio=%s n=%zu %s\n",
              object.c_str(), phase, number(ours, ours.result.median_us).c_str(), number(ours, ours.result.p90_us).c_str(),
              number(theirs, theirs.result.median_us).c_str(), number(theirs, theirs.result.p90_us).c_str(),
              ratio.c_str(), iterations, extra.c_str());
  std::fflush(stdout);
}

void print_skip(const std::string& object, const char* phase, const std::string& reason) {
  std::printf("object=%s phase=%s skipped=%s\n", object.c_str(), phase, one_word(reason, 240).c_str());
  std::fflush(stdout);
}

// Runs rounds of the measurements, alternating their order every round (A B, B A, ...), until
// `iterations` rounds or the time budget (after at least `minimum` rounds). Returns the rounds.
std::size_t run_interleaved(std::vector<std::function<void()>>& bodies, std::vector<std::vector<double>>& samples,
                            std::size_t warmup, std::size_t iterations, std::size_t minimum, double seconds) {
  for (std::size_t i = 0; i < warmup; ++i)
    for (auto& body : bodies) body();
  samples.assign(bodies.size(), {});
  for (auto& s : samples) s.reserve(iterations);
  auto deadline = bench_clock::now() + std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(seconds));
  std::size_t round = 0;
  for (; round < iterations; ++round) {
    if (round >= minimum && bench_clock::now() > deadline) break;
    const std::size_t count = bodies.size();
    for (std::size_t k = 0; k < count; ++k) {
      std::size_t which = (round % 2 == 0) ? k : count - 1 - k;
      samples[which].push_back(time_us(bodies[which]));
    }
  }
  return round;
}

void bench_parse(const settings& config, const std::string& name, const std::vector<std::byte>& bytes) {
  std::optional<ebpf::object_spec> probe;
  std::string ebpfpp_missing;
  try {
    probe = ebpf::object_spec::parse(bytes, name);
  } catch (const std::exception& e) {
    ebpfpp_missing = std::string("parse failed: ") + e.what();
  }
  std::string libbpf_missing;
  if (bpf_object* object = libbpf_open(bytes, name)) {
    bpf_object__close(object);
  } else {
    libbpf_missing = std::string("open_mem failed: ") + std::strerror(errno);
  }
  if (!probe && !libbpf_missing.empty()) {
    print_skip(name, "parse", "ebpfpp " + ebpfpp_missing + "; libbpf " + libbpf_missing);
    return;
  }

  // Which programs link without a kernel: CO-RE and extern relocations need the live loader.
  auto fake_fd = [](const std::string&) { return 100; };
  std::vector<std::string> linkable;
  std::string first_failure;
  if (probe) {
    for (const auto& program : probe->programs) {
      try {
        (void)ebpf::link_program(*probe, program, fake_fd);
        linkable.push_back(program.name);
      } catch (const std::exception& e) {
        if (first_failure.empty()) first_failure = e.what();
      }
    }
  }

  std::size_t sink = 0;  // keeps the optimizer from dropping the work
  std::vector<std::function<void()>> bodies;
  if (probe) {
    bodies.push_back([&] {
      auto spec = ebpf::object_spec::parse(bytes, name);
      sink += spec.programs.size();
    });
    bodies.push_back([&] {
      auto spec = ebpf::object_spec::parse(bytes, name);
      for (const auto& program_name : linkable) {
        auto linked = ebpf::link_program(spec, *spec.find_program(program_name), fake_fd);
        sink += linked.instructions.size();
      }
    });
  }
  if (libbpf_missing.empty()) {
    bodies.push_back([&] {
      bpf_object* object = libbpf_open(bytes, name);
      sink += object != nullptr;
      bpf_object__close(object);
    });
  }
  std::vector<std::vector<double>> samples;
  std::size_t rounds = run_interleaved(bodies, samples, std::max<std::size_t>(config.parse_iterations / 20, 20),
                                       config.parse_iterations, std::min<std::size_t>(config.parse_iterations, 200),
                                       config.seconds_per_phase);
  side parse, parse_link, libbpf;
  std::size_t next = 0;
  if (probe) {
    parse = side{true, summarize(samples[next++]), {}};
    parse_link = side{true, summarize(samples[next++]), {}};
  } else {
    parse.missing = parse_link.missing = ebpfpp_missing;
  }
  if (libbpf_missing.empty()) {
    libbpf = side{true, summarize(samples[next++]), {}};
  } else {
    libbpf.missing = libbpf_missing;
  }
  std::string counts;
  if (probe) counts = "programs=" + std::to_string(probe->programs.size()) + " maps=" + std::to_string(probe->maps.size());
  print_line(name, "parse", parse, libbpf, rounds, counts);
  std::string link_extra = "libbpf=open_mem_only";
  if (probe) {
    link_extra += " linked=" + std::to_string(linkable.size()) + "/" + std::to_string(probe->programs.size());
    if (!first_failure.empty()) link_extra += " not_linked=" + one_word(first_failure);
  }
  print_line(name, "parse+link", parse_link, libbpf, rounds, link_extra);
  if (sink == 0) std::printf("# (nothing parsed?)\n");
}

// ebpfpp: open_memory + load of exactly `programs` + destruction. Throws on failure.
void ebpfpp_load(const std::vector<std::byte>& bytes, const std::string& name, const std::set<std::string>& programs) {
  auto object = ebpf::object::open_memory(bytes, name);
  for (const auto& program : object.spec().programs)
    object.set_autoload(program.name, programs.count(program.name) != 0);
  object.load();
}

// libbpf: open_mem + load of exactly `programs` (all autoload programs when null) + close.
// Returns 0 or -errno.
int libbpf_load(const std::vector<std::byte>& bytes, const std::string& name, const std::set<std::string>* programs) {
  bpf_object* object = libbpf_open(bytes, name);
  if (object == nullptr) return -errno;
  if (programs != nullptr) {
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, object) {
      bpf_program__set_autoload(program, programs->count(bpf_program__name(program)) != 0);
    }
  }
  int result = bpf_object__load(object);
  bpf_object__close(object);
  return result < 0 ? result : 0;
}

void bench_load(const settings& config, const std::string& name, const std::vector<std::byte>& bytes) {
  // What ebpfpp loads on this kernel (keep_going reports every program).
  std::set<std::string> ebpfpp_programs;
  std::vector<std::string> all_programs;
  std::string ebpfpp_missing;
  try {
    auto object = ebpf::object::open_memory(bytes, name);
    for (const auto& program : object.spec().programs) all_programs.push_back(program.name);
    for (const auto& map : object.spec().maps)
      if (map.pinning != ebpf::map_pinning::none) {
        print_skip(name, "load", "map '" + map.name + "' is pinned by name (load would leave state in bpffs)");
        return;
      }
    ebpf::load_options options;
    options.keep_going = true;
    object.load(options);
    for (const auto& status : object.load_report()) {
      if (status.loaded) {
        ebpfpp_programs.insert(status.name);
      } else if (ebpfpp_missing.empty()) {
        ebpfpp_missing = status.error;
      }
    }
    if (ebpfpp_programs.empty() && ebpfpp_missing.empty()) ebpfpp_missing = "no program to load";
  } catch (const std::exception& e) {
    ebpfpp_missing = std::string("load failed: ") + e.what();
  }
  if (!ebpfpp_programs.empty()) ebpfpp_missing.clear();

  // What libbpf loads: everything at once, or else each program on its own.
  std::set<std::string> libbpf_programs;
  std::string libbpf_missing;
  if (int result = libbpf_load(bytes, name, nullptr); result == 0) {
    if (bpf_object* object = libbpf_open(bytes, name)) {
      bpf_program* program = nullptr;
      bpf_object__for_each_program(program, object) {
        if (bpf_program__autoload(program)) libbpf_programs.insert(bpf_program__name(program));
      }
      bpf_object__close(object);
    }
  } else {
    libbpf_missing = std::string("load failed: ") + std::strerror(-result);
    for (const auto& program : all_programs) {
      std::set<std::string> only{program};
      if (libbpf_load(bytes, name, &only) == 0) libbpf_programs.insert(program);
    }
  }
  if (!libbpf_programs.empty()) libbpf_missing.clear();

  // Both sides load the same programs: those both can load.
  std::set<std::string> common;
  std::set_intersection(ebpfpp_programs.begin(), ebpfpp_programs.end(), libbpf_programs.begin(), libbpf_programs.end(),
                        std::inserter(common, common.end()));
  std::set<std::string> ours = common.empty() ? ebpfpp_programs : common;
  std::set<std::string> theirs = common.empty() ? libbpf_programs : common;
  bool measure_ours = !ours.empty();
  bool measure_theirs = !theirs.empty();
  if (measure_ours) {
    try {
      ebpfpp_load(bytes, name, ours);
    } catch (const std::exception& e) {
      measure_ours = false;
      ebpfpp_missing = std::string("load of the common programs failed: ") + e.what();
    }
  }
  if (measure_theirs) {
    if (int result = libbpf_load(bytes, name, &theirs); result != 0) {
      measure_theirs = false;
      libbpf_missing = std::string("load of the common programs failed: ") + std::strerror(-result);
    }
  }
  if (!measure_ours && !measure_theirs) {
    print_skip(name, "load", "ebpfpp: " + ebpfpp_missing + "; libbpf: " + libbpf_missing);
    return;
  }
  if (measure_ours && measure_theirs && common.empty()) {
    // Different program sets: the numbers would not compare. Keep ours.
    measure_theirs = false;
    libbpf_missing = "loads none of the programs ebpfpp loads";
  }

  int failures = 0;
  std::vector<std::function<void()>> bodies;
  if (measure_ours) {
    bodies.push_back([&] {
      try {
        ebpfpp_load(bytes, name, ours);
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  if (measure_theirs) bodies.push_back([&] { failures += libbpf_load(bytes, name, &theirs) != 0; });
  std::vector<std::vector<double>> samples;
  std::size_t rounds = run_interleaved(bodies, samples, 5, config.load_iterations,
                                       std::min<std::size_t>(config.load_iterations, 20), config.seconds_per_phase);
  side ebpfpp_side, libbpf_side;
  std::size_t next = 0;
  if (measure_ours) {
    ebpfpp_side = side{true, summarize(samples[next++]), {}};
  } else {
    ebpfpp_side.missing = ebpfpp_missing;
  }
  if (measure_theirs) {
    libbpf_side = side{true, summarize(samples[next++]), {}};
  } else {
    libbpf_side.missing = libbpf_missing;
  }
  const std::set<std::string>& loaded = measure_ours ? ours : theirs;
  std::string extra = "programs=" + std::to_string(loaded.size()) + "/" + std::to_string(all_programs.size());
  if (failures != 0) extra += " failed_iterations=" + std::to_string(failures);
  print_line(name, "load", ebpfpp_side, libbpf_side, rounds, extra);
}

settings parse_arguments(int argc, char** argv) {
  settings config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(arg + ": missing value");
      return argv[++i];
    };
    if (arg == "--parse-iterations") {
      config.parse_iterations = std::max<std::size_t>(1, std::stoul(value()));
    } else if (arg == "--load-iterations") {
      config.load_iterations = std::max<std::size_t>(1, std::stoul(value()));
    } else if (arg == "--seconds-per-phase") {
      config.seconds_per_phase = std::stod(value());
    } else if (arg == "--no-load") {
      config.load = false;
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: %s [--parse-iterations N] [--load-iterations N] [--seconds-per-phase S] [--no-load] "
                  "[FILE.bpf.o ...]\n",
                  argv[0]);
      std::exit(0);
    } else if (!arg.empty() && arg[0] == '-') {
      throw std::runtime_error(arg + ": unknown option");
    } else {
      config.files.push_back(arg);
    }
  }
  if (config.files.empty()) {
    std::string list = EBPFPP_BENCH_OBJECTS;
    std::size_t start = 0;
    while (start < list.size()) {
      auto end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) config.files.push_back(list.substr(start, end - start));
      start = end + 1;
    }
  }
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  settings config;
  try {
    config = parse_arguments(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "object_load: %s\n", e.what());
    return 2;
  }
  if (config.files.empty()) {
    std::fprintf(stderr, "object_load: no objects given and none known from the build\n");
    return 2;
  }
  libbpf_set_print(nullptr);

  const bool root = geteuid() == 0;
  std::printf("# ebpfpp vs libbpf %s; times per iteration in microseconds (median, p90); ratio = ebpfpp/libbpf median\n",
              libbpf_version_string());
  std::printf("# parse: object_spec::parse vs bpf_object__open_mem (+ destruction/close on both sides)\n");
  std::printf("# parse+link: ebpfpp parse + link_program of every linkable program vs the same libbpf open_mem\n");
  std::printf("# load: object::open_memory+load+~object vs open_mem+bpf_object__load+close%s\n",
              root ? "" : " (not root: skipped)");
  const std::size_t fds_before = open_fd_count();
  int status = 0;
  for (const auto& path : config.files) {
    const std::string name = base_name(path);
    std::vector<std::byte> bytes;
    try {
      bytes = read_file(path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "object_load: %s\n", e.what());
      status = 1;
      continue;
    }
    bench_parse(config, name, bytes);
    if (config.load && root) bench_load(config, name, bytes);
  }
  const std::size_t fds_after = open_fd_count();
  if (fds_after != fds_before) {
    std::printf("# warning: %zu fds open before, %zu after: something leaks\n", fds_before, fds_after);
    status = 1;
  }
  return status;
}
