// The weight gradient of a stride-1 convolution computed directly on NCHW, with output pixels in the vector
// lanes (issue 19: "direct convolution ... backward weights"). No im2col copy, no reorder.
//
//   dw[k][c][r][s] = sum over n, p, q of dy[n][k][p][q] * x[n][c][p + r*dil_h - pad_h][q + s*dil_w - pad_w]
//
// Where the output has the input's size (P == H, Q == W: every "same" convolution, 3x3 with padding 1), a
// filter tap (r, s) is one constant shift of a whole plane: x's pixel i + off(r, s) pairs with dy's pixel i,
// off = (r*dil_h - pad_h)*W + (s*dil_w - pad_w), except for the lanes whose shifted pixel leaves the image
// (a row above or below it, or a column wrapping to the next row), which a per-tap mask zeroes. So one tap of
// a (k, c) pair is a dot product of two planes, a vector of lanes at a time:
//
//   acc[k][c] += dy[n][k][i .. i+L) * masked(x[n][c][i + off .. i + off + L))     (L = 16 with AVX-512, 8 AVX2)
//
// A tile of KT output x CT input channels keeps KT*CT lane accumulators in registers and loads KT + CT
// vectors per KT*CT FMAs (AVX-512: 4 x 6, 10 loads per 24 FMAs; AVX2: 3 x 4, 7 per 12), the ratio of the
// forward kernels, with no broadcasts. Each thread owns a range of output-channel tiles (rows of dw) and walks
// the batch in segments of up to 256 vectors (whole planes of several images, or pieces of one image's);
// within a segment a tile walks sub-chunks of 24 vectors (16 KiB of its 10 planes: L1) over all R*S taps,
// each tap's accumulators parked in a small lane buffer ([taps][KT][CT][L], 14 KiB for 3x3), and sums the
// buffer across lanes into dw at the segment's end.
//
// Where it stands (Zen 5, docs/cpu-kernels.md): the inner loop reaches about 70% of the FMA peak on one
// thread, and on two threads the kernel beats im2col + GEMM only on 64-channel layers at 28x28-56x56, so the
// automatic choice takes it only there (is_faster).
//
// Numerics: each dw element is the sum of L lane partial sums, each in pixel order, then the lanes added:
// a different order from the reference loops and from im2col + GEMM, within float32 rounding (tested). A
// tap's pixels outside the image add nothing with AVX-512 (merge-masked FMAs, as the reference skips them);
// the AVX2 kernel, and AVX-512 next to x's two ends, multiply them by a zero instead, as im2col + GEMM does,
// so there an infinite dy gives NaN where the reference would not.
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"

namespace nn::wgrad {

enum class Kernel { avx2, avx512 };

// The convolutions this kernel takes: float32 (the caller's business), groups 1, stride 1, output size equal
// to the input size, more than one tap (a 1x1 is a plain GEMM: im2col-free already).
bool applies(const Conv2dParams& p);

// Where the automatic choice (Conv2dCpuTuning::weight_grad) takes it: where it applies and measured faster than
// im2col + GEMM (AVX-512, at most 64 input and output channels, 28x28 to 56x56: ResNet's first stage).
bool is_faster(const Conv2dParams& p);

// The best kernel this CPU runs (AVX-512, else AVX2 + FMA); `available` is false on a CPU with neither.
bool available();
Kernel best_kernel();
const char* kernel_name(Kernel k);  // "AVX2", "AVX-512"

// dw [K][C][R][S] = the weight gradient (overwritten), for p within `applies`; `kernel` must run here.
void backward_weight(float* dw, const float* dy, const float* x, const Conv2dParams& p, Kernel kernel);

// One tile's work on one segment of pixels, what the per-ISA kernels take (conv2d_wgrad_kernel.h): vectors
// [v0, v1) of the planes of `images` images from the first; the tile's dw elements are added to.
struct Tile {
  const float* dy;          // dy[n0][k0]: plane i of image n0 + n at dy + n*dy_image + i*HW
  const float* x;           // x[n0][c0]
  const float* x_begin;     // the whole of x, [x_begin, x_end): loads outside it must be masked
  const float* x_end;
  float* dw;                // dw[k0][c0][0][0]: element (i, j, tap) at dw + (i*C + j)*taps + tap
  float* lanes;             // scratch: taps * KT * CT * L floats
  const uint16_t* masks;    // [taps][vectors]: bit l set where lane l of vector v reads inside the image
  const int64_t* offsets;   // [taps]: the plane shift off(r, s)
  int64_t images, v0, v1, C, HW, dy_image, x_image, taps, vectors;
};

// Tile of kt x ct channels (1 <= kt <= 4, 1 <= ct <= 6 with AVX-512; 3 and 4 with AVX2).
void tile_avx512(int kt, int ct, const Tile& t);
void tile_avx2(int kt, int ct, const Tile& t);

}  // namespace nn::wgrad
