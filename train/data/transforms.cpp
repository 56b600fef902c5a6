// Geometric transforms (crops, flips, quarter turns, PIL-compatible affine warps), the random resized crop,
// and augment(): the training pipeline that draws every random decision from one Generator (see
// transforms.h for the order). The colour transforms live in train/data/color.cpp.
#include "train/data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <vector>

namespace nn {

namespace {

void check_image(const Image& image, const char* op) {
  NN_CHECK(image.height > 0 && image.width > 0 &&
               image.rgb.size() == static_cast<size_t>(image.height) * static_cast<size_t>(image.width) * 3,
           "{}: expected a non-empty RGB image, got {}x{} holding {} bytes", op, image.height, image.width,
           image.rgb.size());
}

Image blank(int64_t height, int64_t width) {
  Image out;
  out.height = height;
  out.width = width;
  out.rgb.resize(static_cast<size_t>(height * width * 3));
  return out;
}

double uniform(Generator& gen, double lo, double hi) { return lo + (hi - lo) * gen.next_double(); }
int64_t uniform_int(Generator& gen, int64_t n) {  // 0..n-1
  return std::min(n - 1, static_cast<int64_t>(std::floor(gen.next_double() * static_cast<double>(n))));
}

// Python's radians(): x * (pi / 180) with the constant folded first.
constexpr double kDegToRad = std::numbers::pi / 180.0;

// Mirrors a centre coordinate into [0, n - 1] about the first and last pixel centres (BORDER_REFLECT_101).
inline __attribute__((always_inline)) double reflect101(double u, int64_t n) {
  if (u >= 0 && u <= static_cast<double>(n - 1)) return u;  // inside: the common case, no fmod
  if (n == 1) return 0;
  const double period = 2.0 * static_cast<double>(n - 1);
  u = std::fmod(u, period);
  if (u < 0) u += period;
  if (u > static_cast<double>(n - 1)) u = period - u;
  return std::clamp(u, 0.0, static_cast<double>(n - 1));
}

}  // namespace

Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width) {
  check_image(image, "crop");
  NN_CHECK(height > 0 && width > 0 && top >= 0 && left >= 0 && top + height <= image.height &&
               left + width <= image.width,
           "crop: box top {} left {} height {} width {} does not fit in a {}x{} image (expected a non-empty box "
           "inside it)",
           top, left, height, width, image.height, image.width);
  Image out = blank(height, width);
  for (int64_t y = 0; y < height; ++y)
    std::copy_n(image.rgb.begin() + ((top + y) * image.width + left) * 3, width * 3, out.rgb.begin() + y * width * 3);
  return out;
}

Image hflip(const Image& image) {
  check_image(image, "hflip");
  Image out = blank(image.height, image.width);
  const int64_t w = image.width;
  for (int64_t y = 0; y < image.height; ++y) {
    const uint8_t* in = image.rgb.data() + y * w * 3;
    uint8_t* o = out.rgb.data() + y * w * 3;
    for (int64_t x = 0; x < w; ++x) {
      const uint8_t* p = in + (w - 1 - x) * 3;
      o[x * 3] = p[0];
      o[x * 3 + 1] = p[1];
      o[x * 3 + 2] = p[2];
    }
  }
  return out;
}

Image vflip(const Image& image) {
  check_image(image, "vflip");
  Image out = blank(image.height, image.width);
  const int64_t row = image.width * 3;
  for (int64_t y = 0; y < image.height; ++y)
    std::copy_n(image.rgb.begin() + (image.height - 1 - y) * row, row, out.rgb.begin() + y * row);
  return out;
}

Image rot90(const Image& image, int k) {
  check_image(image, "rot90");
  k = ((k % 4) + 4) % 4;
  if (k == 0) return image;
  const int64_t h = image.height, w = image.width;
  if (k == 2) return vflip(hflip(image));
  Image out = blank(w, h);
  // torch.rot90 on (H, W): k=1 out[i][j] = in[j][W-1-i]; k=3 out[i][j] = in[H-1-j][i]. Source pixel
  // (row, col) = (j, W-1-i) or (H-1-j, i): a column walk with a fixed stride per output row.
  const int64_t step = k == 1 ? w * 3 : -w * 3;
  for (int64_t i = 0; i < out.height; ++i) {
    const uint8_t* in = image.rgb.data() + (k == 1 ? (w - 1 - i) : (h - 1) * w + i) * 3;
    uint8_t* o = out.rgb.data() + i * out.width * 3;
    for (int64_t j = 0; j < out.width; ++j, in += step, o += 3) {
      o[0] = in[0];
      o[1] = in[1];
      o[2] = in[2];
    }
  }
  return out;
}

