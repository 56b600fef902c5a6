// Depthwise convolution on the CPU: direct loops over one plane at a time (kernels/cpu/conv2d_depthwise.h).
//
// A depthwise filter does R*S multiply-adds per output (9 or 25 in EfficientNet) and reads one input
// plane: im2col would copy every input R*S times to feed a GEMM whose inner dimension is only R*S, and
// spend more time copying than computing. Here each pass walks planes: an input plane (at most 112 x 112
// floats = 49 KiB in EfficientNet) is read from memory once and then stays in L1/L2 while its output
// plane is built row by row, so the traffic is one read of x and one write of y, the least possible.
//
// Every output row is split into its interior, where every tap of the filter row lies inside the
// image (no bounds test: a vectorised loop over q with the S taps unrolled, accumulating in registers),
// and its borders (a few columns, tested tap by tap). Planes are independent, so threads share them out:
// forward over (n, k), backward data over (n, c) (a channel's m filters add into one dx plane), backward
// weight over k (each thread owns whole filters, summing over images in a fixed order: deterministic).
#include "kernels/cpu/conv2d_depthwise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/parallel.h"

namespace nn {

namespace {

// The output columns [qa, qb) whose whole filter row lies inside [0, W): the interior of every row.
std::pair<int64_t, int64_t> interior_columns(const Conv2dParams& p) {
  const int64_t qa = conv2d_valid_range(-p.pad_w, p.stride_w, p.W, p.Q).first;
  const int64_t qb = conv2d_valid_range(-p.pad_w + (p.S - 1) * p.dil_w, p.stride_w, p.W, p.Q).second;
  return {qa, std::max(qa, qb)};
}

// yr[q] += sum_s wr[s] * xr[q*stride - pad + s*dil] for q in [qa, qb), every tap inside the row. KS > 0
// fixes the filter width at compile time (the taps unroll into registers), 0 takes it from S.
template <int KS, class T>
void row_interior(T* yr, const T* xr, const T* wr, int64_t qa, int64_t qb, const Conv2dParams& p) {
  const int64_t S = KS > 0 ? KS : p.S, sw = p.stride_w, dw = p.dil_w, pw = p.pad_w;
  if (qb <= qa) return;
  if (sw == 1 && dw == 1) {
    const T* xs = xr + (qa - pw);  // tap s of output qa + i reads xs[i + s]; qa >= pw
    T* ys = yr + qa;
#pragma omp simd
    for (int64_t i = 0; i < qb - qa; ++i) {
      T acc = ys[i];
      for (int64_t s = 0; s < S; ++s) acc += wr[s] * xs[i + s];
      ys[i] = acc;
    }
    return;
  }
#pragma omp simd
  for (int64_t q = qa; q < qb; ++q) {
    T acc = yr[q];
    for (int64_t s = 0; s < S; ++s) acc += wr[s] * xr[q * sw - pw + s * dw];
    yr[q] = acc;
  }
}

// yr[q] += the taps of filter row wr that fall inside [0, W), for the border columns q in [q0, q1).
template <class T>
void row_border(T* yr, const T* xr, const T* wr, int64_t q0, int64_t q1, const Conv2dParams& p) {
  for (int64_t q = q0; q < q1; ++q) {
    T acc = yr[q];
    for (int64_t s = 0; s < p.S; ++s) {
      const int64_t v = q * p.stride_w - p.pad_w + s * p.dil_w;
      if (v >= 0 && v < p.W) acc += wr[s] * xr[v];
    }
    yr[q] = acc;
  }
}

// One output plane: yp = xp (one channel) correlated with the R x S filter wk.
template <class T>
void forward_plane(T* yp, const T* xp, const T* wk, const Conv2dParams& p, std::pair<int64_t, int64_t> interior) {
  const auto [qa, qb] = interior;
  for (int64_t op = 0; op < p.P; ++op) {
    T* yr = yp + op * p.Q;
    std::fill(yr, yr + p.Q, T(0));
    for (int64_t r = 0; r < p.R; ++r) {
      const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
      if (h < 0 || h >= p.H) continue;
      const T* xr = xp + h * p.W;
      const T* wr = wk + r * p.S;
      row_border(yr, xr, wr, 0, qa, p);
      switch (p.S) {
        case 3: row_interior<3>(yr, xr, wr, qa, qb, p); break;
        case 5: row_interior<5>(yr, xr, wr, qa, qb, p); break;
        default: row_interior<0>(yr, xr, wr, qa, qb, p); break;
      }
      row_border(yr, xr, wr, qb, p.Q, p);
    }
  }
}

}  // namespace

template <class T>
void conv2d_depthwise_forward_cpu(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* ep,
                                  const Conv2dParams& p) {
  const int64_t m = p.C > 0 ? p.K / p.C : 0, PQ = p.P * p.Q, RS = p.R * p.S;
  const auto interior = interior_columns(p);
  parallel_for(0, p.N * p.K, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t n = j / p.K, k = j % p.K;
      T* yp = y + j * PQ;
      forward_plane(yp, x + (n * p.C + k / m) * p.H * p.W, w + k * RS, p, interior);
      if (ep) {
        const T a = ep->scale ? ep->scale[k] : T(1), b = ep->shift ? ep->shift[k] : T(0);
        if (ep->silu) {
          for (int64_t i = 0; i < PQ; ++i) {
            const T v = yp[i] * a + b;
            yp[i] = v / (T(1) + std::exp(-v));
          }
        } else {
#pragma omp simd
          for (int64_t i = 0; i < PQ; ++i) {
            const T v = yp[i] * a + b;
            yp[i] = ep->relu && v < T(0) ? T(0) : v;
          }
        }
      } else if (bias) {
        const T b = bias[k];
#pragma omp simd
        for (int64_t i = 0; i < PQ; ++i) yp[i] += b;
      }
    }
  });
}

