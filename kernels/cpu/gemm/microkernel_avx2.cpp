// The AVX2 + FMA micro-kernel (this file is compiled with -mavx2 -mfma; packed.cpp calls it only when
// CPUID reports both). The tile of C lives in 12 of the 16 ymm registers for the whole KC loop:
//
//   per k: 3 loads of B (24 floats = 3 ymm), 4 broadcasts of A, 12 FMAs (4 rows x 3 vectors)
//
// Zen 3 issues 2 FMAs per cycle with a latency of 4 cycles, so at least 8 independent accumulators are
// needed to keep both pipes busy; 12 leave slack, and the 4 remaining registers hold B and the broadcast.
// 4 x 24 rather than the classic 6 x 16 (same 12 accumulators, also here as avx2_microkernel_6x16): MR = 4
// divides every channel count of ResNet and VGG (the M of a convolution's GEMM), where 6 leaves a partial
// panel, and A's panels pack by whole 4 x 4 transposes; bench-ops measured it level on square products
// and up to 1.2x faster on the convolutions' GEMMs (docs/cpu-kernels.md).
// Everything is in an anonymous namespace: no inline function compiled here with AVX may be merged by the
// linker with a baseline copy (kernels/cpu/conv2d_depthwise_impl.h explains the hazard).
#include <immintrin.h>

#include "kernels/cpu/gemm/packed.h"

namespace nn::cpu_gemm {

namespace {

// NV vectors of 8 floats per row; B's panel rows are BS floats apart (NR = 8 NV, or more for the
// narrow variants that compute the first NV vectors of a wider tile).
template <int MR, int NV, int BS = 8 * NV>
NN_MICROKERNEL_UNINSTRUMENTED void kernel(int64_t kc, const float* a, const float* b, float alpha, float beta,
                                          float* c, int64_t ldc) {
  check_microkernel_footprint(a, kc * MR, b, (kc - 1) * BS + 8 * NV, c, ldc, MR, 8 * NV);
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_ps();
  // C's tile is needed only after the loop, but it is likely out of cache (C is large): start fetching
  // it now, so the misses overlap the FMAs instead of stalling the stores at the end.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 8 * NV - 1), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k, a += MR, b += BS) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_load_ps(b + 8 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* ci = c + i * ldc + 8 * v;
      __m256 r = _mm256_mul_ps(va, acc[i][v]);
      if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r);
      _mm256_storeu_ps(ci, r);
    }
}

}  // namespace

const MicroKernel& avx2_microkernel() {
  static const MicroKernel k{"avx2 4x24", CpuIsa::avx2, 4, 24, kernel<4, 3>, 8, {nullptr, kernel<4, 1, 24>, kernel<4, 2, 24>, kernel<4, 3>}};
  return k;
}

const MicroKernel& avx2_microkernel_6x16() {
  static const MicroKernel k{"avx2 6x16", CpuIsa::avx2, 6, 16, kernel<6, 2>, 8, {nullptr, kernel<6, 1, 16>, kernel<6, 2>}};
  return k;
}

}  // namespace nn::cpu_gemm
