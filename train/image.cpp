// Image decoding, resizing and preprocessing (see image.h).
#include "train/image.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>

namespace nn {

namespace {

std::string stb_reason() { return stbi_failure_reason() ? stbi_failure_reason() : "unknown reason"; }

Image take_pixels(stbi_uc* pixels, int w, int h) {
  std::unique_ptr<stbi_uc, void (*)(void*)> data(pixels, stbi_image_free);
  Image img;
  img.height = h;
  img.width = w;
  img.rgb.assign(data.get(), data.get() + static_cast<size_t>(w) * h * 3);
  return img;
}

}  // namespace

Image decode_image(const std::string& path) {
  int w = 0, h = 0, channels = 0;
  NN_CHECK(stbi_info(path.c_str(), &w, &h, &channels), "{}: cannot read as an image: {}", path, stb_reason());
  NN_CHECK(static_cast<int64_t>(w) * h <= kMaxImagePixels, "{}: {}x{} pixels is over the {} megapixel limit", path, w,
           h, kMaxImagePixels >> 20);
  stbi_uc* pixels = stbi_load(path.c_str(), &w, &h, &channels, 3);
  NN_CHECK(pixels != nullptr, "{}: cannot decode: {}", path, stb_reason());
  return take_pixels(pixels, w, h);
}

Image decode_image_bytes(const uint8_t* data, size_t size, const std::string& name) {
  NN_CHECK(size <= static_cast<size_t>(INT32_MAX), "{}: {} bytes is too large for an image file", name, size);
  const int n = static_cast<int>(size);
  int w = 0, h = 0, channels = 0;
  NN_CHECK(stbi_info_from_memory(data, n, &w, &h, &channels), "{}: cannot read as an image: {}", name, stb_reason());
  NN_CHECK(static_cast<int64_t>(w) * h <= kMaxImagePixels, "{}: {}x{} pixels is over the {} megapixel limit", name, w,
           h, kMaxImagePixels >> 20);
  stbi_uc* pixels = stbi_load_from_memory(data, n, &w, &h, &channels, 3);
  NN_CHECK(pixels != nullptr, "{}: cannot decode: {}", name, stb_reason());
  return take_pixels(pixels, w, h);
}

void encode_image(const Image& image, const std::string& path, int quality) {
  NN_CHECK(image.height > 0 && image.width > 0 && image.rgb.size() == static_cast<size_t>(image.height * image.width * 3),
           "{}: cannot write a {}x{} image holding {} bytes", path, image.height, image.width, image.rgb.size());
  NN_CHECK(quality >= 1 && quality <= 100, "{}: JPEG quality {} is outside 1..100", path, quality);
  std::string ext = path.substr(path.find_last_of('.') == std::string::npos ? path.size() : path.find_last_of('.'));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  const int w = static_cast<int>(image.width), h = static_cast<int>(image.height);
  int ok = 0;
  if (ext == ".jpg" || ext == ".jpeg") {
    ok = stbi_write_jpg(path.c_str(), w, h, 3, image.rgb.data(), quality);
  } else if (ext == ".png") {
    ok = stbi_write_png(path.c_str(), w, h, 3, image.rgb.data(), w * 3);
  } else if (ext == ".bmp") {
    ok = stbi_write_bmp(path.c_str(), w, h, 3, image.rgb.data());
  } else {
    NN_FAIL("{}: cannot tell the image format from the extension (expected .jpg, .jpeg, .png or .bmp)", path);
  }
  NN_CHECK(ok != 0, "{}: cannot write the image (missing folder, full disk or no permission?)", path);
}

namespace {

// For each output index: the first contributing input index and the normalised weights.
struct Taps {
  std::vector<int64_t> first;
  std::vector<std::vector<float>> weights;
};

Taps bilinear_taps(int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = std::max(scale, 1.0);  // filter radius in input pixels
  Taps t;
  for (int64_t x = 0; x < out; ++x) {
    const double centre = (static_cast<double>(x) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(centre - support + 0.5)));
    const int64_t hi = std::min<int64_t>(in, static_cast<int64_t>(std::floor(centre + support + 0.5)));
    std::vector<float> w;
    double total = 0;
    for (int64_t i = lo; i < hi; ++i) {
      const double v = std::max(0.0, 1.0 - std::fabs((static_cast<double>(i) + 0.5 - centre) / support));
      w.push_back(static_cast<float>(v));
      total += v;
    }
    for (float& v : w) v = static_cast<float>(v / total);
    t.first.push_back(lo);
    t.weights.push_back(std::move(w));
  }
  return t;
}

}  // namespace

