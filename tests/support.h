// What many test files need, written once: a temporary folder, a command runner, the build folder, and
// builders for convolution parameters. (The comparison helpers are in tests/check.h.)
#pragma once

#include <string>

#include "kernels/conv2d.h"

namespace nn::test {

// ---- files and processes ----

// ---- convolution parameters ----

// A convolution as the kernel tests list it: sizes (kernels/conv2d.h letters), then stride, padding and
// dilation per axis, in the order of Conv2dParams.
struct ConvSpec {
  int64_t N, C, H, W, K, R, S;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
};

// The kernel params of s, with P and Q from conv2d_output_size.
Conv2dParams conv_params(const ConvSpec& s);

}  // namespace nn::test
