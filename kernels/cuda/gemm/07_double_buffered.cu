// GEMM ladder, rung 7: two shared buffers per operand; the next tile's global loads are issued into
// registers before the FMAs on the current tile, and stored to the other buffer after them.
//
// Changed from rung 6: step s computes from buffer s % 2 while its registers already hold tile s + 1
// (fetched at the top of the step; the loads complete while the 16 x 64 FMAs run), then stores them to
// buffer (s + 1) % 2 and waits at one barrier. One barrier per step is enough: the barrier ending step s
// makes buffer (s + 1) % 2 complete before step s + 1 reads it, and guarantees that every thread has
// finished reading buffer s % 2 before step s + 1 overwrites it.
// Why faster: global-memory latency (hundreds of cycles) hides behind the FMAs of the current tile
// instead of stalling the block at the start of every step, with no extra threads (occupancy) needed to
// cover it; half the barriers of rung 6. Shared memory doubles to 16 KiB per block; traffic as rung 6.
// Limits: FP32 FMAs only (no tensor cores, no cp.async in skinnet's kernels); the 64 x 64 tile suits the
// small and medium products of skinnet's models, while large square products would gain from 128 x 128
// tiles with more threads; split-K (as conv2d's backward weight) would help when M * N is small and K long.
#include "kernels/cuda/gemm/ladder.h"
#include "kernels/cuda/gemm/tile.cuh"

namespace nn {

namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 8, TN = 8;
constexpr int kThreads = (BM / TM) * (BN / TN);  // 64

// Thread tid = 8 ty + tx of block (bx, by): C[64 by + ty + 8 i][64 bx + tx + 8 j], i, j < 8. Shared memory:
// As[2][k][m] (op(A) transposed), Bs[2][k][n] (16 KiB). Preconditions: blockDim.x == 64; the grid covers
// ceil(N / 64) x ceil(M / 64).
__global__ void __launch_bounds__(kThreads) gemm_double_buffered(GemmArgs g) {
  __shared__ float As[2][BK][BM];
  __shared__ float Bs[2][BK][BN];
  const int tid = threadIdx.x, tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  TileFragment<BM, BK, kThreads> a;
  TileFragment<BK, BN, kThreads> b;
  a.fetch(g.A, g.lda, g.ta, g.M, g.K, m0, 0, tid);
  b.fetch(g.B, g.ldb, g.tb, g.K, g.N, 0, n0, tid);
  a.store(&As[0][0][0], 1, BM, g.ta, tid);
  b.store(&Bs[0][0][0], BN, 1, g.tb, tid);
  __syncthreads();
  float acc[TM][TN] = {};
  for (int k0 = 0, buf = 0; k0 < g.K; k0 += BK, buf ^= 1) {
    const bool has_next = k0 + BK < g.K;
    if (has_next) {
      a.fetch(g.A, g.lda, g.ta, g.M, g.K, m0, k0 + BK, tid);
      b.fetch(g.B, g.ldb, g.tb, g.K, g.N, k0 + BK, n0, tid);
    }
    multiply_tiles<BM, BN, BK>(&As[buf][0][0], 1, BM, &Bs[buf][0][0], acc, ty, tx);
    if (has_next) {
      a.store(&As[buf ^ 1][0][0], 1, BM, g.ta, tid);
      b.store(&Bs[buf ^ 1][0][0], BN, 1, g.tb, tid);
    }
    __syncthreads();
  }
  store_block(g, acc, m0 + ty, n0 + tx, BM / TM, BN / TN);
}

}  // namespace

void gemm_double_buffered_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const GemmArgs g = gemm_args(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (g.M == 0 || g.N == 0) return;
  NN_CUDA_LAUNCH(gemm_double_buffered, gemm_grid(gemm_tiles(g.N, BN), gemm_tiles(g.M, BM)), dim3(kThreads), 0, g);
}

}  // namespace nn
