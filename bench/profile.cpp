// skinnet profile: per-layer forward and backward time of a whole-network step (bench/model_step.h), like
// `caffe time`: --warmup untimed steps, then --steps profiled steps; times are per step. The optimiser's update
// and the whole step are timed apart, so the table also shows what the layers leave unexplained.
// "% peak" is each layer's GFLOP/s over the machine's FMA peak on as many threads (kernels/cpu/peak.h,
// measured in ~1 s before the model runs).
#include <chrono>
#include <cstdio>

#include "base/parallel.h"
#include "bench/model_step.h"
#include "kernels/cpu/peak.h"
#include "layers/profile.h"
#include "tensor/autograd.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"

namespace nn {

namespace {
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Flags profile_flags() {
  Flags flags("profile", "Per-layer forward and backward ms and GFLOP/s of a network step on random data (CPU).");
  add_model_step_flags(flags);
  flags.add("warmup", "3", "untimed steps first: the CPU allocator's cache needs three steps of a ResNet-50 to stop asking the OS")
      .add("steps", "2", "profiled steps after the warm-up; times are averaged over them");
  return flags;
}

int profile_main(int argc, char** argv) {
  Flags flags = profile_flags();
  if (!flags.parse(argc, argv)) return 0;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}'", flags.positional()[0]);
  const int64_t batch = flags.integer("batch-size"), warmup = flags.integer("warmup"), steps = flags.integer("steps");
  NN_USAGE_CHECK(warmup >= 0 && steps > 0, "--warmup must be >= 0 and --steps > 0");
  const PeakReport& machine = machine_peak();  // before the model exists: nothing else runs meanwhile
  const double peak = machine.fma_peak(num_threads());
  ModelStep step = model_step_from_flags(flags);
  LayerProfiler profiler(*step.model, step.images.shape());

  for (int64_t i = 0; i < warmup; ++i) step.run();  // allocator, OpenBLAS buffers, first-touch page faults
  double forward_ms = 0, backward_ms = 0, update_ms = 0, total_ms = 0;
  profiler.start();
  for (int64_t i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (step.mode == "inference") {
      NoGradGuard no_grad;
      (void)(*step.model)(step.images).data<float>();
      forward_ms += ms_since(t0);
    } else {
      const Tensor loss = step.loss();
      forward_ms += ms_since(t0);
      step.optimizer->zero_grad();
      const auto t1 = std::chrono::steady_clock::now();
      loss.backward();
      backward_ms += ms_since(t1);
      const auto t2 = std::chrono::steady_clock::now();
      step.optimizer->step();
      update_ms += ms_since(t2);
    }
    total_ms += ms_since(t0);
  }
  profiler.stop();

  const double k = 1.0 / static_cast<double>(steps);
  std::printf("skinnet profile: %s, %s, batch %lld, %lldx%lld, %d threads, mean of %lld steps after %lld warm-up\n",
              flags.str("arch").c_str(), step.mode.c_str(), static_cast<long long>(batch),
              static_cast<long long>(step.images.size(2)), static_cast<long long>(step.images.size(3)),
              num_threads(), static_cast<long long>(steps), static_cast<long long>(warmup));
  std::printf("peak: %.1f GFLOP/s (%s, float32 FMA on %d threads; %s; skinnet bench-peak)\n\n", peak,
              isa_name(machine.best_isa), num_threads(), machine.cpu.c_str());
  std::printf("%s\n", profiler.table(steps, peak).c_str());
  const double step_gflops = static_cast<double>(batch) * step.flops_per_image() / (total_ms * k) / 1e6;
  std::printf("step: forward %.1f ms (with the loss), backward %.1f ms, optimiser %.1f ms, total %.1f ms = %.2f images/s, "
              "%.1f GFLOP/s = %.1f%% of peak\n",
              forward_ms * k, backward_ms * k, update_ms * k, total_ms * k, static_cast<double>(batch) * 1000 / (total_ms * k),
              step_gflops, 100 * step_gflops / peak);
  return 0;
}

}  // namespace nn
