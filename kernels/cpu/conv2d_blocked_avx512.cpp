// The blocked direct convolution's AVX-512 kernel (compiled with -mavx512f; conv2d_blocked.cpp calls it only
// when CPUID reports AVX-512F), on nChw16c: a pixel's block of 16 channels is one zmm register. The same loop
// as the AVX2 kernel (conv2d_blocked_avx2.cpp) with twice the lanes and twice the registers: an output tile
// of QB pixels x KB blocks lives in QB * KB zmm registers (12 x 2 = 24 of the 32; the rest hold two weight
// vectors and a broadcast input) while the loop runs over input-channel blocks, filter taps and the 16
// channels of a block:
//
//   per input channel: load the weights of 2 x 16 filters (2 vectors), broadcast 12 input pixels, 24 FMAs
//
// 24 independent accumulators keep both FMA pipes of a Zen 4/5 or Skylake-X core busy (4-cycle latency, 2
// per cycle: 8 needed). Anonymous namespace: see kernels/cpu/gemm/microkernel_avx2.cpp. Not instrumented
// under AddressSanitizer: forward() checks each row call's footprint first (kernels/cpu/sanitize.h).
#include <immintrin.h>

#include "kernels/cpu/conv2d_blocked.h"
#include "kernels/cpu/sanitize.h"

namespace nn::blocked {

namespace {

constexpr int64_t kBlock = 16;  // channels per block: one zmm register
constexpr int kPixels = 12;     // pixels per tile

template <int QB, int KB>
NN_UNINSTRUMENTED_KERNEL void tile(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p, int64_t kb0,
          int64_t pp, int64_t q0) {
  const int64_t Cb = blocks(p.C, kBlock), Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, taps = p.R * p.S;
  const int64_t kb_stride = Cb * taps * kBlock * kBlock, step = p.stride_w * kBlock;
  __m512 acc[QB][KB];
#pragma GCC unroll 2
  for (int k = 0; k < KB; ++k) {
    const __m512 init = bias ? _mm512_loadu_ps(bias + (kb0 + k) * kBlock) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int q = 0; q < QB; ++q) acc[q][k] = init;
  }
  for (int64_t cb = 0; cb < Cb; ++cb)
    for (int64_t r = 0; r < p.R; ++r) {
      const float* xrow = xn + ((cb * Hp + pp * p.stride_h + r * p.dil_h) * Wp + q0 * p.stride_w) * kBlock;
      const float* wrow = wb + ((kb0 * Cb + cb) * taps + r * p.S) * kBlock * kBlock;
      for (int64_t s = 0; s < p.S; ++s) {
        const float* xs = xrow + s * p.dil_w * kBlock;
        const float* ws = wrow + s * kBlock * kBlock;
#pragma GCC unroll 4
        for (int c = 0; c < kBlock; ++c) {
          __m512 w[KB];
#pragma GCC unroll 2
          for (int k = 0; k < KB; ++k) w[k] = _mm512_loadu_ps(ws + k * kb_stride + c * kBlock);
#pragma GCC unroll 12
          for (int q = 0; q < QB; ++q) {
            const __m512 xv = _mm512_set1_ps(xs[q * step + c]);
#pragma GCC unroll 2
            for (int k = 0; k < KB; ++k) acc[q][k] = _mm512_fmadd_ps(xv, w[k], acc[q][k]);
          }
        }
      }
    }
#pragma GCC unroll 2
  for (int k = 0; k < KB; ++k)
#pragma GCC unroll 12
    for (int q = 0; q < QB; ++q) _mm512_storeu_ps(yn + (((kb0 + k) * p.P + pp) * p.Q + q0 + q) * kBlock, acc[q][k]);
}

// The row's last Q % 12 pixels: the tile of exactly that width (QB counts down to it).
template <int QB, int KB>
NN_UNINSTRUMENTED_KERNEL void last_pixels(int64_t left, float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                 int64_t kb0, int64_t pp, int64_t q0) {
  if constexpr (QB > 0) {
    if (left == QB) tile<QB, KB>(yn, xn, wb, bias, p, kb0, pp, q0);
    else last_pixels<QB - 1, KB>(left, yn, xn, wb, bias, p, kb0, pp, q0);
  }
}

template <int KB>
NN_UNINSTRUMENTED_KERNEL void row(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p, int64_t kb0,
         int64_t pp) {
  int64_t q0 = 0;
  for (; q0 + kPixels <= p.Q; q0 += kPixels) tile<kPixels, KB>(yn, xn, wb, bias, p, kb0, pp, q0);
  last_pixels<kPixels - 1, KB>(p.Q - q0, yn, xn, wb, bias, p, kb0, pp, q0);
}

}  // namespace

NN_UNINSTRUMENTED_KERNEL void forward_row_avx512(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                        int64_t kb0, int64_t kbs, int64_t pp) {
  if (kbs == 2) row<2>(yn, xn, wb, bias, p, kb0, pp);
  else row<1>(yn, xn, wb, bias, p, kb0, pp);
}

}  // namespace nn::blocked
