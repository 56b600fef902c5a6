// Dropout: y = x * mask with mask_i = 1/(1-p) when u_i < 1-p, else 0.
//
// u_i is the uniform float of Philox4x32 (seed, offset + i/4), word i%4 (base/random.h): the mask
// depends only on the generator state, not on threads or device. The mask (already scaled) is kept for
// backward: dx = dy * mask. Cost: 1 FLOP per element, memory-bound.
#pragma once

#include <cstdint>

namespace nn {

template <class T>
void dropout_forward_cpu(T* y, T* mask, const T* x, int64_t n, double p, uint64_t seed, uint64_t offset);

void dropout_forward_cuda(float* y, float* mask, const float* x, int64_t n, double p, uint64_t seed, uint64_t offset);

// The kernel table tensor/dispatch.h runs (kernels/README.md): one kernel per backend.
struct DropoutForwardKernels {
  template <class T> static constexpr auto cpu = dropout_forward_cpu<T>;
  static constexpr auto cuda = dropout_forward_cuda;
};

}  // namespace nn
