// Transforms: geometry and colour on 8-bit RGB images (train/data/image.h), then normalisation into the
// network input. Random choices come from a Generator seeded per sample and epoch (sample_seed), so a
// run is reproducible whatever the number of loader threads. Validation and test data get only the
// deterministic eval transform (preprocess_image), never augmentation.
//
// Semantics follow torchvision 0.14's functional transforms on PIL (9.4) images, which the tests compare
// against bit for bit where the arithmetic allows (docs/transforms.md has the details and tolerances):
//   crop, flips, rot90   exact pixel copies; rot90 turns counter-clockwise as torch.rot90 / PIL ROTATE_90
//   resized crop   crop (top, left, h, w) then resize() (PIL's antialiased bilinear) to the output size
//   random resized crop   torchvision's RandomResizedCrop.get_params: up to 10 tries of area s * H * W with
//                  s ~ U(scale), ratio r = exp(U(log ratio)), w = round(sqrt(area r)), h = round(sqrt(area / r))
//                  (half to even), accepted when 0 < w <= W and 0 < h <= H, then top ~ U{0..H-h},
//                  left ~ U{0..W-w}; else a centre crop with the ratio clamped to the range
//   rotate, affine an inverse map from output to input: output pixel (x, y) samples input point
//                  (a0 (x+.5) + a1 (y+.5) + a2, a3 (x+.5) + a4 (y+.5) + a5) in edge coordinates, as PIL's
//                  Image.transform(AFFINE, BILINEAR): bilinear in double between the pixel centres, edges
//                  clamped, the result TRUNCATED to uint8. Constant fill: points outside [0, W) x [0, H)
//                  take fill_value. Reflect fill: the point (in centre coordinates) is mirrored about the
//                  first and last pixel centres (cv2 BORDER_REFLECT_101: ...c b | a b c ... | ... y z | y x)
//                  and always sampled. rotate() builds PIL's Image.rotate matrix (centre (W/2, H/2),
//                  coefficients rounded to 15 decimals, so multiples of 90 degrees are exact pixel moves);
//                  affine() builds torchvision's _get_inverse_affine_matrix with centre (W/2, H/2).
//                  Angles turn counter-clockwise in both, so affine(img, d, ...) is
//                  F.affine(img, angle=-d, translate, scale, shear) (F.affine's angle is clockwise).
//   brightness, contrast, saturation   PIL ImageEnhance: Image.blend(degenerate, img, f) with f a float32:
//                  out = (uint8) trunc((float) d + f * (float) (img - d)) for 0 <= f <= 1, else the same
//                  float value clipped to 0 / 255 and truncated; degenerate d = 0 (brightness), the
//                  rounded mean int(mean(L) + 0.5) of the grey image (contrast), the grey image L
//                  (saturation), with PIL's grey L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16
//   hue            PIL's RGB -> HSV (uint8 H, S, V: h = fmod(hue/6 + 1, 1), H = (int)(h * 255), S the same
//                  with s = (max - min) / max, V = max), H += (uint8)(int)(hue * 255) modulo 256 (numpy's
//                  uint8 cast of hue * 255, truncated toward zero), back with PIL's HSV -> RGB (rounding).
//                  The round trip is lossy even at hue 0, exactly as torchvision's adjust_hue.
// ColorJitter applies the four in a random order with factors drawn uniformly from [max(0, 1 - b), 1 + b]
// (hue from [-h, h]).
//
// augment() draws from `gen` in this fixed order, and only for the steps the config enables (each draw is
// one gen.next_double(); U(a, b) = a + (b - a) u; an integer in 0..n-1 is min(n - 1, floor(u n))):
//   1. random resized crop: per try U(scale), U(log ratio) then, once accepted, top, left (2 to 40 draws)
//   2. hflip (p > 0): u < p flips; 3. vflip (p > 0): the same
//   4. rot90 (square images): k = floor(4 u) quarter turns
//   5. affine, when any of rotate/shift/shear/zoom is non-zero, drawing for the non-zero ones in the order
//      angle U(-d, d), shift x U(-s, s) * W, shift y U(-s, s) * H, shear x U(-d, d), scale U(1 - z, 1 + z);
//      applied as ONE warp (the image is resampled once)
//   6. colour jitter, when any of the four is non-zero: a permutation of (brightness, contrast, saturation,
//      hue) by Fisher-Yates (3 draws: position i = 3, 2, 1 swaps with U{0..i}), then the factors of the
//      non-zero ones in that fixed order b, c, s, h; applied in the permuted order
#pragma once

