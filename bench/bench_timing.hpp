// Timing helpers shared by the benchmarks that time single operations (object_load, attach):
// a steady clock, one timed call, and the median and p90 of a sample.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace bench_timing {

using bench_clock = std::chrono::steady_clock;

struct stats {
  double median_us = 0;
  double p90_us = 0;
};

inline stats summarize(std::vector<double> samples_us) {
  stats result;
  if (samples_us.empty()) return result;
  std::sort(samples_us.begin(), samples_us.end());
  auto at = [&](double q) {
    auto index = static_cast<std::size_t>(q * static_cast<double>(samples_us.size() - 1) + 0.5);
    return samples_us[std::min(index, samples_us.size() - 1)];
  };
  result.median_us = at(0.5);
  result.p90_us = at(0.9);
  return result;
}

/// Microseconds one call of f takes.
template <typename F>
double time_us(F&& f) {
  auto start = bench_clock::now();
  f();
  auto stop = bench_clock::now();
  return std::chrono::duration<double, std::micro>(stop - start).count();
}

}  // namespace bench_timing
