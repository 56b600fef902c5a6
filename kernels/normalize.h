// Input normalisation: a batch of decoded 8-bit images to the network's float input.
//
//   x: uint8 [N, H, W, 3] (HWC, as decoded; channels in the file's order, RGB)
//   y: float [N, 3, H, W] with y[n, c, h, w] = float(x[n, h, w, src(c)] * a[c] + b[c]) evaluated in double,
//      a[c] = scale / std[c], b[c] = -mean[c] / std[c], src(c) = c (RGB) or 2 - c (BGR)
// That is (pixel * scale - mean[c]) / std[c] with the division folded into a and b, exactly as
// normalize_image (train/data/image.cpp) has always computed it; it calls normalize_u8_cpu. The CUDA kernel looks
// the 3 x 256 possible values up in a table the host computes with the same expression, so its results
// are identical to the CPU's bit for bit.
// Cost: 2 FLOP per output value (on the CPU; a table lookup on CUDA); 3 bytes read and 12 written per pixel.
#pragma once

#include <cstdint>

namespace nn {

enum class ChannelOrder { rgb, bgr };  // the network's channel order; the input is always RGB

struct NormalizeParams {
  int64_t N = 0, H = 0, W = 0;
  double scale = 1.0 / 255.0;
  double mean[3] = {0.485, 0.456, 0.406};  // in network channel order, in scaled units
  double std[3] = {0.229, 0.224, 0.225};
  ChannelOrder order = ChannelOrder::rgb;
};

// The value of output channel c for pixel byte v (read from input channel normalize_source(p, c)).
inline float normalize_u8_value(const NormalizeParams& p, int c, uint8_t v) {
  const double a = p.scale / p.std[c], b = -p.mean[c] / p.std[c];
  return static_cast<float>(v * a + b);
}
inline int normalize_source(const NormalizeParams& p, int c) { return p.order == ChannelOrder::bgr ? 2 - c : c; }

void normalize_u8_cpu(float* y, const uint8_t* x, const NormalizeParams& p);
void normalize_u8_cuda(float* y, const uint8_t* x, const NormalizeParams& p);

}  // namespace nn
