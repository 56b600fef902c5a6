// The blocked direct convolution's AVX-512 kernel (compiled with -mavx512f; conv2d_blocked.cpp calls it only
// when CPUID reports AVX-512F), on nChw16c: a pixel's block of 16 channels is one zmm register. The loop is
// conv2d_blocked_kernel.h's, with twice the AVX2 kernel's lanes and registers: a tile is 12 output pixels x
// 32 output channels (two blocks) in 24 of the 32 zmm registers, the rest holding two weight vectors and a
// broadcast input:
//
//   per input channel: load the weights of 2 x 16 filters (2 vectors), broadcast 12 input pixels, 24 FMAs
//
// 24 independent accumulators keep both FMA pipes of a Zen 4/5 or Skylake-X core busy (4-cycle latency, 2
// per cycle: 8 needed).
#include <immintrin.h>

#include "kernels/cpu/conv2d_blocked_kernel.h"

namespace nn::blocked {

namespace {

// The vector operations conv2d_blocked_kernel.h asks for, on zmm registers.
struct Avx512 {
  using Reg = __m512;
  static constexpr int64_t kBlock = 16;
  static constexpr int kPixels = 12;
  NN_UNINSTRUMENTED_KERNEL static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  NN_UNINSTRUMENTED_KERNEL static Reg zero() { return _mm512_setzero_ps(); }
  NN_UNINSTRUMENTED_KERNEL static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  NN_UNINSTRUMENTED_KERNEL static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  NN_UNINSTRUMENTED_KERNEL static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
};

}  // namespace

NN_UNINSTRUMENTED_KERNEL void forward_row_avx512(float* yn, const float* xn, const float* wb, const float* bias,
                                                 const Conv2dParams& p, int64_t kb0, int64_t kbs, int64_t pp) {
  forward_row<Avx512>(yn, xn, wb, bias, p, kb0, kbs, pp);
}

}  // namespace nn::blocked
