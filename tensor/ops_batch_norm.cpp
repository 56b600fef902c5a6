// batch_norm: checks, running-statistics update and the backward node. Kernels: kernels/batch_norm.h.
#include "kernels/batch_norm.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

struct BatchNormBackward final : Node {
  BatchNormParams p;
  bool training = true;
  SavedTensor x;      // training: always; eval: only for the weight gradient
  SavedTensor gamma;  // for the input gradient
  SavedTensor invstd;                 // training: 1/sqrt(batch variance + eps)
  SavedTensor running_mean, running_var;  // eval: the statistics used
  bool relu = false;  // batch_norm_relu (training, CPU): out is the output, ReLU's gradient mask
  SavedTensor out;
  const char* name() const override { return relu ? "BatchNormReluBackward" : "BatchNormBackward"; }

  std::vector<Tensor> apply(const Tensor& grad) override {
    const Tensor dy = grad.contiguous(), xs = x.defined() ? x.get(*this) : Tensor();
    const Tensor g = gamma.defined() ? gamma.get(*this) : Tensor();
    Tensor dx = needs_input_grad(0) ? empty_like(dy) : Tensor();
    Tensor dgamma = needs_input_grad(1) ? empty({p.C}, dy.dtype(), dy.device()) : Tensor();
    Tensor dbeta = needs_input_grad(2) ? empty({p.C}, dy.dtype(), dy.device()) : Tensor();
    const Tensor s0 = training ? invstd.get(*this) : running_mean.get(*this);
    const Tensor s1 = training ? Tensor() : running_var.get(*this);
    if (relu) {
      const Tensor o = out.get(*this);
      dispatch<BatchNormReluBackwardTrainKernels>(name(), dy, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(data_or_null<T>(dx), data_or_null<T>(dgamma), data_or_null<T>(dbeta), dy.data<T>(), o.data<T>(),
               xs.data<T>(), s0.data<T>(), data_or_null<T>(g), p);
      });
    } else if (training) {
      dispatch<BatchNormBackwardTrainKernels>(name(), dy, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(data_or_null<T>(dx), data_or_null<T>(dgamma), data_or_null<T>(dbeta), dy.data<T>(), data_or_null<T>(xs),
               s0.data<T>(), data_or_null<T>(g), p);
      });
    } else {  // cuDNN has no eval-mode backward: the table has no vendor kernel
      dispatch<BatchNormBackwardEvalKernels>(name(), dy, [&](auto kernel, auto t) {
        using T = decltype(t);
        kernel(data_or_null<T>(dx), data_or_null<T>(dgamma), data_or_null<T>(dbeta), dy.data<T>(), data_or_null<T>(xs),
               s0.data<T>(), s1.data<T>(), data_or_null<T>(g), p);
      });
    }
    return {dx, dgamma, dbeta};
  }
  void release() override {
    x.reset();
    gamma.reset();
    invstd.reset();
    running_mean.reset();
    running_var.reset();
    out.reset();
  }
};

void check_channel_vector(const Tensor& t, const Tensor& x, int64_t C, const char* what) {
  if (!t.defined()) return;
  check_same_device(x, t, "batch_norm");
  check_same_dtype(x, t, "batch_norm");
  NN_CHECK(t.ndim() == 1 && t.size(0) == C, "batch_norm: {} {} does not match the {} channels of input {}", what,
           t.describe(), C, x.describe());
}

}  // namespace

namespace {

// batch_norm, and with relu (training on the CPU only) batch_norm_relu's fused kernels.
Tensor batch_norm_impl(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, const BatchNormOptions& o, bool relu) {
  check_floating(input, "batch_norm");
  NN_CHECK(input.ndim() >= 2, "batch_norm: input must be [N, C, ...], got {}", input.describe());
  const int64_t C = input.size(1);
  check_channel_vector(running_mean, input, C, "running_mean");
  check_channel_vector(running_var, input, C, "running_var");
  check_channel_vector(weight, input, C, "weight");
  check_channel_vector(bias, input, C, "bias");
  NN_CHECK(running_mean.defined() == running_var.defined(),
           "batch_norm: give both running_mean and running_var, or neither");
  NN_CHECK(o.training || running_mean.defined(),
           "batch_norm: eval mode normalises with running statistics, but none were given");
  NN_CHECK(o.eps > 0, "batch_norm: eps must be positive, got {}", o.eps);

  BatchNormParams p;
  p.N = input.size(0);
  p.C = C;
  p.HW = input.numel() / std::max<int64_t>(1, p.N * C);
  p.eps = o.eps;
  NN_CHECK(!o.training || p.N * p.HW > 1,
           "batch_norm: training needs more than one value per channel, got input {}", input.describe());

  const Tensor x = input.contiguous();
  Tensor y = empty_like(x);
  Tensor mean, invstd, var;
  if (o.training) {
    mean = empty({C}, x.dtype(), x.device());
    invstd = empty({C}, x.dtype(), x.device());
    var = empty({C}, x.dtype(), x.device());
  }
  if (relu) {
    dispatch<BatchNormReluForwardTrainKernels>("batch_norm_relu", x, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(y.data<T>(), mean.data<T>(), invstd.data<T>(), var.data<T>(), x.data<T>(), data_or_null<T>(weight),
             data_or_null<T>(bias), p);
    });
  } else if (o.training) {
    dispatch<BatchNormForwardTrainKernels>("batch_norm", x, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(y.data<T>(), mean.data<T>(), invstd.data<T>(), var.data<T>(), x.data<T>(), data_or_null<T>(weight),
             data_or_null<T>(bias), p);
    });
  } else {
    dispatch<BatchNormForwardEvalKernels>("batch_norm", x, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(y.data<T>(), x.data<T>(), running_mean.data<T>(), running_var.data<T>(), data_or_null<T>(weight),
             data_or_null<T>(bias), p);
    });
  }

  if (o.training && running_mean.defined()) {
    NoGradGuard no_grad;
    const double M = static_cast<double>(p.N * p.HW);
    running_mean.mul_(1.0 - o.momentum).add_(mean, o.momentum);
    running_var.mul_(1.0 - o.momentum).add_(var, o.momentum * M / (M - 1.0));
  }

  if (auto node = new_node<BatchNormBackward>({&input, &weight, &bias})) {
    node->p = p;
    node->training = o.training;
    if (o.training || node->needs_input_grad(1)) node->x = SavedTensor(x);
    if (node->needs_input_grad(0) && weight.defined()) node->gamma = SavedTensor(weight);
    if (o.training) {
      node->invstd = SavedTensor(invstd);
      if (relu) {
        node->relu = true;
        node->out = SavedTensor(y);
      }
    } else {
      node->running_mean = SavedTensor(running_mean);
      node->running_var = SavedTensor(running_var);
    }
    attach(y, node);
  }
  return y;
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, const BatchNormOptions& o) {
  return batch_norm_impl(input, running_mean, running_var, weight, bias, o, false);
}

Tensor batch_norm_relu(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                       const Tensor& bias, const BatchNormOptions& o) {
  if (!o.training || !input.device().is_cpu()) return relu(batch_norm(input, running_mean, running_var, weight, bias, o));
  return batch_norm_impl(input, running_mean, running_var, weight, bias, o, true);
}

}  // namespace nn
