// Colour transforms with PIL's exact arithmetic (ImageEnhance blends, the L conversion, the HSV round trip
// of torchvision's adjust_hue), so that the ColorJitter of a run matches torchvision on PIL images pixel for
// pixel. The float/double mix below copies PIL's C code (Blend.c, Convert.c); changing a type changes results.
#include <algorithm>
#include <cmath>
#include <vector>

#include "train/data/transforms.h"

namespace nn {

namespace {

void check_color_input(const Image& image, const char* op, double factor) {
  NN_CHECK(image.height > 0 && image.width > 0 &&
               image.rgb.size() == static_cast<size_t>(image.height) * static_cast<size_t>(image.width) * 3,
           "{}: expected a non-empty RGB image, got {}x{} holding {} bytes", op, image.height, image.width,
           image.rgb.size());
  NN_CHECK(std::isfinite(factor) && factor >= 0, "{}: factor {} must be >= 0 and finite", op, factor);
}

// PIL's ImagingBlend(degenerate, image, alpha) for one value: alpha is a C float; inside [0, 1] the float
// result is truncated, outside it is clipped to [0, 255] first.
inline uint8_t blend_value(int degenerate, int value, float alpha, bool inside) {
  const float v = static_cast<float>(degenerate) + alpha * static_cast<float>(value - degenerate);
  if (inside) return static_cast<uint8_t>(v);
  if (v <= 0.0f) return 0;
  if (v >= 255.0f) return 255;
  return static_cast<uint8_t>(v);
}

// Blends with a constant degenerate value through a 256-entry table (the same arithmetic per entry).
Image blend_constant(const Image& image, int degenerate, double factor) {
  const float alpha = static_cast<float>(factor);
  const bool inside = alpha >= 0.0f && alpha <= 1.0f;
  uint8_t table[256];
  for (int v = 0; v < 256; ++v) table[v] = blend_value(degenerate, v, alpha, inside);
  Image out = image;
  for (uint8_t& v : out.rgb) v = table[v];
  return out;
}

}  // namespace

Image adjust_brightness(const Image& image, double factor) {
  check_color_input(image, "adjust_brightness", factor);
  return blend_constant(image, 0, factor);  // ImageEnhance.Brightness: degenerate = black
}

Image adjust_contrast(const Image& image, double factor) {
  check_color_input(image, "adjust_contrast", factor);
  // ImageEnhance.Contrast: degenerate = the mean of the L image, int(mean + 0.5) (ImageStat's mean is a
  // Python float: the exact integer sum divided by the count)
  int64_t sum = 0;
  const size_t n = image.rgb.size() / 3;
  for (size_t i = 0; i < n; ++i) sum += grey_level(&image.rgb[i * 3]);
  const double mean = static_cast<double>(sum) / static_cast<double>(n);
  return blend_constant(image, static_cast<int>(mean + 0.5), factor);
}

Image adjust_saturation(const Image& image, double factor) {
  check_color_input(image, "adjust_saturation", factor);
  // ImageEnhance.Color: degenerate = image.convert("L").convert("RGB"). The grey level is spread over the
  // three channels first so that the blend runs as one vectorised loop over all values.
  const float alpha = static_cast<float>(factor);
  const size_t n = image.rgb.size();
  std::vector<uint8_t> grey(n);
  for (size_t i = 0; i < n; i += 3) grey[i] = grey[i + 1] = grey[i + 2] = grey_level(&image.rgb[i]);
  Image out = image;
  const uint8_t* in = image.rgb.data();
  const uint8_t* g = grey.data();
  uint8_t* o = out.rgb.data();
  // Clamping to [0, 255] before truncating is PIL's both branches at once: inside [0, 1] the value already
  // lies between the two inputs; outside, <= 0 gives 0 and >= 255 gives 255.
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(g[i]) + alpha * static_cast<float>(static_cast<int>(in[i]) - g[i]);
    o[i] = static_cast<uint8_t>(static_cast<int>(std::min(std::max(v, 0.0f), 255.0f)));
  }
  return out;
}

