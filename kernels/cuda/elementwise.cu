// CUDA elementwise kernels: unary ops, their backward, binary ops, and row scaling (scale_rows: the
// squeeze-and-excitation gate, stochastic depth) (the math: kernels/elementwise.h; the CPU loops, which
// these match: kernels/cpu/elementwise.cpp).
//
// One kernel template, elementwise_map<Family, Walk>, serves all three families. A Family says how many
// inputs an element reads and computes the output from them through one __device__ switch on the op
// (unary_value, unary_backward_value, binary_value): the op is a kernel argument, the same for every thread,
// so the switch is a uniform branch that costs nothing next to the memory traffic, and there is one kernel
// per family and walk instead of one per op. The Walk (kernels/cuda/loop_index.h) is the contiguous fast
// path (offset == index) or the general strided/broadcast path (one division per dimension per element).
//
// Every value is computed in float with the CPU's expression, operation for operation:
//   - + - * / and sqrtf are IEEE-rounded in CUDA (no fast-math), and the products that nvcc could fuse
//     into an FMA (tanh backward's 1 - y*y, silu backward's 1 + x*(1-sg)) go through mul_rn, so these ops
//     equal the CPU bit for bit;
//   - expf, logf, tanhf, powf are CUDA's libdevice on a GPU (within 1-4 ulp of glibc's, not equal), and
//     glibc's itself on the emulator (the same calls the CPU makes, so equal there).
#include "base/check.h"
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/compat.h"
#include "kernels/cuda/loop_index.h"
#include "kernels/elementwise.h"

#include <algorithm>

namespace nn {

namespace {

constexpr unsigned kThreads = 256;

// a * b rounded once, never contracted with a following add (g++ does not contract at the CPU's flags).
#if NN_CUDA_EMULATED
__device__ inline float mul_rn(float a, float b) { return a * b; }
#else
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
#endif

__device__ inline float unary_value(UnaryOp op, float x, float s) {
  switch (op) {
    case UnaryOp::identity: return x;
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return expf(x);
    case UnaryOp::log: return logf(x);
    case UnaryOp::sqrt: return sqrtf(x);
    case UnaryOp::relu: return x < 0.0f ? 0.0f : x;  // NaN < 0 is false: NaN stays NaN
    case UnaryOp::sigmoid: return 1.0f / (1.0f + expf(-x));
    case UnaryOp::tanh: return tanhf(x);
    case UnaryOp::silu: return x / (1.0f + expf(-x));
    case UnaryOp::add_scalar: return x + s;
    case UnaryOp::mul_scalar: return x * s;
    case UnaryOp::div_scalar: return x / s;
    case UnaryOp::pow_scalar: return powf(x, s);
    case UnaryOp::rsub_scalar: return s - x;
    case UnaryOp::rdiv_scalar: return s / x;
  }
  __builtin_unreachable();
}

// dx for upstream gradient g at input x and output y (x or y is 0 when the op does not read it:
// unary_backward_needs_input / _output say which it gets; silu reads x and recomputes sigmoid from it).
__device__ inline float unary_backward_value(UnaryOp op, float g, float x, float y, float s) {
  switch (op) {
    case UnaryOp::identity:
    case UnaryOp::add_scalar: return g;
    case UnaryOp::neg:
    case UnaryOp::rsub_scalar: return -g;
    case UnaryOp::exp: return g * y;
    case UnaryOp::log: return g / x;
    case UnaryOp::sqrt: return g / (2.0f * y);
    case UnaryOp::relu: return y <= 0.0f ? 0.0f : g;  // as PyTorch's threshold_backward: NaN passes g
    case UnaryOp::sigmoid: return g * y * (1.0f - y);
    case UnaryOp::tanh: return g * (1.0f - mul_rn(y, y));
    case UnaryOp::silu: {
      const float sg = 1.0f / (1.0f + expf(-x));
      return g * sg * (1.0f + mul_rn(x, 1.0f - sg));
    }
    case UnaryOp::mul_scalar: return g * s;
    case UnaryOp::div_scalar: return g / s;
    case UnaryOp::pow_scalar: return s == 0.0f ? 0.0f : g * s * powf(x, s - 1.0f);
    case UnaryOp::rdiv_scalar: return -g * y / x;
  }
  __builtin_unreachable();
}

__device__ inline float binary_value(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return powf(a, b);
    case BinaryOp::pow_base_grad: return b == 0.0f ? 0.0f : b * powf(a, b - 1.0f);
    case BinaryOp::pow_exponent_grad: return a == 0.0f && b >= 0.0f ? 0.0f : powf(a, b) * logf(a);
  }
  __builtin_unreachable();
}

// A family: its inputs are Loop operands 1..kInputs (operand 0 is the output); operator() maps their
// values at one element to the output value.
struct UnaryForward {
  static constexpr int kInputs = 1;  // x
  UnaryOp op;
  float s;
  __device__ float operator()(const float* v) const { return unary_value(op, v[0], s); }
};
struct UnaryBackward {
  static constexpr int kInputs = 3;  // dy, x, y
  UnaryOp op;
  float s;
  __device__ float operator()(const float* v) const { return unary_backward_value(op, v[0], v[1], v[2], s); }
};
struct BinaryForward {
  static constexpr int kInputs = 2;  // a, b
  BinaryOp op;
  __device__ float operator()(const float* v) const { return binary_value(op, v[0], v[1]); }
};

template <int kInputs>
struct Inputs {
  const float* p[kInputs];  // null for an input the op does not read (never loaded)
};

// One thread per output element (grid-stride, kernels/cuda/loop_index.h): loads the element of each input
// (a warp reads 128 contiguous bytes per operand on the contiguous walk; a broadcast operand is one cached
// value), applies the family's op and stores the result. No shared memory: nothing is reused between
// threads. Memory-bound: 4 * (1 + inputs read) bytes per element. The output may alias an input read at
// the same offset (in-place ops): each element is read and written by the same thread.
template <class Family, cuda::Walk walk>
__global__ void elementwise_map(float* out, Inputs<Family::kInputs> in, Loop L, Family family) {
  cuda::loop_grid_stride<walk>(L, [&](const int64_t* off) {
    float v[Family::kInputs];
    for (int k = 0; k < Family::kInputs; ++k) v[k] = in.p[k] ? in.p[k][off[k + 1]] : 0.0f;
    out[off[0]] = family(v);
  });
}

template <class Family>
void launch_map(float* out, Inputs<Family::kInputs> in, const Loop& L, Family family) {
  if (L.numel == 0) return;
  const dim3 grid(cuda::blocks_for(L.numel, kThreads)), block(kThreads);
  if (cuda::loop_walk(L) == cuda::Walk::contiguous)
    NN_CUDA_LAUNCH((elementwise_map<Family, cuda::Walk::contiguous>), grid, block, 0, out, in, L, family);
  else
    NN_CUDA_LAUNCH((elementwise_map<Family, cuda::Walk::strided>), grid, block, 0, out, in, L, family);
}

// Row scaling, x viewed as [rows, inner]: y[i, j] = x[i, j] * s[i]. One thread per element in a grid-stride
// loop (consecutive threads: consecutive j, so loads and stores coalesce; s[i] is the same for a warp's
// lanes but at a row's end, a cached broadcast). Index is int when rows*inner < 2^31, so the row's division
// is 32-bit. Memory-bound: 8 bytes per element. Also the backward's dx = dy * s.
template <class Index>
__global__ void scale_rows_map(float* y, const float* x, const float* s, Index inner, Index count) {
  const Index stride = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    y[i] = x[i] * s[i / inner];
}

void launch_scale_rows(float* y, const float* x, const float* s, int64_t rows, int64_t inner) {
  const int64_t count = rows * inner;
  if (count == 0) return;
  const dim3 grid(cuda::blocks_for(count, kThreads)), block(kThreads);
  if (count < (int64_t{1} << 31) - static_cast<int64_t>(grid.x) * kThreads)  // i + stride cannot overflow
    NN_CUDA_LAUNCH(scale_rows_map<int>, grid, block, 0, y, x, s, static_cast<int>(inner), static_cast<int>(count));
  else
    NN_CUDA_LAUNCH(scale_rows_map<int64_t>, grid, block, 0, y, x, s, inner, count);
}

// ds[i] = sum_j dy[i, j] * x[i, j]. Block i: thread t adds the products j = t, t + blockDim.x, ... in double
// (a warp reads 32 consecutive floats of each row), then the block folds them in a fixed tree (block_reduce.h):
// deterministic, and like the CPU's double lanes up to the order of double additions. blockDim.x is a
// multiple of 32, at most 256, smaller for short rows. Reads 8 bytes per element; gridDim.x == rows.
__global__ void __launch_bounds__(kThreads)
    scale_rows_ds(float* ds, const float* dy, const float* x, int64_t inner) {
  __shared__ double slots[32];
  const int64_t row = static_cast<int64_t>(blockIdx.x) * inner;
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < inner; j += blockDim.x)
    sum += static_cast<double>(dy[row + j]) * static_cast<double>(x[row + j]);
  sum = cuda::block_allreduce(sum, cuda::Plus{}, 0.0, slots);
  if (threadIdx.x == 0) ds[blockIdx.x] = static_cast<float>(sum);
}

}  // namespace

