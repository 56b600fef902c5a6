// GEMM ladder, rung 3: a block stages 32 x 32 tiles of op(A) and op(B) in shared memory and every thread
// reads its dot product from there.
//
// Changed from rung 2: the K loop advances 32 at a time. Each step, the block's 1024 threads copy the
// 32 x 32 tile of op(A) (rows m0.., columns k0..) and of op(B) (rows k0.., columns n0..) into shared
// memory, one element each, with consecutive threads on consecutive addresses of the stored matrix
// whichever way it is transposed (load_tile); __syncthreads; each thread then does its 32 FMAs from
// shared memory; __syncthreads again before the tiles are overwritten. Tiles past the matrix edge are
// filled with zeros, so the inner loop has no bounds checks.
// Why faster: every element fetched from global memory is used by 32 threads, so global loads drop from
// 2*M*N*K to 2*M*N*K / 32 (8 FLOP per byte from global memory). Inside the loop a warp (one row ty,
// 32 columns tx) reads As[ty][k] (a broadcast) and Bs[k][tx] (32 banks): no bank conflicts.
// Limits: two shared loads per FMA. Shared memory bandwidth, not global memory, now caps the kernel at a
// fraction of FMA peak; rung 4 computes several outputs per thread to reuse values from registers.
#include "kernels/cuda/gemm/ladder.h"
#include "kernels/cuda/gemm/tile.cuh"

namespace nn {

namespace {

constexpr int kTile = 32;  // BM = BN = BK = 32; the block is 32 x 32 threads

// Thread (x, y) of block (bx, by): C[32 by + y][32 bx + x]. Shared memory: As[m][k], Bs[k][n] (8 KiB).
// Preconditions: blockDim == (32, 32); the grid covers ceil(N / 32) x ceil(M / 32).
__global__ void __launch_bounds__(kTile * kTile) gemm_shared_tiles(GemmArgs g) {
  __shared__ float As[kTile][kTile];
  __shared__ float Bs[kTile][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTile + tx;
  const int m0 = blockIdx.y * kTile, n0 = blockIdx.x * kTile;
  float acc = 0.f;
  for (int k0 = 0; k0 < g.K; k0 += kTile) {
    load_a_tile<kTile, kTile>(&As[0][0], kTile, 1, g, m0, k0, tid, kTile * kTile);
    load_b_tile<kTile, kTile>(&Bs[0][0], g, k0, n0, tid, kTile * kTile);
    __syncthreads();
    for (int k = 0; k < kTile; ++k) acc = fmaf(As[ty][k], Bs[k][tx], acc);
    __syncthreads();  // the next step overwrites the tiles
  }
  store_c(g, m0 + ty, n0 + tx, acc);
}

}  // namespace

void gemm_shared_tiles_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                            int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const GemmArgs g = gemm_args(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (g.M == 0 || g.N == 0) return;
  NN_CUDA_LAUNCH(gemm_shared_tiles, gemm_grid(gemm_tiles(g.N, kTile), gemm_tiles(g.M, kTile)), dim3(kTile, kTile),
                 0, g);
}

}  // namespace nn
