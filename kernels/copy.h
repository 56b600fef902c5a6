// Copy, cast and fill kernels: the memory movers behind contiguous(), to(dtype), copy_(), cat and fill_.
//
// copy: dst[i] = (Dst) src[i] over a Loop (operands dst, src), any dtype pair, any strides.
// Float to integer conversions truncate toward zero, as C++ and PyTorch do.
// Cost: 0 FLOP; (sizeof(Dst) + sizeof(Src)) bytes per element.
#pragma once

#include "base/dtype.h"
#include "kernels/loop.h"

namespace nn {

void copy_cpu(void* dst, DType dst_dtype, const void* src, DType src_dtype, const Loop& L);
void fill_cpu(void* dst, DType dtype, double value, const Loop& L);  // Loop operand: dst

void copy_cuda(void* dst, DType dst_dtype, const void* src, DType src_dtype, const Loop& L);
void fill_cuda(void* dst, DType dtype, double value, const Loop& L);

// The kernel tables tensor/dispatch.h runs (kernels/README.md). These take any dtype (the element types
// travel with the pointers), so dispatch_any_dtype picks the backend by device alone.
struct CopyKernels {
  static constexpr auto cpu = copy_cpu;
  static constexpr auto cuda = copy_cuda;
};
struct FillKernels {
  static constexpr auto cpu = fill_cpu;
  static constexpr auto cuda = fill_cuda;
};

}  // namespace nn
