// The CUDA side of storage: device memory and copies between host and device.
//
// Implemented in kernels/cuda/device.cpp when skinnet is built with CUDA (CUDA=1, or CUDA=auto with nvcc
// found), and by kernels/cuda/device_none.cpp otherwise, where every call explains that this build has
// no CUDA. Tensors move between devices only through Tensor::to(Device); nothing copies implicitly.
#pragma once

#include <cstddef>

#include "base/allocator.h"

namespace nn {

bool cuda_built();                 // this binary was compiled with CUDA
int cuda_device_count();           // 0 without CUDA or without a GPU
Allocator& cuda_allocator(int device_index);

enum class CopyKind { host_to_device, device_to_host, device_to_device };
void cuda_copy(void* dst, const void* src, size_t nbytes, CopyKind kind, int device_index);

}  // namespace nn
