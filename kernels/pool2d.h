// 2-D pooling over NCHW planes: max, average and adaptive average, with PyTorch's exact semantics.
//
// The window is R x S (rows x columns), with the stride, padding and dilation spelt as in Conv2dParams.
// Output size (max and avg): P = floor_or_ceil((H + 2*pad_h - dil_h*(R-1) - 1) / stride_h) + 1, where with
// ceil_mode the last window must start inside the input or its left padding (else P shrinks by one);
// without ceil_mode and with a window that fits the padded input, that is conv2d_output_size. Q likewise with W, S and the _w parameters.
// Max: window rows h = p*stride_h - pad_h + i*dil_h (i < R), clipped to the input; padding never wins.
//   argmax is the index h*W + w inside the plane; the first maximum wins, a NaN always wins.
//   Backward adds dy to dx[argmax] (windows may overlap).
// Avg: window [p*stride_h - pad_h, p*stride_h - pad_h + R) clipped to [.., H + pad_h) gives the padded size;
//   the sum runs over the part inside the input. Divisor: the padded size when count_include_pad, else the
//   inside count. Backward spreads dy/divisor over the same window.
// Adaptive avg: output row p averages input rows [floor(p*H/P), ceil((p+1)*H/P)), columns likewise.
// Cost: R*S compares or adds per output; memory-bound.
#pragma once

#include <cstdint>

namespace nn {

struct Pool2dParams {
  int64_t N = 0, C = 0, H = 0, W = 0, P = 0, Q = 0;
  int64_t R = 1, S = 1;  // window height, width
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
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

// cuDNN (kernels/cuda/vendor.h). It keeps no argmax: the max backward finds each window's maximum again
// from x and y, so these take x and y where the handwritten kernels take the indices.
void max_pool2d_forward_vendor(float* y, const float* x, const Pool2dParams& p);
void max_pool2d_backward_vendor(float* dx, const float* dy, const float* x, const float* y, const Pool2dParams& p);
void avg_pool2d_forward_vendor(float* y, const float* x, const Pool2dParams& p);
void avg_pool2d_backward_vendor(float* dx, const float* dy, const float* x, const float* y, const Pool2dParams& p);
namespace cuda {
// Pooling cuDNN computes with skinnet's (PyTorch's) semantics: no dilation, and no extra ceil_mode
// output row or column (cuDNN sizes outputs with floor). Others stay on the handwritten kernels.
bool pool2d_vendor_supports(const Pool2dParams& p);
}  // namespace cuda

// The kernel tables tensor/dispatch.h runs (kernels/README.md). A pooling op calls every backend with
// one argument list holding what any of them reads: argmax for the handwritten max kernels, x and y for
// cuDNN's backward (null where the backend in use does not read it). The adapters below drop the rest.
struct MaxPool2dForwardKernels {
  template <class T> static constexpr auto cpu = max_pool2d_forward_cpu<T>;
  static constexpr auto cuda = max_pool2d_forward_cuda;
  static void vendor(float* y, int64_t* /*argmax: none*/, const float* x, const Pool2dParams& p) {
    max_pool2d_forward_vendor(y, x, p);
  }
  static bool vendor_supports(const Pool2dParams& p) { return cuda::pool2d_vendor_supports(p); }
};
struct MaxPool2dBackwardKernels {  // (dx, dy, argmax, x, y, p)
  template <class T>
  static void cpu(T* dx, const T* dy, const int64_t* argmax, const T* /*x*/, const T* /*y*/, const Pool2dParams& p) {
    max_pool2d_backward_cpu<T>(dx, dy, argmax, p);
  }
  static void cuda(float* dx, const float* dy, const int64_t* argmax, const float* /*x*/, const float* /*y*/,
                   const Pool2dParams& p) {
    max_pool2d_backward_cuda(dx, dy, argmax, p);
  }
  static void vendor(float* dx, const float* dy, const int64_t* /*argmax*/, const float* x, const float* y,
                     const Pool2dParams& p) {
    max_pool2d_backward_vendor(dx, dy, x, y, p);
  }
};
struct AvgPool2dForwardKernels {
  template <class T> static constexpr auto cpu = avg_pool2d_forward_cpu<T>;
  static constexpr auto cuda = avg_pool2d_forward_cuda;
  static constexpr auto vendor = avg_pool2d_forward_vendor;
  static bool vendor_supports(const Pool2dParams& p) { return cuda::pool2d_vendor_supports(p); }
};
struct AvgPool2dBackwardKernels {  // (dx, dy, x, y, p)
  template <class T>
  static void cpu(T* dx, const T* dy, const T* /*x*/, const T* /*y*/, const Pool2dParams& p) {
    avg_pool2d_backward_cpu<T>(dx, dy, p);
  }
  static void cuda(float* dx, const float* dy, const float* /*x*/, const float* /*y*/, const Pool2dParams& p) {
    avg_pool2d_backward_cuda(dx, dy, p);
  }
  static void vendor(float* dx, const float* dy, const float* x, const float* y, const Pool2dParams& p) {
    avg_pool2d_backward_vendor(dx, dy, x, y, p);
  }
};
struct AdaptiveAvgPool2dForwardKernels {  // no cuDNN operation
  template <class T> static constexpr auto cpu = adaptive_avg_pool2d_forward_cpu<T>;
  static constexpr auto cuda = adaptive_avg_pool2d_forward_cuda;
};
struct AdaptiveAvgPool2dBackwardKernels {
  template <class T> static constexpr auto cpu = adaptive_avg_pool2d_backward_cpu<T>;
  static constexpr auto cuda = adaptive_avg_pool2d_backward_cuda;
};

}  // namespace nn