// dx[n, c] = sum over the m filters k of channel c of dy[n, k] scattered back through filter k: for each
// output row and tap, dx's row h gets w[k, r, s] * dy[n, k, p, :] added at columns q*stride - pad + s*dil.
template <class T>
void conv2d_depthwise_backward_data_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p) {
  const int64_t m = p.C > 0 ? p.K / p.C : 0, HW = p.H * p.W, PQ = p.P * p.Q, RS = p.R * p.S;
  parallel_for(0, p.N * p.C, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t n = j / p.C, c = j % p.C;
      T* dxp = dx + j * HW;
      std::fill(dxp, dxp + HW, T(0));
      for (int64_t k = c * m; k < (c + 1) * m; ++k) {
        const T* dyp = dy + (n * p.K + k) * PQ;
        for (int64_t op = 0; op < p.P; ++op) {
          const T* dyr = dyp + op * p.Q;
          for (int64_t r = 0; r < p.R; ++r) {
            const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
            if (h < 0 || h >= p.H) continue;
            T* dxr = dxp + h * p.W;
            for (int64_t s = 0; s < p.S; ++s) {
              const int64_t w0 = s * p.dil_w - p.pad_w;
              const auto [q0, q1] = conv2d_valid_range(w0, p.stride_w, p.W, p.Q);
              const T wv = w[k * RS + r * p.S + s];
              if (p.stride_w == 1) {
                T* d = dxr + (q0 + w0);
                const T* g = dyr + q0;
#pragma omp simd
                for (int64_t i = 0; i < q1 - q0; ++i) d[i] += wv * g[i];
              } else {
                for (int64_t q = q0; q < q1; ++q) dxr[q * p.stride_w + w0] += wv * dyr[q];
              }
            }
          }
        }
      }
    }
  });
}

// dw[k, r, s] = sum_{n, p, q} dy[n, k, p, q] * x[n, c, h, v]: per output row, a dot product of dy's row
// with the input row under tap (r, s), added into a double accumulator per tap (rows in ascending order).
template <class T>
void conv2d_depthwise_backward_weight_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p) {
  const int64_t m = p.C > 0 ? p.K / p.C : 0, HW = p.H * p.W, PQ = p.P * p.Q, RS = p.R * p.S;
  parallel_for(0, p.K, 1, [&](int64_t k0, int64_t k1) {
    std::vector<double> acc(static_cast<size_t>(RS));
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t c = k / m;
      std::fill(acc.begin(), acc.end(), 0.0);
      double bias_sum = 0;
      for (int64_t n = 0; n < p.N; ++n) {
        const T* dyp = dy + (n * p.K + k) * PQ;
        const T* xp = x + (n * p.C + c) * HW;
        for (int64_t op = 0; op < p.P; ++op) {
          const T* dyr = dyp + op * p.Q;
          if (dbias) {
            T row = 0;
#pragma omp simd reduction(+ : row)
            for (int64_t q = 0; q < p.Q; ++q) row += dyr[q];
            bias_sum += row;
          }
          if (!dw) continue;
          for (int64_t r = 0; r < p.R; ++r) {
            const int64_t h = op * p.stride_h - p.pad_h + r * p.dil_h;
            if (h < 0 || h >= p.H) continue;
            const T* xr = xp + h * p.W;
            for (int64_t s = 0; s < p.S; ++s) {
              const int64_t w0 = s * p.dil_w - p.pad_w;
              const auto [q0, q1] = conv2d_valid_range(w0, p.stride_w, p.W, p.Q);
              T dot = 0;
              if (p.stride_w == 1) {
                const T* xs = xr + (q0 + w0);
                const T* g = dyr + q0;
#pragma omp simd reduction(+ : dot)
                for (int64_t i = 0; i < q1 - q0; ++i) dot += g[i] * xs[i];
              } else {
                for (int64_t q = q0; q < q1; ++q) dot += dyr[q] * xr[q * p.stride_w + w0];
              }
              acc[static_cast<size_t>(r * p.S + s)] += dot;
            }
          }
        }
      }
      if (dw)
        for (int64_t i = 0; i < RS; ++i) dw[k * RS + i] = static_cast<T>(acc[static_cast<size_t>(i)]);
      if (dbias) dbias[k] = static_cast<T>(bias_sum);
    }
  });
}

#define NN_INSTANTIATE(T)                                                                                     \
  template void conv2d_depthwise_forward_cpu<T>(T*, const T*, const T*, const T*, const ConvEpilogue<T>*,    \
                                                const Conv2dParams&);                                        \
  template void conv2d_depthwise_backward_data_cpu<T>(T*, const T*, const T*, const Conv2dParams&);         \
  template void conv2d_depthwise_backward_weight_cpu<T>(T*, T*, const T*, const T*, const Conv2dParams&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
