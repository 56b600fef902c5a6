// CUDA input normalisation (kernels/normalize.h): uint8 [N, H, W, 3] to float [N, 3, H, W].
//
// Every output value is one of 3 x 256, so the host evaluates normalize_u8_value (the CPU's double
// expression) for all of them and passes the table as a kernel parameter: the kernel does no arithmetic
// on pixels and its results equal the CPU's bit for bit.
#include "kernels/cuda/compat.h"
#include "kernels/normalize.h"

namespace nn {

namespace {

constexpr unsigned kThreads = 256;

struct NormalizeTable {
  float value[3][256];  // value[c][v]: output channel c for byte v of input channel src[c]
  int src[3];
};

// One thread per pixel (grid-stride over N*H*W): reads its 3 bytes (a warp reads 96 contiguous bytes) and
// writes one float to each of the 3 planes (a warp writes 128 contiguous bytes per plane). Shared memory
// holds the table (3 KB), copied from the parameter space once per block: lookups with per-thread indices
// from shared memory instead of serialised constant-bank reads.
__global__ void normalize_u8_nhwc_to_nchw(float* y, const uint8_t* x, int64_t pixels, int64_t hw,
                                          NormalizeTable t) {
  __shared__ float table[3][256];
  for (unsigned k = threadIdx.x; k < 3 * 256; k += blockDim.x) table[k / 256][k % 256] = t.value[k / 256][k % 256];
  __syncthreads();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t q = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; q < pixels; q += stride) {
    const int64_t n = q / hw, i = q - n * hw;
    const uint8_t* px = x + q * 3;
    float* out = y + n * 3 * hw + i;
    for (int c = 0; c < 3; ++c) out[c * hw] = table[c][px[t.src[c]]];
  }
}

}  // namespace

void normalize_u8_cuda(float* y, const uint8_t* x, const NormalizeParams& p) {
  const int64_t hw = p.H * p.W, pixels = p.N * hw;
  if (pixels == 0) return;
  NormalizeTable t{};
  for (int c = 0; c < 3; ++c) {
    t.src[c] = normalize_source(p, c);
    for (int v = 0; v < 256; ++v) t.value[c][v] = normalize_u8_value(p, c, static_cast<uint8_t>(v));
  }
  NN_CUDA_LAUNCH(normalize_u8_nhwc_to_nchw, dim3(cuda::blocks_for(pixels, kThreads)), dim3(kThreads), 0, y, x, pixels,
                 hw, t);
}

}  // namespace nn
