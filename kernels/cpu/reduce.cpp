// CPU reductions (see kernels/reduce.h). Parallel over outputs; each output is summed by one thread,
// so results do not depend on the thread count.
#include "kernels/reduce.h"

#include <cmath>

#include "base/parallel.h"

namespace nn {

template <class T>
void sum_cpu(T* out, const T* x, const ReduceGeometry& g, double scale) {
  const int64_t per_output = std::max<int64_t>(g.inner.numel, 1);
  const int64_t grain = std::max<int64_t>(1, 32768 / per_output);
  parallel_for(0, g.outer.numel, grain, [&](int64_t begin, int64_t end) {
    loop_for_each(g.outer, begin, end, [&](const int64_t* off, int64_t n, const int64_t* s) {
      for (int64_t j = 0; j < n; ++j) {
        const T* base = x + off[1] + j * s[1];
        double acc = 0;
        loop_for_each(g.inner, 0, g.inner.numel, [&](const int64_t* ioff, int64_t m, const int64_t* is) {
          const T* p = base + ioff[0];
          if (is[0] == 1) {
            for (int64_t i = 0; i < m; ++i) acc += p[i];
          } else {
            for (int64_t i = 0; i < m; ++i) acc += p[i * is[0]];
          }
        });
        out[off[0] + j * s[0]] = static_cast<T>(acc * scale);
      }
    });
  });
}

template <class T>
void max_dim_cpu(T* values, int64_t* indices, const T* x, int64_t outer, int64_t D, int64_t inner) {
  parallel_for(0, outer * inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* p = x + (o / inner) * D * inner + o % inner;
      T best = p[0];
      int64_t best_i = 0;
      for (int64_t i = 1; i < D && !std::isnan(best); ++i) {
        const T v = p[i * inner];
        if (!(v <= best)) {  // true for a larger value and for NaN
          best = v;
          best_i = i;
        }
      }
      values[o] = best;
      indices[o] = best_i;
    }
  });
}

template <class T>
void max_dim_backward_cpu(T* dx, const T* dy, const int64_t* indices, int64_t outer, int64_t D, int64_t inner) {
  parallel_for(0, outer * inner, 16384, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      T* p = dx + (o / inner) * D * inner + o % inner;
      for (int64_t i = 0; i < D; ++i) p[i * inner] = T(0);
      p[indices[o] * inner] = dy[o];
    }
  });
}

#define NN_INSTANTIATE(T)                                                                       \
  template void sum_cpu<T>(T*, const T*, const ReduceGeometry&, double);                        \
  template void max_dim_cpu<T>(T*, int64_t*, const T*, int64_t, int64_t, int64_t);             \
  template void max_dim_backward_cpu<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
