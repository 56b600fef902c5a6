// Preprocessing metadata (see preprocess.h).
#include "weights/preprocess.h"

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace nn {

Preprocessing Preprocessing::torchvision_imagenet(int64_t resize_shorter) {
  Preprocessing p;
  p.resize_shorter = resize_shorter;
  return p;
}

Preprocessing Preprocessing::keras_caffe() {
  Preprocessing p;
  p.color_order = "BGR";
  p.scale = 1.0;
  p.mean = {103.939, 116.779, 123.68};
  p.std = {1.0, 1.0, 1.0};
  p.resize_shorter = 0;
  return p;
}

std::string Preprocessing::to_json() const {
  nlohmann::ordered_json j = {{"color_order", color_order}, {"scale", scale},           {"mean", mean},
                              {"std", std},                 {"input_size", input_size}, {"resize_shorter", resize_shorter}};
  return j.dump();
}

Preprocessing Preprocessing::from_json(const std::string& text, const std::string& where) {
  Preprocessing p;
  try {
    const auto j = nlohmann::json::parse(text);
    p.color_order = j.at("color_order").get<std::string>();
    p.scale = j.at("scale").get<double>();
    p.mean = j.at("mean").get<std::array<double, 3>>();
    p.std = j.at("std").get<std::array<double, 3>>();
    p.input_size = j.at("input_size").get<int64_t>();
    p.resize_shorter = j.at("resize_shorter").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    NN_FAIL("{}: the preprocessing metadata is malformed ({}): {}", where, e.what(), text);
  }
  NN_CHECK(p.color_order == "RGB" || p.color_order == "BGR", "{}: preprocessing color_order must be RGB or BGR, got '{}'",
           where, p.color_order);
  NN_CHECK(p.scale > 0 && p.input_size > 0 && p.resize_shorter >= 0,
           "{}: preprocessing needs scale > 0, input_size > 0 and resize_shorter >= 0: {}", where, text);
  for (double s : p.std) NN_CHECK(s > 0, "{}: preprocessing std entries must be positive: {}", where, text);
  NN_CHECK(p.resize_shorter == 0 || p.resize_shorter >= p.input_size,
           "{}: resize_shorter {} is smaller than the {} crop", where, p.resize_shorter, p.input_size);
  return p;
}

}  // namespace nn
