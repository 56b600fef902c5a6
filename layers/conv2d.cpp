// Conv2d module (see conv2d.h).
#include "layers/conv2d.h"

#include "layers/init.h"

namespace nn {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Pair kernel_size, const Conv2dOptions& options, bool with_bias,
               Generator& gen, Init init)
    : options_(options) {
  NN_CHECK(in_channels > 0 && out_channels > 0 && kernel_size.h > 0 && kernel_size.w > 0,
           "Conv2d: channels ({} -> {}) and kernel ({}x{}) must be positive", in_channels, out_channels, kernel_size.h,
           kernel_size.w);
  weight = zeros({out_channels, in_channels, kernel_size.h, kernel_size.w});
  if (with_bias) bias = zeros({out_channels});
  if (init == Init::pytorch_default) pytorch_default_init_(weight, bias, gen);
  register_parameter("weight", &weight);
  if (with_bias) register_parameter("bias", &bias);
}

std::string Conv2d::describe() const {
  auto pair = [](Pair p) { return p.h == p.w ? std::to_string(p.h) : fmt::format("({}, {})", p.h, p.w); };
  std::string s = fmt::format("Conv2d({}, {}, {}x{}, stride={}", weight.size(1), weight.size(0), weight.size(2),
                              weight.size(3), pair(options_.stride));
  if (options_.padding.h || options_.padding.w) s += ", padding=" + pair(options_.padding);
  if (options_.dilation.h != 1 || options_.dilation.w != 1) s += ", dilation=" + pair(options_.dilation);
  return s + (bias.defined() ? ")" : ", bias=False)");
}

double Conv2d::flops(const Shape& in, const Shape& out) const {
  (void)in;
  const double outputs = static_cast<double>(out.numel());  // N*K*P*Q
  const double per_output = 2.0 * static_cast<double>(weight.size(1) * weight.size(2) * weight.size(3));
  return outputs * per_output + (bias.defined() ? outputs : 0.0);
}

}  // namespace nn
