// CPU GEMM ladder, rung 2: the loops in i-k-j order.
//
// Changed from rung 1: for each row m of C and each k, a row of op(B) scaled by A(m, k) is added to the
// row of C. Why faster: the inner loop reads B and writes C with unit stride (when op(B) is B itself),
// and its iterations are independent, so the compiler vectorises it (4 floats per SSE2 instruction in the
// baseline build) and the hardware prefetcher streams both rows. No reduction chain is left.
// Limits: every (m, k) pair reads a whole row of B and a whole row of C: for large N neither stays in
// L1, and each row of B is fetched again for every m: 2 loads and a store per multiply-add, so the loop
// is bound by cache bandwidth, far from the FMA units. With op(B) transposed the row is strided and
// nothing vectorises. Rung 3 blocks the loops so the reused data stays in cache.
#include <algorithm>

#include "kernels/cpu/gemm/ladder.h"

namespace nn::cpu_gemm {

// C[m, n0:n1] (already scaled by beta) += alpha * op(A)[m, k0:k1] * op(B)[k0:k1, n0:n1] for m in [m0, m1).
void ikj_block(const Operand& a, const Operand& b, float alpha, float* C, int64_t ldc, int64_t m0, int64_t m1,
               int64_t k0, int64_t k1, int64_t n0, int64_t n1) {
  for (int64_t m = m0; m < m1; ++m) {
    float* c = C + m * ldc;
    for (int64_t k = k0; k < k1; ++k) {
      const float s = alpha * a(m, k);
      if (b.cs == 1) {
        const float* brow = b.p + k * b.rs;
        for (int64_t n = n0; n < n1; ++n) c[n] += s * brow[n];
      } else {
        for (int64_t n = n0; n < n1; ++n) c[n] += s * b(k, n);
      }
    }
  }
}

void scale_c(float* C, int64_t ldc, int64_t M, int64_t N, float beta) {
  for (int64_t m = 0; m < M; ++m) {
    float* c = C + m * ldc;
    if (beta == 0.0f) std::fill(c, c + N, 0.0f);  // beta == 0 never reads C: NaNs there do not survive
    else if (beta != 1.0f)
      for (int64_t n = 0; n < N; ++n) c[n] *= beta;
  }
}

void gemm_loop_order(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                     int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  scale_c(C, ldc, M, N, beta);
  ikj_block(operand(A, lda, ta), operand(B, ldb, tb), alpha, C, ldc, 0, M, 0, K, 0, N);
}

}  // namespace nn::cpu_gemm
