// GEMM ladder, rung 5: each thread computes an 8 x 8 block of C in registers (an outer product per k).
//
// Changed from rung 4: 64 threads compute a 64 x 64 tile of C, stepping through K 16 at a time. Thread
// (ty, tx) = (tid / 8, tid % 8) owns rows ty + 8 i and columns tx + 8 j (i, j < 8; multiply_tiles). Per k
// it loads 8 values of op(A) and 8 of op(B) from shared memory into registers and does all 64 FMAs
// between them. Tile and thread layout are those of conv2d.cu's implicit GEMMs.
// Why faster: 16 shared loads per 64 FMAs (4 FMAs per load, against 0.9 in rung 4), so the FMA units,
// not shared memory, set the pace; global loads stay at 2*M*N*K / 64. Fewer threads per output also means
// fewer barrier arrivals per FMA (one barrier pair per 16 k for 64 threads, against per 8 k for 512).
// Limits: the tiles are loaded one float at a time (1024 + 1024 loads per step for 64 threads: 32 load
// instructions each), and As is stored [m][k]: a warp reading As[ty + 8 i][k] for 4 values of ty hits
// rows 16 floats apart, two of them in the same bank (a 2-way conflict). Rung 6 loads float4s and stores
// the A tile transposed.
#include "kernels/cuda/gemm/ladder.h"
#include "kernels/cuda/gemm/tile.cuh"

namespace nn {

namespace {

constexpr int BM = 64, BN = 64, BK = 16, TM = 8, TN = 8;
constexpr int kThreads = (BM / TM) * (BN / TN);  // 64

// Thread tid = 8 ty + tx of block (bx, by): C[64 by + ty + 8 i][64 bx + tx + 8 j], i, j < 8. Shared memory:
// As[m][k], Bs[k][n] (8 KiB). Preconditions: blockDim.x == 64; the grid covers ceil(N / 64) x ceil(M / 64).
__global__ void __launch_bounds__(kThreads) gemm_register_2d(GemmArgs g) {
  __shared__ float As[BM][BK];
  __shared__ float Bs[BK][BN];
  const int tid = threadIdx.x, tx = tid % (BN / TN), ty = tid / (BN / TN);
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  float acc[TM][TN] = {};
  for (int k0 = 0; k0 < g.K; k0 += BK) {
    load_a_tile<BM, BK>(&As[0][0], BK, 1, g, m0, k0, tid, kThreads);
    load_b_tile<BK, BN>(&Bs[0][0], g, k0, n0, tid, kThreads);
    __syncthreads();
    multiply_tiles<BM, BN, BK>(&As[0][0], BK, 1, &Bs[0][0], acc, ty, tx);
    __syncthreads();  // the next step overwrites the tiles
  }
  store_block(g, acc, m0 + ty, n0 + tx, BM / TM, BN / TN);
}

}  // namespace

void gemm_register_2d_cuda(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const GemmArgs g = gemm_args(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (g.M == 0 || g.N == 0) return;
  NN_CUDA_LAUNCH(gemm_register_2d, gemm_grid(gemm_tiles(g.N, BN), gemm_tiles(g.M, BM)), dim3(kThreads), 0, g);
}

}  // namespace nn
