// Storage allocation and release (see storage.h).
#include "tensor/storage.h"

#include "base/allocator.h"
#include "kernels/cuda/device.h"

namespace nn {

namespace {

// The allocator for a device; CUDA devices need a CUDA build (kernels/cuda/device.h).
Allocator& allocator_for(Device device) {
  if (device.is_cpu()) return CpuAllocator::instance();
  return cuda_allocator(device.index);
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  std::shared_ptr<Storage> s(new Storage);
  s->data_ = allocator_for(device).allocate(nbytes);
  s->nbytes_ = nbytes;
  s->device_ = device;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner) {
  std::shared_ptr<Storage> s(new Storage);
  s->data_ = data;
  s->nbytes_ = nbytes;
  s->device_ = device;
  s->owner_ = std::move(owner);
  return s;
}

Storage::~Storage() {
  if (!owner_ && data_) allocator_for(device_).deallocate(data_, nbytes_);
}

}  // namespace nn
