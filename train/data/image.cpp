// Image decoding, resizing and preprocessing (see image.h).
#include "train/data/image.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include "kernels/normalize.h"

namespace nn {

namespace {

std::string stb_reason() { return stbi_failure_reason() ? stbi_failure_reason() : "unknown reason"; }

// Takes ownership of stb_image's pixels. stb_image accepts some headers that declare no pixels (a BMP of
// height 0, found by the fuzzer): such a file is refused here, not returned as an empty image.
Image take_pixels(stbi_uc* pixels, int w, int h, const std::string& name) {
  std::unique_ptr<stbi_uc, void (*)(void*)> data(pixels, stbi_image_free);
  NN_CHECK(w > 0 && h > 0, "{}: the file declares an image of {}x{} pixels, which holds nothing", name, w, h);
  Image img;
  img.height = h;
  img.width = w;
  img.rgb.assign(data.get(), data.get() + static_cast<size_t>(w) * h * 3);
  return img;
}

// stb_image decodes a JPEG cut short without complaint (the missing scan data reads as zeros, a grey band).
// A complete JPEG ends its last scan (SOS marker FF DA) with the end-of-image marker FF D9; entropy-coded
// data cannot hold FF D9 (a coded FF is followed by 00 or a restart marker), and an EXIF thumbnail's own
// markers come before the main image's scans.
void check_jpeg_complete(const uint8_t* data, size_t size, const std::string& name) {
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return;  // not a JPEG
  size_t last_scan = 0, last_end = 0;
  for (size_t i = 2; i + 1 < size; ++i) {
    if (data[i] != 0xFF) continue;
    if (data[i + 1] == 0xDA) last_scan = i;
    if (data[i + 1] == 0xD9) last_end = i;
  }
  NN_CHECK(last_end > last_scan, "{}: the JPEG data ends before its end-of-image marker (a truncated file?)", name);
}

}  // namespace

Image decode_image(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  NN_CHECK(in, "{}: cannot read as an image: cannot open the file", path);
  const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  NN_CHECK(in.good() || in.eof(), "{}: cannot read the file", path);
  return decode_image_bytes(bytes.data(), bytes.size(), path);  // checks the declared size before decoding
}

ImageInfo image_info(const uint8_t* data, size_t size, const std::string& name) {
  NN_CHECK(size > 0, "{}: empty file: no image", name);
  NN_CHECK(size <= static_cast<size_t>(INT32_MAX), "{}: {} bytes is too large for an image file", name, size);
  int w = 0, h = 0, channels = 0;
  NN_CHECK(stbi_info_from_memory(data, static_cast<int>(size), &w, &h, &channels), "{}: cannot read as an image: {}",
           name, stb_reason());
  return {h, w};
}

Image decode_image_bytes(const uint8_t* data, size_t size, const std::string& name) {
  const ImageInfo info = image_info(data, size, name);
  NN_CHECK(info.height * info.width <= kMaxImagePixels, "{}: {}x{} pixels is over the {} megapixel limit", name,
           info.width, info.height, kMaxImagePixels >> 20);
  check_jpeg_complete(data, size, name);
  int w = 0, h = 0, channels = 0;
  const int n = static_cast<int>(size);
  stbi_uc* pixels = stbi_load_from_memory(data, n, &w, &h, &channels, 3);
  NN_CHECK(pixels != nullptr, "{}: cannot decode: {}", name, stb_reason());
  return take_pixels(pixels, w, h, name);
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

// The filter of every output index along one axis, flattened: output x reads inputs first[x] ..
// first[x] + count[x] - 1 with weights weight[x * stride + k]. Built once per call (no per-pixel vectors).
struct Taps {
  std::vector<int64_t> first, count;
  std::vector<float> weight;
  int64_t stride = 0;
};

Taps bilinear_taps(int64_t in, int64_t out) {
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = std::max(scale, 1.0);  // filter radius in input pixels
  Taps t;
  t.stride = static_cast<int64_t>(std::ceil(2 * support)) + 2;  // hi - lo <= 2 * support + 1
  t.first.resize(static_cast<size_t>(out));
  t.count.resize(static_cast<size_t>(out));
  t.weight.assign(static_cast<size_t>(out * t.stride), 0.0f);
  for (int64_t x = 0; x < out; ++x) {
    const double centre = (static_cast<double>(x) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(centre - support + 0.5)));
    const int64_t hi = std::min<int64_t>(in, static_cast<int64_t>(std::floor(centre + support + 0.5)));
    NN_CHECK(hi - lo <= t.stride, "resize: internal error, {} taps exceed the table width {}", hi - lo, t.stride);
    float* w = t.weight.data() + x * t.stride;
    double total = 0;
    for (int64_t i = lo; i < hi; ++i) {
      const double v = std::max(0.0, 1.0 - std::fabs((static_cast<double>(i) + 0.5 - centre) / support));
      w[i - lo] = static_cast<float>(v);
      total += v;
    }
    // Normalising the float weights by the double total, as the reference does, keeps results bit-identical.
    for (int64_t k = 0; k < hi - lo; ++k) w[k] = static_cast<float>(w[k] / total);
    t.first[x] = lo;
    t.count[x] = hi - lo;
  }
  return t;
}

}  // namespace

