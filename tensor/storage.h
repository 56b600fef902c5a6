// Storage: a reference-counted block of memory on one device, shared by every view of it.
//
// Tensors hold a shared_ptr<Storage>; views (reshape, permute, slice, ...) share it and differ only in
// shape, strides and offset. A storage either owns its block (returned to the device's allocator when the
// last reference goes) or wraps memory owned by someone else (a memory-mapped weights file).
// The version counter increases on every in-place write; autograd uses it to detect a saved tensor that
// was modified before backward.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/dtype.h"

namespace nn {

class Storage {
 public:
  // A new block of `nbytes` on `device` (64-byte aligned on CPU; contents uninitialised).
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  // Memory that `owner` keeps alive (e.g. an mmap'd file); never freed by skinnet's allocators.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  uint64_t version_ = 0;
  std::shared_ptr<void> owner_;  // set for wrapped memory
};

}  // namespace nn
