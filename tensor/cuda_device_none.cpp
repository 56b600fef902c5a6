// Stand-in for tensor/cuda_device.cu in builds without CUDA (CUDA=0 or no nvcc found).
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

}  // namespace nn
