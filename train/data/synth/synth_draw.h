// Internals of the synthetic lesion drawing (train/data/synth/synth.h), shared by synth_lesion.cpp (the class models:
// what a lesion and a view look like) and synth_draw.cpp (the renderer). Not part of skinnet's interface.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "base/random.h"

namespace nn::synth {

constexpr float kPi = std::numbers::pi_v<float>;
enum SynthClass : int64_t { kMel, kNv, kBcc, kAkiec, kBkl, kDf, kVasc };

struct Rgb {
  float r = 0, g = 0, b = 0;
};
inline Rgb mix(Rgb a, Rgb b, float t) { return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }
inline Rgb scale(Rgb a, float s) { return {a.r * s, a.g * s, a.b * s}; }

inline float smoothstep(float e0, float e1, float x) {
  const float t = std::clamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
  return t * t * (3 - 2 * t);
}

// Seeded draws for building a lesion or a view (host-side decisions, a few hundred per image).
struct Rand {
  Generator gen;
  float uni(float lo, float hi) { return lo + static_cast<float>(gen.next_double()) * (hi - lo); }
  bool chance(float p) { return gen.next_double() < p; }
  int integer(int lo, int hi) { return lo + std::min(hi - lo, static_cast<int>(gen.next_double() * (hi - lo + 1))); }
  float normal(float mean, float sd) {
    const double u1 = std::max(gen.next_double(), 1e-12), u2 = gen.next_double();
    return mean + sd * static_cast<float>(std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2));
  }
  uint32_t word() { return philox4x32(gen.reserve(1), gen.seed())[0]; }
  Rgb jitter(Rgb c, float sd) {  // a colour varied in brightness and a little in hue
    const float s = 1 + normal(0, sd);
    return {std::clamp(c.r * s * (1 + normal(0, sd / 3)), 0.f, 1.f),
            std::clamp(c.g * s * (1 + normal(0, sd / 3)), 0.f, 1.f),
            std::clamp(c.b * s * (1 + normal(0, sd / 3)), 0.f, 1.f)};
  }
};

// Per-pixel noise: an integer hash of (seed, lattice point), smoothly interpolated (value noise). Philox
// would be ten times slower here, and these are texture values, not random decisions; the seeds come from
// the lesion's or view's Generator.
inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}
inline float lattice(uint32_t seed, int32_t ix, int32_t iy) {
  const uint32_t h =
      mix32((static_cast<uint32_t>(ix) * 0x9E3779B1U) ^ (static_cast<uint32_t>(iy) * 0x85EBCA77U + seed));
  return static_cast<float>(h >> 8) * (1.0f / 16777216.0f);
}
inline float value_noise(uint32_t seed, float x, float y) {  // in [0, 1), lattice spacing 1
  // floor without a libm call (x86-64 without SSE4.1 has no rounding instruction).
  int32_t ix = static_cast<int32_t>(x), iy = static_cast<int32_t>(y);
  ix -= static_cast<float>(ix) > x;
  iy -= static_cast<float>(iy) > y;
  const float fx = static_cast<float>(ix), fy = static_cast<float>(iy);
  float tx = x - fx, ty = y - fy;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  const float a = lattice(seed, ix, iy), b = lattice(seed, ix + 1, iy);
  const float c = lattice(seed, ix, iy + 1), d = lattice(seed, ix + 1, iy + 1);
  return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}
inline float fbm2(uint32_t seed, float x, float y) {  // two octaves, about [0, 1)
  return (value_noise(seed, x, y) * 2 + value_noise(seed + 101, x * 2.03f, y * 2.03f)) * (1.0f / 3);
}

constexpr int kHarmonics = 8;  // border harmonics k = 2..9

struct Blob {  // a disc in the lesion frame (units of the lesion radius)
  float x, y, radius;
  Rgb colour;
  float opacity;
};
struct Segment {  // a stroke in the lesion frame; width in units of the lesion radius
  float x0, y0, x1, y1, width;
  Rgb colour;
  float opacity;
};

// Everything that makes a lesion look like its class. Scalars blend linearly (see blend()), so a lesion
// can sit between two classes; the feature strengths are 0 where a class lacks the feature.
struct Lesion {
  float radius = 0.2f;  // of the shorter image side
  float aspect = 1;     // minor / major axis
  float angle = 0;
  std::array<float, kHarmonics> harm{}, phase{};
  float edge = 0.1f;        // width of the border fall-off, fraction of the radius
  float edge_noise = 0.05f; // fuzziness of the border
  float max_alpha = 0.95f;  // opacity over the skin (translucent bcc)
  Rgb base;
  std::array<Rgb, 3> region{};  // colour regions from coarse noise
  std::array<float, 3> region_amount{}, region_threshold{};
  float region_freq = 2.5f;
  float asym_x = 0, asym_y = 0;  // offset of the colour structure from the centre (asymmetry)
  float centre_dark = 0;         // darker (negative: lighter) towards the structural centre
  Rgb centre_colour;             // pale centre (df scar)
  float centre_amount = 0, centre_radius = 0.4f;
  float network = 0, network_freq = 9;  // pigment network
  float waxy = 0;                        // ridged, waxy texture (bkl)
  float scale = 0;                       // white scales (akiec)
  float gloss = 0;                       // pearly sheen (bcc)
  float texture = 0.08f;                 // fine mottling
  std::vector<Blob> blobs;               // globules, lobules, milia, nests
  std::vector<Segment> vessels;
  uint32_t noise_seed = 0;
};

// What changes between the images of a lesion.
struct View {
  float cx = 0, cy = 0, rot = 0, zoom = 1;
  bool mirror = false;
  float warp_amp = 0.03f, warp_freq = 4, warp_p0 = 0, warp_p1 = 0;
  std::array<float, 3> gain{1, 1, 1};
  float shade_x = 0, shade_y = 0;  // linear lighting gradient
  float erythema = 0;
  float frame_radius = 1, frame_soft = 0.1f, vignette = 0.2f;  // a frame radius past the corners: no frame
  float sensor_noise = 0.01f;
  uint32_t seed = 0;
};

// A lesion of class `cls` (synthetic_classes() order), sometimes leaning towards a confusable class.
Lesion draw_lesion(int64_t cls, Rand& r);
View draw_view(Rand& r);

}  // namespace nn::synth
