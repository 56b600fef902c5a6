// CUDA softmax and log_softmax (kernels/softmax.h), forward and backward, on rows of x viewed as
// [outer, D, inner]: row (n, j) is x[n, 0..D-1, j], its elements `inner` apart.
//
// Each row is owned by a team of threads, and one kernel template serves both teams:
//   - WarpPerRow (inner == 1, D >= 64: the classifier case, D = 1000): a warp per row, lane l taking
//     elements l, l+32, ... so each step reads 32 consecutive floats; the row's max and sums are folded
//     across lanes with warp shuffles (no shared memory, no block barrier);
//   - ThreadPerRow (inner > 1, softmax over channels of [N, C, H, W]; or short rows): a thread per row;
//     adjacent threads own adjacent j, so their reads of one element index coalesce.
// The arithmetic is the CPU's: float max and differences, exp and the sums in double. A thread-per-row team
// adds in the CPU's order and gives its results bit for bit; a warp adds in lane order, which can move a
// float result by one rounding.
#include "kernels/cuda/block_reduce.h"
#include "kernels/softmax.h"

namespace nn {

namespace {

constexpr unsigned kThreads = 256;
constexpr int64_t kWarpRowMin = 64;  // shorter contiguous rows leave most of a warp idle: one thread each

struct WarpPerRow {
  static constexpr int kSize = 32;
  __device__ static int rank() { return threadIdx.x % 32; }
  __device__ static int64_t first_row() { return (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; }
  __device__ static int64_t row_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x / 32; }
  template <class T, class Op>
  __device__ static T all(T v, Op op) { return cuda::warp_allreduce(v, op); }
};

struct ThreadPerRow {
  static constexpr int kSize = 1;
  __device__ static int rank() { return 0; }
  __device__ static int64_t first_row() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
  __device__ static int64_t row_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
  template <class T, class Op>
  __device__ static T all(T v, Op) { return v; }
};

// std::max's rule, as on the CPU (a NaN row gives NaN outputs whatever the max, through the sum).
struct Max {
  __device__ float operator()(float a, float b) const { return a < b ? b : a; }
};

// Forward, one row per team (grid-stride over the outer * inner rows): m = max, sum = sum exp(x - m) in
// double, then y. Reads the row 3 times (twice for log_softmax), writes it once; D (or 2D) exps per row.
template <class Team>
__global__ void softmax_forward_rows(SoftmaxKind kind, float* y, const float* x, int64_t rows, int64_t D,
                                     int64_t inner) {
  for (int64_t row = Team::first_row(); row < rows; row += Team::row_step()) {
    const int64_t base = (row / inner) * D * inner + row % inner;
    const float* in = x + base;
    float* out = y + base;
    float m = -__int_as_float(0x7f800000);
    for (int64_t i = Team::rank(); i < D; i += Team::kSize) m = Max{}(m, in[i * inner]);
    m = Team::all(m, Max{});
    double sum = 0.0;
    for (int64_t i = Team::rank(); i < D; i += Team::kSize) sum += exp(static_cast<double>(in[i * inner] - m));
    sum = Team::all(sum, cuda::Plus{});
    if (kind == SoftmaxKind::softmax) {
      for (int64_t i = Team::rank(); i < D; i += Team::kSize)
        out[i * inner] = static_cast<float>(exp(static_cast<double>(in[i * inner] - m)) / sum);
    } else {
      const float shift = static_cast<float>(log(sum));
      for (int64_t i = Team::rank(); i < D; i += Team::kSize) out[i * inner] = in[i * inner] - m - shift;
    }
  }
}

// Backward, one row per team: s = sum dy*y (softmax) or sum dy (log_softmax) in double, rounded to float
// as on the CPU, then dx. Reads dy and y twice, writes dx once.
template <class Team>
__global__ void softmax_backward_rows(SoftmaxKind kind, float* dx, const float* dy, const float* y, int64_t rows,
                                      int64_t D, int64_t inner) {
  for (int64_t row = Team::first_row(); row < rows; row += Team::row_step()) {
    const int64_t base = (row / inner) * D * inner + row % inner;
    const float *g = dy + base, *out = y + base;
    float* d = dx + base;
    double acc = 0.0;
    for (int64_t i = Team::rank(); i < D; i += Team::kSize)
      acc += kind == SoftmaxKind::softmax ? static_cast<double>(g[i * inner]) * out[i * inner] : g[i * inner];
    const float s = static_cast<float>(Team::all(acc, cuda::Plus{}));
    for (int64_t i = Team::rank(); i < D; i += Team::kSize)
      d[i * inner] = kind == SoftmaxKind::softmax ? out[i * inner] * (g[i * inner] - s)
                                                  : g[i * inner] - expf(out[i * inner]) * s;
  }
}

bool warp_per_row(int64_t D, int64_t inner) { return inner == 1 && D >= kWarpRowMin; }

}  // namespace

void softmax_forward_cuda(SoftmaxKind kind, float* y, const float* x, int64_t outer, int64_t D, int64_t inner) {
  const int64_t rows = outer * inner;
  if (rows == 0 || D == 0) return;
  if (warp_per_row(D, inner)) {
    NN_CUDA_LAUNCH(softmax_forward_rows<WarpPerRow>, dim3(cuda::blocks_for(rows * 32, kThreads)), dim3(kThreads), 0,
                   kind, y, x, rows, D, inner);
  } else {
    NN_CUDA_LAUNCH(softmax_forward_rows<ThreadPerRow>, dim3(cuda::blocks_for(rows, kThreads)), dim3(kThreads), 0,
                   kind, y, x, rows, D, inner);
  }
}

void softmax_backward_cuda(SoftmaxKind kind, float* dx, const float* dy, const float* y, int64_t outer, int64_t D,
                           int64_t inner) {
  const int64_t rows = outer * inner;
  if (rows == 0 || D == 0) return;
  if (warp_per_row(D, inner)) {
    NN_CUDA_LAUNCH(softmax_backward_rows<WarpPerRow>, dim3(cuda::blocks_for(rows * 32, kThreads)), dim3(kThreads),
                   0, kind, dx, dy, y, rows, D, inner);
  } else {
    NN_CUDA_LAUNCH(softmax_backward_rows<ThreadPerRow>, dim3(cuda::blocks_for(rows, kThreads)), dim3(kThreads), 0,
                   kind, dx, dy, y, rows, D, inner);
  }
}

}  // namespace nn
