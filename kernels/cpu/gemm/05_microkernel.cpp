// CPU GEMM ladder, rung 5: the micro-kernel in intrinsics, for the widest vector unit the CPU has.
//
// Changed from rung 4: the same packed loops call microkernel_avx2.cpp (a 4 x 24 tile in 12 ymm
// registers) or microkernel_avx512.cpp (8 x 48 in 24 zmm registers), picked at run time by CPUID; each
// file alone is compiled with its ISA's flags, so one binary runs on any x86-64.
// Why faster: 8 (16) floats per instruction instead of 4, and a fused multiply-add instead of a multiply
// and an add: per cycle, Zen 3 retires 2 FMAs on 8 floats, 32 FLOP, against 8 for SSE2. The tile is
// sized so that enough independent accumulators cover the FMA latency (latency x pipes <= tile vectors)
// while A's broadcasts and B's vectors still fit in the remaining registers.
// Limits: one core. Rung 6 adds threads.
#include "kernels/cpu/gemm/ladder.h"
#include "kernels/cpu/gemm/packed.h"

namespace nn::cpu_gemm {

void gemm_microkernel(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const MicroKernel& k = best_microkernel();
  gemm_packed(k, blocking_for(k), 1, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace nn::cpu_gemm
