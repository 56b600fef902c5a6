// Stand-in for tensor/cuda_device.cu in builds without CUDA (CUDA=0 or no nvcc found).
#include "kernels/cuda/emulation.h"
#include "tensor/cuda_device.h"

#include "tensor/error.h"

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

// This build links the kernels compiled for the emulator (see the Makefile), but has no CUDA device:
// its CUDA kernels do not run here.
namespace emu {
bool active() { return false; }
}  // namespace emu

}  // namespace nn
