// CPU pooling kernels (see kernels/pool2d.h). Parallel over the N*C planes, which are independent.
#include "kernels/pool2d.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/math.h"
#include "base/parallel.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

namespace {

// One tap of a row of max windows: for columns q0 <= q < q1, if v[q] beats best[q] (greater, or a NaN),
// it becomes best[q] and its index base + q*step becomes best_i[q]. Selects, not branches: whether a tap
// beats the running maximum is a coin toss on activations, and the one-window-at-a-time loop's branch on it
// mispredicted about every other time (26.8 ms for ResNet-50's stem pool at batch 8 on Zen 3, ~10 ms this way;
// docs/cpu-kernels.md). The float overload does 4 columns at a time in SSE2 (every x86-64 CPU has it).
template <class T>
void keep_max(T* best, int64_t* best_i, const T* v, int64_t q0, int64_t q1, int64_t base, int64_t step) {
  for (int64_t q = q0; q < q1; ++q) {
    if (v[q] > best[q] || std::isnan(v[q])) {
      best[q] = v[q];
      best_i[q] = base + q * step;
    }
  }
}

#ifdef __SSE2__
void keep_max(float* best, int64_t* best_i, const float* v, int64_t q0, int64_t q1, int64_t base, int64_t step) {
  int64_t q = q0;
  const __m128i step2 = _mm_set1_epi64x(2 * step);
  for (; q + 4 <= q1; q += 4) {
    const __m128 x = _mm_loadu_ps(v + q), b = _mm_loadu_ps(best + q);
    const __m128 take = _mm_or_ps(_mm_cmpgt_ps(x, b), _mm_cmpunord_ps(x, x));
    _mm_storeu_ps(best + q, _mm_or_ps(_mm_and_ps(take, x), _mm_andnot_ps(take, b)));
    const __m128i t = _mm_castps_si128(take);
    const __m128i t01 = _mm_unpacklo_epi32(t, t), t23 = _mm_unpackhi_epi32(t, t);  // 32-bit masks to 64-bit
    const __m128i i01 = _mm_set_epi64x(base + (q + 1) * step, base + q * step), i23 = _mm_add_epi64(i01, step2);
    __m128i* out = reinterpret_cast<__m128i*>(best_i + q);
    const __m128i o01 = _mm_loadu_si128(out), o23 = _mm_loadu_si128(out + 1);
    _mm_storeu_si128(out, _mm_or_si128(_mm_and_si128(t01, i01), _mm_andnot_si128(t01, o01)));
    _mm_storeu_si128(out + 1, _mm_or_si128(_mm_and_si128(t23, i23), _mm_andnot_si128(t23, o23)));
  }
  keep_max<float>(best, best_i, v, q, q1, base, step);  // the template's loop for the last 0-3 columns
}
#endif

}  // namespace

// One output row at a time, the window's taps outermost and the output columns innermost: each tap's
// input values (copied out of the input row into a contiguous run when strided) go to keep_max, which
// updates the whole row of running maxima. Per output the taps come in row-major window order, so the first maximum
// wins and a NaN always wins.
template <class T>
void max_pool2d_forward_cpu(T* y, int64_t* argmax, const T* x, const Pool2dParams& p) {
  // Output columns whose window column s (0 <= s < S) lies inside the input: [first[s], last[s]).
  std::vector<int64_t> first(p.S), last(p.S);
  for (int64_t s = 0; s < p.S; ++s) {
    const int64_t off = s * p.dil_w - p.pad_w;  // input column of output 0's tap s
    first[s] = std::min(p.Q, off >= 0 ? 0 : ceil_div(-off, p.stride_w));
    last[s] = std::max(first[s], std::min(p.Q, p.W - off > 0 ? ceil_div(p.W - off, p.stride_w) : 0));
  }
  // Each output's first inside column: its argmax when every value is -inf.
  std::vector<int64_t> w_first(p.Q);
  for (int64_t oq = 0; oq < p.Q; ++oq) {
    int64_t w0 = oq * p.stride_w - p.pad_w;
    while (w0 < 0) w0 += p.dil_w;
    w_first[oq] = w0;
  }
  parallel_for(0, p.N * p.C, 1, [&](int64_t j0, int64_t j1) {
    std::vector<T> tap(p.Q);
    for (int64_t j = j0; j < j1; ++j) {
      const T* in = x + j * p.H * p.W;
      for (int64_t op = 0; op < p.P; ++op) {
        T* const best = y + (j * p.P + op) * p.Q;
        int64_t* const best_i = argmax + (j * p.P + op) * p.Q;
        int64_t h0 = op * p.stride_h - p.pad_h;
        const int64_t h1 = std::min(h0 + (p.R - 1) * p.dil_h + 1, p.H);
        while (h0 < 0) h0 += p.dil_h;
        for (int64_t oq = 0; oq < p.Q; ++oq) {
          best[oq] = -std::numeric_limits<T>::infinity();
          best_i[oq] = h0 * p.W + w_first[oq];
        }
        for (int64_t h = h0; h < h1; h += p.dil_h) {
          for (int64_t s = 0; s < p.S; ++s) {
            const int64_t off = s * p.dil_w - p.pad_w;
            const T* row = in + h * p.W + off;
            const int64_t q0 = first[s], q1 = last[s], step = p.stride_w;  // locals: not reloaded after each store
            if (step != 1) {  // a strided row: its taps into a contiguous run first
              for (int64_t oq = q0; oq < q1; ++oq) tap[oq] = row[oq * step];
              row = tap.data();
            }
            keep_max(best, best_i, row, q0, q1, h * p.W + off, step);
          }
        }
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
