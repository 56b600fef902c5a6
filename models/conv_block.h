// The unit the Inception networks are built from: a bias-free convolution, batch norm and ReLU, as
// torchvision's BasicConv2d (Inception-v3) and timm's ConvNormAct (Inception-ResNet-v2) build it. Its
// children are "conv" and "bn" (their state-dict keys X.conv.weight, X.bn.weight, ...) and "relu".
//
// The batch norm follows the weights' source: eps 1e-3 in all three (torchvision, timm, Keras), momentum
// 0.1 (PyTorch) or 0.01 (Keras' momentum=0.99 counts the other way), and Keras' BatchNormalization(scale=False)
// has no weight (gamma fixed at 1). The convolution's initialisation is the architecture's (ConvInit).
#pragma once

#include <memory>

#include "layers/fused.h"
#include "layers/module.h"

namespace nn {

class Conv2d;

// How an architecture initialises a convolution or linear weight (biases: zero, or PyTorch's default).
struct ConvInit {
  enum Kind { none, pytorch_default, trunc_normal, glorot_uniform } kind = pytorch_default;
  double std = 0.1;  // trunc_normal: N(0, std^2) within [-2, 2], torchvision's Inception-v3
};
// Initialises weight (and bias when defined) as `init` says: trunc_normal and glorot_uniform set the bias
// to zero (Keras' zeros; torchvision's Inception has no conv bias) unless `keep_bias_default`, which
// keeps PyTorch's default bias (torchvision's Linear layers set only their weight).
void init_layer(const Tensor& weight, const Tensor& bias, ConvInit init, Generator& gen, bool keep_bias_default = false);

// The batch-norm settings of a network's convolution units.
struct BnStyle {
  double eps = 1e-3;
  double momentum = 0.1;
  bool scale = true;  // false: Keras' scale=False, no weight
};

class BasicConv2d;

// The convolution units of one Inception network: its batch norm, initialisation and generator, all
// decided by the flavour: Keras' (no scale, momentum 0.01, glorot_uniform) or the reference
// implementation's (scale, momentum 0.1, `reference`: torchvision's truncated normal, timm's PyTorch
// default). `init` false: parameters stay zero (weights are loaded next).
struct ConvUnits {
  ConvUnits(bool keras, ConvInit reference, bool init, Generator& gen);
  // A BasicConv2d; `std` replaces the truncated normal's standard deviation (torchvision's per-layer stddev).
  std::shared_ptr<BasicConv2d> operator()(int64_t in, int64_t out, Pair kernel, Pair stride = 1, Pair padding = 0,
                                          double std = 0.1) const;
  // The initialisation of a layer with standard deviation `std` when truncated normal.
  ConvInit with_std(double std) const;
  // How the flavour initialises a layer built later (a replaced head), whatever `init` said.
  static ConvInit flavour_init(bool keras, ConvInit reference) {
    return keras ? ConvInit{ConvInit::glorot_uniform} : reference;
  }

  BnStyle bn;
  ConvInit init;
  Generator& gen;
};

class BasicConv2d final : public Module {
 public:
  BasicConv2d(int64_t in, int64_t out, Pair kernel, const Conv2dOptions& options, const BnStyle& bn, ConvInit init,
              Generator& gen);

  Tensor forward(const Tensor& x) override { return run_(x); }
  const char* type_name() const override { return "BasicConv2d"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  const Conv2d& conv() const { return *conv_; }

 protected:
  void fuse_runs() override { run_.fuse(); }

 private:
  std::shared_ptr<Conv2d> conv_;
  ConvRun run_;  // conv -> bn -> relu; one fused convolution after fuse_for_inference
};

}  // namespace nn
