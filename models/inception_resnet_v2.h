// Inception-ResNet-v2 (Szegedy et al., 2016, "Inception-v4, Inception-ResNet and the Impact of Residual
// Connections") with timm's names and semantics, which are Keras' and TF-slim's architecture:
//
//   299x299x3 -> conv2d_1a (3x3/2) -> conv2d_2a (3x3) -> conv2d_2b (3x3, pad 1) -> maxpool_3a (/2)  147 -> 73
//             -> conv2d_3b (1x1) -> conv2d_4a (3x3) -> maxpool_5a (/2)                               71 -> 35
//             -> mixed_5b (1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1)                                 35x35x320
//             -> repeat:   10 x Block35 (scale 0.17)   x + 0.17 * up(cat(1x1 | 1x1-3x3 | 1x1-3x3-3x3))
//             -> mixed_6a (grid reduction)                                                           17x17x1088
//             -> repeat_1: 20 x Block17 (scale 0.10)   x + 0.1 * up(cat(1x1 | 1x1-1x7-7x1))
//             -> mixed_7a (grid reduction)                                                           8x8x2080
//             -> repeat_2:  9 x Block8  (scale 0.20)   x + 0.2 * up(cat(1x1 | 1x1-1x3-3x1))
//             -> block8: one more Block8, scale 1, no ReLU
//             -> conv2d_7b (1x1, 1536) -> global average pool -> classif
//
// Each "up" is a 1x1 convolution with a bias and no batch norm (key conv2d); every other convolution is
// a BasicConv2d (conv, batch norm eps 1e-3, ReLU; models/conv_block.h). The 3x3 average pool of mixed_5b
// excludes padded cells (count_include_pad=False, as TF's 'SAME' pooling). 55.8 M parameters, 13.2 GMACs
// at 299x299. timm has no dropout before the classifier by default (drop_rate 0); neither has Keras.
//
// Flavour "keras" (ModelOptions::flavour, from a converted Keras file): batch norm without scale (Keras'
// conv2d_bn uses BatchNormalization(scale=False)), momentum 0.01, glorot_uniform initialisation.
// Otherwise timm's: PyTorch's default initialisation.
#pragma once

#include <memory>

#include "models/network.h"

namespace nn {

class Linear;

class InceptionResNetV2 final : public Network {
 public:
  explicit InceptionResNetV2(const ModelOptions& options);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "InceptionResnetV2"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  std::string arch() const override { return "inception_resnet_v2"; }
  std::string head_name() const override { return "classif"; }
  std::string head_block() const override { return "classif"; }
  std::string cam_layer() const override { return "conv2d_7b"; }
  int64_t num_classes() const override;
  int64_t head_in_features() const override { return 1536; }
  void reset_head(int64_t num_classes, Generator& gen) override;

 private:
  bool keras_;
  std::vector<std::shared_ptr<Module>> features_;  // conv2d_1a ... conv2d_7b, in order
  std::shared_ptr<Module> global_pool_;
  std::shared_ptr<Linear> classif_;
};

std::shared_ptr<Network> make_inception_resnet_v2(const std::string& arch, const ModelOptions& options);

}  // namespace nn
