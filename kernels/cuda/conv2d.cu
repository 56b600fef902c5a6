// conv2d on CUDA: implicit-GEMM kernels for forward, backward data and backward weight (kernels/conv2d.h).
//
// Each pass of a convolution is one matrix product whose second operand is the unfolded input (im2col) or
// the unfolded output gradient. The CPU path materialises that matrix; these kernels never do: every
// block gathers the BK x BN slice it needs straight from the NCHW tensor into shared memory, writing 0
// where the window falls into padding (or, for backward data, where no output pixel reads the input).
//
//   pass             C[M x Ncol]  = A[M x Kdim]      x B[Kdim x Ncol]       M      Ncol     Kdim
//   forward          y            = w                x col(x)               K/G    N*P*Q    C/G*R*S
//   backward data    dx           = w^T              x gather(dy)           C/G    N*H*W    K/G*R*S
//   backward weight  dw           = dy               x col(x)^T             K/G    C/G*R*S  N*P*Q
//
// Groups (G > 1): group g's filters g*K/G .. (g+1)*K/G - 1 read only input channels g*C/G .. (g+1)*C/G - 1,
// so a grouped convolution is G independent GEMMs of the sizes above, one per group. The kernels take the
// per-group sizes (Cg = C/G, Kg = K/G) for the GEMM and the full C and K for the tensors' strides, and
// blockIdx.z picks the group: forward and backward data run a grid of G layers, each offsetting x, y, dy,
// dx to its channel slice and w to its block of filters (w [K, C/G, R, S] holds group g's filters as the
// contiguous rows g*Kg .. (g+1)*Kg - 1). Backward weight already splits its reduction over blockIdx.z, so
// there z = slice * G + g. With G = 1 every offset is 0 and the kernels are the ordinary convolution.
// Depthwise convolutions (G = C, conv2d_is_depthwise) are a GEMM with one-row reductions (Cg = 1, R*S
// long): they go to their own direct kernels instead (kernels/cuda/conv2d_depthwise.cu).
//
// All three share one tile loop, the GEMM ladder's register-blocked product (multiply_tiles in
// kernels/cuda/gemm/tile.cuh): 64 threads compute a 64 x 64 tile of C, stepping through Kdim 16 at a time;
// each thread keeps an 8 x 8 block of C in registers. Backward weight has a long
// reduction (N*P*Q) and a small output, so it is split over Kdim into slices that write partial sums
// to a scratch buffer, which a second kernel adds up in a fixed order: the result is deterministic
// (no float atomics), and the same for every run on every GPU because the split depends only on the shape.
// dbias is a separate per-channel reduction (warp shuffles, then shared memory across warps).
//
// Indices inside the GEMM (rows, columns, the reduction index) are 32-bit; the launchers check that
// every GEMM dimension is below 2^31. Offsets into the tensors are 64-bit (a batch of ResNet-50
// activations passes 2^31 bytes, and N*C*H*W can pass 2^31 even when every GEMM dimension fits).
#include "base/check.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/conv2d_depthwise.h"
#include "kernels/cuda/compat.h"
#include "kernels/cuda/gemm/tile.cuh"

#include <algorithm>

