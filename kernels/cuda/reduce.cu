// CUDA reductions (kernels/reduce.h): sum (and mean) over any dimensions, max along one dimension.
//
// sum picks one of three shapes of work, by the number of outputs and the reduced extent R:
//   - many outputs or a short R: one thread per output, summing its R inputs in the CPU's order
//     (so the double sum, and the float result, equal the CPU's bit for bit);
//   - few outputs, long R (batch norm's bias gradient: 64 outputs of N*H*W): one block per output, its
//     threads striding over R (adjacent threads read adjacent inputs) and a block reduction;
//   - very few outputs, huge R (a full-tensor sum): S blocks per output, each reducing one slice of R into
//     a double partial in scratch memory, then one warp per output adds its S partials. Two launches
//     instead of double atomics, so the result does not depend on which block finishes first.
// All sums are in double, as on the CPU; the block and split shapes add in a different (fixed) order, so
// their float results can differ from the CPU's by one rounding of the final double.
#include "kernels/cuda/block_reduce.h"
#include "kernels/cuda/loop_index.h"
#include "kernels/reduce.h"

namespace nn {

namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kManyOutputs = 8192;  // enough outputs to keep a GPU busy with one thread each
constexpr int64_t kShortReduction = 256;  // shorter: most threads of a block per output would idle
constexpr int64_t kTargetBlocks = 264;   // two blocks per SM of a 132-SM GPU
constexpr int64_t kMinSlice = 8192;      // inputs per split block: 32 per thread, so the split pays

// Sum in double of x over the reduced indices r = first, first + step, ... < end of one output, whose
// inputs start at `base`. The common one-dimensional inner loop skips the index arithmetic.
__device__ double sum_inner(const float* base, const Loop& inner, int64_t first, int64_t end, int64_t step) {
  double acc = 0.0;
  if (inner.ndim <= 1) {
    const int64_t stride = inner.ndim == 1 ? inner.strides[0][0] : 0;
    for (int64_t r = first; r < end; r += step) acc += base[r * stride];
  } else {
    for (int64_t r = first; r < end; r += step) acc += base[cuda::loop_offset(inner, 0, r)];
  }
  return acc;
}

// One thread per output o (grid-stride): out[o] = scale * sum over r of x[o, r], summed in order r = 0..R-1.
// Reads R inputs and writes one float per thread; no shared memory.
__global__ void sum_thread_per_output(float* out, const float* x, ReduceGeometry g, double scale) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < g.outer.numel; o += stride) {
    int64_t off[2];
    cuda::loop_offsets(g.outer, o, off);
    out[off[0]] = static_cast<float>(sum_inner(x + off[1], g.inner, 0, g.inner.numel, 1) * scale);
  }
}

// Block (o, s) sums slice s of output o's R inputs (slices of `slice` inputs; thread t takes every
// blockDim.x-th one from its start, so a warp reads consecutive inputs when the innermost reduced dimension
// is contiguous) and reduces the threads' double sums through block_allreduce. With one slice (gridDim.y ==
// 1) it writes out[o] = float(sum * scale); otherwise partial[o][s] = sum, for sum_partials.
// Shared memory: 32 doubles. Reads each input once.
__global__ void sum_block_per_slice(float* out, double* partial, const float* x, ReduceGeometry g, double scale,
                                    int64_t slice) {
  __shared__ double slots[32];
  const int64_t o = blockIdx.x, s = blockIdx.y;
  int64_t off[2];
  cuda::loop_offsets(g.outer, o, off);
  const int64_t begin = s * slice, end = begin + slice < g.inner.numel ? begin + slice : g.inner.numel;
  double acc = sum_inner(x + off[1], g.inner, begin + threadIdx.x, end, blockDim.x);
  acc = cuda::block_allreduce(acc, cuda::Plus{}, 0.0, slots);
  if (threadIdx.x != 0) return;
  if (gridDim.y == 1) out[off[0]] = static_cast<float>(acc * scale);
  else partial[o * gridDim.y + s] = acc;
}

// One warp per output o (block o): out[o] = float(scale * sum of partial[o][0..S-1]); lane l adds the
// partials l, l+32, ... and a warp reduction finishes. Reads S doubles, writes one float.
__global__ void sum_partials(float* out, const double* partial, ReduceGeometry g, double scale, int64_t S) {
  const int64_t o = blockIdx.x;
  double acc = 0.0;
  for (int64_t s = threadIdx.x; s < S; s += 32) acc += partial[o * S + s];
  acc = cuda::warp_reduce(acc, cuda::Plus{});
  if (threadIdx.x == 0) out[cuda::loop_offset(g.outer, 0, o)] = static_cast<float>(acc * scale);
}

// A candidate maximum: its value and its index along the reduced dimension.
struct ArgMax {
  float value;
  int64_t index;
};

__device__ bool is_nan(float v) { return v != v; }

// The better of two candidates: NaN beats any number, a larger value beats a smaller one, and among equals
// (two NaNs, or 0.0 and -0.0) the lower index wins. A total order, so any fold order gives the CPU's answer
// (the first NaN, else the first maximum).
struct BetterOf {
  __device__ ArgMax operator()(ArgMax a, ArgMax b) const {
    const bool a_nan = is_nan(a.value), b_nan = is_nan(b.value);
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan && a.value != b.value) return a.value > b.value ? a : b;
    return a.index <= b.index ? a : b;
  }
};

