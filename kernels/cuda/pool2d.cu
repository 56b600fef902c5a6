// Pooling on CUDA: max, average and adaptive average over NCHW planes (kernels/pool2d.h), forward and
// backward, with exactly the windows, divisors and argmax rules of the CPU kernels (kernels/cpu/pool2d.cpp).
//
// Every kernel is one thread per element in a grid-stride loop: forwards one thread per output, reading its
// window; backwards one thread per *input* element, gathering from the outputs whose windows cover it.
// The gather replaces the CPU's scatter (dx[argmax] += dy, or spreading dy over the window): overlapping
// windows make several outputs hit one input, and a scatter would need float atomics, whose order (and so
// the result's last bits) changes from run to run. The gather adds the contributions in increasing output
// index, the CPU's order, so it is deterministic and, for max pooling, bit-identical to the CPU.
// All of these are memory-bound: a handful of flops per element read (docs/cuda.md, pooling).
// Flat indices are 64-bit: the input of ResNet's max pool is N*64*112*112 elements.
#include "base/check.h"
#include "kernels/cuda/compat.h"
#include "kernels/pool2d.h"

#include <cmath>

namespace nn {

namespace {

constexpr unsigned kThreads = 256;

#define NN_GRID_STRIDE(i, count)                                                                   \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (count); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -ceil_div(-a, b); }
__device__ __forceinline__ int64_t lmin(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t lmax(int64_t a, int64_t b) { return a > b ? a : b; }

// The outputs o (0 <= o < out) whose window [o*stride - pad, o*stride - pad + extent) can contain
// position i: o*stride <= i + pad and o*stride > i + pad - extent. A superset when the window is clipped
// or dilated; callers test membership exactly.
struct Range {
  int64_t lo, hi;  // [lo, hi)
};
__device__ __forceinline__ Range covering(int64_t i, int64_t extent, int64_t stride, int64_t pad, int64_t out) {
  const int64_t lo = lmax(0, floor_div(i + pad - extent, stride) + 1);
  const int64_t hi = lmin(out, floor_div(i + pad, stride) + 1);
  return {lo, hi};
}

// Max forward: thread per output (plane j, op, oq) scans the dilated window clipped to the plane, as the
// CPU does: the first maximum wins, a NaN always wins (v != v), and an all -inf window points at its first
// element. Reads R*S floats (mostly from L1/L2: neighbouring windows overlap), writes 4 + 8 bytes.
__global__ void max_pool2d_fwd(float* y, int64_t* argmax, const float* x, Pool2dParams p) {
  NN_GRID_STRIDE(o, p.N * p.C * p.P * p.Q) {
    const int64_t oq = o % p.Q, op = o / p.Q % p.P, j = o / (p.P * p.Q);
    const float* in = x + j * p.H * p.W;
    int64_t h0 = op * p.stride_h - p.pad_h, w0 = oq * p.stride_w - p.pad_w;
    const int64_t h1 = lmin(h0 + (p.R - 1) * p.dil_h + 1, p.H);
    const int64_t w1 = lmin(w0 + (p.S - 1) * p.dil_w + 1, p.W);
    if (h0 < 0) h0 += ceil_div(-h0, p.dil_h) * p.dil_h;  // first tap inside the plane
    if (w0 < 0) w0 += ceil_div(-w0, p.dil_w) * p.dil_w;
    float best = -INFINITY;
    int64_t best_i = h0 * p.W + w0;
    for (int64_t h = h0; h < h1; h += p.dil_h) {
      for (int64_t w = w0; w < w1; w += p.dil_w) {
        const float v = in[h * p.W + w];
        if (v > best || v != v) {
          best = v;
          best_i = h * p.W + w;
        }
      }
    }
    y[o] = best;
    argmax[o] = best_i;
  }
}

// Max backward, gathered: thread per input (plane j, h, w) sums dy over the outputs of its plane whose
// argmax is h*W + w. Only outputs whose (undilated-extent) window covers (h, w) are visited: the argmax of
// an output always lies in its window (precondition: argmax comes from max_pool2d forward).
// Reads ~ceil(span_h/stride_h)*ceil(span_w/stride_w) (argmax, dy) pairs per input, writes 4 bytes.
__global__ void max_pool2d_bwd_gather(float* dx, const float* dy, const int64_t* argmax, Pool2dParams p) {
  const int64_t span_h = (p.R - 1) * p.dil_h + 1, span_w = (p.S - 1) * p.dil_w + 1;  // dilated window
  NN_GRID_STRIDE(i, p.N * p.C * p.H * p.W) {
    const int64_t w = i % p.W, h = i / p.W % p.H, j = i / (p.H * p.W);
    const Range rp = covering(h, span_h, p.stride_h, p.pad_h, p.P);
    const Range rq = covering(w, span_w, p.stride_w, p.pad_w, p.Q);
    const int64_t target = h * p.W + w;
    float sum = 0.f;
    for (int64_t op = rp.lo; op < rp.hi; ++op) {
      for (int64_t oq = rq.lo; oq < rq.hi; ++oq) {
        const int64_t o = (j * p.P + op) * p.Q + oq;
        if (argmax[o] == target) sum += dy[o];
      }
    }
    dx[i] = sum;
  }
}

// The clipped average window of output (op, oq) and its divisor, as avg_window in kernels/cpu/pool2d.cpp.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  float divisor;
};
__device__ __forceinline__ AvgWindow avg_window(const Pool2dParams& p, int64_t op, int64_t oq) {
  int64_t h0 = op * p.stride_h - p.pad_h, w0 = oq * p.stride_w - p.pad_w;
  int64_t h1 = lmin(h0 + p.R, p.H + p.pad_h), w1 = lmin(w0 + p.S, p.W + p.pad_w);
  const int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = lmax(h0, 0), w0 = lmax(w0, 0);
  h1 = lmin(h1, p.H), w1 = lmin(w1, p.W);
  const int64_t inside = lmax(h1 - h0, 0) * lmax(w1 - w0, 0);
  return {h0, h1, w0, w1, static_cast<float>(p.count_include_pad ? padded : inside)};
}

// Avg forward: thread per output sums its clipped window in float and divides (an empty window gives 0).
// Reads R*S floats (overlapping windows hit the caches), writes 4 bytes.
__global__ void avg_pool2d_fwd(float* y, const float* x, Pool2dParams p) {
  NN_GRID_STRIDE(o, p.N * p.C * p.P * p.Q) {
    const int64_t oq = o % p.Q, op = o / p.Q % p.P, j = o / (p.P * p.Q);
    const float* in = x + j * p.H * p.W;
    const AvgWindow a = avg_window(p, op, oq);
    float sum = 0.f;
    for (int64_t h = a.h0; h < a.h1; ++h)
      for (int64_t w = a.w0; w < a.w1; ++w) sum += in[h * p.W + w];
    y[o] = a.h0 >= a.h1 || a.w0 >= a.w1 ? 0.f : sum / a.divisor;
  }
}

// Avg backward, gathered: thread per input sums dy[o] / divisor(o) over the outputs o whose clipped
// window contains it, in increasing o. Reads ~ceil(R/stride_h)*ceil(S/stride_w) floats per input, writes 4 bytes.
__global__ void avg_pool2d_bwd_gather(float* dx, const float* dy, Pool2dParams p) {
  NN_GRID_STRIDE(i, p.N * p.C * p.H * p.W) {
    const int64_t w = i % p.W, h = i / p.W % p.H, j = i / (p.H * p.W);
    const Range rp = covering(h, p.R, p.stride_h, p.pad_h, p.P), rq = covering(w, p.S, p.stride_w, p.pad_w, p.Q);
    float sum = 0.f;
    for (int64_t op = rp.lo; op < rp.hi; ++op) {
      for (int64_t oq = rq.lo; oq < rq.hi; ++oq) {
        const AvgWindow a = avg_window(p, op, oq);
        if (h >= a.h0 && h < a.h1 && w >= a.w0 && w < a.w1) sum += dy[(j * p.P + op) * p.Q + oq] / a.divisor;
      }
    }
    dx[i] = sum;
  }
}

// PyTorch's adaptive windows: output i of `out` averages input [floor(i*in/out), ceil((i+1)*in/out)).
__device__ __forceinline__ int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
__device__ __forceinline__ int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return ceil_div((i + 1) * in, out);
}

// Adaptive avg forward: thread per output averages its window. Reads the window, writes 4 bytes; for the
// usual global pooling (P = Q = 1) one thread reads a whole plane (H*W = 49 for ResNet-50).
__global__ void adaptive_avg_pool2d_fwd(float* y, const float* x, Pool2dParams p) {
  NN_GRID_STRIDE(o, p.N * p.C * p.P * p.Q) {
    const int64_t oq = o % p.Q, op = o / p.Q % p.P, j = o / (p.P * p.Q);
    const float* in = x + j * p.H * p.W;
    const int64_t h0 = adaptive_start(op, p.H, p.P), h1 = adaptive_end(op, p.H, p.P);
    const int64_t w0 = adaptive_start(oq, p.W, p.Q), w1 = adaptive_end(oq, p.W, p.Q);
    float sum = 0.f;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) sum += in[h * p.W + w];
    y[o] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
  }
}

