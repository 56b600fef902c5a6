// Inception-v3 (Szegedy et al., 2015, "Rethinking the Inception Architecture") as torchvision builds it:
//
//   299x299x3 -> Conv2d_1a_3x3 (/2) -> Conv2d_2a_3x3 -> Conv2d_2b_3x3 -> maxpool1 (/2)      147 -> 73
//             -> Conv2d_3b_1x1 -> Conv2d_4a_3x3 -> maxpool2 (/2)                             71 -> 35
//             -> Mixed_5b, 5c, 5d (InceptionA: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1)    35x35x288
//             -> Mixed_6a (InceptionB: grid reduction, 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2)     17x17x768
//             -> Mixed_6b..6e (InceptionC: factorised 7x7 as 1x7 and 7x1)                    17x17x768
//                  └─ AuxLogits (training only): avgpool 5/3 -> 1x1 128 -> 5x5 768 -> fc      (optional)
//             -> Mixed_7a (InceptionD: grid reduction)                                       8x8x1280
//             -> Mixed_7b, 7c (InceptionE: 3x3 split into parallel 1x3 and 3x1)              8x8x2048
//             -> avgpool -> dropout -> fc
//
// Every convolution is a BasicConv2d (bias-free conv, batch norm eps 1e-3, ReLU; models/conv_block.h).
// 27.2 M parameters with the auxiliary classifier (23.8 M without), 5.7 GMACs at 299x299.
//
// Options (ModelOptions; a weights file's metadata sets them, weights/load.h):
//   aux_logits       the auxiliary classifier exists (its parameters, in the state dict between Mixed_6e
//                    and Mixed_7a as in torchvision's); its logits come from training forwards only
//                    (take_aux_logits); the trainer adds 0.4 x their loss (torchvision's recipe).
//   transform_input  the input, normalised with ImageNet's mean and std, is re-normalised to (x/255 - 0.5)/0.5
//                    per channel first: torchvision's port of Google's weights expects that.
//   flavour "keras"  Keras' InceptionV3: the same graph, but batch norm without scale (gamma fixed at 1,
//                    momentum 0.01), the 3x3 average pools of the mixed blocks exclude padded cells from
//                    their mean (AveragePooling2D(padding='same')), no auxiliary classifier, and Keras'
//                    glorot_uniform initialisation. torchvision's pools count the padding (F.avg_pool2d's
//                    default): on the border of every map that changes the mean by up to 9/4x, which is
//                    why Keras weights need the Keras flavour.
#pragma once

#include <memory>

#include "models/network.h"

namespace nn {

class Linear;
class Dropout;
class InceptionAux;
class InputTransform;

class InceptionV3 final : public Network {
 public:
  explicit InceptionV3(const ModelOptions& options);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "Inception3"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  std::string arch() const override { return "inception_v3"; }
  std::string head_name() const override { return "fc"; }
  std::string head_block() const override { return "fc"; }
  std::vector<std::string> head_names() const override;
  Tensor take_aux_logits() override { return std::exchange(aux_, Tensor()); }
  void use_aux_logits(bool on) override { aux_on_ = on; }
  std::string cam_layer() const override { return "Mixed_7c"; }
  int64_t num_classes() const override;
  int64_t head_in_features() const override { return 2048; }
  void reset_head(int64_t num_classes, Generator& gen) override;

  bool keras() const { return keras_; }
  bool has_aux() const { return aux_head_ != nullptr; }
  bool transform_input() const { return input_transform_ != nullptr; }

 private:
  bool keras_;
  std::shared_ptr<InputTransform> input_transform_;  // transform_input; null: none
  std::shared_ptr<Module> stem_[7];    // Conv2d_1a_3x3 ... maxpool2
  std::shared_ptr<Module> mixed_[11];  // Mixed_5b ... Mixed_7c
  std::shared_ptr<InceptionAux> aux_head_;
  std::shared_ptr<Module> avgpool_;
  std::shared_ptr<Dropout> dropout_;
  std::shared_ptr<Linear> fc_;
  Tensor aux_;         // the last training forward's auxiliary logits, until taken
  bool aux_on_ = true;  // use_aux_logits
};

std::shared_ptr<Network> make_inception_v3(const std::string& arch, const ModelOptions& options);  // null if not it

}  // namespace nn
