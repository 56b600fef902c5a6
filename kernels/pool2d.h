// 2-D pooling over NCHW planes: max, average and adaptive average, with PyTorch's exact semantics.
//
// Output size (max and avg): P = floor_or_ceil((H + 2*pad_h - dil_h*(kh-1) - 1) / sh) + 1, where with
// ceil_mode the last window must start inside the input or its left padding (else P shrinks by one).
// Max: window rows h = p*sh - pad_h + i*dil_h (i < kh), clipped to the input; padding never wins.
//   argmax is the index h*W + w inside the plane; the first maximum wins, a NaN always wins.
//   Backward adds dy to dx[argmax] (windows may overlap).
// Avg: window [p*sh - pad_h, p*sh - pad_h + kh) clipped to [.., H + pad_h) gives the padded size; the
//   sum runs over the part inside the input. Divisor: the padded size when count_include_pad, else the
//   inside count. Backward spreads dy/divisor over the same window.
// Adaptive avg: output row p averages input rows [floor(p*H/P), ceil((p+1)*H/P)), columns likewise.
// Cost: kh*kw compares or adds per output; memory-bound.
#pragma once

#include <cstdint>

namespace nn {

struct Pool2dParams {
  int64_t N = 0, C = 0, H = 0, W = 0, P = 0, Q = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool count_include_pad = true;
};

// Output length of one pooled dimension, as PyTorch computes it.
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode);

template <class T> void max_pool2d_forward_cpu(T* y, int64_t* argmax, const T* x, const Pool2dParams& p);
template <class T> void max_pool2d_backward_cpu(T* dx, const T* dy, const int64_t* argmax, const Pool2dParams& p);
template <class T> void avg_pool2d_forward_cpu(T* y, const T* x, const Pool2dParams& p);
template <class T> void avg_pool2d_backward_cpu(T* dx, const T* dy, const Pool2dParams& p);
template <class T> void adaptive_avg_pool2d_forward_cpu(T* y, const T* x, const Pool2dParams& p);
template <class T> void adaptive_avg_pool2d_backward_cpu(T* dx, const T* dy, const Pool2dParams& p);

void max_pool2d_forward_cuda(float* y, int64_t* argmax, const float* x, const Pool2dParams& p);
void max_pool2d_backward_cuda(float* dx, const float* dy, const int64_t* argmax, const Pool2dParams& p);
void avg_pool2d_forward_cuda(float* y, const float* x, const Pool2dParams& p);
void avg_pool2d_backward_cuda(float* dx, const float* dy, const Pool2dParams& p);
void adaptive_avg_pool2d_forward_cuda(float* y, const float* x, const Pool2dParams& p);
void adaptive_avg_pool2d_backward_cuda(float* dx, const float* dy, const Pool2dParams& p);

}  // namespace nn