// Adaptive avg backward, gathered: thread per input (h, w) sums dy / window size over the outputs whose
// window contains it. start(o) <= h  <=>  o <= ((h+1)*P - 1) / H, and end(o) > h  <=>  o >= h*P / H; the
// loop still tests membership exactly.
__global__ void adaptive_avg_pool2d_bwd_gather(float* dx, const float* dy, Pool2dParams p) {
  NN_GRID_STRIDE(i, p.N * p.C * p.H * p.W) {
    const int64_t w = i % p.W, h = i / p.W % p.H, j = i / (p.H * p.W);
    const int64_t op_lo = h * p.P / p.H, op_hi = lmin(p.P, ((h + 1) * p.P - 1) / p.H + 1);
    const int64_t oq_lo = w * p.Q / p.W, oq_hi = lmin(p.Q, ((w + 1) * p.Q - 1) / p.W + 1);
    float sum = 0.f;
    for (int64_t op = op_lo; op < op_hi; ++op) {
      const int64_t h0 = adaptive_start(op, p.H, p.P), h1 = adaptive_end(op, p.H, p.P);
      if (h < h0 || h >= h1) continue;
      for (int64_t oq = oq_lo; oq < oq_hi; ++oq) {
        const int64_t w0 = adaptive_start(oq, p.W, p.Q), w1 = adaptive_end(oq, p.W, p.Q);
        if (w >= w0 && w < w1) sum += dy[(j * p.P + op) * p.Q + oq] / static_cast<float>((h1 - h0) * (w1 - w0));
      }
    }
    dx[i] = sum;
  }
}