Image resize(const Image& src, int64_t height, int64_t width) {
  NN_CHECK(height > 0 && width > 0, "resize: target {}x{} must be positive", height, width);
  NN_CHECK(src.height > 0 && src.width > 0, "resize: the source image is empty");
  if (height == src.height && width == src.width) return src;  // exactly the identity
  const Taps tx = bilinear_taps(src.width, width), ty = bilinear_taps(src.height, height);
  std::vector<float> horizontal(static_cast<size_t>(src.height * width * 3));  // [src.height, width, 3]
  for (int64_t y = 0; y < src.height; ++y) {
    const uint8_t* row = src.rgb.data() + y * src.width * 3;
    for (int64_t x = 0; x < width; ++x) {
      float acc[3] = {0, 0, 0};
      const auto& w = tx.weights[x];
      for (size_t k = 0; k < w.size(); ++k)
        for (int c = 0; c < 3; ++c) acc[c] += w[k] * row[(tx.first[x] + static_cast<int64_t>(k)) * 3 + c];
      for (int c = 0; c < 3; ++c) horizontal[(y * width + x) * 3 + c] = acc[c];
    }
  }
  Image out;
  out.height = height;
  out.width = width;
  out.rgb.resize(static_cast<size_t>(height * width * 3));
  for (int64_t y = 0; y < height; ++y) {
    const auto& w = ty.weights[y];
    for (int64_t x = 0; x < width * 3; ++x) {
      float acc = 0;
      for (size_t k = 0; k < w.size(); ++k) acc += w[k] * horizontal[(ty.first[y] + static_cast<int64_t>(k)) * width * 3 + x];
      out.rgb[y * width * 3 + x] = static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
    }
  }
  return out;
}

Image resize_shorter_side(const Image& src, int64_t shorter) {
  NN_CHECK(shorter > 0, "resize: shorter side {} must be positive", shorter);
  if (src.height <= src.width) {
    const int64_t w = static_cast<int64_t>(static_cast<double>(shorter) * src.width / src.height);
    return resize(src, shorter, w);
  }
  const int64_t h = static_cast<int64_t>(static_cast<double>(shorter) * src.height / src.width);
  return resize(src, h, shorter);
}

Image center_crop(const Image& src, int64_t height, int64_t width) {
  NN_CHECK(height <= src.height && width <= src.width, "center_crop: {}x{} does not fit in a {}x{} image", height, width,
           src.height, src.width);
  // torchvision rounds the offsets: top = round((H - h) / 2)
  const int64_t top = static_cast<int64_t>(std::nearbyint((src.height - height) / 2.0));  // ties to even, as Python
  const int64_t left = static_cast<int64_t>(std::nearbyint((src.width - width) / 2.0));
  Image out;
  out.height = height;
  out.width = width;
  out.rgb.resize(static_cast<size_t>(height * width * 3));
  for (int64_t y = 0; y < height; ++y)
    std::copy_n(src.rgb.begin() + ((top + y) * src.width + left) * 3, width * 3, out.rgb.begin() + y * width * 3);
  return out;
}

Image eval_geometry(const Image& image, const Preprocessing& p) {
  return p.resize_shorter > 0 ? center_crop(resize_shorter_side(image, p.resize_shorter), p.input_size, p.input_size)
                              : resize(image, p.input_size, p.input_size);
}

Tensor normalize_image(const Image& image, const Preprocessing& p) {
  const int64_t hw = image.height * image.width;
  Tensor out = empty({3, image.height, image.width});
  float* o = out.data<float>();
  const bool bgr = p.color_order == "BGR";
  for (int c = 0; c < 3; ++c) {
    const int src_c = bgr ? 2 - c : c;
    const double a = p.scale / p.std[c], b = -p.mean[c] / p.std[c];
    for (int64_t i = 0; i < hw; ++i) o[c * hw + i] = static_cast<float>(image.rgb[i * 3 + src_c] * a + b);
  }
  return out;
}

Tensor preprocess_image(const Image& image, const Preprocessing& p) { return normalize_image(eval_geometry(image, p), p); }

}  // namespace nn
