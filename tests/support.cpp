// Shared test scaffolding (see support.h).
#include "tests/support.h"

namespace nn::test {

// ---- files and processes ----

// ---- convolution parameters ----

Conv2dParams conv_params(const ConvSpec& s) {
  Conv2dParams p;
  p.N = s.N, p.C = s.C, p.H = s.H, p.W = s.W, p.K = s.K, p.R = s.R, p.S = s.S;
  p.stride_h = s.stride_h, p.stride_w = s.stride_w, p.pad_h = s.pad_h, p.pad_w = s.pad_w;
  p.dil_h = s.dil_h, p.dil_w = s.dil_w;
  return conv2d_with_output_size(p);
}

}  // namespace nn::test
