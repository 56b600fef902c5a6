// Input normalisation (kernels/normalize.h): normalize_image and normalize_u8_cpu against the formula
// written out, and the CUDA kernel against the CPU one, bit for bit, for torchvision (RGB, 1/255, ImageNet
// mean/std) and Keras caffe (BGR, scale 1, std 1) preprocessing.
#include "base/random.h"
#include "kernels/normalize.h"
#include "tests/check.h"
#include "tests/cuda_check.h"
#include "train/data/image.h"

namespace nn::test {

namespace {

constexpr Tol kExact{0, 0};

NormalizeParams params_of(const Preprocessing& prep, int64_t N, int64_t H, int64_t W) {
  NormalizeParams p{.N = N, .H = H, .W = W, .scale = prep.scale};
  for (int c = 0; c < 3; ++c) {
    p.mean[c] = prep.mean[c];
    p.std[c] = prep.std[c];
  }
  p.order = prep.color_order == "BGR" ? ChannelOrder::bgr : ChannelOrder::rgb;
  return p;
}

// uint8 [N, H, W, 3], seeded, every byte value likely present.
Tensor random_pixels(int64_t N, int64_t H, int64_t W, uint64_t seed) {
  Tensor t = empty({N, H, W, 3}, DType::u8);
  Generator gen(seed);
  uint8_t* d = t.data<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = static_cast<uint8_t>(gen.next_double() * 256);
  return t;
}

// y[n, c, h, w] = float(x[n, h, w, src(c)] * (scale / std[c]) + (-mean[c] / std[c])), in double.
Tensor normalize_formula(const Tensor& x, const Preprocessing& prep) {
  const int64_t N = x.size(0), H = x.size(1), W = x.size(2);
  Tensor y = empty({N, 3, H, W});
  const uint8_t* in = x.data<uint8_t>();
  float* out = y.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int c = 0; c < 3; ++c) {
      const int src = prep.color_order == "BGR" ? 2 - c : c;
      const double a = prep.scale / prep.std[c], b = -prep.mean[c] / prep.std[c];
      for (int64_t i = 0; i < H * W; ++i)
        out[(n * 3 + c) * H * W + i] = static_cast<float>(in[(n * H * W + i) * 3 + src] * a + b);
    }
  return y;
}

const Preprocessing kPreps[] = {Preprocessing::torchvision_imagenet(), Preprocessing::keras_caffe()};

}  // namespace

TEST_SUITE("known") {
  TEST_CASE("normalize: normalize_image and normalize_u8_cpu give the formula's values, RGB and BGR") {
    const Tensor x = random_pixels(2, 13, 7, 1);
    for (const Preprocessing& prep : kPreps) {
      INFO("color order ", prep.color_order);
      const Tensor want = normalize_formula(x, prep);
      Tensor y = empty({2, 3, 13, 7});
      normalize_u8_cpu(y.data<float>(), x.data<uint8_t>(), params_of(prep, 2, 13, 7));
      check_close("normalize_u8_cpu", y, want, kExact);
      for (int64_t n = 0; n < 2; ++n) {
        const uint8_t* d = x.data<uint8_t>() + n * 13 * 7 * 3;
        const Image image{.height = 13, .width = 7, .rgb = std::vector<uint8_t>(d, d + 13 * 7 * 3)};
        check_close("normalize_image", normalize_image(image, prep), want.select(0, n), kExact);
      }
    }
  }
}

TEST_SUITE("cuda") {
  // Model-sized: a training batch of 2 at 224x224 (100352 pixels, 392 blocks); awkward: 3 images of 17x33
  // (1683 pixels, a partial last block) and a single pixel.
  TEST_CASE("cuda normalize: uint8 NHWC to float NCHW equals the CPU bit for bit (2x224x224, 3x17x33, 1x1x1)") {
    for_each_schedule([&] {
      uint64_t seed = 5;
      for (const Shape& s : {Shape{2, 224, 224}, Shape{3, 17, 33}, Shape{1, 1, 1}}) {
        const Tensor x = random_pixels(s[0], s[1], s[2], seed++), cx = to_cuda(x);
        for (const Preprocessing& prep : kPreps) {
          INFO("shape ", s[0], "x", s[1], "x", s[2], ", color order ", prep.color_order);
          const NormalizeParams p = params_of(prep, s[0], s[1], s[2]);
          Tensor want = empty({s[0], 3, s[1], s[2]});
          normalize_u8_cpu(want.data<float>(), x.data<uint8_t>(), p);
          const Tensor got = empty({s[0], 3, s[1], s[2]}, DType::f32, Device::cuda());
          normalize_u8_cuda(got.data<float>(), cx.data<uint8_t>(), p);
          check_close("normalize_u8_cuda", to_cpu(got), want, kExact);
        }
      }
    });
  }
}

}  // namespace nn::test
