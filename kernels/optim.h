// Optimiser updates of one parameter tensor (torch.optim of PyTorch 1.13, single-tensor implementations),
// and the sum of squares that gradient clipping needs. The optimiser itself (groups, state, checkpoints)
// is train/optim/optim.h; these are its per-element kernels.
//
// SGD (torch/optim/sgd.py), d = grad:
//   d = d + wd * p                          when weight_decay != 0
//   buf = d (first step) | buf = buf * momentum + (1 - dampening) * d      when momentum != 0
//   d = nesterov ? d + momentum * buf : buf                                 when momentum != 0
//   p = p + (-lr) * d
// Adam / AdamW (adam.py, adamw.py), g = grad, step counted from 1:
//   AdamW: p = p * (1 - lr * wd)            Adam with wd != 0: g = g + wd * p
//   m = m * beta1 + (1 - beta1) * g;  v = v * beta2 + (1 - beta2) * g * g    (m = v = 0 before step 1)
//   p = p + (-lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps),  bc1 = 1 - beta1^step, bc2 = 1 - beta2^step
// Every hyperparameter is a double rounded to T once on the host (as ATen does with Python-float scalars;
// adam_scalars/sgd_scalars below are shared by the CPU and CUDA kernels), each operation is one IEEE
// rounding in T, in the order written. The CUDA kernels use the same operations without contraction into
// FMAs (__fmul_rn/__fadd_rn), so CPU and CUDA results are identical bit for bit.
// At step 1 the moments are not read (they are treated as 0): state may be allocated uninitialised.
// Cost per element: SGD <= 9 FLOP, reads p, grad (+ buf), writes p (+ buf): 12-20 bytes in float;
//                   Adam ~15 FLOP (sqrt, 2 div), reads p, grad, m, v, writes p, m, v: 28 bytes in float.
#pragma once

#include <cmath>
#include <cstdint>

namespace nn {

struct SgdArgs {
  double lr = 0, weight_decay = 0, momentum = 0, dampening = 0;
  bool nesterov = false;
  bool first = false;  // the momentum buffer is initialised to the (decayed) gradient, not read
};

struct AdamArgs {
  double lr = 0, weight_decay = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool decoupled = false;  // AdamW
  int64_t step = 1;        // after the increment: 1 on the first update
};

// The hyperparameters rounded to T, as both the CPU and the CUDA kernels use them.
template <class T>
struct SgdScalars {
  T wd, mom, keep, neg_lr;  // weight_decay, momentum, 1 - dampening, -lr
};
template <class T>
SgdScalars<T> sgd_scalars(const SgdArgs& a) {
  return {static_cast<T>(a.weight_decay), static_cast<T>(a.momentum), static_cast<T>(1 - a.dampening),
          static_cast<T>(-a.lr)};
}

template <class T>
struct AdamScalars {
  T neg_step_size, bc2_sqrt, b1, b2, one_b1, one_b2, eps, wd, decay;
};
template <class T>
AdamScalars<T> adam_scalars(const AdamArgs& a) {
  // Bias corrections in double, as Python computes them.
  const double bc1 = 1 - std::pow(a.beta1, static_cast<double>(a.step));
  const double bc2 = 1 - std::pow(a.beta2, static_cast<double>(a.step));
  return {static_cast<T>(-(a.lr / bc1)), static_cast<T>(std::sqrt(bc2)), static_cast<T>(a.beta1),
          static_cast<T>(a.beta2),       static_cast<T>(1 - a.beta1),    static_cast<T>(1 - a.beta2),
          static_cast<T>(a.eps),         static_cast<T>(a.weight_decay), static_cast<T>(1 - a.lr * a.weight_decay)};
}

// p[n] and momentum_buffer[n] (null when momentum == 0) updated in place from grad[n].
template <class T>
void sgd_update_cpu(T* p, T* momentum_buffer, const T* grad, int64_t n, const SgdArgs& a);
// p, exp_avg (m), exp_avg_sq (v) [n] updated in place from grad[n].
template <class T>
void adam_update_cpu(T* p, T* exp_avg, T* exp_avg_sq, const T* grad, int64_t n, const AdamArgs& a);

void sgd_update_cuda(float* p, float* momentum_buffer, const float* grad, int64_t n, const SgdArgs& a);
void adam_update_cuda(float* p, float* exp_avg, float* exp_avg_sq, const float* grad, int64_t n, const AdamArgs& a);

// The kernel tables tensor/dispatch.h runs (kernels/README.md): one entry point, one kernel per backend.
struct SgdUpdateKernels {
  template <class T> static constexpr auto cpu = sgd_update_cpu<T>;
  static constexpr auto cuda = sgd_update_cuda;
};
struct AdamUpdateKernels {
  template <class T> static constexpr auto cpu = adam_update_cpu<T>;
  static constexpr auto cuda = adam_update_cuda;
};

// Sum of squares of x[n] in double, for clip_grad_norm: writes partial sums to partials[0, count) and
// returns count (<= kSumSquaresMaxPartials); the caller adds them (after copying them to the host).
// Deterministic: the split into partials depends on n only.
inline constexpr int64_t kSumSquaresMaxPartials = 256;
int64_t sum_squares_cuda(double* partials, const float* x, int64_t n);

}  // namespace nn
