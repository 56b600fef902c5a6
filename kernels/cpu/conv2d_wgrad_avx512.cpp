// The direct weight gradient's AVX-512 kernel (compiled with -mavx512f; conv2d_wgrad.cpp calls it only when
// CPUID reports AVX-512F): 16 pixels per zmm, a tile of 4 output x 6 input channels in 24 accumulators, 4 dy
// vectors and one x vector at a time in the rest. Inside x the loads are plain and the FMAs merge-masked (a
// masked load cost 5-10% more on Zen 5); near x's two ends the loads are masked, since a masked-off lane is
// not read and the shifted plane may start before the tensor or end after it.
#include <immintrin.h>

#include "kernels/cpu/conv2d_wgrad_kernel.h"

namespace nn::wgrad {

namespace {

// The vector operations conv2d_wgrad_kernel.h asks for, on zmm registers.
struct Avx512 {
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int64_t kLanes = 16;
  static constexpr int kKT = 4, kCT = 6;
  static constexpr int64_t kSub = 24;  // 10 planes x 1536 B: L1
  static constexpr bool kMaskedFma = true;
  NN_UNINSTRUMENTED_KERNEL static Mask mask(uint16_t bits) { return static_cast<Mask>(bits); }
  NN_UNINSTRUMENTED_KERNEL static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  NN_UNINSTRUMENTED_KERNEL static Reg load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  NN_UNINSTRUMENTED_KERNEL static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  NN_UNINSTRUMENTED_KERNEL static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  NN_UNINSTRUMENTED_KERNEL static Reg fma(Mask m, Reg a, Reg b, Reg c) { return _mm512_mask3_fmadd_ps(a, b, c, m); }
  // GCC 12 warns that _mm512_reduce_add_ps's first extract has an undefined source half; it is never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  NN_UNINSTRUMENTED_KERNEL static float sum(Reg v) { return _mm512_reduce_add_ps(v); }
#pragma GCC diagnostic pop
};

}  // namespace

NN_UNINSTRUMENTED_KERNEL void tile_avx512(int kt, int ct, const Tile& t) {
  dispatch<Avx512, Avx512::kKT, Avx512::kCT>(kt, ct, t);
}

}  // namespace nn::wgrad
