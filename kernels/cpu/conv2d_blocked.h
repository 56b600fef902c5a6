// Direct convolution in a channel-blocked layout (nChw8c): the first step of issue 19's CPU convolution
// engine, the way oneDNN and LIBXSMM compute convolutions on CPUs (docs/cpu-kernels.md).
//
// Layouts (8 = kBlock channels per block; channel counts are padded with zeros to a multiple of 8):
//   input   xb [N][C/8][H + 2 pad_h][W + 2 pad_w][8]   the zero border is stored: the kernel never tests bounds
//   weights wb [K/8][C/8][R][S][8 c][8 k]             for one (c, tap), the 8 filters of a block are one vector
//   output  yb [N][K/8][P][Q][8]
// Forward: every output row is cut into tiles of 6 pixels x 16 channels (two blocks), whose 12 vectors of
// 8 floats stay in registers while the kernel runs over input channels and taps: per input channel, 2 loads
// of weights, 6 broadcasts of inputs and 12 FMAs, the GEMM micro-kernel's ratio without an im2col copy. AVX2
// + FMA (conv2d_blocked_avx2.cpp, chosen by CPUID) or plain loops on the same layout.
//
// Scope today: forward only, groups = 1, any size, stride, padding and dilation, on reorders from and to NCHW
// per image (conv2d_forward_blocked_cpu). The networks use it only where it beats im2col + GEMM even with
// those reorders (blocked_forward_is_faster: VGG's first blocks, forward and the flipped-filter backward
// data); backward kernels, keeping the layout from layer to layer and fused training epilogues are issue
// 19's next steps.
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"

namespace nn::blocked {

constexpr int64_t kBlock = 8;
constexpr int64_t blocks(int64_t channels) { return (channels + kBlock - 1) / kBlock; }

// Sizes in floats of the three blocked tensors of `p`.
int64_t input_size(const Conv2dParams& p);
int64_t weight_size(const Conv2dParams& p);
int64_t output_size(const Conv2dParams& p);

// NCHW x into xb (zero border of pad_h / pad_w, zero padding channels); KCRS w into wb; yb back into NCHW,
// with the epilogue, if any, applied on the way (scale, shift, then ReLU or SiLU: kernels/conv2d.h).
void reorder_input(const float* x, const Conv2dParams& p, float* xb);
void reorder_weight(const float* w, const Conv2dParams& p, float* wb);
void reorder_output(const float* yb, const Conv2dParams& p, float* y, const ConvEpilogue<float>* ep = nullptr);

// yb = conv(xb, wb) + bias (bias may be null), all blocked; p.G must be 1. `avx2`: the AVX2 kernel (needs
// cpu_has(CpuIsa::avx2)) or the plain loops.
void forward(float* yb, const float* xb, const float* wb, const float* bias, const Conv2dParams& p, bool avx2);

// The whole forward pass on NCHW tensors through the blocked layout, image by image (the blocked copies of
// one image at a time), with the best kernel this CPU runs; bias or epilogue (or neither), not both. What
// conv2d_forward_cpu runs where Conv2dCpuTuning's algorithm says blocked_direct.
void conv2d_forward_blocked_cpu(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p,
                                const ConvEpilogue<float>* ep = nullptr);

// Where the automatic choice picks the blocked forward (Conv2dCpuTuning::Algorithm).
bool blocked_forward_is_faster(const Conv2dParams& p);

// The AVX2 row kernel (conv2d_blocked_avx2.cpp): output row pp of image n, output blocks [kb0, kb0 + kbs)
// (kbs 1 or 2), every column. xn and yn point at image n.
void forward_row_avx2(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                      int64_t kb0, int64_t kbs, int64_t pp);

}  // namespace nn::blocked
