// CUDA reductions (kernels/cuda/reduce.cu) against the CPU kernels: sum and mean through the ops on CUDA
// tensors (every launch shape: a thread per output, a block per output, split blocks plus a second pass;
// contiguous, transposed and permuted inputs), max along a dimension with ties and NaNs (a thread per
// output and a block per output), and max's backward scatter through the kernel entry points.
#include "kernels/reduce.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

constexpr Tol kExact{0, 0};
// A thread per output adds in the CPU's order: bit for bit. The block and split shapes add the same double
// terms in another order; in these tests that changes the double sum far below a float ulp (|error| <=
// R * 2^-53 * sum|x|, about 1e-9 of the result at most here), so the float results differ by at most one
// rounding: one ulp, 2^-23 relative.
constexpr Tol kSumOrder{1.2e-7, 0};

struct SumCase {
  const char* what;
  Shape shape;
  std::vector<int64_t> dims;  // empty: all
  Tol tol;
  int permute = 0;  // 0: as is; 1: transpose(0, last); 2: permute (0, 2, 3, 1) of a 4-D tensor
};

Tensor view_of(const Tensor& t, int permute) {
  if (permute == 1) return t.transpose(0, t.ndim() - 1);
  if (permute == 2) return t.permute({0, 2, 3, 1});
  return t;
}

void check_sums(const std::vector<SumCase>& cases) {
  uint64_t seed = 11;
  for (const SumCase& k : cases) {
    const Tensor x = test_input(k.shape, seed++, -1, 1, DType::f32);
    const Tensor xv = view_of(x, k.permute);
    const Tensor want_sum = k.dims.empty() ? sum(xv) : sum(xv, k.dims, true);
    const Tensor want_mean = k.dims.empty() ? mean(xv) : mean(xv, k.dims);
    const Tensor cx = view_of(to_cuda(x), k.permute);
    for_each_schedule([&] {
      INFO(k.what);
      check_close("sum", to_cpu(k.dims.empty() ? sum(cx) : sum(cx, k.dims, true)), want_sum, k.tol);
      check_close("mean", to_cpu(k.dims.empty() ? mean(cx) : mean(cx, k.dims)), want_mean, k.tol);
    });
  }
}

// x with values from a few levels (many ties) and, when nan_every > 0, NaN at every nan_every-th element
// starting at nan_first.
Tensor max_input(const Shape& shape, uint64_t seed, int64_t nan_first, int64_t nan_every) {
  Tensor x = test_input(shape, seed, 0, 4, DType::f32);
  float* d = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) d[i] = static_cast<float>(static_cast<int>(d[i]));  // 0, 1, 2, 3
  if (nan_every > 0)
    for (int64_t i = nan_first; i < x.numel(); i += nan_every) d[i] = std::numeric_limits<float>::quiet_NaN();
  return x;
}

struct MaxCase {
  const char* what;
  Shape shape;
  int64_t dim;
  int64_t nan_first = 0, nan_every = 0;
};

void check_max(const std::vector<MaxCase>& cases) {
  uint64_t seed = 31;
  for (const MaxCase& k : cases) {
    const Tensor x = max_input(k.shape, seed++, k.nan_first, k.nan_every);
    const MaxResult want = max(x, k.dim);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < k.dim; ++d) outer *= k.shape[d];
    for (int d = k.dim + 1; d < k.shape.size(); ++d) inner *= k.shape[d];
    const int64_t D = k.shape[k.dim];
    const Tensor dy = test_input(want.values.shape(), seed++, -1, 1, DType::f32);
    const Tensor dx = empty(k.shape);
    max_dim_backward_cpu<float>(dx.data<float>(), dy.data<float>(), want.indices.data<int64_t>(), outer, D, inner);
    const Tensor cx = to_cuda(x), cdy = to_cuda(dy), cindices = to_cuda(want.indices);
    for_each_schedule([&] {
      INFO(k.what);
      const MaxResult got = max(cx, k.dim);
      check_close("max values", to_cpu(got.values), want.values, kExact);
      check_close("max indices", to_cpu(got.indices).to(DType::f64), want.indices.to(DType::f64), kExact);
      const Tensor cdx = empty(k.shape, DType::f32, Device::cuda());
      max_dim_backward_cuda(cdx.data<float>(), cdy.data<float>(), cindices.data<int64_t>(), outer, D, inner);
      check_close("max backward dx", to_cpu(cdx), dx, kExact);
    });
  }
}

}  // namespace

