// CUDA batch norm (the math and the CPU reference: kernels/batch_norm.h, kernels/cpu/batch_norm.cpp).
//
// Layout: x is [N, C, HW] contiguous; channel c's M = N*HW values are N runs of HW. Every kernel here
// runs on a grid (C, S): blockIdx.x is the channel, blockIdx.y one of S splits of the channel's M values
// into contiguous chunks of ~kChunk (S <= kMaxSplits), so a small-C layer with a large batch still fills
// the GPU. A block has 32-256 threads (>= 4 values per thread: 32 for a 7x7 layer at batch 2) and walks
// its chunk with that stride, consecutive threads on consecutive values (coalesced), keeping (n, i)
// incrementally instead of dividing per element.
//
// Training statistics and the backward sums take two launches, no atomics, deterministic:
//   1. batch_norm_partial_sums: each block sums its chunk in double (per thread, then warp shuffles, then
//      shared memory) and writes up to 3 partial sums to partial[C][S][3] (scratch from the caching allocator);
//   2. the apply kernel: warp 0 of every block adds the S partials of its channel in a fixed order (all
//      blocks of a channel get identical statistics), the split-0 block writes the per-channel outputs,
//      and every block applies the elementwise formula to its chunk.
// Numerics follow the CPU kernels, which work in double: the sums are shifted by a value of the channel
// (K = x[0, c, 0]; the running mean in eval), so sum (x-K)^2 - (sum (x-K))^2 / M loses only
// log2(1 + (mean-K)^2/var) of double's 53 bits, and each output is evaluated in double and rounded once.
// FP64 costs nothing visible on A100/H100 (these kernels are memory-bound; docs/cuda.md).
#include "kernels/batch_norm.h"
#include "kernels/cuda/compat.h"

namespace nn {

namespace {

constexpr int kMaxThreads = 256;    // threads per block: a multiple of 32 (block_sum reduces whole warps)
constexpr int64_t kChunk = 4096;    // values of one channel per block (16 per thread at 256 threads)
constexpr int64_t kMaxSplits = 64;  // blocks per channel; the apply kernel's warp 0 re-adds S partials

struct Geometry {
  int64_t C, HW, M;   // M = N * HW values per channel
  int64_t chunk;      // values per split (the last may have fewer)
  int64_t S;          // splits per channel
  int64_t threads;    // per block: at least 4 values per thread, so a 7x7 or [N, C] layer has no idle warps
  int64_t step_n, step_i;  // threads = step_n * HW + step_i: one thread's stride in (n, i)
};

Geometry make_geometry(const BatchNormParams& p) {
  Geometry g{};
  g.C = p.C;
  g.HW = p.HW;
  g.M = p.N * p.HW;
  g.S = ceil_div(g.M, kChunk);
  g.S = g.S < 1 ? 1 : (g.S > kMaxSplits ? kMaxSplits : g.S);
  g.chunk = ceil_div(g.M, g.S);
  const int64_t warps = ceil_div<int64_t>(ceil_div<int64_t>(g.chunk, 4), 32);
  g.threads = 32 * (warps < 1 ? 1 : (warps > kMaxThreads / 32 ? kMaxThreads / 32 : warps));
  g.step_n = g.HW > 0 ? g.threads / g.HW : 0;
  g.step_i = g.HW > 0 ? g.threads % g.HW : 0;
  return g;
}

// Calls f(offset of x[n, c, i]) for every value of split s of channel c that this thread owns.
template <class F>
__device__ void for_chunk(const Geometry& g, int64_t c, int64_t s, F&& f) {
  const int64_t begin = s * g.chunk;
  const int64_t end = begin + g.chunk < g.M ? begin + g.chunk : g.M;
  int64_t j = begin + threadIdx.x;
  if (j >= end) return;
  int64_t n = j / g.HW, i = j - n * g.HW;
  for (; j < end; j += g.threads) {
    f((n * g.C + c) * g.HW + i);
    n += g.step_n;
    i += g.step_i;
    if (i >= g.HW) {
      i -= g.HW;
      ++n;
    }
  }
}

// Sums v[0..2] over the block; the result is valid in thread 0. Every thread of the block must call it.
// warp_sums: shared [kMaxThreads / 32][3].
__device__ void block_sum(double (&v)[3], double (*warp_sums)[3]) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int k = 0; k < 3; ++k)
    for (int off = 16; off > 0; off /= 2) v[k] += __shfl_down_sync(0xffffffffu, v[k], off);
  if (lane == 0)
    for (int k = 0; k < 3; ++k) warp_sums[warp][k] = v[k];
  __syncthreads();
  if (warp == 0) {
    for (int k = 0; k < 3; ++k) {
      v[k] = lane < static_cast<int>(blockDim.x / 32) ? warp_sums[lane][k] : 0.0;
      for (int off = 16; off > 0; off /= 2) v[k] += __shfl_down_sync(0xffffffffu, v[k], off);
    }
  }
}

