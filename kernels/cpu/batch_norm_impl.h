// The CPU batch norm's bodies (kernels/cpu/batch_norm.cpp explains them), compiled three times: for the
// baseline ISA (batch_norm.cpp), with AVX2 (batch_norm_avx2.cpp) and with AVX-512 (batch_norm_avx512.cpp),
// each inside its own namespace NN_BATCH_NORM_ISA; batch_norm.cpp picks one at run time by CPUID.
//
// The arithmetic is the same in every copy and so are the results, bit for bit: the sums run in double over
// LaneSum's 16 fixed lanes (kernels/cpu/lane_sum.h), which a wider vector only holds in fewer registers, and the
// vector files are compiled with -ffp-contract=off (no fused multiply-adds: a * b + c rounds twice, as in the
// baseline). Only the speed differs: 2 doubles per SSE2 instruction, 4 with AVX2, 8 with AVX-512, where the
// float -> double conversions and the double arithmetic of these passes were the bound (ResNet-50's batch norms
// on Zen 5: docs/cpu-kernels.md).
//
// As in conv2d_depthwise_impl.h, nothing here may be defined in more than one copy under the same name (the
// linker would keep one, perhaps the AVX-512 one for every CPU): everything is in namespace NN_BATCH_NORM_ISA,
// lane_sum.h's templates in namespace NN_LANE_SUM_ISA (defined by each vector file before any include), the
// scratch buffer is kernels/cpu/scratch.h's (a type per file) rather than std::vector, and parallel_for's
// instantiations take lambdas, whose types are local to the file.
#include <cmath>
#include <cstdint>

#include "base/parallel.h"
#include "kernels/batch_norm.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/cpu/scratch.h"
#include "kernels/cpu/vec_math.h"

namespace nn::NN_BATCH_NORM_ISA {

namespace {

// Calls f(pointer to the HW values of (n, c)) for every n.
template <class T, class F>
void for_channel(const T* base, int64_t c, const BatchNormParams& p, F&& f) {
  for (int64_t n = 0; n < p.N; ++n) f(base + (n * p.C + c) * p.HW, n);
}

// Training forward; with Relu, y = max(bn(x), 0) (NaN stays NaN) written in the same pass.
template <class T, bool Relu>
void forward_train_impl(T* y, T* mean, T* invstd, T* var, const T* x, const T* gamma, const T* beta,
                        const BatchNormParams& p) {
  const double M = static_cast<double>(p.N * p.HW);
  parallel_for(0, p.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double sum = 0;
      for_channel(x, c, p, [&](const T* v, int64_t) { sum += lane_sum(v, p.HW); });
      const double mu = sum / M;
      double sq = 0;
      for_channel(x, c, p, [&](const T* v, int64_t) { sq += lane_sum_sq(v, p.HW, mu); });
      const double variance = sq / M, istd = 1.0 / std::sqrt(variance + p.eps);
      mean[c] = static_cast<T>(mu);
      var[c] = static_cast<T>(variance);
      invstd[c] = static_cast<T>(istd);
      // (x - mean) in double: with |mean| >> std, x * scale + shift in float would cancel digits away
      const double scale = istd * (gamma ? gamma[c] : 1.0), shift = beta ? beta[c] : 0.0;
      for_channel(x, c, p, [&](const T* v, int64_t n) {
        T* out = y + (n * p.C + c) * p.HW;
#pragma omp simd  // element-wise: each element computed alone, the same result vectorised
        for (int64_t i = 0; i < p.HW; ++i) {
          const T h = static_cast<T>((v[i] - mu) * scale + shift);
          out[i] = Relu ? relu_vec(h) : h;  // NaN stays NaN, as relu()
        }
      });
    }
  });
}

}  // namespace

template <class T>
void forward_eval(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma, const T* beta,
                  const BatchNormParams& p) {
  parallel_for(0, p.N * p.C, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t c = j % p.C;
      const double istd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + p.eps);
      const double scale = istd * (gamma ? gamma[c] : 1.0), shift = beta ? beta[c] : 0.0;
      const double mu = running_mean[c];
      const T* v = x + j * p.HW;
      T* out = y + j * p.HW;
#pragma omp simd  // element-wise: each element computed alone, the same result vectorised
      for (int64_t i = 0; i < p.HW; ++i) out[i] = static_cast<T>((v[i] - mu) * scale + shift);
    }
  });
}

