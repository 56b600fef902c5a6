// Grad-CAM overlays (see overlay.h).
#include "train/report/overlay.h"

#include <algorithm>
#include <cmath>

namespace nn {

std::array<uint8_t, 3> jet_colour(double v) {
  // MATLAB's jet: blue rises over [0, 1/8] from 0.5, green over [1/8, 3/8], red over [3/8, 5/8] as blue
  // falls, green falls over [5/8, 7/8], red falls to 0.5 over [7/8, 1].
  v = std::clamp(v, 0.0, 1.0);
  auto ramp = [&](double centre) { return std::clamp(1.5 - std::fabs(4 * v - centre), 0.0, 1.0); };
  return {static_cast<uint8_t>(std::lround(255 * ramp(3))), static_cast<uint8_t>(std::lround(255 * ramp(2))),
          static_cast<uint8_t>(std::lround(255 * ramp(1)))};
}

namespace {

// The map's value at fractional cell coordinates (y, x), cell centres at (i + 0.5): bilinear, edges clamped.
double sample(const std::vector<float>& map, int64_t h, int64_t w, double y, double x) {
  y = std::clamp(y - 0.5, 0.0, static_cast<double>(h - 1));
  x = std::clamp(x - 0.5, 0.0, static_cast<double>(w - 1));
  const int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x);
  const int64_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const double fy = y - y0, fx = x - x0;
  auto at = [&](int64_t i, int64_t j) { return static_cast<double>(map[static_cast<size_t>(i * w + j)]); };
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
}

}  // namespace

Image cam_overlay(const Image& image, const Preprocessing& p, const std::vector<float>& map, int64_t h, int64_t w,
                  bool colour_bar) {
  NN_CHECK(h > 0 && w > 0 && map.size() == static_cast<size_t>(h * w), "cam_overlay: a {}x{} map holding {} values", h,
           w, map.size());
  const ImageRegion box = eval_crop_box(image.height, image.width, p);
  const int64_t bar = colour_bar ? std::max<int64_t>(12, image.width / 16) : 0, gap = colour_bar ? bar / 2 : 0;
  Image out;
  out.height = image.height;
  out.width = image.width + gap + bar;
  out.rgb.assign(static_cast<size_t>(out.height * out.width * 3), 255);
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      const uint8_t* src = &image.rgb[static_cast<size_t>((y * image.width + x) * 3)];
      uint8_t* dst = &out.rgb[static_cast<size_t>((y * out.width + x) * 3)];
      // The pixel centre in crop coordinates, then in map cells.
      const double cy = (y + 0.5 - box.top) / box.height, cx = (x + 0.5 - box.left) / box.width;
      if (cy < 0 || cy > 1 || cx < 0 || cx > 1) {
        for (int c = 0; c < 3; ++c) dst[c] = static_cast<uint8_t>(src[c] * 2 / 5);
        continue;
      }
      const std::array<uint8_t, 3> heat = jet_colour(sample(map, h, w, cy * h, cx * w));
      for (int c = 0; c < 3; ++c) dst[c] = static_cast<uint8_t>((src[c] + heat[c] + 1) / 2);
    }
  }
  for (int64_t y = 0; colour_bar && y < out.height; ++y) {
    const double v = out.height > 1 ? 1.0 - static_cast<double>(y) / (out.height - 1) : 1.0;
    const std::array<uint8_t, 3> colour = jet_colour(v);
    const bool tick = std::fabs(v * 4 - std::round(v * 4)) * (out.height - 1) / 4 < 1;  // within a pixel of a quarter
    for (int64_t x = image.width + gap; x < out.width; ++x) {
      uint8_t* dst = &out.rgb[static_cast<size_t>((y * out.width + x) * 3)];
      const bool tick_pixel = tick && x >= out.width - bar / 3;
      for (int c = 0; c < 3; ++c) dst[c] = tick_pixel ? 0 : colour[static_cast<size_t>(c)];
    }
  }
  return out;
}

}  // namespace nn
