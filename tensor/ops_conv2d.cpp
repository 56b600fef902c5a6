// conv2d: argument checks, dispatch and the backward node. Kernels: kernels/conv2d.h.
// Backward computes only what is needed: no data gradient for the network input or a frozen
// prefix, no weight gradient for frozen filters.
#include <cmath>
#include <vector>

#include "kernels/conv2d.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

Conv2dParams conv2d_params(const Tensor& x, const Tensor& w, const Conv2dOptions& o) {
  NN_CHECK(x.ndim() == 4, "conv2d: input must be [N, C, H, W], got {}", x.describe());
  NN_CHECK(w.ndim() == 4, "conv2d: weight must be [K, C/groups, R, S], got {}", w.describe());
  NN_CHECK(o.groups >= 1, "conv2d: groups={} must be positive", o.groups);
  NN_CHECK(x.size(1) % o.groups == 0 && w.size(0) % o.groups == 0,
           "conv2d: groups={} must divide the input channels ({}, input {}) and the filters ({}, weight {})", o.groups,
           x.size(1), x.describe(), w.size(0), w.describe());
  NN_CHECK(x.size(1) == w.size(1) * o.groups,
           "conv2d: input has {} channels but weight {} with groups={} expects {} (input {})", x.size(1), w.describe(),
           o.groups, w.size(1) * o.groups, x.describe());
  NN_CHECK(o.stride.h > 0 && o.stride.w > 0, "conv2d: stride ({}, {}) must be positive", o.stride.h, o.stride.w);
  NN_CHECK(o.dilation.h > 0 && o.dilation.w > 0, "conv2d: dilation ({}, {}) must be positive", o.dilation.h,
           o.dilation.w);
  NN_CHECK(o.padding.h >= 0 && o.padding.w >= 0, "conv2d: padding ({}, {}) must be non-negative", o.padding.h,
           o.padding.w);
  Conv2dParams p;
  p.N = x.size(0), p.C = x.size(1), p.H = x.size(2), p.W = x.size(3);
  p.K = w.size(0), p.R = w.size(2), p.S = w.size(3);
  p.stride_h = o.stride.h, p.stride_w = o.stride.w;
  p.pad_h = o.padding.h, p.pad_w = o.padding.w;
  p.dil_h = o.dilation.h, p.dil_w = o.dilation.w;
  p.G = o.groups;
  const int64_t span_h = p.dil_h * (p.R - 1) + 1, span_w = p.dil_w * (p.S - 1) + 1;
  NN_CHECK(p.H + 2 * p.pad_h >= span_h && p.W + 2 * p.pad_w >= span_w,
           "conv2d: padded input {}x{} is smaller than the {}x{} kernel (dilated {}x{}); input {}, weight {}",
           p.H + 2 * p.pad_h, p.W + 2 * p.pad_w, p.R, p.S, span_h, span_w, x.shape(), w.shape());
  return conv2d_with_output_size(p);
}

struct Conv2dBackward final : Node {
  Conv2dParams p;
  SavedTensor x, weight;  // x for the weight gradient, weight for the input gradient
  const char* name() const override { return "Conv2dBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override {
    const Tensor dy = grad.contiguous();
    Tensor dx, dw, db;
    if (needs_input_grad(0)) {
      const Tensor w = weight.get(*this);
      dx = empty({p.N, p.C, p.H, p.W}, dy.dtype(), dy.device());
      dispatch<Conv2dBackwardDataKernels>("conv2d_backward_data", dy, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(dx.data<T>(), dy.data<T>(), w.data<T>(), p);
      });
    }
    if (needs_input_grad(1) || needs_input_grad(2)) {
      const Tensor xs = needs_input_grad(1) ? x.get(*this) : Tensor();
      if (needs_input_grad(1)) dw = empty({p.K, p.C / p.G, p.R, p.S}, dy.dtype(), dy.device());
      if (needs_input_grad(2)) db = empty({p.K}, dy.dtype(), dy.device());
      dispatch<Conv2dBackwardWeightKernels>("conv2d_backward_weight", dy, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(data_or_null<T>(dw), data_or_null<T>(db), dy.data<T>(), data_or_null<T>(xs), p);
      });
    }
    return {dx, dw, db};
  }
  void release() override {
    x.reset();
    weight.reset();
  }
};

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight_in, const Tensor& bias_in, const Conv2dOptions& options) {
  check_floating(input, "conv2d");
  check_floating(weight_in, "conv2d");
  check_same_device(input, weight_in, "conv2d");
  check_same_dtype(input, weight_in, "conv2d");
  const Conv2dParams p = conv2d_params(input, weight_in, options);
  if (bias_in.defined()) {
    check_same_device(input, bias_in, "conv2d");
    check_same_dtype(input, bias_in, "conv2d");
    NN_CHECK(bias_in.ndim() == 1 && bias_in.size(0) == p.K, "conv2d: bias {} does not match weight {}",
             bias_in.describe(), weight_in.describe());
  }
  const Tensor x = input.contiguous(), w = weight_in.contiguous();
  const Tensor b = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y = empty({p.N, p.K, p.P, p.Q}, x.dtype(), x.device());
  dispatch<Conv2dForwardKernels>("conv2d", x, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(y.data<T>(), x.data<T>(), w.data<T>(), data_or_null<T>(b), p);
  });
  if (auto node = new_node<Conv2dBackward>({&input, &weight_in, &bias_in})) {
    node->p = p;
    if (node->needs_input_grad(1)) node->x = SavedTensor(x);
    if (node->needs_input_grad(0)) node->weight = SavedTensor(w);
    attach(y, node);
  }
  return y;
}

