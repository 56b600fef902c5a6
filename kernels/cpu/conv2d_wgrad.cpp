// The direct weight gradient: masks, tiles, threads and dispatch (kernels/cpu/conv2d_wgrad.h). The vector
// kernels are conv2d_wgrad_kernel.h's loop, compiled in conv2d_wgrad_avx2.cpp and conv2d_wgrad_avx512.cpp.
#include "kernels/cpu/conv2d_wgrad.h"

#include <algorithm>
#include <vector>

#include "base/allocator.h"
#include "base/error.h"
#include "base/math.h"
#include "base/parallel.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/sanitize.h"

namespace nn::wgrad {

namespace {

// Vectors per segment (whole planes of several images, or equal pieces of a larger plane): each tap's
// accumulators are summed across lanes into dw once per segment, about 10 instructions per sum.
constexpr int64_t kSegmentVectors = 256;

}  // namespace

bool applies(const Conv2dParams& p) {
  return p.G == 1 && p.stride_h == 1 && p.stride_w == 1 && p.P == p.H && p.Q == p.W && p.R * p.S > 1;
}

bool available() { return cpu_has(CpuIsa::avx2); }

Kernel best_kernel() { return cpu_has(CpuIsa::avx512) ? Kernel::avx512 : Kernel::avx2; }

const char* kernel_name(Kernel k) { return k == Kernel::avx512 ? "AVX-512" : "AVX2"; }

// Measured on Zen 5 (AVX-512, 2 threads, batch 8, against im2col + GEMM, docs/cpu-kernels.md): 1.1-1.3x for
// 64 -> 64 channels at 28x28 and 56x56; 0.7-1.0x with 128 or more channels, at 112x112 and at 14x14 and
// below (lane sums too frequent, a 7x7 plane fills 49 of 64 lanes). Not measured on an AVX2 machine: there
// it runs only when asked for.
bool is_faster(const Conv2dParams& p) {
  const int64_t HW = p.H * p.W;
  return applies(p) && cpu_has(CpuIsa::avx512) && p.C <= 64 && p.K <= 64 && HW >= 28 * 28 && HW <= 56 * 56;
}

void backward_weight(float* dw, const float* dy, const float* x, const Conv2dParams& p, Kernel kernel) {
  NN_CHECK(applies(p),
           "conv2d direct weight gradient: needs groups 1, stride 1 and an output the input's size "
           "(got {}x{} -> {}x{}, stride {}x{}, groups {})",
           p.H, p.W, p.P, p.Q, p.stride_h, p.stride_w, p.G);
  NN_CHECK(cpu_has(kernel == Kernel::avx512 ? CpuIsa::avx512 : CpuIsa::avx2),
           "conv2d direct weight gradient: this CPU does not run the {} kernel", kernel_name(kernel));
  const int64_t taps = p.R * p.S, HW = p.H * p.W;
  if (p.N == 0 || HW == 0) {
    std::fill(dw, dw + p.K * p.C * taps, 0.0f);
    return;
  }
  const bool wide = kernel == Kernel::avx512;
  const int shift = wide ? 4 : 3;
  const int64_t L = int64_t{1} << shift, KT = wide ? 4 : 3, CT = wide ? 6 : 4, vectors = ceil_div(HW, L);
  // Per tap, the plane shift and, per vector, the lanes whose shifted pixel is inside the image.
  std::vector<int64_t> offsets(static_cast<size_t>(taps));
  std::vector<uint16_t> masks(static_cast<size_t>(taps * vectors), 0);
  for (int64_t r = 0; r < p.R; ++r)
    for (int64_t s = 0; s < p.S; ++s) {
      const int64_t tap = r * p.S + s, dh = r * p.dil_h - p.pad_h, dw_ = s * p.dil_w - p.pad_w;
      offsets[tap] = dh * p.W + dw_;
      // Row by row: the pixels [h*W + w0, h*W + w1) of every row h that the tap's shifted row keeps inside
      // the image, a mask word at a time.
      uint16_t* m = masks.data() + tap * vectors;
      const int64_t w0 = std::max<int64_t>(0, -dw_), w1 = std::min(p.W, p.W - dw_);
      for (int64_t h = std::max<int64_t>(0, -dh); h < std::min(p.H, p.H - dh); ++h)
        for (int64_t i = h * p.W + w0; i < h * p.W + w1;) {
          const int64_t lane = i & (L - 1), n = std::min(L - lane, h * p.W + w1 - i);
          m[i >> shift] |= static_cast<uint16_t>(((1u << n) - 1) << lane);
          i += n;
        }
    }
  // The vector kernels are not instrumented: the tensors they read and write, once (kernels/cpu/sanitize.h).
  const int64_t f = int64_t{sizeof(float)};
  check_footprint(dy, p.N * p.K * HW * f);
  check_footprint(x, p.N * p.C * HW * f);
  check_footprint(dw, p.K * p.C * taps * f);
  // Segments of up to kSegmentVectors vectors: equal pieces of one image's planes, or whole planes of
  // several images. Each thread owns a range of output-channel tiles (its rows of dw) and walks every
  // segment, tile after tile; the tile kernel sums its lane buffer into dw at the segment's end.
  std::fill(dw, dw + p.K * p.C * taps, 0.0f);
  const int64_t seg_vectors = ceil_div(vectors, ceil_div(vectors, kSegmentVectors));
  const int64_t seg_images = std::max<int64_t>(1, kSegmentVectors / vectors);
  const int64_t k_tiles = ceil_div(p.K, KT), c_tiles = ceil_div(p.C, CT);
  parallel_for(0, k_tiles, 1, [&](int64_t kt0, int64_t kt1) {
    CpuBuffer lanes(static_cast<size_t>(taps * KT * CT * L) * sizeof(float));
    for (int64_t n0 = 0; n0 < p.N; n0 += seg_images)
      for (int64_t v0 = 0; v0 < vectors; v0 += seg_vectors)
        for (int64_t kt = kt0; kt < kt1; ++kt)
          for (int64_t ct = 0; ct < c_tiles; ++ct) {
            const int64_t k0 = kt * KT, c0 = ct * CT;
            const Tile t{dy + (n0 * p.K + k0) * HW,
                         x + (n0 * p.C + c0) * HW,
                         x,
                         x + p.N * p.C * HW,
                         dw + (k0 * p.C + c0) * taps,
                         lanes.as<float>(),
                         masks.data(),
                         offsets.data(),
                         std::min(seg_images, p.N - n0),
                         v0,
                         std::min(vectors, v0 + seg_vectors),
                         p.C,
                         HW,
                         p.K * HW,
                         p.C * HW,
                         taps,
                         vectors};
            const int kt_n = static_cast<int>(std::min(KT, p.K - k0)), ct_n = static_cast<int>(std::min(CT, p.C - c0));
            if (wide) tile_avx512(kt_n, ct_n, t);
            else tile_avx2(kt_n, ct_n, t);
          }
  });
}

}  // namespace nn::wgrad
