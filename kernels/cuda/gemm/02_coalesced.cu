// GEMM ladder, rung 2: the same thread per element of C, with threadIdx.x along the columns n.
//
// Changed from rung 1: only which of m and n follows threadIdx.x. A warp now holds 32 consecutive columns
// of one row, so per k it reads B[k][n..n+31], 128 contiguous bytes (one coalesced transaction of 4
// sectors instead of 32), and A[m][k] once for all 32 threads (a broadcast); the final writes of C are
// 128 contiguous bytes too. The FLOP count and the number of loads are unchanged (2*M*N*K, 0.25 FLOP/B
// without caches), but every sector fetched is now fully used.
// Limits: each element of A and B is still fetched from global memory (L1/L2 at best) once per use, N
// (resp. M) times over; rung 3 stages tiles in shared memory to reuse them. The coalescing argument holds
// when B is stored as is: with tb == yes, B[n][k] of consecutive n are ldb apart again (the tile loaders of
// rung 3 read along the stored rows whichever way the operand is stored).
#include "kernels/cuda/gemm/ladder.h"
#include "kernels/cuda/gemm/tile.cuh"

namespace nn {

namespace {

constexpr int kTile = 32;  // the block is kTile x kTile threads, one per element of a kTile x kTile patch of C

// Thread (x, y) of block (bx, by): C[32 by + y][32 bx + x]. Preconditions: blockDim == (32, 32); the grid
// covers ceil(N / 32) x ceil(M / 32).
__global__ void __launch_bounds__(kTile * kTile) gemm_coalesced(GemmArgs g) {
  const int n = blockIdx.x * kTile + threadIdx.x, m = blockIdx.y * kTile + threadIdx.y;
  if (m >= g.M || n >= g.N) return;
  float acc = 0.f;
  for (int k = 0; k < g.K; ++k) acc = fmaf(a_at(g, m, k), b_at(g, k, n), acc);
  store_c(g, m, n, acc);
}

}  // namespace

void gemm_coalesced_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                         int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const GemmArgs g = gemm_args(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (g.M == 0 || g.N == 0) return;
  NN_CUDA_LAUNCH(gemm_coalesced, gemm_grid(gemm_tiles(g.N, kTile), gemm_tiles(g.M, kTile)), dim3(kTile, kTile), 0,
                 g);
}

}  // namespace nn