// Sums of channel c's S partials, in split order; valid in lane 0 of warp 0. Called by warp 0 only.
__device__ void add_partials(double (&v)[3], const double* partial, const Geometry& g, int64_t c) {
  const int lane = threadIdx.x % 32;
  v[0] = v[1] = v[2] = 0.0;
  for (int64_t s = lane; s < g.S; s += 32)
    for (int k = 0; k < 3; ++k) v[k] += partial[(c * g.S + s) * 3 + k];
  for (int k = 0; k < 3; ++k)
    for (int off = 16; off > 0; off /= 2) v[k] += __shfl_down_sync(0xffffffffu, v[k], off);
}

enum class Sums {
  forward,         // sum (x-K), sum (x-K)^2                      K = x[0, c, 0]
  backward_train,  // sum (x-K), sum dy, sum dy*(x-K)             K = x[0, c, 0]
  backward_eval,   // 0, sum dy, sum dy*(x-K) (x may be null)     K = running_mean[c]
};

// Block (c, s) sums split s of channel c into partial[c][s][0..2] (see Sums), in double.
// Reads: the chunk of x (and dy) once; writes 3 doubles.
template <Sums kSums>
__global__ void batch_norm_partial_sums(double* partial, const float* x, const float* dy, const float* running_mean,
                                        Geometry g) {
  __shared__ double warp_sums[kMaxThreads / 32][3];
  const int64_t c = blockIdx.x, s = blockIdx.y;
  const double K = kSums == Sums::backward_eval ? static_cast<double>(running_mean[c])
                                                 : static_cast<double>(x[c * g.HW]);
  double v[3] = {0.0, 0.0, 0.0};
  for_chunk(g, c, s, [&](int64_t o) {
    if constexpr (kSums == Sums::forward) {
      const double d = static_cast<double>(x[o]) - K;
      v[0] += d;
      v[1] += d * d;
    } else {
      const double gy = dy[o];
      v[1] += gy;
      if (kSums == Sums::backward_train || x != nullptr) {
        const double d = static_cast<double>(x[o]) - K;
        if (kSums == Sums::backward_train) v[0] += d;
        v[2] += gy * d;
      }
    }
  });
  block_sum(v, warp_sums);
  if (threadIdx.x == 0)
    for (int k = 0; k < 3; ++k) partial[(c * g.S + s) * 3 + k] = v[k];
}

// Training forward, after batch_norm_partial_sums<forward>: block (c, s) derives channel c's mean, var and
// invstd (split 0 writes them), then y = (x - mean) * invstd * gamma + beta over its chunk, in double.
// Shared: the channel's mean, scale, shift. Reads x once, writes y once.
__global__ void batch_norm_forward_train_apply(float* y, float* mean, float* invstd, float* var, const float* x,
                                               const float* gamma, const float* beta, const double* partial,
                                               double eps, Geometry g) {
  __shared__ double coef[3];  // mean, scale, shift
  const int64_t c = blockIdx.x, s = blockIdx.y;
  if (threadIdx.x < 32) {
    double v[3];
    add_partials(v, partial, g, c);
    if (threadIdx.x == 0) {
      const double M = static_cast<double>(g.M), d = v[0] / M;  // d = mean - K
      const double variance = fmax(v[1] / M - d * d, 0.0), istd = 1.0 / sqrt(variance + eps);
      const double mu = static_cast<double>(x[c * g.HW]) + d;
      if (s == 0) {
        mean[c] = static_cast<float>(mu);
        var[c] = static_cast<float>(variance);
        invstd[c] = static_cast<float>(istd);
      }
      coef[0] = mu;
      coef[1] = istd * (gamma ? static_cast<double>(gamma[c]) : 1.0);
      coef[2] = beta ? static_cast<double>(beta[c]) : 0.0;
    }
  }
  __syncthreads();
  const double mu = coef[0], scale = coef[1], shift = coef[2];
  for_chunk(g, c, s, [&](int64_t o) { y[o] = static_cast<float>((x[o] - mu) * scale + shift); });
}

