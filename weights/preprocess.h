// The preprocessing a set of weights expects, stored in the weights file's metadata (key "preprocessing",
// JSON) so that training, evaluation and prediction all prepare images the same way.
//
//   pixel (uint8, in the file's channel order after `color_order`) -> value = (pixel * scale - mean[c]) / std[c]
//   geometry: resize_shorter > 0: resize the shorter side to it (aspect kept), then centre-crop input_size
//             resize_shorter == 0: resize the whole image to input_size x input_size
//
// torchvision ImageNet weights: RGB, scale 1/255, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225),
// resize 256, crop 224. Keras VGG ("caffe" mode): BGR, scale 1, mean (103.939, 116.779, 123.68) in BGR
// order, std 1, resized straight to 224 x 224.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace nn {

struct Preprocessing {
  std::string color_order = "RGB";  // channel order of the network input: "RGB" or "BGR"
  double scale = 1.0 / 255.0;
  std::array<double, 3> mean{0.485, 0.456, 0.406};  // in network channel order, in scaled units
  std::array<double, 3> std{0.229, 0.224, 0.225};
  int64_t input_size = 224;
  int64_t resize_shorter = 256;

  static Preprocessing torchvision_imagenet(int64_t resize_shorter = 256);
  static Preprocessing keras_caffe();

  std::string to_json() const;
  // Parses and validates; `where` names the file in errors.
  static Preprocessing from_json(const std::string& json, const std::string& where);
};

}  // namespace nn
