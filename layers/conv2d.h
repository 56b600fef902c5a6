// Conv2d module: weight [K, C/groups, R, S] and optional bias [K] around nn::conv2d (tensor/ops.h).
#pragma once

#include <array>

#include "layers/init.h"
#include "layers/module.h"

namespace nn {

class Conv2d final : public Module {
 public:
  // Init::pytorch_default is kaiming_uniform with a = sqrt(5); models pass Init::none and initialise
  // as torchvision does.
  Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, const Conv2dOptions& options, bool bias,
         Generator& gen, Init init = Init::pytorch_default);

  Tensor forward(const Tensor& x) override { return conv2d(pad_input(x), weight, bias, options_); }
  const char* type_name() const override { return "Conv2d"; }
  std::string describe() const override;
  double flops(const Shape& in, const Shape& out) const override;
  const Conv2dOptions& options() const { return options_; }
  // TensorFlow's 'SAME' padding instead of options().padding (which must be 0): for each input size,
  // total = max((ceil(in / stride) - 1) * stride + dilation * (kernel - 1) + 1 - in, 0), of which
  // total / 2 goes before and the rest after. It is what Keras' EfficientNet does with ZeroPadding2D
  // (correct_pad) before its 'valid' stride-2 convolutions: on even sizes one more row and column after.
  void set_same_padding();
  bool same_padding() const { return same_padding_; }
  // {top, left, bottom, right} for an input of h x w (ONNX's order): 'SAME''s, or options().padding.
  std::array<int64_t, 4> padding_for(int64_t h, int64_t w) const;
  Tensor pad_input(const Tensor& x) const;  // x zero-padded where 'SAME' padding is asymmetric, or x itself
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

  Tensor weight, bias;

 private:
  Conv2dOptions options_;
  bool same_padding_ = false;
};

}  // namespace nn
