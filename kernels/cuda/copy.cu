// CUDA copy, cast and fill (the contract: kernels/copy.h; the CPU loops: kernels/cpu/copy.cpp).
//
// Both are one-thread-per-element grid-stride kernels over a Loop (kernels/cuda/loop_index.h), templated
// on the element types and the walk: 4 x 4 dtype pairs x 2 walks of copy_convert, 4 x 2 of fill_value.
// A conversion is static_cast, as on the CPU: double to float and integers to floating point round to
// nearest even in both, float to integer truncates toward zero, so the results equal the CPU's bit for bit
// (for values the destination type can hold; out-of-range float to integer is undefined in C++ and CUDA).
#include "kernels/copy.h"
#include "kernels/cuda/compat.h"
#include "kernels/cuda/loop_index.h"

namespace nn {

namespace {

constexpr unsigned kThreads = 256;

// Calls f(T{}) with T the C++ type of dtype t (the CPU's with_type, without its error path: DType has
// exactly these four values).
template <class F>
void with_type(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i64: return f(int64_t{});
    case DType::u8: return f(uint8_t{});
  }
}

// One thread per element: dst[i] = D(src[i]). A warp reads and writes contiguous runs on the contiguous
// walk; a transposed source (the usual strided case: contiguous() of a permuted view) reads scattered and
// writes coalesced. No shared memory. Memory-bound: sizeof(D) + sizeof(S) bytes per element.
template <class D, class S, cuda::Walk walk>
__global__ void copy_convert(D* dst, const S* src, Loop L) {
  cuda::loop_grid_stride<walk>(L, [&](const int64_t* off) { dst[off[0]] = static_cast<D>(src[off[1]]); });
}

// One thread per element: dst[i] = value. Memory-bound: sizeof(T) bytes written per element.
template <class T, cuda::Walk walk>
__global__ void fill_value(T* dst, T value, Loop L) {
  cuda::loop_grid_stride<walk>(L, [&](const int64_t* off) { dst[off[0]] = value; });
}

dim3 grid_for(const Loop& L) { return dim3(cuda::blocks_for(L.numel, kThreads)); }

}  // namespace

void copy_cuda(void* dst, DType dst_dtype, const void* src, DType src_dtype, const Loop& L) {
  if (L.numel == 0) return;
  const bool contiguous = cuda::loop_walk(L) == cuda::Walk::contiguous;
  with_type(dst_dtype, [&](auto d) {
    with_type(src_dtype, [&](auto s) {
      using D = decltype(d);
      using S = decltype(s);
      D* out = static_cast<D*>(dst);
      const S* in = static_cast<const S*>(src);
      if (contiguous)
        NN_CUDA_LAUNCH((copy_convert<D, S, cuda::Walk::contiguous>), grid_for(L), dim3(kThreads), 0, out, in, L);
      else
        NN_CUDA_LAUNCH((copy_convert<D, S, cuda::Walk::strided>), grid_for(L), dim3(kThreads), 0, out, in, L);
    });
  });
}

void fill_cuda(void* dst, DType dtype, double value, const Loop& L) {
  if (L.numel == 0) return;
  const bool contiguous = cuda::loop_walk(L) == cuda::Walk::contiguous;
  with_type(dtype, [&](auto t) {
    using T = decltype(t);
    T* out = static_cast<T*>(dst);
    const T v = static_cast<T>(value);  // on the host, as the CPU converts it
    if (contiguous)
      NN_CUDA_LAUNCH((fill_value<T, cuda::Walk::contiguous>), grid_for(L), dim3(kThreads), 0, out, v, L);
    else
      NN_CUDA_LAUNCH((fill_value<T, cuda::Walk::strided>), grid_for(L), dim3(kThreads), 0, out, v, L);
  });
}

}  // namespace nn