#include <cstdint>

#include "base/random.h"
#include "train/data/image.h"
#include "weights/preprocess.h"

namespace nn {

enum class FillMode { reflect, constant };

// --- deterministic image functions
Image crop(const Image& image, int64_t top, int64_t left, int64_t height, int64_t width);  // must fit
Image hflip(const Image& image);
Image vflip(const Image& image);
Image rot90(const Image& image, int k);  // k quarter turns counter-clockwise (negative: clockwise)
Image rotate(const Image& image, double degrees, FillMode fill, uint8_t fill_value = 0);
Image affine(const Image& image, double degrees, double translate_x, double translate_y, double scale,
             double shear_x, double shear_y, FillMode fill, uint8_t fill_value = 0);
Image adjust_brightness(const Image& image, double factor);
Image adjust_contrast(const Image& image, double factor);
Image adjust_saturation(const Image& image, double factor);
Image adjust_hue(const Image& image, double hue);  // hue in [-0.5, 0.5]

// The general warp behind rotate() and affine(): `inverse` maps output to input as described above.
Image warp_affine(const Image& image, const double inverse[6], FillMode fill, uint8_t fill_value = 0);
// PIL's grey level of one pixel, L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16.
inline uint8_t grey_level(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

struct CropBox {
  int64_t top = 0, left = 0, height = 0, width = 0;
};
// torchvision's RandomResizedCrop.get_params for an image of height x width (see the header comment).
CropBox random_resized_crop_box(int64_t height, int64_t width, double scale_min, double scale_max, double ratio_min,
                                double ratio_max, Generator& gen);
// crop(box) then resize to out_height x out_width (torchvision F.resized_crop).
Image resized_crop(const Image& image, const CropBox& box, int64_t out_height, int64_t out_width);

// --- training augmentation
enum class Geometry {
  random_resized_crop,  // RandomResizedCrop(input_size, scale, ratio), torchvision's ImageNet recipe
  resize,               // the eval geometry of the Preprocessing (resize then centre crop), then the rest
};

struct AugmentConfig {
  Geometry geometry = Geometry::random_resized_crop;
  double scale_min = 0.08, scale_max = 1.0;            // random resized crop: area fraction
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // and aspect ratio
  double hflip = 0.5, vflip = 0.0;                     // probabilities
  bool rot90 = false;                                  // a random number of quarter turns (square inputs)
  double rotate_degrees = 0;                           // uniform in [-d, d]
  double shift = 0;                                    // fraction of the size, uniform in [-s, s], per axis
  double shear_degrees = 0;                            // uniform in [-d, d] (x)
  double zoom = 0;                                     // scale uniform in [1 - z, 1 + z]
  FillMode fill = FillMode::reflect;
  double brightness = 0, contrast = 0, saturation = 0, hue = 0;  // ColorJitter
};

// Throws for settings outside their domain, naming the field and the allowed range: probabilities outside
// [0, 1], negative or non-finite degrees/shift/jitter, hue > 0.5, shear >= 90 degrees, zoom >= 1, shift > 1,
// scale not 0 < min <= max <= 1, ratio not 0 < min <= max.
void check_augment_config(const AugmentConfig& config);

// A seed for sample `index` in `epoch` of a run: a mixing hash of the three (splitmix64), so any thread
// can compute it and the stream for one sample is independent of every other.
uint64_t sample_seed(uint64_t run_seed, int64_t epoch, int64_t index);

// The augmented network input [3, input_size, input_size] for one image.
Tensor train_transform(const Image& image, const Preprocessing& prep, const AugmentConfig& config, Generator& gen);
// The augmented image before normalisation (for tests and previews).
Image augment(const Image& image, const Preprocessing& prep, const AugmentConfig& config, Generator& gen);

}  // namespace nn