// A pixel as two SSE-sized pairs of doubles, (R, G) and (B, spare). GCC/Clang vector extensions run each lane
// with the scalar operations PIL uses, so the bilinear result is bit-identical while the channels go two at
// a time (16-byte vectors: wider generic vectors get split through the stack without AVX, which is slower).
using Double2 = double __attribute__((vector_size(16)));
struct PixelD {
  Double2 rg, bx;
};

Image warp_affine(const Image& image, const double m[6], FillMode fill, uint8_t fill_value) {
  check_image(image, "affine");
  for (int i = 0; i < 6; ++i)
    NN_CHECK(std::isfinite(m[i]), "affine: matrix coefficient {} is {} (expected finite; a scale of 0 or a shear of "
             "90 degrees?)", i, m[i]);
  const int64_t h = image.height, w = image.width;
  const double wd = static_cast<double>(w), hd = static_cast<double>(h);
  // uint8 -> double through a table: a load instead of a conversion, and no converted copy of the image
  static const auto to_double = [] {
    std::array<double, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = i;
    return t;
  }();
  const uint8_t* in = image.rgb.data();
  const auto load = [&](int64_t i) {
    const uint8_t* p = in + i * 3;
    return PixelD{Double2{to_double[p[0]], to_double[p[1]]}, Double2{to_double[p[2]], 0.0}};
  };
  Image out = blank(h, w);
  uint8_t* o = out.rgb.data();
  for (int64_t y = 0; y < h; ++y) {
    const double yc = static_cast<double>(y) + 0.5;
    for (int64_t x = 0; x < w; ++x, o += 3) {
      const double xc = static_cast<double>(x) + 0.5;
      double xin = m[0] * xc + m[1] * yc + m[2];  // PIL's affine_transform, term order kept
      double yin = m[3] * xc + m[4] * yc + m[5];
      if (fill == FillMode::constant) {
        if (!(xin >= 0.0 && xin < wd && yin >= 0.0 && yin < hd)) {
          o[0] = o[1] = o[2] = fill_value;
          continue;
        }
        xin -= 0.5;
        yin -= 0.5;
      } else {
        xin = reflect101(xin - 0.5, w);
        yin = reflect101(yin - 0.5, h);
      }
      // floor without the libm call (coordinates here are >= -0.5 and bounded by the image size)
      int64_t x0 = static_cast<int64_t>(xin), y0 = static_cast<int64_t>(yin);
      x0 -= xin < static_cast<double>(x0);
      y0 -= yin < static_cast<double>(y0);
      const double dxs = xin - static_cast<double>(x0), dys = yin - static_cast<double>(y0);
      const Double2 dx = {dxs, dxs}, dy = {dys, dys};
      const int64_t xa = std::clamp<int64_t>(x0, 0, w - 1), xb = std::clamp<int64_t>(x0 + 1, 0, w - 1);
      const int64_t row0 = std::clamp<int64_t>(y0, 0, h - 1) * w, row1 = std::clamp<int64_t>(y0 + 1, 0, h - 1) * w;
      const PixelD p00 = load(row0 + xa), p01 = load(row0 + xb), p10 = load(row1 + xa), p11 = load(row1 + xb);
      // PIL's BILINEAR(v, a, b, d): v = a + (b - a) * d, both rows, then between them, then truncation
      const Double2 rg1 = p00.rg + (p01.rg - p00.rg) * dx, bx1 = p00.bx + (p01.bx - p00.bx) * dx;
      const Double2 rg2 = p10.rg + (p11.rg - p10.rg) * dx, bx2 = p10.bx + (p11.bx - p10.bx) * dx;
      const Double2 rg = rg1 + (rg2 - rg1) * dy, bx = bx1 + (bx2 - bx1) * dy;
      // the values lie in [0, 255] (between the four inputs): truncation is PIL's (UINT8) cast
      o[0] = static_cast<uint8_t>(static_cast<int>(rg[0]));
      o[1] = static_cast<uint8_t>(static_cast<int>(rg[1]));
      o[2] = static_cast<uint8_t>(static_cast<int>(bx[0]));
    }
  }
  return out;
}

