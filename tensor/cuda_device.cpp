// Device memory and host/device copies for CUDA builds (see cuda_device.h).
//
// Only CUDA runtime API calls, no kernels: g++ compiles this file against cuda_runtime.h and the binary
// links cudart, so nvcc is needed for kernels only. A plain cudaMalloc/cudaFree allocator for now; the
// caching device allocator arrives with the CUDA backend (issue 6). Every CUDA call is checked and
// reported with its text, file and line.
#include <cuda_runtime.h>

#include "tensor/cuda_device.h"
#include "tensor/error.h"

#define NN_CUDA_CHECK(call)                                                                      \
  do {                                                                                         \
    cudaError_t err_ = (call);                                                                 \
    if (err_ != cudaSuccess)                                                                   \
      ::nn::fail(::fmt::format("CUDA error: {} returned {} ({}) at {}:{}", #call,               \
                               cudaGetErrorName(err_), cudaGetErrorString(err_), __FILE__, __LINE__)); \
  } while (0)

namespace nn {

namespace {

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int index) : index_(index) {}
  void* allocate(size_t nbytes) override {
    void* p = nullptr;
    NN_CUDA_CHECK(cudaSetDevice(index_));
    NN_CUDA_CHECK(cudaMalloc(&p, nbytes ? nbytes : 1));
    return p;
  }
  void deallocate(void* ptr, size_t) override {
    if (ptr) NN_CUDA_CHECK(cudaFree(ptr));
  }

 private:
  int index_;
};

}  // namespace

bool cuda_built() { return true; }

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

Allocator& cuda_allocator(int device_index) {
  const int count = cuda_device_count();
  NN_CHECK(device_index >= 0 && device_index < count, "cuda:{}: no such device ({} CUDA devices visible)",
           device_index, count);
  static CudaAllocator* allocators[64] = {};
  NN_CHECK(device_index < 64, "cuda:{}: device index too large", device_index);
  if (!allocators[device_index]) allocators[device_index] = new CudaAllocator(device_index);
  return *allocators[device_index];
}

void cuda_copy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device_index) {
  static constexpr cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                             cudaMemcpyDeviceToDevice};
  NN_CUDA_CHECK(cudaSetDevice(device_index));
  NN_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kinds[static_cast<int>(kind)]));
}

}  // namespace nn
