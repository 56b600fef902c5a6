// Conv2d module: weight [K, C/groups, R, S] and optional bias [K] around nn::conv2d (tensor/ops.h).
#pragma once

#include <array>
#include <optional>

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
  // Padding that differs before and after, {top, left, bottom, right} (Keras' ZeroPadding2D before a
  // 'valid' stride-2 convolution: TF's 'same'), added to the input as zeros; options().padding must be 0.
  void set_explicit_padding(const std::array<int64_t, 4>& pads);
  const std::optional<std::array<int64_t, 4>>& explicit_padding() const { return explicit_padding_; }
  Tensor pad_input(const Tensor& x) const;  // x with the explicit padding, or x itself
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

  Tensor weight, bias;

 private:
  Conv2dOptions options_;
  std::optional<std::array<int64_t, 4>> explicit_padding_;
};

}  // namespace nn