ChannelAffine fold_batch_norm(const BatchNormEval* bn, const Tensor& conv_bias, int64_t channels) {
  auto column = [&](const Tensor& t, double fill) {
    return t.defined() ? t.to_vector<double>() : std::vector<double>(static_cast<size_t>(channels), fill);
  };
  const Tensor none;
  const std::vector<double> mean = column(bn ? bn->running_mean : none, 0), var = column(bn ? bn->running_var : none, 1),
                            g = column(bn ? bn->gamma : none, 1), b = column(bn ? bn->beta : none, 0),
                            cb = column(conv_bias, 0);
  ChannelAffine out{std::vector<double>(static_cast<size_t>(channels)), std::vector<double>(static_cast<size_t>(channels))};
  for (size_t k = 0; k < out.scale.size(); ++k) {
    const double a = bn ? g[k] / std::sqrt(var[k] + bn->eps) : 1.0;
    out.scale[k] = a;
    out.shift[k] = b[k] + (cb[k] - mean[k]) * a;  // (conv + bias - mean) * scale + beta
  }
  return out;
}

Tensor conv2d_fused_eval(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
                         const BatchNormEval* bn, bool relu, bool silu) {
  const Tensor none;
  const Tensor& gamma = bn ? bn->gamma : none;
  const Tensor& beta = bn ? bn->beta : none;
  NN_CHECK(x.device().is_cpu(), "conv2d_fused_eval: input {} is on {}; the fused op is CPU only (FusedConv2d, "
           "layers/fused.h, runs the separate ops elsewhere)", x.describe(), x.device().str());
  NN_CHECK(!needs_grad({&x, &weight, &bias, &gamma, &beta}),
           "conv2d_fused_eval: input {} or weight {} needs a gradient, which the fused op does not record; run "
           "conv2d, batch_norm and relu (as FusedConv2d, layers/fused.h, does)", x.describe(), weight.describe());
  check_floating(x, "conv2d_fused_eval");
  check_same_dtype(x, weight, "conv2d_fused_eval");
  const Conv2dParams p = conv2d_params(x, weight, options);
  const Tensor running_mean = bn ? bn->running_mean : Tensor(), running_var = bn ? bn->running_var : Tensor();
  for (const Tensor* t : {&bias, &running_mean, &running_var, &gamma, &beta}) {
    if (!t->defined()) continue;
    check_same_device(x, *t, "conv2d_fused_eval");
    check_same_dtype(x, *t, "conv2d_fused_eval");
    NN_CHECK(t->ndim() == 1 && t->size(0) == p.K, "conv2d_fused_eval: {} does not match the {} output channels of {}",
             t->describe(), p.K, weight.describe());
  }
  NN_CHECK(!bn || (running_mean.defined() && running_var.defined()),
           "conv2d_fused_eval: the batch norm needs running_mean and running_var");
  NN_CHECK(!bn || bn->eps > 0, "conv2d_fused_eval: eps must be positive, got {}", bn ? bn->eps : 0.0);
  const Tensor xc = x.contiguous(), w = weight.contiguous();
  Tensor y = empty({p.N, p.K, p.P, p.Q}, x.dtype(), x.device());
  const ChannelAffine affine = fold_batch_norm(bn, bias, p.K);  // in double, rounded once below
  dispatch<Conv2dForwardEpilogueKernels>("conv2d_fused_eval", xc, [&](auto kernel, auto t) {
    using T = decltype(t);
    std::vector<T> scale(static_cast<size_t>(p.K)), shift(static_cast<size_t>(p.K));
    for (size_t k = 0; k < scale.size(); ++k) {
      scale[k] = static_cast<T>(affine.scale[k]);
      shift[k] = static_cast<T>(affine.shift[k]);
    }
    const ConvEpilogue<T> epilogue{scale.data(), shift.data(), relu, silu && !relu};
    kernel(y.data<T>(), xc.data<T>(), w.data<T>(), epilogue, p);
  });
  return y;
}

}  // namespace nn
