// The class models of synthetic lesions (see synth.h and docs/synthetic-data.md): per class, the size,
// shape, colours and structures a lesion is drawn with, the overlap between classes, and the per-image view.
#include "base/error.h"
#include "train/data/synth/synth_draw.h"

namespace nn::synth {

namespace {

void scale_opacity(Lesion& l, float s) {
  for (Blob& b : l.blobs) b.opacity *= s;
  for (Segment& v : l.vessels) v.opacity *= s;
}

// `a` moved a fraction t towards `b`: scalars interpolate, b's globules and vessels join a's, each kind
// faded by its share. Shape phases and noise seeds stay a's.
Lesion blend(Lesion a, Lesion b, float t) {
  auto lerp = [t](float& x, float y) { x += (y - x) * t; };
  lerp(a.radius, b.radius);
  lerp(a.aspect, b.aspect);
  for (int k = 0; k < kHarmonics; ++k) lerp(a.harm[k], b.harm[k]);
  lerp(a.edge, b.edge);
  lerp(a.edge_noise, b.edge_noise);
  lerp(a.max_alpha, b.max_alpha);
  a.base = mix(a.base, b.base, t);
  for (int j = 0; j < 3; ++j) {
    // A region only one of them has keeps its colour and fades in or out.
    if (a.region_amount[j] == 0) a.region[j] = b.region[j], a.region_threshold[j] = b.region_threshold[j];
    if (b.region_amount[j] != 0) a.region[j] = mix(a.region[j], b.region[j], t);
    lerp(a.region_amount[j], b.region_amount[j]);
  }
  lerp(a.asym_x, b.asym_x);
  lerp(a.asym_y, b.asym_y);
  lerp(a.centre_dark, b.centre_dark);
  if (a.centre_amount == 0) a.centre_colour = b.centre_colour, a.centre_radius = b.centre_radius;
  lerp(a.centre_amount, b.centre_amount);
  lerp(a.network, b.network);
  lerp(a.waxy, b.waxy);
  lerp(a.scale, b.scale);
  lerp(a.gloss, b.gloss);
  lerp(a.texture, b.texture);
  scale_opacity(a, 1 - t);
  scale_opacity(b, t);
  a.blobs.insert(a.blobs.end(), b.blobs.begin(), b.blobs.end());
  a.vessels.insert(a.vessels.end(), b.vessels.begin(), b.vessels.end());
  return a;
}

// A point inside the unit disc, at radius at most r_max (lesion frame).
std::pair<float, float> inside(Rand& r, float r_max) {
  const float rho = r_max * std::sqrt(r.uni(0, 1)), th = r.uni(0, 2 * kPi);
  return {rho * std::cos(th), rho * std::sin(th)};
}

// Arborizing vessels: a trunk that forks twice or three times, thinner at each fork.
void add_vessel_tree(Rand& r, Lesion& l, Rgb colour) {
  auto [x, y] = inside(r, 0.55f);
  struct Branch {
    float x, y, dir, len, width;
    int depth;
  };
  std::vector<Branch> todo = {{x, y, r.uni(0, 2 * kPi), r.uni(0.25f, 0.45f), r.uni(0.035f, 0.06f), 0}};
  const int depth_max = r.integer(2, 3);
  while (!todo.empty()) {
    Branch b = todo.back();
    todo.pop_back();
    // Two slightly bent pieces per branch.
    float cx = b.x, cy = b.y, dir = b.dir;
    for (int piece = 0; piece < 2; ++piece) {
      dir += r.normal(0, 0.25f);
      const float nx = cx + std::cos(dir) * b.len / 2, ny = cy + std::sin(dir) * b.len / 2;
      if (nx * nx + ny * ny > 0.85f * 0.85f) break;
      l.vessels.push_back({cx, cy, nx, ny, b.width, colour, r.uni(0.75f, 0.95f)});
      cx = nx;
      cy = ny;
    }
    if (b.depth >= depth_max) continue;
    for (float side : {-1.0f, 1.0f})
      todo.push_back(
          {cx, cy, dir + side * r.uni(0.35f, 0.9f), b.len * r.uni(0.55f, 0.75f), b.width * 0.65f, b.depth + 1});
  }
}

void random_border(Rand& r, Lesion& l, float sd) {
  for (int k = 0; k < kHarmonics; ++k) {
    l.harm[k] = r.normal(0, sd / (1 + 0.25f * k));
    l.phase[k] = r.uni(0, 2 * kPi);
  }
}

// The class models. Colours are linear-ish RGB in [0, 1]; sizes are fractions of the shorter image side.
Lesion draw_class(int64_t cls, Rand& r) {
  Lesion l;
  l.aspect = r.uni(0.7f, 1.0f);
  l.angle = r.uni(0, 2 * kPi);
  l.noise_seed = r.word();
  const Rgb black{0.12f, 0.09f, 0.09f}, blue_grey{0.42f, 0.47f, 0.56f}, red{0.72f, 0.30f, 0.30f};
  const Rgb dark_brown{0.36f, 0.21f, 0.13f}, light_brown{0.64f, 0.46f, 0.32f}, white{0.88f, 0.83f, 0.80f};
  switch (cls) {
    case kNv: {  // round, regular, uniform brown, medium size
      l.radius = r.uni(0.12f, 0.24f);
      random_border(r, l, 0.025f);
      l.edge = r.uni(0.08f, 0.25f);
      l.base = r.jitter(mix(light_brown, dark_brown, r.uni(0, 1)), 0.06f);
      l.region[0] = scale(l.base, 0.8f), l.region_amount[0] = 0.5f, l.region_threshold[0] = r.uni(0.5f, 0.65f);
      l.centre_dark = r.uni(-0.1f, 0.3f);
      if (r.chance(0.5f)) l.network = r.uni(0.2f, 0.6f), l.network_freq = r.uni(7, 12);
      if (r.chance(0.3f))
        for (int i = r.integer(3, 8); i > 0; --i) {
          auto [x, y] = inside(r, 0.7f);
          l.blobs.push_back({x, y, r.uni(0.05f, 0.09f), scale(l.base, 0.6f), 0.8f});
        }
      break;
    }
    case kMel: {  // large, irregular, asymmetric, several colours
      l.radius = r.uni(0.18f, 0.34f);
      random_border(r, l, 0.09f);
      l.edge = r.uni(0.05f, 0.2f);
      l.edge_noise = r.uni(0.08f, 0.2f);
      l.base = r.jitter(mix(dark_brown, light_brown, r.uni(0, 0.5f)), 0.08f);
      std::array<Rgb, 5> pool = {black, blue_grey, red, light_brown, white};
      for (int j = 0, n = r.integer(2, 3); j < n; ++j) {
        const int pick = r.integer(0, 4);
        l.region[j] = r.jitter(pool[pick], 0.08f);
        l.region_amount[j] = r.uni(0.6f, 1.0f);
        l.region_threshold[j] = r.uni(0.45f, 0.65f);
      }
      l.region_freq = r.uni(2, 3.5f);
      l.asym_x = r.uni(-0.45f, 0.45f), l.asym_y = r.uni(-0.45f, 0.45f);
      l.centre_dark = r.uni(0.1f, 0.4f);
      l.network = r.uni(0.2f, 0.7f), l.network_freq = r.uni(6, 11);
      l.texture = 0.12f;
      if (r.chance(0.4f))
        for (int i = r.integer(3, 10); i > 0; --i) {
          auto [x, y] = inside(r, 0.85f);
          l.blobs.push_back({x, y, r.uni(0.03f, 0.08f), black, r.uni(0.6f, 0.9f)});
        }
      break;
    }
    case kBkl: {  // tan to brown, waxy ridges, sharp border, milia-like cysts
      l.radius = r.uni(0.14f, 0.26f);
      random_border(r, l, 0.04f);
      l.edge = r.uni(0.02f, 0.07f);
      l.base = r.jitter(mix(Rgb{0.72f, 0.56f, 0.38f}, Rgb{0.50f, 0.36f, 0.24f}, r.uni(0, 1)), 0.07f);
      l.region[0] = scale(l.base, 1.15f), l.region_amount[0] = 0.6f, l.region_threshold[0] = 0.55f;
      l.waxy = r.uni(0.4f, 1.0f);
      l.texture = 0.15f;
      for (int i = r.integer(2, 8); i > 0; --i) {
        auto [x, y] = inside(r, 0.75f);
        l.blobs.push_back({x, y, r.uni(0.04f, 0.08f), Rgb{0.93f, 0.89f, 0.72f}, 0.75f});
      }
      for (int i = r.integer(0, 5); i > 0; --i) {
        auto [x, y] = inside(r, 0.75f);
        l.blobs.push_back({x, y, r.uni(0.03f, 0.06f), Rgb{0.30f, 0.22f, 0.16f}, 0.8f});
      }
      break;
    }
    case kBcc: {  // pink, translucent and pearly, arborizing vessels, sometimes blue-grey nests
      l.radius = r.uni(0.14f, 0.28f);
      random_border(r, l, 0.045f);
      l.edge = r.uni(0.1f, 0.2f);
      l.max_alpha = r.uni(0.55f, 0.85f);
      l.base = r.jitter(Rgb{0.88f, 0.63f, 0.62f}, 0.05f);
      l.gloss = r.uni(0.4f, 1.0f);
      for (int i = r.integer(2, 5); i > 0; --i) add_vessel_tree(r, l, r.jitter(Rgb{0.68f, 0.10f, 0.14f}, 0.08f));
      if (r.chance(0.4f))
        for (int i = r.integer(1, 4); i > 0; --i) {
          auto [x, y] = inside(r, 0.6f);
          l.blobs.push_back({x, y, r.uni(0.08f, 0.15f), blue_grey, 0.85f});
        }
      if (r.chance(0.2f)) {
        auto [x, y] = inside(r, 0.4f);
        l.blobs.push_back({x, y, r.uni(0.12f, 0.2f), Rgb{0.45f, 0.18f, 0.14f}, 0.9f});  // ulcer crust
      }
      break;
    }
    case kAkiec: {  // red-pink rough patch, ill-defined, white scales
      l.radius = r.uni(0.17f, 0.3f);
      random_border(r, l, 0.06f);
      l.edge = r.uni(0.25f, 0.45f);
      l.edge_noise = 0.15f;
      l.max_alpha = r.uni(0.7f, 0.9f);
      l.base = r.jitter(Rgb{0.86f, 0.50f, 0.46f}, 0.05f);
      l.region[0] = Rgb{0.74f, 0.34f, 0.32f}, l.region_amount[0] = 0.7f, l.region_threshold[0] = 0.55f;
      l.scale = r.uni(0.5f, 1.0f);
      l.texture = 0.2f;
      if (r.chance(0.3f))
        for (int i = r.integer(8, 16); i > 0; --i) {
          auto [x, y] = inside(r, 0.8f);
          l.blobs.push_back({x, y, r.uni(0.03f, 0.05f), white, 0.8f});
        }
      break;
    }
    case kDf: {  // small, light-brown ring with a pale scar-like centre
      l.radius = r.uni(0.08f, 0.14f);
      random_border(r, l, 0.025f);
      l.edge = r.uni(0.15f, 0.3f);
      l.base = r.jitter(Rgb{0.62f, 0.45f, 0.33f}, 0.06f);
      l.network = r.uni(0.3f, 0.6f), l.network_freq = r.uni(8, 12);
      l.centre_colour = r.jitter(Rgb{0.92f, 0.84f, 0.80f}, 0.03f);
      l.centre_amount = r.uni(0.6f, 1.0f);
      l.centre_radius = r.uni(0.35f, 0.6f);
      break;
    }
    case kVasc: {  // red to purple lobules separated by paler septa
      l.radius = r.uni(0.1f, 0.2f);
      random_border(r, l, 0.04f);
      l.harm[r.integer(3, 6)] += r.uni(0.04f, 0.08f);
      l.edge = r.uni(0.05f, 0.12f);
      l.base = r.jitter(Rgb{0.80f, 0.46f, 0.48f}, 0.05f);
      const std::array<Rgb, 3> lobe = {Rgb{0.70f, 0.12f, 0.18f}, Rgb{0.45f, 0.16f, 0.36f}, Rgb{0.35f, 0.06f, 0.12f}};
      for (int i = r.integer(4, 10); i > 0; --i) {
        auto [x, y] = inside(r, 0.7f);
        l.blobs.push_back({x, y, r.uni(0.2f, 0.4f), r.jitter(lobe[r.integer(0, 2)], 0.08f), r.uni(0.85f, 1.0f)});
      }
      break;
    }
    default:
      NN_FAIL("synthetic_lesion_image: class {} is outside 0..6", cls);
  }
  return l;
}

// How often a lesion leans towards another class, and which (weights): the overlap that keeps the task
// from being trivial. Order: mel, nv, bcc, akiec, bkl, df, vasc.
constexpr float kConfusable = 0.3f;
constexpr float kLeanMin = 0.1f, kLeanMax = 0.45f;  // how far a leaning lesion moves towards the other
constexpr std::array<std::array<float, 7>, 7> kConfusers = {{
    {0, 0.6f, 0.15f, 0, 0.25f, 0, 0},   // mel
    {0.4f, 0, 0, 0, 0.4f, 0.2f, 0},     // nv
    {0.3f, 0.25f, 0, 0.45f, 0, 0, 0},   // bcc
    {0, 0, 0.5f, 0, 0.5f, 0, 0},        // akiec
    {0.35f, 0.45f, 0, 0.2f, 0, 0, 0},   // bkl
    {0, 0.7f, 0, 0, 0.3f, 0, 0},        // df
    {0.5f, 0, 0.5f, 0, 0, 0, 0},        // vasc
}};

}  // namespace

Lesion draw_lesion(int64_t cls, Rand& r) {
  Lesion l = draw_class(cls, r);
  if (!r.chance(kConfusable)) return l;
  float u = r.uni(0, 1), acc = 0;
  int64_t other = cls;
  for (int64_t c = 0; c < 7; ++c) {
    acc += kConfusers[cls][c];
    if (u < acc) {
      other = c;
      break;
    }
  }
  if (other == cls) return l;
  // Less than half way: a lesion stays nearer its own class than the other, so that the overlap makes
  // hard cases, not wrong labels (at 0.6 a tenth of the leaning lesions were drawn as the other class).
  Lesion b = draw_class(other, r);
  return blend(std::move(l), std::move(b), r.uni(kLeanMin, kLeanMax));
}

View draw_view(Rand& r) {
  View v;
  v.cx = r.uni(-0.08f, 0.08f), v.cy = r.uni(-0.06f, 0.06f);
  v.rot = r.uni(0, 2 * kPi);
  v.zoom = r.uni(0.8f, 1.25f);
  v.mirror = r.chance(0.5f);
  v.warp_amp = r.uni(0.02f, 0.06f), v.warp_freq = r.uni(2.5f, 5), v.warp_p0 = r.uni(0, 6.3f),
  v.warp_p1 = r.uni(0, 6.3f);
  const float bright = r.uni(0.85f, 1.1f);
  for (float& g : v.gain) g = bright * (1 + r.normal(0, 0.04f));
  v.shade_x = r.normal(0, 0.08f), v.shade_y = r.normal(0, 0.08f);
  v.erythema = r.uni(0, 0.15f);
  if (r.chance(0.5f)) v.frame_radius = r.uni(0.55f, 0.85f), v.frame_soft = r.uni(0.03f, 0.12f);
  else v.frame_radius = 2;
  v.vignette = r.uni(0.05f, 0.35f);
  v.sensor_noise = r.uni(0.005f, 0.02f);
  v.seed = r.word();
  return v;
}

// Canvas: float RGB, row-major, with the mapping between image pixels and p.

}  // namespace nn::synth
