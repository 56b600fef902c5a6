// GEMM ladder, rung 1: one thread per element of C, its K-long dot product read straight from global memory.
//
// The starting point: the CPU reference loop with the two outer loops turned into threads. Block (32, 32)
// covers a 32 x 32 patch of C with threadIdx.x along the rows m (the mapping a first attempt often picks,
// x first) and threadIdx.y along the columns n.
// Cost: 2*M*N*K FLOP and 2*M*N*K float loads, an arithmetic intensity of 2 FLOP per 8 bytes = 0.25
// FLOP/B if nothing were cached; caches catch much of it, but the access pattern does not help them. The
// 32 threads of a warp have consecutive m and the same n: per k they read A[m][k] from 32 different rows
// (32 separate 32-byte sectors for 4 useful bytes each) and all read the same B[k][n] (a broadcast), and
// at the end write C[m][n] down a column (32 sectors again).
// Limits: memory-bound at a few percent of peak; rung 2 fixes the mapping.
#include "kernels/cuda/gemm/ladder.h"
#include "kernels/cuda/gemm/tile.cuh"

namespace nn {

namespace {

constexpr int kTile = 32;  // the block is kTile x kTile threads, one per element of a kTile x kTile patch of C

// Thread (x, y) of block (bx, by): C[32 bx + x][32 by + y]. Preconditions: blockDim == (32, 32); the grid
// covers ceil(M / 32) x ceil(N / 32).
__global__ void __launch_bounds__(kTile * kTile) gemm_naive(GemmArgs g) {
  const int m = blockIdx.x * kTile + threadIdx.x, n = blockIdx.y * kTile + threadIdx.y;
  if (m >= g.M || n >= g.N) return;
  float acc = 0.f;
  for (int k = 0; k < g.K; ++k) acc = fmaf(a_at(g, m, k), b_at(g, k, n), acc);
  store_c(g, m, n, acc);
}

}  // namespace

void gemm_naive_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const GemmArgs g = gemm_args(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (g.M == 0 || g.N == 0) return;
  NN_CUDA_LAUNCH(gemm_naive, gemm_grid(gemm_tiles(g.M, kTile), gemm_tiles(g.N, kTile)), dim3(kTile, kTile), 0, g);
}

}  // namespace nn
