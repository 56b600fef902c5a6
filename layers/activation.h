// Parameter-free modules: ReLU, SiLU, Sigmoid, Dropout (with its own seeded generator) and Flatten.
#pragma once

#include "layers/module.h"

namespace nn {

class ReLU final : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  const char* type_name() const override { return "ReLU"; }
  double flops(const Shape&, const Shape& out) const override { return static_cast<double>(out.numel()); }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp
};

// x * sigmoid(x) (swish): EfficientNet's activation. ONNX has no SiLU operator: exported as Sigmoid, Mul.
class SiLU final : public Module {
 public:
  Tensor forward(const Tensor& x) override { return silu(x); }
  const char* type_name() const override { return "SiLU"; }
  double flops(const Shape&, const Shape& out) const override { return 4.0 * static_cast<double>(out.numel()); }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp
};

class Sigmoid final : public Module {
 public:
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
  const char* type_name() const override { return "Sigmoid"; }
  double flops(const Shape&, const Shape& out) const override { return 3.0 * static_cast<double>(out.numel()); }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp
};

// Zeroes elements with probability p in training mode (scaling the rest by 1/(1-p)); identity in eval.
// The mask comes from the module's own Generator, seeded at construction, so a run is reproducible.
class Dropout final : public Module {
 public:
  explicit Dropout(double p, uint64_t seed = 0) : p_(p), gen_(seed) {
    NN_CHECK(p >= 0 && p <= 1, "Dropout: probability p={} is not in [0, 1]", p);
  }
  Tensor forward(const Tensor& x) override { return dropout(x, p_, training(), gen_); }
  const char* type_name() const override { return "Dropout"; }
  std::string describe() const override { return fmt::format("Dropout(p={})", p_); }
  Generator& generator() { return gen_; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

 private:
  double p_;
  Generator gen_;
};

// Stochastic depth ("row" mode, torchvision.ops.StochasticDepth): in training, drops the whole input of a
// sample with probability p (scaling kept samples by 1/(1-p)); identity in eval. Applied to a residual
// branch, it skips that block for the sample. Seeded like Dropout.
class StochasticDepth final : public Module {
 public:
  explicit StochasticDepth(double p, uint64_t seed = 0) : p_(p), gen_(seed) {
    NN_CHECK(p >= 0 && p <= 1, "StochasticDepth: probability p={} is not in [0, 1]", p);
  }
  Tensor forward(const Tensor& x) override { return stochastic_depth(x, p_, training(), gen_); }
  const char* type_name() const override { return "StochasticDepth"; }
  std::string describe() const override { return fmt::format("StochasticDepth(p={}, mode=row)", p_); }
  double p() const { return p_; }
  Generator& generator() { return gen_; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

 private:
  double p_;
  Generator gen_;
};

class Flatten final : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
  Tensor forward(const Tensor& x) override { return flatten(x, start_, end_); }
  const char* type_name() const override { return "Flatten"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

 private:
  int64_t start_, end_;
};

}  // namespace nn