namespace {

// Training backward. With `out` (batch norm + ReLU: the forward's output), the gradient reaching the batch
// norm is 0 where out <= 0 and dy elsewhere (ReLU's, as PyTorch's threshold_backward on the result): one
// channel's masked dy is made once into a buffer and read by both passes below.
template <class T>
void backward_train_impl(T* dx, T* dgamma, T* dbeta, const T* dy, const T* out, const T* x, const T* invstd,
                         const T* gamma, const BatchNormParams& p) {
  const double M = static_cast<double>(p.N * p.HW);
  parallel_for(0, p.C, 1, [&](int64_t c0, int64_t c1) {
    Scratch<T> masked_dy(out ? p.N * p.HW : 0);  // one channel's, all images
    for (int64_t c = c0; c < c1; ++c) {
      // The gradient reaching the batch norm in image n's plane g of dy: g itself, or (with out) its masked
      // copy, made by the first pass and read again by the second.
      auto mask = [&](const T* g, int64_t n) -> const T* {
        if (!out) return g;
        T* m = masked_dy.data + n * p.HW;
        const T* o = out + (n * p.C + c) * p.HW;
#pragma omp simd  // element-wise: each element computed alone, the same result vectorised
        for (int64_t i = 0; i < p.HW; ++i) m[i] = relu_grad_vec(g[i], o[i]);  // a NaN output passes dy, as relu()
        return m;
      };
      auto masked = [&](const T* g, int64_t n) -> const T* { return out ? masked_dy.data + n * p.HW : g; };
      // The mean is recomputed in double (a saved one would be rounded to T): with |mean| >> std, x - mean
      // in float would shift every element of the channel by the rounding error.
      const double istd = invstd[c];
      double sum_x = 0, sum_dy = 0, sum_dy_x = 0;
      for_channel(dy, c, p, [&](const T* g, int64_t n) {
        const T* v = x + (n * p.C + c) * p.HW;
        sum_x += lane_sum(v, p.HW);
        lane_sum_dot(mask(g, n), v, p.HW, 0.0, sum_dy, sum_dy_x);
      });
      const double mu = sum_x / M, sum_dy_xmu = sum_dy_x - mu * sum_dy;
      const double sum_dy_xhat = sum_dy_xmu * istd;
      if (dgamma) dgamma[c] = static_cast<T>(sum_dy_xhat);
      if (dbeta) dbeta[c] = static_cast<T>(sum_dy);
      if (!dx) continue;
      // dx = k * (dy - sum_dy/M - (x - mu) * istd^2 * sum_dy_xmu / M), k = gamma * istd, evaluated in
      // double and rounded once. The terms cancel: the true dx sums to exactly 0 over each channel, and
      // float32 coefficients would leave a systematic per-channel offset of about M * ulp(mean(dy)) that
      // the next layers (and a preceding bias) turn into a gradient error of 1e-3 or more in deep nets.
      const double k = (gamma ? gamma[c] : 1.0) * istd;
      const double mean_dy = sum_dy / M, proj = istd * istd * sum_dy_xmu / M;
      for_channel(dy, c, p, [&](const T* g0, int64_t n) {
        const T* g = masked(g0, n);
        const T* v = x + (n * p.C + c) * p.HW;
        T* d = dx + (n * p.C + c) * p.HW;
#pragma omp simd  // element-wise: each element computed alone, the same result vectorised
        for (int64_t i = 0; i < p.HW; ++i) d[i] = static_cast<T>(k * (g[i] - mean_dy - (v[i] - mu) * proj));
      });
    }
  });
}

}  // namespace

template <class T>
void backward_eval(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* running_mean,
                                  const T* running_var, const T* gamma, const BatchNormParams& p) {
  parallel_for(0, p.C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const double mu = running_mean[c], istd = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + p.eps);
      if (dgamma || dbeta) {  // x is read only for dgamma
        double sum_dy = 0, sum_dy_xmu = 0;
        for_channel(dy, c, p, [&](const T* g, int64_t n) {
          if (!dgamma) {
            sum_dy += lane_sum(g, p.HW);
            return;
          }
          lane_sum_dot(g, x + (n * p.C + c) * p.HW, p.HW, mu, sum_dy, sum_dy_xmu);
        });
        if (dgamma) dgamma[c] = static_cast<T>(sum_dy_xmu * istd);
        if (dbeta) dbeta[c] = static_cast<T>(sum_dy);
      }
      if (!dx) continue;
      const T a = static_cast<T>((gamma ? gamma[c] : 1.0) * istd);
      for_channel(dy, c, p, [&](const T* g, int64_t n) {
        T* out = dx + (n * p.C + c) * p.HW;
#pragma omp simd  // element-wise: each element computed alone, the same result vectorised
        for (int64_t i = 0; i < p.HW; ++i) out[i] = g[i] * a;
      });
    }
  });
}

// The entry points batch_norm.cpp calls. The training bodies stay in the anonymous namespace above: their
// lambdas capture kernels/cpu/scratch.h's Scratch, a type of this file only, which a function with external
// linkage may not hold (-Wsubobject-linkage).
template <class T>
void forward_train(T* y, T* mean, T* invstd, T* var, const T* x, const T* gamma, const T* beta,
                   const BatchNormParams& p, bool relu) {
  if (relu) forward_train_impl<T, true>(y, mean, invstd, var, x, gamma, beta, p);
  else forward_train_impl<T, false>(y, mean, invstd, var, x, gamma, beta, p);
}

template <class T>
void backward_train(T* dx, T* dgamma, T* dbeta, const T* dy, const T* out, const T* x, const T* invstd,
                    const T* gamma, const BatchNormParams& p) {
  backward_train_impl<T>(dx, dgamma, dbeta, dy, out, x, invstd, gamma, p);
}

#define NN_INSTANTIATE(T)                                                                                      \
  template void forward_train<T>(T*, T*, T*, T*, const T*, const T*, const T*, const BatchNormParams&, bool);  \
  template void forward_eval<T>(T*, const T*, const T*, const T*, const T*, const T*, const BatchNormParams&);  \
  template void backward_train<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,                \
                                  const BatchNormParams&);                                                     \
  template void backward_eval<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*,                 \
                                 const BatchNormParams&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn::NN_BATCH_NORM_ISA
