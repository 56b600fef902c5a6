// The one header every CUDA kernel source (kernels/cuda/*.cu) includes.
//
// The same .cu file is compiled two ways:
//   nvcc  -> real CUDA: cuda_runtime.h, kernels launched with <<<grid, block, smem, stream>>>;
//   g++   -> the CUDA emulator (kernels/cuda/emu/emulator.h): every CUDA thread a fiber on the CPU, so the
//            unchanged kernel runs in `make test` on machines without a GPU (docs/emulator.md).
// Kernel code therefore uses only what both sides provide:
//   - __global__/__device__ functions, threadIdx/blockIdx/blockDim/gridDim, __syncthreads, __syncwarp,
//     __shfl_*_sync, __ballot_sync, atomics, static __shared__ arrays declared in the kernel body
//     (never `static __shared__`), NN_DYNAMIC_SHARED(T, name) for dynamic shared memory, and ceil_div
//     (base/math.h, included here);
//   - launches through NN_CUDA_LAUNCH (checked: the kernel's name, file and line on failure), and runtime
//     calls through NN_CUDA_CHECK.
// Not emulated (and so not allowed outside a guarded fast path with a tested generic twin): tensor-core
// mma/wmma, cp.async/TMA, inline PTX, spin-waits between threads or blocks, grid-wide sync.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/math.h"  // ceil_div, in launchers and kernels

// Host-only files of a real CUDA build that call libraries rather than launch kernels (the cuBLAS/cuDNN
// entry points, kernels/cuda/vendor/cublas_cudnn.cpp, compiled by g++) define NN_CUDA_HOST_ONLY first:
// they get the runtime API, stream(), Scratch and NN_CUDA_CHECK, but no launch().
#if defined(__CUDACC__) || defined(NN_CUDA_HOST_ONLY)
#include <cuda_runtime.h>
#define NN_CUDA_EMULATED 0
// Dynamic shared memory as a typed pointer. A raw byte array underneath, so that templated kernels
// instantiated with different T do not declare conflicting extern arrays.
#define NN_DYNAMIC_SHARED(T, name)                                          \
  extern __shared__ __align__(16) unsigned char name##_dynamic_smem_[];     \
  T* name = reinterpret_cast<T*>(name##_dynamic_smem_)
#else
#include "kernels/cuda/emu/emulator.h"
#define NN_CUDA_EMULATED 1
#define NN_DYNAMIC_SHARED(T, name) T* name = ::nn::emu::dynamic_shared<T>()
#endif

namespace nn::cuda {

#if !defined(NN_CUDA_HOST_ONLY)
// Launches kernel<<<grid, block, smem, stream>>>(args...) and returns the launch error, on both compilers.
template <class... Params, class... Args>
inline cudaError_t launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                          Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "wrong number of kernel arguments");
#if defined(__CUDACC__)
  kernel<<<grid, block, smem, stream>>>(std::forward<Args>(args)...);
  return cudaGetLastError();
#else
  return ::nn::emu::launch(kernel, grid, block, smem, stream, std::forward<Args>(args)...);
#endif
}
#endif  // !NN_CUDA_HOST_ONLY

// Throws nn::Error "CUDA error: <call> returned <name> (<message>) at <file>:<line>" when err is not
// cudaSuccess (kernels/cuda/device.cpp, or the emulator's device file).
void check(cudaError_t err, const char* call, const char* file, int line);
// After a launch: check its error; with NN_CUDA_SYNC=1 also synchronise, so an asynchronous fault is
// reported at the launch that caused it rather than at some later call.
void check_launch(cudaError_t err, const char* kernel, const char* file, int line);

// The stream every kernel of the current thread is launched on (one per device, created on first use).
cudaStream_t stream();

// Scratch device memory for a kernel's intermediate results (split-K partial sums, per-block statistics),
// from the device's caching allocator: after the first training step no call reaches cudaMalloc or cudaFree
// (which would synchronise the device). Freed when it goes out of scope; reuse is ordered by the stream.
void* scratch_allocate(size_t nbytes);
void scratch_free(void* p, size_t nbytes);

template <class T>
class Scratch {
 public:
  explicit Scratch(size_t count) : nbytes_(count * sizeof(T)), p_(static_cast<T*>(scratch_allocate(nbytes_))) {}
  ~Scratch() { scratch_free(p_, nbytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* get() const { return p_; }

 private:
  size_t nbytes_;
  T* p_;
};

// Grid size for a 1-D grid of `block` threads covering n items (at least 1 block; grid-stride loops
// cover the rest when n exceeds the cap).
inline unsigned blocks_for(int64_t n, unsigned block, unsigned cap = 65535u * 8u) {
  const int64_t b = ceil_div<int64_t>(n, block);
  return b < 1 ? 1u : (b > cap ? cap : static_cast<unsigned>(b));
}

}  // namespace nn::cuda

#define NN_CUDA_CHECK(call) ::nn::cuda::check((call), #call, __FILE__, __LINE__)
#define NN_CUDA_LAUNCH(kernel, grid, block, smem, ...)                                                  \
  ::nn::cuda::check_launch(::nn::cuda::launch(kernel, grid, block, smem, ::nn::cuda::stream(), __VA_ARGS__), \
                           #kernel, __FILE__, __LINE__)