namespace nn {

namespace {

constexpr int BM = 64;         // tile rows (M)
constexpr int BN = 64;         // tile columns (Ncol)
constexpr int BK = 16;         // reduction step
constexpr int kThreads = 64;   // 8 x 8 threads, each an 8 x 8 register block
constexpr int TM = 8, TN = 8;
constexpr int kReduceThreads = 256;  // the split-K sum and dbias

// The convolution geometry (Conv2dParams) in 32-bit ints (checked by the launchers), so that index
// decoding in the gathers is 32-bit arithmetic. C and K are the tensors' channel counts (strides); Cg and
// Kg the channels and filters of one group (the GEMM's sizes), G the number of groups.
struct ConvGeometry {
  int N, C, H, W, K, R, S, P, Q, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, G, Cg, Kg;
};

// One block's share of C[m0.., n0..] += A[m0.., k] * B[k, n0..] for the BK columns of A / rows of B now
// in shared memory: As[BK][BM] (A transposed, so the tile loop reads along m) and Bs[BK][BN]. Thread
// (ty, tx) = (tid / 8, tid % 8) owns rows m0 + ty + 8 i and columns n0 + tx + 8 j (i, j < 8), as in the
// GEMM ladder's rungs 5-7 (why strided: multiply_tiles in kernels/cuda/gemm/tile.cuh).
__device__ __forceinline__ void multiply_shared_tiles(const float (&As)[BK][BM], const float (&Bs)[BK][BN],
                                                      float (&acc)[TM][TN]) {
  multiply_tiles<BM, BN, BK, TM, TN>(&As[0][0], 1, BM, &Bs[0][0], acc, threadIdx.x / 8, threadIdx.x % 8);
}

// (c, r, s) of reduction index i = c*R*S + r*S + s, advanced one index at a time without division.
struct FilterTap {
  int c, r, s;
  __device__ FilterTap(int i, int R, int S) {
    c = i / (R * S);
    const int rs = i - c * R * S;
    r = rs / S;
    s = rs - r * S;
  }
  __device__ void next(int R, int S) {
    if (++s == S) {
      s = 0;
      if (++r == R) r = 0, ++c;
    }
  }
};

// Forward: y[n, k, p, q] = bias[k] + sum_{crs} w[k, crs] * col[crs, (n, p, q)], crs over group g's C/G
// channels. Block (blockIdx.x, blockIdx.y, blockIdx.z) computes output columns n0 = 64 * blockIdx.x
// (flattened n*P*Q + p*Q + q) and filters g*Kg + m0 of group g = blockIdx.z, m0 = 64 * blockIdx.y (x, y, w
// and bias are offset to the group first; below, c and k are within the group). Shared memory per step
// (8 KiB): As = w[m0..+64, k0..+16] (transposed, so the tile loop reads along m), Bs = col[k0..+16,
// n0..+64] gathered from x: row crs = (c, r, s) and column (n, p, q) read x[n, c, p*stride_h - pad_h +
// r*dil_h, q*stride_w - pad_w + s*dil_w], or 0 outside the image.
// Loads: a thread fetches 16 weights (reduction index tid % 16, rows tid / 16 + 4 i: 16 threads read one
// row's 16 consecutive floats) and the 16 input values of its own column tid (decoded once; the (c, r, s)
// of consecutive rows by increment): a warp reads 32 consecutive output pixels' inputs. Traffic: x is
// re-read once per block row (ceil(K/G / 64) times), w once per block column; both mostly from L2.
// Preconditions: blockDim.x == 64; grid covers ceil(N*P*Q / 64) x ceil(K/G / 64) x G.
__global__ void __launch_bounds__(kThreads)
    conv2d_fwd_implicit_gemm(float* y, const float* x, const float* w, const float* bias, ConvGeometry d) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
  const int tid = threadIdx.x;
  const int M = d.Kg, PQ = d.P * d.Q, Kdim = d.Cg * d.R * d.S, Ncol = d.N * PQ;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  {
    const int64_t g = blockIdx.z;
    x += g * d.Cg * d.H * d.W;  // channel g*Cg of image 0
    y += g * d.Kg * PQ;         // output channel g*Kg of image 0
    w += g * d.Kg * Kdim;       // filter g*Kg
    if (bias) bias += g * d.Kg;
  }

  const int col = n0 + tid;
  const bool col_ok = col < Ncol;
  const int n = col_ok ? col / PQ : 0, pq = col_ok ? col % PQ : 0;
  const int h_base = (pq / d.Q) * d.stride_h - d.pad_h, w_base = (pq % d.Q) * d.stride_w - d.pad_w;
  const float* x_n = x + static_cast<int64_t>(n) * d.C * d.H * d.W;

  float acc[TM][TN] = {};
  for (int k0 = 0; k0 < Kdim; k0 += BK) {
    for (int i = 0; i < BM / 4; ++i) {
      const int m = tid / BK + 4 * i, kk = tid % BK, gm = m0 + m, gk = k0 + kk;
      As[kk][m] = gm < M && gk < Kdim ? w[static_cast<int64_t>(gm) * Kdim + gk] : 0.f;
    }
    FilterTap t(k0, d.R, d.S);
    for (int kk = 0; kk < BK; ++kk, t.next(d.R, d.S)) {
      const int h = h_base + t.r * d.dil_h, ww = w_base + t.s * d.dil_w;
      const bool inside = col_ok && k0 + kk < Kdim && h >= 0 && h < d.H && ww >= 0 && ww < d.W;
      Bs[kk][tid] = inside ? x_n[(static_cast<int64_t>(t.c) * d.H + h) * d.W + ww] : 0.f;
    }
    __syncthreads();
    multiply_shared_tiles(As, Bs, acc);
    __syncthreads();  // the next step overwrites the tiles
  }

