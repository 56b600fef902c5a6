// Conv2d module: weight [K, C, R, S] and optional bias [K] around nn::conv2d (tensor/ops.h).
#pragma once

#include "layers/init.h"
#include "layers/module.h"

namespace nn {

class Conv2d final : public Module {
 public:
  // Init::pytorch_default is kaiming_uniform with a = sqrt(5); models pass Init::none and initialise
  // as torchvision does.
  Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, const Conv2dOptions& options, bool bias,
         Generator& gen, Init init = Init::pytorch_default);

  Tensor forward(const Tensor& x) override { return conv2d(x, weight, bias, options_); }
  const char* type_name() const override { return "Conv2d"; }
  std::string describe() const override;
  double flops(const Shape& in, const Shape& out) const override;
  const Conv2dOptions& options() const { return options_; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

  Tensor weight, bias;

 private:
  Conv2dOptions options_;
};

}  // namespace nn
