// CUDA batch norm (kernels/cuda/batch_norm.cu) against the CPU kernels: training and eval, forward and
// backward, affine and not, with every optional output left out once. The CUDA kernels sum and evaluate in
// double like the CPU ones, so they agree to float rounding (tolerance 1e-6, tighter than the tier's 1e-5).
#include "kernels/batch_norm.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

constexpr Tol kTol{1e-6, 1e-6};

struct BnCase {
  int64_t N, C, H, W;
  bool affine;
  double x_lo = -1, x_hi = 1;    // input range: a large offset tests the shifted sums
  double dy_lo = -1, dy_hi = 1;  // a non-zero mean(dy) tests the cancellation in dx
};

float* ptr(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }
Tensor cpu_empty(const Shape& s) { return empty(s, DType::f32); }
Tensor cuda_empty(const Shape& s) { return empty(s, DType::f32, Device::cuda()); }
Tensor cuda_or_none(const Tensor& t) { return t.defined() ? to_cuda(t) : Tensor(); }

// all_variants: also the backward calls with optional outputs left out (the awkward shapes run them; the
// model-sized ones skip them to keep the emulated case short).
void check_batch_norm(const BnCase& k, uint64_t seed, bool all_variants = true) {
  const Shape xs{k.N, k.C, k.H, k.W}, cs{k.C};
  const BatchNormParams p{.N = k.N, .C = k.C, .HW = k.H * k.W, .eps = 1e-5};
  const bool train = k.N * k.H * k.W > 1;  // the op refuses training on one value per channel
  const Tensor x = test_input(xs, seed, k.x_lo, k.x_hi, DType::f32);
  const Tensor dy = test_input(xs, seed + 1, k.dy_lo, k.dy_hi, DType::f32);
  const Tensor gamma = k.affine ? test_input(cs, seed + 2, 0.5, 1.5, DType::f32) : Tensor();
  const Tensor beta = k.affine ? test_input(cs, seed + 3, -1, 1, DType::f32) : Tensor();
  const Tensor rm = test_input(cs, seed + 4, k.x_lo, k.x_hi, DType::f32);
  const Tensor rv = test_input(cs, seed + 5, 0.5, 2, DType::f32);

  // Expected, from the CPU kernels.
  const Tensor y = cpu_empty(xs), mean = cpu_empty(cs), invstd = cpu_empty(cs), var = cpu_empty(cs);
  const Tensor dx = cpu_empty(xs), dgamma = cpu_empty(cs), dbeta = cpu_empty(cs);
  if (train) {
    batch_norm_forward_train_cpu<float>(ptr(y), ptr(mean), ptr(invstd), ptr(var), ptr(x), ptr(gamma), ptr(beta), p);
    batch_norm_backward_train_cpu<float>(ptr(dx), ptr(dgamma), ptr(dbeta), ptr(dy), ptr(x), ptr(invstd), ptr(gamma),
                                         p);
  }
  const Tensor ye = cpu_empty(xs), dxe = cpu_empty(xs), dgammae = cpu_empty(cs), dbetae = cpu_empty(cs);
  batch_norm_forward_eval_cpu<float>(ptr(ye), ptr(x), ptr(rm), ptr(rv), ptr(gamma), ptr(beta), p);
  batch_norm_backward_eval_cpu<float>(ptr(dxe), ptr(dgammae), ptr(dbetae), ptr(dy), ptr(x), ptr(rm), ptr(rv),
                                      ptr(gamma), p);

  const Tensor cx = to_cuda(x), cdy = to_cuda(dy), cgamma = cuda_or_none(gamma), cbeta = cuda_or_none(beta);
  const Tensor crm = to_cuda(rm), crv = to_cuda(rv);
  for_each_schedule([&] {
    if (train) {
      const Tensor gy = cuda_empty(xs), gmean = cuda_empty(cs), ginvstd = cuda_empty(cs), gvar = cuda_empty(cs);
      batch_norm_forward_train_cuda(ptr(gy), ptr(gmean), ptr(ginvstd), ptr(gvar), ptr(cx), ptr(cgamma), ptr(cbeta),
                                    p);
      check_close("train y", to_cpu(gy), y, kTol);
      check_close("train mean", to_cpu(gmean), mean, kTol);
      check_close("train var", to_cpu(gvar), var, kTol);
      check_close("train invstd", to_cpu(ginvstd), invstd, kTol);

      // The backward reads the CPU's invstd, so it is checked on its own.
      const Tensor cinvstd = to_cuda(invstd);
      const Tensor gdx = cuda_empty(xs), gdgamma = cuda_empty(cs), gdbeta = cuda_empty(cs);
      batch_norm_backward_train_cuda(ptr(gdx), ptr(gdgamma), ptr(gdbeta), ptr(cdy), ptr(cx), ptr(cinvstd),
                                     ptr(cgamma), p);
      check_close("train dx", to_cpu(gdx), dx, kTol);
      check_close("train dgamma", to_cpu(gdgamma), dgamma, kTol);
      check_close("train dbeta", to_cpu(gdbeta), dbeta, kTol);
      if (all_variants) {  // only the parameter gradients (a frozen input), then only dx (frozen parameters)
        const Tensor pdgamma = cuda_empty(cs), pdbeta = cuda_empty(cs), pdx = cuda_empty(xs);
        batch_norm_backward_train_cuda(nullptr, ptr(pdgamma), ptr(pdbeta), ptr(cdy), ptr(cx), ptr(cinvstd),
                                       ptr(cgamma), p);
        batch_norm_backward_train_cuda(ptr(pdx), nullptr, nullptr, ptr(cdy), ptr(cx), ptr(cinvstd), ptr(cgamma), p);
        check_close("train dgamma without dx", to_cpu(pdgamma), dgamma, kTol);
        check_close("train dbeta without dx", to_cpu(pdbeta), dbeta, kTol);
        check_close("train dx alone", to_cpu(pdx), dx, kTol);
      }
    }
    const Tensor gye = cuda_empty(xs);
    batch_norm_forward_eval_cuda(ptr(gye), ptr(cx), ptr(crm), ptr(crv), ptr(cgamma), ptr(cbeta), p);
    check_close("eval y", to_cpu(gye), ye, kTol);
    const Tensor gdxe = cuda_empty(xs), gdgammae = cuda_empty(cs), gdbetae = cuda_empty(cs);
    batch_norm_backward_eval_cuda(ptr(gdxe), ptr(gdgammae), ptr(gdbetae), ptr(cdy), ptr(cx), ptr(crm), ptr(crv),
                                  ptr(cgamma), p);
    check_close("eval dx", to_cpu(gdxe), dxe, kTol);
    check_close("eval dgamma", to_cpu(gdgammae), dgammae, kTol);
    check_close("eval dbeta", to_cpu(gdbetae), dbetae, kTol);
    if (!all_variants) return;
    // A frozen weight: x is not saved (null) and only dx and dbeta are wanted.
    const Tensor fdx = cuda_empty(xs), fdbeta = cuda_empty(cs);
    batch_norm_backward_eval_cuda(ptr(fdx), nullptr, ptr(fdbeta), ptr(cdy), nullptr, ptr(crm), ptr(crv), ptr(cgamma),
                                  p);
    check_close("eval dx, frozen weight", to_cpu(fdx), dxe, kTol);
    check_close("eval dbeta, frozen weight", to_cpu(fdbeta), dbetae, kTol);
  });
}

}  // namespace

