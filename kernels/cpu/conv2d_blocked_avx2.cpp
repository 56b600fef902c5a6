// The blocked direct convolution's AVX2 + FMA kernel (compiled with -mavx2 -mfma; conv2d_blocked.cpp calls
// it only when CPUID reports both), on nChw8c: a pixel's block of 8 channels is one ymm register. The loop is
// conv2d_blocked_kernel.h's; here a tile is 6 output pixels x 16 output channels (two blocks) in 12 ymm
// registers, the rest holding two weight vectors and a broadcast input:
//
//   per input channel: load the weights of 2 x 8 filters (2 vectors), broadcast 6 input pixels, 12 FMAs
//
// 12 independent accumulators cover a Zen 3 core's 2 FMA pipes x 4-cycle latency with slack.
#include <immintrin.h>

#include "kernels/cpu/conv2d_blocked_kernel.h"

namespace nn::blocked {

namespace {

// The vector operations conv2d_blocked_kernel.h asks for, on ymm registers.
struct Avx2 {
  using Reg = __m256;
  static constexpr int64_t kBlock = 8;
  static constexpr int kPixels = 6;
  NN_UNINSTRUMENTED_KERNEL static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  NN_UNINSTRUMENTED_KERNEL static Reg zero() { return _mm256_setzero_ps(); }
  NN_UNINSTRUMENTED_KERNEL static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  NN_UNINSTRUMENTED_KERNEL static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  NN_UNINSTRUMENTED_KERNEL static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
};

}  // namespace

NN_UNINSTRUMENTED_KERNEL void forward_row_avx2(float* yn, const float* xn, const float* wb, const float* bias,
                                               const Conv2dParams& p, int64_t kb0, int64_t kbs, int64_t pp) {
  forward_row<Avx2>(yn, xn, wb, bias, p, kb0, kbs, pp);
}

}  // namespace nn::blocked
