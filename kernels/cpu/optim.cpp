// CPU optimiser updates (the math: kernels/optim.h). Plain loops over contiguous memory in the
// parameter's dtype, in the order PyTorch 1.13's single-tensor implementations apply their tensor ops.
// Each element is independent, so the parallel split cannot change a result.
//
// The loops are specialised on the flags (template arguments), take __restrict pointers and carry
// `omp simd` (g++ -O2's cost model skips loops of unknown length): with no branches or aliasing they
// vectorise, and SIMD does the same IEEE operations per element (no FMA contraction at the default
// -march), so results do not change. The SGD loop vectorises; Adam's does not, because without
// -fno-math-errno (a build-wide flag) std::sqrt keeps a branch to libm for negative inputs.
#include "kernels/optim.h"

#include <cmath>

#include "base/parallel.h"

namespace nn {

namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per thread below which a parallel region costs more

// kMode: 0 no momentum, 1 first momentum step (buf = d), 2 later steps.
template <class T, bool kDecay, int kMode, bool kNesterov>
void sgd_range(T* __restrict p, T* __restrict buf, const T* __restrict grad, int64_t begin, int64_t end,
               SgdScalars<T> s) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    T d = grad[i];
    if constexpr (kDecay) d = d + s.wd * p[i];                       // d_p = d_p.add(param, alpha=wd)
    if constexpr (kMode == 1) buf[i] = d;                            // buf = clone(d_p)
    if constexpr (kMode == 2) buf[i] = buf[i] * s.mom + s.keep * d;  // buf.mul_(momentum).add_(d_p, alpha=1-dampening)
    if constexpr (kMode != 0) d = kNesterov ? d + s.mom * buf[i] : buf[i];
    p[i] = p[i] + s.neg_lr * d;                                      // param.add_(d_p, alpha=-lr)
  }
}

template <class T, bool kDecay, int kMode>
void sgd_dispatch(T* p, T* buf, const T* grad, int64_t n, const SgdArgs& a, SgdScalars<T> s) {
  parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    if (a.nesterov) sgd_range<T, kDecay, kMode, true>(p, buf, grad, begin, end, s);
    else sgd_range<T, kDecay, kMode, false>(p, buf, grad, begin, end, s);
  });
}

// kDecay: 0 none, 1 L2 into the gradient (Adam), 2 decoupled (AdamW). kFirst: m and v are 0 (not read).
template <class T, int kDecay, bool kFirst>
void adam_range(T* __restrict p, T* __restrict m, T* __restrict v, const T* __restrict grad, int64_t begin,
                int64_t end, AdamScalars<T> s) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    T g = grad[i];
    if constexpr (kDecay == 2) p[i] = p[i] * s.decay;            // param.mul_(1 - lr * wd)
    if constexpr (kDecay == 1) g = g + s.wd * p[i];              // grad = grad.add(param, alpha=wd)
    const T m0 = kFirst ? T(0) : m[i], v0 = kFirst ? T(0) : v[i];
    m[i] = m0 * s.b1 + s.one_b1 * g;                             // exp_avg.mul_(b1).add_(grad, alpha=1-b1)
    v[i] = v0 * s.b2 + s.one_b2 * g * g;                         // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
    const T denom = std::sqrt(v[i]) / s.bc2_sqrt + s.eps;        // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
    p[i] = p[i] + s.neg_step_size * m[i] / denom;                // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
}

template <class T, bool kFirst>
void adam_dispatch(T* p, T* m, T* v, const T* grad, int64_t n, int decay, AdamScalars<T> s) {
  parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    if (decay == 2) adam_range<T, 2, kFirst>(p, m, v, grad, begin, end, s);
    else if (decay == 1) adam_range<T, 1, kFirst>(p, m, v, grad, begin, end, s);
    else adam_range<T, 0, kFirst>(p, m, v, grad, begin, end, s);
  });
}

}  // namespace

template <class T>
void sgd_update_cpu(T* p, T* momentum_buffer, const T* grad, int64_t n, const SgdArgs& a) {
  const SgdScalars<T> s = sgd_scalars<T>(a);
  T* buf = momentum_buffer;
  const int mode = buf == nullptr ? 0 : a.first ? 1 : 2;
  if (a.weight_decay != 0) {
    if (mode == 0) sgd_dispatch<T, true, 0>(p, buf, grad, n, a, s);
    else if (mode == 1) sgd_dispatch<T, true, 1>(p, buf, grad, n, a, s);
    else sgd_dispatch<T, true, 2>(p, buf, grad, n, a, s);
  } else {
    if (mode == 0) sgd_dispatch<T, false, 0>(p, buf, grad, n, a, s);
    else if (mode == 1) sgd_dispatch<T, false, 1>(p, buf, grad, n, a, s);
    else sgd_dispatch<T, false, 2>(p, buf, grad, n, a, s);
  }
}

template <class T>
void adam_update_cpu(T* p, T* exp_avg, T* exp_avg_sq, const T* grad, int64_t n, const AdamArgs& a) {
  const AdamScalars<T> s = adam_scalars<T>(a);
  // torch's AdamW scales by 1 - lr * wd even when wd is 0 (an exact no-op), Adam adds wd * p only when wd != 0.
  const int decay = a.decoupled ? 2 : a.weight_decay != 0 ? 1 : 0;
  if (a.step == 1) adam_dispatch<T, true>(p, exp_avg, exp_avg_sq, grad, n, decay, s);
  else adam_dispatch<T, false>(p, exp_avg, exp_avg_sq, grad, n, decay, s);
}

template void sgd_update_cpu<float>(float*, float*, const float*, int64_t, const SgdArgs&);
template void sgd_update_cpu<double>(double*, double*, const double*, int64_t, const SgdArgs&);
template void adam_update_cpu<float>(float*, float*, float*, const float*, int64_t, const AdamArgs&);
template void adam_update_cpu<double>(double*, double*, double*, const double*, int64_t, const AdamArgs&);

}  // namespace nn
