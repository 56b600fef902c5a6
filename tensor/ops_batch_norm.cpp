// batch_norm: checks, running-statistics update and the backward node. Kernels: kernels/batch_norm.h.
#include "kernels/batch_norm.h"
#include "kernels/cuda/vendor.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

// The CUDA kernels of this run: handwritten or cuDNN (kernels/cuda/vendor.h). cuDNN has no eval-mode
// backward, so that one is always handwritten.
bool vendor() { return cuda::kernel_source() == cuda::KernelSource::vendor; }

template <class T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

struct BatchNormBackward final : Node {
  BatchNormParams p;
  bool training = true;
  SavedTensor x;      // training: always; eval: only for the weight gradient
  SavedTensor gamma;  // for the input gradient
  SavedTensor invstd;                 // training: 1/sqrt(batch variance + eps)
  SavedTensor running_mean, running_var;  // eval: the statistics used
  const char* name() const override { return "BatchNormBackward"; }

  std::vector<Tensor> apply(const Tensor& grad) override {
    const Tensor dy = grad.contiguous(), xs = x.defined() ? x.get(*this) : Tensor();
    const Tensor g = gamma.defined() ? gamma.get(*this) : Tensor();
    Tensor dx = needs_input_grad(0) ? empty_like(dy) : Tensor();
    Tensor dgamma = needs_input_grad(1) ? empty({p.C}, dy.dtype(), dy.device()) : Tensor();
    Tensor dbeta = needs_input_grad(2) ? empty({p.C}, dy.dtype(), dy.device()) : Tensor();
    const Tensor s0 = training ? invstd.get(*this) : running_mean.get(*this);
    const Tensor s1 = training ? Tensor() : running_var.get(*this);
    dispatch(name(), dy,
             [&](auto t) {
               using T = decltype(t);
               if (training) {
                 batch_norm_backward_train_cpu<T>(ptr_or_null<T>(dx), ptr_or_null<T>(dgamma), ptr_or_null<T>(dbeta),
                                                  dy.data<T>(), ptr_or_null<T>(xs), s0.data<T>(), ptr_or_null<T>(g), p);
               } else {
                 batch_norm_backward_eval_cpu<T>(ptr_or_null<T>(dx), ptr_or_null<T>(dgamma), ptr_or_null<T>(dbeta),
                                                 dy.data<T>(), ptr_or_null<T>(xs), s0.data<T>(), s1.data<T>(),
                                                 ptr_or_null<T>(g), p);
               }
             },
             [&] {
               using T = float;
               if (training) {
                 const auto kernel = vendor() ? batch_norm_backward_train_vendor : batch_norm_backward_train_cuda;
                 kernel(ptr_or_null<T>(dx), ptr_or_null<T>(dgamma), ptr_or_null<T>(dbeta), dy.data<T>(),
                        ptr_or_null<T>(xs), s0.data<T>(), ptr_or_null<T>(g), p);
               } else {
                 batch_norm_backward_eval_cuda(ptr_or_null<T>(dx), ptr_or_null<T>(dgamma), ptr_or_null<T>(dbeta),
                                               dy.data<T>(), ptr_or_null<T>(xs), s0.data<T>(), s1.data<T>(),
                                               ptr_or_null<T>(g), p);
               }
             });
    return {dx, dgamma, dbeta};
  }
  void release() override {
    x.reset();
    gamma.reset();
    invstd.reset();
    running_mean.reset();
    running_var.reset();
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

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, const BatchNormOptions& o) {
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
  dispatch("batch_norm", x,
           [&](auto t) {
             using T = decltype(t);
             if (o.training) {
               batch_norm_forward_train_cpu<T>(y.data<T>(), mean.data<T>(), invstd.data<T>(), var.data<T>(),
                                               x.data<T>(), ptr_or_null<T>(weight), ptr_or_null<T>(bias), p);
             } else {
               batch_norm_forward_eval_cpu<T>(y.data<T>(), x.data<T>(), running_mean.data<T>(),
                                              running_var.data<T>(), ptr_or_null<T>(weight), ptr_or_null<T>(bias), p);
             }
           },
           [&] {
             using T = float;
             if (o.training) {
               const auto kernel = vendor() ? batch_norm_forward_train_vendor : batch_norm_forward_train_cuda;
               kernel(y.data<T>(), mean.data<T>(), invstd.data<T>(), var.data<T>(), x.data<T>(),
                      ptr_or_null<T>(weight), ptr_or_null<T>(bias), p);
             } else {
               const auto kernel = vendor() ? batch_norm_forward_eval_vendor : batch_norm_forward_eval_cuda;
               kernel(y.data<T>(), x.data<T>(), running_mean.data<T>(), running_var.data<T>(), ptr_or_null<T>(weight),
                      ptr_or_null<T>(bias), p);
             }
           });

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
    } else {
      node->running_mean = SavedTensor(running_mean);
      node->running_var = SavedTensor(running_var);
    }
    attach(y, node);
  }
  return y;
}

}  // namespace nn