  const int tx = tid % 8, ty = tid / 8;
  for (int j = 0; j < TN; ++j) {
    const int gc = n0 + tx + 8 * j;
    if (gc >= Ncol) continue;
    const int gn = gc / PQ, gpq = gc % PQ;
    for (int i = 0; i < TM; ++i) {
      const int k = m0 + ty + 8 * i;
      if (k < M) y[(static_cast<int64_t>(gn) * d.K + k) * PQ + gpq] = acc[i][j] + (bias ? bias[k] : 0.f);
    }
  }
}

// Backward data: dx[n, c, h, w] = sum_{k, r, s} w[k, c, r, s] * dy[n, k, p, q] over the (r, s) for which
// h + pad_h - r*dil_h = p*stride_h and w + pad_w - s*dil_w = q*stride_w with 0 <= p < P, 0 <= q < Q (exact
// division: with stride 2 only every other r hits an output row; the others contribute 0, as padding does
// in the forward pass).
// Block: input pixels n0 = 64 * blockIdx.x (flattened n*H*W + h*W + w) times channels g*Cg + m0 of group
// g = blockIdx.z, m0 = 64 * blockIdx.y; the sum runs over group g's K/G filters (dx, dy, w offset to the
// group first). Shared memory per step: As = w^T[c, krs] (row c, reduction index krs = k*R*S + r*S + s,
// read from w[k, c, r, s]), Bs = gathered dy[krs, pixel]. Same thread-to-load mapping as the forward kernel.
// Work: the GEMM includes the structural zeros, so a stride-s convolution spends (1 - 1/s^2) of its FMAs
// on zeros (docs/cuda.md, conv2d); traffic as in the forward pass with x and dy swapped.
// Preconditions: blockDim.x == 64; grid covers ceil(N*H*W / 64) x ceil(C/G / 64) x G.
__global__ void __launch_bounds__(kThreads)
    conv2d_bwd_data_implicit_gemm(float* dx, const float* dy, const float* w, ConvGeometry d) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
  const int tid = threadIdx.x;
  const int M = d.Cg, HW = d.H * d.W, RS = d.R * d.S, Kdim = d.Kg * RS, Ncol = d.N * HW;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  {
    const int64_t g = blockIdx.z;
    dx += g * d.Cg * HW;         // channel g*Cg of image 0
    dy += g * d.Kg * d.P * d.Q;  // output channel g*Kg of image 0
    w += g * d.Kg * d.Cg * RS;   // filter g*Kg
  }

  const int col = n0 + tid;
  const bool col_ok = col < Ncol;
  const int n = col_ok ? col / HW : 0, hw = col_ok ? col % HW : 0;
  const int hp = hw / d.W + d.pad_h, wp = hw % d.W + d.pad_w;  // padded coordinates of this input pixel
  const float* dy_n = dy + static_cast<int64_t>(n) * d.K * d.P * d.Q;

  float acc[TM][TN] = {};
  for (int k0 = 0; k0 < Kdim; k0 += BK) {
    {
      const int kk = tid % BK, gk = k0 + kk, k = gk / RS, rs = gk - k * RS;
      for (int i = 0; i < BM / 4; ++i) {
        const int m = tid / BK + 4 * i, gm = m0 + m;
        As[kk][m] = gm < M && gk < Kdim ? w[(static_cast<int64_t>(k) * d.Cg + gm) * RS + rs] : 0.f;
      }
    }
    FilterTap t(k0, d.R, d.S);  // here (k, r, s): t.c is the filter index k
    for (int kk = 0; kk < BK; ++kk, t.next(d.R, d.S)) {
      const int hh = hp - t.r * d.dil_h, ww = wp - t.s * d.dil_w;  // p*stride_h, q*stride_w if (r, s) reads here
      float v = 0.f;
      if (col_ok && k0 + kk < Kdim && hh >= 0 && ww >= 0 && hh % d.stride_h == 0 && ww % d.stride_w == 0) {
        const int p = hh / d.stride_h, q = ww / d.stride_w;
        if (p < d.P && q < d.Q) v = dy_n[(static_cast<int64_t>(t.c) * d.P + p) * d.Q + q];
      }
      Bs[kk][tid] = v;
    }
    __syncthreads();
    multiply_shared_tiles(As, Bs, acc);
    __syncthreads();
  }

