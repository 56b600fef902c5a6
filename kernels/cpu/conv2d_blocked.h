// Direct convolution in a channel-blocked layout (nChw8c with AVX2, nChw16c with AVX-512): the first step of
// issue 19's CPU convolution engine, the way oneDNN and LIBXSMM compute convolutions on CPUs
// (docs/cpu-kernels.md).
//
// Layouts (B = the block: 8 channels with AVX2, one ymm register; 16 with AVX-512, one zmm; channel counts
// are padded with zeros to a multiple of B):
//   input   xb [N][C/B][H + 2 pad_h][W + 2 pad_w][B]   the zero border is stored: the kernel never tests bounds
//   weights wb [K/B][C/B][R][S][B c][B k]             for one (c, tap), the B filters of a block are one vector
//   output  yb [N][K/B][P][Q][B]
// Forward: every output row is cut into tiles of pixels x two blocks of channels, whose vectors stay in
// registers while the kernel runs over input channels and taps: per input channel, 2 loads of weights, one
// broadcast per pixel and 2 FMAs per pixel, the GEMM micro-kernel's ratio without an im2col copy. AVX2 + FMA
// (6 pixels x 16 channels, 12 ymm accumulators: conv2d_blocked_avx2.cpp), AVX-512 (12 pixels x 32 channels,
// 24 zmm: conv2d_blocked_avx512.cpp), chosen by CPUID, or plain loops on either layout.
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

// The kernels: plain loops (either block), AVX2 + FMA (block 8), AVX-512 (block 16).
enum class Kernel { plain, avx2, avx512 };

constexpr int64_t blocks(int64_t channels, int64_t block) { return (channels + block - 1) / block; }

// The fastest kernel this CPU runs, and its block: avx512 and 16, else avx2 and 8, else plain and 8.
Kernel best_kernel();
int64_t block_of(Kernel k);      // plain: 8 (the plain loops also take 16: pass the block to forward)
const char* kernel_name(Kernel k);  // "plain", "AVX2", "AVX-512"

// Sizes in floats of the three blocked tensors of `p` with `block` channels per block (8 or 16).
int64_t input_size(const Conv2dParams& p, int64_t block);
int64_t weight_size(const Conv2dParams& p, int64_t block);
int64_t output_size(const Conv2dParams& p, int64_t block);

// NCHW x into xb (zero border of pad_h / pad_w, zero padding channels); KCRS w into wb; yb back into NCHW,
// with the epilogue, if any, applied on the way (scale, shift, then ReLU or SiLU: kernels/conv2d.h).
void reorder_input(const float* x, const Conv2dParams& p, int64_t block, float* xb);
void reorder_weight(const float* w, const Conv2dParams& p, int64_t block, float* wb);
void reorder_output(const float* yb, const Conv2dParams& p, int64_t block, float* y,
                    const ConvEpilogue<float>* ep = nullptr);

// yb = conv(xb, wb) + bias (bias may be null), all blocked with `block` channels per block; p.G must be 1.
// `kernel` must run on this CPU (cpu_has) and suit the block (avx2: 8, avx512: 16, plain: either).
void forward(float* yb, const float* xb, const float* wb, const float* bias, const Conv2dParams& p, int64_t block,
             Kernel kernel);

// The whole forward pass on NCHW tensors through the blocked layout, a group of images at a time (the blocked
// copies of as many images as fit 8 MiB), with the best kernel this CPU runs (best_kernel) and its block; bias
// or epilogue (or neither), not both. What conv2d_forward_cpu runs where Conv2dCpuTuning's algorithm says
// blocked_direct.
void conv2d_forward_blocked_cpu(float* y, const float* x, const float* w, const float* bias, const Conv2dParams& p,
                                const ConvEpilogue<float>* ep = nullptr);

// Where the automatic choice picks the blocked forward (Conv2dCpuTuning::Algorithm).
bool blocked_forward_is_faster(const Conv2dParams& p);

// The row kernels: output row pp of image n, output blocks [kb0, kb0 + kbs) (kbs 1 or 2), every column. xn
// and yn point at image n. AVX2 (conv2d_blocked_avx2.cpp) on blocks of 8, AVX-512 (conv2d_blocked_avx512.cpp)
// on blocks of 16; both are conv2d_blocked_kernel.h's loop.
void forward_row_avx2(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                      int64_t kb0, int64_t kbs, int64_t pp);
void forward_row_avx512(float* yn, const float* xn, const float* wb, const float* bias, const Conv2dParams& p,
                        int64_t kb0, int64_t kbs, int64_t pp);

}  // namespace nn::blocked
