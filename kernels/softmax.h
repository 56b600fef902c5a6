// softmax and log_softmax along one dimension; x contiguous, viewed as [outer, D, inner].
//
// Forward (m = max_j x_j, subtracted for stability; the result is unchanged):
//   softmax      y_i = exp(x_i - m) / sum_j exp(x_j - m)
//   log_softmax  y_i = x_i - m - log(sum_j exp(x_j - m))
// Backward:
//   softmax      dx_i = y_i * (dy_i - sum_j dy_j * y_j)
//   log_softmax  dx_i = dy_i - exp(y_i) * sum_j dy_j
// Cost: ~D exps and 4-5 FLOP per element; 2-3 passes over each row.
#pragma once

#include <cstdint>

namespace nn {

enum class SoftmaxKind { softmax, log_softmax };

template <class T>
void softmax_forward_cpu(SoftmaxKind kind, T* y, const T* x, int64_t outer, int64_t D, int64_t inner);
template <class T>
void softmax_backward_cpu(SoftmaxKind kind, T* dx, const T* dy, const T* y, int64_t outer, int64_t D, int64_t inner);

void softmax_forward_cuda(SoftmaxKind kind, float* y, const float* x, int64_t outer, int64_t D, int64_t inner);
void softmax_backward_cuda(SoftmaxKind kind, float* dx, const float* dy, const float* y, int64_t outer, int64_t D,
                           int64_t inner);

// The kernel tables tensor/dispatch.h runs (kernels/README.md): one entry point, one kernel per backend.
struct SoftmaxForwardKernels {
  template <class T> static constexpr auto cpu = softmax_forward_cpu<T>;
  static constexpr auto cuda = softmax_forward_cuda;
};
struct SoftmaxBackwardKernels {
  template <class T> static constexpr auto cpu = softmax_backward_cpu<T>;
  static constexpr auto cuda = softmax_backward_cuda;
};

}  // namespace nn
