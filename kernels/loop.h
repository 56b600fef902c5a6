// Loop geometry for elementwise kernels: an iteration shape and, per operand, strides into it.
//
// Operand 0 is the output. Broadcasting is a stride of 0; views (transposes, slices) are any strides.
// make_loop() drops size-1 dimensions and merges neighbouring dimensions that are contiguous for every
// operand, so a plain contiguous add becomes one dimension of length numel and the inner loop runs
// with unit strides. The same geometry serves the CPU and (later) the CUDA kernels.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "base/shape.h"

namespace nn {

struct Loop {
  static constexpr int kMaxOperands = 4;
  int ndim = 0;
  int noperands = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims] = {};                   // innermost dimension last
  int64_t strides[kMaxOperands][kMaxDims] = {};   // in elements
};

// `strides` holds one Strides per operand, each with shape.size() entries (0 where broadcast).
inline Loop make_loop(const Shape& shape, std::initializer_list<Strides> strides) {
  Loop L;
  L.noperands = static_cast<int>(strides.size());
  L.numel = shape.numel();
  const Strides* s = strides.begin();
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    // Merge into the previous kept dimension when every operand steps through both as one.
    bool merge = L.ndim > 0;
    for (int k = 0; k < L.noperands && merge; ++k)
      merge = L.strides[k][L.ndim - 1] == s[k][d] * shape[d];
    if (merge) {
      L.shape[L.ndim - 1] *= shape[d];
      for (int k = 0; k < L.noperands; ++k) L.strides[k][L.ndim - 1] = s[k][d];
    } else {
      L.shape[L.ndim] = shape[d];
      for (int k = 0; k < L.noperands; ++k) L.strides[k][L.ndim] = s[k][d];
      L.ndim++;
    }
  }
  return L;
}

// Calls body(offsets, count, inner_strides) for each run of the innermost dimension that lies in the
// flattened iteration range [begin, end); offsets[k] is operand k's element offset at the run's start.
template <class Body>
void loop_for_each(const Loop& L, int64_t begin, int64_t end, Body&& body) {
  int64_t offsets[Loop::kMaxOperands] = {};
  int64_t inner_strides[Loop::kMaxOperands] = {};
  if (begin >= end) return;
  if (L.ndim == 0) {  // a single element
    body(offsets, int64_t{1}, inner_strides);
    return;
  }
  const int last = L.ndim - 1;
  for (int k = 0; k < L.noperands; ++k) inner_strides[k] = L.strides[k][last];
  int64_t idx[kMaxDims];
  int64_t rem = begin;
  for (int d = last; d >= 0; --d) {
    idx[d] = rem % L.shape[d];
    rem /= L.shape[d];
  }
  int64_t pos = begin;
  while (pos < end) {
    for (int k = 0; k < L.noperands; ++k) {
      int64_t off = 0;
      for (int d = 0; d <= last; ++d) off += idx[d] * L.strides[k][d];
      offsets[k] = off;
    }
    const int64_t count = std::min(L.shape[last] - idx[last], end - pos);
    body(offsets, count, inner_strides);
    pos += count;
    idx[last] += count;
    for (int d = last; d > 0 && idx[d] >= L.shape[d]; --d) {
      idx[d] = 0;
      idx[d - 1]++;
    }
  }
}

}  // namespace nn