#undef NN_GRID_STRIDE

int64_t outputs(const Pool2dParams& p) { return p.N * p.C * p.P * p.Q; }
int64_t inputs(const Pool2dParams& p) { return p.N * p.C * p.H * p.W; }

void require_window(const Pool2dParams& p) {
  NN_REQUIRE(p.R > 0 && p.S > 0 && p.stride_h > 0 && p.stride_w > 0 && p.dil_h > 0 && p.dil_w > 0 && p.pad_h >= 0 &&
                 p.pad_w >= 0,
             "pool2d CUDA: kernel, stride and dilation must be positive, padding non-negative");
}

}  // namespace

void max_pool2d_forward_cuda(float* y, int64_t* argmax, const float* x, const Pool2dParams& p) {
  require_window(p);
  if (outputs(p) == 0) return;
  NN_CUDA_LAUNCH(max_pool2d_fwd, dim3(cuda::blocks_for(outputs(p), kThreads)), dim3(kThreads), 0, y, argmax, x, p);
}

void max_pool2d_backward_cuda(float* dx, const float* dy, const int64_t* argmax, const Pool2dParams& p) {
  require_window(p);
  if (inputs(p) == 0) return;
  NN_CUDA_LAUNCH(max_pool2d_bwd_gather, dim3(cuda::blocks_for(inputs(p), kThreads)), dim3(kThreads), 0, dx, dy,
                 argmax, p);
}

void avg_pool2d_forward_cuda(float* y, const float* x, const Pool2dParams& p) {
  require_window(p);
  if (outputs(p) == 0) return;
  NN_CUDA_LAUNCH(avg_pool2d_fwd, dim3(cuda::blocks_for(outputs(p), kThreads)), dim3(kThreads), 0, y, x, p);
}

void avg_pool2d_backward_cuda(float* dx, const float* dy, const Pool2dParams& p) {
  require_window(p);
  if (inputs(p) == 0) return;
  NN_CUDA_LAUNCH(avg_pool2d_bwd_gather, dim3(cuda::blocks_for(inputs(p), kThreads)), dim3(kThreads), 0, dx, dy, p);
}

void adaptive_avg_pool2d_forward_cuda(float* y, const float* x, const Pool2dParams& p) {
  NN_REQUIRE(p.H > 0 && p.W > 0 && p.P > 0 && p.Q > 0, "adaptive_avg_pool2d CUDA: sizes must be positive");
  NN_CUDA_LAUNCH(adaptive_avg_pool2d_fwd, dim3(cuda::blocks_for(outputs(p), kThreads)), dim3(kThreads), 0, y, x, p);
}

void adaptive_avg_pool2d_backward_cuda(float* dx, const float* dy, const Pool2dParams& p) {
  NN_REQUIRE(p.H > 0 && p.W > 0 && p.P > 0 && p.Q > 0, "adaptive_avg_pool2d CUDA: sizes must be positive");
  NN_CUDA_LAUNCH(adaptive_avg_pool2d_bwd_gather, dim3(cuda::blocks_for(inputs(p), kThreads)), dim3(kThreads), 0,
                 dx, dy, p);
}

}  // namespace nn
