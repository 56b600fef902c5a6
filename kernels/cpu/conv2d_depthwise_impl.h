// The depthwise kernels' bodies (kernels/cpu/conv2d_depthwise.cpp explains them), compiled twice: for the
// baseline ISA (conv2d_depthwise.cpp) and with AVX2 + FMA (conv2d_depthwise_avx2.cpp), each inside its own
// namespace NN_DEPTHWISE_ISA; conv2d_depthwise.cpp picks one at run time by CPUID.
//
// Every pass works on one plane at a time through a padded copy: the input plane with its zero border
// (forward, backward weight) or the output-gradient plane spread out by the stride and bordered
// (backward data), held in a per-thread buffer that stays in L1/L2. Every tap then reads inside the
// buffer, so the inner loop over output columns has no bounds tests and vectorises, with the taps of a
// filter row unrolled (3 and 5 fixed at compile time).
//
// The AVX2 copy must not define anything the baseline copy also defines: the linker keeps one copy of an
// inline function or template instantiated in both (std::fill<float*>, std::vector<float>'s members), and if
// it kept the AVX2 one, a CPU without AVX2 would run it. So this file uses plain loops and the buffer
// type of kernels/cpu/scratch.h (one per file), and everything it defines lives in namespace NN_DEPTHWISE_ISA
// (parallel_for's instantiations take lambdas, whose types are local to the file).
#include <cstdint>

#include "base/parallel.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/scratch.h"    // Scratch: a copy per file
#include "kernels/cpu/vec_math.h"  // exp_vec: static, a copy per file

namespace nn::NN_DEPTHWISE_ISA {

namespace {

template <class T>
void set(T* d, int64_t n, T v) {
  for (int64_t i = 0; i < n; ++i) d[i] = v;
}

// o[p*Q + q] += sum_{r,s} w[r*S + s] * X[(p*sh + r*dh)*ldx + q*sw + s*dw] for p < P, q < Q; every read in
// bounds. KS > 0 fixes S.
template <int KS, class T>
void correlate(T* o, int64_t P, int64_t Q, const T* X, int64_t ldx, const T* w, int64_t R, int64_t S_, int64_t sh,
               int64_t sw, int64_t dh, int64_t dw) {
  const int64_t S = KS > 0 ? KS : S_;
  for (int64_t p = 0; p < P; ++p) {
    T* op = o + p * Q;
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = X + (p * sh + r * dh) * ldx;
      const T* wr = w + r * S;
      if (sw == 1 && dw == 1) {
#pragma omp simd
        for (int64_t q = 0; q < Q; ++q) {
          T acc = op[q];
          for (int64_t s = 0; s < S; ++s) acc += wr[s] * xr[q + s];
          op[q] = acc;
        }
      } else {
#pragma omp simd
        for (int64_t q = 0; q < Q; ++q) {
          T acc = op[q];
          for (int64_t s = 0; s < S; ++s) acc += wr[s] * xr[q * sw + s * dw];
          op[q] = acc;
        }
      }
    }
  }
}

template <class T>
void correlate_any(T* o, int64_t P, int64_t Q, const T* X, int64_t ldx, const T* w, int64_t R, int64_t S, int64_t sh,
                   int64_t sw, int64_t dh, int64_t dw) {
  switch (S) {
    case 3: return correlate<3>(o, P, Q, X, ldx, w, R, S, sh, sw, dh, dw);
    case 5: return correlate<5>(o, P, Q, X, ldx, w, R, S, sh, sw, dh, dw);
    default: return correlate<0>(o, P, Q, X, ldx, w, R, S, sh, sw, dh, dw);
  }
}

// buf [(H + 2 ph) x (W + 2 pw)] = the plane x [H x W] inside a zero border.
template <class T>
void pad_plane(T* buf, const T* x, const Conv2dParams& p) {
  const int64_t Wp = p.W + 2 * p.pad_w, Hp = p.H + 2 * p.pad_h;
  set(buf, p.pad_h * Wp, T(0));
  for (int64_t h = 0; h < p.H; ++h) {
    T* row = buf + (h + p.pad_h) * Wp;
    const T* src = x + h * p.W;
    set(row, p.pad_w, T(0));
    for (int64_t v = 0; v < p.W; ++v) row[p.pad_w + v] = src[v];
    set(row + p.pad_w + p.W, p.pad_w, T(0));
  }
  set(buf + (p.H + p.pad_h) * Wp, (Hp - p.H - p.pad_h) * Wp, T(0));
}

}  // namespace

