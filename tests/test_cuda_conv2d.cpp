// CUDA conv2d and pooling kernels (kernels/cuda/conv2d.cu, conv2d_depthwise.cu, pool2d.cu) against the CPU
// kernels: the "cuda" tier (tests/cuda_check.h). Every case runs under each thread order of the emulator.
// Grouped convolutions (1 < G < C) run the implicit-GEMM kernels with one grid layer per group; depthwise
// ones (G = C) their own direct kernels; both against the same reference loops.
//
// conv2d is compared with the direct reference loops (conv2d_*_reference_cpu, accumulating in double), so
// the only difference is the float32 summation order of the GPU's tiled GEMM: rms-relative 1e-5 (the
// reductions here are 21..3136 terms long). Pooling is compared with the CPU kernels at the elementwise
// float32 tolerance; max pooling's values, argmax and gradient must be identical.
//
// Emulator cost: every CUDA thread is a fiber and the emulated GEMMs run at about 10^8 multiply-adds per
// second, so the "model-sized" shapes keep the real layer's channels and filter shape but a reduced batch
// and image (noted per case), which keeps each case near a second over the five thread orders.
#include <fmt/format.h>

#include "kernels/conv2d.h"
#include "kernels/pool2d.h"
#include "tests/check.h"
#include "tests/cuda_check.h"
#include "tests/support.h"

