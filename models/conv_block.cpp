// Convolution units and branch blocks of the Inception networks (see conv_block.h, branches.h).
#include "models/conv_block.h"

#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/export.h"
#include "layers/init.h"

namespace nn {

void init_layer(const Tensor& weight, const Tensor& bias, ConvInit init, Generator& gen, bool keep_bias_default) {
  NoGradGuard no_grad;
  switch (init.kind) {
    case ConvInit::none:
      return;
    case ConvInit::pytorch_default:
      pytorch_default_init_(weight, bias, gen);
      return;
    case ConvInit::trunc_normal:
      if (keep_bias_default && bias.defined()) pytorch_default_init_(weight, bias, gen);
      trunc_normal_(weight, 0.0, init.std, -2.0, 2.0, gen);
      break;
    case ConvInit::glorot_uniform:
      glorot_uniform_(weight, gen);
      break;
  }
  if (bias.defined() && !keep_bias_default) bias.fill_(0);
}

BasicConv2d::BasicConv2d(int64_t in, int64_t out, Pair kernel, const Conv2dOptions& options, const BnStyle& bn,
                         ConvInit init, Generator& gen) {
  conv_ = register_module("conv", std::make_shared<Conv2d>(in, out, kernel, options, false, gen, Init::none));
  init_layer(conv_->weight, {}, init, gen);
  auto norm = register_module("bn", std::make_shared<BatchNorm2d>(out, bn.eps, bn.momentum, true, bn.scale));
  run_ = ConvRun(conv_, norm, register_module("relu", std::make_shared<ReLU>()));
}

ConvUnits::ConvUnits(bool keras, ConvInit reference, bool init_parameters, Generator& g)
    : bn{.eps = 1e-3, .momentum = keras ? 0.01 : 0.1, .scale = !keras},
      init(init_parameters ? flavour_init(keras, reference) : ConvInit{ConvInit::none}),
      gen(g) {}

ConvInit ConvUnits::with_std(double std) const {
  ConvInit i = init;
  if (i.kind == ConvInit::trunc_normal) i.std = std;
  return i;
}

std::shared_ptr<BasicConv2d> ConvUnits::operator()(int64_t in, int64_t out, Pair kernel, Pair stride, Pair padding,
                                                   double std) const {
  return std::make_shared<BasicConv2d>(in, out, kernel, Conv2dOptions{.stride = stride, .padding = padding}, bn,
                                       with_std(std), gen);
}

GraphValue BasicConv2d::export_graph(GraphBuilder& g, const GraphValue& x) const {
  return run_.export_graph(g, x, {"conv", "bn", "relu"});
}

}  // namespace nn
