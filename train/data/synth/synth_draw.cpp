// The renderer of synthetic lesion images (see synth.h): skin, lesion, vessels, hairs, lighting and the
// dermatoscope's vignette, for one lesion in one view. The class models are in synth_lesion.cpp.
//
// Coordinates: p is the image position in units of the shorter side S, centred (about [-0.67, 0.67] x
// [-0.5, 0.5] for 600x450). The lesion frame L is p seen from the lesion: shifted to its centre, rotated,
// mirrored, divided by zoom and radius, deformed by a small smooth warp and stretched by the ellipse aspect,
// so the lesion's own features (noise patterns, globules, vessels) stay attached to it in every view.
#include "base/error.h"
#include "base/math.h"
#include "train/data/synth/synth.h"
#include "train/data/synth/synth_draw.h"

namespace nn {

using namespace synth;

namespace {

struct Canvas {
  int64_t w, h;
  float s;  // shorter side in pixels
  std::vector<float> px;
  float to_x(float p) const { return p * s + 0.5f * static_cast<float>(w); }
  float to_y(float p) const { return p * s + 0.5f * static_cast<float>(h); }
};

// An antialiased stroke of `width` pixels over the canvas.
void draw_segment(Canvas& c, float x0, float y0, float x1, float y1, float width, Rgb col, float opacity) {
  const float half = std::max(width, 0.7f) / 2, pad = half + 1;
  const int64_t xa = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(x0, x1) - pad)));
  const int64_t xb = std::min<int64_t>(c.w - 1, static_cast<int64_t>(std::ceil(std::max(x0, x1) + pad)));
  const int64_t ya = std::max<int64_t>(0, static_cast<int64_t>(std::floor(std::min(y0, y1) - pad)));
  const int64_t yb = std::min<int64_t>(c.h - 1, static_cast<int64_t>(std::ceil(std::max(y0, y1) + pad)));
  const float dx = x1 - x0, dy = y1 - y0, len2 = std::max(dx * dx + dy * dy, 1e-6f);
  const float fade = std::min(1.0f, width / 0.7f);  // sub-pixel strokes fade instead of thinning
  for (int64_t y = ya; y <= yb; ++y)
    for (int64_t x = xa; x <= xb; ++x) {
      const float qx = static_cast<float>(x) + 0.5f - x0, qy = static_cast<float>(y) + 0.5f - y0;
      const float t = std::clamp((qx * dx + qy * dy) / len2, 0.0f, 1.0f);
      const float ex = qx - t * dx, ey = qy - t * dy;
      const float cover = std::clamp(half + 0.5f - std::sqrt(ex * ex + ey * ey), 0.0f, 1.0f) * opacity * fade;
      if (cover <= 0) continue;
      float* p = &c.px[static_cast<size_t>((y * c.w + x) * 3)];
      p[0] += (col.r - p[0]) * cover;
      p[1] += (col.g - p[1]) * cover;
      p[2] += (col.b - p[2]) * cover;
    }
}

// Hairs: dark, slightly curved strokes (quadratic Bezier) crossing part of the image.
void draw_hairs(Canvas& c, Rand& r) {
  if (r.chance(0.55f)) return;
  const int n = r.integer(1, 12);
  for (int i = 0; i < n; ++i) {
    const float ax = r.uni(-0.8f, 0.8f), ay = r.uni(-0.6f, 0.6f), dir = r.uni(0, 2 * kPi), len = r.uni(0.3f, 1.0f);
    const float bx = ax + std::cos(dir) * len, by = ay + std::sin(dir) * len;
    const float mx = (ax + bx) / 2 + r.normal(0, 0.1f), my = (ay + by) / 2 + r.normal(0, 0.1f);
    const float width = r.uni(0.003f, 0.007f) * c.s;
    const Rgb col = r.jitter(Rgb{0.16f, 0.11f, 0.08f}, 0.2f);
    const float opacity = r.uni(0.6f, 0.95f);
    constexpr int kPieces = 12;
    float px = c.to_x(ax), py = c.to_y(ay);
    for (int k = 1; k <= kPieces; ++k) {
      const float t = static_cast<float>(k) / kPieces, u = 1 - t;
      const float qx = u * u * ax + 2 * u * t * mx + t * t * bx, qy = u * u * ay + 2 * u * t * my + t * t * by;
      draw_segment(c, px, py, c.to_x(qx), c.to_y(qy), width, col, opacity);
      px = c.to_x(qx);
      py = c.to_y(qy);
    }
  }
}