Image rotate(const Image& image, double degrees, FillMode fill, uint8_t fill_value) {
  check_image(image, "rotate");
  NN_CHECK(std::isfinite(degrees), "rotate: angle {} degrees is not finite", degrees);
  double angle = std::fmod(degrees, 360.0);  // Python's angle % 360.0
  if (angle < 0) angle += 360.0;
  if (angle == 0) return image;
  // PIL Image.rotate: matrix entries rounded to 15 decimals by Python's round(v, 15), which rounds the exact
  // binary value to the nearest decimal (glibc's printf does the same; round(v * 1e15) / 1e15 can differ in
  // the last bit, enough to move a sample across a truncation boundary), centre (W/2, H/2)
  const auto r15 = [](double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%.15f", v);
    return std::strtod(text, nullptr);
  };
  const double a = -(angle * kDegToRad);
  double m[6] = {r15(std::cos(a)), r15(std::sin(a)), 0.0, r15(-std::sin(a)), r15(std::cos(a)), 0.0};
  const double cx = static_cast<double>(image.width) / 2.0, cy = static_cast<double>(image.height) / 2.0;
  m[2] = m[0] * -cx + m[1] * -cy + m[2];
  m[5] = m[3] * -cx + m[4] * -cy + m[5];
  m[2] += cx;
  m[5] += cy;
  return warp_affine(image, m, fill, fill_value);
}

Image affine(const Image& image, double degrees, double translate_x, double translate_y, double scale, double shear_x,
             double shear_y, FillMode fill, uint8_t fill_value) {
  check_image(image, "affine");
  NN_CHECK(std::isfinite(degrees) && std::isfinite(translate_x) && std::isfinite(translate_y) &&
               std::isfinite(shear_x) && std::isfinite(shear_y),
           "affine: angle {}, translation ({}, {}) and shear ({}, {}) must be finite", degrees, translate_x,
           translate_y, shear_x, shear_y);
  NN_CHECK(scale > 0 && std::isfinite(scale), "affine: scale {} must be positive and finite", scale);
  // torchvision's _get_inverse_affine_matrix with its (clockwise) angle = -degrees, term order kept
  const double rot = -degrees * kDegToRad, sx = shear_x * kDegToRad, sy = shear_y * kDegToRad;
  const double cx = static_cast<double>(image.width) * 0.5, cy = static_cast<double>(image.height) * 0.5;
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -std::cos(rot - sy) * std::tan(sx) / std::cos(sy) - std::sin(rot);
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = -std::sin(rot - sy) * std::tan(sx) / std::cos(sy) + std::cos(rot);
  double m[6] = {d / scale, -b / scale, 0.0 / scale, -c / scale, a / scale, 0.0 / scale};
  m[2] += m[0] * (-cx - translate_x) + m[1] * (-cy - translate_y);
  m[5] += m[3] * (-cx - translate_x) + m[4] * (-cy - translate_y);
  m[2] += cx;
  m[5] += cy;
  return warp_affine(image, m, fill, fill_value);
}

CropBox random_resized_crop_box(int64_t height, int64_t width, double scale_min, double scale_max, double ratio_min,
                                double ratio_max, Generator& gen) {
  NN_CHECK(height > 0 && width > 0, "random resized crop: image {}x{} is empty", height, width);
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_lo = std::log(ratio_min), log_hi = std::log(ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform(gen, scale_min, scale_max);
    const double ratio = std::exp(uniform(gen, log_lo, log_hi));
    const int64_t w = static_cast<int64_t>(std::nearbyint(std::sqrt(target * ratio)));  // Python round: half to even
    const int64_t h = static_cast<int64_t>(std::nearbyint(std::sqrt(target / ratio)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t top = uniform_int(gen, height - h + 1);
      const int64_t left = uniform_int(gen, width - w + 1);
      return {top, left, h, w};
    }
  }
  // Fallback: a centre crop of the whole image with its ratio clamped into the range (never empty).
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < ratio_min) {
    h = static_cast<int64_t>(std::nearbyint(static_cast<double>(w) / ratio_min));
  } else if (in_ratio > ratio_max) {
    w = static_cast<int64_t>(std::nearbyint(static_cast<double>(h) * ratio_max));
  }
  h = std::clamp<int64_t>(h, 1, height);
  w = std::clamp<int64_t>(w, 1, width);
  return {(height - h) / 2, (width - w) / 2, h, w};
}

Image resized_crop(const Image& image, const CropBox& box, int64_t out_height, int64_t out_width) {
  return resize(crop(image, box.top, box.left, box.height, box.width), out_height, out_width);
}

