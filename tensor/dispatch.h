// The one dispatch every op goes through: it picks the backend of a kernel table and calls the op's
// argument list with that backend's kernel.
//
// A kernel table (kernels/README.md) lists the kernels of one entry point, one per backend, in the
// family's contract header:
//
//   struct Conv2dBackwardDataKernels {
//     template <class T> static constexpr auto cpu = conv2d_backward_data_cpu<T>;   // f32, f64
//     static constexpr auto cuda = conv2d_backward_data_cuda;                       // f32
//     static constexpr auto vendor = conv2d_backward_data_vendor;                   // cuDNN, optional
//   };
//
// and an op calls it with its argument list written once:
//
//   dispatch<Conv2dBackwardDataKernels>("conv2d_backward_data", dy, [&](auto kernel, auto t) {
//     using T = decltype(t);
//     kernel(dx.data<T>(), dy.data<T>(), w.data<T>(), p);
//   });
//
// The choice, made here only: a CPU tensor runs cpu<T> for T of its dtype (f32, f64; others fail); a CUDA
// tensor must be f32 and runs `vendor` when the run's kernel source is vendor (kernels/cuda/vendor.h)
// and the table has a vendor kernel (and, where the table has vendor_supports, it accepts the call),
// otherwise `cuda`. A table without `cuda` is CPU-only: dispatching it on a CUDA tensor fails naming the
// op and device. Every dispatch opens an NVTX range named `op`.
//
// Ops whose saved state depends on the backend (pooling: cuDNN keeps no argmax) ask kernel_source_for
// first and pass the answer to dispatch, forward and backward alike. Adding a backend changes kernels/
// (its kernels and the tables) and this file; callers of ops never see any of it.
#pragma once

#include <utility>

#include "base/nvtx.h"
#include "kernels/cuda/vendor.h"
#include "kernels/loop.h"
#include "tensor/tensor.h"

namespace nn {

using cuda::KernelSource;

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

// What a kernel table has besides cpu<T>.
template <class Table>
concept HasCudaKernel = requires { Table::cuda; };
template <class Table>
concept HasVendorKernel = requires { Table::vendor; };

// The CUDA kernels a call on `like` would run: vendor when `like` is on CUDA, the run's kernel source is
// vendor, the table has a vendor kernel, and its vendor_supports (if it has one) accepts `args`.
template <class Table, class... Args>
KernelSource kernel_source_for(const Tensor& like, const Args&... args) {
  if constexpr (HasVendorKernel<Table>) {
    if (!like.device().is_cuda() || cuda::kernel_source() != KernelSource::vendor) return KernelSource::handwritten;
    if constexpr (requires { Table::vendor_supports(args...); }) {
      if (!Table::vendor_supports(args...)) return KernelSource::handwritten;
    }
    return KernelSource::vendor;
  } else {
    return KernelSource::handwritten;
  }
}

// Runs call(kernel, T{}) with the kernel of `Table` for `like`'s device and dtype; on CUDA the kernel
// source is `source` (vendor falls back to the handwritten kernel where the table has no vendor one).
template <class Table, class Call>
void dispatch(const char* op, const Tensor& like, KernelSource source, Call&& call) {
  const NvtxRange range(op);
  if (like.device().is_cpu()) {
    dispatch_floating(like.dtype(), op, [&](auto t) { call(Table::template cpu<decltype(t)>, t); });
    return;
  }
  if constexpr (!HasCudaKernel<Table>) {
    NN_FAIL("{}: no CUDA kernel; tensor {} is on {}, and this op runs on the CPU only (move it with "
            ".to(Device::cpu()))", op, like.describe(), like.device().str());
  } else {
    NN_CHECK(like.dtype() == DType::f32, "{}: tensor {} is on {}, where kernels are float32 only", op,
             like.describe(), like.device().str());
    if constexpr (HasVendorKernel<Table>) {
      if (source == KernelSource::vendor) {
        call(Table::vendor, float{});
        return;
      }
    }
    call(Table::cuda, float{});
  }
}

// The same with the run's kernel source (cuda::kernel_source()), read only for CUDA tensors.
template <class Table, class Call>
void dispatch(const char* op, const Tensor& like, Call&& call) {
  const KernelSource source =
      HasVendorKernel<Table> && like.device().is_cuda() ? cuda::kernel_source() : KernelSource::handwritten;
  dispatch<Table>(op, like, source, std::forward<Call>(call));
}

// Kernels that take any dtype (copy, fill: the element types travel with the pointers): `like`'s device
// alone picks Table::cpu or Table::cuda, and call(kernel) runs it. No NVTX range: these run inside the
// ops and views that call them (contiguous, to, cat, copy_, fill_).
template <class Table, class Call>
void dispatch_any_dtype(const Tensor& like, Call&& call) {
  if (like.device().is_cpu()) call(Table::cpu);
  else call(Table::cuda);
}

// t's data, or null for an undefined (optional) tensor.
template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Strides that read `t` as if broadcast to `shape` (0 along broadcast dimensions); t must broadcast.
Strides broadcast_strides(const Tensor& t, const Shape& shape);

// A Loop over `shape` for an output and inputs, each read through broadcast_strides.
Loop make_loop_for(const Shape& shape, std::initializer_list<const Tensor*> operands);

}  // namespace nn
