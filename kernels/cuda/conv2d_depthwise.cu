// Depthwise conv2d on CUDA (G = C, conv2d_is_depthwise; kernels/conv2d.h): direct kernels for forward,
// backward data and backward weight, called by the conv2d_*_cuda entry points in kernels/cuda/conv2d.cu.
//
// Filter k = c*m + j (m = K/C, the depth multiplier) reads only channel c = k / m, so each output is
// R*S multiply-adds over one input plane: as a GEMM (conv2d.cu) the reduction would be R*S long and the
// 64 x 64 tiles almost empty. These kernels give each thread one output (or one input, or one slice of a
// weight's reduction) and loop over the taps directly.
//
//   kernel                        block                     one thread                         grid
//   conv2d_depthwise_fwd          plane (n, k), <= 256 thr  y[n,k,p,q], q fastest            N*K x tiles of P*Q
//   conv2d_depthwise_bwd_data     plane (n, c), <= 256 thr  dx[n,c,h,v], v fastest (gather)  N*C x tiles of H*W
//   conv2d_depthwise_bwd_weight   tap (k,r,s) or k (dbias)  every 256th (n,p,q) of a slice   rows x slices
//
// Consecutive threads take consecutive q (or v), so a warp's loads of x / dy and its stores are 128-byte
// runs of one row (coalesced); the taps of a plane's filter(s) sit in shared memory, loaded once per block.
// No float atomics: backward data gathers (every dx element written by one thread), backward weight and
// dbias reduce each tap with a fixed tree (kernels/cuda/block_reduce.h), and when the reduction is split
// into slices to fill the GPU, a second kernel adds the slices in order. Same result on every run.
// Indices inside a plane and N*P*Q are 32-bit (checked); offsets into the tensors are 64-bit.
//
// Cost, and what an H100 should reach (an expectation from the counts, not a measurement: no GPU has run
// these kernels yet). Each pass is 2*N*K*P*Q*R*S FLOP over at least 4*(N*C*H*W + N*K*P*Q) bytes: with
// m = 1, stride 1 and "same" padding that is 8 bytes per output, R*S/4 FLOP per byte (2.25 for 3x3, 6.25
// for 5x5; stride 2: 0.9 for 3x3), far under the H100's ridge (~60 TFLOP/s / 3.3 TB/s ~ 18 FLOP/byte).
// The kernels are memory-bound and the measure of them is bandwidth:
//   - forward and backward data read each input row R times (for the R window rows) and each element
//     up to S times across neighbouring threads, but those repeats hit L1/L2, so DRAM sees about the
//     minimum. Coalesced, no shared-memory traffic in the inner loop but a broadcast tap: expect 60-80%
//     of HBM bandwidth (2-2.6 TB/s) on planes of 28x28 and larger, like a good elementwise kernel minus
//     the window's index arithmetic; less (~40-60%) on 14x14 and 7x7 planes (EfficientNet's last stages),
//     where a block is 64-224 threads doing one output each after a barrier.
//   - backward weight: every tap's block reads the whole dy plane and a shifted x plane, so x and dy are
//     loaded R*S times, from L2 when the R*S blocks of a filter run together (their block numbers are
//     adjacent); two 32-bit divisions per element add issue cost. Expect it L2- rather than HBM-bound:
//     ~30-50% of HBM bandwidth counted on the minimum bytes. dbias reads dy once: like a reduction, ~70-85%.
// EfficientNet-B0's first depthwise layer at batch 64 (32 channels, 112x112, 3x3) moves 2 x 25.7 M floats
// = 205 MB per pass: ~62 us at the full 3.3 TB/s, so ~80-100 us expected forward.
#include "base/check.h"
#include "kernels/conv2d.h"
#include "kernels/cuda/conv2d_depthwise.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/compat.h"

#include <algorithm>

