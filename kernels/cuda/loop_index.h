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

}  // namespace nn::cuda
