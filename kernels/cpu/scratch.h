// A scratch buffer for the kernels compiled once per instruction set (conv2d_depthwise_impl.h,
// batch_norm_impl.h). Not std::vector: its members are inline functions that every copy would instantiate
// under the same name, and the linker would keep one of them, perhaps the AVX-512 one, for every CPU. This
// type is in an anonymous namespace, so each file that includes it has its own.
#pragma once

#include <cstdint>

namespace nn {

namespace {

template <class T>
struct Scratch {
  explicit Scratch(int64_t n) : data(new T[n > 0 ? n : 1]) {}
  ~Scratch() { delete[] data; }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* data;
};

}  // namespace

}  // namespace nn
