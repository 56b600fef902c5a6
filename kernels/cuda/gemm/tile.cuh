// What every rung of the GEMM ladder (kernels/cuda/gemm/*.cu) shares: the problem as one kernel argument,
// the elements of op(A) and op(B) under either transposition, the update of C with alpha and beta, the
// tile loaders (scalar for rungs 3-5, float4 through registers for rungs 6-7) and the register-blocked
// product of two shared tiles (rungs 5-7). The rungs differ only in how they use these pieces.
//
// Indices inside the product (m, n, k) are 32-bit (gemm_args checks M, N, K < 2^31); offsets into the
// matrices are 64-bit, since m * lda can pass 2^31 when every dimension fits.
#pragma once

#include <cstdint>

#include "base/check.h"
#include "kernels/cuda/compat.h"
#include "kernels/gemm.h"

namespace nn {

// C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C, row-major, as in gemm_cuda (kernels/gemm.h).
struct GemmArgs {
  int M, N, K;
  Trans ta, tb;
  float alpha, beta;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
};

inline GemmArgs gemm_args(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  constexpr int64_t kLimit = int64_t{1} << 31;
  NN_REQUIRE(M >= 0 && N >= 0 && K >= 0 && M < kLimit && N < kLimit && K < kLimit,
             "gemm CUDA: M, N and K must be in [0, 2^31)");
  NN_REQUIRE(lda >= (ta == Trans::no ? K : M) && ldb >= (tb == Trans::no ? N : K) && ldc >= N,
             "gemm CUDA: a leading dimension is smaller than its matrix's row length");
  auto i = [](int64_t v) { return static_cast<int>(v); };
  return {i(M), i(N), i(K), ta, tb, alpha, beta, A, lda, B, ldb, C, ldc};
}

inline unsigned gemm_tiles(int n, int tile) { return static_cast<unsigned>(ceil_div<int64_t>(n, tile)); }

// A grid of x_tiles x y_tiles blocks; CUDA allows at most 65535 in y.
inline dim3 gemm_grid(unsigned x_tiles, unsigned y_tiles) {
  NN_REQUIRE(y_tiles <= 65535u, "gemm CUDA: more than 65535 tiles along the grid's y dimension");
  return dim3(x_tiles, y_tiles);
}

// op(A)[m][k] and op(B)[k][n], wherever the transposition stored them. No bounds check.
__device__ __forceinline__ float a_at(const GemmArgs& g, int m, int k) {
  return g.ta == Trans::no ? g.A[int64_t{m} * g.lda + k] : g.A[int64_t{k} * g.lda + m];
}
__device__ __forceinline__ float b_at(const GemmArgs& g, int k, int n) {
  return g.tb == Trans::no ? g.B[int64_t{k} * g.ldb + n] : g.B[int64_t{n} * g.ldb + k];
}

// C[m][n] = alpha * acc + beta * C[m][n], nothing outside C. With beta == 0, C is not read: it may hold
// garbage (NaN * 0 would be NaN).
__device__ __forceinline__ void store_c(const GemmArgs& g, int m, int n, float acc) {
  if (m >= g.M || n >= g.N) return;
  float* c = g.C + int64_t{m} * g.ldc + n;
  *c = g.beta == 0.f ? g.alpha * acc : fmaf(g.beta, *c, g.alpha * acc);
}

// A thread's TM x TN block of C: acc[i][j] goes to row m0 + i * row_step, column n0 + j * col_step.
template <int TM, int TN>
__device__ __forceinline__ void store_block(const GemmArgs& g, const float (&acc)[TM][TN], int m0, int n0,
                                            int row_step, int col_step) {
  for (int i = 0; i < TM; ++i)
    for (int j = 0; j < TN; ++j) store_c(g, m0 + i * row_step, n0 + j * col_step, acc[i][j]);
}

// Copies the ROWS x COLS block of op(X) at (r0, c0) into shared memory, element (r, c) to
// dst[r * row_stride + c * col_stride], writing 0 beyond the matrix's rows x cols, so that the tile loop
// needs no bounds checks and partial tiles add zeros. op(X)[r][c] is X[r * ldx + c], or X[c * ldx + r] when
// X is stored transposed. The block's threads (tid < threads) take consecutive elements along X's
// contiguous direction, so a warp reads 32 consecutive floats whichever way X is stored.
template <int ROWS, int COLS>
__device__ __forceinline__ void load_tile(float* dst, int row_stride, int col_stride, const float* X, int64_t ldx,
                                          Trans t, int rows, int cols, int r0, int c0, int tid, int threads) {
  for (int i = tid; i < ROWS * COLS; i += threads) {
    const int r = t == Trans::no ? i / COLS : i % ROWS, c = t == Trans::no ? i % COLS : i / ROWS;
    const int gr = r0 + r, gc = c0 + c;
    float v = 0.f;
    if (gr < rows && gc < cols) v = t == Trans::no ? X[int64_t{gr} * ldx + gc] : X[int64_t{gc} * ldx + gr];
    dst[r * row_stride + c * col_stride] = v;
  }
}

// The BM x BK tile of op(A) at (m0, k0) and the BK x BN tile of op(B) at (k0, n0).
template <int BM, int BK>
__device__ __forceinline__ void load_a_tile(float* dst, int m_stride, int k_stride, const GemmArgs& g, int m0, int k0,
                                            int tid, int threads) {
  load_tile<BM, BK>(dst, m_stride, k_stride, g.A, g.lda, g.ta, g.M, g.K, m0, k0, tid, threads);
}
template <int BK, int BN>
__device__ __forceinline__ void load_b_tile(float* dst, const GemmArgs& g, int k0, int n0, int tid, int threads) {
  load_tile<BK, BN>(dst, BN, 1, g.B, g.ldb, g.tb, g.K, g.N, k0, n0, tid, threads);
}

// A thread's share of a ROWS x COLS tile of op(X), held in registers between the read from global memory
// (fetch) and the write to shared memory (store): rung 6 stores at once, rung 7 fetches the next tile before
// computing on the current one. X is read in groups of 4 consecutive floats along its contiguous direction
// (a row of op(X) when X is stored as is, a column when transposed): one 16-byte load when the group lies
// inside the matrix and starts on a 16-byte boundary (an aligned base and a leading dimension that is a
// multiple of 4), else 4 scalar loads with bounds checks (edges, odd leading dimensions, offset views).
// Group g = tid + THREADS * j, so consecutive threads read consecutive 16-byte pieces.
template <int ROWS, int COLS, int THREADS>
struct TileFragment {
  static_assert(ROWS % 4 == 0 && COLS % 4 == 0 && (ROWS * COLS) % (4 * THREADS) == 0,
                "the tile must split into whole float4 groups, the same number per thread");
  static constexpr int kGroups = ROWS * COLS / (4 * THREADS);
  float4 v[kGroups];