  const int tx = tid % 8, ty = tid / 8;
  for (int j = 0; j < TN; ++j) {
    const int gc = n0 + tx + 8 * j;
    if (gc >= Ncol) continue;
    const int gn = gc / HW, ghw = gc % HW;
    for (int i = 0; i < TM; ++i) {
      const int c = m0 + ty + 8 * i;
      if (c < M) dx[(static_cast<int64_t>(gn) * d.C + c) * HW + ghw] = acc[i][j];
    }
  }
}

// Backward weight: dw[k, crs] = sum_{npq} dy[n, k, p, q] * col[crs, npq], the reduction over npq split into
// `slices` slices of `chunk` (a multiple of BK) indices; blockIdx.z = slice * G + g. Slice z writes its
// partial sums to out + z*K*C/G*R*S (out is dw itself when there is one slice), group g its rows g*Kg ...
// Block: filters g*Kg + m0, m0 = 64 * blockIdx.y, times weight columns n0 = 64 * blockIdx.x (crs =
// c*R*S + r*S + s, c within the group; dy, x and the output are offset to group g first).
// Shared memory per step: As[kk][m] = dy[n, m0 + m, p, q] and
// Bs[kk][j] = x[n, c, p*stride_h - pad_h + r*dil_h, ...] for the 16 reduction indices npq = k0 + kk; the
// block's 64 weight columns are decoded once into a shared table (c, r*dil_h - pad_h, s*dil_w - pad_w).
// Both loads put the reduction index on tid % 16 (decoded once per step), so 16 neighbouring threads read
// 16 consecutive output pixels of dy and (stride 1) 16 consecutive input pixels of x. Traffic: dy is re-read once per block column (ceil(CRS / 64)), x once per block row.
// Preconditions: blockDim.x == 64; grid ceil(C/G*R*S / 64) x ceil(K/G / 64) x slices*G,
// slices * chunk >= N*P*Q.
__global__ void __launch_bounds__(kThreads)
    conv2d_bwd_weight_implicit_gemm(float* out, const float* dy, const float* x, ConvGeometry d, int chunk) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
  __shared__ int col_c[BN], col_h[BN], col_w[BN];  // c (or -1 past the last column), row and column offsets
  const int tid = threadIdx.x;
  const int M = d.Kg, PQ = d.P * d.Q, RS = d.R * d.S, Ncol = d.Cg * RS, NPQ = d.N * PQ;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int g = blockIdx.z % d.G, z = blockIdx.z / d.G;
  const int kbeg = z * chunk, kend = min(kbeg + chunk, NPQ);
  dy += static_cast<int64_t>(g) * d.Kg * PQ;       // output channel g*Kg of image 0
  x += static_cast<int64_t>(g) * d.Cg * d.H * d.W;  // channel g*Cg of image 0
  {
    const int col = n0 + tid, c = col / RS, rs = col - c * RS;
    col_c[tid] = col < Ncol ? c : -1;
    col_h[tid] = (rs / d.S) * d.dil_h - d.pad_h;
    col_w[tid] = (rs % d.S) * d.dil_w - d.pad_w;
  }
  __syncthreads();

  const int kk = tid % BK;  // this thread's reduction index within a step, for both loads
  float acc[TM][TN] = {};
  for (int k0 = kbeg; k0 < kend; k0 += BK) {
    const int gk = k0 + kk;
    const bool k_ok = gk < kend;
    const int n = k_ok ? gk / PQ : 0, pq = k_ok ? gk % PQ : 0, op = pq / d.Q, oq = pq % d.Q;
    const float* x_n = x + static_cast<int64_t>(n) * d.C * d.H * d.W;
    for (int i = 0; i < BM / 4; ++i) {
      const int m = tid / BK + 4 * i, gm = m0 + m;
      As[kk][m] = k_ok && gm < M ? dy[(static_cast<int64_t>(n) * d.K + gm) * PQ + pq] : 0.f;
    }
    for (int i = 0; i < BN / 4; ++i) {
      const int j = tid / BK + 4 * i, c = col_c[j], h = op * d.stride_h + col_h[j], ww = oq * d.stride_w + col_w[j];
      const bool inside = k_ok && c >= 0 && h >= 0 && h < d.H && ww >= 0 && ww < d.W;
      Bs[kk][j] = inside ? x_n[(static_cast<int64_t>(c) * d.H + h) * d.W + ww] : 0.f;
    }
    __syncthreads();
    multiply_shared_tiles(As, Bs, acc);
    __syncthreads();
  }

  // [K, C/G*R*S] per slice; group g's filters are its rows g*Kg ...
  float* slice = out + (static_cast<int64_t>(z) * d.K + static_cast<int64_t>(g) * M) * Ncol;
  const int tx = tid % 8, ty = tid / 8;
  for (int i = 0; i < TM; ++i) {
    const int k = m0 + ty + 8 * i;
    if (k >= M) continue;
    for (int j = 0; j < TN; ++j) {
      const int gc = n0 + tx + 8 * j;
      if (gc < Ncol) slice[static_cast<int64_t>(k) * Ncol + gc] = acc[i][j];
    }
  }
}