// The lesion's colour at lesion-frame point (x, y).
Rgb lesion_colour(const Lesion& l, float x, float y) {
  const uint32_t ns = l.noise_seed;
  Rgb col = l.base;
  const float ax = x - l.asym_x, ay = y - l.asym_y;
  for (int j = 0; j < 3; ++j) {
    if (l.region_amount[j] <= 0) continue;
    const float n = fbm2(ns + 11 * j, ax * l.region_freq + 17.0f * j, ay * l.region_freq);
    const float t = l.region_threshold[j];
    col = mix(col, l.region[j], smoothstep(t - 0.07f, t + 0.07f, n) * std::min(l.region_amount[j], 1.0f));
  }
  const float d = std::sqrt(ax * ax + ay * ay);
  col = scale(col, 1 - l.centre_dark * (1 - std::min(d, 1.0f)));
  if (l.centre_amount > 0) {
    const float w = 1 - smoothstep(l.centre_radius * 0.6f, l.centre_radius, std::sqrt(x * x + y * y));
    col = mix(col, l.centre_colour, w * std::min(l.centre_amount, 1.0f));
  }
  if (l.network > 0) {  // a warped grid of darker lines: a pigment network
    const float wn = value_noise(ns + 5, x * 3, y * 3) * 2.5f;
    const float sx = std::sin(l.network_freq * x + wn), sy = std::sin(l.network_freq * y - wn);
    const float line = 1 - smoothstep(0.15f, 0.45f, std::min(std::fabs(sx), std::fabs(sy)));
    col = scale(col, 1 - 0.45f * l.network * line);
  }
  if (l.waxy > 0) {  // ridges and furrows, slightly yellow
    const float ridge = std::sin(14 * (x * 0.8f + y * 0.6f) + 7 * fbm2(ns + 6, x * 2, y * 2));
    col = mix(scale(col, 1 + 0.18f * l.waxy * ridge), Rgb{0.80f, 0.70f, 0.50f}, 0.15f * l.waxy);
  }
  if (l.scale > 0) {
    const float s = smoothstep(0.6f, 0.72f, value_noise(ns + 7, x * 12, y * 12));
    col = mix(col, Rgb{0.95f, 0.92f, 0.86f}, s * l.scale * 0.9f);
  }
  if (l.gloss > 0) {
    const float g = smoothstep(0.45f, 0.8f, value_noise(ns + 8, x * 2.5f, y * 2.5f));
    col = mix(col, Rgb{0.97f, 0.90f, 0.90f}, g * l.gloss * 0.45f);
  }
  col = scale(col, 1 + l.texture * 2 * (value_noise(ns + 9, x * 25, y * 25) - 0.5f));
  for (const Blob& b : l.blobs) {
    const float dx = x - b.x, dy = y - b.y, d2 = dx * dx + dy * dy;
    if (d2 >= b.radius * b.radius) continue;
    const float cover = 1 - smoothstep(0.75f, 1.0f, std::sqrt(d2) / b.radius);
    col = mix(col, b.colour, cover * b.opacity);
  }
  return col;
}

// Lesion placement in one view: image p -> lesion frame, and back for strokes.
struct Placement {
  float cx, cy, cos_a, sin_a, inv_r, r, aspect, mirror;
  std::pair<float, float> to_image(float lx, float ly) const {  // ignores the small warp
    const float qx = lx * mirror, qy = ly * aspect;
    return {cx + (cos_a * qx - sin_a * qy) * r, cy + (sin_a * qx + cos_a * qy) * r};
  }
};

uint64_t view_seed(uint64_t lesion_seed, int64_t view) {
  const auto w = philox4x32(static_cast<uint64_t>(view) + 0x5EED, lesion_seed);
  return (static_cast<uint64_t>(w[0]) << 32) | w[1];
}

}  // namespace