namespace {

inline uint8_t clip8(int v) { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// PIL Convert.c rgb2hsv_row for a pixel whose channel `top` (0 = R, 1 = G, 2 = B; the first maximal one, as
// PIL's if-chain picks) is the maximum and whose other channels lie `x` and `y` below it, in channel order
// (so cr = max(x, y) > 0). Types as in PIL: float h, rc, gc, bc, cr; double literals.
uint8_t pil_hue(int top, int x, int y) {
  const float cr = static_cast<float>(std::max(x, y));
  float h;
  if (top == 0) {
    h = static_cast<float>(y) / cr - static_cast<float>(x) / cr;  // bc - gc
  } else if (top == 1) {
    h = static_cast<float>(2.0 + static_cast<float>(x) / cr - static_cast<float>(y) / cr);  // 2 + rc - bc
  } else {
    h = static_cast<float>(4.0 + static_cast<float>(y) / cr - static_cast<float>(x) / cr);  // 4 + gc - rc
  }
  // fmod(h / 6 + 1, 1): the argument lies in [5/6, 11/6], where fmod is exactly "subtract 1 if >= 1"
  const double turns = h / 6.0 + 1.0;
  h = static_cast<float>(turns >= 1.0 ? turns - 1.0 : turns);
  return clip8(static_cast<int>(h * 255.0));
}

// The conversion memoised: the hue depends only on which channel is the maximum and the two distances below
// it, the saturation only on (max, max - min). 3 x 64 KiB + 64 KiB, built once per process (about 0.2 M
// evaluations of PIL's formulas) instead of three float and one double division per pixel.
struct RgbToHsvTables {
  std::vector<uint8_t> hue, sat;  // hue[(top * 256 + x) * 256 + y], sat[max * 256 + (max - min)]
  RgbToHsvTables() : hue(3 * 256 * 256), sat(256 * 256) {
    for (int top = 0; top < 3; ++top)
      for (int x = 0; x < 256; ++x)
        for (int y = 0; y < 256; ++y) hue[(top * 256 + x) * 256 + y] = x == 0 && y == 0 ? 0 : pil_hue(top, x, y);
    for (int maxc = 1; maxc < 256; ++maxc)
      for (int cr = 1; cr <= maxc; ++cr) {
        const float s = static_cast<float>(cr) / static_cast<float>(maxc);
        sat[maxc * 256 + cr] = clip8(static_cast<int>(s * 255.0));
      }
  }
};

// Branch-free: a grey pixel (max == min) reads hue[0][0][0] = 0 and sat[max][0] = 0, PIL's h = s = 0.
inline void rgb_to_hsv(const RgbToHsvTables& tab, const uint8_t* in, uint8_t* hsv) {
  const int r = in[0], g = in[1], b = in[2];
  const int maxc = std::max(r, std::max(g, b)), minc = std::min(r, std::min(g, b));
  const int top = r == maxc ? 0 : g == maxc ? 1 : 2;  // PIL's if-chain: R first, then G
  const int x = top == 0 ? maxc - g : maxc - r;        // the other two channels' distances, in channel order
  const int y = top == 2 ? maxc - g : maxc - b;
  hsv[0] = tab.hue[(top * 256 + x) * 256 + y];
  hsv[1] = tab.sat[maxc * 256 + (maxc - minc)];
  hsv[2] = static_cast<uint8_t>(maxc);
}

// C's round() for x >= 0 without the libm call: x - trunc(x) is exact, so the half test is too.
inline int round_positive(double x) {
  const int r = static_cast<int>(x);
  return r + (x - static_cast<double>(r) >= 0.5);
}

// PIL Convert.c hsv2rgb, with the per-hue sector i = floor(h * 6 / 255) mod 6 and remainder f (float), and
// the per-saturation fs = s / 255 (float) taken from tables built with PIL's expressions.
struct HsvTables {
  int sector[256];
  float rem[256], fs[256];
  HsvTables() {
    for (int h = 0; h < 256; ++h) {
      const int i = static_cast<int>(static_cast<float>(h) * 6.0 / 255.0);  // floor of a value >= 0
      sector[h] = i % 6;
      rem[h] = static_cast<float>(static_cast<float>(h) * 6.0 / 255.0 - static_cast<float>(i));
      fs[h] = static_cast<float>(static_cast<float>(h) / 255.0);
    }
  }
};

// Which of (v, p, q, t) each output channel takes in each sector (PIL's switch, as a table).
constexpr uint8_t kSectorPick[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3}, {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};

// Branch-free: PIL's s == 0 case (v, v, v) needs no test, as fs = 0 makes p = q = t = round(v) = v.
inline void hsv_to_rgb(const HsvTables& tab, const uint8_t* hsv, uint8_t* out) {
  const uint8_t h = hsv[0], s = hsv[1], v = hsv[2];
  const float f = tab.rem[h], fs = tab.fs[s];
  const double vd = static_cast<float>(v);
  const uint8_t vals[4] = {v, clip8(round_positive(vd * (1.0 - fs))), clip8(round_positive(vd * (1.0 - fs * f))),
                           clip8(round_positive(vd * (1.0 - fs * (1.0 - f))))};  // v, p, q, t
  const uint8_t* pick = kSectorPick[tab.sector[h]];
  out[0] = vals[pick[0]];
  out[1] = vals[pick[1]];
  out[2] = vals[pick[2]];
}

}  // namespace

Image adjust_hue(const Image& image, double hue) {
  NN_CHECK(hue >= -0.5 && hue <= 0.5, "adjust_hue: hue {} is outside [-0.5, 0.5]", hue);
  check_color_input(image, "adjust_hue", 0.0);
  static const RgbToHsvTables to_hsv;  // thread-safe initialisation, once per process
  static const HsvTables tables;
  // numpy's np.uint8(hue * 255): truncation toward zero, then modulo 256
  const uint8_t shift = static_cast<uint8_t>(static_cast<int>(hue * 255.0));
  Image out = image;
  const size_t n = image.rgb.size() / 3;
  for (size_t i = 0; i < n; ++i) {
    uint8_t hsv[3];
    rgb_to_hsv(to_hsv, &image.rgb[i * 3], hsv);
    hsv[0] = static_cast<uint8_t>(hsv[0] + shift);
    hsv_to_rgb(tables, hsv, &out.rgb[i * 3]);
  }
  return out;
}

}  // namespace nn
