// conv2d: 2-D cross-correlation, NCHW, groups = 1.
//
// Shapes: x [N, C, H, W], weight [K, C, R, S], bias [K], y [N, K, P, Q] with
//   P = (H + 2*pad_h - dil_h*(R-1) - 1) / stride_h + 1,   Q likewise with W, S and the _w parameters.
// Forward:         y[n,k,p,q]  = bias[k] + sum_{c,r,s} w[k,c,r,s] * x[n, c, p*sh - ph + r*dh, q*sw - pw + s*dw]
//                  (x outside [0,H) x [0,W) reads as 0: zero padding)
// Backward data:   dx[n,c,h,w] = sum over (k,r,s,p,q) that read x[n,c,h,w] of w[k,c,r,s] * dy[n,k,p,q]
// Backward weight: dw[k,c,r,s] = sum_{n,p,q} dy[n,k,p,q] * x[n, c, p*sh - ph + r*dh, q*sw - pw + s*dw]
//                  dbias[k]    = sum_{n,p,q} dy[n,k,p,q]
// Each pass is 2*N*K*P*Q*C*R*S FLOP (conv2d_flops); bias adds N*K*P*Q.
//
// The fast CPU path is im2col + GEMM: for a group of images, unfold x into a column matrix
// col [C*R*S, n*P*Q] and multiply by w viewed as [K, C*R*S]; backward data is the transposed product
// followed by col2im (a scatter-add); backward weight multiplies dy by col^T. A 1x1 convolution with
// stride 1 and no padding needs no unfolding: x[n] already is its column matrix.
// The _reference_ kernels are the direct loops above: the specification the fast path is tested against.
#pragma once

#include <cstdint>

namespace nn {

struct Conv2dParams {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t K = 0, R = 0, S = 0;         // filters
  int64_t P = 0, Q = 0;                // output height, width
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  // CPU fast path: images unfolded into one GEMM; 0 picks as many as fit a 32 MiB column buffer.
  // Tests set it to exercise the one-image (direct) and multi-image (gather/scatter) paths.
  int64_t images_per_gemm = 0;
  // CPU backward data of a stride-1 conv: -1 lets the kernel choose, 0 forces the column path (GEMM +
  // col2im), 1 the flipped-filter forward convolution wherever it applies. Tests set it to cover both.
  int backward_data_as_forward = -1;
  // CPU, one image per GEMM: output rows per GEMM (0: as many as fit a 16 MiB column buffer). Tests.
  int64_t rows_per_gemm = 0;
  // CPU, one image per GEMM: -1 spreads images over the threads when there are at least as many images
  // as threads; 0 keeps them in order (each GEMM on every thread); 1 spreads them whenever N >= 2. Tests.
  int parallel_images = -1;
};

inline double conv2d_flops(const Conv2dParams& p) {
  return 2.0 * static_cast<double>(p.N) * p.K * p.P * p.Q * p.C * p.R * p.S;
}

template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p);

// What a CPU convolution may apply to each output in the pass that writes it, instead of a bias:
// y = y * scale[k] + shift[k], then max(y, 0) when relu (NaN stays NaN). An eval-mode batch norm after the
// convolution is exactly such a scale and shift (tensor/ops.h, conv2d_bn_eval).
template <class T>
struct ConvEpilogue {
  const T* scale = nullptr;  // [K]
  const T* shift = nullptr;  // [K]
  bool relu = false;
};
template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const ConvEpilogue<T>& epilogue, const Conv2dParams& p);
template <class T>
void conv2d_backward_data_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p);
template <class T>  // dw and dbias may be null when not wanted
void conv2d_backward_weight_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p);

template <class T>
void conv2d_forward_reference_cpu(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p);
template <class T>
void conv2d_backward_data_reference_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p);
template <class T>
void conv2d_backward_weight_reference_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p);

void conv2d_forward_cuda(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p);
void conv2d_backward_data_cuda(float* dx, const float* dy, const float* w, const Conv2dParams& p);
void conv2d_backward_weight_cuda(float* dw, float* dbias, const float* dy, const float* x, const Conv2dParams& p);

// cuDNN (kernels/cuda/vendor.h): the same signatures and semantics as the _cuda entry points.
void conv2d_forward_vendor(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p);
void conv2d_backward_data_vendor(float* dx, const float* dy, const float* w, const Conv2dParams& p);
void conv2d_backward_weight_vendor(float* dw, float* dbias, const float* dy, const float* x, const Conv2dParams& p);

// The kernel tables tensor/dispatch.h runs (kernels/README.md): one entry point, one kernel per backend.
// conv2d_forward_cpu is overloaded (bias or epilogue), hence the spelled-out pointer types.
struct Conv2dForwardKernels {
  template <class T>
  static constexpr void (*cpu)(T*, const T*, const T*, const T*, const Conv2dParams&) = conv2d_forward_cpu<T>;
  static constexpr auto cuda = conv2d_forward_cuda;
  static constexpr auto vendor = conv2d_forward_vendor;
};
// CPU only: the epilogue exists where the CPU GEMM writes its output (tensor/ops.h, conv2d_fused_eval).
struct Conv2dForwardEpilogueKernels {
  template <class T>
  static constexpr void (*cpu)(T*, const T*, const T*, const ConvEpilogue<T>&, const Conv2dParams&) =
      conv2d_forward_cpu<T>;
};
struct Conv2dBackwardDataKernels {
  template <class T> static constexpr auto cpu = conv2d_backward_data_cpu<T>;
  static constexpr auto cuda = conv2d_backward_data_cuda;
  static constexpr auto vendor = conv2d_backward_data_vendor;
};
struct Conv2dBackwardWeightKernels {
  template <class T> static constexpr auto cpu = conv2d_backward_weight_cpu<T>;
  static constexpr auto cuda = conv2d_backward_weight_cuda;
  static constexpr auto vendor = conv2d_backward_weight_vendor;
};

}  // namespace nn
