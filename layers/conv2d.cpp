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
  NN_CHECK(options.groups >= 1 && in_channels % options.groups == 0 && out_channels % options.groups == 0,
           "Conv2d: groups={} must divide the input ({}) and output ({}) channels", options.groups, in_channels,
           out_channels);
  weight = zeros({out_channels, in_channels / options.groups, kernel_size.h, kernel_size.w});
  if (with_bias) bias = zeros({out_channels});
  if (init == Init::pytorch_default) pytorch_default_init_(weight, bias, gen);
  register_parameter("weight", &weight);
  if (with_bias) register_parameter("bias", &bias);
}

void Conv2d::set_same_padding() {
  NN_CHECK(options_.padding.h == 0 && options_.padding.w == 0,
           "Conv2d: 'SAME' padding replaces the options' padding ({}, {}), which must be 0", options_.padding.h,
           options_.padding.w);
  same_padding_ = true;
}

std::array<int64_t, 4> Conv2d::padding_for(int64_t h, int64_t w) const {
  if (!same_padding_) return {options_.padding.h, options_.padding.w, options_.padding.h, options_.padding.w};
  auto total = [](int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
    const int64_t out = (in + stride - 1) / stride;
    return std::max<int64_t>((out - 1) * stride + dilation * (kernel - 1) + 1 - in, 0);
  };
  const int64_t th = total(h, weight.size(2), options_.stride.h, options_.dilation.h);
  const int64_t tw = total(w, weight.size(3), options_.stride.w, options_.dilation.w);
  return {th / 2, tw / 2, th - th / 2, tw - tw / 2};
}

Tensor Conv2d::pad_input(const Tensor& x) const {
  if (!same_padding_) return x;
  NN_CHECK(x.ndim() == 4, "Conv2d: input must be [N, C, H, W], got {}", x.describe());
  const auto [top, left, bottom, right] = padding_for(x.size(2), x.size(3));
  auto zeros_like_with = [&](const Tensor& t, int64_t dim, int64_t n) {
    Shape s = t.shape();
    s[dim] = n;
    return zeros(s, t.dtype(), t.device());
  };
  auto pad_dim = [&](const Tensor& t, int64_t dim, int64_t before, int64_t after) {
    if (before == 0 && after == 0) return t;
    std::vector<Tensor> parts;
    if (before > 0) parts.push_back(zeros_like_with(t, dim, before));
    parts.push_back(t);
    if (after > 0) parts.push_back(zeros_like_with(t, dim, after));
    return cat(parts, dim);
  };
  return pad_dim(pad_dim(x, 3, left, right), 2, top, bottom);
}

std::string Conv2d::describe() const {
  auto pair = [](Pair p) { return p.h == p.w ? std::to_string(p.h) : fmt::format("({}, {})", p.h, p.w); };
  std::string s = fmt::format("Conv2d({}, {}, {}x{}, stride={}", weight.size(1) * options_.groups, weight.size(0),
                              weight.size(2), weight.size(3), pair(options_.stride));
  if (options_.padding.h || options_.padding.w) s += ", padding=" + pair(options_.padding);
  if (options_.dilation.h != 1 || options_.dilation.w != 1) s += ", dilation=" + pair(options_.dilation);
  if (options_.groups != 1) s += fmt::format(", groups={}", options_.groups);
  if (same_padding_) s += ", padding=same";
  return s + (bias.defined() ? ")" : ", bias=False)");
}

double Conv2d::flops(const Shape& in, const Shape& out) const {
  (void)in;
  const double outputs = static_cast<double>(out.numel());  // N*K*P*Q
  // weight.size(1) is C/groups: the inputs one filter reads
  const double per_output = 2.0 * static_cast<double>(weight.size(1) * weight.size(2) * weight.size(3));
  return outputs * per_output + (bias.defined() ? outputs : 0.0);
}

}  // namespace nn
