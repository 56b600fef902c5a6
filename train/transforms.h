// Transforms: geometry and colour on 8-bit RGB images (train/image.h), then normalisation into the
// network input. Random choices come from a Generator seeded per sample and epoch (sample_seed), so a
// run is reproducible whatever the number of loader threads. Validation and test data get only the
// deterministic eval transform (preprocess_image), never augmentation.
//
// Semantics follow torchvision's functional transforms on PIL images, which the tests compare against:
//   resized crop   crop (top, left, h, w) then resize (bilinear, antialiased) to the output size
//   random resized crop   area fraction s ~ U(scale), log aspect ratio ~ U(log ratio), up to 10 tries, else
//                  a centre crop of the ratio clamped to the range (torchvision's fallback)
//   rotate         about the image centre by `degrees` counter-clockwise, bilinear, same size; outside pixels
//                  reflect (mirror, like cv2's BORDER_REFLECT_101) or take a constant fill
//   affine         torchvision F.affine: rotation, translation (pixels), scale, shear (degrees, x then y)
//                  about the centre; the Keras ImageDataGenerator's shift/shear/zoom map onto it
//   brightness     blend with black:            out = f * img
//   contrast       blend with the grey mean:     out = f * img + (1 - f) * mean(grey(img))
//   saturation     blend with the grey image:    out = f * img + (1 - f) * grey(img)
//   hue            rotate the HSV hue by h in [-0.5, 0.5] turns
// where grey = 0.299 R + 0.587 G + 0.114 B and results are clamped to [0, 255] (rounded, as PIL/torchvision
// on uint8 images). ColorJitter applies the four in a random order with factors drawn uniformly from
// [max(0, 1 - b), 1 + b] (hue from [-h, h]).
#pragma once

#include <cstdint>

#include "tensor/random.h"
#include "train/image.h"
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

// A seed for sample `index` in `epoch` of a run: a mixing hash of the three (splitmix64), so any thread
// can compute it and the stream for one sample is independent of every other.
uint64_t sample_seed(uint64_t run_seed, int64_t epoch, int64_t index);

// The augmented network input [3, input_size, input_size] for one image.
Tensor train_transform(const Image& image, const Preprocessing& prep, const AugmentConfig& config, Generator& gen);
// The augmented image before normalisation (for tests and previews).
Image augment(const Image& image, const Preprocessing& prep, const AugmentConfig& config, Generator& gen);

}  // namespace nn
