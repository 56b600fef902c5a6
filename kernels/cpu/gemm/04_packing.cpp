// CPU GEMM ladder, rung 4: packed panels and a register-tiled micro-kernel (the BLIS algorithm,
// kernels/cpu/gemm/packed.h), with the micro-kernel in plain C++.
//
// Changed from rung 3: before use, the block of op(B) (KC x NC) is copied into micro-panels of NR
// columns and the block of op(A) (MC x KC) into micro-panels of MR rows, each laid out k by k, so that
// the micro-kernel reads both with unit stride whatever the transpositions and leading dimensions. The
// micro-kernel keeps an MR x NR tile of C in registers for the whole KC loop and does MR * NR multiply-adds
// per MR + NR loads: C is loaded and stored once per KC multiply-adds instead of once per one.
// Why faster: the inner loop no longer touches C, reads A and B sequentially from L2 and L1, and all
// four transpositions run at one speed. Limits: the compiler vectorises the portable kernel for the
// baseline ISA only (4-wide SSE2, no FMA): a quarter of an AVX2 core's FLOP/s at best. This is the
// fallback on CPUs without AVX2. Rung 5 writes the micro-kernel in AVX2 / AVX-512 intrinsics.
#include "kernels/cpu/gemm/ladder.h"
#include "kernels/cpu/gemm/packed.h"

namespace nn::cpu_gemm {

void gemm_packing(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const MicroKernel& k = portable_microkernel();
  static const Blocking blocking = blocking_for(k);
  gemm_packed(k, blocking, 1, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace nn::cpu_gemm
