// The CUDA device of the emulator build (build/skinnet_emu_tests): cuda:0 is the CPU running the CUDA
// kernels through kernels/cuda/emu/emulator.h (docs/emulator.md). Device memory comes from the emulator's
// cudaMalloc: exact-size, guard-banded and 0xFF-filled. There is deliberately no caching here, so that every
// tensor has its own guard bands and starts as NaN.
#include <cstdlib>
#include <cstring>

#include "base/error.h"
#include "kernels/cuda/device.h"
// Last: the emulator defines the CUDA keywords as macros.
#include "kernels/cuda/compat.h"

namespace nn {

namespace {

class EmulatedDeviceAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    void* p = nullptr;
    NN_CUDA_CHECK(cudaMalloc(&p, nbytes));
    return p;
  }
  void deallocate(void* ptr, size_t) override { NN_CUDA_CHECK(cudaFree(ptr)); }
};

}  // namespace

bool cuda_built() { return true; }
int cuda_device_count() { return 1; }

Allocator& cuda_allocator(int device_index) {
  NN_CHECK(device_index == 0, "cuda:{}: the CUDA emulator has one device, cuda:0", device_index);
  static EmulatedDeviceAllocator allocator;
  return allocator;
}

void cuda_copy(void* dst, const void* src, size_t nbytes, CopyKind, int device_index) {
  NN_CHECK(device_index == 0, "cuda:{}: the CUDA emulator has one device, cuda:0", device_index);
  std::memcpy(dst, src, nbytes);
}

namespace cuda {

void check(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess)
    NN_FAIL("CUDA error: {} returned {} ({}) at {}:{}", call, cudaGetErrorName(err), cudaGetErrorString(err), file,
            line);
}

void check_launch(cudaError_t err, const char* kernel, const char* file, int line) {
  if (err != cudaSuccess)
    NN_FAIL("CUDA error: launch of {} failed with {}: {} (at {}:{}; emulated)", kernel, cudaGetErrorName(err),
            cudaGetErrorString(err), file, line);
}

cudaStream_t stream() { return nullptr; }  // launches run to completion before they return

void* scratch_allocate(size_t nbytes) { return cuda_allocator(0).allocate(nbytes); }
void scratch_free(void* p, size_t nbytes) { cuda_allocator(0).deallocate(p, nbytes); }  // launches run to completion before they return

}  // namespace cuda

namespace emu {
bool active() { return true; }
}  // namespace emu

}  // namespace nn
