// CPU random fills (see kernels/random.h). Parallel and still deterministic: counter-based.
#include "kernels/random.h"

#include <cmath>
#include <numbers>

#include "base/math.h"
#include "base/parallel.h"
#include "base/random.h"

namespace nn {

namespace {
constexpr int64_t kGrain = 16384;
}

uint64_t random_counters(RandomKind kind, DType dtype, int64_t n) {
  const uint64_t un = static_cast<uint64_t>(n);
  if (kind != RandomKind::randint && dtype == DType::f32) return ceil_div<uint64_t>(un, 4);
  return ceil_div<uint64_t>(un, 2);
}

template <class T>
void uniform_fill_cpu(T* y, int64_t n, uint64_t seed, uint64_t offset) {
  parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (std::is_same_v<T, float>) {
        y[i] = uniform_float(philox4x32(offset + static_cast<uint64_t>(i / 4), seed)[i % 4]);
      } else {
        const auto r = philox4x32(offset + static_cast<uint64_t>(i / 2), seed);
        y[i] = uniform_double(r[2 * (i % 2)], r[2 * (i % 2) + 1]);
      }
    }
  });
}

template <class T>
void normal_fill_cpu(T* y, int64_t n, uint64_t seed, uint64_t offset) {
  if constexpr (std::is_same_v<T, float>) {
    // float: two Box-Muller pairs per Philox block from 24-bit uniforms, in float arithmetic.
    const int64_t blocks = ceil_div<int64_t>(n, 4);
    parallel_for(0, blocks, kGrain / 4, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const auto r = philox4x32(offset + static_cast<uint64_t>(j), seed);
        for (int pair = 0; pair < 2; ++pair) {
          const float u1 = uniform_float(r[2 * pair]), u2 = uniform_float(r[2 * pair + 1]);
          const float radius = std::sqrt(-2.0f * std::log1p(-u1));  // 1 - u1 is in (0, 1]
          const float angle = 2.0f * std::numbers::pi_v<float> * u2;
          const int64_t i = 4 * j + 2 * pair;
          if (i < n) y[i] = radius * std::cos(angle);
          if (i + 1 < n) y[i + 1] = radius * std::sin(angle);
        }
      }
    });
  } else {
    // double: one pair per block from 53-bit uniforms.
    const int64_t pairs = ceil_div<int64_t>(n, 2);
    parallel_for(0, pairs, kGrain / 2, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const auto r = philox4x32(offset + static_cast<uint64_t>(j), seed);
        const double u1 = uniform_double(r[0], r[1]), u2 = uniform_double(r[2], r[3]);
        const double radius = std::sqrt(-2.0 * std::log1p(-u1));
        const double angle = 2.0 * std::numbers::pi * u2;
        y[2 * j] = static_cast<T>(radius * std::cos(angle));
        if (2 * j + 1 < n) y[2 * j + 1] = static_cast<T>(radius * std::sin(angle));
      }
    });
  }
}

void randint_fill_cpu(int64_t* y, int64_t n, int64_t low, int64_t high, uint64_t seed, uint64_t offset) {
  const double range = static_cast<double>(high - low);
  parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto r = philox4x32(offset + static_cast<uint64_t>(i / 2), seed);
      const double u = uniform_double(r[2 * (i % 2)], r[2 * (i % 2) + 1]);
      y[i] = std::min(high - 1, low + static_cast<int64_t>(u * range));
    }
  });
}

template void uniform_fill_cpu<float>(float*, int64_t, uint64_t, uint64_t);
template void uniform_fill_cpu<double>(double*, int64_t, uint64_t, uint64_t);
template void normal_fill_cpu<float>(float*, int64_t, uint64_t, uint64_t);
template void normal_fill_cpu<double>(double*, int64_t, uint64_t, uint64_t);

}  // namespace nn
