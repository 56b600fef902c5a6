// Images: decoding (stb_image), resizing, cropping and conversion to a normalised network input.
//
// Image holds 8-bit RGB pixels, row-major HWC. Every file format stb_image reads (JPEG, PNG, BMP, ...)
// and every channel layout (grey, grey+alpha, RGB, RGBA, 16-bit) becomes RGB8; alpha is dropped.
//
// Resize algorithm (resize()): separable, antialiased bilinear, the same filter as PIL's BILINEAR that
// torchvision uses on PIL images. Output pixel x covers input coordinates around
// centre = (x + 0.5) * s with s = in/out (pixel centres at half-integers). Each input pixel i gets weight
// max(0, 1 - |i + 0.5 - centre| / max(s, 1)), normalised to sum 1: plain bilinear interpolation when
// enlarging, and a triangle filter s pixels wide (antialiasing) when shrinking. The horizontal pass runs
// first, then the vertical one, in float, rounded to uint8 once at the end. Resizing an image to its own
// size returns an exact copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"
#include "weights/preprocess.h"

namespace nn {

struct Image {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> rgb;  // height * width * 3
};

inline constexpr int64_t kMaxImagePixels = int64_t{64} << 20;  // larger images are refused before decoding

// Errors name the file and the reason: not an image, over kMaxImagePixels (refused before decoding), or a
// JPEG cut short (stb_image would decode it with a grey band; it is refused instead).
Image decode_image(const std::string& path);
// Decodes an image held in memory (a file's bytes); `name` stands for the source in errors.
Image decode_image_bytes(const uint8_t* data, size_t size, const std::string& name);
// The size a file's header declares, read without decoding (to refuse huge images first).
struct ImageInfo {
  int64_t height = 0, width = 0;
};
ImageInfo image_info(const uint8_t* data, size_t size, const std::string& name);
// Writes an image as JPEG (.jpg/.jpeg, at `quality` 1-100), PNG (.png) or BMP (.bmp), chosen by the
// extension, through stb_image_write; errors name the file.
void encode_image(const Image& image, const std::string& path, int quality = 90);
Image resize(const Image& image, int64_t height, int64_t width);
Image resize_shorter_side(const Image& image, int64_t shorter);  // aspect kept, the longer side rounded
Image center_crop(const Image& image, int64_t height, int64_t width);

// The eval geometry of `p`: resize the shorter side then centre-crop input_size, or resize to
// input_size x input_size when p.resize_shorter is 0.
Image eval_geometry(const Image& image, const Preprocessing& p);
// The rectangle of an image of height x width pixels that eval_geometry's output covers, in that image's
// pixel coordinates (fractional): where a map computed on the network input lies on the original image.
struct ImageRegion {
  double top = 0, left = 0, height = 0, width = 0;
};
ImageRegion eval_crop_box(int64_t height, int64_t width, const Preprocessing& p);
// PNG or JPEG file bytes of an image (stb_image_write), for HTTP answers and data: URIs.
std::vector<uint8_t> encode_png(const Image& image);
std::vector<uint8_t> encode_jpeg(const Image& image, int quality = 90);
// Pixels to the network's values: (pixel * scale - mean) / std per channel, in p.color_order; float32
// [3, H, W] at the image's own size.
Tensor normalize_image(const Image& image, const Preprocessing& p);
// The network input for an image: eval_geometry then normalize_image.
Tensor preprocess_image(const Image& image, const Preprocessing& p);

}  // namespace nn
