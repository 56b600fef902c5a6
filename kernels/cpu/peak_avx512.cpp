// The AVX-512 peak loop (kernels/cpu/peak.h), built with -mavx512f -mavx2 -mfma (Makefile: *_avx512.cpp). Its
// code is in an anonymous namespace so that no inline function compiled with AVX-512 flags can be picked by
// the linker for a baseline caller.
#include <immintrin.h>

#include "kernels/cpu/peak.h"

namespace nn {

namespace {

// 24 of the 32 zmm registers hold accumulators, 2 the constants: cores with two 512-bit FMA units start 2
// per cycle with a 4-cycle latency, so 8 independent chains keep both busy; 24 leave ample slack.
constexpr int kAcc = 24;

double fma_loop(int64_t reps, float* sink) {
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(0.01f * static_cast<float>(i));
  // acc = acc * m + c converges to c / (1 - m) = 1: no overflow, no denormals, however long it runs.
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
  for (int64_t r = 0; r < reps; ++r) {
#pragma GCC unroll 32
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_fmadd_ps(acc[i], m, c);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < kAcc; ++i) sum = _mm512_add_ps(sum, acc[i]);
  float lanes[16];  // not _mm512_reduce_add_ps: GCC 12 warns about its own header there
  _mm512_storeu_ps(lanes, sum);
  float total = 0;
  for (float v : lanes) total += v;
  *sink = total;
  return 2.0 * 16 * kAcc * static_cast<double>(reps);  // 2 FLOP x 16 lanes per FMA
}

}  // namespace

double fma_loop_avx512(int64_t reps, float* sink) { return fma_loop(reps, sink); }

}  // namespace nn
