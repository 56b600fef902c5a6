// Integer arithmetic shared by host and device code (ceil_div), and NN_HOST_DEVICE, the marker of such code.
//
// nvcc-safe (no fmt): CUDA sources call it in launchers and kernels alike, and under the CUDA emulator it is
// ordinary host code.
#pragma once

#include <type_traits>

// Marks a function callable from host and device code when nvcc compiles it; empty for g++ (where the CUDA
// emulator runs device code as ordinary host code). base/random.h's Philox uses it too.
#if defined(__CUDACC__)
#define NN_HOST_DEVICE __host__ __device__
#else
#define NN_HOST_DEVICE
#endif

namespace nn {

// ceil(a / b) for a >= 0 and b > 0: how many pieces of b cover a items (blocks of a grid, chunks of a
// reduction; ceil_div(n, step) * step rounds n up to a multiple of step). Both arguments have one type, so a
// call says in which type a + b - 1 is formed: ceil_div<int64_t>(n, tile) for an int tile.
template <class T>
NN_HOST_DEVICE constexpr T ceil_div(T a, T b) {
  static_assert(std::is_integral_v<T>, "ceil_div is for integers");
  return (a + b - 1) / b;
}

}  // namespace nn
