// Kernels with planted bugs for the emulator's own tests (see planted.h). Compiled like every kernel:
// by g++ against the emulator here, and they would compile with nvcc as well.
#include "tests/emu/planted.h"

#include <functional>
#include <thread>

#include "kernels/cuda/compat.h"

namespace nn::planted {

namespace {

__global__ void neighbour_sum_kernel(float* out, const float* x, int n, bool with_barrier) {
  __shared__ float s[128];
  const int t = static_cast<int>(threadIdx.x);
  const int i = static_cast<int>(blockIdx.x) * 128 + t;
  s[t] = i < n ? x[i] : 0.0f;
  if (with_barrier) __syncthreads();
  if (i < n) out[i] = s[t] + s[t > 0 ? t - 1 : t];
}

__global__ void block_sums_kernel(float* sums, const float* x, int n) {
  __shared__ float warp_sums[8];
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  float v = i < n ? x[i] : 0.0f;
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
  const int lane = static_cast<int>(threadIdx.x % 32), warp = static_cast<int>(threadIdx.x / 32);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < 8 ? warp_sums[lane] : 0.0f;
    for (int offset = 4; offset > 0; offset /= 2) v += __shfl_down_sync(0xFFFFFFFFu, v, offset);
    if (lane == 0) sums[blockIdx.x] = v;
  }
}

__global__ void write_range_kernel(float* out, int begin, int end) {
  const int i = begin + static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < end) out[i] = static_cast<float>(i);
}

__global__ void divergent_barrier_kernel(float* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1.0f;
}

__global__ void shuffle_barrier_kernel(float* out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x < 16) {
    v = __shfl_xor_sync(0xFFFFFFFFu, v, 1);
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = v;
}

__global__ void read_dynamic_kernel(float* out, int n) {
  NN_DYNAMIC_SHARED(float, smem);
  const int i = static_cast<int>(threadIdx.x);
  if (i < n) out[i] = smem[i];
}

__global__ void histogram_kernel(unsigned long long* counts, const int64_t* x, int n) {
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n;
       i += static_cast<int>(gridDim.x * blockDim.x))
    atomicAdd(&counts[x[i]], 1ull);
}

__global__ void votes_kernel(unsigned long long* out) {
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const unsigned warp_lanes = min(32u, blockDim.x - warp * 32);
  const unsigned mask = warp_lanes == 32 ? 0xFFFFFFFFu : (1u << warp_lanes) - 1;
  const unsigned ballot = __ballot_sync(mask, lane % 3 == 0);
  const int any = __any_sync(mask, lane == 5);
  const int all = __all_sync(mask, lane < 32);
  if (lane == 0) {
    out[3 * warp] = ballot;
    out[3 * warp + 1] = static_cast<unsigned long long>(any);
    out[3 * warp + 2] = static_cast<unsigned long long>(all);
  }
}

__global__ void noop_kernel(int) {}

}  // namespace

int neighbour_sum(float* out, const float* x, int n, bool with_barrier) {
  return cuda::launch(neighbour_sum_kernel, dim3((n + 127) / 128), dim3(128), 0, nullptr, out, x, n, with_barrier);
}

int block_sums(float* sums, const float* x, int n) {
  return cuda::launch(block_sums_kernel, dim3((n + 255) / 256), dim3(256), 0, nullptr, sums, x, n);
}

int write_range(float* out, int n, int extra, bool below) {
  const int begin = below ? -1 : 0, end = n + extra;
  return cuda::launch(write_range_kernel, dim3((end - begin + 63) / 64), dim3(64), 0, nullptr, out, begin, end);
}

int divergent_barrier(float* out) { return cuda::launch(divergent_barrier_kernel, dim3(1), dim3(32), 0, nullptr, out); }

int shuffle_barrier_deadlock(float* out) {
  return cuda::launch(shuffle_barrier_kernel, dim3(1), dim3(32), 0, nullptr, out);
}

int read_unwritten_dynamic_shared(float* out, int n) {
  return cuda::launch(read_dynamic_kernel, dim3(1), dim3(n), n * sizeof(float), nullptr, out, n);
}

int histogram(unsigned long long* counts, const int64_t* x, int n, int) {
  return cuda::launch(histogram_kernel, dim3(16), dim3(64), 0, nullptr, counts, x, n);
}

int votes(unsigned long long* out, int threads) {
  return cuda::launch(votes_kernel, dim3(1), dim3(threads), 0, nullptr, out);
}

int launch_block_of(int threads) { return cuda::launch(noop_kernel, dim3(1), dim3(threads), 0, nullptr, 0); }

#if NN_CUDA_EMULATED
// Each block records the OS thread it ran on: a test of the emulator's worker threads, meaningless (and
// not compiled) on a GPU.
namespace {
__global__ void block_threads_kernel(uint64_t* out) {
  // Enough work per block (~0.1 ms) that one worker cannot take every block before the others start.
  volatile float sink = 0;
  for (int i = 0; i < 2000; ++i) sink = sink + 1.0f;
  if (threadIdx.x == 0) out[blockIdx.x] = std::hash<std::thread::id>{}(std::this_thread::get_id()) + (sink < 0);
}
}  // namespace

int block_threads(uint64_t* ids, int blocks) {
  return cuda::launch(block_threads_kernel, dim3(blocks), dim3(32), 0, nullptr, ids);
}
#else
int block_threads(uint64_t*, int) { return cudaErrorNotSupported; }
#endif

const char* error_text(int err) { return cudaGetErrorString(static_cast<cudaError_t>(err)); }

}  // namespace nn::planted
