// LayerProfiler: where a network's time goes, per module, forward and backward (like `caffe time`).
//
//   LayerProfiler profiler(*model, {8, 3, 224, 224});  // indexes the modules, counts their FLOPs
//   profiler.start();  ... forward, backward, step ...  profiler.stop();
//   std::puts(profiler.table(steps).c_str());
//
// Forward: Module::operator() times every module while a profiler is active (LayerProfiler::Scope), and a
// fused convolution (layers/fused.h) is charged to its Conv2d's row; a leaf's row is its time,
// a container's row is its "self" time (what it computes itself, e.g. a residual block's addition and
// ReLU: its total minus its children's). Backward: each autograd node is charged to the module whose
// forward created it (tensor/profile.h). Nodes made outside any module (the loss) form the row "(loss)".
// Times are wall clock on the CPU; for CUDA use the Nsight targets instead (docs/profiling.md).
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

#include "layers/module.h"
#include "tensor/profile.h"

namespace nn {

class LayerProfiler final : public profile::Sink {
 public:
  // `input`: the shape the model will see (FLOPs of each layer come from a summary on it).
  LayerProfiler(Module& model, const Shape& input);
  ~LayerProfiler() override;
  LayerProfiler(const LayerProfiler&) = delete;
  LayerProfiler& operator=(const LayerProfiler&) = delete;

  void start();  // this thread's modules and backward passes are timed until stop()
  void stop();
  void reset();  // forget the times so far (after warm-up)

  struct Row {
    std::string name, type;
    double flops = 0;        // forward FLOPs of one call on the profiled input
    double forward_ms = 0;   // summed over calls (self time for containers)
    double backward_ms = 0;
    int64_t calls = 0;
    bool leaf = true;
    // What the CPU convolution kernels ran for this layer (kernels/conv2d.h, Conv2dCpuTrace), per pass;
    // empty for other layers and passes that did not run.
    std::string forward_algorithm, backward_data_algorithm, backward_weight_algorithm;
  };
  // Rows in execution order (first forward call); the last row "(loss)" holds nodes made outside modules.
  std::vector<Row> rows() const;
  // The printable table: per-step ms (times divided by `steps`) and GFLOP/s, with totals. With
  // `peak_gflops` > 0 (kernels/cpu/peak.h), a column "% peak": forward + backward FLOPs over their ms, as a
  // share of that peak. Where convolutions ran on the CPU, the columns "layout" (NCHW, or nChw8c / nChw16c
  // where the channel-blocked kernel reordered into it) and "algorithm" (forward / backward data / backward weight).
  std::string table(int64_t steps, double peak_gflops = 0) const;

  // Times one forward call and charges it to `m`'s row while a profiler is active on this thread (else
  // does nothing): Module::operator() around every forward(), and a fused convolution for its Conv2d's row
  // (layers/fused.h). Nodes autograd creates meanwhile are tagged with `m`.
  class Scope {
   public:
    explicit Scope(const Module* m);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    LayerProfiler* profiler_;
    const Module* module_;
    int previous_ = -1;
    std::chrono::steady_clock::time_point start_;
  };

  static LayerProfiler* active();
  void backward(int layer, double ms) override;

 private:
  int enter(const Module* m);  // returns the previous layer, for leave()
  void leave(const Module* m, int previous, double ms);

  std::vector<Row> rows_;                           // by module index; the last is "(loss)"
  std::unordered_map<const Module*, int> index_;
  std::vector<int64_t> first_call_;                 // order of first forward call (-1: not yet)
  std::vector<double> child_ms_;                    // per open call: children's total (stack by depth)
  int64_t calls_seen_ = 0;
  bool running_ = false;
};

}  // namespace nn