__device__ ArgMax shfl_down(ArgMax v, int offset) {
  return {cuda::shfl_down(v.value, offset), cuda::shfl_down(v.index, offset)};
}

// One thread per output o = (n, j) of x viewed as [outer, D, inner] (grid-stride): the CPU's scan over
// p[i * inner], stopping at the first NaN. Adjacent threads read adjacent j, so reads coalesce when inner > 1.
__global__ void max_dim_thread_per_output(float* values, int64_t* indices, const float* x, int64_t outputs,
                                          int64_t D, int64_t inner) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < outputs; o += stride) {
    const float* p = x + (o / inner) * D * inner + o % inner;
    ArgMax best{p[0], 0};
    for (int64_t i = 1; i < D && !is_nan(best.value); ++i) best = BetterOf{}(best, ArgMax{p[i * inner], i});
    values[o] = best.value;
    indices[o] = best.index;
  }
}

// One block per output o (few outputs, long D: a whole-tensor max, argmax over 1000 classes): thread t
// folds i = t, t + blockDim.x, ... and block_allreduce folds the threads' candidates. Consecutive when
// inner == 1; strided by inner otherwise (rare: few outputs and a long D that is not innermost).
// Shared memory: 32 candidates.
__global__ void max_dim_block_per_output(float* values, int64_t* indices, const float* x, int64_t D,
                                         int64_t inner) {
  __shared__ ArgMax slots[32];
  const int64_t o = blockIdx.x;
  const float* p = x + (o / inner) * D * inner + o % inner;
  const ArgMax none{-__int_as_float(0x7f800000), D};  // -inf at an index past the end: loses to anything
  ArgMax best = none;
  for (int64_t i = threadIdx.x; i < D; i += blockDim.x) best = BetterOf{}(best, ArgMax{p[i * inner], i});
  best = cuda::block_allreduce(best, BetterOf{}, none, slots);
  if (threadIdx.x == 0) {
    values[o] = best.value;
    indices[o] = best.index;
  }
}

// One thread per element e of dx (grid-stride): dx[e] = dy[o] where e is output o's argmax, else 0.
// Coalesced writes of dx; each dy and index is read by D threads (through the cache).
__global__ void max_dim_backward_scatter(float* dx, const float* dy, const int64_t* indices, int64_t total,
                                         int64_t D, int64_t inner) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t j = e % inner, i = (e / inner) % D, n = e / (D * inner);
    const int64_t o = n * inner + j;
    dx[e] = indices[o] == i ? dy[o] : 0.f;
  }
}

}  // namespace

void sum_cuda(float* out, const float* x, const ReduceGeometry& g, double scale) {
  const int64_t outputs = g.outer.numel, R = g.inner.numel;
  if (outputs == 0) return;
  if (outputs >= kManyOutputs || R <= kShortReduction) {
    NN_CUDA_LAUNCH(sum_thread_per_output, dim3(cuda::blocks_for(outputs, kThreads)), dim3(kThreads), 0, out, x, g,
                   scale);
    return;
  }
  // Enough blocks in all to fill the GPU, but no slice shorter than kMinSlice.
  const int64_t by_occupancy = ceil_div(kTargetBlocks, outputs), by_length = ceil_div(R, kMinSlice);
  const int64_t S = by_occupancy < by_length ? by_occupancy : by_length;
  const int64_t slice = ceil_div(R, S);
  const dim3 grid(static_cast<unsigned>(outputs), static_cast<unsigned>(S));
  if (S == 1) {
    NN_CUDA_LAUNCH(sum_block_per_slice, grid, dim3(kThreads), 0, out, static_cast<double*>(nullptr), x, g, scale,
                   slice);
    return;
  }
  const cuda::Scratch<double> partial(static_cast<size_t>(outputs * S));  // [outputs, S]
  NN_CUDA_LAUNCH(sum_block_per_slice, grid, dim3(kThreads), 0, out, partial.get(), x, g, scale, slice);
  NN_CUDA_LAUNCH(sum_partials, dim3(static_cast<unsigned>(outputs)), dim3(32), 0, out,
                 static_cast<const double*>(partial.get()), g, scale, S);
}

void max_dim_cuda(float* values, int64_t* indices, const float* x, int64_t outer, int64_t D, int64_t inner) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  if (outputs >= kManyOutputs || D <= kShortReduction) {
    NN_CUDA_LAUNCH(max_dim_thread_per_output, dim3(cuda::blocks_for(outputs, kThreads)), dim3(kThreads), 0, values,
                   indices, x, outputs, D, inner);
  } else {
    NN_CUDA_LAUNCH(max_dim_block_per_output, dim3(static_cast<unsigned>(outputs)), dim3(kThreads), 0, values,
                   indices, x, D, inner);
  }
}

void max_dim_backward_cuda(float* dx, const float* dy, const int64_t* indices, int64_t outer, int64_t D,
                           int64_t inner) {
  const int64_t total = outer * D * inner;
  if (total == 0) return;
  NN_CUDA_LAUNCH(max_dim_backward_scatter, dim3(cuda::blocks_for(total, kThreads)), dim3(kThreads), 0, dx, dy,
                 indices, total, D, inner);
}

}  // namespace nn