// Eval forward: y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta, in double, rounded once.
// Each thread derives the channel's coefficients itself (two loads, a sqrt) and streams its chunk.
__global__ void batch_norm_forward_eval_apply(float* y, const float* x, const float* running_mean,
                                              const float* running_var, const float* gamma, const float* beta,
                                              double eps, Geometry g) {
  const int64_t c = blockIdx.x, s = blockIdx.y;
  const double istd = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
  const double scale = istd * (gamma ? static_cast<double>(gamma[c]) : 1.0);
  const double shift = beta ? static_cast<double>(beta[c]) : 0.0, mu = running_mean[c];
  for_chunk(g, c, s, [&](int64_t o) { y[o] = static_cast<float>((x[o] - mu) * scale + shift); });
}

// Training backward, after batch_norm_partial_sums<backward_train>: split 0 writes dgamma = sum dy*xhat and
// dbeta = sum dy; with dx, every block writes
//   dx = gamma * invstd * (dy - sum dy / M - (x - mean) * invstd^2 * sum dy*(x - mean) / M)
// in double over its chunk (the terms cancel: see kernels/cpu/batch_norm.cpp). Reads x, dy once.
__global__ void batch_norm_backward_train_apply(float* dx, float* dgamma, float* dbeta, const float* dy,
                                                const float* x, const float* invstd, const float* gamma,
                                                const double* partial, Geometry g) {
  __shared__ double coef[4];  // mean, k = gamma * invstd, mean(dy), proj
  const int64_t c = blockIdx.x, s = blockIdx.y;
  if (threadIdx.x < 32) {
    double v[3];
    add_partials(v, partial, g, c);
    if (threadIdx.x == 0) {
      const double M = static_cast<double>(g.M), d = v[0] / M;  // d = mean - K
      const double sum_dy = v[1], sum_dy_xmu = v[2] - d * sum_dy, istd = invstd[c];
      if (s == 0 && dgamma) dgamma[c] = static_cast<float>(sum_dy_xmu * istd);
      if (s == 0 && dbeta) dbeta[c] = static_cast<float>(sum_dy);
      coef[0] = static_cast<double>(x[c * g.HW]) + d;
      coef[1] = (gamma ? static_cast<double>(gamma[c]) : 1.0) * istd;
      coef[2] = sum_dy / M;
      coef[3] = istd * istd * sum_dy_xmu / M;
    }
  }
  if (!dx) return;  // uniform over the grid: no thread of any block passes the barrier below
  __syncthreads();
  const double mu = coef[0], k = coef[1], mean_dy = coef[2], proj = coef[3];
  for_chunk(g, c, s, [&](int64_t o) {
    dx[o] = static_cast<float>(k * (dy[o] - mean_dy - (x[o] - mu) * proj));
  });
}

// Eval backward, after batch_norm_partial_sums<backward_eval> (grid (C, 1)): dgamma = sum dy*(x - rm) * istd,
// dbeta = sum dy. One warp per channel; reads S * 3 doubles.
__global__ void batch_norm_backward_eval_params(float* dgamma, float* dbeta, const float* running_var,
                                                const double* partial, double eps, Geometry g) {
  const int64_t c = blockIdx.x;
  double v[3];
  add_partials(v, partial, g, c);
  if (threadIdx.x != 0) return;
  const double istd = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
  if (dgamma) dgamma[c] = static_cast<float>(v[2] * istd);
  if (dbeta) dbeta[c] = static_cast<float>(v[1]);
}

// Eval backward dx = dy * a, a = float(gamma * istd) (the CPU's float product, so results are identical).
__global__ void batch_norm_backward_eval_dx(float* dx, const float* dy, const float* running_var,
                                            const float* gamma, double eps, Geometry g) {
  const int64_t c = blockIdx.x, s = blockIdx.y;
  const double istd = 1.0 / sqrt(static_cast<double>(running_var[c]) + eps);
  const float a = static_cast<float>((gamma ? static_cast<double>(gamma[c]) : 1.0) * istd);
  for_chunk(g, c, s, [&](int64_t o) { dx[o] = dy[o] * a; });
}

