// libFuzzer target: the image path of the loader, from file bytes to a network input.
//
// decode (stb_image: JPEG, PNG, BMP, GIF, ...), then the training augmentation with every transform on and
// a seed taken from the input, then normalisation. Any input must either give a finite 3 x 32 x 32 tensor
// or raise nn::Error. Images are capped at 0.25 megapixels here (the library's own cap is 64) so that one
// input cannot take seconds.
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "base/error.h"
#include "train/data/image.h"
#include "train/data/transforms.h"

namespace {

nn::AugmentConfig everything_on() {
  nn::AugmentConfig a;
  a.scale_min = 0.2;
  a.hflip = a.vflip = 0.5;
  a.rot90 = true;
  a.rotate_degrees = 30;
  a.shift = 0.1;
  a.shear_degrees = 10;
  a.zoom = 0.2;
  a.brightness = a.contrast = a.saturation = 0.3;
  a.hue = 0.1;
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nn::Image img;
  try {
    img = nn::decode_image_bytes(data, size, "fuzz-input");
  } catch (const nn::Error&) {
    return 0;
  }
  if (img.height <= 0 || img.width <= 0 || img.rgb.size() != static_cast<size_t>(img.height * img.width * 3)) std::abort();
  if (img.height * img.width > (int64_t{1} << 18)) return 0;
  nn::Preprocessing prep = nn::Preprocessing::torchvision_imagenet(36);
  prep.input_size = 32;
  static const nn::AugmentConfig config = everything_on();
  uint64_t seed = 0;
  for (size_t i = 0; i < size && i < 8; ++i) seed = seed << 8 | data[i];
  nn::Generator gen(seed);
  for (nn::FillMode fill : {nn::FillMode::reflect, nn::FillMode::constant}) {
    nn::AugmentConfig c = config;
    c.fill = fill;
    const nn::Tensor x = nn::train_transform(img, prep, c, gen);
    if (x.shape() != nn::Shape({3, 32, 32})) std::abort();
    const float* p = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i)
      if (!std::isfinite(p[i])) std::abort();
  }
  const nn::Tensor eval = nn::preprocess_image(img, prep);
  if (eval.shape() != nn::Shape({3, 32, 32})) std::abort();
  return 0;
}
