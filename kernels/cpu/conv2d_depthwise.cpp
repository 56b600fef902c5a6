// Depthwise convolution on the CPU: direct loops over one plane at a time (kernels/cpu/conv2d_depthwise.h).
//
// A depthwise filter does R*S multiply-adds per output (9 or 25 in EfficientNet) and reads one input
// plane: im2col would copy every input R*S times to feed a GEMM whose inner dimension is only R*S, and
// spend more time copying than computing (docs/depthwise.md). Here each pass walks planes: an input plane
// (at most 112 x 112 floats = 49 KiB in EfficientNet) is read from memory once into a zero-bordered copy
// that stays in L1/L2 while its output plane is built row by row, so the traffic is one read of x and one
// write of y. With the border in the copy every tap reads inside it: the loop over output columns has no
// bounds tests and vectorises, the taps of a filter row unrolled. Backward data is the same correlation,
// with the flipped filter, of dy spread out by the stride into a bordered plane; backward weight is per
// output row a dot product of dy with the padded input under each tap. Planes are independent, so threads
// share them: forward over (n, k), backward data over (n, c) (a channel's m filters add into one dx plane),
// backward weight over filters (each thread owns whole filters, summing images and rows in a fixed order,
// in double: deterministic whatever the thread count).
//
// The loops are compiled twice (kernels/cpu/conv2d_depthwise_impl.h): for the baseline x86-64 ISA (SSE2,
// 4 floats per instruction) and with AVX2 + FMA (8 floats, fused multiply-add; conv2d_depthwise_avx2.cpp,
// built with -mavx2 -mfma). The entry points below choose by CPUID once: on EfficientNet's 5x5 layers at
// 14 x 14 and smaller the kernels are compute-bound on 2 cores, where the wider vectors pay.
#include "kernels/cpu/conv2d_depthwise.h"

#include <atomic>

#include "base/error.h"

#define NN_DEPTHWISE_ISA baseline
#include "kernels/cpu/conv2d_depthwise_impl.h"
#undef NN_DEPTHWISE_ISA

namespace nn {

namespace avx2 {  // kernels/cpu/conv2d_depthwise_avx2.cpp
template <class T>
void depthwise_forward(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* ep, const Conv2dParams& p);
template <class T>
void depthwise_backward_data(T* dx, const T* dy, const T* w, const Conv2dParams& p);
template <class T>
void depthwise_backward_weight(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p);
}  // namespace avx2

namespace {
std::atomic<DepthwiseIsa> g_forced{DepthwiseIsa::automatic};
}  // namespace

bool depthwise_avx2_supported() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

void force_depthwise_isa(DepthwiseIsa isa) {
  NN_CHECK(isa != DepthwiseIsa::avx2 || depthwise_avx2_supported(), "depthwise: this CPU has no AVX2 + FMA");
  g_forced.store(isa);
}

bool depthwise_uses_avx2() {
  const DepthwiseIsa isa = g_forced.load(std::memory_order_relaxed);
  return isa == DepthwiseIsa::automatic ? depthwise_avx2_supported() : isa == DepthwiseIsa::avx2;
}

template <class T>
void conv2d_depthwise_forward_cpu(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* ep,
                                  const Conv2dParams& p) {
  if (depthwise_uses_avx2()) return avx2::depthwise_forward<T>(y, x, w, bias, ep, p);
  baseline::depthwise_forward<T>(y, x, w, bias, ep, p);
}

template <class T>
void conv2d_depthwise_backward_data_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p) {
  if (depthwise_uses_avx2()) return avx2::depthwise_backward_data<T>(dx, dy, w, p);
  baseline::depthwise_backward_data<T>(dx, dy, w, p);
}

template <class T>
void conv2d_depthwise_backward_weight_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p) {
  if (depthwise_uses_avx2()) return avx2::depthwise_backward_weight<T>(dw, dbias, dy, x, p);
  baseline::depthwise_backward_weight<T>(dw, dbias, dy, x, p);
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
