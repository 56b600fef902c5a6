// NN_REQUIRE: the precondition check for code that nvcc compiles (kernels/cuda/*.cu launchers).
//
// nvcc 13 cannot compile fmt's headers, so CUDA sources cannot use NN_CHECK (base/error.h). NN_REQUIRE
// takes a fixed message instead of a format string; on failure it throws the same nn::Error, naming the
// message, the condition, the file and the line:
//   "conv2d CUDA: stride and dilation must be positive (`p.stride_h > 0 && ...` failed at kernels/cuda/conv2d.cu:295)"
// Always on (never `assert`). Host code compiled by g++ keeps using NN_CHECK, which can format values.
#pragma once

namespace nn {

// Throws nn::Error; defined in base/error.cpp (compiled by g++).
[[noreturn]] void fail_requirement(const char* what, const char* condition, const char* file, int line);

}  // namespace nn

#define NN_REQUIRE(cond, what)                                                    \
  do {                                                                            \
    if (!(cond)) [[unlikely]] ::nn::fail_requirement((what), #cond, __FILE__, __LINE__); \
  } while (0)
