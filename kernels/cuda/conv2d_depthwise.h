// Depthwise conv2d on CUDA (G = C, conv2d_is_depthwise; kernels/conv2d.h): the direct kernels of
// kernels/cuda/conv2d_depthwise.cu, with the contract of the conv2d_*_cuda entry points, which call them.
#pragma once

#include "kernels/conv2d.h"

namespace nn {

void conv2d_depthwise_forward_cuda(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p);
void conv2d_depthwise_backward_data_cuda(float* dx, const float* dy, const float* w, const Conv2dParams& p);
void conv2d_depthwise_backward_weight_cuda(float* dw, float* dbias, const float* dy, const float* x,
                                           const Conv2dParams& p);

}  // namespace nn
