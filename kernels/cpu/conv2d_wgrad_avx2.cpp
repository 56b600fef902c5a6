// The direct weight gradient's AVX2 + FMA kernel (compiled with -mavx2 -mfma; conv2d_wgrad.cpp calls it only
// when CPUID reports both): 8 pixels per ymm, a tile of 3 output x 4 input channels in 12 accumulators, 3 dy
// vectors and one x vector in the rest of the 16 registers. The masked x loads are vmaskmovps, which does not
// read (or fault on) masked-off lanes; the mask's lanes come from its bits by one AND and one compare.
#include <immintrin.h>

#include "kernels/cpu/conv2d_wgrad_kernel.h"

namespace nn::wgrad {

namespace {

// The vector operations conv2d_wgrad_kernel.h asks for, on ymm registers.
struct Avx2 {
  using Reg = __m256;
  using Mask = __m256i;
  static constexpr int64_t kLanes = 8;
  static constexpr int kKT = 3, kCT = 4;
  static constexpr int64_t kSub = 48;  // 7 planes x 1536 B: L1
  static constexpr bool kMaskedFma = false;
  NN_UNINSTRUMENTED_KERNEL static Mask mask(uint16_t bits) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(bits), bit), bit);
  }
  NN_UNINSTRUMENTED_KERNEL static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  NN_UNINSTRUMENTED_KERNEL static Reg load(Mask m, const float* p) { return _mm256_maskload_ps(p, m); }
  NN_UNINSTRUMENTED_KERNEL static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  NN_UNINSTRUMENTED_KERNEL static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  NN_UNINSTRUMENTED_KERNEL static float sum(Reg v) {
    const __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
  }
};

}  // namespace

NN_UNINSTRUMENTED_KERNEL void tile_avx2(int kt, int ct, const Tile& t) {
  dispatch<Avx2, Avx2::kKT, Avx2::kCT>(kt, ct, t);
}

}  // namespace nn::wgrad
