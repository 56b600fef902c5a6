// Reduction kernels: sum (and mean, by scaling) over any set of dimensions, and max along one.
//
// sum: out[o] = scale * sum over the reduced index r of x[o, r]. The geometry splits x's dimensions
//   into kept ones (`outer`, a Loop with operands out, x) and reduced ones (`inner`, a Loop with operand
//   x), so any strides work. Accumulates in double for both float and double inputs.
//   Cost: 1 FLOP and sizeof(T) bytes per input element.
// max_dim: x contiguous, viewed as [outer, D, inner]; values/indices are [outer, inner]. NaN wins, as in
//   PyTorch; among equal maxima the first index wins. backward: dx = 0 except dx[argmax] = dy.
#pragma once

#include <cstdint>

#include "kernels/loop.h"

namespace nn {

struct ReduceGeometry {
  Loop outer;  // over kept dimensions; operands: out, x
  Loop inner;  // over reduced dimensions; operand: x
};

template <class T> void sum_cpu(T* out, const T* x, const ReduceGeometry& g, double scale);
template <class T>
void max_dim_cpu(T* values, int64_t* indices, const T* x, int64_t outer, int64_t D, int64_t inner);
template <class T>
void max_dim_backward_cpu(T* dx, const T* dy, const int64_t* indices, int64_t outer, int64_t D, int64_t inner);

void sum_cuda(float* out, const float* x, const ReduceGeometry& g, double scale);
void max_dim_cuda(float* values, int64_t* indices, const float* x, int64_t outer, int64_t D, int64_t inner);
void max_dim_backward_cuda(float* dx, const float* dy, const int64_t* indices, int64_t outer, int64_t D,
                           int64_t inner);

// The kernel tables tensor/dispatch.h runs (kernels/README.md): one entry point, one kernel per backend.
struct SumKernels {
  template <class T> static constexpr auto cpu = sum_cpu<T>;
  static constexpr auto cuda = sum_cuda;
};
struct MaxDimKernels {
  template <class T> static constexpr auto cpu = max_dim_cpu<T>;
  static constexpr auto cuda = max_dim_cuda;
};
struct MaxDimBackwardKernels {
  template <class T> static constexpr auto cpu = max_dim_backward_cpu<T>;
  static constexpr auto cuda = max_dim_backward_cuda;
};

}  // namespace nn
