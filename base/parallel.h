// parallel_for: splits [begin, end) into one contiguous chunk per thread (OpenMP).
//
// Ranges smaller than `grain` run on the calling thread; parallel regions cost a few microseconds, more
// than a small elementwise op. Nested calls run serially inside the outer region.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "base/math.h"

namespace nn {

inline int num_threads() { return omp_get_max_threads(); }

template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  if (n <= grain || omp_in_parallel() || omp_get_max_threads() == 1) {
    f(begin, end);
    return;
  }
  const int64_t max_chunks = ceil_div(n, grain);
#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(omp_get_max_threads(), max_chunks)))
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = ceil_div(n, nt);
    const int64_t b = begin + t * chunk, e = std::min(end, b + chunk);
    if (b < e) f(b, e);
  }
}

}  // namespace nn
