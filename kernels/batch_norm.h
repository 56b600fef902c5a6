// Batch normalisation over [N, C, *] (HW = product of the trailing dimensions; 1 for [N, C]).
//
// Per channel c, over the M = N*HW values x[n, c, i]:
//   training: mean = sum x / M,  var = sum (x - mean)^2 / M (biased),  invstd = 1 / sqrt(var + eps)
//             y = (x - mean) * invstd * gamma + beta
//             the running variance is updated (in tensor/ops_batch_norm.cpp) with the unbiased var * M/(M-1)
//   eval:     y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta
// Backward, with xhat = (x - mean) * invstd:
//   dbeta = sum dy,  dgamma = sum dy * xhat
//   training: dx = gamma * invstd * (dy - dbeta/M - xhat * dgamma/M)   (statistics depend on x)
//   eval:     dx = gamma * invstd * dy                                   (statistics are constants)
// gamma/beta may be null (affine=False): treated as 1 and 0, and dgamma/dbeta may be null when unwanted.
// Precision: the CPU kernels accumulate in double and evaluate each element's expression in double,
// rounding once. The training-mode dx cancels heavily (it sums to exactly 0 over each channel); evaluated
// in float32 with a large mean(dy) or |mean| >> std it left per-channel offsets (channel sums of dx around
// 1e-3 where rounding alone gives 4e-6, and 5e-5 relative error for mean 100, std 0.5).
// Cost: forward ~ 7 FLOP and 2-3 passes over x per element; backward ~ 9 FLOP, 2 passes.
#pragma once

#include <cstdint>

namespace nn {

struct BatchNormParams {
  int64_t N = 0, C = 0, HW = 1;
  double eps = 1e-5;
};

// Which compiled copy the CPU entry points run (kernels/cpu/batch_norm_impl.h): the widest this CPU has, or,
// for tests and benchmarks, `isa` (portable, avx2, avx512; it must run here) until unforced, as the GEMM's
// force_isa / unforce_isa. The copies' results are identical; only their speed differs.
enum class CpuIsa;  // kernels/cpu/isa.h
void force_batch_norm_isa(CpuIsa isa);
void unforce_batch_norm_isa();

template <class T>
void batch_norm_forward_train_cpu(T* y, T* mean, T* invstd, T* var, const T* x, const T* gamma, const T* beta,
                                  const BatchNormParams& p);
template <class T>
void batch_norm_forward_eval_cpu(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma,
                                 const T* beta, const BatchNormParams& p);
template <class T>  // recomputes the mean from x in double (see the .cpp); invstd is the forward's
void batch_norm_backward_train_cpu(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* invstd,
                                   const T* gamma, const BatchNormParams& p);
template <class T>
void batch_norm_backward_eval_cpu(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* running_mean,
                                  const T* running_var, const T* gamma, const BatchNormParams& p);

// Batch norm + ReLU in training, CPU only (tensor/ops.h, batch_norm_relu): the forward writes
// max(bn(x), 0) (NaN stays NaN) in the pass that writes bn(x); the backward takes that output `out` and
// runs the batch-norm backward on 0 where out <= 0 and dy elsewhere (ReLU's gradient, as relu() and
// PyTorch's threshold_backward compute it from the result). Neither the pre-ReLU activation nor ReLU's
// gradient is ever materialised: one pass over an activation less each way than batch_norm then relu.
template <class T>
void batch_norm_relu_forward_train_cpu(T* y, T* mean, T* invstd, T* var, const T* x, const T* gamma, const T* beta,
                                       const BatchNormParams& p);
template <class T>
void batch_norm_relu_backward_train_cpu(T* dx, T* dgamma, T* dbeta, const T* dy, const T* out, const T* x,
                                        const T* invstd, const T* gamma, const BatchNormParams& p);

void batch_norm_forward_train_cuda(float* y, float* mean, float* invstd, float* var, const float* x,
                                   const float* gamma, const float* beta, const BatchNormParams& p);
void batch_norm_forward_eval_cuda(float* y, const float* x, const float* running_mean, const float* running_var,
                                  const float* gamma, const float* beta, const BatchNormParams& p);
void batch_norm_backward_train_cuda(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                    const float* invstd, const float* gamma, const BatchNormParams& p);
void batch_norm_backward_eval_cuda(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                   const float* running_mean, const float* running_var, const float* gamma,
                                   const BatchNormParams& p);

// cuDNN (kernels/cuda/vendor.h): the same signatures and semantics as the _cuda entry points. cuDNN has
// no eval-mode backward (statistics held constant): that one stays handwritten under the vendor source.
void batch_norm_forward_train_vendor(float* y, float* mean, float* invstd, float* var, const float* x,
                                     const float* gamma, const float* beta, const BatchNormParams& p);
void batch_norm_forward_eval_vendor(float* y, const float* x, const float* running_mean, const float* running_var,
                                    const float* gamma, const float* beta, const BatchNormParams& p);
// Training-mode backward; invstd is accepted for symmetry, cuDNN recomputes the statistics from x.
void batch_norm_backward_train_vendor(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                      const float* invstd, const float* gamma, const BatchNormParams& p);

// The kernel tables tensor/dispatch.h runs (kernels/README.md): one entry point, one kernel per backend.
struct BatchNormForwardTrainKernels {
  template <class T> static constexpr auto cpu = batch_norm_forward_train_cpu<T>;
  static constexpr auto cuda = batch_norm_forward_train_cuda;
  static constexpr auto vendor = batch_norm_forward_train_vendor;
};
struct BatchNormForwardEvalKernels {
  template <class T> static constexpr auto cpu = batch_norm_forward_eval_cpu<T>;
  static constexpr auto cuda = batch_norm_forward_eval_cuda;
  static constexpr auto vendor = batch_norm_forward_eval_vendor;
};
struct BatchNormBackwardTrainKernels {
  template <class T> static constexpr auto cpu = batch_norm_backward_train_cpu<T>;
  static constexpr auto cuda = batch_norm_backward_train_cuda;
  static constexpr auto vendor = batch_norm_backward_train_vendor;
};
struct BatchNormBackwardEvalKernels {  // no cuDNN operation
  template <class T> static constexpr auto cpu = batch_norm_backward_eval_cpu<T>;
  static constexpr auto cuda = batch_norm_backward_eval_cuda;
};
struct BatchNormReluForwardTrainKernels {  // CPU only: batch_norm_relu runs batch_norm, relu elsewhere
  template <class T> static constexpr auto cpu = batch_norm_relu_forward_train_cpu<T>;
};
struct BatchNormReluBackwardTrainKernels {
  template <class T> static constexpr auto cpu = batch_norm_relu_backward_train_cpu<T>;
};

}  // namespace nn
