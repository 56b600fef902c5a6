// CPU input normalisation (kernels/normalize.h): uint8 NHWC to float NCHW, one plane at a time.
#include "kernels/normalize.h"

#include <algorithm>

#include "base/parallel.h"

namespace nn {

void normalize_u8_cpu(float* y, const uint8_t* x, const NormalizeParams& p) {
  const int64_t hw = p.H * p.W;
  // Planes per thread: at least ~256K values, so one image (the loader's workers call this per image, each
  // on its own thread) runs on the calling thread and only a large batch is split.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(1, hw));
  parallel_for(0, p.N * 3, grain, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t n = j / 3;
      const int c = static_cast<int>(j % 3), src = normalize_source(p, c);
      const double a = p.scale / p.std[c], b = -p.mean[c] / p.std[c];  // as normalize_u8_value
      const uint8_t* in = x + n * hw * 3 + src;
      float* out = y + j * hw;
      for (int64_t i = 0; i < hw; ++i) out[i] = static_cast<float>(in[i * 3] * a + b);
    }
  });
}

}  // namespace nn
