// CUDA dropout (the contract: kernels/dropout.h; the CPU loop: kernels/cpu/dropout.cpp).
//
// Element i keeps x[i] when word i%4 of Philox4x32(offset + i/4, seed) gives a uniform float below 1-p.
// The kernel calls the CPU's own philox4x32 and uniform_float (NN_HOST_DEVICE in base/random.h: integer
// arithmetic, the same on every device) and gets keep and scale from the host, computed as the CPU
// computes them, so mask and y equal the CPU's bit for bit on every device and thread order.
#include "base/random.h"
#include "kernels/cuda/compat.h"
#include "kernels/dropout.h"

namespace nn {

namespace {

constexpr unsigned kThreads = 256;

// One thread per Philox counter (grid-stride over the (n + 3) / 4 groups of four elements): one Philox
// call (10 rounds of two 32x32->64-bit multiplies) gives the four uniform words for elements 4g..4g+3,
// so no random word is computed twice. Each of the 4 element steps has a warp touch 32 floats 16 bytes
// apart; together they cover 512 contiguous bytes, which the L2 cache merges into full-line transactions.
// No shared memory. Memory-bound: reads 4 bytes, writes 8 bytes (mask, y) per element.
__global__ void dropout_forward_philox(float* y, float* mask, const float* x, int64_t n, float keep, float scale,
                                       uint64_t seed, uint64_t offset) {
  const int64_t groups = ceil_div<int64_t>(n, 4);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t g = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups; g += stride) {
    const PhiloxWords r = philox4x32(offset + static_cast<uint64_t>(g), seed);
    for (int j = 0; j < 4 && 4 * g + j < n; ++j) {
      const int64_t i = 4 * g + j;
      const float m = uniform_float(r[j]) < keep ? scale : 0.0f;
      mask[i] = m;
      y[i] = x[i] * m;
    }
  }
}

}  // namespace

void dropout_forward_cuda(float* y, float* mask, const float* x, int64_t n, double p, uint64_t seed,
                          uint64_t offset) {
  if (n == 0) return;
  const float keep = static_cast<float>(1.0 - p);          // as dropout_forward_cpu<float>
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  NN_CUDA_LAUNCH(dropout_forward_philox, dim3(cuda::blocks_for(ceil_div<int64_t>(n, 4), kThreads)), dim3(kThreads), 0, y, mask,
                 x, n, keep, scale, seed, offset);
}

}  // namespace nn
