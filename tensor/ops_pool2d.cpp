// max_pool2d, avg_pool2d, adaptive_avg_pool2d: checks, dispatch and backward nodes.
// Kernels: kernels/pool2d.h, or cuDNN's (kernels/cuda/vendor.h).
#include "kernels/pool2d.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

enum class PoolKind { max, avg, adaptive_avg };

// The CUDA kernels that pool x: vendor where the run's source is vendor and cuDNN has the operation with
// skinnet's semantics (the tables in kernels/pool2d.h). cuDNN keeps no argmax: its backward takes x and
// y, so the node saves those instead, and the backward runs the forward's source.
KernelSource pool_source(PoolKind kind, const Tensor& x, const Pool2dParams& p) {
  switch (kind) {
    case PoolKind::max: return kernel_source_for<MaxPool2dForwardKernels>(x, p);
    case PoolKind::avg: return kernel_source_for<AvgPool2dForwardKernels>(x, p);
    case PoolKind::adaptive_avg: return kernel_source_for<AdaptiveAvgPool2dForwardKernels>(x, p);
  }
  NN_INTERNAL_CHECK(false);
}

Pool2dParams pool_params(const Tensor& x, Pair kernel, Pair stride, Pair pad, Pair dil, bool ceil_mode,
                         const char* op) {
  NN_CHECK(x.ndim() == 4, "{}: input must be [N, C, H, W], got {}", op, x.describe());
  NN_CHECK(kernel.h > 0 && kernel.w > 0, "{}: kernel_size ({}, {}) must be positive", op, kernel.h, kernel.w);
  NN_CHECK(stride.h > 0 && stride.w > 0, "{}: stride ({}, {}) must be positive", op, stride.h, stride.w);
  NN_CHECK(dil.h > 0 && dil.w > 0, "{}: dilation ({}, {}) must be positive", op, dil.h, dil.w);
  NN_CHECK(pad.h >= 0 && pad.w >= 0 && pad.h <= kernel.h / 2 && pad.w <= kernel.w / 2,
           "{}: padding ({}, {}) must be between 0 and half the kernel size ({}, {})", op, pad.h, pad.w, kernel.h,
           kernel.w);
  Pool2dParams p;
  p.N = x.size(0), p.C = x.size(1), p.H = x.size(2), p.W = x.size(3);
  p.R = kernel.h, p.S = kernel.w, p.stride_h = stride.h, p.stride_w = stride.w;
  p.pad_h = pad.h, p.pad_w = pad.w, p.dil_h = dil.h, p.dil_w = dil.w;
  p.P = pool_output_size(p.H, p.R, p.stride_h, p.pad_h, p.dil_h, ceil_mode);
  p.Q = pool_output_size(p.W, p.S, p.stride_w, p.pad_w, p.dil_w, ceil_mode);
  NN_CHECK(p.P >= 1 && p.Q >= 1, "{}: input {} is too small for kernel ({}, {}), stride ({}, {}), padding ({}, {}): "
           "the output would be {}x{}",
           op, x.describe(), p.R, p.S, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.P, p.Q);
  return p;
}

