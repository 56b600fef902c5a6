// Inference fusion, as an explicit pass (torch's fuse_modules): fuse_for_inference(model) has every
// Conv2d [BatchNorm2d] [ReLU] run of the model go through one FusedConv2d, which computes the convolution,
// the eval-mode batch norm and the ReLU as one convolution whose epilogue applies the batch norm's
// per-channel scale and shift and the ReLU (conv2d_fused_eval, tensor/ops.h): one pass over the output
// instead of three, and two fewer activations.
//
// The module tree stays as it is: the fused modules are installed in what a module's forward() calls (a
// Sequential's steps, ResNet's ConvRun members), not registered as children, and they hold the original
// Conv2d, BatchNorm2d and ReLU, so parameter and buffer names, the tensors themselves, state dicts (loading
// and saving weights), summaries and the profiler's rows are those of the unfused model. Which runs a model
// has is its own business: fuse_for_inference calls Module::fuse_runs() on every module of the tree;
// Sequential matches Conv2d [BatchNorm2d] [ReLU] runs among its children (VGG's features, ResNet's
// downsample), ResNet fuses its stem and each block's conv1/bn1/relu, conv2/bn2(/relu), conv3/bn3.
//
// A FusedConv2d runs the fused kernel only when that is the same computation: nothing needs a gradient
// (no_grad, or every parameter frozen and the input without history), the batch norm is in eval mode, the
// tensors are on the CPU, no summary is being recorded and no
// ForwardHook (layers/module.h) targets one of its modules. Otherwise it runs the three modules one by one,
// so a fused model stays correct when it is trained, unfrozen or moved to CUDA, and can be fused once
// where it is built. The profiler charges a fused call to the convolution's row (its batch norm and ReLU
// rows get no call).
//
// In training, a FusedConv2d with a batch norm and a ReLU runs the convolution, then the two as one op
// (batch_norm_relu, tensor/ops.h: one pass each way instead of two on the CPU, the same values and
// gradients), charged to the batch norm's row, unless a hook or a summary needs them one by one. So the
// trainer, bench-model and `skinnet profile`, which fuse their models, train with it.
//
// Callers: the inference paths fuse once where they build the model: `skinnet predict` and `skinnet eval`
// (tools/skinnet), the trainer (train/trainer.cpp: its validation and test passes, and the frozen backbone
// of fine-tuning stages, whose convolutions run without a graph) and bench/model_step.cpp (bench-model and
// `skinnet profile`, every mode: the same model the trainer runs). Tests compare fused and unfused models.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"

namespace nn {

class Conv2d;
class BatchNorm2d;
class ReLU;

// Installs fused modules for every Conv2d [BatchNorm2d] [ReLU | SiLU] run in `model`'s tree (see above). Running
// it again changes nothing.
void fuse_for_inference(Module& model);

// conv, then bn and the activation (ReLU or SiLU) when not null, as one convolution where that is the same
// computation. Its children are the three modules (so summaries and the profiler see only them); it is
// installed by fuse_for_inference, never registered in a model's tree.
class FusedConv2d final : public Module {
 public:
  FusedConv2d(std::shared_ptr<Conv2d> conv, std::shared_ptr<BatchNorm2d> bn, std::shared_ptr<Module> act);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "FusedConv2d"; }
  std::string describe() const override;
  const Conv2d& conv() const { return *conv_; }

 private:
  bool fusable(const Tensor& x) const;  // the one "can this fuse?" test
  bool fusable_in_training(const Tensor& h) const;  // batch norm + ReLU as one op on the conv's output h

  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<BatchNorm2d> bn_;  // null: none
  std::shared_ptr<Module> act_;      // ReLU, SiLU or null
  bool silu_ = false;                // act_ is a SiLU
};

// A Sequential's steps (what its forward() runs) for `children`: each Conv2d [BatchNorm2d] [ReLU] run as
// one FusedConv2d, every other child as itself (Sequential::fuse_runs).
std::vector<std::shared_ptr<Module>> fused_steps(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children);

// One Conv2d [BatchNorm2d] [ReLU] run inside a module's own forward() (ResNet's stem and blocks): it runs
// the three modules one after another, one statement each, or, after fuse(), the FusedConv2d.
class ConvRun {
 public:
  ConvRun() = default;
  ConvRun(std::shared_ptr<Conv2d> conv, std::shared_ptr<BatchNorm2d> bn, std::shared_ptr<ReLU> relu);
  Tensor operator()(const Tensor& x) const;
  void fuse();  // from the owner's fuse_runs()
  // Export (layers/export.h): the three modules, named `names` in the owner ("conv1", "bn1", "relu").
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x, const std::array<std::string, 3>& names) const;
  bool fused() const { return fused_ != nullptr; }

 private:
  std::shared_ptr<Conv2d> conv_;
  std::shared_ptr<BatchNorm2d> bn_;
  std::shared_ptr<ReLU> relu_;
  std::shared_ptr<FusedConv2d> fused_;
};

}  // namespace nn
