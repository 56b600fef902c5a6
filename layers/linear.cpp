// Linear module (see linear.h).
#include "layers/linear.h"

#include "layers/init.h"

namespace nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, Generator& gen, Init init) {
  NN_CHECK(in_features > 0 && out_features > 0, "Linear: features ({} -> {}) must be positive", in_features,
           out_features);
  weight = zeros({out_features, in_features});
  if (with_bias) bias = zeros({out_features});
  if (init == Init::pytorch_default) pytorch_default_init_(weight, bias, gen);
  register_parameter("weight", &weight);
  if (with_bias) register_parameter("bias", &bias);
}

std::string Linear::describe() const {
  return fmt::format("Linear({}, {}{})", weight.size(1), weight.size(0), bias.defined() ? "" : ", bias=False");
}

double Linear::flops(const Shape& in, const Shape& out) const {
  (void)in;
  const double outputs = static_cast<double>(out.numel());
  return outputs * 2.0 * static_cast<double>(weight.size(1)) + (bias.defined() ? outputs : 0.0);
}

}  // namespace nn