// Four floats, one pixel (RGB and a spare lane): GCC/Clang vector extensions compute each lane with the same
// scalar float operations as the plain loop, so the results stay bit-identical.
using Float4 = float __attribute__((vector_size(16)));

// Separable: a horizontal pass over every source row into floats, then a vertical pass that accumulates whole
// rows (a vectorisable axpy per tap). Each output value sums its taps in the same order as the plain
// per-pixel loop, so the result does not depend on the loop structure (tests/test_transforms.cpp checks it
// bit for bit against that loop).
Image resize(const Image& src, int64_t height, int64_t width) {
  NN_CHECK(height > 0 && width > 0, "resize: target {}x{} must be positive", height, width);
  NN_CHECK(src.height > 0 && src.width > 0, "resize: the source image is empty");
  if (height == src.height && width == src.width) return src;  // exactly the identity
  const Taps tx = bilinear_taps(src.width, width), ty = bilinear_taps(src.height, height);
  const int64_t row_out = width * 3;
  std::vector<float> horizontal(static_cast<size_t>(src.height * row_out));  // [src.height, width, 3]
  // One source row in floats, [src.width + taps] x RGB plus one, zero-padded so that every output pixel can
  // run the full table width of taps: the extra taps have weight 0 and add +0 to a sum >= 0, which leaves it
  // unchanged. A pixel is read as four floats (R, G, B and the next pixel's R, whose lane is ignored).
  const int64_t taps = tx.stride;
  std::vector<float> row_f(static_cast<size_t>((src.width + taps) * 3 + 1), 0.0f);
  const auto pixel = [&](int64_t i) {
    Float4 v;
    std::memcpy(&v, row_f.data() + i * 3, sizeof v);
    return v;
  };
  for (int64_t y = 0; y < src.height; ++y) {
    const uint8_t* row = src.rgb.data() + y * src.width * 3;
    float* rf = row_f.data();
#pragma omp simd
    for (int64_t i = 0; i < src.width * 3; ++i) rf[i] = static_cast<float>(row[i]);
    float* h = horizontal.data() + y * row_out;
    // Four output pixels at a time: four independent sums hide the latency of the additions.
    int64_t x = 0;
    for (; x + 4 <= width; x += 4) {
      const float* w = tx.weight.data() + x * taps;
      const int64_t f0 = tx.first[x], f1 = tx.first[x + 1], f2 = tx.first[x + 2], f3 = tx.first[x + 3];
      Float4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
      for (int64_t k = 0; k < taps; ++k) {
        a0 += w[k] * pixel(f0 + k);
        a1 += w[taps + k] * pixel(f1 + k);
        a2 += w[2 * taps + k] * pixel(f2 + k);
        a3 += w[3 * taps + k] * pixel(f3 + k);
      }
      for (int c = 0; c < 3; ++c) {
        h[x * 3 + c] = a0[c];
        h[x * 3 + 3 + c] = a1[c];
        h[x * 3 + 6 + c] = a2[c];
        h[x * 3 + 9 + c] = a3[c];
      }
    }
    for (; x < width; ++x) {
      const float* w = tx.weight.data() + x * taps;
      Float4 acc = {0, 0, 0, 0};
      for (int64_t k = 0; k < tx.count[x]; ++k) acc += w[k] * pixel(tx.first[x] + k);
      h[x * 3] = acc[0];
      h[x * 3 + 1] = acc[1];
      h[x * 3 + 2] = acc[2];
    }
  }
  Image out;
  out.height = height;
  out.width = width;
  out.rgb.resize(static_cast<size_t>(height * row_out));
  std::vector<float> acc(static_cast<size_t>(row_out));
  for (int64_t y = 0; y < height; ++y) {
    const float* w = ty.weight.data() + y * ty.stride;
    float* a = acc.data();
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (int64_t k = 0; k < ty.count[y]; ++k) {
      const float wk = w[k];
      const float* h = horizontal.data() + (ty.first[y] + k) * row_out;
#pragma omp simd
      for (int64_t x = 0; x < row_out; ++x) a[x] += wk * h[x];
    }
    uint8_t* o = out.rgb.data() + y * row_out;
    // lround(acc) clamped to 0..255, vectorised: v - trunc(v) is exact in float, so adding 1 when it is
    // >= 0.5 rounds half away from zero exactly as lround does for v >= 0; negatives clamp to 0 either way.
#pragma omp simd
    for (int64_t x = 0; x < row_out; ++x) {
      const float v = a[x];
      int r = static_cast<int>(v);
      r += (v - static_cast<float>(r)) >= 0.5f;
      o[x] = static_cast<uint8_t>(std::min(std::max(r, 0), 255));
    }
  }
  return out;
}

