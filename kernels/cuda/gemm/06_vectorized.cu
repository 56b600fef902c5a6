// GEMM ladder, rung 6: tiles read from global memory as float4 where alignment allows, and the A tile
// stored transposed in shared memory.
//
// Changed from rung 5: the tiles are fetched by TileFragment: 4 consecutive floats of the stored matrix
// with one 16-byte load when they lie inside the matrix and start on a 16-byte boundary (base pointer
// aligned, leading dimension a multiple of 4), else 4 scalar loads with bounds checks. A thread issues 4 + 4
// load instructions per step instead of 16 + 16. The A tile is written to shared memory as As[k][m]
// (transposed), so the 8 values a thread reads per k lie along one shared row: a warp's 4 values of ty
// read 4 consecutive words, no bank conflict (rung 5 had a 2-way conflict). The compute loop is rung 5's.
// Why faster: fewer load instructions in flight for the same bytes (the load/store unit issues a quarter
// as many), and conflict-free shared reads; traffic is unchanged (2*M*N*K / 64 global loads).
// Limits: the transposed store scatters a float4 over 4 shared rows (4-way bank conflicts on the
// store, once per 16 k); and a step still waits for its tile's global loads before any FMA can start,
// with two barriers per step. Rung 7 overlaps the loads of the next tile with the FMAs of this one.
#include "kernels/cuda/gemm/ladder.h"
#include "kernels/cuda/gemm/tile.cuh"

namespace nn {

namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 8, TN = 8;
constexpr int kThreads = (BM / TM) * (BN / TN);  // 64

// Thread tid = 8 ty + tx of block (bx, by): C[64 by + ty + 8 i][64 bx + tx + 8 j], i, j < 8. Shared memory:
// As[k][m] (op(A) transposed), Bs[k][n] (8 KiB). Preconditions: blockDim.x == 64; the grid covers
// ceil(N / 64) x ceil(M / 64).
__global__ void __launch_bounds__(kThreads) gemm_vectorized(GemmArgs g) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
  const int tid = threadIdx.x, tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  TileFragment<BM, BK, kThreads> a;
  TileFragment<BK, BN, kThreads> b;
  float acc[TM][TN] = {};
  for (int k0 = 0; k0 < g.K; k0 += BK) {
    a.fetch(g.A, g.lda, g.ta, g.M, g.K, m0, k0, tid);
    b.fetch(g.B, g.ldb, g.tb, g.K, g.N, k0, n0, tid);
    a.store(&As[0][0], 1, BM, g.ta, tid);
    b.store(&Bs[0][0], BN, 1, g.tb, tid);
    __syncthreads();
    multiply_tiles<BM, BN, BK>(&As[0][0], 1, BM, &Bs[0][0], acc, ty, tx);
    __syncthreads();  // the next step overwrites the tiles
  }
  store_block(g, acc, m0 + ty, n0 + tx, BM / TM, BN / TN);
}

}  // namespace

void gemm_vectorized_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const GemmArgs g = gemm_args(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (g.M == 0 || g.N == 0) return;
  NN_CUDA_LAUNCH(gemm_vectorized, gemm_grid(gemm_tiles(g.N, BN), gemm_tiles(g.M, BM)), dim3(kThreads), 0, g);
}

}  // namespace nn
