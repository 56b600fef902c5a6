// CPU GEMM ladder, rung 1: the definition. One dot product of length K per element of C.
//
// For each C[m, n] the k loop walks a row of op(A) and a column of op(B). With B not transposed that
// column is K floats ldb apart: every load touches a new cache line, and for large N those lines are gone
// from L1 (and L2) by the next n, so the loop runs at the speed of memory, not of the FMA units. The
// reduction into one scalar accumulator is also a dependency chain: one add per add latency (3 cycles on
// Zen 3), and the compiler may not reorder float additions to vectorise it.
// GFLOP/s on this machine: docs/cpu-kernels.md (`skinnet bench-ops --ladder`).
#include "kernels/cpu/gemm/ladder.h"

namespace nn::cpu_gemm {

void gemm_naive(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const Operand a = operand(A, lda, ta), b = operand(B, ldb, tb);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += a(m, k) * b(k, n);
      float& c = C[m * ldc + n];
      c = alpha * acc + (beta == 0.0f ? 0.0f : beta * c);
    }
}

}  // namespace nn::cpu_gemm