Image synthetic_lesion_image(int64_t cls, uint64_t lesion_seed, int64_t view, int64_t width, int64_t height) {
  NN_CHECK(cls >= 0 && cls < 7, "synthetic_lesion_image: class {} is outside 0..6", cls);
  NN_CHECK(view >= 0, "synthetic_lesion_image: view {} is negative", view);
  NN_CHECK(width >= kSynthMinSide && height >= kSynthMinSide && width <= kSynthMaxSide && height <= kSynthMaxSide,
           "synthetic_lesion_image: {}x{} is outside {}..{} pixels a side", width, height, kSynthMinSide,
           kSynthMaxSide);
  Rand lr{Generator(lesion_seed)};
  const Lesion l = draw_lesion(cls, lr);
  const Rgb skin = mix(Rgb{0.95f, 0.80f, 0.72f}, Rgb{0.62f, 0.43f, 0.32f}, std::pow(lr.uni(0, 1), 1.5f));
  const float pore = lr.uni(0.03f, 0.08f);
  Rand vr{Generator(view_seed(lesion_seed, view))};
  const View v = draw_view(vr);

  Canvas c{width, height, static_cast<float>(std::min(width, height)), {}};
  c.px.resize(static_cast<size_t>(width * height * 3));
  const float alpha_angle = l.angle + v.rot, r_img = l.radius * v.zoom;
  const Placement pl{v.cx, v.cy, std::cos(alpha_angle), std::sin(alpha_angle), 1 / r_img, r_img, l.aspect,
                     v.mirror ? -1.0f : 1.0f};
  // Border radius by angle, tabulated: harmonics k = 2..9 of the polar radius.
  constexpr int kTable = 512;
  std::array<float, kTable + 1> border{};
  float reach = 1;
  for (int i = 0; i <= kTable; ++i) {
    const float th = -kPi + 2 * kPi * static_cast<float>(i) / kTable;
    float b = 1;
    for (int k = 0; k < kHarmonics; ++k) b += l.harm[k] * std::cos(static_cast<float>(k + 2) * th + l.phase[k]);
    border[i] = std::max(b, 0.3f);
    reach = std::max(reach, border[i]);
  }
  // Pixels farther than this from the centre cannot be in the lesion.
  const float reach_p = r_img * (reach + l.edge_noise + v.warp_amp + 0.05f) / std::min(l.aspect, 1.0f);

  // The smooth content (skin, lesion) is drawn at half resolution and enlarged bilinearly: four times fewer
  // noise evaluations, and dermoscopy is soft anyway. Vessels, hairs and sensor noise are drawn at full size.
  const int64_t f = std::min(width, height) >= 180 ? 2 : 1, w2 = ceil_div(width, f), h2 = ceil_div(height, f);
  std::vector<float> low(static_cast<size_t>(w2 * h2 * 3));
  const float half_w = 0.5f * static_cast<float>(width), half_h = 0.5f * static_cast<float>(height), inv_s = 1 / c.s;
  const float pore_freq = 150 * inv_s;  // pores about S/150 pixels apart
  for (int64_t y2 = 0; y2 < h2; ++y2) {
    const float ys = (static_cast<float>(y2) + 0.5f) * static_cast<float>(f), py = (ys - half_h) * inv_s;
    for (int64_t x2 = 0; x2 < w2; ++x2) {
      const float xs = (static_cast<float>(x2) + 0.5f) * static_cast<float>(f), px = (xs - half_w) * inv_s;
      Rgb col = mix(skin, Rgb{0.86f, 0.55f, 0.55f}, v.erythema * value_noise(v.seed, px * 5, py * 5));
      col = scale(col, 1 - pore * 2 * (value_noise(v.seed + 1, xs * pore_freq, ys * pore_freq) - 0.5f));
      const float dx = px - pl.cx, dy = py - pl.cy;
      if (std::fabs(dx) < reach_p && std::fabs(dy) < reach_p) {
        float qx = (pl.cos_a * dx + pl.sin_a * dy) * pl.inv_r * pl.mirror;
        float qy = (-pl.sin_a * dx + pl.cos_a * dy) * pl.inv_r;
        const float wx = v.warp_amp * std::sin(v.warp_freq * qy + v.warp_p0);
        qy += v.warp_amp * std::sin(v.warp_freq * qx + v.warp_p1);
        qx += wx;
        const float lx = qx, ly = qy / l.aspect, r = std::sqrt(lx * lx + ly * ly);
        const float t = (std::atan2(ly, lx) + kPi) * (kTable / (2 * kPi));
        const int i = std::clamp(static_cast<int>(t), 0, kTable - 1);
        const float b = border[i] + (border[i + 1] - border[i]) * (t - static_cast<float>(i));
        const float rho = r / b + l.edge_noise * (value_noise(l.noise_seed + 3, lx * 4, ly * 4) - 0.5f);
        if (rho < 1) {
          const float alpha = l.max_alpha * (1 - smoothstep(1 - l.edge, 1, rho));
          col = mix(col, lesion_colour(l, lx, ly), std::clamp(alpha, 0.0f, 1.0f));
        }
      }
      float* out = &low[static_cast<size_t>((y2 * w2 + x2) * 3)];
      out[0] = col.r, out[1] = col.g, out[2] = col.b;
    }
  }
  if (f == 1) {
    c.px = std::move(low);
  } else {
    // Bilinear taps per output column and row, computed once.
    struct Tap {
      int64_t i0, i1;
      float t;
    };
    auto taps = [f](int64_t n, int64_t n2) {
      std::vector<Tap> t(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const float u = std::clamp((static_cast<float>(i) + 0.5f) / static_cast<float>(f) - 0.5f, 0.0f,
                                   static_cast<float>(n2 - 1));
        const int64_t i0 = static_cast<int64_t>(u);
        t[static_cast<size_t>(i)] = {i0, std::min(i0 + 1, n2 - 1), u - static_cast<float>(i0)};
      }
      return t;
    };
    const std::vector<Tap> tx = taps(width, w2), ty = taps(height, h2);
    for (int64_t y = 0; y < height; ++y) {
      const Tap& row = ty[static_cast<size_t>(y)];
      const float* r0 = &low[static_cast<size_t>(row.i0 * w2 * 3)];
      const float* r1 = &low[static_cast<size_t>(row.i1 * w2 * 3)];
      float* out = &c.px[static_cast<size_t>(y * width * 3)];
      for (int64_t x = 0; x < width; ++x) {
        const Tap& col = tx[static_cast<size_t>(x)];
        const float *a0 = r0 + col.i0 * 3, *a1 = r0 + col.i1 * 3, *b0 = r1 + col.i0 * 3, *b1 = r1 + col.i1 * 3;
        for (int ch = 0; ch < 3; ++ch) {
          const float top = a0[ch] + (a1[ch] - a0[ch]) * col.t, bottom = b0[ch] + (b1[ch] - b0[ch]) * col.t;
          out[x * 3 + ch] = top + (bottom - top) * row.t;
        }
      }
    }
  }
  for (const Segment& s : l.vessels) {
    const auto [x0, y0] = pl.to_image(s.x0, s.y0);
    const auto [x1, y1] = pl.to_image(s.x1, s.y1);
    draw_segment(c, c.to_x(x0), c.to_y(y0), c.to_x(x1), c.to_y(y1), s.width * r_img * c.s, s.colour,
                 s.opacity * std::min(l.max_alpha + 0.15f, 1.0f));
  }
  draw_hairs(c, vr);

  // Lighting, colour balance, the dermatoscope's vignette and dark frame, sensor noise.
  Image img;
  img.height = height;
  img.width = width;
  img.rgb.resize(c.px.size());
  const float frame_inside = v.frame_radius - v.frame_soft,
              frame_inside2 = frame_inside > 0 ? frame_inside * frame_inside : 0.0f;
  for (int64_t y = 0; y < height; ++y) {
    const float py = (static_cast<float>(y) + 0.5f - half_h) * inv_s;
    for (int64_t x = 0; x < width; ++x) {
      const float px = (static_cast<float>(x) + 0.5f - half_w) * inv_s, d2 = px * px + py * py;
      float light = (1 + v.shade_x * px + v.shade_y * py) * (1 - v.vignette * d2);
      if (d2 > frame_inside2) light *= 1 - smoothstep(frame_inside, v.frame_radius, std::sqrt(d2));
      const size_t o = static_cast<size_t>((y * width + x) * 3);
      // One hash, one byte of it per channel: 256 noise levels are plenty for sensor noise.
      const uint32_t h =
          mix32((static_cast<uint32_t>(x) * 0x9E3779B1U) ^ (static_cast<uint32_t>(y) * 0x85EBCA77U + v.seed));
      for (int ch = 0; ch < 3; ++ch) {
        const float noise = static_cast<float>((h >> (8 * ch)) & 255) * (2.0f / 255) - 1;
        const float value = (c.px[o + ch] * v.gain[ch] * light + v.sensor_noise * noise) * 255.0f;
        img.rgb[o + ch] = static_cast<uint8_t>(std::clamp(value, 0.0f, 255.0f) + 0.5f);
      }
    }
  }
  return img;
}

}  // namespace nn
