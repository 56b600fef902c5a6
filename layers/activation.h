// Parameter-free modules: ReLU, Dropout (with its own seeded generator) and Flatten.
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
