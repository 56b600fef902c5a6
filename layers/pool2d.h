// Pooling modules: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d around the ops of the same names.
#pragma once

#include "layers/module.h"

namespace nn {

class MaxPool2d final : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options) : options_(options) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, options_); }
  const char* type_name() const override { return "MaxPool2d"; }
  std::string describe() const override;
  double flops(const Shape&, const Shape& out) const override;
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

 private:
  MaxPool2dOptions options_;
};

class AvgPool2d final : public Module {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options) : options_(options) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, options_); }
  const char* type_name() const override { return "AvgPool2d"; }
  std::string describe() const override;
  double flops(const Shape&, const Shape& out) const override;
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

 private:
  AvgPool2dOptions options_;
};

class AdaptiveAvgPool2d final : public Module {
 public:
  explicit AdaptiveAvgPool2d(Pair output_size) : output_size_(output_size) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, output_size_); }
  const char* type_name() const override { return "AdaptiveAvgPool2d"; }
  std::string describe() const override;
  double flops(const Shape& in, const Shape& out) const override;
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

 private:
  Pair output_size_;
};

}  // namespace nn
