// conv2d: 2-D cross-correlation, NCHW, with groups.
//
// Shapes: x [N, C, H, W], weight [K, C/G, R, S], bias [K], y [N, K, P, Q] with
//   P = (H + 2*pad_h - dil_h*(R-1) - 1) / stride_h + 1,   Q likewise with W, S and the _w parameters
//   (conv2d_output_size).
// Forward:         y[n,k,p,q]  = bias[k] + sum_{c,r,s} w[k,c,r,s] * x[n, g*C/G + c, h, v]   (c < C/G)
//                  with g = k / (K/G) the group of filter k, h = p*stride_h - pad_h + r*dil_h,
//                  v = q*stride_w - pad_w + s*dil_w (x outside [0,H) x [0,W) reads as 0: zero padding)
// Backward data:   dx[n,c',h,v] = sum over (k,r,s,p,q) that read x[n,c',h,v] of w[k,c,r,s] * dy[n,k,p,q]
// Backward weight: dw[k,c,r,s] = sum_{n,p,q} dy[n,k,p,q] * x[n, g*C/G + c, h, v]   (h, v as in the forward)
//                  dbias[k]    = sum_{n,p,q} dy[n,k,p,q]
// Groups: G divides C and K; filter k sees only the C/G input channels of its group, so a grouped
// convolution is G independent convolutions on channel slices. G = 1 is the ordinary convolution;
// G = C is depthwise (each filter sees one channel; K = C*m, m the depth multiplier): filters k = c*m ..
// c*m + m - 1 read channel c.
// Each pass is 2*N*K*P*Q*(C/G)*R*S FLOP (conv2d_flops); bias adds N*K*P*Q.
//
// The fast CPU path is im2col + GEMM: for a group of images, unfold x into a column matrix
// col [C*R*S, n*P*Q] and multiply by w viewed as [K, C*R*S]; backward data is the transposed product
// followed by col2im (a scatter-add); backward weight multiplies dy by col^T. A 1x1 convolution with
// stride 1 and no padding needs no unfolding: x[n] already is its column matrix. How it groups images,
// bands rows and spreads work over threads is its own choice, which tests can force (Conv2dCpuTuning).
// A grouped convolution (1 < G < C) runs that path once per group on gathered channel slices. A depthwise
// one (G = C) does R*S multiply-adds per output, far too few for a GEMM to pay: it has its own direct
// kernels (kernels/cpu/conv2d_depthwise.cpp), memory-bound, reading each plane once (docs/depthwise.md).
// The _reference_ kernels are the direct loops above: the specification the fast path is tested against.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

namespace nn {

// The geometry of one convolution, all any kernel needs (CPU, CUDA or cuDNN).
struct Conv2dParams {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t K = 0, R = 0, S = 0;         // filters
  int64_t P = 0, Q = 0;                // output height, width
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
  int64_t G = 1;                       // groups: weight is [K, C/G, R, S]
};

// The outputs q in [q0, q1) whose input column q*stride + w0 lies in [0, W) (q0 <= q1, both in [0, Q]):
// the range of output pixels that one filter tap reads without falling into padding.
constexpr std::pair<int64_t, int64_t> conv2d_valid_range(int64_t w0, int64_t stride, int64_t W, int64_t Q) {
  const int64_t q0 = std::min(w0 >= 0 ? 0 : (-w0 + stride - 1) / stride, Q);
  const int64_t q1 = W - w0 <= 0 ? 0 : (W - w0 - 1) / stride + 1;
  return {q0, std::clamp(q1, q0, Q)};
}

// Depthwise: every filter reads a single input channel (groups = C).
constexpr bool conv2d_is_depthwise(const Conv2dParams& p) { return p.G > 1 && p.G == p.C; }

// Output length of one convolved dimension: (in + 2*pad - dilation*(kernel-1) - 1) / stride + 1.
// Precondition: in + 2*pad >= dilation*(kernel-1) + 1 (the dilated kernel fits the padded input).
constexpr int64_t conv2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

// p with P and Q computed from its input size, filter size, stride, padding and dilation.
constexpr Conv2dParams conv2d_with_output_size(Conv2dParams p) {
  p.P = conv2d_output_size(p.H, p.R, p.stride_h, p.pad_h, p.dil_h);
  p.Q = conv2d_output_size(p.W, p.S, p.stride_w, p.pad_w, p.dil_w);
  return p;
}

// How the CPU fast path splits its work; the defaults let it choose (what every op does). Tests force
// each choice to run every path against the reference loops. CUDA and cuDNN kernels take no such knobs.
struct Conv2dCpuTuning {
  // Backward data of a stride-1 conv: as GEMM + col2im (columns), or as the forward convolution of dy
  // with the flipped filters wherever that applies (flipped_forward; automatic: for wide outputs).
  enum class BackwardData { automatic, columns, flipped_forward };
  // Images (or groups of them) spread over the threads, each running single-threaded GEMMs (automatic:
  // when there are at least as many images as threads; spread: whenever N >= 2), or taken in order with
  // each GEMM on every thread (in_order).
  enum class ImageSpread { automatic, in_order, spread };
  // Images unfolded into one GEMM; 0 picks as many as fit a 32 MiB column buffer.
  int64_t images_per_gemm = 0;
  BackwardData backward_data = BackwardData::automatic;
  // One image per GEMM: output rows per GEMM (0: as many as fit a 16 MiB column buffer).
  int64_t rows_per_gemm = 0;
  ImageSpread image_spread = ImageSpread::automatic;
  // The dense float32 forward (and the flipped-filter backward data, a forward): im2col + GEMM, or the
  // channel-blocked direct convolution (kernels/cpu/conv2d_blocked.h) through per-image reorders
  // (automatic: where it measured faster, blocked::blocked_forward_is_faster: with AVX-512, 3x3 layers of 64+
  // input channels and outputs of 28x28 or more, 14x14 up to 256 channels: nearly every 3x3 of ResNet and
  // VGG; with AVX2, 16-64 input channels, stride 1, outputs of 112x112 or more: VGG's first blocks).
  enum class Algorithm { automatic, im2col, blocked_direct };
  Algorithm algorithm = Algorithm::automatic;
  // The dense float32 weight gradient: im2col + GEMM (columns), or the direct kernel on NCHW with pixels in
  // the vector lanes (kernels/cpu/conv2d_wgrad.h; only where it applies: stride 1, output the input's size,
  // more than one tap; automatic: wherever it applies and AVX2 or AVX-512 runs).
  enum class WeightGrad { automatic, columns, direct };
  WeightGrad weight_grad = WeightGrad::automatic;
};

inline double conv2d_flops(const Conv2dParams& p) {
  return 2.0 * static_cast<double>(p.N) * p.K * p.P * p.Q * (p.C / p.G) * p.R * p.S;
}

template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p,
                        const Conv2dCpuTuning& tuning = {});