template <class T>
void depthwise_forward(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* ep, const Conv2dParams& p) {
  const int64_t m = p.C > 0 ? p.K / p.C : 0, PQ = p.P * p.Q, RS = p.R * p.S;
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w;
  parallel_for(0, p.N * p.K, 1, [&](int64_t j0, int64_t j1) {
    Scratch<T> buf(Hp * Wp);
    int64_t padded = -1;  // the input plane now in buf (consecutive filters of one channel share it)
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t n = j / p.K, k = j % p.K, plane = n * p.C + k / m;
      if (plane != padded) pad_plane(buf.data, x + plane * p.H * p.W, p), padded = plane;
      T* yp = y + j * PQ;
      set(yp, PQ, T(0));
      correlate_any(yp, p.P, p.Q, buf.data, Wp, w + k * RS, p.R, p.S, p.stride_h, p.stride_w, p.dil_h, p.dil_w);
      if (ep) {
        const T a = ep->scale ? ep->scale[k] : T(1), b = ep->shift ? ep->shift[k] : T(0);
        if (ep->silu) {
#pragma omp simd
          for (int64_t i = 0; i < PQ; ++i) {
            const T v = yp[i] * a + b;
            yp[i] = v / (T(1) + exp_vec(-v));
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

// dx[n, c] = sum over the channel's m filters of the stride-1 correlation of U with the flipped filter,
// where U [(H + (R-1) dh) x (W + (S-1) dw)] holds dy[n, k, p, q] at (p sh + (R-1) dh - ph, q sw + (S-1) dw -
// pw) and zeros elsewhere: dx[h, v] = sum_{r,s} w[R-1-r, S-1-s] U[h + r dh, v + s dw] is exactly the sum of
// w[r', s'] dy[p, q] over the taps that read x[h, v] (kernels/conv2d.h). Values of dy that fall outside U
// read only padding in the forward pass and contribute nothing.
template <class T>
void depthwise_backward_data(T* dx, const T* dy, const T* w, const Conv2dParams& p) {
  const int64_t m = p.C > 0 ? p.K / p.C : 0, HW = p.H * p.W, PQ = p.P * p.Q, RS = p.R * p.S;
  const int64_t Hu = p.H + (p.R - 1) * p.dil_h, Wu = p.W + (p.S - 1) * p.dil_w;
  const int64_t off_h = (p.R - 1) * p.dil_h - p.pad_h, off_w = (p.S - 1) * p.dil_w - p.pad_w;
  parallel_for(0, p.N * p.C, 1, [&](int64_t j0, int64_t j1) {
    Scratch<T> U(Hu * Wu), flipped(RS);
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t n = j / p.C, c = j % p.C;
      T* dxp = dx + j * HW;
      set(dxp, HW, T(0));
      for (int64_t k = c * m; k < (c + 1) * m; ++k) {
        for (int64_t i = 0; i < RS; ++i) flipped.data[i] = w[k * RS + RS - 1 - i];
        set(U.data, Hu * Wu, T(0));
        const T* dyp = dy + (n * p.K + k) * PQ;
        for (int64_t op = 0; op < p.P; ++op) {
          const int64_t u = op * p.stride_h + off_h;
          if (u < 0 || u >= Hu) continue;
          T* ur = U.data + u * Wu;
          for (int64_t oq = 0; oq < p.Q; ++oq) {
            const int64_t v = oq * p.stride_w + off_w;
            if (v >= 0 && v < Wu) ur[v] = dyp[op * p.Q + oq];
          }
        }
        correlate_any(dxp, p.H, p.W, U.data, Wu, flipped.data, p.R, p.S, 1, 1, p.dil_h, p.dil_w);
      }
    }
  });
}

// dw[k, r, s] = sum_{n, p, q} dy[n, k, p, q] X[p sh + r dh, q sw + s dw] with X the padded input plane.
// Per image, A[r, s, q] accumulates dy[p, q] X[...] over the output rows p: the same vectorised
// multiply-add along q as the forward pass (a whole plane's dot products at once, not one short dot
// product per row and tap); then each tap's Q lanes are summed into a double accumulator, images in order.
template <class T>
void depthwise_backward_weight(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p) {
  const int64_t m = p.C > 0 ? p.K / p.C : 0, HW = p.H * p.W, PQ = p.P * p.Q, RS = p.R * p.S;
  const int64_t Hp = p.H + 2 * p.pad_h, Wp = p.W + 2 * p.pad_w;
  parallel_for(0, p.K, 1, [&](int64_t k0, int64_t k1) {
    Scratch<double> acc(RS);
    Scratch<T> buf(Hp * Wp), A(RS * p.Q);
    for (int64_t k = k0; k < k1; ++k) {
      set(acc.data, RS, 0.0);
      double bias_sum = 0;
      for (int64_t n = 0; n < p.N; ++n) {
        const T* dyp = dy + (n * p.K + k) * PQ;
        if (dbias) {
          T s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < PQ; ++i) s += dyp[i];
          bias_sum += s;
        }
        if (!dw) continue;
        pad_plane(buf.data, x + (n * p.C + k / m) * HW, p);
        set(A.data, RS * p.Q, T(0));
        for (int64_t op = 0; op < p.P; ++op) {
          const T* g = dyp + op * p.Q;
          for (int64_t r = 0; r < p.R; ++r) {
            const T* xr = buf.data + (op * p.stride_h + r * p.dil_h) * Wp;
            for (int64_t s = 0; s < p.S; ++s) {
              T* a = A.data + (r * p.S + s) * p.Q;
              const T* xs = xr + s * p.dil_w;
              if (p.stride_w == 1) {
#pragma omp simd
                for (int64_t q = 0; q < p.Q; ++q) a[q] += g[q] * xs[q];
              } else {
#pragma omp simd
                for (int64_t q = 0; q < p.Q; ++q) a[q] += g[q] * xs[q * p.stride_w];
              }
            }
          }
        }
        for (int64_t i = 0; i < RS; ++i) {  // P products per lane in float, the lanes in double
          double sum = 0;
          for (int64_t q = 0; q < p.Q; ++q) sum += A.data[i * p.Q + q];
          acc.data[i] += sum;
        }
      }
      if (dw)
        for (int64_t i = 0; i < RS; ++i) dw[k * RS + i] = static_cast<T>(acc.data[i]);
      if (dbias) dbias[k] = static_cast<T>(bias_sum);
    }
  });
}

#define NN_INSTANTIATE(T)                                                                                         \
  template void depthwise_forward<T>(T*, const T*, const T*, const T*, const ConvEpilogue<T>*, const Conv2dParams&); \
  template void depthwise_backward_data<T>(T*, const T*, const T*, const Conv2dParams&);                         \
  template void depthwise_backward_weight<T>(T*, T*, const T*, const T*, const Conv2dParams&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn::NN_DEPTHWISE_ISA
