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

// No emulator in this binary (kernels/cuda/emulation.h): the controls do nothing.
namespace emu {
bool active() { return false; }
void set_schedule(Schedule) {}
Schedule schedule() { return {}; }
uint64_t launches() { return 0; }
int workers() { return 0; }
}  // namespace emu

}  // namespace nn
