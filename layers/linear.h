// Linear module: y = x W^T + b with weight [out, in] and optional bias [out] (nn::linear).
#pragma once

#include "layers/init.h"
#include "layers/module.h"

namespace nn {

class Linear final : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen, Init init = Init::pytorch_default);

  Tensor forward(const Tensor& x) override { return linear(x, weight, bias); }
  const char* type_name() const override { return "Linear"; }
  std::string describe() const override;
  double flops(const Shape& in, const Shape& out) const override;
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

  Tensor weight, bias;
};

}  // namespace nn
