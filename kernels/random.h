// Random fill kernels on Philox4x32-10 (base/random.h): element i depends only on (seed, offset, i).
//
// Counters used per element: float (uniform, normal) 1/4, double (uniform, normal) 1/2, randint 1/2.
// Normals are Box-Muller pairs (float: two pairs per block, in float arithmetic). random_counters() gives
// the count a fill of n elements reserves from its Generator.
#pragma once

#include <cstdint>

#include "base/dtype.h"

namespace nn {

enum class RandomKind { uniform, normal, randint };

uint64_t random_counters(RandomKind kind, DType dtype, int64_t n);

template <class T> void uniform_fill_cpu(T* y, int64_t n, uint64_t seed, uint64_t offset);
template <class T> void normal_fill_cpu(T* y, int64_t n, uint64_t seed, uint64_t offset);
void randint_fill_cpu(int64_t* y, int64_t n, int64_t low, int64_t high, uint64_t seed, uint64_t offset);

}  // namespace nn