  __device__ __forceinline__ void fetch(const float* X, int64_t ldx, Trans t, int rows, int cols, int r0, int c0,
                                        int tid) {
    const bool plain = t == Trans::no;
    const int line_len = plain ? COLS : ROWS;           // tile extent along X's contiguous direction
    const int lines_in = plain ? rows - r0 : cols - c0;  // tile lines inside the matrix
    const int elems_in = plain ? cols - c0 : rows - r0;  // elements inside the matrix along a line
    const float* base = X + int64_t{plain ? r0 : c0} * ldx + (plain ? c0 : r0);
    for (int j = 0; j < kGroups; ++j) {
      const int group = tid + THREADS * j, line = group / (line_len / 4), e = group % (line_len / 4) * 4;
      if (line >= lines_in) {
        v[j] = make_float4(0.f, 0.f, 0.f, 0.f);
        continue;
      }
      const float* p = base + int64_t{line} * ldx + e;
      if (e + 4 <= elems_in && reinterpret_cast<uintptr_t>(p) % 16 == 0) {
        v[j] = *reinterpret_cast<const float4*>(p);
      } else {
        v[j] = make_float4(e < elems_in ? p[0] : 0.f, e + 1 < elems_in ? p[1] : 0.f, e + 2 < elems_in ? p[2] : 0.f,
                           e + 3 < elems_in ? p[3] : 0.f);
      }
    }
  }

  // Element (r, c) of the tile to dst[r * row_stride + c * col_stride]: 4 scalar stores per group, since the
  // group runs along r or c depending on t.
  __device__ __forceinline__ void store(float* dst, int row_stride, int col_stride, Trans t, int tid) const {
    const bool plain = t == Trans::no;
    const int line_len = plain ? COLS : ROWS;
    const int line_step = plain ? row_stride : col_stride, elem_step = plain ? col_stride : row_stride;
    for (int j = 0; j < kGroups; ++j) {
      const int group = tid + THREADS * j, line = group / (line_len / 4), e = group % (line_len / 4) * 4;
      float* d = dst + line * line_step + e * elem_step;
      d[0] = v[j].x;
      d[elem_step] = v[j].y;
      d[2 * elem_step] = v[j].z;
      d[3 * elem_step] = v[j].w;
    }
  }
};

// The product of one pair of shared tiles into a thread's TM x TN register block (rungs 5-7).
// As holds op(A)[m][k] at As[m * a_m_stride + k * a_k_stride]; Bs is [BK][BN]. The block's
// (BM / TM) x (BN / TN) threads: thread (ty, tx) owns rows ty + (BM / TM) * i and columns tx + (BN / TN) * j,
// strided rather than adjacent: with 8 x 8 threads a warp is 4 values of ty times 8 of tx, so its reads of
// Bs touch 8 consecutive words and its reads of As 4 words, each a broadcast to 8 threads. Per k a thread
// does TM + TN shared loads for TM * TN FMAs.
template <int BM, int BN, int BK, int TM, int TN>
__device__ __forceinline__ void multiply_tiles(const float* As, int a_m_stride, int a_k_stride, const float* Bs,
                                               float (&acc)[TM][TN], int ty, int tx) {
  constexpr int kRowStep = BM / TM, kColStep = BN / TN;
  for (int k = 0; k < BK; ++k) {
    float a[TM], b[TN];
    for (int i = 0; i < TM; ++i) a[i] = As[(ty + kRowStep * i) * a_m_stride + k * a_k_stride];
    for (int j = 0; j < TN; ++j) b[j] = Bs[k * BN + tx + kColStep * j];
    for (int i = 0; i < TM; ++i)
      for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

}  // namespace nn