// partial[C][S][3] doubles of device scratch (the caching allocator's), freed on every exit path.
struct Partials {
  ::nn::cuda::Scratch<double> buffer;
  double* p;
  explicit Partials(const Geometry& g) : buffer(static_cast<size_t>(g.C * g.S * 3)), p(buffer.get()) {}
};

dim3 grid_of(const Geometry& g, int64_t splits) {
  return dim3(static_cast<unsigned>(g.C), static_cast<unsigned>(splits));
}

}  // namespace

void batch_norm_forward_train_cuda(float* y, float* mean, float* invstd, float* var, const float* x,
                                   const float* gamma, const float* beta, const BatchNormParams& p) {
  const Geometry g = make_geometry(p);
  if (g.C == 0 || g.M == 0) return;  // the op refuses M <= 1 in training; nothing to normalise
  Partials partial(g);
  NN_CUDA_LAUNCH(batch_norm_partial_sums<Sums::forward>, grid_of(g, g.S), dim3(static_cast<unsigned>(g.threads)), 0, partial.p, x,
                 static_cast<const float*>(nullptr), static_cast<const float*>(nullptr), g);
  NN_CUDA_LAUNCH(batch_norm_forward_train_apply, grid_of(g, g.S), dim3(static_cast<unsigned>(g.threads)), 0, y, mean, invstd, var, x, gamma,
                 beta, static_cast<const double*>(partial.p), p.eps, g);
}

void batch_norm_forward_eval_cuda(float* y, const float* x, const float* running_mean, const float* running_var,
                                  const float* gamma, const float* beta, const BatchNormParams& p) {
  const Geometry g = make_geometry(p);
  if (g.C == 0 || g.M == 0) return;
  NN_CUDA_LAUNCH(batch_norm_forward_eval_apply, grid_of(g, g.S), dim3(static_cast<unsigned>(g.threads)), 0, y, x, running_mean, running_var,
                 gamma, beta, p.eps, g);
}

void batch_norm_backward_train_cuda(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                    const float* invstd, const float* gamma, const BatchNormParams& p) {
  const Geometry g = make_geometry(p);
  if (g.C == 0 || g.M == 0 || (!dx && !dgamma && !dbeta)) return;
  Partials partial(g);
  NN_CUDA_LAUNCH(batch_norm_partial_sums<Sums::backward_train>, grid_of(g, g.S), dim3(static_cast<unsigned>(g.threads)), 0, partial.p, x,
                 dy, static_cast<const float*>(nullptr), g);
  // Without dx only the split-0 blocks have work (dgamma, dbeta).
  NN_CUDA_LAUNCH(batch_norm_backward_train_apply, grid_of(g, dx ? g.S : 1), dim3(static_cast<unsigned>(g.threads)), 0, dx, dgamma, dbeta,
                 dy, x, invstd, gamma, static_cast<const double*>(partial.p), g);
}

void batch_norm_backward_eval_cuda(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                   const float* running_mean, const float* running_var, const float* gamma,
                                   const BatchNormParams& p) {
  const Geometry g = make_geometry(p);
  if (g.C == 0) return;
  if ((dgamma || dbeta) && g.M == 0) {  // sums over no values: 0, as on the CPU
    if (dgamma) NN_CUDA_CHECK(cudaMemsetAsync(dgamma, 0, static_cast<size_t>(g.C) * sizeof(float), cuda::stream()));
    if (dbeta) NN_CUDA_CHECK(cudaMemsetAsync(dbeta, 0, static_cast<size_t>(g.C) * sizeof(float), cuda::stream()));
  } else if (dgamma || dbeta) {
    Partials partial(g);
    // x is read only for dgamma (the op saves x only then).
    NN_CUDA_LAUNCH(batch_norm_partial_sums<Sums::backward_eval>, grid_of(g, g.S), dim3(static_cast<unsigned>(g.threads)), 0, partial.p,
                   dgamma ? x : static_cast<const float*>(nullptr), dy, running_mean, g);
    NN_CUDA_LAUNCH(batch_norm_backward_eval_params, grid_of(g, 1), dim3(32), 0, dgamma, dbeta, running_var,
                   static_cast<const double*>(partial.p), p.eps, g);
  }
  if (dx && g.M > 0)
    NN_CUDA_LAUNCH(batch_norm_backward_eval_dx, grid_of(g, g.S), dim3(static_cast<unsigned>(g.threads)), 0, dx, dy, running_var, gamma,
                   p.eps, g);
}

}  // namespace nn
