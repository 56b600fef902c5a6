// The blocked direct convolution's AVX2 + FMA kernel (compiled with -mavx2 -mfma; conv2d_blocked.cpp calls
// it only when CPUID reports both). An output tile of QB pixels x KB blocks of 8 channels lives in
// QB * KB ymm registers (6 x 2 = 12, the rest hold two weight vectors and a broadcast input) while the loop
// runs over input-channel blocks, filter taps and the 8 channels of a block:
//
//   per input channel: load the weights of 2 x 8 filters (2 vectors), broadcast 6 input pixels, 12 FMAs
//
// as the GEMM micro-kernel (kernels/cpu/gemm/microkernel_avx2.cpp) does per k, but reading the input where
// it lies in the blocked layout instead of an im2col copy. Anonymous namespace: see microkernel_avx2.cpp. Not
// instrumented under AddressSanitizer: forward() checks each row call's footprint first (kernels/cpu/sanitize.h).
#include <immintrin.h>

#include "kernels/cpu/conv2d_blocked.h"
#include "kernels/cpu/sanitize.h"

namespace nn::blocked {

namespace {

constexpr int64_t kBlock = 8;  // channels per block: one ymm register

template <int QB, int KB>
NN_UNINSTRUMENTED_KERNEL void tile(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p, int64_t kb0,
          int64_t pp, int64_t q0) {
  const int64_t Cb = blocks(p.C, kBlock), Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, taps = p.R * p.S;
  const int64_t kb_stride = Cb * taps * kBlock * kBlock, step = p.stride_w * kBlock;
  __m256 acc[QB][KB];
#pragma GCC unroll 2
  for (int k = 0; k < KB; ++k) {
    const __m256 init = bias ? _mm256_loadu_ps(bias + (kb0 + k) * kBlock) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int q = 0; q < QB; ++q) acc[q][k] = init;
  }
  for (int64_t cb = 0; cb < Cb; ++cb)
    for (int64_t r = 0; r < p.R; ++r) {
      const float* xrow = xn + ((cb * Hp + pp * p.stride_h + r * p.dil_h) * Wp + q0 * p.stride_w) * kBlock;
      const float* wrow = wb + ((kb0 * Cb + cb) * taps + r * p.S) * kBlock * kBlock;
      for (int64_t s = 0; s < p.S; ++s) {
        const float* xs = xrow + s * p.dil_w * kBlock;
        const float* ws = wrow + s * kBlock * kBlock;
#pragma GCC unroll 8
        for (int c = 0; c < kBlock; ++c) {
          __m256 w[KB];
#pragma GCC unroll 2
          for (int k = 0; k < KB; ++k) w[k] = _mm256_loadu_ps(ws + k * kb_stride + c * kBlock);
#pragma GCC unroll 6
          for (int q = 0; q < QB; ++q) {
            const __m256 xv = _mm256_broadcast_ss(xs + q * step + c);
#pragma GCC unroll 2
            for (int k = 0; k < KB; ++k) acc[q][k] = _mm256_fmadd_ps(xv, w[k], acc[q][k]);
          }
        }
      }
    }
#pragma GCC unroll 2
  for (int k = 0; k < KB; ++k)
#pragma GCC unroll 6
    for (int q = 0; q < QB; ++q) _mm256_storeu_ps(yn + (((kb0 + k) * p.P + pp) * p.Q + q0 + q) * kBlock, acc[q][k]);
}

template <int KB>
NN_UNINSTRUMENTED_KERNEL void row(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p, int64_t kb0,
         int64_t pp) {
  int64_t q0 = 0;
  for (; q0 + 6 <= p.Q; q0 += 6) tile<6, KB>(yn, xn, wb, bias, p, kb0, pp, q0);
  switch (p.Q - q0) {  // the row's last pixels
    case 5: tile<5, KB>(yn, xn, wb, bias, p, kb0, pp, q0); break;
    case 4: tile<4, KB>(yn, xn, wb, bias, p, kb0, pp, q0); break;
    case 3: tile<3, KB>(yn, xn, wb, bias, p, kb0, pp, q0); break;
    case 2: tile<2, KB>(yn, xn, wb, bias, p, kb0, pp, q0); break;
    case 1: tile<1, KB>(yn, xn, wb, bias, p, kb0, pp, q0); break;
    default: break;
  }
}

}  // namespace

NN_UNINSTRUMENTED_KERNEL void forward_row_avx2(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                      int64_t kb0, int64_t kbs, int64_t pp) {
  if (kbs == 2) row<2>(yn, xn, wb, bias, p, kb0, pp);
  else row<1>(yn, xn, wb, bias, p, kb0, pp);
}

}  // namespace nn::blocked
