// EfficientNet-B0 ... B7 (Tan & Le, 2019) with torchvision 0.14's names, semantics and initialisation.
//
//   features.0     3x3/2 conv, BN, SiLU                                          (32 channels at width 1)
//   features.1..7  stages of MBConv blocks (expand ratio, kernel, stride, in, out, repeats at width 1):
//                  (1,3,1,32,16,1) (6,3,2,16,24,2) (6,5,2,24,40,2) (6,3,2,40,80,3) (6,5,1,80,112,3)
//                  (6,5,2,112,192,4) (6,3,1,192,320,1)
//   features.8     1x1 conv to 4x the last stage's channels, BN, SiLU (1280 at width 1)
//   avgpool -> classifier.0 (Dropout) -> classifier.1 (Linear)
//
// MBConv ("block"): [1x1 expand conv, BN, SiLU] -> kxk depthwise conv (stride), BN, SiLU ->
// squeeze-and-excitation (global average -> 1x1 fc1 to in/4 channels -> SiLU -> 1x1 fc2 -> sigmoid ->
// scale the channels) -> 1x1 project conv, BN (no activation); then, where the block keeps its shape,
// stochastic depth on the branch and the residual add. Block b of B (counting from 0 over the whole
// network) drops its branch with probability stochastic_depth * b / B (0.2 at most, torchvision's).
//
// Compound scaling: variant bN multiplies every width by w (rounded to a multiple of 8, never below 90%)
// and every stage's repeats by d (rounded up), and is trained at its own resolution:
//   b0 w1.0 d1.0 224 dropout 0.2 | b1 1.0 1.1 240 0.2 | b2 1.1 1.2 288 0.3 | b3 1.2 1.4 300 0.3
//   b4 w1.4 d1.8 380 dropout 0.4 | b5 1.6 2.2 456 0.4 | b6 1.8 2.6 528 0.5 | b7 2.0 3.1 600 0.5
// Batch norm: eps 1e-5, momentum 0.1 for b0-b4 and eps 1e-3, momentum 0.01 for b5-b7 (torchvision 0.14).
//
// Flavour "keras" (ModelOptions::flavour, from a converted Keras file): eps 1e-3 and momentum 0.01
// everywhere, and the stride-2 convolutions pad as TensorFlow's 'SAME' (Keras' ZeroPadding2D(correct_pad)
// + 'valid' for a model built for its input size): k/2 - 1 before and k/2 after on even sizes, k/2 on both
// sides on odd ones, where torchvision always pads k/2 on both sides.
#pragma once

#include <memory>

#include "models/network.h"

namespace nn {

class Linear;
class Sequential;

class EfficientNet final : public Network {
 public:
  EfficientNet(std::string arch, double width, double depth, double dropout, const ModelOptions& options);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "EfficientNet"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  std::string arch() const override { return arch_; }
  std::string head_name() const override { return "classifier.1"; }
  std::string head_block() const override { return "classifier"; }
  std::string cam_layer() const override { return "features.8"; }
  int64_t num_classes() const override;
  int64_t head_in_features() const override { return features_; }
  void reset_head(int64_t num_classes, Generator& gen) override;

  std::shared_ptr<Sequential> features, classifier;
  std::shared_ptr<Module> avgpool;

 private:
  std::string arch_;
  int64_t features_ = 0;  // channels into the classifier
  std::shared_ptr<Linear> linear_;
};

std::shared_ptr<Network> make_efficientnet(const std::string& arch, const ModelOptions& options);

// torchvision's _make_divisible(v, 8): v rounded to the nearest multiple of 8, at least 8, and not more
// than 10% below v.
int64_t efficientnet_round_channels(double v);

}  // namespace nn
