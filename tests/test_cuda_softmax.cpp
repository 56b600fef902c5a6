// CUDA softmax and log_softmax (kernels/cuda/softmax.cu) against the CPU kernels: the forward through the
// ops on CUDA tensors, the backward through the kernel entry points (fed the CPU's y, so it is checked on its
// own), for both teams: a warp per row (contiguous rows of 64 or more) and a thread per row.
#include "kernels/softmax.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

// A warp adds a row's double terms in lane order, the CPU in index order: the double sums differ far below a
// float ulp, so a float result differs by at most one rounding of the final double (softmax y, the backward
// sum s), or by one ulp of log(sum) plus the rounding of the subtraction (log_softmax y = x - m - shift,
// |y| >= shift): two ulps, 2^-22 relative. In the backward, one ulp of s moves dx = y (dy - s) by
// |y| 2^-23 |s| with |s| <= max|dy|, which matters only against the cancellation in dy - s: the atol term,
// relative to rms(dx). On a GPU, CUDA's exp (1 double ulp) and expf (2 float ulps) differ from glibc's in
// the last bits too; on the emulator a thread per row adds in the CPU's order with the same libm: exact.
constexpr Tol kTwoUlps{2.4e-7, 2.4e-7};
constexpr Tol kExact{0, 0};

struct SoftmaxCase {
  const char* what;
  Shape shape;
  int64_t dim;
  bool warp_per_row;  // contiguous rows (the last dimension) of 64 or more
  double lo = -4, hi = 4;
};

void check_softmax(const std::vector<SoftmaxCase>& cases) {
  uint64_t seed = 41;
  for (const SoftmaxCase& k : cases) {
    const Tol tol = k.warp_per_row || !emu::active() ? kTwoUlps : kExact;
    const Tensor x = test_input(k.shape, seed++, k.lo, k.hi, DType::f32);
    const Tensor dy = test_input(k.shape, seed++, -1, 1, DType::f32);
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < k.dim; ++d) outer *= k.shape[d];
    for (int d = k.dim + 1; d < k.shape.size(); ++d) inner *= k.shape[d];
    const int64_t D = k.shape[k.dim];
    for (const SoftmaxKind kind : {SoftmaxKind::softmax, SoftmaxKind::log_softmax}) {
      const bool log = kind == SoftmaxKind::log_softmax;
      const Tensor y = log ? log_softmax(x, k.dim) : softmax(x, k.dim);
      const Tensor dx = empty(k.shape);
      softmax_backward_cpu<float>(kind, dx.data<float>(), dy.data<float>(), y.data<float>(), outer, D, inner);
      const Tensor cx = to_cuda(x), cy = to_cuda(y), cdy = to_cuda(dy);
      for_each_schedule([&] {
        INFO(k.what, log ? " log_softmax" : " softmax");
        check_close("y", to_cpu(log ? log_softmax(cx, k.dim) : softmax(cx, k.dim)), y, tol);
        const Tensor cdx = empty(k.shape, DType::f32, Device::cuda());
        softmax_backward_cuda(kind, cdx.data<float>(), cdy.data<float>(), cy.data<float>(), outer, D, inner);
        check_close("dx", to_cpu(cdx), dx, tol);
      });
    }
  }
}

}  // namespace

TEST_SUITE("cuda") {
  // Model-sized: ImageNet logits at batch 32 (a warp per row), a 7-class classifier at batch 32 (a thread per
  // row), and softmax over the 21 channels of a [2, 21, 28, 28] segmentation map (a thread per pixel).
  TEST_CASE("cuda softmax: model-sized rows equal the CPU ([32,1000], [32,7], [2,21,28,28] dim 1)") {
    check_softmax({{"[32,1000] dim 1", {32, 1000}, 1, true},
                   {"[32,7] dim 1", {32, 7}, 1, false},
                   {"[2,21,28,28] dim 1", {2, 21, 28, 28}, 1, false}});
  }

  // Awkward: D = 1, the shortest warp rows (64) and an odd 97 over fewer rows than a block has warps, a
  // middle dimension with inner 7, a row of one thread's worth, and large logits (the max shift matters).
  TEST_CASE("cuda softmax: awkward shapes equal the CPU (D = 1, [5,97], [3,5,1,7] dim 1, large logits)") {
    check_softmax({{"[3,1] dim 1 (D = 1)", {3, 1}, 1, false},
                   {"[4,64] dim 1", {4, 64}, 1, true},
                   {"[5,97] dim 1", {5, 97}, 1, true},
                   {"[3,5,1,7] dim 1", {3, 5, 1, 7}, 1, false},
                   {"[63] dim 0", {63}, 0, false},
                   {"[3,200] dim 1, logits in [-80, 80]", {3, 200}, 1, true, -80, 80}});
  }
}

}  // namespace nn::test
