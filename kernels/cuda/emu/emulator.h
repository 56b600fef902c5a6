// The CUDA emulator: the kernel language on the CPU, so the unchanged .cu sources run without a GPU.
//
// kernels/cuda/compat.h includes this header when the compiler is not nvcc. It provides what kernels and
// the emulator's tests use, and nothing more (built-in variables, dim3 and float4, __syncthreads, warp
// shuffles and votes, atomicAdd, shared memory, __int_as_float) and a small runtime API (cudaMalloc,
// cudaMemcpy, ...); the scheduler lives in emulator.cpp. An intrinsic a new kernel needs is added here
// with it. How it works (docs/emulator.md):
//   - every CUDA thread of a block is a fiber (Boost.Context); all fibers of a block run on one OS thread,
//     switching only at barriers (__syncthreads, __syncwarp, shuffles, votes) and at exit;
//   - blocks of a grid are spread over worker threads (NN_EMU_WORKERS, default: the core count);
//   - between barriers the runnable fibers are resumed in forward, reverse or seeded random order
//     (NN_EMU_ORDER=forward|reverse|random:SEED, or nn::emu::set_schedule): a kernel whose result depends
//     on the order has a race, typically a missing __syncthreads;
//   - device memory is host memory with guard bands; newly allocated device memory and dynamic shared
//     memory are filled with 0xFF (a float NaN), so reading what no one wrote shows up in results.
//
// Compile-time flavours (one per build, see the Makefile):
//   default               __shared__ is a block-scope thread_local: one copy per worker thread, so one per
//                         running block; blocks run in parallel on worker threads started for each launch,
//                         so static shared memory starts every launch as zeros, never as a previous
//                         launch's values.
//   NN_EMU_SHARED_STATIC  __shared__ is a plain static, blocks run one at a time. The sanitizer build uses
//                         it: AddressSanitizer puts redzones around statics (it does not instrument
//                         thread_local), so a shared-memory overrun is reported.
//   NN_EMU_TSAN           ThreadSanitizer sees each CUDA thread as a fiber and only barriers as
//                         synchronisation: a missing __syncthreads is reported as a data race.
// (The prototype's third flavour, statics in one linker section filled with 0xFF before every block, misses
// templated kernels: their statics land in COMDAT sections outside __start/__stop. Dynamic shared memory
// and device memory are 0xFF-filled in every flavour.)
#pragma once

#if defined(__CUDACC__)
#error "kernels/cuda/emu/emulator.h is for host compilers; nvcc uses the real CUDA headers"
#endif

#include <algorithm>
#include <bit>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// Qualifiers. Defined after the standard headers, some of which use names like __host__ themselves.
#define __global__
#define __device__
#define __host__
#define __constant__ static
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict

#if defined(NN_EMU_SHARED_STATIC)
#define NN_EMU_SERIAL_BLOCKS 1
#define __shared__ static
#else
#define NN_EMU_SERIAL_BLOCKS 0
#define __shared__ thread_local
#endif

// ---- built-in types and variables
struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};
struct __attribute__((aligned(16))) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// Set by the scheduler before it resumes a fiber; all fibers of a block share one OS thread.
inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
inline constexpr int warpSize = 32;

// ---- runtime API types (the subset skinnet uses)
enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorNoDevice = 100,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchFailure = 719,
};
using cudaStream_t = struct CUstream_st*;
using cudaEvent_t = struct CUevent_st*;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

namespace nn::emu {

using Entry = void (*)(void*);

// Runs entry(arg) for every thread of the grid; `serial` forces one block at a time (static shared
// memory). Returns cudaErrorInvalidConfiguration for launch shapes CUDA refuses, and cudaErrorIllegalAddress
// when a kernel wrote into a guard band (the message: last_error_message()).
cudaError_t run_grid(const char* kernel, dim3 grid, dim3 block, size_t dynamic_smem, bool serial, Entry entry,
                     void* arg);

// Called by the device intrinsics below; only valid inside a kernel.
void syncthreads(const char* file, unsigned line);  // the call site names the barrier
void syncwarp(unsigned mask);
uint64_t* warp_slots();       // the 32 exchange slots of the calling thread's warp
unsigned warp_live_mask();    // lanes of the calling warp that exist and have not exited
unsigned linear_thread();     // threadIdx flattened (x fastest)
void* dynamic_shared_raw();
[[noreturn]] void fatal(const char* what);

template <class T>
inline T* dynamic_shared() {
  return static_cast<T*>(dynamic_shared_raw());
}

// cudaMalloc and friends (emulator.cpp): device memory is host memory between two guard bands.
cudaError_t device_malloc(void** p, size_t n);
cudaError_t device_free(void* p);
const char* last_error_message(cudaError_t e);

template <class... Params, class... Args>
cudaError_t launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t, Args&&... args) {
  using Tuple = std::tuple<std::decay_t<Params>...>;
  Tuple params(std::forward<Args>(args)...);  // converted once, like CUDA's parameter buffer
  struct Call {
    void (*kernel)(Params...);
    Tuple* params;
    static void run(void* self) {
      auto* c = static_cast<Call*>(self);
      std::apply(c->kernel, *c->params);  // each CUDA thread gets its own copy of the parameters
    }
  } call{kernel, &params};
  return run_grid(nullptr, grid, block, smem, NN_EMU_SERIAL_BLOCKS != 0, &Call::run, &call);
}