TEST_SUITE("cuda") {
  // Model-sized: batch norm's bias gradient over [2, 64, 56, 56] (a ResNet-50 layer1 activation at batch 2;
  // 64 blocks of 6272 inputs), the full sum of it (49 split blocks, then the partials) and of a permuted view
  // of it (the multi-dimensional reduced loop), a linear layer's bias gradient at batch 32 (1000 threads of 32
  // inputs) and global average pooling over 7x7 (4096 threads of 49 inputs).
  TEST_CASE("cuda sum: model-sized reductions equal the CPU ([2,64,56,56] dims 0,2,3 / all / permuted; [32,1000])") {
    check_sums({{"bias grad [2,64,56,56] dims 0,2,3", {2, 64, 56, 56}, {0, 2, 3}, kSumOrder},
                {"full sum [2,64,56,56]", {2, 64, 56, 56}, {}, kSumOrder},
                {"full sum of a permuted [2,64,56,56]", {2, 64, 56, 56}, {}, kSumOrder, 2},
                {"linear bias grad [32,1000] dim 0", {32, 1000}, {0}, kExact},
                {"global average pool [2,2048,7,7] dims 2,3", {2, 2048, 7, 7}, {2, 3}, kExact}});
  }

  // Awkward: extents that are not multiples of 32 or 256, size-1 dimensions, a reduced extent of 1, a
  // transposed view reduced along its strided and its contiguous dimension, two reduced dimensions that
  // do not merge, and a single element.
  TEST_CASE("cuda sum: awkward shapes and views equal the CPU (odd extents, size-1 dims, transposes)") {
    check_sums({{"[3,1,5,7] dims 0,2,3", {3, 1, 5, 7}, {0, 2, 3}, kExact},
                {"[3,1,5,7] dim 1 (extent 1)", {3, 1, 5, 7}, {1}, kExact},
                {"[5,37,3] transposed, dim 1", {5, 37, 3}, {1}, kExact, 1},
                {"[67,300] transposed, dim 0 (contiguous in memory)", {67, 300}, {0}, kSumOrder, 1},
                {"[67,300] transposed, dim 1 (strided)", {67, 300}, {1}, kExact, 1},
                {"[3,4,70] dims 0,2 (two reduced dims)", {3, 4, 70}, {0, 2}, kExact},
                {"[5,3,301] dims 0,2 (two reduced dims, a block each)", {5, 3, 301}, {0, 2}, kSumOrder},
                {"[9999] all (two split blocks, the second short)", {9999}, {}, kSumOrder},
                {"[1] all", {1}, {}, kExact}});
  }

  // Model-sized: argmax over 1000 classes at batch 32 (a block per row), a max over the 64 channels of a
  // [1, 64, 56, 56] activation (a thread per output; batch 1 keeps the emulated backward scatter short) and a
  // whole-tensor max (one block striding over 100003). Values are 0..3, so every row has ties; NaNs sit in
  // some rows, at index 0 in some of them.
  TEST_CASE("cuda max: values, first index among ties, NaN wins, backward scatter ([32,1000], [1,64,56,56], [100003])") {
    check_max({{"[32,1000] dim 1", {32, 1000}, 1},
               {"[32,1000] dim 1 with NaNs", {32, 1000}, 1, 2000, 3001},
               {"[1,64,56,56] dim 1", {1, 64, 56, 56}, 1},
               {"[1,64,56,56] dim 1 with NaNs", {1, 64, 56, 56}, 1, 0, 3135},
               {"[100003] dim 0 (whole tensor)", {100003}, 0},
               {"[100003] dim 0 with two NaNs", {100003}, 0, 50001, 30000}});
  }

  // Awkward: D = 1, odd short rows (a thread each), an odd long D that is not innermost with few outputs (a
  // block striding by inner), and a D just past one block's 256 threads.
  TEST_CASE("cuda max: awkward shapes (D = 1, [5,131,3], [5,301,3] and [7,257] dim 1 with NaNs)") {
    check_max({{"[3,1,5] dim 1 (D = 1)", {3, 1, 5}, 1},
               {"[5,131,3] dim 1 with NaNs", {5, 131, 3}, 1, 7, 400},
               {"[5,301,3] dim 1", {5, 301, 3}, 1},
               {"[5,301,3] dim 1 with NaNs", {5, 301, 3}, 1, 7, 1000},
               {"[7,257] dim 1 with NaNs", {7, 257}, 1, 256, 270},
               {"[7,257] dim 0", {7, 257}, 0}});
  }
}

}  // namespace nn::test
