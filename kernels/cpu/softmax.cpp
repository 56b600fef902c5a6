// CPU softmax and log_softmax (see kernels/softmax.h). Parallel over rows (outer * inner of them);
// each row's sums are accumulated in double.
#include "kernels/softmax.h"

#include <cmath>

#include "base/parallel.h"

namespace nn {

template <class T>
void softmax_forward_cpu(SoftmaxKind kind, T* y, const T* x, int64_t outer, int64_t D, int64_t inner) {
  parallel_for(0, outer * inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t base = (row / inner) * D * inner + row % inner;
      const T* in = x + base;
      T* out = y + base;
      T m = in[0];
      for (int64_t i = 1; i < D; ++i) m = std::max(m, in[i * inner]);
      double sum = 0;
      for (int64_t i = 0; i < D; ++i) sum += std::exp(static_cast<double>(in[i * inner] - m));
      if (kind == SoftmaxKind::softmax) {
        for (int64_t i = 0; i < D; ++i) out[i * inner] = static_cast<T>(std::exp(static_cast<double>(in[i * inner] - m)) / sum);
      } else {
        const T shift = static_cast<T>(std::log(sum));
        for (int64_t i = 0; i < D; ++i) out[i * inner] = in[i * inner] - m - shift;
      }
    }
  });
}

template <class T>
void softmax_backward_cpu(SoftmaxKind kind, T* dx, const T* dy, const T* y, int64_t outer, int64_t D, int64_t inner) {
  parallel_for(0, outer * inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(D, 1)), [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t base = (row / inner) * D * inner + row % inner;
      const T *g = dy + base, *out = y + base;
      T* d = dx + base;
      double acc = 0;
      if (kind == SoftmaxKind::softmax) {
        for (int64_t i = 0; i < D; ++i) acc += static_cast<double>(g[i * inner]) * out[i * inner];
        const T s = static_cast<T>(acc);
        for (int64_t i = 0; i < D; ++i) d[i * inner] = out[i * inner] * (g[i * inner] - s);
      } else {
        for (int64_t i = 0; i < D; ++i) acc += g[i * inner];
        const T s = static_cast<T>(acc);
        for (int64_t i = 0; i < D; ++i) d[i * inner] = g[i * inner] - std::exp(out[i * inner]) * s;
      }
    }
  });
}

#define NN_INSTANTIATE(T)                                                                                  \
  template void softmax_forward_cpu<T>(SoftmaxKind, T*, const T*, int64_t, int64_t, int64_t);              \
  template void softmax_backward_cpu<T>(SoftmaxKind, T*, const T*, const T*, int64_t, int64_t, int64_t);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
