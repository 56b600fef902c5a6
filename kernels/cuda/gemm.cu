// gemm_cuda (kernels/gemm.h), the production CUDA GEMM behind matmul and linear (tensor/ops_gemm.cpp), and
// the table of the teaching ladder it is chosen from (kernels/cuda/gemm/ladder.h, docs/cuda.md).
//
// gemm_cuda is the ladder's last rung, called as is rather than copied: 64 x 64 tiles of C per 64-thread
// block, 8 x 8 outputs per thread, float4 tile loads where alignment allows and double-buffered shared
// memory (kernels/cuda/gemm/07_double_buffered.cu). bench/gpu.cpp times every rung against cuBLAS.
#include "kernels/cuda/gemm/ladder.h"
#include "kernels/gemm.h"

namespace nn {

std::span<const GemmRung> gemm_ladder() {
  static constexpr GemmRung kRungs[] = {
      {"01_naive", gemm_naive_cuda},
      {"02_coalesced", gemm_coalesced_cuda},
      {"03_shared_tiles", gemm_shared_tiles_cuda},
      {"04_register_1d", gemm_register_1d_cuda},
      {"05_register_2d", gemm_register_2d_cuda},
      {"06_vectorized", gemm_vectorized_cuda},
      {"07_double_buffered", gemm_double_buffered_cuda},
  };
  return kRungs;
}

void gemm_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_double_buffered_cuda(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace nn