namespace nn {

namespace {

constexpr int kMaxPlaneThreads = 256;
constexpr int kReduceThreads = 256;
constexpr int kMaxSharedTaps = 12288;  // 48 KiB of floats: the dynamic shared memory a launch may take

// The geometry in 32-bit ints (checked by depthwise_geometry); m = K / C filters per channel.
struct DepthwiseGeometry {
  int N, C, H, W, K, R, S, P, Q, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, m;
};

// Forward: y[n, k, p, q] = bias[k] + sum_{r,s} w[k, r, s] * x[n, k/m, p*stride_h - pad_h + r*dil_h,
// q*stride_w - pad_w + s*dil_w] (0 outside the image).
// Block: plane blockIdx.x = n*K + k; its R*S taps go to shared memory, then thread t computes outputs
// pq = blockIdx.y*blockDim.x + t, + gridDim.y*blockDim.x, ... of the plane (p = pq / Q, q = pq % Q).
// Per output: R*S loads of x (mostly L1 hits: neighbours share windows), R*S broadcast shared reads, one
// store. Preconditions: dynamic shared memory R*S floats; gridDim.x == N*K.
__global__ void conv2d_depthwise_fwd(float* y, const float* x, const float* w, const float* bias,
                                     DepthwiseGeometry d) {
  NN_DYNAMIC_SHARED(float, taps);
  const int RS = d.R * d.S, PQ = d.P * d.Q, plane = blockIdx.x, k = plane % d.K, n = plane / d.K;
  for (int t = threadIdx.x; t < RS; t += blockDim.x) taps[t] = w[static_cast<int64_t>(k) * RS + t];
  __syncthreads();
  const float b = bias ? bias[k] : 0.f;
  const float* x_plane = x + (static_cast<int64_t>(n) * d.C + k / d.m) * d.H * d.W;
  float* y_plane = y + static_cast<int64_t>(plane) * PQ;
  for (int pq = blockIdx.y * blockDim.x + threadIdx.x; pq < PQ; pq += gridDim.y * blockDim.x) {
    const int p = pq / d.Q, q = pq - p * d.Q;
    const int h0 = p * d.stride_h - d.pad_h, v0 = q * d.stride_w - d.pad_w;
    float acc = 0.f;
    for (int r = 0; r < d.R; ++r) {
      const int h = h0 + r * d.dil_h;
      if (h < 0 || h >= d.H) continue;
      const float* x_row = x_plane + static_cast<int64_t>(h) * d.W;
      for (int s = 0; s < d.S; ++s) {
        const int v = v0 + s * d.dil_w;
        if (v >= 0 && v < d.W) acc += taps[r * d.S + s] * x_row[v];
      }
    }
    y_plane[pq] = acc + b;
  }
}

// Backward data: dx[n, c, h, v] = sum_{j < m, r, s} w[c*m + j, r, s] * dy[n, c*m + j, p, q] over the taps
// whose window reads (h, v): h + pad_h - r*dil_h = p*stride_h with 0 <= p < P (exact division; with
// stride 2 only every other r hits an output row), and likewise v, s, q. A gather: one thread per input
// element, so no two threads write the same dx and no atomics are needed.
// Block: plane blockIdx.x = n*C + c; the m*R*S taps of channel c's filters (contiguous in w) go to shared
// memory; thread t takes input pixels hw = blockIdx.y*blockDim.x + t, ... (grid-stride).
// Per input: at most m*R*S loads of dy (L1 hits between neighbours), one store.
// Preconditions: dynamic shared memory m*R*S floats; gridDim.x == N*C.
__global__ void conv2d_depthwise_bwd_data(float* dx, const float* dy, const float* w, DepthwiseGeometry d) {
  NN_DYNAMIC_SHARED(float, taps);
  const int RS = d.R * d.S, PQ = d.P * d.Q, HW = d.H * d.W, plane = blockIdx.x, c = plane % d.C,
            n = plane / d.C;
  for (int t = threadIdx.x; t < d.m * RS; t += blockDim.x) taps[t] = w[static_cast<int64_t>(c) * d.m * RS + t];
  __syncthreads();
  const float* dy_c = dy + (static_cast<int64_t>(n) * d.K + static_cast<int64_t>(c) * d.m) * PQ;  // filter c*m
  float* dx_plane = dx + static_cast<int64_t>(plane) * HW;
  for (int hw = blockIdx.y * blockDim.x + threadIdx.x; hw < HW; hw += gridDim.y * blockDim.x) {
    const int hp = hw / d.W + d.pad_h, vp = hw % d.W + d.pad_w;  // padded coordinates of this input
    float acc = 0.f;
    for (int j = 0; j < d.m; ++j) {
      const float* dy_j = dy_c + static_cast<int64_t>(j) * PQ;
      const float* taps_j = taps + j * RS;
      for (int r = 0; r < d.R; ++r) {
        const int hh = hp - r * d.dil_h;  // p*stride_h if tap r reads this row
        if (hh < 0) break;               // and smaller for every later r
        if (hh % d.stride_h != 0 || hh / d.stride_h >= d.P) continue;
        const float* dy_row = dy_j + static_cast<int64_t>(hh / d.stride_h) * d.Q;
        for (int s = 0; s < d.S; ++s) {
          const int ww = vp - s * d.dil_w;
          if (ww < 0) break;
          if (ww % d.stride_w == 0 && ww / d.stride_w < d.Q) acc += taps_j[r * d.S + s] * dy_row[ww / d.stride_w];
        }
      }
    }
    dx_plane[hw] = acc;
  }
}

// Backward weight (kBias false): dw[k, r, s] = sum_{n,p,q} dy[n, k, p, q] * x[n, k/m, p*stride_h - pad_h +
// r*dil_h, q*stride_w - pad_w + s*dil_w]; dbias (kBias true): dbias[k] = sum_{n,p,q} dy[n, k, p, q].
// Block (blockIdx.x, blockIdx.y) = (row, slice): row is the tap k*R*S + r*S + s (or the filter k for
// dbias); the slice is the flattened (n, p, q) range [slice*chunk, min(+chunk, N*P*Q)). Thread t sums
// every 256th index of the range (consecutive threads: consecutive q), then the block folds the 256 sums
// in a fixed tree; thread 0 writes out[slice * rows + row]. Per element: one dy and one x load (L2 hits
// for the R*S taps of a filter after the first), two 32-bit divisions.
// Preconditions: blockDim.x == 256; gridDim.x == rows (K*R*S, or K); gridDim.y * chunk >= N*P*Q.
template <bool kBias>
__global__ void __launch_bounds__(kReduceThreads)
    conv2d_depthwise_bwd_weight(float* out, const float* dy, const float* x, DepthwiseGeometry d, int chunk) {
  __shared__ float slots[32];
  const int RS = d.R * d.S, PQ = d.P * d.Q, HW = d.H * d.W, row = blockIdx.x;
  const int k = kBias ? row : row / RS, rs = kBias ? 0 : row - k * RS, c = k / d.m;
  const int dh = (rs / d.S) * d.dil_h - d.pad_h, dv = (rs % d.S) * d.dil_w - d.pad_w;
  const int begin = blockIdx.y * chunk, end = min(begin + chunk, d.N * PQ);
  float sum = 0.f;
  for (int i = begin + threadIdx.x; i < end; i += kReduceThreads) {
    const int n = i / PQ, pq = i - n * PQ;
    const float g = dy[(static_cast<int64_t>(n) * d.K + k) * PQ + pq];
    if (kBias) {
      sum += g;
    } else {
      const int p = pq / d.Q, q = pq - p * d.Q, h = p * d.stride_h + dh, v = q * d.stride_w + dv;
      if (h >= 0 && h < d.H && v >= 0 && v < d.W)
        sum += g * x[(static_cast<int64_t>(n) * d.C + c) * HW + static_cast<int64_t>(h) * d.W + v];
    }
  }
  sum = cuda::block_allreduce(sum, cuda::Plus{}, 0.f, slots);
  if (threadIdx.x == 0) out[static_cast<int64_t>(blockIdx.y) * gridDim.x + row] = sum;
}

// out[i] = sum_{z < slices} partial[z * count + i], z ascending (the split's fixed-order second half).
// One thread per output, grid-stride; reads slices * count floats.
__global__ void conv2d_depthwise_split_sum(float* out, const float* partial, int slices, int64_t count) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float sum = 0.f;
    for (int z = 0; z < slices; ++z) sum += partial[z * count + i];
    out[i] = sum;
  }
}

