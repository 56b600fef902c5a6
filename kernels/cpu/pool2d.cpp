// CPU pooling kernels (see kernels/pool2d.h). Parallel over the N*C planes, which are independent.
#include "kernels/pool2d.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/math.h"
#include "base/parallel.h"

namespace nn {

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode) {
  const int64_t numerator = in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  // floor division, also for a negative numerator (an input smaller than the window)
  int64_t out = (numerator >= 0 ? numerator / stride : -ceil_div(-numerator, stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

namespace {

template <class F>
void for_planes(const Pool2dParams& p, F&& f) {
  parallel_for(0, p.N * p.C, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) f(j);
  });
}

// The clipped average window of output (op, oq) and its divisor.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  double divisor;
};

AvgWindow avg_window(const Pool2dParams& p, int64_t op, int64_t oq) {
  int64_t h0 = op * p.stride_h - p.pad_h, w0 = oq * p.stride_w - p.pad_w;
  int64_t h1 = std::min(h0 + p.R, p.H + p.pad_h), w1 = std::min(w0 + p.S, p.W + p.pad_w);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, p.H), w1 = std::min(w1, p.W);
  const int64_t inside = std::max<int64_t>(h1 - h0, 0) * std::max<int64_t>(w1 - w0, 0);
  return {h0, h1, w0, w1, static_cast<double>(p.count_include_pad ? padded : inside)};
}

int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ceil_div((i + 1) * in, out); }

}  // namespace

template <class T>
void max_pool2d_forward_cpu(T* y, int64_t* argmax, const T* x, const Pool2dParams& p) {
  for_planes(p, [&](int64_t j) {
    const T* in = x + j * p.H * p.W;
    for (int64_t op = 0; op < p.P; ++op) {
      for (int64_t oq = 0; oq < p.Q; ++oq) {
        int64_t h0 = op * p.stride_h - p.pad_h, w0 = oq * p.stride_w - p.pad_w;
        const int64_t h1 = std::min(h0 + (p.R - 1) * p.dil_h + 1, p.H);
        const int64_t w1 = std::min(w0 + (p.S - 1) * p.dil_w + 1, p.W);
        while (h0 < 0) h0 += p.dil_h;
        while (w0 < 0) w0 += p.dil_w;
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_i = h0 * p.W + w0;
        for (int64_t h = h0; h < h1; h += p.dil_h) {
          for (int64_t w = w0; w < w1; w += p.dil_w) {
            const T v = in[h * p.W + w];
            if (v > best || std::isnan(v)) {
              best = v;
              best_i = h * p.W + w;
            }
          }
        }
        const int64_t o = (j * p.P + op) * p.Q + oq;
        y[o] = best;
        argmax[o] = best_i;
      }
    }
  });
}

template <class T>
void max_pool2d_backward_cpu(T* dx, const T* dy, const int64_t* argmax, const Pool2dParams& p) {
  for_planes(p, [&](int64_t j) {
    T* out = dx + j * p.H * p.W;
    std::fill(out, out + p.H * p.W, T(0));
    for (int64_t o = j * p.P * p.Q; o < (j + 1) * p.P * p.Q; ++o) out[argmax[o]] += dy[o];
  });
}

template <class T>
void avg_pool2d_forward_cpu(T* y, const T* x, const Pool2dParams& p) {
  for_planes(p, [&](int64_t j) {
    const T* in = x + j * p.H * p.W;
    for (int64_t op = 0; op < p.P; ++op) {
      for (int64_t oq = 0; oq < p.Q; ++oq) {
        const AvgWindow a = avg_window(p, op, oq);
        double sum = 0;
        for (int64_t h = a.h0; h < a.h1; ++h)
          for (int64_t w = a.w0; w < a.w1; ++w) sum += in[h * p.W + w];
        const bool empty = a.h0 >= a.h1 || a.w0 >= a.w1;
        y[(j * p.P + op) * p.Q + oq] = empty ? T(0) : static_cast<T>(sum / a.divisor);
      }
    }
  });
}

template <class T>
void avg_pool2d_backward_cpu(T* dx, const T* dy, const Pool2dParams& p) {
  for_planes(p, [&](int64_t j) {
    T* out = dx + j * p.H * p.W;
    std::fill(out, out + p.H * p.W, T(0));
    for (int64_t op = 0; op < p.P; ++op) {
      for (int64_t oq = 0; oq < p.Q; ++oq) {
        const AvgWindow a = avg_window(p, op, oq);
        const T g = static_cast<T>(dy[(j * p.P + op) * p.Q + oq] / a.divisor);
        for (int64_t h = a.h0; h < a.h1; ++h)
          for (int64_t w = a.w0; w < a.w1; ++w) out[h * p.W + w] += g;
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_forward_cpu(T* y, const T* x, const Pool2dParams& p) {
  for_planes(p, [&](int64_t j) {
    const T* in = x + j * p.H * p.W;
    for (int64_t op = 0; op < p.P; ++op) {
      const int64_t h0 = adaptive_start(op, p.H, p.P), h1 = adaptive_end(op, p.H, p.P);
      for (int64_t oq = 0; oq < p.Q; ++oq) {
        const int64_t w0 = adaptive_start(oq, p.W, p.Q), w1 = adaptive_end(oq, p.W, p.Q);
        double sum = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) sum += in[h * p.W + w];
        y[(j * p.P + op) * p.Q + oq] = static_cast<T>(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
      }
    }
  });
}

template <class T>
void adaptive_avg_pool2d_backward_cpu(T* dx, const T* dy, const Pool2dParams& p) {
  for_planes(p, [&](int64_t j) {
    T* out = dx + j * p.H * p.W;
    std::fill(out, out + p.H * p.W, T(0));
    for (int64_t op = 0; op < p.P; ++op) {
      const int64_t h0 = adaptive_start(op, p.H, p.P), h1 = adaptive_end(op, p.H, p.P);
      for (int64_t oq = 0; oq < p.Q; ++oq) {
        const int64_t w0 = adaptive_start(oq, p.W, p.Q), w1 = adaptive_end(oq, p.W, p.Q);
        const T g = static_cast<T>(dy[(j * p.P + op) * p.Q + oq] / static_cast<double>((h1 - h0) * (w1 - w0)));
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) out[h * p.W + w] += g;
      }
    }
  });
}

#define NN_INSTANTIATE(T)                                                                           \
  template void max_pool2d_forward_cpu<T>(T*, int64_t*, const T*, const Pool2dParams&);             \
  template void max_pool2d_backward_cpu<T>(T*, const T*, const int64_t*, const Pool2dParams&);      \
  template void avg_pool2d_forward_cpu<T>(T*, const T*, const Pool2dParams&);                       \
  template void avg_pool2d_backward_cpu<T>(T*, const T*, const Pool2dParams&);                      \
  template void adaptive_avg_pool2d_forward_cpu<T>(T*, const T*, const Pool2dParams&);              \
  template void adaptive_avg_pool2d_backward_cpu<T>(T*, const T*, const Pool2dParams&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