void check_augment_config(const AugmentConfig& c) {
  const auto in = [](double v, double lo, double hi) { return v >= lo && v <= hi; };  // false for NaN
  NN_CHECK(in(c.hflip, 0, 1), "augment config: hflip probability {} is outside [0, 1]", c.hflip);
  NN_CHECK(in(c.vflip, 0, 1), "augment config: vflip probability {} is outside [0, 1]", c.vflip);
  NN_CHECK(in(c.scale_min, 1e-12, 1) && in(c.scale_max, c.scale_min, 1),
           "augment config: crop scale range [{}, {}] is invalid (expected 0 < min <= max <= 1)", c.scale_min,
           c.scale_max);
  NN_CHECK(in(c.ratio_min, 1e-12, 1e12) && in(c.ratio_max, c.ratio_min, 1e12),
           "augment config: crop ratio range [{}, {}] is invalid (expected 0 < min <= max)", c.ratio_min, c.ratio_max);
  NN_CHECK(in(c.rotate_degrees, 0, 360), "augment config: rotate_degrees {} is outside [0, 360]", c.rotate_degrees);
  NN_CHECK(in(c.shift, 0, 1), "augment config: shift {} is outside [0, 1] (a fraction of the image size)", c.shift);
  NN_CHECK(c.shear_degrees >= 0 && c.shear_degrees < 90, "augment config: shear_degrees {} is outside [0, 90)",
           c.shear_degrees);
  NN_CHECK(c.zoom >= 0 && c.zoom < 1, "augment config: zoom {} is outside [0, 1) (the scale is U(1 - zoom, 1 + zoom))",
           c.zoom);
  NN_CHECK(in(c.brightness, 0, 1e6), "augment config: brightness jitter {} must be >= 0 and finite", c.brightness);
  NN_CHECK(in(c.contrast, 0, 1e6), "augment config: contrast jitter {} must be >= 0 and finite", c.contrast);
  NN_CHECK(in(c.saturation, 0, 1e6), "augment config: saturation jitter {} must be >= 0 and finite", c.saturation);
  NN_CHECK(in(c.hue, 0, 0.5), "augment config: hue jitter {} is outside [0, 0.5]", c.hue);
}

uint64_t sample_seed(uint64_t run_seed, int64_t epoch, int64_t index) {
  const auto splitmix64 = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  return splitmix64(splitmix64(splitmix64(run_seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

Image augment(const Image& image, const Preprocessing& prep, const AugmentConfig& c, Generator& gen) {
  check_image(image, "augment");
  check_augment_config(c);
  const int64_t size = prep.input_size;
  NN_CHECK(size > 0, "augment: input size {} must be positive", size);
  Image img;
  if (c.geometry == Geometry::random_resized_crop) {
    const CropBox box =
        random_resized_crop_box(image.height, image.width, c.scale_min, c.scale_max, c.ratio_min, c.ratio_max, gen);
    img = resized_crop(image, box, size, size);
  } else {
    img = eval_geometry(image, prep);
  }
  if (c.hflip > 0 && gen.next_double() < c.hflip) img = hflip(img);
  if (c.vflip > 0 && gen.next_double() < c.vflip) img = vflip(img);
  if (c.rot90 && img.height == img.width) img = rot90(img, static_cast<int>(uniform_int(gen, 4)));
  if (c.rotate_degrees > 0 || c.shift > 0 || c.shear_degrees > 0 || c.zoom > 0) {
    const double angle = c.rotate_degrees > 0 ? uniform(gen, -c.rotate_degrees, c.rotate_degrees) : 0.0;
    const double tx = c.shift > 0 ? uniform(gen, -c.shift, c.shift) * static_cast<double>(img.width) : 0.0;
    const double ty = c.shift > 0 ? uniform(gen, -c.shift, c.shift) * static_cast<double>(img.height) : 0.0;
    const double shear = c.shear_degrees > 0 ? uniform(gen, -c.shear_degrees, c.shear_degrees) : 0.0;
    const double scale = c.zoom > 0 ? uniform(gen, 1 - c.zoom, 1 + c.zoom) : 1.0;
    img = affine(img, angle, tx, ty, scale, shear, 0.0, c.fill, 0);
  }
  if (c.brightness > 0 || c.contrast > 0 || c.saturation > 0 || c.hue > 0) {
    int order[4] = {0, 1, 2, 3};  // brightness, contrast, saturation, hue
    for (int i = 3; i > 0; --i) std::swap(order[i], order[uniform_int(gen, i + 1)]);
    const auto factor = [&](double j) { return j > 0 ? uniform(gen, std::max(0.0, 1 - j), 1 + j) : 1.0; };
    const double fb = factor(c.brightness), fc = factor(c.contrast), fs = factor(c.saturation);
    const double fh = c.hue > 0 ? uniform(gen, -c.hue, c.hue) : 0.0;
    for (int op : order) {
      if (op == 0 && c.brightness > 0) img = adjust_brightness(img, fb);
      if (op == 1 && c.contrast > 0) img = adjust_contrast(img, fc);
      if (op == 2 && c.saturation > 0) img = adjust_saturation(img, fs);
      if (op == 3 && c.hue > 0) img = adjust_hue(img, fh);
    }
  }
  return img;
}

Tensor train_transform(const Image& image, const Preprocessing& prep, const AugmentConfig& config, Generator& gen) {
  return normalize_image(augment(image, prep, config, gen), prep);
}

}  // namespace nn
