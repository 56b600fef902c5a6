// The direct weight gradient's tile kernel (kernels/cpu/conv2d_wgrad.h), written once for any vector width and
// included by each ISA's file (conv2d_wgrad_avx2.cpp on ymm, conv2d_wgrad_avx512.cpp on zmm), which compiles
// it with its own flags and supplies the vector operations as a traits type `V`:
//
//   V::Reg, V::Mask              the register and mask types
//   V::kLanes, V::kKT, V::kCT    lanes per vector; the largest tile, output x input channels
//   V::mask(bits)                the mask whose lane l is set where bit l of `bits` is
//   V::load(p), V::load(m, p)    a vector; a vector with the lanes outside m zero (and not read)
//   V::kSub                      vectors per sub-chunk (its planes in L1 across the taps)
//   V::store(p, v), V::fma(a, b, c) = a * b + c, V::sum(v) = the sum of v's lanes
//   V::kMaskedFma                whether V::fma(m, a, b, c) exists: a * b + c in m's lanes, c elsewhere
//
// Everything is in an anonymous namespace, so that each file keeps its own copy compiled for its ISA. Not
// instrumented under AddressSanitizer (masked-off lanes may point outside a plane, never read): the driver
// checks every tensor's footprint once per call (conv2d_wgrad.cpp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "base/math.h"
#include "kernels/cpu/conv2d_wgrad.h"
#include "kernels/cpu/sanitize.h"

namespace nn::wgrad {

namespace {

template <class V, int KT, int CT>
NN_UNINSTRUMENTED_KERNEL void tile(const Tile& t) {
  using Reg = typename V::Reg;
  constexpr int64_t L = V::kLanes, kAcc = KT * CT * L;
  const int64_t full = t.HW / L;  // vectors with every lane inside the plane; the one after is partial
  const typename V::Mask tail = V::mask(static_cast<uint16_t>((1u << (t.HW % L)) - 1));
  std::fill(t.lanes, t.lanes + t.taps * kAcc, 0.0f);
  // Sub-chunks of about kSub vectors (pieces of one image's planes, or the planes of several images): their
  // KT + CT planes stay in L1 while the loop runs over the taps, each tap's accumulators parked in `lanes`.
  const int64_t span = t.v1 - t.v0;
  const int64_t sub_vectors = ceil_div<int64_t>(span, ceil_div<int64_t>(span, V::kSub));
  const int64_t sub_images = std::max<int64_t>(1, V::kSub / span);
  for (int64_t n0 = 0; n0 < t.images; n0 += sub_images)
    for (int64_t u0 = t.v0; u0 < t.v1; u0 += sub_vectors) {
      const int64_t n1 = std::min(t.images, n0 + sub_images), u1 = std::min(t.v1, u0 + sub_vectors);
      for (int64_t tap = 0; tap < t.taps; ++tap) {
        const uint16_t* masks = t.masks + tap * t.vectors;
        float* lanes = t.lanes + tap * kAcc;
        Reg acc[KT][CT];
#pragma GCC unroll 4
        for (int i = 0; i < KT; ++i)
#pragma GCC unroll 6
          for (int j = 0; j < CT; ++j) acc[i][j] = V::load(lanes + (i * CT + j) * L);
        // One vector of pixels: KT dy vectors (masked in the plane's partial last vector), CT masked x vectors.
        auto step = [&](const float* yv, const float* xv, uint16_t bits, bool partial) {
          const typename V::Mask m = V::mask(bits);
          Reg y[KT];
#pragma GCC unroll 4
          for (int i = 0; i < KT; ++i) y[i] = partial ? V::load(tail, yv + i * t.HW) : V::load(yv + i * t.HW);
          if constexpr (V::kMaskedFma) {
            // Plain loads (a masked load costs more) where all CT vectors lie inside x, then FMAs that leave the
            // lanes outside the mask alone; masked loads only at x's two ends, where a plain load could fault.
            const bool inside = xv >= t.x_begin && xv + (CT - 1) * t.HW + L <= t.x_end;
#pragma GCC unroll 6
            for (int j = 0; j < CT; ++j) {
              const Reg xj = inside ? V::load(xv + j * t.HW) : V::load(m, xv + j * t.HW);
#pragma GCC unroll 4
              for (int i = 0; i < KT; ++i) acc[i][j] = V::fma(m, y[i], xj, acc[i][j]);
            }
          } else {
#pragma GCC unroll 6
            for (int j = 0; j < CT; ++j) {
              const Reg xj = V::load(m, xv + j * t.HW);
#pragma GCC unroll 4
              for (int i = 0; i < KT; ++i) acc[i][j] = V::fma(y[i], xj, acc[i][j]);
            }
          }
        };
        for (int64_t n = n0; n < n1; ++n) {
          const float* yn = t.dy + n * t.dy_image;
          const float* xn = t.x + n * t.x_image + t.offsets[tap];
          const int64_t v_full = std::min(u1, full);
          for (int64_t v = u0; v < v_full; ++v) step(yn + v * L, xn + v * L, masks[v], false);
          for (int64_t v = std::max(u0, full); v < u1; ++v) step(yn + v * L, xn + v * L, masks[v], true);
        }
#pragma GCC unroll 4
        for (int i = 0; i < KT; ++i)
#pragma GCC unroll 6
          for (int j = 0; j < CT; ++j) V::store(lanes + (i * CT + j) * L, acc[i][j]);
      }
    }
  for (int64_t tap = 0; tap < t.taps; ++tap)
    for (int i = 0; i < KT; ++i)
      for (int j = 0; j < CT; ++j)
        t.dw[(i * t.C + j) * t.taps + tap] += V::sum(V::load(t.lanes + tap * kAcc + (i * CT + j) * L));
}

// tile<V, kt, ct> for a run-time kt <= KT, ct <= CT (the channel counts' remainders).
template <class V, int KT, int CT>
NN_UNINSTRUMENTED_KERNEL void dispatch(int kt, int ct, const Tile& t) {
  if constexpr (KT > 0 && CT > 0) {
    if (kt < KT) return dispatch<V, KT - 1, CT>(kt, ct, t);
    if (ct < CT) return dispatch<V, KT, CT - 1>(kt, ct, t);
    tile<V, KT, CT>(t);
  }
}

}  // namespace

}  // namespace nn::wgrad