struct Pool2dBackward final : Node {
  PoolKind kind = PoolKind::max;
  Pool2dParams p;
  KernelSource source = KernelSource::handwritten;  // the forward's, on CUDA
  SavedTensor argmax;  // max only, handwritten kernels
  SavedTensor x, y;    // vendor kernels (cuDNN): input and output instead of indices
  const char* name() const override {
    return kind == PoolKind::max ? "MaxPool2dBackward"
                                 : kind == PoolKind::avg ? "AvgPool2dBackward" : "AdaptiveAvgPool2dBackward";
  }
  std::vector<Tensor> apply(const Tensor& grad) override {
    const Tensor dy = grad.contiguous();
    const Tensor idx = argmax.defined() ? argmax.get(*this) : Tensor();
    const Tensor xs = x.defined() ? x.get(*this) : Tensor(), ys = y.defined() ? y.get(*this) : Tensor();
    Tensor dx = empty({p.N, p.C, p.H, p.W}, dy.dtype(), dy.device());
    if (kind == PoolKind::max) {
      dispatch<MaxPool2dBackwardKernels>(name(), dy, source, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(dx.data<T>(), dy.data<T>(), data_or_null<int64_t>(idx), data_or_null<T>(xs), data_or_null<T>(ys), p);
      });
    } else if (kind == PoolKind::avg) {
      dispatch<AvgPool2dBackwardKernels>(name(), dy, source, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(dx.data<T>(), dy.data<T>(), data_or_null<T>(xs), data_or_null<T>(ys), p);
      });
    } else {
      dispatch<AdaptiveAvgPool2dBackwardKernels>(name(), dy, source, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(dx.data<T>(), dy.data<T>(), p);
      });
    }
    return {dx};
  }
  void release() override {
    argmax.reset();
    x.reset();
    y.reset();
  }
};

Tensor pool(PoolKind kind, const Tensor& input, const Pool2dParams& p) {
  const Tensor x = input.contiguous();
  const KernelSource source = pool_source(kind, x, p);
  const bool vendor = source == KernelSource::vendor;
  Tensor y = empty({p.N, p.C, p.P, p.Q}, x.dtype(), x.device());
  Tensor idx = kind == PoolKind::max && !vendor ? empty(y.shape(), DType::i64, x.device()) : Tensor();
  const auto plain = [&](auto kernel, auto t) {  // avg and adaptive avg: (y, x, p)
    using T = decltype(t);
    kernel(y.data<T>(), x.data<T>(), p);
  };
  if (kind == PoolKind::max) {
    dispatch<MaxPool2dForwardKernels>("pool2d", x, source, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(y.data<T>(), data_or_null<int64_t>(idx), x.data<T>(), p);
    });
  } else if (kind == PoolKind::avg) {
    dispatch<AvgPool2dForwardKernels>("pool2d", x, source, plain);
  } else {
    dispatch<AdaptiveAvgPool2dForwardKernels>("pool2d", x, source, plain);
  }
  if (auto node = new_node<Pool2dBackward>({&input})) {
    node->kind = kind;
    node->p = p;
    node->source = source;
    if (vendor) {
      node->x = SavedTensor(x);
      node->y = SavedTensor(y);
    } else if (kind == PoolKind::max) {
      node->argmax = SavedTensor(idx);
    }
    attach(y, node);
  }
  return y;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const MaxPool2dOptions& o) {
  check_floating(x, "max_pool2d");
  const Pool2dParams p = pool_params(x, o.kernel_size, o.stride.value_or(o.kernel_size), o.padding, o.dilation,
                                     o.ceil_mode, "max_pool2d");
  return pool(PoolKind::max, x, p);
}

Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& o) {
  check_floating(x, "avg_pool2d");
  Pool2dParams p = pool_params(x, o.kernel_size, o.stride.value_or(o.kernel_size), o.padding, Pair(1), o.ceil_mode,
                               "avg_pool2d");
  p.count_include_pad = o.count_include_pad;
  return pool(PoolKind::avg, x, p);
}

Tensor adaptive_avg_pool2d(const Tensor& x, Pair output_size) {
  check_floating(x, "adaptive_avg_pool2d");
  NN_CHECK(x.ndim() == 4, "adaptive_avg_pool2d: input must be [N, C, H, W], got {}", x.describe());
  NN_CHECK(output_size.h > 0 && output_size.w > 0, "adaptive_avg_pool2d: output size ({}, {}) must be positive",
           output_size.h, output_size.w);
  NN_CHECK(x.size(2) > 0 && x.size(3) > 0, "adaptive_avg_pool2d: input {} has an empty plane", x.describe());
  Pool2dParams p;
  p.N = x.size(0), p.C = x.size(1), p.H = x.size(2), p.W = x.size(3);
  p.P = output_size.h, p.Q = output_size.w;
  return pool(PoolKind::adaptive_avg, x, p);
}

}  // namespace nn
