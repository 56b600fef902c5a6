// The AVX-512 micro-kernel (this file is compiled with -mavx512f -mavx2 -mfma; packed.cpp calls it only
// when CPUID and the OS report AVX-512F). The same loop as microkernel_avx2.cpp with 16-float zmm
// vectors and twice the registers: an 8 x 48 tile of C in 24 of the 32 zmm registers,
//
//   per k: 3 loads of B (48 floats), 8 broadcasts of A, 24 FMAs
//
// Two FMA pipes of latency 4 need 8 independent accumulators; 24 also cover Zen 4, which runs a 512-bit
// FMA as two 256-bit halves. MR = 8 divides every channel count of ResNet and VGG (the M of a
// convolution's GEMM). Not run on the machine this was written on (Zen 3, no AVX-512): its packing and
// edges are tested there through portable_microkernel_like(avx512_microkernel()); the kernel itself by
// the same tests on any AVX-512 machine.
#include <immintrin.h>

#include "kernels/cpu/gemm/packed.h"

namespace nn::cpu_gemm {

namespace {

// NV vectors of 16 floats per row; B's panel rows are BS floats apart (NR = 16 NV, or more for the
// narrow variants that compute the first NV vectors of a wider tile).
template <int MR, int NV, int BS = 16 * NV>
NN_MICROKERNEL_UNINSTRUMENTED void kernel(int64_t kc, const float* a, const float* b, float alpha, float beta,
                                          float* c, int64_t ldc) {
  check_microkernel_footprint(a, kc * MR, b, (kc - 1) * BS + 16 * NV, c, ldc, MR, 16 * NV);
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  // C's tile is needed only after the loop, but it is likely out of cache (C is large): start fetching
  // it now, so the misses overlap the FMAs instead of stalling the stores at the end.
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * NV - 1), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k, a += MR, b += BS) {
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_load_ps(b + 16 * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* ci = c + i * ldc + 16 * v;
      __m512 r = _mm512_mul_ps(va, acc[i][v]);
      if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), r);
      _mm512_storeu_ps(ci, r);
    }
}

}  // namespace

const MicroKernel& avx512_microkernel() {
  static const MicroKernel k{"avx512 8x48", CpuIsa::avx512, 8, 48, kernel<8, 3>, 16, {nullptr, kernel<8, 1, 48>, kernel<8, 2, 48>, kernel<8, 3>}};
  return k;
}

}  // namespace nn::cpu_gemm
