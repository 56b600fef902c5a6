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

GraphValue BasicConv2d::export_graph(GraphBuilder& g, const GraphValue& x) const {
  return run_.export_graph(g, x, {"conv", "bn", "relu"});
}

}  // namespace nn
