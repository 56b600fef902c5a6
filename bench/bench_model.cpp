// skinnet bench-model: images/s of one network step (inference, train or frozen; bench/model_step.h) on
// random data, and the process's peak resident memory. tools/bench_compare.py runs it beside PyTorch's
// bench/torch_model.py, one process per measurement, and reads the JSON line it prints last.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "base/parallel.h"
#include "bench/model_step.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"

namespace nn {

Flags bench_model_flags() {
  Flags flags("bench-model",
              "Times whole-network steps on random data and prints images/s and peak memory (JSON on the last line).");
  add_model_step_flags(flags);
  flags.add("warmup", "3", "untimed steps first (allocator cache, OpenBLAS buffers, page faults; see docs/profiling.md)")
      .add("steps", "3", "timed steps; the median is reported");
  return flags;
}

int bench_model_main(int argc, char** argv) {
  Flags flags = bench_model_flags();
  if (!flags.parse(argc, argv)) return 0;
  const int64_t batch = flags.integer("batch-size"), warmup = flags.integer("warmup"), steps = flags.integer("steps");
  NN_USAGE_CHECK(warmup >= 0 && steps > 0, "--warmup must be >= 0 and --steps > 0");
  ModelStep step = model_step_from_flags(flags);

  for (int64_t i = 0; i < warmup; ++i) step.run();
  std::vector<double> ms;
  for (int64_t i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step.run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double ips = static_cast<double>(batch) * 1000.0 / median;
  std::printf("{\"arch\": \"%s\", \"mode\": \"%s\", \"batch\": %lld, \"threads\": %d, \"step_ms\": [%s], "
              "\"ips\": %.4f, \"gflops\": %.2f, \"rss_mb\": %.1f}\n",
              flags.str("arch").c_str(), step.mode.c_str(), static_cast<long long>(batch), num_threads(),
              fmt::format("{:.1f}", fmt::join(ms, ", ")).c_str(), ips, ips * step.flops_per_image() / 1e9,
              static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}

}  // namespace nn
