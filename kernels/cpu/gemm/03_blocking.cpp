// CPU GEMM ladder, rung 3: rung 2's loops on cache-sized blocks.
//
// Changed from rung 2: the n and k loops are cut into blocks, NC columns and KC rows of op(B), so that
// the block of B being reused (KC x NC floats) stays in L2 while every row of A's block passes over it,
// and the stretch of C's row being updated (NC floats) stays in L1 across the k loop.
// Why faster: B comes from L2 instead of L3 or memory, and C from L1. Limits: the inner loop still
// loads and stores C for every multiply-add (C is not kept in registers), A is read one scalar at a
// time, and the blocks of A and B are read where they lie, with their leading dimensions: strided
// and, when transposed, not vectorised at all. Rung 4 repacks the blocks and keeps a tile of C in
// registers.
#include <algorithm>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/gemm/ladder.h"

namespace nn::cpu_gemm {

void gemm_blocking(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                   const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  constexpr int64_t NC = 512;  // 2 KiB of C's row: L1
  const int64_t KC = std::max<int64_t>(16, cpu_caches().l2 / 2 / (4 * NC));  // KC x NC floats: half of L2
  constexpr int64_t MC = 64;
  scale_c(C, ldc, M, N, beta);
  const Operand a = operand(A, lda, ta), b = operand(B, ldb, tb);
  for (int64_t jc = 0; jc < N; jc += NC)
    for (int64_t pc = 0; pc < K; pc += KC)
      for (int64_t ic = 0; ic < M; ic += MC)
        ikj_block(a, b, alpha, C, ldc, ic, std::min(M, ic + MC), pc, std::min(K, pc + KC), jc, std::min(N, jc + NC));
}

}  // namespace nn::cpu_gemm
