// CUDA optimiser updates and clip_grad_norm's sum of squares (the math: kernels/optim.h; the CPU loops:
// kernels/cpu/optim.cpp).
//
// One fused kernel per optimiser: a grid-stride loop, one thread per element, each element's parameter,
// gradient and state read once and written once (the flags are uniform branches, so an unused buffer is
// never touched). The arithmetic is the CPU loop's, operation for operation, through the _rn intrinsics
// so that nvcc cannot contract a * b + c into an FMA: results equal the CPU's bit for bit (division and
// sqrt are IEEE-rounded in CUDA without fast-math). Memory-bound: docs/cuda.md has the byte counts.
#include "kernels/cuda/compat.h"
#include "kernels/optim.h"

namespace nn {

namespace {

constexpr unsigned kThreads = 256;

// Single IEEE operations, never fused. The emulator is compiled by g++ at the CPU's flags, where a * b + c
// is not contracted either (the CPU kernels rely on the same).
#if NN_CUDA_EMULATED
__device__ inline float mul(float a, float b) { return a * b; }
__device__ inline float add(float a, float b) { return a + b; }
#else
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
#endif

struct SgdFlags {
  bool decay;     // weight_decay != 0
  int mode;       // 0 no momentum, 1 first momentum step (buf = d), 2 later steps
  bool nesterov;
};

// Thread i of the grid-stride loop updates p[i] (and buf[i]). Reads 8-12 bytes, writes 4-8 bytes per element.
__global__ void sgd_update_fused(float* p, float* buf, const float* grad, int64_t n, SgdScalars<float> s,
                                 SgdFlags f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float pi = p[i];
    float d = grad[i];
    if (f.decay) d = add(d, mul(s.wd, pi));
    if (f.mode != 0) {
      const float b = f.mode == 1 ? d : add(mul(buf[i], s.mom), mul(s.keep, d));
      buf[i] = b;
      d = f.nesterov ? add(d, mul(s.mom, b)) : b;
    }
    p[i] = add(pi, mul(s.neg_lr, d));
  }
}

// Thread i of the grid-stride loop updates p[i], m[i], v[i]. decay: 0 none, 1 Adam L2, 2 AdamW.
// Reads 16 bytes (8 at step 1), writes 12 bytes per element.
__global__ void adam_update_fused(float* p, float* m, float* v, const float* grad, int64_t n, AdamScalars<float> s,
                                  int decay, bool first) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float pi = p[i], g = grad[i];
    if (decay == 2) pi = mul(pi, s.decay);
    if (decay == 1) g = add(g, mul(s.wd, pi));
    const float m0 = first ? 0.0f : m[i], v0 = first ? 0.0f : v[i];
    const float mi = add(mul(m0, s.b1), mul(s.one_b1, g));
    const float vi = add(mul(v0, s.b2), mul(mul(s.one_b2, g), g));
    m[i] = mi;
    v[i] = vi;
    const float denom = add(sqrtf(vi) / s.bc2_sqrt, s.eps);
    p[i] = add(pi, mul(s.neg_step_size, mi) / denom);
  }
}

// Block b sums x[i]^2 in double over i = b*kThreads + t + k * gridDim*kThreads, then reduces the block
// (warp shuffles, then the 8 warp sums in shared memory) into partials[b]. Reads 4 bytes per element.
__global__ void sum_squares_partial(double* partials, const float* x, int64_t n) {
  __shared__ double warp_sums[kThreads / 32];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  double acc = 0.0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const double xi = x[i];
    acc += xi * xi;
  }
  for (int off = 16; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = acc;
  __syncthreads();
  if (warp != 0) return;
  acc = lane < kThreads / 32 ? warp_sums[lane] : 0.0;
  for (int off = 16; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
  if (lane == 0) partials[blockIdx.x] = acc;
}

}  // namespace

void sgd_update_cuda(float* p, float* momentum_buffer, const float* grad, int64_t n, const SgdArgs& a) {
  if (n == 0) return;
  const SgdFlags f{a.weight_decay != 0, momentum_buffer == nullptr ? 0 : a.first ? 1 : 2, a.nesterov};
  NN_CUDA_LAUNCH(sgd_update_fused, dim3(cuda::blocks_for(n, kThreads)), dim3(kThreads), 0, p, momentum_buffer, grad,
                 n, sgd_scalars<float>(a), f);
}

void adam_update_cuda(float* p, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n, const AdamArgs& a) {
  if (n == 0) return;
  // As the CPU: AdamW always scales (1 - lr * wd, exact when wd is 0); Adam adds wd * p only when wd != 0.
  const int decay = a.decoupled ? 2 : a.weight_decay != 0 ? 1 : 0;
  NN_CUDA_LAUNCH(adam_update_fused, dim3(cuda::blocks_for(n, kThreads)), dim3(kThreads), 0, p, exp_avg, exp_avg_sq,
                 grad, n, adam_scalars<float>(a), decay, a.step == 1);
}

int64_t sum_squares_cuda(double* partials, const float* x, int64_t n) {
  // At least 16 elements per thread before another block is added: small gradients (biases) get one block.
  const int64_t per_block = static_cast<int64_t>(kThreads) * 16;
  int64_t blocks = ceil_div(n, per_block);
  blocks = blocks < 1 ? 1 : (blocks > kSumSquaresMaxPartials ? kSumSquaresMaxPartials : blocks);
  NN_CUDA_LAUNCH(sum_squares_partial, dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, partials, x, n);
  return blocks;
}

}  // namespace nn
