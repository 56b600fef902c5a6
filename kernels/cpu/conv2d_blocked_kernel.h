// The blocked direct convolution's vector row kernel, written once for any vector width and included by
// each ISA's file (conv2d_blocked_avx2.cpp: nChw8c on ymm; conv2d_blocked_avx512.cpp: nChw16c on zmm), which
// compiles it with its own flags and supplies the vector operations as a traits type `V`:
//
//   V::Reg                       the register type (__m256, __m512)
//   V::kBlock, V::kPixels        channels per block (the vector's lanes), output pixels per tile
//   V::load(p), V::zero(), V::broadcast(p), V::fma(a, b, c) = a * b + c, V::store(p, v)
//
// An output tile of QB pixels x KB blocks (at most kPixels x 2) lives in QB * KB registers while the loop
// runs over input-channel blocks, filter taps and the kBlock channels of a block: per input channel, KB
// weight loads, QB broadcast inputs and QB * KB FMAs, as the GEMM micro-kernel does per k, but reading the
// input where it lies in the blocked layout instead of an im2col copy. Everything here is in an anonymous
// namespace, so that each file keeps its own copy compiled for its ISA (see gemm/microkernel_avx2.cpp). Not
// instrumented under AddressSanitizer: forward() checks each row call's footprint first (sanitize.h).
#pragma once

#include <cstdint>

#include "kernels/cpu/conv2d_blocked.h"
#include "kernels/cpu/sanitize.h"

namespace nn::blocked {

namespace {

template <class V, int QB, int KB>
NN_UNINSTRUMENTED_KERNEL void tile(float* yn, const float* xn, const float* wb, const float* bias,
                                   const Conv2dParams& p, int64_t kb0, int64_t pp, int64_t q0) {
  constexpr int64_t B = V::kBlock;
  const int64_t Cb = blocks(p.C, B), Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w, taps = p.R * p.S;
  const int64_t kb_stride = Cb * taps * B * B, step = p.stride_w * B;
  typename V::Reg acc[QB][KB];
#pragma GCC unroll 2
  for (int k = 0; k < KB; ++k) {
    const typename V::Reg init = bias ? V::load(bias + (kb0 + k) * B) : V::zero();
#pragma GCC unroll 12
    for (int q = 0; q < QB; ++q) acc[q][k] = init;
  }
  for (int64_t cb = 0; cb < Cb; ++cb)
    for (int64_t r = 0; r < p.R; ++r) {
      const float* xrow = xn + ((cb * Hp + pp * p.stride_h + r * p.dil_h) * Wp + q0 * p.stride_w) * B;
      const float* wrow = wb + ((kb0 * Cb + cb) * taps + r * p.S) * B * B;
      for (int64_t s = 0; s < p.S; ++s) {
        const float* xs = xrow + s * p.dil_w * B;
        const float* ws = wrow + s * B * B;
#pragma GCC unroll 8
        for (int c = 0; c < B; ++c) {
          typename V::Reg w[KB];
#pragma GCC unroll 2
          for (int k = 0; k < KB; ++k) w[k] = V::load(ws + k * kb_stride + c * B);
#pragma GCC unroll 12
          for (int q = 0; q < QB; ++q) {
            const typename V::Reg xv = V::broadcast(xs + q * step + c);
#pragma GCC unroll 2
            for (int k = 0; k < KB; ++k) acc[q][k] = V::fma(xv, w[k], acc[q][k]);
          }
        }
      }
    }
#pragma GCC unroll 2
  for (int k = 0; k < KB; ++k)
#pragma GCC unroll 12
    for (int q = 0; q < QB; ++q) V::store(yn + (((kb0 + k) * p.P + pp) * p.Q + q0 + q) * B, acc[q][k]);
}

// The row's last Q % kPixels pixels: the tile of exactly that width (QB counts down to it).
template <class V, int QB, int KB>
NN_UNINSTRUMENTED_KERNEL void last_pixels(int64_t left, float* yn, const float* xn, const float* wb, const float* bias,
                                          const Conv2dParams& p, int64_t kb0, int64_t pp, int64_t q0) {
  if constexpr (QB > 0) {
    if (left == QB) tile<V, QB, KB>(yn, xn, wb, bias, p, kb0, pp, q0);
    else last_pixels<V, QB - 1, KB>(left, yn, xn, wb, bias, p, kb0, pp, q0);
  }
}

template <class V, int KB>
NN_UNINSTRUMENTED_KERNEL void row(float* yn, const float* xn, const float* wb, const float* bias,
                                  const Conv2dParams& p, int64_t kb0, int64_t pp) {
  int64_t q0 = 0;
  for (; q0 + V::kPixels <= p.Q; q0 += V::kPixels) tile<V, V::kPixels, KB>(yn, xn, wb, bias, p, kb0, pp, q0);
  last_pixels<V, V::kPixels - 1, KB>(p.Q - q0, yn, xn, wb, bias, p, kb0, pp, q0);
}

// Output row pp of one image, output blocks [kb0, kb0 + kbs) with kbs 1 or 2 (forward_row_avx2's contract).
template <class V>
NN_UNINSTRUMENTED_KERNEL void forward_row(float* yn, const float* xn, const float* wb, const float* bias,
                                          const Conv2dParams& p, int64_t kb0, int64_t kbs, int64_t pp) {
  if (kbs == 2) row<V, 2>(yn, xn, wb, bias, p, kb0, pp);
  else row<V, 1>(yn, xn, wb, bias, p, kb0, pp);
}

}  // namespace

}  // namespace nn::blocked
