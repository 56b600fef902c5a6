// The CUDA GEMM ladder: the same product, C = alpha * op(A) * op(B) + beta * C (kernels/gemm.h), written
// seven times, each rung one idea faster than the one before (kernels/cuda/gemm/NN_*.cu, docs/cuda.md).
// Every rung handles any M, N, K, both transpositions, alpha, beta (beta == 0 never reads C) and leading
// dimensions, and is tested against the CPU GEMM (tests/test_cuda_gemm.cpp). gemm_cuda, the production
// entry point (kernels/cuda/gemm.cu), calls the last rung; bench/gpu.cpp times every rung against cuBLAS.
#pragma once

#include <cstdint>
#include <span>

#include "kernels/gemm.h"

namespace nn {

using GemmFn = void (*)(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

struct GemmRung {
  const char* name;  // "01_naive", ...: the file kernels/cuda/gemm/<name>.cu
  GemmFn fn;
};

// Every rung, in order; the last is the one gemm_cuda calls.
std::span<const GemmRung> gemm_ladder();

#define NN_GEMM_RUNG(name)                                                                                        \
  void name(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,        \
            const float* B, int64_t ldb, float beta, float* C, int64_t ldc)
NN_GEMM_RUNG(gemm_naive_cuda);            // 01_naive.cu
NN_GEMM_RUNG(gemm_coalesced_cuda);        // 02_coalesced.cu
NN_GEMM_RUNG(gemm_shared_tiles_cuda);     // 03_shared_tiles.cu
NN_GEMM_RUNG(gemm_register_1d_cuda);      // 04_register_1d.cu
NN_GEMM_RUNG(gemm_register_2d_cuda);      // 05_register_2d.cu
NN_GEMM_RUNG(gemm_vectorized_cuda);       // 06_vectorized.cu
NN_GEMM_RUNG(gemm_double_buffered_cuda);  // 07_double_buffered.cu
#undef NN_GEMM_RUNG

}  // namespace nn
