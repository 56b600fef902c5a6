// Depthwise convolution on the CPU: direct loops, one plane at a time (kernels/conv2d.h has the math;
// docs/depthwise.md explains why not im2col + GEMM). Called by the conv2d_*_cpu entry points when
// conv2d_is_depthwise(p); exposed here for the benchmarks. depthwise_uses_avx2() says which build of the
// loops runs on this CPU (AVX2 + FMA, or the baseline ISA).
#pragma once

#include "kernels/conv2d.h"

namespace nn {

bool depthwise_uses_avx2();
bool depthwise_avx2_supported();  // the CPU has AVX2 and FMA
// Tests run both builds: force one (avx2 only where supported), or back to automatic (CPUID).
enum class DepthwiseIsa { automatic, baseline, avx2 };
void force_depthwise_isa(DepthwiseIsa isa);

// y = depthwise conv of x, plus bias (may be null) or, when epilogue is set, the epilogue instead.
template <class T>
void conv2d_depthwise_forward_cpu(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* epilogue,
                                  const Conv2dParams& p);
template <class T>
void conv2d_depthwise_backward_data_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p);
template <class T>  // dw or dbias may be null
void conv2d_depthwise_backward_weight_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p);

}  // namespace nn
