// The AVX2 + FMA peak loop (kernels/cpu/peak.h), built with -mavx2 -mfma (Makefile: *_avx2.cpp). Its code is
// in an anonymous namespace so that no inline function compiled with AVX flags can be picked by the linker
// for a baseline caller.
#include <immintrin.h>

#include "kernels/cpu/peak.h"

namespace nn {

namespace {

// 12 of the 16 ymm registers hold accumulators, 2 the constants: Zen 3 and Skylake start 2 FMAs per cycle
// with a 4-cycle latency, so 8 independent chains keep both pipes busy; 12 leave slack (Haswell: 5 cycles).
constexpr int kAcc = 12;

double fma_loop(int64_t reps, float* sink) {
  __m256 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm256_set1_ps(0.01f * static_cast<float>(i));
  // acc = acc * m + c converges to c / (1 - m) = 1: no overflow, no denormals, however long it runs.
  const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int64_t r = 0; r < reps; ++r) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm256_fmadd_ps(acc[i], m, c);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < kAcc; ++i) sum = _mm256_add_ps(sum, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  *sink = lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
  return 2.0 * 8 * kAcc * static_cast<double>(reps);  // 2 FLOP x 8 lanes per FMA
}

}  // namespace

double fma_loop_avx2(int64_t reps, float* sink) { return fma_loop(reps, sink); }

}  // namespace nn
