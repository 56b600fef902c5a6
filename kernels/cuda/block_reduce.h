// Warp and block reductions shared by the reduction kernels (reduce.cu, softmax.cu, cross_entropy.cu).
//
// A reduction combines values with an associative operation `op` in a fixed tree: lanes fold pairwise
// through warp shuffles (no shared memory, no barrier), then lane 0 of each warp leaves its result in a
// shared slot and warp 0 folds those. The tree depends only on the lane and warp numbers, never on timing,
// so the result is the same on every run and in every emulated thread order: deterministic, unlike
// floating-point atomics.
//
// A value type T needs an overload shfl_down(T, int offset) (here: float, double, int64_t; a kernel file
// adds its own for a struct, found by argument-dependent lookup).
#pragma once

#include "kernels/cuda/compat.h"

namespace nn::cuda {

constexpr unsigned kFullWarp = 0xffffffffu;

__device__ inline float shfl_down(float v, int offset) { return __shfl_down_sync(kFullWarp, v, offset); }
__device__ inline double shfl_down(double v, int offset) { return __shfl_down_sync(kFullWarp, v, offset); }
__device__ inline int64_t shfl_down(int64_t v, int offset) {
  return static_cast<int64_t>(__shfl_down_sync(kFullWarp, static_cast<long long>(v), offset));
}

// Folds v over the 32 lanes of the calling warp; the result is valid in lane 0. All 32 lanes must call.
template <class T, class Op>
__device__ T warp_reduce(T v, Op op) {
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, shfl_down(v, offset));
  return v;
}

// The same, with the result in every lane (lane 0 broadcasts it).
template <class T, class Op>
__device__ T warp_allreduce(T v, Op op) {
  v = warp_reduce(v, op);
  return __shfl_sync(kFullWarp, v, 0);
}

// Folds v over the whole block and returns the result to every thread. blockDim.x must be a multiple of 32
// (at most 1024) and every thread must call it. `slots`: shared memory for 32 values. `identity` pads the
// missing warps (op(identity, x) == x). Three barriers: after the warp results are stored, after warp 0
// publishes the total, and after everyone has read it (so a following call may reuse `slots`).
template <class T, class Op>
__device__ T block_allreduce(T v, Op op, T identity, T* slots) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_reduce(v, op);
  if (lane == 0) slots[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_reduce(lane < warps ? slots[lane] : identity, op);
    if (lane == 0) slots[0] = v;
  }
  __syncthreads();
  v = slots[0];
  __syncthreads();
  return v;
}

struct Plus {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};

}  // namespace nn::cuda