constexpr int64_t kIntLimit = int64_t{1} << 31;

DepthwiseGeometry depthwise_geometry(const Conv2dParams& p) {
  NN_REQUIRE(p.G == p.C && p.C > 0 && p.K % p.C == 0,
             "conv2d depthwise CUDA: groups must equal C, and K must be a multiple of C");
  NN_REQUIRE(p.N * p.K < kIntLimit && p.N * p.P * p.Q < kIntLimit && p.N * p.H * p.W < kIntLimit &&
                 p.K * p.R * p.S < kIntLimit,
             "conv2d depthwise CUDA: N*K, N*P*Q, N*H*W and K*R*S must be below 2^31");
  NN_REQUIRE(p.stride_h > 0 && p.stride_w > 0 && p.dil_h > 0 && p.dil_w > 0,
             "conv2d depthwise CUDA: stride and dilation must be positive");
  NN_REQUIRE(p.K / p.C * p.R * p.S <= kMaxSharedTaps,
             "conv2d depthwise CUDA: the filters of one channel (K/C*R*S floats) must fit 48 KiB of shared memory");
  auto i = [](int64_t v) { return static_cast<int>(v); };
  return {i(p.N),     i(p.C),     i(p.H),     i(p.W),        i(p.K),        i(p.R),
          i(p.S),     i(p.P),     i(p.Q),     i(p.stride_h), i(p.stride_w), i(p.pad_h),
          i(p.pad_w), i(p.dil_h), i(p.dil_w), i(p.K / p.C)};
}

