// The one dispatch every op goes through: device first, then dtype.
//
//   dispatch("relu", x,
//            [&](auto t) { using T = decltype(t); unary_forward_cpu<T>(...); },   // f32 or f64 on CPU
//            [&] { unary_forward_cuda(...); });                                   // f32 on CUDA
//
// Callers of ops never see this: adding or changing a backend changes kernels/ and these call sites only.
#pragma once

#include "base/nvtx.h"
#include "kernels/loop.h"
#include "tensor/tensor.h"

namespace nn {

// Calls f(T{}) with T the C++ type of a floating dtype; throws for the others. `op` names the caller.
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: break;
  }
  NN_FAIL("{}: dtype {} is not supported (floating point only); convert with .to(DType::f32)", op,
          dtype_name(t));
}

template <class Cpu, class Cuda>
void dispatch(const char* op, const Tensor& like, Cpu&& cpu, Cuda&& cuda) {
  const NvtxRange range(op);
  if (like.device().is_cpu()) {
    dispatch_floating(like.dtype(), op, cpu);
    return;
  }
  NN_CHECK(like.dtype() == DType::f32, "{}: tensor {} is on {}, where kernels are float32 only", op,
           like.describe(), like.device().str());
  cuda();
}

// Strides that read `t` as if broadcast to `shape` (0 along broadcast dimensions); t must broadcast.
Strides broadcast_strides(const Tensor& t, const Shape& shape);

// A Loop over `shape` for an output and inputs, each read through broadcast_strides.
Loop make_loop_for(const Shape& shape, std::initializer_list<const Tensor*> operands);

}  // namespace nn