namespace nn::test {

namespace {

struct ConvCase {
  ConvSpec spec;
  bool bias;
  bool partial_outputs = false;  // also backward weight with dw only and with dbias only
};

Tensor cuda_empty(const Shape& shape, DType dtype = DType::f32) { return empty(shape, dtype, Device::cuda()); }

// Forward, backward data and backward weight (dw and dbias together; with partial_outputs also each alone)
// on the GPU against the reference loops.
void check_conv2d(const ConvCase& s, uint64_t seed) {
  const Conv2dParams p = conv_params(s.spec);
  const std::string what = fmt::format("conv2d N{} C{} {}x{} K{} {}x{} stride {},{} pad {},{} dil {},{} groups {}", p.N,
                                       p.C, p.H, p.W, p.K, p.R, p.S, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h,
                                       p.dil_w, p.G);
  Tensor x = test_input({p.N, p.C, p.H, p.W}, seed, -1, 1, DType::f32);
  Tensor w = test_input({p.K, p.C / p.G, p.R, p.S}, seed + 1, -1, 1, DType::f32);
  Tensor b = test_input({p.K}, seed + 2, -1, 1, DType::f32);
  Tensor dy = test_input({p.N, p.K, p.P, p.Q}, seed + 3, -1, 1, DType::f32);
  Tensor y0 = empty(dy.shape()), dx0 = empty(x.shape()), dw0 = empty(w.shape()), db0 = empty(b.shape());
  conv2d_forward_reference_cpu<float>(y0.data<float>(), x.data<float>(), w.data<float>(),
                                      s.bias ? b.data<float>() : nullptr, p);
  conv2d_backward_data_reference_cpu<float>(dx0.data<float>(), dy.data<float>(), w.data<float>(), p);
  conv2d_backward_weight_reference_cpu<float>(dw0.data<float>(), db0.data<float>(), dy.data<float>(),
                                              x.data<float>(), p);
  const Tensor xd = to_cuda(x), wd = to_cuda(w), bd = to_cuda(b), dyd = to_cuda(dy);
  const Tol tol{1e-5, 1e-5};
  for_each_schedule([&] {
    Tensor y = cuda_empty(dy.shape()), dx = cuda_empty(x.shape()), dw = cuda_empty(w.shape()),
           db = cuda_empty(b.shape());
    conv2d_forward_cuda(y.data<float>(), xd.data<float>(), wd.data<float>(), s.bias ? bd.data<float>() : nullptr, p);
    check_close(what + " y", to_cpu(y), y0, tol);
    conv2d_backward_data_cuda(dx.data<float>(), dyd.data<float>(), wd.data<float>(), p);
    check_close(what + " dx", to_cpu(dx), dx0, tol);
    conv2d_backward_weight_cuda(dw.data<float>(), db.data<float>(), dyd.data<float>(), xd.data<float>(), p);
    check_close(what + " dw", to_cpu(dw), dw0, tol);
    check_close(what + " db", to_cpu(db), db0, tol);
    if (!s.partial_outputs) return;
    Tensor dw_only = cuda_empty(w.shape()), db_only = cuda_empty(b.shape());
    conv2d_backward_weight_cuda(dw_only.data<float>(), nullptr, dyd.data<float>(), xd.data<float>(), p);
    check_close(what + " dw (no dbias)", to_cpu(dw_only), dw0, tol);
    conv2d_backward_weight_cuda(nullptr, db_only.data<float>(), dyd.data<float>(), xd.data<float>(), p);
    check_close(what + " db (no dw)", to_cpu(db_only), db0, tol);
  });
}

// Pooling params from sizes, window R x S, stride, padding and dilation per axis.
Pool2dParams pool_params(int64_t N, int64_t C, int64_t H, int64_t W, int64_t R, int64_t S, int64_t stride_h,
                         int64_t stride_w, int64_t pad_h, int64_t pad_w, int64_t dil_h, int64_t dil_w, bool ceil_mode) {
  Pool2dParams p;
  p.N = N, p.C = C, p.H = H, p.W = W, p.R = R, p.S = S;
  p.stride_h = stride_h, p.stride_w = stride_w, p.pad_h = pad_h, p.pad_w = pad_w, p.dil_h = dil_h, p.dil_w = dil_w;
  p.P = pool_output_size(H, R, stride_h, pad_h, dil_h, ceil_mode);
  p.Q = pool_output_size(W, S, stride_w, pad_w, dil_w, ceil_mode);
  return p;
}

std::string pool_name(const char* op, const Pool2dParams& p) {
  return fmt::format("{} N{} C{} {}x{} -> {}x{} k{}x{} s{},{} p{},{} d{},{}", op, p.N, p.C, p.H, p.W, p.P, p.Q, p.R,
                     p.S, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w);
}

// Max pooling: values, argmax and the gradient must equal the CPU's exactly (same comparisons, same
// summation order), so the tolerance is zero.
void check_max_pool(const Pool2dParams& p, uint64_t seed) {
  const std::string what = pool_name("max_pool2d", p);
  Tensor x = test_input({p.N, p.C, p.H, p.W}, seed, -1, 1, DType::f32);
  Tensor dy = test_input({p.N, p.C, p.P, p.Q}, seed + 1, -1, 1, DType::f32);
  Tensor y0 = empty(dy.shape()), idx0 = empty(dy.shape(), DType::i64), dx0 = empty(x.shape());
  max_pool2d_forward_cpu<float>(y0.data<float>(), idx0.data<int64_t>(), x.data<float>(), p);
  max_pool2d_backward_cpu<float>(dx0.data<float>(), dy.data<float>(), idx0.data<int64_t>(), p);
  const Tensor xd = to_cuda(x), dyd = to_cuda(dy);
  for_each_schedule([&] {
    Tensor y = cuda_empty(dy.shape()), idx = cuda_empty(dy.shape(), DType::i64), dx = cuda_empty(x.shape());
    max_pool2d_forward_cuda(y.data<float>(), idx.data<int64_t>(), xd.data<float>(), p);
    check_close(what + " y", to_cpu(y), y0, Tol{0, 0});
    CHECK_MESSAGE(to_cpu(idx).to_vector<int64_t>() == idx0.to_vector<int64_t>(), what, " argmax");
    max_pool2d_backward_cuda(dx.data<float>(), dyd.data<float>(), idx.data<int64_t>(), p);
    check_close(what + " dx", to_cpu(dx), dx0, Tol{0, 0});
  });
}

void check_avg_pool(const Pool2dParams& p, uint64_t seed) {
  const std::string what = pool_name(p.count_include_pad ? "avg_pool2d" : "avg_pool2d (pad not counted)", p);
  Tensor x = test_input({p.N, p.C, p.H, p.W}, seed, -1, 1, DType::f32);
  Tensor dy = test_input({p.N, p.C, p.P, p.Q}, seed + 1, -1, 1, DType::f32);
  Tensor y0 = empty(dy.shape()), dx0 = empty(x.shape());
  avg_pool2d_forward_cpu<float>(y0.data<float>(), x.data<float>(), p);
  avg_pool2d_backward_cpu<float>(dx0.data<float>(), dy.data<float>(), p);
  const Tensor xd = to_cuda(x), dyd = to_cuda(dy);
  for_each_schedule([&] {
    Tensor y = cuda_empty(dy.shape()), dx = cuda_empty(x.shape());
    avg_pool2d_forward_cuda(y.data<float>(), xd.data<float>(), p);
    check_close(what + " y", to_cpu(y), y0, kF32);
    avg_pool2d_backward_cuda(dx.data<float>(), dyd.data<float>(), p);
    check_close(what + " dx", to_cpu(dx), dx0, kF32);
  });
}

void check_adaptive_avg_pool(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q, uint64_t seed) {
  Pool2dParams p;
  p.N = N, p.C = C, p.H = H, p.W = W, p.P = P, p.Q = Q;
  const std::string what = fmt::format("adaptive_avg_pool2d N{} C{} {}x{} -> {}x{}", N, C, H, W, P, Q);
  Tensor x = test_input({N, C, H, W}, seed, -1, 1, DType::f32);
  Tensor dy = test_input({N, C, P, Q}, seed + 1, -1, 1, DType::f32);
  Tensor y0 = empty(dy.shape()), dx0 = empty(x.shape());
  adaptive_avg_pool2d_forward_cpu<float>(y0.data<float>(), x.data<float>(), p);
  adaptive_avg_pool2d_backward_cpu<float>(dx0.data<float>(), dy.data<float>(), p);
  const Tensor xd = to_cuda(x), dyd = to_cuda(dy);
  for_each_schedule([&] {
    Tensor y = cuda_empty(dy.shape()), dx = cuda_empty(x.shape());
    adaptive_avg_pool2d_forward_cuda(y.data<float>(), xd.data<float>(), p);
    check_close(what + " y", to_cpu(y), y0, kF32);
    adaptive_avg_pool2d_backward_cuda(dx.data<float>(), dyd.data<float>(), p);
    check_close(what + " dx", to_cpu(dx), dx0, kF32);
  });
}

}  // namespace

TEST_SUITE("cuda") {
  // The emulator runs these GEMMs at roughly 10^8 multiply-adds per second, so the model-sized cases keep
  // each layer's channels, filter, stride and padding but shrink batch and image to stay near 1 s for the
  // five thread orders.
  // ResNet-50 layer1 3x3 conv (64 -> 64, stride 1, pad 1) at batch 1 on 14x14 instead of 56x56. Backward
  // weight's N*P*Q = 196 reduction is split into 3 slices of 80 (the last 36 long, a partial 16-step).
  TEST_CASE("conv2d cuda: ResNet 3x3 stage conv, 64 -> 64, 14x14") {
    check_conv2d({{1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1}, true}, 100);
  }
  // ResNet stem (3 -> 64, 7x7, stride 2, pad 3) at batch 1 on an 11x11 image (224x224 in the model): P = 6,
  // C*R*S = 147. Backward data with C = 3 fills 3 of the 64 rows of a tile over a K*R*S = 3136 reduction, the
  // costliest case on the emulator (and wasteful on a GPU, docs/cuda.md), hence the small image.
  TEST_CASE("conv2d cuda: ResNet 7x7 stride-2 stem on an 11x11 image") {
    check_conv2d({{1, 3, 11, 11, 64, 7, 7, 2, 2, 3, 3, 1, 1}, false}, 200);
  }
  // ResNet-50 layer2.0.downsample (256 -> 512, 1x1, stride 2) with 128 filters at batch 1 on a 14x14 input
  // (56x56 in the model): the data gradient is zero at every odd row and column.
  TEST_CASE("conv2d cuda: ResNet 1x1 stride-2 downsample, 256 -> 128") {
    check_conv2d({{1, 256, 14, 14, 128, 1, 1, 2, 2, 0, 0, 1, 1}, false}, 300);
  }
  // Awkward: C = 3, K = 5, 13x11, a 3x2 filter, stride 2, pad 1, dilation (2, 1): every tile partial.
  TEST_CASE("conv2d cuda: awkward C3 K5 13x11, 3x2 filter, stride 2, pad 1, dilation 2x1") {
    check_conv2d({{2, 3, 13, 11, 5, 3, 2, 2, 2, 1, 1, 2, 1}, true, true}, 400);
  }
  // Awkward: K = 65 (a second, one-row filter tile), C = 17, batch 3, stride (1, 2), pad (2, 1), dilation
  // (1, 2), a 2x3 filter.
  TEST_CASE("conv2d cuda: awkward C17 K65 9x7, 2x3 filter, stride 1x2, pad 2x1, dilation 1x2") {
    check_conv2d({{3, 17, 9, 7, 65, 2, 3, 1, 2, 2, 1, 1, 2}, true, true}, 500);
  }

  // Grouped (implicit GEMM, blockIdx.z = group): G = 2 with 3 channels and 2 filters per group on 12x11,
  // 3x3, pad (1, 2): N*P*Q = 312, so backward weight splits into 4 slices (grid z = slices * G = 8).
  TEST_CASE("conv2d cuda: grouped G2, C6 K4 12x11, 3x3, pad 1x2, split backward weight") {
    check_conv2d({{2, 6, 12, 11, 4, 3, 3, 1, 1, 1, 2, 1, 1, 2}, true, true}, 900);
  }
  // G = 3, 3 channels and 2 filters per group, a 3x2 filter, stride (2, 1), pad (1, 0), dilation (1, 2), odd
  // sizes, no bias.
  TEST_CASE("conv2d cuda: grouped G3, C9 K6 11x10, 3x2 filter, stride 2x1, pad 1x0, dilation 1x2") {
    check_conv2d({{1, 9, 11, 10, 6, 3, 2, 2, 1, 1, 0, 1, 2, 3}, false, false}, 910);
  }
  // G = 2 with groups wider than a tile: 65 filters per group (two filter tiles, the second one row) and
  // 20 channels per group (C/G*R*S = 180: three weight-column tiles), 6x6.
  TEST_CASE("conv2d cuda: grouped G2, C40 K130 6x6, 3x3, several tiles per group") {
    check_conv2d({{1, 40, 6, 6, 130, 3, 3, 1, 1, 1, 1, 1, 1, 2}, true, false}, 920);
  }

  // Depthwise (G = C, kernels/cuda/conv2d_depthwise.cu). Model-sized: EfficientNet-B0's first depthwise
  // layer (32 channels, 3x3, stride 1, pad 1) at batch 1 on 14x14 instead of 112x112.
  TEST_CASE("conv2d cuda: depthwise EfficientNet 3x3, 32 channels, 14x14") {
    check_conv2d({{1, 32, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32}, true, false}, 1000);
  }
  // Depthwise awkward: multiplier 1 and 2, 3x3 and 5x5, strides 1 and 2, dilation 2, unequal padding and
  // odd sizes, with and without bias (and dw / dbias each alone).
  TEST_CASE("conv2d cuda: depthwise m1 C5 9x11, 3x3, stride 1, pad 1x0") {
    check_conv2d({{2, 5, 9, 11, 5, 3, 3, 1, 1, 1, 0, 1, 1, 5}, true, true}, 1010);
  }
  TEST_CASE("conv2d cuda: depthwise m2 C3 K6 13x10, 5x5, stride 2, pad 2x1") {
    check_conv2d({{2, 3, 13, 10, 6, 5, 5, 2, 2, 2, 1, 1, 1, 3}, false, true}, 1020);
  }
  TEST_CASE("conv2d cuda: depthwise m1 C4 10x9, 3x3, dilation 2, pad 2") {
    check_conv2d({{1, 4, 10, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 4}, true, false}, 1030);
  }
  TEST_CASE("conv2d cuda: depthwise m2 C3 K6 7x8, 3x3, stride 2x1, pad 1x0, dilation 1x2") {
    check_conv2d({{1, 3, 7, 8, 6, 3, 3, 2, 1, 1, 0, 1, 2, 3}, true, false}, 1040);
  }
  // N*P*Q = 4096 with only 18 taps (2 for dbias): backward weight and dbias split into 2 slices of 2048
  // and add them in a second launch.
  TEST_CASE("conv2d cuda: depthwise C2 64x64, 3x3, split backward weight and dbias") {
    check_conv2d({{1, 2, 64, 64, 2, 3, 3, 1, 1, 1, 1, 1, 1, 2}, true, false}, 1050);
  }

  // ResNet max pool (3x3, stride 2, pad 1) with 64 channels at batch 1 on 56x56 (112x112 in the model).
  TEST_CASE("max_pool2d cuda: ResNet 3x3 stride 2 pad 1, 64 channels, 56x56") {
    check_max_pool(pool_params(1, 64, 56, 56, 3, 3, 2, 2, 1, 1, 1, 1, false), 600);
  }
  // Awkward: 13x11, a 3x2 window, stride (2, 1), pad 1, dilation (1, 2), ceil_mode; and overlapping 3x3
  // stride-1 windows with ceil_mode on an odd size, and a 2x2 stride-2 ceil_mode window whose last row
  // hangs off the input.
  TEST_CASE("max_pool2d cuda: awkward windows, dilation and ceil_mode") {
    check_max_pool(pool_params(2, 3, 13, 11, 3, 2, 2, 1, 1, 1, 1, 2, true), 610);
    check_max_pool(pool_params(1, 5, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, true), 620);
    check_max_pool(pool_params(1, 3, 17, 33, 2, 2, 2, 2, 0, 0, 1, 1, true), 630);
  }

  // A 3x3 stride-2 pad-1 average (ResNet-D style downsample) with 64 channels, batch 2, 28x28.
  TEST_CASE("avg_pool2d cuda: 3x3 stride 2 pad 1, 64 channels, 28x28") {
    check_avg_pool(pool_params(2, 64, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, false), 700);
  }
  // Awkward: 13x11, a 3x2 window, stride (2, 3), pad 1, ceil_mode, with and without counting padding.
  TEST_CASE("avg_pool2d cuda: awkward window, ceil_mode, count_include_pad on and off") {
    Pool2dParams p = pool_params(2, 3, 13, 11, 3, 2, 2, 3, 1, 1, 1, 1, true);
    check_avg_pool(p, 710);
    p.count_include_pad = false;
    check_avg_pool(p, 720);
    Pool2dParams q = pool_params(1, 5, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, true);
    q.count_include_pad = false;
    check_avg_pool(q, 730);
  }

  // ResNet-50's global pool (2048 x 7x7 -> 1x1) at batch 2, and VGG's adaptive 7x7 from odd sizes:
  // shrinking (13x11), not shrinking (7x7 -> 7x7) and growing (5x3 -> 7x7, windows overlap).
  TEST_CASE("adaptive_avg_pool2d cuda: ResNet global pool to 1x1, VGG 7x7 from odd sizes") {
    check_adaptive_avg_pool(2, 2048, 7, 7, 1, 1, 800);
    check_adaptive_avg_pool(2, 64, 13, 11, 7, 7, 810);
    check_adaptive_avg_pool(1, 3, 7, 7, 7, 7, 820);
    check_adaptive_avg_pool(1, 3, 5, 3, 7, 7, 830);
    check_adaptive_avg_pool(2, 5, 17, 33, 3, 5, 840);
  }
}

}  // namespace nn::test