// dw[i] = sum_{z < slices} partial[z * count + i], z ascending: the fixed-order second half of the split-K
// backward weight. One thread per weight (grid-stride); reads slices * count floats, writes count.
__global__ void conv2d_bwd_weight_split_sum(float* dw, const float* partial, int slices, int64_t count) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int z = 0; z < slices; ++z) sum += partial[z * count + i];
    dw[i] = sum;
  }
}

// dbias[k] = sum_{n, p, q} dy[n, k, p, q]. Block k; each of the 256 threads sums every 256th element of
// the N planes of channel k (consecutive threads read consecutive floats of a plane), then the block
// reduces: a butterfly of shuffles inside each warp, the 8 warp sums through shared memory, and warp 0
// adds those. Fixed order, so deterministic. Reads N*P*Q floats per block.
// Preconditions: blockDim.x == 256, gridDim.x == K.
__global__ void __launch_bounds__(kReduceThreads) conv2d_bwd_bias_sum(float* dbias, const float* dy, ConvGeometry d) {
  __shared__ float warp_sums[kReduceThreads / 32];
  const int k = blockIdx.x, PQ = d.P * d.Q, count = d.N * PQ;
  float sum = 0.f;
  for (int i = threadIdx.x; i < count; i += kReduceThreads) {
    const int n = i / PQ, pq = i - n * PQ;
    sum += dy[(static_cast<int64_t>(n) * d.K + k) * PQ + pq];
  }
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  if (threadIdx.x % 32 == 0) warp_sums[threadIdx.x / 32] = sum;
  __syncthreads();
  if (threadIdx.x < 32) {
    sum = threadIdx.x < kReduceThreads / 32 ? warp_sums[threadIdx.x] : 0.f;
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (threadIdx.x == 0) dbias[k] = sum;
  }
}

constexpr int64_t kIntLimit = int64_t{1} << 31;

ConvGeometry dims_of(const Conv2dParams& p) {
  NN_REQUIRE(p.N * p.P * p.Q < kIntLimit && p.N * p.H * p.W < kIntLimit && p.C * p.R * p.S < kIntLimit &&
             p.K * p.R * p.S < kIntLimit && p.N * p.K < kIntLimit && p.N * p.C < kIntLimit,
             "conv2d CUDA: a GEMM dimension (N*P*Q, N*H*W, C*R*S or K*R*S) must be below 2^31");
  NN_REQUIRE(p.stride_h > 0 && p.stride_w > 0 && p.dil_h > 0 && p.dil_w > 0,
             "conv2d CUDA: stride and dilation must be positive");
  NN_REQUIRE(p.G >= 1 && p.C % p.G == 0 && p.K % p.G == 0, "conv2d CUDA: groups must divide C and K");
  NN_REQUIRE(p.G <= 65535, "conv2d CUDA: at most 65535 groups (a grid dimension), except depthwise");
  auto i = [](int64_t v) { return static_cast<int>(v); };
  return {i(p.N),     i(p.C),     i(p.H),     i(p.W),        i(p.K),        i(p.R),
          i(p.S),     i(p.P),     i(p.Q),     i(p.stride_h), i(p.stride_w), i(p.pad_h),
          i(p.pad_w), i(p.dil_h), i(p.dil_w), i(p.G),        i(p.C / p.G),  i(p.K / p.G)};
}

unsigned tiles(int64_t n, int tile) { return static_cast<unsigned>(ceil_div<int64_t>(n, tile)); }

}  // namespace

