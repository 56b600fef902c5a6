// Stand-in for kernels/cuda/device.cpp in builds without CUDA (CUDA=0 or no nvcc found).
#include "kernels/cuda/device.h"
#include "kernels/cuda/emulation.h"

#include "base/error.h"
// Last: under g++ this is the emulator's header, which defines CUDA's keywords as macros.
#include "kernels/cuda/compat.h"

namespace nn {

bool cuda_built() { return false; }
int cuda_device_count() { return 0; }

Allocator& cuda_allocator(int device_index) {
  NN_FAIL("cuda:{}: this skinnet was built without CUDA; rebuild with `make CUDA=1` on a machine with nvcc",
          device_index);
}

void cuda_copy(void*, const void*, size_t, CopyKind, int device_index) {
  NN_FAIL("cuda:{}: this skinnet was built without CUDA; rebuild with `make CUDA=1` on a machine with nvcc",
          device_index);
}

// The hooks the kernels call (kernels/cuda/compat.h). Unreachable without a device; they fail if called.
namespace cuda {
void check(cudaError_t, const char* call, const char*, int) {
  NN_FAIL("{}: this skinnet was built without CUDA; rebuild with `make CUDA=1` on a machine with nvcc", call);
}
void check_launch(cudaError_t, const char* kernel, const char*, int) {
  NN_FAIL("{}: this skinnet was built without CUDA; rebuild with `make CUDA=1` on a machine with nvcc", kernel);
}
cudaStream_t stream() { return nullptr; }
void* scratch_allocate(size_t) { return cuda_allocator(0).allocate(0); }  // fails with the no-CUDA message
void scratch_free(void*, size_t) {}
}  // namespace cuda

// This build links the kernels compiled for the emulator (see the Makefile), but has no CUDA device:
// its CUDA kernels do not run here.
namespace emu {
bool active() { return false; }
}  // namespace emu

}  // namespace nn
