// CPU batch norm (see kernels/batch_norm.h for the math). Parallel over channels; each channel's
// statistics are summed in double (16 lanes, kernels/cpu/lane_sum.h), two-pass (mean first, then squared
// deviations) for accuracy. The bodies are kernels/cpu/batch_norm_impl.h, compiled here for the baseline ISA
// and in batch_norm_avx2.cpp / batch_norm_avx512.cpp for the vector ones, with identical results; the entry
// points below run the widest copy this CPU has (or the one force_batch_norm_isa asks for).
#include "kernels/batch_norm.h"

#include <atomic>

#include "base/error.h"
#include "kernels/cpu/isa.h"

#define NN_BATCH_NORM_ISA baseline
#include "kernels/cpu/batch_norm_impl.h"
#undef NN_BATCH_NORM_ISA

namespace nn {

// The vector copies' entry points (batch_norm_impl.h, compiled in batch_norm_avx2.cpp and batch_norm_avx512.cpp).
#define NN_DECLARE(ISA)                                                                                        \
  namespace ISA {                                                                                              \
  template <class T>                                                                                           \
  void forward_train(T* y, T* mean, T* invstd, T* var, const T* x, const T* gamma, const T* beta,              \
                     const BatchNormParams& p, bool relu);                                                     \
  template <class T>                                                                                           \
  void forward_eval(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma,             \
                    const T* beta, const BatchNormParams& p);                                                  \
  template <class T>                                                                                           \
  void backward_train(T* dx, T* dgamma, T* dbeta, const T* dy, const T* out, const T* x, const T* invstd,      \
                      const T* gamma, const BatchNormParams& p);                                               \
  template <class T>                                                                                           \
  void backward_eval(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* running_mean,               \
                     const T* running_var, const T* gamma, const BatchNormParams& p);                          \
  }
NN_DECLARE(avx2)
NN_DECLARE(avx512)
#undef NN_DECLARE

namespace {

std::atomic<int> g_forced{-1};  // a CpuIsa, or -1: the best this CPU runs

CpuIsa batch_norm_isa() {
  const int forced = g_forced.load(std::memory_order_relaxed);
  static const CpuIsa best = best_cpu_isa();
  return forced < 0 ? best : static_cast<CpuIsa>(forced);
}

}  // namespace

void force_batch_norm_isa(CpuIsa isa) {
  NN_CHECK(cpu_has(isa), "batch norm: this CPU does not run the {} copy", isa_name(isa));
  g_forced.store(static_cast<int>(isa));
}

void unforce_batch_norm_isa() { g_forced.store(-1); }

// One entry point: the copy for the chosen ISA.
#define NN_DISPATCH(call)                                  \
  switch (batch_norm_isa()) {                              \
    case CpuIsa::avx512: return avx512::call;              \
    case CpuIsa::avx2: return avx2::call;                  \
    case CpuIsa::portable: return baseline::call;          \
  }                                                        \
  return baseline::call

template <class T>
void batch_norm_forward_train_cpu(T* y, T* mean, T* invstd, T* var, const T* x, const T* gamma, const T* beta,
                                  const BatchNormParams& p) {
  NN_DISPATCH(forward_train<T>(y, mean, invstd, var, x, gamma, beta, p, false));
}

template <class T>
void batch_norm_relu_forward_train_cpu(T* y, T* mean, T* invstd, T* var, const T* x, const T* gamma, const T* beta,
                                       const BatchNormParams& p) {
  NN_DISPATCH(forward_train<T>(y, mean, invstd, var, x, gamma, beta, p, true));
}

template <class T>
void batch_norm_forward_eval_cpu(T* y, const T* x, const T* running_mean, const T* running_var, const T* gamma,
                                 const T* beta, const BatchNormParams& p) {
  NN_DISPATCH(forward_eval<T>(y, x, running_mean, running_var, gamma, beta, p));
}

template <class T>
void batch_norm_backward_train_cpu(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* invstd,
                                   const T* gamma, const BatchNormParams& p) {
  NN_DISPATCH(backward_train<T>(dx, dgamma, dbeta, dy, static_cast<const T*>(nullptr), x, invstd, gamma, p));
}

template <class T>
void batch_norm_relu_backward_train_cpu(T* dx, T* dgamma, T* dbeta, const T* dy, const T* out, const T* x,
                                        const T* invstd, const T* gamma, const BatchNormParams& p) {
  NN_DISPATCH(backward_train<T>(dx, dgamma, dbeta, dy, out, x, invstd, gamma, p));
}

template <class T>
void batch_norm_backward_eval_cpu(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* running_mean,
                                  const T* running_var, const T* gamma, const BatchNormParams& p) {
  NN_DISPATCH(backward_eval<T>(dx, dgamma, dbeta, dy, x, running_mean, running_var, gamma, p));
}

#undef NN_DISPATCH

#define NN_INSTANTIATE(T)                                                                                   \
  template void batch_norm_forward_train_cpu<T>(T*, T*, T*, T*, const T*, const T*, const T*,              \
                                                const BatchNormParams&);                                    \
  template void batch_norm_forward_eval_cpu<T>(T*, const T*, const T*, const T*, const T*, const T*,       \
                                               const BatchNormParams&);                                     \
  template void batch_norm_backward_train_cpu<T>(T*, T*, T*, const T*, const T*, const T*, const T*,            \
                                                 const BatchNormParams&);                                   \
  template void batch_norm_backward_eval_cpu<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, \
                                                const BatchNormParams&);                                    \
  template void batch_norm_relu_forward_train_cpu<T>(T*, T*, T*, T*, const T*, const T*, const T*,         \
                                                     const BatchNormParams&);                               \
  template void batch_norm_relu_backward_train_cpu<T>(T*, T*, T*, const T*, const T*, const T*, const T*,   \
                                                      const T*, const BatchNormParams&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
