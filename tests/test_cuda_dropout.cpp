// CUDA dropout (kernels/cuda/dropout.cu) against the CPU kernel: the mask must be the CPU's bit for bit
// (the same Philox words, keep threshold and scale), and so must y = x * mask.
#include "kernels/dropout.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

constexpr Tol kExact{0, 0};

}  // namespace

TEST_SUITE("cuda") {
  // Awkward: n = 1, 3 (one partial Philox group), 1003 (not a multiple of 4 or of the 256-thread block)
  // and 4100 (a partial second block of groups), with a non-zero Philox offset; p = 0.5 and 0.1.
  TEST_CASE("cuda dropout: mask and y equal the CPU bit for bit (n = 1, 3, 1003, 4100; p = 0.5, 0.1)") {
    for_each_schedule([&] {
      for (int64_t n : {1, 3, 1003, 4100})
        for (double p : {0.5, 0.1}) {
          INFO("n=", n, " p=", p);
          const uint64_t seed = 42, offset = 1000 + static_cast<uint64_t>(n);
          const Tensor x = test_input({n}, static_cast<uint64_t>(n), -1, 1, DType::f32), cx = to_cuda(x);
          Tensor y = empty({n}), mask = empty({n});
          dropout_forward_cpu<float>(y.data<float>(), mask.data<float>(), x.data<float>(), n, p, seed, offset);
          const Tensor cy = empty({n}, DType::f32, Device::cuda()), cmask = empty({n}, DType::f32, Device::cuda());
          dropout_forward_cuda(cy.data<float>(), cmask.data<float>(), cx.data<float>(), n, p, seed, offset);
          check_close("mask", to_cpu(cmask), mask, kExact);
          check_close("y", to_cpu(cy), y, kExact);
        }
    });
  }

  // Model-sized: dropout on a ResNet-18 activation [2, 64, 56, 56] through the op, from two generators
  // in the same state (after an earlier draw, so the offset is not 0); both must advance alike. The
  // gradient dx = dy * mask runs the elementwise kernel and must be exact too.
  TEST_CASE("cuda dropout: the op on [2,64,56,56] gives the CPU's y, mask and gradient, p = 0.5") {
    const Shape s{2, 64, 56, 56};
    const Tensor x = test_input(s, 5, -1, 1, DType::f32), dy = test_input(s, 6, -1, 1, DType::f32);
    Generator gen(7);
    gen.reserve(12345);
    Tensor lx = leaf(x);
    const Tensor y = dropout(lx, 0.5, true, gen);
    y.backward(dy);
    for_each_schedule([&] {
      Generator cgen(7);
      cgen.reserve(12345);
      Tensor clx = leaf(to_cuda(x));
      const Tensor cy = dropout(clx, 0.5, true, cgen);
      CHECK(cgen.offset() == gen.offset());
      check_close("y", to_cpu(cy), y, kExact);
      cy.backward(to_cuda(dy));
      check_close("dx", to_cpu(clx.grad()), lx.grad(), kExact);
    });
  }
}

}  // namespace nn::test
