// Reference conv2d: the direct loops of kernels/conv2d.h, the specification the fast path is tested
// against. Accumulates in double. Parallel over independent outputs only, so it is deterministic.
// Groups: filter k belongs to group k / Kg and reads input channels g*Cg .. g*Cg + Cg - 1 (Cg = C/G,
// Kg = K/G); its weights are w[k, 0..Cg-1, :, :].
#include "base/parallel.h"
#include "kernels/conv2d.h"

#include <vector>

namespace nn {

template <class T>
void conv2d_forward_reference_cpu(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
  parallel_for(0, p.N * p.K, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t n = j / p.K, k = j % p.K, Cg = p.C / p.G, c0 = k / (p.K / p.G) * Cg;
      for (int64_t op = 0; op < p.P; ++op) {
        for (int64_t oq = 0; oq < p.Q; ++oq) {
          double acc = bias ? bias[k] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < p.R; ++r)
              for (int64_t s = 0; s < p.S; ++s) {
                const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
                const int64_t v = oq * p.stride_w - p.pad_w + s * p.dil_w;
                if (h < 0 || h >= p.H || v < 0 || v >= p.W) continue;
                acc += static_cast<double>(w[((k * Cg + c) * p.R + r) * p.S + s]) *
                       x[((n * p.C + c0 + c) * p.H + h) * p.W + v];
              }
          y[((n * p.K + k) * p.P + op) * p.Q + oq] = static_cast<T>(acc);
        }
      }
    }
  });
}

template <class T>
void conv2d_backward_data_reference_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p) {
  parallel_for(0, p.N * p.C, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t n = j / p.C, c = j % p.C, Cg = p.C / p.G, Kg = p.K / p.G, g = c / Cg, cg = c % Cg;
      std::vector<double> acc(static_cast<size_t>(p.H * p.W), 0.0);
      for (int64_t k = g * Kg; k < (g + 1) * Kg; ++k)
        for (int64_t r = 0; r < p.R; ++r)
          for (int64_t s = 0; s < p.S; ++s)
            for (int64_t op = 0; op < p.P; ++op)
              for (int64_t oq = 0; oq < p.Q; ++oq) {
                const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
                const int64_t v = oq * p.stride_w - p.pad_w + s * p.dil_w;
                if (h < 0 || h >= p.H || v < 0 || v >= p.W) continue;
                acc[h * p.W + v] += static_cast<double>(w[((k * Cg + cg) * p.R + r) * p.S + s]) *
                                    dy[((n * p.K + k) * p.P + op) * p.Q + oq];
              }
      for (int64_t i = 0; i < p.H * p.W; ++i) dx[(n * p.C + c) * p.H * p.W + i] = static_cast<T>(acc[i]);
    }
  });
}

template <class T>
void conv2d_backward_weight_reference_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p) {
  if (dw) {
    const int64_t Cg = p.C / p.G;
    parallel_for(0, p.K * Cg, 1, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const int64_t k = j / Cg, c = j % Cg, ci = k / (p.K / p.G) * Cg + c;  // ci: the input channel
        for (int64_t r = 0; r < p.R; ++r)
          for (int64_t s = 0; s < p.S; ++s) {
            double acc = 0;
            for (int64_t n = 0; n < p.N; ++n)
              for (int64_t op = 0; op < p.P; ++op)
                for (int64_t oq = 0; oq < p.Q; ++oq) {
                  const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
                  const int64_t v = oq * p.stride_w - p.pad_w + s * p.dil_w;
                  if (h < 0 || h >= p.H || v < 0 || v >= p.W) continue;
                  acc += static_cast<double>(dy[((n * p.K + k) * p.P + op) * p.Q + oq]) *
                         x[((n * p.C + ci) * p.H + h) * p.W + v];
                }
            dw[((k * Cg + c) * p.R + r) * p.S + s] = static_cast<T>(acc);
          }
      }
    });
  }
  if (dbias) {
    for (int64_t k = 0; k < p.K; ++k) {
      double acc = 0;
      for (int64_t n = 0; n < p.N; ++n)
        for (int64_t i = 0; i < p.P * p.Q; ++i) acc += dy[(n * p.K + k) * p.P * p.Q + i];
      dbias[k] = static_cast<T>(acc);
    }
  }
}

#define NN_INSTANTIATE(T)                                                                              \
  template void conv2d_forward_reference_cpu<T>(T*, const T*, const T*, const T*, const Conv2dParams&); \
  template void conv2d_backward_data_reference_cpu<T>(T*, const T*, const T*, const Conv2dParams&);    \
  template void conv2d_backward_weight_reference_cpu<T>(T*, T*, const T*, const T*, const Conv2dParams&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
