// Memory for tensors: one Allocator per device kind.
//
// The CPU allocator caches freed blocks by size class instead of returning them to the OS. A training
// step frees and reallocates the same large activation buffers every iteration; handing them back to
// the OS (munmap) and faulting them in again costs PyTorch about 20% at batch 32 on our 2-core machines.
// Here the second step of a training loop makes no OS allocation at all (tests/test_tensor.cpp checks).
// The cache is bounded by the live peak: allocated + cached stays within the most bytes ever live at once
// plus 1/16 (at least 64 MiB), releasing the largest cached blocks first, so that a pass through many
// different sizes (inference) does not keep one block of each; and within half the RAM
// (NN_CPU_CACHE_LIMIT_MB overrides).
//
// Blocks are 64-byte aligned. Requests under kCacheMinBytes go straight to the C allocator, which
// already recycles small blocks well. Caching is off when NN_CPU_CACHE=0 and in sanitizer builds, where
// recycling memory would hide use-after-free from AddressSanitizer.
#pragma once

#include <cstddef>
#include <cstdint>


namespace nn {

struct AllocatorStats {
  int64_t allocated_bytes = 0;       // handed out and not yet freed (rounded sizes)
  int64_t peak_allocated_bytes = 0;  // maximum of allocated_bytes since the last reset_peak()
  int64_t cached_bytes = 0;          // freed blocks kept for reuse
  int64_t os_allocations = 0;        // cacheable blocks (>= kCacheMinBytes) obtained from the OS
  int64_t cache_hits = 0;            // requests served from the cache
  int64_t small_allocations = 0;     // blocks under kCacheMinBytes, left to the C allocator
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;  // never null; throws nn::Error when out of memory
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
};

class CpuAllocator final : public Allocator {
 public:
  static constexpr size_t kAlignment = 64;
  static constexpr size_t kCacheMinBytes = 32 * 1024;

  static CpuAllocator& instance();

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;

  AllocatorStats stats() const;
  void reset_peak();
  bool caching() const { return caching_; }

  // The size a request is rounded up to: 64 bytes below kCacheMinBytes, else one of four classes per
  // power of two (at most 25% slack).
  static size_t round_size(size_t nbytes);

  struct State;

 private:
  CpuAllocator();
  State* state_;
  bool caching_;
};

// Scratch memory for a CPU kernel (im2col columns, gathered gradients), from the caching allocator.
class CpuBuffer {
 public:
  explicit CpuBuffer(size_t nbytes) : nbytes_(nbytes), data_(CpuAllocator::instance().allocate(nbytes)) {}
  ~CpuBuffer() { CpuAllocator::instance().deallocate(data_, nbytes_); }
  CpuBuffer(const CpuBuffer&) = delete;
  CpuBuffer& operator=(const CpuBuffer&) = delete;
  template <class T> T* as() const { return static_cast<T*>(data_); }

 private:
  size_t nbytes_;
  void* data_;
};

}  // namespace nn
