// Loop geometry (kernels/loop.h) on the device: where flat index i of an iteration space lies in each
// operand.
//
// A Loop travels to a kernel by value (it is a few hundred bytes of plain integers, well under the 4 KB
// parameter limit). Each thread turns its flat index into per-operand element offsets by peeling the
// dimensions innermost first: one division and one remainder per dimension. make_loop() has already merged
// every run of dimensions that is contiguous for all operands, so a plain contiguous op has one dimension
// and the peeling is a single step; loop_is_contiguous() lets a kernel skip even that.
#pragma once

#include "kernels/cuda/compat.h"
#include "kernels/loop.h"

namespace nn::cuda {

// offsets[k] = element offset of operand k (k < L.noperands) at flat index i (row-major over L.shape).
__device__ inline void loop_offsets(const Loop& L, int64_t i, int64_t* offsets) {
  for (int k = 0; k < L.noperands; ++k) offsets[k] = 0;
  for (int d = L.ndim - 1; d >= 0; --d) {
    const int64_t q = i / L.shape[d], r = i - q * L.shape[d];
    for (int k = 0; k < L.noperands; ++k) offsets[k] += r * L.strides[k][d];
    i = q;
  }
}

// The offset of operand k alone.
__device__ inline int64_t loop_offset(const Loop& L, int k, int64_t i) {
  int64_t off = 0;
  for (int d = L.ndim - 1; d >= 0; --d) {
    const int64_t q = i / L.shape[d];
    off += (i - q * L.shape[d]) * L.strides[k][d];
    i = q;
  }
  return off;
}

// True when every operand is walked with unit stride in flat order (offset == i): the fast path.
inline bool loop_is_contiguous(const Loop& L) {
  if (L.ndim == 0) return true;
  if (L.ndim > 1) return false;
  for (int k = 0; k < L.noperands; ++k)
    if (L.strides[k][0] != 1) return false;
  return true;
}

// How a kernel walks a Loop: `contiguous` when loop_is_contiguous (every offset is the flat index, no
// division), `strided` otherwise (loop_offsets per index). A template argument, so each walk is its own
// branch-free instantiation.
enum class Walk { contiguous, strided };
inline Walk loop_walk(const Loop& L) { return loop_is_contiguous(L) ? Walk::contiguous : Walk::strided; }

// The grid-stride loop of a one-thread-per-element kernel: this thread takes flat indices
// blockIdx.x * blockDim.x + threadIdx.x, then every gridDim.x * blockDim.x-th after it, so consecutive
// threads take consecutive indices (coalesced on the contiguous walk) and any grid covers any L.numel.
// Calls body(offsets) with offsets[k] the element offset of operand k.
template <Walk walk, class Body>
__device__ inline void loop_grid_stride(const Loop& L, Body&& body) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t offsets[Loop::kMaxOperands];
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < L.numel; i += stride) {
    if constexpr (walk == Walk::contiguous) {
      for (int k = 0; k < L.noperands; ++k) offsets[k] = i;
    } else {
      loop_offsets(L, i, offsets);
    }
    body(offsets);
  }
}

}  // namespace nn::cuda
