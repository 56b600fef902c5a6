// Depthwise convolution on the CPU: direct loops, one plane at a time (kernels/conv2d.h has the math;
// docs/depthwise.md explains why not im2col + GEMM). Called by the conv2d_*_cpu entry points when
// conv2d_is_depthwise(p); exposed here for the benchmarks.
#pragma once

#include "kernels/conv2d.h"

namespace nn {

// y = depthwise conv of x, plus bias (may be null) or, when epilogue is set, the epilogue instead.
template <class T>
void conv2d_depthwise_forward_cpu(T* y, const T* x, const T* w, const T* bias, const ConvEpilogue<T>* epilogue,
                                  const Conv2dParams& p);
template <class T>
void conv2d_depthwise_backward_data_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p);
template <class T>  // dw or dbias may be null
void conv2d_depthwise_backward_weight_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p);

}  // namespace nn