namespace {

// The geometry shared by the image operations and eval_crop_box, which maps their result back.
struct Size2 {
  int64_t height, width;
};
// resize_shorter_side's output size: the longer side scaled and truncated, as torchvision does.
Size2 shorter_side_size(int64_t height, int64_t width, int64_t shorter) {
  if (height <= width) return {shorter, static_cast<int64_t>(static_cast<double>(shorter) * width / height)};
  return {static_cast<int64_t>(static_cast<double>(shorter) * height / width), shorter};
}
// center_crop's offset along one side: torchvision rounds (outer - inner) / 2, ties to even as Python.
int64_t center_offset(int64_t outer, int64_t inner) { return static_cast<int64_t>(std::nearbyint((outer - inner) / 2.0)); }

}  // namespace

Image resize_shorter_side(const Image& src, int64_t shorter) {
  NN_CHECK(shorter > 0, "resize: shorter side {} must be positive", shorter);
  const Size2 size = shorter_side_size(src.height, src.width, shorter);
  return resize(src, size.height, size.width);
}

Image center_crop(const Image& src, int64_t height, int64_t width) {
  NN_CHECK(height <= src.height && width <= src.width, "center_crop: {}x{} does not fit in a {}x{} image", height, width,
           src.height, src.width);
  const int64_t top = center_offset(src.height, height), left = center_offset(src.width, width);
  Image out;
  out.height = height;
  out.width = width;
  out.rgb.resize(static_cast<size_t>(height * width * 3));
  for (int64_t y = 0; y < height; ++y)
    std::copy_n(src.rgb.begin() + ((top + y) * src.width + left) * 3, width * 3, out.rgb.begin() + y * width * 3);
  return out;
}

ImageRegion eval_crop_box(int64_t height, int64_t width, const Preprocessing& p) {
  if (p.resize_shorter <= 0) return {0, 0, static_cast<double>(height), static_cast<double>(width)};
  // The resized size as resize_shorter_side computes it, then center_crop's offsets, scaled back.
  const Size2 resized = shorter_side_size(height, width, p.resize_shorter);
  const double sy = static_cast<double>(height) / resized.height, sx = static_cast<double>(width) / resized.width;
  return {static_cast<double>(center_offset(resized.height, p.input_size)) * sy,
          static_cast<double>(center_offset(resized.width, p.input_size)) * sx, p.input_size * sy, p.input_size * sx};
}

namespace {

// stb_image_write's callback that appends the encoded bytes to a std::vector<uint8_t>.
void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

void check_encodable(const Image& image, const char* what) {
  NN_CHECK(image.height > 0 && image.width > 0 && image.rgb.size() == static_cast<size_t>(image.height * image.width * 3),
           "{}: a {}x{} image holding {} bytes", what, image.height, image.width, image.rgb.size());
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& image) {
  check_encodable(image, "encode_png");
  std::vector<uint8_t> png;
  const int w = static_cast<int>(image.width), h = static_cast<int>(image.height);
  NN_CHECK(stbi_write_png_to_func(append_bytes, &png, w, h, 3, image.rgb.data(), w * 3) != 0,
           "encode_png: stb_image_write failed");
  return png;
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  check_encodable(image, "encode_jpeg");
  NN_CHECK(quality >= 1 && quality <= 100, "encode_jpeg: quality {} is outside 1..100", quality);
  std::vector<uint8_t> jpeg;
  NN_CHECK(stbi_write_jpg_to_func(append_bytes, &jpeg, static_cast<int>(image.width), static_cast<int>(image.height), 3,
                                  image.rgb.data(), quality) != 0,
           "encode_jpeg: stb_image_write failed");
  return jpeg;
}

Image eval_geometry(const Image& image, const Preprocessing& p) {
  return p.resize_shorter > 0 ? center_crop(resize_shorter_side(image, p.resize_shorter), p.input_size, p.input_size)
                              : resize(image, p.input_size, p.input_size);
}

Tensor normalize_image(const Image& image, const Preprocessing& p) {
  NormalizeParams np;
  np.N = 1;
  np.H = image.height;
  np.W = image.width;
  np.scale = p.scale;
  for (int c = 0; c < 3; ++c) {
    np.mean[c] = p.mean[c];
    np.std[c] = p.std[c];
  }
  np.order = p.color_order == "BGR" ? ChannelOrder::bgr : ChannelOrder::rgb;
  Tensor out = empty({3, image.height, image.width});
  normalize_u8_cpu(out.data<float>(), image.rgb.data(), np);
  return out;
}

Tensor preprocess_image(const Image& image, const Preprocessing& p) { return normalize_image(eval_geometry(image, p), p); }

}  // namespace nn