// A block for one plane of `count` elements: a whole number of warps, at most 256, no more than needed
// (a 7x7 plane gets 64 threads, not 256); the grid's y covers the rest of the plane.
struct PlaneLaunch {
  dim3 grid, block;
};
PlaneLaunch plane_launch(int64_t planes, int64_t count) {
  const int64_t threads = std::clamp<int64_t>(ceil_div<int64_t>(count, 32) * 32, 32, kMaxPlaneThreads);
  const int64_t tiles = std::min<int64_t>(65535, ceil_div(count, threads));
  return {dim3(static_cast<unsigned>(planes), static_cast<unsigned>(tiles)), dim3(static_cast<unsigned>(threads))};
}

// out[rows] = the per-row sums of conv2d_depthwise_bwd_weight<kBias>, split into slices of the N*P*Q
// reduction when the rows alone would leave the GPU idle: about 1056 blocks (eight 256-thread blocks per
// SM of a 132-SM H100), each slice at least 2048 long (8 elements per thread). A function of the shape only,
// so the summation order and the result are the same on every GPU.
template <bool kBias>
void depthwise_reduce(float* out, const float* dy, const float* x, const DepthwiseGeometry& d, int64_t rows) {
  const int64_t npq = int64_t{d.N} * d.P * d.Q;
  constexpr int64_t kTargetBlocks = 1056, kMinChunk = 2048;
  int64_t slices = std::max<int64_t>(1, std::min({ceil_div(kTargetBlocks, rows), npq / kMinChunk, int64_t{65535}}));
  const int64_t chunk = ceil_div(npq, slices);
  slices = ceil_div(npq, chunk);  // no empty slice
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(slices));
  if (slices == 1) {
    NN_CUDA_LAUNCH(conv2d_depthwise_bwd_weight<kBias>, grid, dim3(kReduceThreads), 0, out, dy, x, d,
                   static_cast<int>(chunk));
    return;
  }
  const cuda::Scratch<float> scratch(static_cast<size_t>(slices * rows));  // [slices, rows]
  NN_CUDA_LAUNCH(conv2d_depthwise_bwd_weight<kBias>, grid, dim3(kReduceThreads), 0, scratch.get(), dy, x, d,
                 static_cast<int>(chunk));
  NN_CUDA_LAUNCH(conv2d_depthwise_split_sum, dim3(cuda::blocks_for(rows, kReduceThreads)), dim3(kReduceThreads), 0,
                 out, scratch.get(), static_cast<int>(slices), rows);
}

}  // namespace

void conv2d_depthwise_forward_cuda(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p) {
  const DepthwiseGeometry d = depthwise_geometry(p);
  if (p.N * p.K * p.P * p.Q == 0) return;
  const PlaneLaunch l = plane_launch(p.N * p.K, p.P * p.Q);
  NN_CUDA_LAUNCH(conv2d_depthwise_fwd, l.grid, l.block, sizeof(float) * p.R * p.S, y, x, w, bias, d);
}

void conv2d_depthwise_backward_data_cuda(float* dx, const float* dy, const float* w, const Conv2dParams& p) {
  const DepthwiseGeometry d = depthwise_geometry(p);
  if (p.N * p.C * p.H * p.W == 0) return;
  const PlaneLaunch l = plane_launch(p.N * p.C, p.H * p.W);
  NN_CUDA_LAUNCH(conv2d_depthwise_bwd_data, l.grid, l.block, sizeof(float) * d.m * p.R * p.S, dx, dy, w, d);
}

void conv2d_depthwise_backward_weight_cuda(float* dw, float* dbias, const float* dy, const float* x,
                                           const Conv2dParams& p) {
  const DepthwiseGeometry d = depthwise_geometry(p);
  const int64_t taps = p.K * p.R * p.S;
  if (p.N * p.P * p.Q == 0) {  // an empty reduction: zero gradients
    if (dw) NN_CUDA_CHECK(cudaMemsetAsync(dw, 0, taps * sizeof(float), cuda::stream()));
    if (dbias) NN_CUDA_CHECK(cudaMemsetAsync(dbias, 0, p.K * sizeof(float), cuda::stream()));
    return;
  }
  if (dw && taps > 0) depthwise_reduce<false>(dw, dy, x, d, taps);
  if (dbias && p.K > 0) depthwise_reduce<true>(dbias, dy, x, d, p.K);
}

}  // namespace nn
