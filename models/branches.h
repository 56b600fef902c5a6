// The Inception block: parallel branches over the same input, their outputs concatenated along channels.
//
//   x ─┬─ branch 0: step, step, ...            ─┐
//      ├─ branch 1: step, ... ─┬─ fork a ─┐     ├─ cat (channels)
//      │                       └─ fork b ─┴ cat ┤
//      └─ branch 2: pool, step                 ─┘
//
// A branch is a chain of steps; its last output may fork into modules applied side by side and
// concatenated (Inception-v3's InceptionE splits a 3x3 into 1x3 and 3x1 that way). Steps are registered
// flat under their own names in branch order (torchvision names its convolutions "branch5x5_1",
// "branch5x5_2", ...), or, for timm, a step is a whole Sequential ("branch1" -> branch1.0, branch1.1).
// A step may be left unregistered: torchvision calls its pools as functions, so they have no name in
// the state dict or module tree (they are still run, profiled with their parent, and exported).
//
// InceptionResidual adds what Inception-ResNet's Block35/17/8 do after the concatenation: a 1x1
// convolution with bias back to the input's width ("conv2d"), out = x + scale * up, then ReLU (not in
// the last Block8).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace nn {

class Conv2d;
class ReLU;

class Branches : public Module {
 public:
  struct Step {
    std::string name;
    std::shared_ptr<Module> module;
    bool registered = true;
  };
  struct Branch {
    std::vector<Step> steps;
    std::vector<Step> fork = {};  // applied to the steps' output side by side, concatenated (may be empty)
  };

  Branches(const char* type, std::vector<Branch> branches);

  Tensor forward(const Tensor& x) override { return concat_branches(x); }
  const char* type_name() const override { return type_; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;

 protected:
  Tensor concat_branches(const Tensor& x);
  GraphValue export_branches(GraphBuilder& g, const GraphValue& x) const;

 private:
  const char* type_;
  std::vector<Branch> branches_;
};

class InceptionResidual final : public Branches {
 public:
  // `up`: the 1x1 convolution with bias from the concatenation back to the input's channels.
  InceptionResidual(const char* type, std::vector<Branch> branches, std::shared_ptr<Conv2d> up, double scale, bool relu);

  Tensor forward(const Tensor& x) override;
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  double scale() const { return scale_; }

 private:
  std::shared_ptr<Conv2d> up_;
  double scale_;
  std::shared_ptr<ReLU> relu_;  // null: none (the final Block8)
};

}  // namespace nn