void conv2d_forward_cuda(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p) {
  if (conv2d_is_depthwise(p)) return conv2d_depthwise_forward_cuda(y, x, w, bias, p);
  const ConvGeometry d = dims_of(p);
  if (p.N * p.K * p.P * p.Q == 0) return;
  const dim3 grid(tiles(p.N * p.P * p.Q, BN), tiles(d.Kg, BM), static_cast<unsigned>(d.G));
  NN_CUDA_LAUNCH(conv2d_fwd_implicit_gemm, grid, dim3(kThreads), 0, y, x, w, bias, d);
}

void conv2d_backward_data_cuda(float* dx, const float* dy, const float* w, const Conv2dParams& p) {
  if (conv2d_is_depthwise(p)) return conv2d_depthwise_backward_data_cuda(dx, dy, w, p);
  const ConvGeometry d = dims_of(p);
  if (p.N * p.C * p.H * p.W == 0) return;
  const dim3 grid(tiles(p.N * p.H * p.W, BN), tiles(d.Cg, BM), static_cast<unsigned>(d.G));
  NN_CUDA_LAUNCH(conv2d_bwd_data_implicit_gemm, grid, dim3(kThreads), 0, dx, dy, w, d);
}

// The split of backward weight's N*P*Q reduction: enough slices that the grid has about 528 blocks (four
// 64-thread blocks per SM of a 132-SM H100), each slice at least 64 long (4 steps; shorter slices would
// spend more on writing and re-reading partial sums than on the GEMM), and slices * G within a grid
// dimension. A function of the shape only, so the summation order, and with it the result, is the same on
// every GPU.
void conv2d_backward_weight_cuda(float* dw, float* dbias, const float* dy, const float* x, const Conv2dParams& p) {
  if (conv2d_is_depthwise(p)) return conv2d_depthwise_backward_weight_cuda(dw, dbias, dy, x, p);
  const ConvGeometry d = dims_of(p);
  const int64_t npq = p.N * p.P * p.Q, crs = int64_t{d.Cg} * p.R * p.S, count = p.K * crs;
  if (npq == 0) {  // an empty reduction: zero gradients
    if (dw) NN_CUDA_CHECK(cudaMemsetAsync(dw, 0, count * sizeof(float), ::nn::cuda::stream()));
    if (dbias) NN_CUDA_CHECK(cudaMemsetAsync(dbias, 0, p.K * sizeof(float), ::nn::cuda::stream()));
    return;
  }
  if (dw && count > 0) {
    const int64_t output_tiles = int64_t{tiles(crs, BN)} * tiles(d.Kg, BM) * d.G;
    constexpr int64_t kTargetBlocks = 528, kMinChunk = 64;
    int64_t slices = ceil_div(kTargetBlocks, output_tiles);
    slices = std::max<int64_t>(1, std::min({slices, npq / kMinChunk, 65535 / int64_t{d.G}}));
    const int64_t chunk = ceil_div<int64_t>(ceil_div(npq, slices), BK) * BK;
    slices = ceil_div(npq, chunk);  // no empty slice
    const dim3 grid(tiles(crs, BN), tiles(d.Kg, BM), static_cast<unsigned>(slices * d.G));
    if (slices == 1) {
      NN_CUDA_LAUNCH(conv2d_bwd_weight_implicit_gemm, grid, dim3(kThreads), 0, dw, dy, x, d, static_cast<int>(chunk));
    } else {
      const ::nn::cuda::Scratch<float> scratch(static_cast<size_t>(slices * count));  // [slices, K, C*R*S]
      float* partial = scratch.get();
      NN_CUDA_LAUNCH(conv2d_bwd_weight_implicit_gemm, grid, dim3(kThreads), 0, partial, dy, x, d,
                     static_cast<int>(chunk));
      NN_CUDA_LAUNCH(conv2d_bwd_weight_split_sum, dim3(::nn::cuda::blocks_for(count, kReduceThreads)),
                     dim3(kReduceThreads), 0,
                     dw, partial, static_cast<int>(slices), count);
    }
  }
  if (dbias && p.K > 0)
    NN_CUDA_LAUNCH(conv2d_bwd_bias_sum, dim3(static_cast<unsigned>(p.K)), dim3(kReduceThreads), 0, dbias, dy, d);
}

}  // namespace nn