// What a CPU convolution may apply to each output in the pass that writes it, instead of a bias:
// y = y * scale[k] + shift[k], then max(y, 0) when relu (NaN stays NaN) or y * sigmoid(y) when silu. An
// eval-mode batch norm after the convolution is exactly such a scale and shift (tensor/ops.h,
// conv2d_fused_eval).
template <class T>
struct ConvEpilogue {
  const T* scale = nullptr;  // [K]
  const T* shift = nullptr;  // [K]
  bool relu = false;
  bool silu = false;  // EfficientNet's activation (relu and silu are not both set)
};
template <class T>
void conv2d_forward_cpu(T* y, const T* x, const T* w, const ConvEpilogue<T>& epilogue, const Conv2dParams& p,
                        const Conv2dCpuTuning& tuning = {});
template <class T>
void conv2d_backward_data_cpu(T* dx, const T* dy, const T* w, const Conv2dParams& p,
                              const Conv2dCpuTuning& tuning = {});
template <class T>  // dw and dbias may be null when not wanted
void conv2d_backward_weight_cpu(T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p,
                                const Conv2dCpuTuning& tuning = {});

// What the last CPU convolution pass on this thread ran, per pass: a constant string naming the algorithm
// and, where it is not NCHW throughout, the layout (null until such a pass ran). Written by every entry
// point above (a pointer store per call); `skinnet profile` clears it before a layer and reads it after
// (layers/profile.h: the "algorithm" column). The words (docs/cpu-kernels.md):
//   "im2col+GEMM"           one image per GEMM, in bands of output rows
//   "im2col+GEMM batched"   several images unfolded into one GEMM (small maps)
//   "GEMM on x (1x1)"       a 1x1/stride-1/unpadded convolution: x is its own column matrix
//   "blocked nChw8c"        the channel-blocked direct kernel, reordered in and out per image (AVX2; nChw16c
//                           on AVX-512)
//   "direct, pixels in lanes"  weight gradient: kernels/cpu/conv2d_wgrad.h, on NCHW
//   "GEMM+col2im"           backward data: w^T x dy, folded back ("... batched": several images per GEMM;
//                           "GEMM on dy (1x1)": a 1x1 convolution's, written straight into dx)
//   "flipped fwd: ..."      backward data as the forward convolution of dy with flipped filters
//   "depthwise direct"      kernels/cpu/conv2d_depthwise.cpp (1 < groups < channels: the dense words, per group)
struct Conv2dCpuTrace {
  const char* forward = nullptr;
  const char* backward_data = nullptr;
  const char* backward_weight = nullptr;
};
Conv2dCpuTrace& conv2d_cpu_trace();

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
// The CPU entries run the fast path with its default Conv2dCpuTuning (only tests force other choices).
struct Conv2dForwardKernels {
  template <class T>
  static constexpr auto cpu = [](T* y, const T* x, const T* w, const T* bias, const Conv2dParams& p) {
    conv2d_forward_cpu<T>(y, x, w, bias, p);
  };
  static constexpr auto cuda = conv2d_forward_cuda;
  static constexpr auto vendor = conv2d_forward_vendor;
};
// CPU only: the epilogue exists where the CPU GEMM writes its output (tensor/ops.h, conv2d_fused_eval).
struct Conv2dForwardEpilogueKernels {
  template <class T>
  static constexpr auto cpu = [](T* y, const T* x, const T* w, const ConvEpilogue<T>& epilogue,
                                 const Conv2dParams& p) { conv2d_forward_cpu<T>(y, x, w, epilogue, p); };
};
struct Conv2dBackwardDataKernels {
  template <class T>
  static constexpr auto cpu = [](T* dx, const T* dy, const T* w, const Conv2dParams& p) {
    conv2d_backward_data_cpu<T>(dx, dy, w, p);
  };
  static constexpr auto cuda = conv2d_backward_data_cuda;
  static constexpr auto vendor = conv2d_backward_data_vendor;
};
struct Conv2dBackwardWeightKernels {
  template <class T>
  static constexpr auto cpu = [](T* dw, T* dbias, const T* dy, const T* x, const Conv2dParams& p) {
    conv2d_backward_weight_cpu<T>(dw, dbias, dy, x, p);
  };
  static constexpr auto cuda = conv2d_backward_weight_cuda;
  static constexpr auto vendor = conv2d_backward_weight_vendor;
};

}  // namespace nn
