// Seeded random numbers: a Philox4x32-10 counter-based generator.
//
// Philox maps (counter, key) to four random 32-bit words with no hidden state, so element i of a random
// tensor depends only on (seed, offset + i): the CPU fills in parallel and a CUDA kernel gives
// bit-identical numbers. A Generator is the pair (seed, offset); each draw advances the offset by the
// counters it used, so a run is reproducible from its seed, and the state can be saved with a checkpoint.
// philox4x32 and uniform_float are NN_HOST_DEVICE: the CUDA dropout kernel (kernels/cuda/dropout.cu) calls
// the very same code, so its mask equals the CPU's bit for bit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "base/math.h"  // NN_HOST_DEVICE

namespace nn {

// The four 32-bit words of one Philox draw. A plain struct rather than std::array, whose members nvcc does
// not accept in device code.
struct PhiloxWords {
  uint32_t w[4];
  NN_HOST_DEVICE uint32_t operator[](size_t i) const { return w[i]; }
};

// Philox4x32 with 10 rounds (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
NN_HOST_DEVICE inline PhiloxWords philox4x32(uint64_t counter, uint64_t key) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{0xD2511F53} * c0, p1 = uint64_t{0xCD9E8D57} * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0, n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9;
    k1 += 0xBB67AE85;
  }
  return {{c0, c1, c2, c3}};
}

// A uniform float in [0, 1) from the top 24 bits of a random word; a double from 53 bits of two words.
NN_HOST_DEVICE inline float uniform_float(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
inline double uniform_double(uint32_t hi, uint32_t lo) {
  return static_cast<double>(((static_cast<uint64_t>(hi) << 32) | lo) >> 11) * (1.0 / 9007199254740992.0);
}

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  // Reserves `n` Philox counters for one draw and returns the first.
  uint64_t reserve(uint64_t n) {
    const uint64_t first = offset_;
    offset_ += n;
    return first;
  }
  // One uniform double in [0, 1) (for host-side decisions such as shuffles).
  double next_double() {
    const auto r = philox4x32(reserve(1), seed_);
    return uniform_double(r[0], r[1]);
  }

 private:
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

// Fisher-Yates shuffle with one draw from `gen` per position, from the back: the same seed gives the same
// order on every machine (splits, oversampling and the loader's epoch order use it).
template <class T>
void shuffle(std::vector<T>& v, Generator& gen) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = std::min(static_cast<size_t>(gen.next_double() * static_cast<double>(i)), i - 1);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace nn
