// Device memory and host/device copies for CUDA builds (see device.h).
//
// Only CUDA runtime API calls, no kernels: g++ compiles this file against cuda_runtime.h and the binary
// links cudart, so nvcc is needed for kernels only. Every CUDA call is checked and reported with its text,
// file and line.
#include <cuda_runtime.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/emulation.h"

#define NN_CUDA_CHECK(call)                                                                      \
  do {                                                                                         \
    cudaError_t err_ = (call);                                                                 \
    if (err_ != cudaSuccess)                                                                   \
      ::nn::fail(::fmt::format("CUDA error: {} returned {} ({}) at {}:{}", #call,               \
                               cudaGetErrorName(err_), cudaGetErrorString(err_), __FILE__, __LINE__)); \
  } while (0)

namespace nn {

namespace {

// The caching device allocator. cudaMalloc and cudaFree are slow (cudaFree synchronises the device), and a
// training step frees and reallocates the same activation sizes every iteration, so freed blocks are kept
// by size class (CpuAllocator::round_size: at most 25% slack) and handed out again. Reuse is safe without
// events because skinnet launches every kernel of a device on one stream (nn::cuda::stream()) from one host
// thread: a block freed after a kernel was queued is only reused by kernels queued after it. When cudaMalloc
// fails, the cache is released (after a device synchronisation) and the request retried once.
// NN_CUDA_CACHE=0 turns caching off (for compute-sanitizer runs, where reuse would hide use-after-free).
class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int index) : index_(index) {
    const char* env = std::getenv("NN_CUDA_CACHE");
    caching_ = !(env && std::string(env) == "0");
  }

  void* allocate(size_t nbytes) override {
    const size_t size = CpuAllocator::round_size(nbytes);
    std::lock_guard lock(mutex_);
    if (caching_) {
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes_ -= size;
        return p;
      }
    }
    NN_CUDA_CHECK(cudaSetDevice(index_));
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation && cached_bytes_ > 0) {
      cudaGetLastError();  // clear the error before retrying
      release_cache();
      err = cudaMalloc(&p, size);
    }
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      NN_FAIL("cuda:{}: out of memory allocating {:.1f} MiB for a tensor ({:.1f} MiB free of {:.1f} MiB)", index_,
              size / 1048576.0, free_bytes / 1048576.0, total_bytes / 1048576.0);
    }
    NN_CUDA_CHECK(err);
    return p;
  }

  void deallocate(void* ptr, size_t nbytes) override {
    if (!ptr) return;
    std::lock_guard lock(mutex_);
    if (caching_) {
      const size_t size = CpuAllocator::round_size(nbytes);
      free_[size].push_back(ptr);
      cached_bytes_ += size;
      return;
    }
    NN_CUDA_CHECK(cudaFree(ptr));
  }

 private:
  void release_cache() {  // caller holds the mutex
    NN_CUDA_CHECK(cudaDeviceSynchronize());
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) NN_CUDA_CHECK(cudaFree(p));
    free_.clear();
    cached_bytes_ = 0;
  }

  int index_;
  bool caching_ = true;
  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;  // rounded size -> cached blocks
  size_t cached_bytes_ = 0;
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

namespace cuda {

void check(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess)
    NN_FAIL("CUDA error: {} returned {} ({}) at {}:{}", call, cudaGetErrorName(err), cudaGetErrorString(err), file,
            line);
}

// NN_CUDA_SYNC=1 waits for every kernel, so a fault is reported at the launch that caused it.
static const bool g_sync_after_launch = [] {
  const char* e = std::getenv("NN_CUDA_SYNC");
  return e && *e && *e != '0';
}();

void check_launch(cudaError_t err, const char* kernel, const char* file, int line) {
  if (err == cudaSuccess && g_sync_after_launch) err = cudaDeviceSynchronize();
  if (err != cudaSuccess)
    NN_FAIL("CUDA error: launch of {} failed with {}: {} (at {}:{}{})", kernel, cudaGetErrorName(err),
            cudaGetErrorString(err), file, line, g_sync_after_launch ? "" : "; NN_CUDA_SYNC=1 pins asynchronous faults to their launch");
}

void* scratch_allocate(size_t nbytes) {
  int device = 0;
  NN_CUDA_CHECK(cudaGetDevice(&device));
  return cuda_allocator(device).allocate(nbytes);
}

void scratch_free(void* p, size_t nbytes) {
  int device = 0;
  NN_CUDA_CHECK(cudaGetDevice(&device));
  cuda_allocator(device).deallocate(p, nbytes);
}

// One stream per device and host thread. Created blocking (not cudaStreamNonBlocking), so it orders with
// the cudaMemcpy calls of cuda_copy on the legacy default stream.
cudaStream_t stream() {
  int device = 0;
  NN_CUDA_CHECK(cudaGetDevice(&device));
  static thread_local cudaStream_t streams[64] = {};
  NN_CHECK(device >= 0 && device < 64, "cuda:{}: device index too large", device);
  if (!streams[device]) NN_CUDA_CHECK(cudaStreamCreate(&streams[device]));
  return streams[device];
}

}  // namespace cuda

// The emulator's controls do nothing on a real GPU (kernels/cuda/emulation.h).
namespace emu {
bool active() { return false; }
void set_schedule(Schedule) {}
Schedule schedule() { return {}; }
uint64_t launches() { return 0; }
int workers() { return 0; }
}  // namespace emu

}  // namespace nn
