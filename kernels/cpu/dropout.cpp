// CPU dropout (see kernels/dropout.h).
#include "kernels/dropout.h"

#include "base/parallel.h"
#include "base/random.h"

namespace nn {

template <class T>
void dropout_forward_cpu(T* y, T* mask, const T* x, int64_t n, double p, uint64_t seed, uint64_t offset) {
  const float keep = static_cast<float>(1.0 - p);
  const T scale = static_cast<T>(1.0 / (1.0 - p));
  parallel_for(0, n, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float u = uniform_float(philox4x32(offset + static_cast<uint64_t>(i / 4), seed)[i % 4]);
      mask[i] = u < keep ? scale : T(0);
      y[i] = x[i] * mask[i];
    }
  });
}

template void dropout_forward_cpu<float>(float*, float*, const float*, int64_t, double, uint64_t, uint64_t);
template void dropout_forward_cpu<double>(double*, double*, const double*, int64_t, double, uint64_t, uint64_t);

}  // namespace nn
