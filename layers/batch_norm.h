// BatchNorm2d module, as torch.nn.BatchNorm2d: weight (gamma) 1, bias (beta) 0, buffers running_mean 0,
// running_var 1 and num_batches_tracked (i64, counts training forwards). In training mode it normalises
// with the batch statistics and updates the running ones with `momentum`, or, when momentum is unset,
// with the cumulative average 1/num_batches_tracked; in eval mode it uses the running statistics.
// Without `scale` (Keras' BatchNormalization(scale=False), as Keras' Inception networks use it) there is
// no weight: gamma is fixed at 1 and only the bias (beta) is learned.
//
// Synchronised (torch.nn.SyncBatchNorm, `model.sync_bn` in data-parallel training): with a group of more
// than one rank set, training normalises with the mean and variance of the whole batch, every rank's part
// of it, summed over the group (tensor/collective.h); the running statistics are updated with them, so they
// stay equal on every rank, and the gradients are those of the whole batch. Eval mode is unchanged.
#pragma once

#include <memory>
#include <optional>

#include "layers/module.h"
#include "tensor/collective.h"

namespace nn {

class BatchNorm2d final : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, std::optional<double> momentum = 0.1, bool affine = true,
                       bool scale = true);

  Tensor forward(const Tensor& x) override;
  // relu(forward(x)) as one op (tensor/ops.h, batch_norm_relu: one pass each way on the CPU in training):
  // what layers/fused.h runs for a BatchNorm2d -> ReLU pair of a training model. Not through operator():
  // the caller times it (LayerProfiler::Scope) and checks that no hook or summary needs the two modules.
  Tensor forward_relu(const Tensor& x);
  const char* type_name() const override { return "BatchNorm2d"; }
  std::string describe() const override;
  double flops(const Shape& in, const Shape& out) const override;
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp
  double eps() const { return eps_; }
  std::optional<double> momentum() const { return momentum_; }
  void set_momentum(std::optional<double> momentum) { momentum_ = momentum; }
  // Forgets the running statistics (mean 0, variance 1, no batches tracked), as torch's reset_running_stats.
  // With the momentum unset, the next training forwards then average their batch statistics equally: the
  // trainer's precise BatchNorm (checkpoint.precise_bn_batches, train/trainer.cpp).
  void reset_running_stats();
  // Synchronised statistics over `group` in training (null: this process's batch alone, the default).
  void set_sync(std::shared_ptr<Collective> group) { sync_ = std::move(group); }
  const std::shared_ptr<Collective>& sync() const { return sync_; }
  // Its running statistics, affine parameters and eps, as conv2d_fused_eval and fold_batch_norm take them.
  BatchNormEval eval_stats() const { return {running_mean, running_var, weight, bias, eps_}; }

  Tensor weight, bias;                                  // parameters (when affine; weight only with scale)
  Tensor running_mean, running_var, num_batches_tracked;  // buffers

 private:
  double eps_;
  std::optional<double> momentum_;
  std::shared_ptr<Collective> sync_;

  Tensor forward(const Tensor& x, bool then_relu);
  Tensor forward_synchronised(const Tensor& x, double momentum);
};

}  // namespace nn
