// Inception branch blocks (see branches.h).
#include "models/branches.h"

#include "layers/activation.h"
#include "layers/conv2d.h"
#include "layers/export.h"

namespace nn {

namespace {

// The value of cat(values, channels) in an exported graph.
GraphValue export_concat(GraphBuilder& g, const std::vector<GraphValue>& values) {
  if (values.size() == 1) return values[0];
  std::vector<std::string> names;
  Shape shape = values[0].shape;
  shape[1] = 0;
  for (const GraphValue& v : values) {
    names.push_back(v.name);
    shape[1] += v.shape[1];
  }
  return {g.node("Concat", names, {{"axis", int64_t{1}}}), shape};
}

}  // namespace

Branches::Branches(const char* type, std::vector<Branch> branches) : type_(type), branches_(std::move(branches)) {
  for (Branch& b : branches_) {
    for (Step& s : b.steps)
      if (s.registered) register_module(s.name, s.module);
    for (Step& s : b.fork)
      if (s.registered) register_module(s.name, s.module);
  }
}

// One branch at a time, so only the finished outputs and the branch being computed are alive.
Tensor Branches::concat_branches(const Tensor& x) {
  std::vector<Tensor> outputs;
  for (const Branch& b : branches_) {
    Tensor h = x;
    for (const Step& s : b.steps) h = (*s.module)(h);
    if (b.fork.empty()) {
      outputs.push_back(std::move(h));
      continue;
    }
    for (const Step& s : b.fork) outputs.push_back((*s.module)(h));
  }
  return outputs.size() == 1 ? outputs[0] : cat(outputs, 1);
}

GraphValue Branches::export_graph(GraphBuilder& g, const GraphValue& x) const { return export_branches(g, x); }

GraphValue Branches::export_branches(GraphBuilder& g, const GraphValue& x) const {
  std::vector<GraphValue> outputs;
  for (const Branch& b : branches_) {
    GraphValue h = x;
    for (const Step& s : b.steps) h = g.call(s.name, *s.module, h);
    if (b.fork.empty()) {
      outputs.push_back(h);
      continue;
    }
    std::vector<GraphValue> parts;
    for (const Step& s : b.fork) parts.push_back(g.call(s.name, *s.module, h));
    outputs.push_back(export_concat(g, parts));
  }
  return export_concat(g, outputs);
}

InceptionResidual::InceptionResidual(const char* type, std::vector<Branch> branches, std::shared_ptr<Conv2d> up,
                                     double scale, bool relu)
    : Branches(type, std::move(branches)), scale_(scale) {
  up_ = register_module("conv2d", std::move(up));
  if (relu) relu_ = register_module("relu", std::make_shared<ReLU>());
}

// x + scale * conv2d(cat(branches)), then ReLU: timm's `out * scale + x` (the same rounding: one multiply,
// one add).
Tensor InceptionResidual::forward(const Tensor& x) {
  Tensor h = concat_branches(x);
  h = (*up_)(h);
  h = add(mul(h, scale_), x);
  return relu_ ? (*relu_)(h) : h;
}

GraphValue InceptionResidual::export_graph(GraphBuilder& g, const GraphValue& x) const {
  GraphValue h = g.call("conv2d", *up_, export_branches(g, x));
  const std::string scale = g.constant("scale", full({1}, scale_));
  h = {g.node("Add", {g.node("Mul", {h.name, scale}), x.name}), x.shape};
  return relu_ ? g.call("relu", *relu_, h) : h;
}

}  // namespace nn