enum class Shuffle { idx, down, bfly };

template <class T>
T shuffle(unsigned mask, T v, int arg, int width, Shuffle kind) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move at most 8 bytes");
  if (width <= 0 || width > 32 || (width & (width - 1))) fatal("shuffle width must be a power of two <= 32");
  uint64_t* slots = warp_slots();
  const int lane = static_cast<int>(linear_thread() % 32);
  uint64_t raw = 0;
  std::memcpy(&raw, &v, sizeof(T));
  slots[lane] = raw;
  syncwarp(mask);  // every lane in the mask has published its value
  const int base = lane & ~(width - 1);
  const int sub = lane & (width - 1);
  int src = lane;
  switch (kind) {
    case Shuffle::idx: src = base + (arg & (width - 1)); break;
    case Shuffle::down: src = sub + arg < width ? lane + arg : lane; break;
    case Shuffle::bfly: src = base + ((sub ^ arg) & (width - 1)); break;
  }
  T r;
  if ((mask & warp_live_mask()) >> src & 1u) {
    const uint64_t got = slots[src];
    std::memcpy(&r, &got, sizeof(T));
  } else {
    std::memset(&r, 0xFF, sizeof(T));  // reading a lane outside the mask is undefined in CUDA: poison
  }
  syncwarp(mask);  // no lane overwrites its slot before every lane has read
  return r;
}

}  // namespace nn::emu

// ---- device intrinsics
// __builtin_FILE/__builtin_LINE as default arguments give the caller's position (g++ and clang alike).
inline void __syncthreads(const char* file = __builtin_FILE(), unsigned line = __builtin_LINE()) {
  nn::emu::syncthreads(file, line);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { nn::emu::syncwarp(mask); }

template <class T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = warpSize) {
  return nn::emu::shuffle(mask, v, src, width, nn::emu::Shuffle::idx);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  return nn::emu::shuffle(mask, v, static_cast<int>(delta), width, nn::emu::Shuffle::down);
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize) {
  return nn::emu::shuffle(mask, v, lane_mask, width, nn::emu::Shuffle::bfly);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  uint64_t* slots = nn::emu::warp_slots();
  slots[nn::emu::linear_thread() % 32] = predicate != 0;
  nn::emu::syncwarp(mask);
  unsigned r = 0;
  for (unsigned m = mask & nn::emu::warp_live_mask(); m; m &= m - 1) {
    const unsigned lane = static_cast<unsigned>(__builtin_ctz(m));
    if (slots[lane]) r |= 1u << lane;
  }
  nn::emu::syncwarp(mask);
  return r;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) {
  const unsigned live = mask & nn::emu::warp_live_mask();
  return (__ballot_sync(mask, predicate) & live) == live;
}

// Atomics: blocks run concurrently on several OS threads, so this is a real atomic operation (relaxed,
// as CUDA's is).
template <class T>
inline T atomicAdd(T* p, T v) {
  return std::atomic_ref<T>(*p).fetch_add(v, std::memory_order_relaxed);
}

inline float __int_as_float(int x) { return std::bit_cast<float>(x); }
using std::max;
using std::min;

// ---- runtime API
inline cudaError_t cudaMalloc(void** p, size_t n) { return nn::emu::device_malloc(p, n); }
template <class T>
inline cudaError_t cudaMalloc(T** p, size_t n) {
  return nn::emu::device_malloc(reinterpret_cast<void**>(p), n);
}
inline cudaError_t cudaFree(void* p) { return nn::emu::device_free(p); }
inline cudaError_t cudaMemcpy(void* dst, const void* src, size_t n, cudaMemcpyKind) {
  if (n) std::memcpy(dst, src, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind k, cudaStream_t = nullptr) {
  return cudaMemcpy(dst, src, n, k);
}
inline cudaError_t cudaMemset(void* dst, int value, size_t n) {
  if (n) std::memset(dst, value, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, size_t n, cudaStream_t = nullptr) {
  return cudaMemset(dst, value, n);
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }  // launches are synchronous
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) { return nn::emu::last_error_message(e); }