TEST_SUITE("cuda") {
  // Model-sized: ResNet-50's layer1 batch norm (C = 64) at batch 2 with the spatial size reduced from 56x56 to
  // 28x28 (the emulator runs every CUDA thread as a fiber; 28x28 keeps the case near a few seconds), and the
  // last stage's 512 channels at 7x7. M = 1568 and 98 values per channel: one split per channel, 256 and 32
  // threads per block.
  TEST_CASE("cuda batch_norm: ResNet-50 layer1, 64 channels, 28x28 (of 56x56), batch 2") {
    check_batch_norm({.N = 2, .C = 64, .H = 28, .W = 28, .affine = true}, 1, false);
  }
  TEST_CASE("cuda batch_norm: ResNet-50 layer4, 512 channels, 7x7, batch 2") {
    check_batch_norm({.N = 2, .C = 512, .H = 7, .W = 7, .affine = true, .dy_lo = -0.5, .dy_hi = 1}, 2, false);
  }

  // Awkward: 3 channels of odd spatial size split over 2 and 6 blocks per channel (M = 4551, 21775 >
  // 4096-value chunks, the last chunk partial); mean 100, std ~0.3 and a mean(dy) of 1 (the cancellations the
  // CPU's double evaluation exists for); no affine; [N, C] (HW = 1); one value per channel (eval only).
  TEST_CASE("cuda batch_norm: split channels, large mean, no affine, HW = 1, N*H*W = 1") {
    check_batch_norm({.N = 3, .C = 3, .H = 37, .W = 41, .affine = true, .x_lo = 99.5, .x_hi = 100.5,
                      .dy_lo = 0, .dy_hi = 2}, 3);
    check_batch_norm({.N = 5, .C = 2, .H = 65, .W = 67, .affine = false}, 4);
    check_batch_norm({.N = 33, .C = 17, .H = 1, .W = 1, .affine = true}, 5);
    check_batch_norm({.N = 1, .C = 65, .H = 1, .W = 1, .affine = false}, 6);
    check_batch_norm({.N = 1, .C = 3, .H = 1, .W = 2, .affine = false, .x_lo = -3, .x_hi = 3}, 7);
  }
}

}  // namespace nn::test
