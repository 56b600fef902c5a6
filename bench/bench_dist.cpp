// skinnet bench-dist: data-parallel training speed (docs/distributed.md). Under `mpirun -np N` every rank
// trains its share of a global batch of random images and the gradients are summed in buckets overlapped
// with backward (train/dist/reducer.h), as skinnet train does; run alone it is the one-process step.
// Rank 0 prints one JSON line (its own figures, per step): global images/s, the step's median, the wait after
// backward split into waiting for the slowest rank's backward (straggler) and communication backward did
// not hide (exposed), what summing the same buckets costs with nothing else running (blocking), the overlap
// 1 - exposed / blocking, and the bytes each rank sends into the allreduce per step. `make bench-dist` runs
// it for resnet18 and resnet50 as 1 rank x 2 threads and 2 ranks x 1 thread, interleaved.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "base/parallel.h"
#include "bench/model_step.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/dist/reducer.h"
#include "train/dist/world.h"

namespace nn {

Flags bench_dist_flags() {
  Flags flags("bench-dist",
              "Times data-parallel training steps on random data (run it under mpirun -np N) and prints images/s,\n"
              "the exposed and the blocking communication time, the overlap and the bytes per step (JSON).");
  flags.add("arch", "resnet18", fmt::format("architecture: {}", fmt::join(model_archs(), ", ")))
      .add("batch-size", "16", "the global batch: each of N ranks trains batch/N images")
      .add("input-size", "224", "input height and width")
      .add("warmup", "1", "untimed steps first")
      .add("steps", "3", "timed steps; the median is reported")
      .add("bucket-mb", "25", "gradient bucket size (MiB)")
      .add("first-bucket-mb", "1", "the first bucket's size (MiB)");
  return flags;
}

int bench_dist_main(int argc, char** argv) {
  Flags flags = bench_dist_flags();
  if (!flags.parse(argc, argv)) return 0;
  dist::World& world = dist::World::get();
  world.init();
  const int64_t batch = flags.integer("batch-size"), warmup = flags.integer("warmup"), steps = flags.integer("steps");
  NN_USAGE_CHECK(warmup >= 0 && steps > 0, "--warmup must be >= 0 and --steps > 0");
  NN_USAGE_CHECK(batch % world.size() == 0, "--batch-size {} must divide among the {} ranks", batch, world.size());
  ModelStep step(flags.str("arch"), "train", batch / world.size(), flags.integer("input-size"),
                 1 + static_cast<uint64_t>(world.rank()));
  std::unique_ptr<dist::GradientReducer> reducer;
  if (world.distributed()) {
    dist::ReducerOptions ro;
    ro.bucket_bytes = static_cast<int64_t>(flags.real("bucket-mb") * (1 << 20));
    ro.first_bucket_bytes = static_cast<int64_t>(flags.real("first-bucket-mb") * (1 << 20));
    reducer = std::make_unique<dist::GradientReducer>(world, step.model->named_parameters(Trainable::only), ro);
  }
  auto train_step = [&] {
    const Tensor loss = cross_entropy((*step.model)(step.images), step.labels);
    step.optimizer->zero_grad();
    if (reducer) reducer->begin();
    (loss * (1.0 / world.size())).backward();
    if (reducer) reducer->finish();
    step.optimizer->step();
  };
  for (int64_t i = 0; i < warmup; ++i) train_step();
  if (reducer) reducer->reset_stats();
  std::vector<double> ms;
  double waited = 0, straggler = 0, exposed = 0;  // ms summed over the timed steps
  for (int64_t i = 0; i < steps; ++i) {
    world.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    train_step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (reducer) {
      // The wait after backward holds two things: the slowest rank finishing its backward (load imbalance:
      // the ranks share two cores with everything else) and communication nothing hid. Backward's end is
      // on one clock for every process of this machine, so the first is measured and taken out.
      const dist::ReducerStats& st = reducer->stats();
      const std::vector<double> ends = world.all_gather(std::vector<double>{st.last_backward_end});
      const double late = (*std::max_element(ends.begin(), ends.end()) - st.last_backward_end) * 1000;
      waited += st.last_wait_seconds * 1000;
      straggler += std::min(late, st.last_wait_seconds * 1000);
      exposed += std::max(0.0, st.last_wait_seconds * 1000 - late);
    }
  }
  const double n_steps = static_cast<double>(steps);
  waited /= n_steps;
  straggler /= n_steps;
  exposed /= n_steps;
  double blocking = 0, bytes = 0;
  std::string buckets;
  if (reducer) {
    blocking = reducer->time_blocking_reduce(static_cast<int>(steps)) * 1000;
    bytes = static_cast<double>(reducer->stats().bytes_per_step);
    buckets = reducer->describe();
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  if (world.rank() == 0) {
    const double overlap = blocking > 0 ? std::clamp(1 - exposed / blocking, 0.0, 1.0) * 100 : 0;
    std::printf("{\"arch\": \"%s\", \"ranks\": %d, \"threads\": %d, \"batch\": %lld, \"step_ms\": [%s], \"ips\": %.3f, "
                "\"wait_ms\": %.1f, \"straggler_ms\": %.1f, \"exposed_ms\": %.1f, \"blocking_ms\": %.1f, "
                "\"overlap_pct\": %.1f, \"mb_per_step\": %.2f, \"buckets\": \"%s\"}\n",
                flags.str("arch").c_str(), world.size(), num_threads(), static_cast<long long>(batch),
                fmt::format("{:.1f}", fmt::join(ms, ", ")).c_str(), static_cast<double>(batch) * 1000.0 / median,
                waited, straggler, exposed, blocking, overlap, bytes / 1e6, buckets.c_str());
  }
  world.finalize();
  return 0;
}

}  // namespace nn
