// One benchmark step of a whole network on random data, shared by `skinnet bench-model` (bench-compare's
// skinnet side) and `skinnet profile`. The three modes are what a fine-tuning user runs:
//
//   inference  eval mode, no gradients: forward only
//   train      training mode, every parameter trains: forward, cross-entropy (plus 0.4 x the auxiliary
//              classifier's for Inception-v3, torchvision's recipe), backward, SGD step
//   frozen     only the head trains (backbone frozen, its batch norms in eval mode, as the trainer's
//              default stage.bn_eval): the backbone records no graph, backward runs through the head only
//
// bench/torch_model.py does the same steps in PyTorch.
#pragma once

#include <memory>
#include <string>

#include "models/network.h"
#include "tensor/tensor.h"
#include "train/optim/optim.h"

namespace nn {
class Flags;
}

namespace nn {

struct ModelStep {
  std::shared_ptr<Network> model;
  std::string mode;  // inference | train | frozen
  Tensor images, labels;
  std::unique_ptr<Optimizer> optimizer;  // train and frozen

  // 7 classes (HAM10000), torchvision initialisation, images N(0, 1) of [batch, 3, size, size].
  ModelStep(const std::string& arch, const std::string& mode, int64_t batch, int64_t size, uint64_t seed = 1);
  void run();     // one step
  Tensor loss();  // train and frozen: the forward and the loss of a step
  // Floating-point operations of one step per image: forward FLOPs x 1 (inference), x 3 (train: the
  // backward costs about twice the forward), forward + 2 x the head's (frozen).
  double flops_per_image() const { return flops_per_image_; }

 private:
  double flops_per_image_ = 0;
};

// Declares the flags that choose a step (--arch, --mode, --batch, --input), shared by bench-model and profile.
void add_model_step_flags(Flags& flags);
// The step those flags describe.
ModelStep model_step_from_flags(const Flags& flags);

}  // namespace nn