void unary_forward_cuda(UnaryOp op, float* y, const float* x, double s, const Loop& L) {
  launch_map(y, Inputs<1>{{x}}, L, UnaryForward{op, static_cast<float>(s)});
}

void unary_backward_cuda(UnaryOp op, float* dx, const float* dy, const float* x, const float* y, double s,
                         const Loop& L) {
  // An absent x or y has stride 0 in L (make_loop_for) but is never loaded: give it the output's strides,
  // so that it does not keep a contiguous backward off the fast path.
  Loop walked = L;
  const float* inputs[3] = {dy, x, y};
  for (int k = 0; k < 3; ++k)
    if (!inputs[k])
      for (int d = 0; d < L.ndim; ++d) walked.strides[k + 1][d] = L.strides[0][d];
  launch_map(dx, Inputs<3>{{dy, x, y}}, walked, UnaryBackward{op, static_cast<float>(s)});
}

void binary_forward_cuda(BinaryOp op, float* out, const float* a, const float* b, const Loop& L) {
  launch_map(out, Inputs<2>{{a, b}}, L, BinaryForward{op});
}

void scale_rows_forward_cuda(float* y, const float* x, const float* s, int64_t rows, int64_t inner) {
  launch_scale_rows(y, x, s, rows, inner);
}

// dx = dy * s[row] is the forward kernel with dy for x; ds is one block per row.
void scale_rows_backward_cuda(float* dx, float* ds, const float* dy, const float* x, const float* s, int64_t rows,
                              int64_t inner) {
  if (dx) launch_scale_rows(dx, dy, s, rows, inner);
  if (!ds || rows == 0) return;
  NN_REQUIRE(rows < (int64_t{1} << 31), "scale_rows CUDA: rows must be below 2^31 (one block per row)");
  const int64_t threads = std::clamp<int64_t>(ceil_div<int64_t>(inner, 32) * 32, 32, kThreads);  // short rows: fewer
  NN_CUDA_LAUNCH(scale_rows_ds, dim3(static_cast<unsigned>(rows)), dim3(static_cast<unsigned>(threads)), 0, ds, dy, x,
                 inner);
}

}  // namespace nn
