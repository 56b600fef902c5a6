// The negative log-likelihood part of cross-entropy, with class weights, label smoothing and an ignored
// label, exactly as torch.nn.functional.cross_entropy(reduction='mean') defines it on log-probabilities.
//
// For rows i whose target t_i != ignore_index, with w = weight (1 when absent), eps = label smoothing:
//   loss  = sum_i [ (1 - eps) * w[t_i] * (-logp[i, t_i])  +  eps/C * sum_c w[c] * (-logp[i, c]) ] / denom
//   denom = sum_i w[t_i]                                     (both terms share it, as in PyTorch 1.13)
// Backward (g = dloss):
//   dlogp[i, c] = -g / denom * ( (1 - eps) * w[t_i] * [c == t_i]  +  eps/C * w[c] ),  0 for ignored rows.
// Every target must be in [0, C) or equal ignore_index. On the CPU the op checks before the kernel; the CUDA
// forward kernel checks on the device and nll_loss_forward_cuda reports the first bad row through
// nll_loss_bad_target. All rows ignored: NaN.
#pragma once

#include <cstdint>

namespace nn {

struct NllParams {
  int64_t N = 0, C = 0;
  double label_smoothing = 0;
  int64_t ignore_index = -100;
};

// loss: one value; denom: one value, saved for backward.
template <class T>
void nll_loss_forward_cpu(T* loss, T* denom, const T* logp, const int64_t* target, const T* weight, const NllParams& p);
template <class T>
void nll_loss_backward_cpu(T* dlogp, const T* dloss, const T* denom, const int64_t* target, const T* weight,
                           const NllParams& p);

// Throws the error for target[row] = label, which is neither a class index nor ignore_index
// (tensor/ops_cross_entropy.cpp: the same message on both devices).
[[noreturn]] void nll_loss_bad_target(int64_t row, int64_t label, const NllParams& p);

void nll_loss_forward_cuda(float* loss, float* denom, const float* logp, const int64_t* target, const float* weight,
                           const NllParams& p);
void nll_loss_backward_cuda(float* dlogp, const float* dloss, const float* denom, const int64_t* target,
                            const float* weight, const NllParams& p);

// The kernel tables tensor/dispatch.h runs (kernels/README.md): one entry point, one kernel per backend.
struct NllLossForwardKernels {
  template <class T> static constexpr auto cpu = nll_loss_forward_cpu<T>;
  static constexpr auto cuda = nll_loss_forward_cuda;
};
struct NllLossBackwardKernels {
  template <class T> static constexpr auto cpu = nll_loss_backward_cpu<T>;
  static constexpr auto cuda = nll_loss_backward_cuda;
};

}  // namespace nn
