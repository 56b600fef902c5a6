// conv2d: known answer, gradcheck, PyTorch parity, and the fast kernels against the reference loops.
#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_blocked.h"
#include "kernels/cpu/conv2d_depthwise.h"
#include "kernels/cpu/conv2d_wgrad.h"
#include "kernels/cpu/isa.h"
#include "tests/check.h"
#include "tests/support.h"

namespace nn::test {

namespace {

Conv2dOptions conv_options(const nlohmann::json& p) {
  Conv2dOptions o;
  o.stride = Pair(p["stride"][0], p["stride"][1]);
  o.padding = Pair(p["padding"][0], p["padding"][1]);
  o.dilation = Pair(p["dilation"][0], p["dilation"][1]);
  o.groups = p.value("groups", 1);
  return o;
}

}  // namespace

TEST_SUITE("known") {
  // x 1x1x3x5 = 1..15, w 1x1x2x3 = [[1, 0, -1], [2, 1, 0]], bias 0.5, stride 2, padding 1: P = 2, Q = 3.
  // Worked by hand in docs/testing.md; dy = 1 everywhere for the gradients.
  TEST_CASE("conv2d: 2x3 kernel, stride 2, padding 1 on a 3x5 image") {
    std::vector<float> xs(15);
    for (int i = 0; i < 15; ++i) xs[i] = static_cast<float>(i + 1);
    Tensor x = leaf(from_vector(xs, {1, 1, 3, 5}));
    Tensor w = leaf(from_vector<float>({1, 0, -1, 2, 1, 0}, {1, 1, 2, 3}));
    Tensor b = leaf(from_vector<float>({0.5f}, {1}));
    Tensor y = conv2d(x, w, b, {.stride = 2, .padding = 1});
    CHECK(y.shape() == Shape{1, 1, 2, 3});
    check_values("y", y, {1.5, 7.5, 13.5, 4.5, 35.5, 52.5});
    y.backward(ones_like(y));
    check_values("db", b.grad(), {6});
    check_values("dw", w.grad(), {16, 24, 16, 32, 48, 32});
    check_values("dx", x.grad(), {1, 2, 1, 2, 1, 0, 0, 0, 0, 0, 1, 2, 1, 2, 1});
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("conv2d: stride (2,1), padding 1, dilation (1,2), 2x3 kernel, bias") {
    gradcheck("conv2d",
              [](const std::vector<Tensor>& in) {
                return conv2d(in[0], in[1], in[2], {.stride = {2, 1}, .padding = 1, .dilation = {1, 2}});
              },
              {test_input({2, 2, 5, 4}, 1), test_input({3, 2, 2, 3}, 2), test_input({3}, 3)});
  }
  TEST_CASE("conv2d: groups 2, stride (1,2), bias") {
    gradcheck("conv2d grouped",
              [](const std::vector<Tensor>& in) {
                return conv2d(in[0], in[1], in[2], {.stride = {1, 2}, .padding = 1, .groups = 2});
              },
              {test_input({2, 4, 5, 5}, 11), test_input({6, 2, 3, 3}, 12), test_input({6}, 13)});
  }
  TEST_CASE("conv2d: depthwise, multiplier 2, stride 2, dilation 2, bias") {
    gradcheck("conv2d depthwise",
              [](const std::vector<Tensor>& in) {
                return conv2d(in[0], in[1], in[2], {.stride = 2, .padding = 2, .dilation = 2, .groups = 3});
              },
              {test_input({2, 3, 7, 6}, 14), test_input({6, 1, 3, 3}, 15), test_input({6}, 16)});
  }
  TEST_CASE("conv2d: 1x1, stride 2, no bias") {
    gradcheck("conv2d 1x1", [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], {}, {.stride = 2}); },
              {test_input({2, 3, 5, 3}, 4), test_input({2, 3, 1, 1}, 5)});
  }
}

TEST_SUITE("errors") {
  TEST_CASE("conv2d: groups that do not divide the channels, or a weight of the wrong width") {
    const Tensor x = zeros({1, 6, 5, 5});
    CHECK_THROWS_WITH_AS(conv2d(x, zeros({4, 2, 3, 3}), {}, {.groups = 4}),
                         doctest::Contains("groups=4 must divide the input channels (6"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, zeros({6, 3, 3, 3}), {}, {.groups = 3}),
                         doctest::Contains("with groups=3 expects 9"), Error);
    CHECK_THROWS_WITH_AS(conv2d(x, zeros({6, 1, 3, 3}), {}, {.groups = 0}), doctest::Contains("groups=0 must be positive"),
                         Error);
  }
}

TEST_SUITE("torch") {
  TEST_CASE("conv2d: forward and gradients match PyTorch") {
    check_torch_weighted("conv2d", "", [](const TorchCase& c, const Tensor& x, const Tensor& w, const Tensor& b) {
      return conv2d(x, w, b, conv_options(c.params));
    });
  }
}

TEST_SUITE("kernels") {
  // Grouped (G = 2, 3: per-group gathers around the dense path) and depthwise (G = C: the direct kernels)
  // against the reference loops: multipliers 1 and 2; 3x3 and 5x5; stride 1 and 2, dilation 2; padding
  // wider than the filter reach and none; rows narrower than the filter (no interior); and the depthwise
  // forward with a batch-norm/ReLU epilogue.
  TEST_CASE_TEMPLATE("conv2d: grouped and depthwise fast paths equal the reference", T, float, double) {
    // Both builds of the depthwise loops: the baseline ISA's and, where the CPU has them, AVX2 + FMA's.
    std::vector<DepthwiseIsa> isas{DepthwiseIsa::baseline};
    if (depthwise_avx2_supported()) isas.push_back(DepthwiseIsa::avx2);
    else MESSAGE("this CPU has no AVX2 + FMA: only the baseline build of the depthwise kernels runs");
    for (const DepthwiseIsa isa : isas) {
      CAPTURE(isa == DepthwiseIsa::avx2 ? "avx2" : "baseline");
      force_depthwise_isa(isa);
      auto spec = [](int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t stride,
                     int64_t pad, int64_t dil, int64_t G) {
        return ConvSpec{N, C, H, W, K, R, S, stride, stride, pad, pad, dil, dil, G};
      };
      const ConvSpec shapes[] = {spec(3, 6, 9, 7, 9, 3, 3, 1, 1, 1, 3),    spec(2, 4, 8, 11, 6, 2, 3, 2, 1, 1, 2),
                                 spec(2, 6, 7, 5, 4, 1, 1, 1, 0, 1, 2),    spec(3, 5, 12, 13, 5, 3, 3, 1, 1, 1, 5),
                                 spec(2, 4, 17, 16, 4, 5, 5, 2, 2, 1, 4),  spec(2, 3, 9, 8, 6, 3, 3, 1, 2, 2, 3),
                                 spec(2, 4, 11, 10, 8, 3, 3, 2, 1, 1, 4),  spec(1, 3, 4, 3, 3, 5, 5, 1, 3, 1, 3),
                                 spec(2, 2, 6, 9, 2, 3, 3, 1, 0, 1, 2),    spec(2, 8, 30, 29, 8, 5, 5, 1, 2, 1, 8)};
      const Tol tol = std::is_same_v<T, float> ? Tol{1e-5, 1e-5} : Tol{1e-12, 1e-12};
      uint64_t seed = 300;
      for (const ConvSpec& s : shapes) {
        const Conv2dParams p = conv_params(s);
        const DType dt = dtype_of<T>;
        const std::string what = fmt::format("N{} C{} {}x{} K{} {}x{} s{} pad{} dil{} G{}", p.N, p.C, p.H, p.W, p.K, p.R,
                                             p.S, p.stride_h, p.pad_h, p.dil_h, p.G);
        Tensor x = test_input({p.N, p.C, p.H, p.W}, seed++, -1, 1, dt), w = test_input({p.K, p.C / p.G, p.R, p.S}, seed++, -1, 1, dt);
        Tensor b = test_input({p.K}, seed++, -1, 1, dt), dy = test_input({p.N, p.K, p.P, p.Q}, seed++, -1, 1, dt);
        Tensor y0 = empty(dy.shape(), dt), dx0 = empty(x.shape(), dt), dw0 = empty(w.shape(), dt), db0 = empty(b.shape(), dt);
        conv2d_forward_reference_cpu<T>(y0.data<T>(), x.data<T>(), w.data<T>(), b.data<T>(), p);
        conv2d_backward_data_reference_cpu<T>(dx0.data<T>(), dy.data<T>(), w.data<T>(), p);
        conv2d_backward_weight_reference_cpu<T>(dw0.data<T>(), db0.data<T>(), dy.data<T>(), x.data<T>(), p);
        Tensor y = full(dy.shape(), 99, dt), dx = full(x.shape(), 99, dt), dw = full(w.shape(), 99, dt),
               db = full(b.shape(), 99, dt);
        conv2d_forward_cpu<T>(y.data<T>(), x.data<T>(), w.data<T>(), b.data<T>(), p);
        conv2d_backward_data_cpu<T>(dx.data<T>(), dy.data<T>(), w.data<T>(), p);
        conv2d_backward_weight_cpu<T>(dw.data<T>(), db.data<T>(), dy.data<T>(), x.data<T>(), p);
        check_close(what + " y", y, y0, tol);
        check_close(what + " dx", dx, dx0, tol);
        check_close(what + " dw", dw, dw0, tol);
        check_close(what + " db", db, db0, tol);
        // Only the weight gradient, only the bias gradient.
        Tensor dw1 = full(w.shape(), 99, dt), db1 = full(b.shape(), 99, dt);
        conv2d_backward_weight_cpu<T>(dw1.data<T>(), nullptr, dy.data<T>(), x.data<T>(), p);
        conv2d_backward_weight_cpu<T>(nullptr, db1.data<T>(), dy.data<T>(), x.data<T>(), p);
        check_close(what + " dw alone", dw1, dw0, tol);
        check_close(what + " db alone", db1, db0, tol);
        // Epilogue: y * scale + shift, then ReLU, against the same on the reference output.
        const Tensor scale = test_input({p.K}, seed++, 0.5, 2, dt), shift = test_input({p.K}, seed++, -1, 1, dt);
        Tensor ye = full(dy.shape(), 99, dt), y_plain = empty(dy.shape(), dt);
        conv2d_forward_reference_cpu<T>(y_plain.data<T>(), x.data<T>(), w.data<T>(), nullptr, p);
        const ConvEpilogue<T> ep{scale.data<T>(), shift.data<T>(), true};
        conv2d_forward_cpu<T>(ye.data<T>(), x.data<T>(), w.data<T>(), ep, p);
        const Tensor want = relu(add(mul(y_plain, scale.reshape({1, p.K, 1, 1})), shift.reshape({1, p.K, 1, 1})));
        check_close(what + " epilogue", ye, want, tol);
      }
      force_depthwise_isa(DepthwiseIsa::automatic);
    }
  }

  // The channel-blocked direct forward (kernels/cpu/conv2d_blocked.h), plain loops on blocks of 8 and 16,
  // the AVX2 kernel (nChw8c) and the AVX-512 kernel (nChw16c) where the CPU has them, through the reorders,
  // against the reference loops: the awkward shapes of the next test (dilated, asymmetric, unpadded, padding
  // wider than the filter, stride 2) and channel counts that leave partial blocks (C 19, K 21 with blocks of
  // 8: a pair of output blocks and a single one; K 40 and 33 with 16: a pair and a partial single), rows
  // whose length (Q 3 to 26) leaves every remainder of the 6-pixel (AVX2) and 12-pixel (AVX-512) tiles,
  // with and without bias.
  TEST_CASE("conv2d: blocked direct forward equals the reference") {
    const ConvSpec shapes[] = {{5, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1}, {5, 4, 8, 11, 3, 2, 3, 2, 1, 0, 1, 1, 2},
                               {5, 6, 7, 5, 5, 1, 1, 2, 2, 0, 0, 1, 1}, {4, 2, 13, 10, 3, 5, 5, 2, 3, 2, 2, 1, 1},
                               {3, 4, 9, 8, 5, 3, 3, 1, 1, 2, 2, 2, 2}, {3, 4, 9, 8, 5, 2, 3, 1, 1, 0, 1, 1, 1},
                               {3, 2, 6, 7, 3, 1, 3, 1, 1, 0, 3, 1, 1}, {2, 19, 9, 17, 21, 3, 3, 1, 1, 1, 1, 1, 1},
                               {2, 16, 7, 13, 32, 3, 3, 2, 2, 1, 1, 1, 1}, {1, 8, 5, 10, 8, 1, 1, 1, 1, 0, 0, 1, 1},
                               {2, 19, 5, 23, 40, 3, 3, 1, 1, 1, 1, 1, 1}, {1, 17, 4, 13, 16, 1, 1, 1, 1, 0, 0, 1, 1},
                               {1, 9, 3, 26, 17, 3, 3, 1, 1, 1, 1, 1, 1},  {1, 6, 4, 18, 24, 3, 3, 1, 1, 1, 1, 1, 1},
                               {1, 5, 3, 24, 33, 1, 1, 1, 1, 0, 0, 1, 1}};
    using blocked::Kernel;
    std::vector<std::pair<Kernel, int64_t>> kernels = {{Kernel::plain, 8}, {Kernel::plain, 16}};
    if (cpu_has(CpuIsa::avx2)) kernels.push_back({Kernel::avx2, 8});
    else MESSAGE("this CPU has no AVX2 + FMA: the AVX2 blocked kernel is not tested here");
    if (cpu_has(CpuIsa::avx512)) kernels.push_back({Kernel::avx512, 16});
    else MESSAGE("this CPU has no AVX-512F: the AVX-512 blocked kernel is not tested here");
    uint64_t seed = 700;
    for (const ConvSpec& s : shapes)
      for (const bool with_bias : {true, false}) {
        const Conv2dParams p = conv_params(s);
        Tensor x = test_input({p.N, p.C, p.H, p.W}, seed++, -1, 1, DType::f32);
        Tensor w = test_input({p.K, p.C, p.R, p.S}, seed++, -1, 1, DType::f32), b = test_input({p.K}, seed++, -1, 1, DType::f32);
        const float* bias = with_bias ? b.data<float>() : nullptr;
        Tensor want = empty({p.N, p.K, p.P, p.Q}, DType::f32);
        conv2d_forward_reference_cpu<float>(want.data<float>(), x.data<float>(), w.data<float>(), bias, p);
        for (const auto& [kernel, block] : kernels) {
          const std::string what = fmt::format("{} kernel, blocks of {}, N{} C{} {}x{} K{} {}x{} s{} pad{} dil{}{}",
                                               blocked::kernel_name(kernel), block, p.N, p.C, p.H, p.W, p.K, p.R, p.S,
                                               p.stride_h, p.pad_h, p.dil_h, with_bias ? "" : " no bias");
          std::vector<float> xb(blocked::input_size(p, block)), wb(blocked::weight_size(p, block));
          std::vector<float> yb(blocked::output_size(p, block), 99);
          blocked::reorder_input(x.data<float>(), p, block, xb.data());
          blocked::reorder_weight(w.data<float>(), p, block, wb.data());
          blocked::forward(yb.data(), xb.data(), wb.data(), bias, p, block, kernel);
          Tensor got = full({p.N, p.K, p.P, p.Q}, 99, DType::f32);
          blocked::reorder_output(yb.data(), p, block, got.data<float>());
          check_close(what, got, want, Tol{1e-5, 1e-5});
        }
      }
  }

  // The blocked forward as conv2d_forward_cpu runs it when chosen (per-image reorders): with a bias, with a
  // batch-norm/ReLU and a SiLU epilogue applied on the way back to NCHW, and as the flipped-filter backward
  // data of a stride-1 convolution; and the automatic choice picks it for VGG's conv1_2 shape only.
  TEST_CASE("conv2d: the blocked algorithm inside the CPU fast path equals the reference") {
    Conv2dCpuTuning blocked_tuning;
    blocked_tuning.algorithm = Conv2dCpuTuning::Algorithm::blocked_direct;
    blocked_tuning.backward_data = Conv2dCpuTuning::BackwardData::flipped_forward;
    const Conv2dParams p = conv_params({3, 19, 9, 13, 21, 3, 3, 1, 1, 1, 1, 1, 1});
    Tensor x = test_input({p.N, p.C, p.H, p.W}, 800, -1, 1, DType::f32), w = test_input({p.K, p.C, p.R, p.S}, 801, -1, 1, DType::f32);
    Tensor b = test_input({p.K}, 802, -1, 1, DType::f32), dy = test_input({p.N, p.K, p.P, p.Q}, 803, -1, 1, DType::f32);
    Tensor scale = test_input({p.K}, 804, 0.5, 1.5, DType::f32), shift = test_input({p.K}, 805, -1, 1, DType::f32);
    Tensor want = empty(dy.shape(), DType::f32), got = full(dy.shape(), 99, DType::f32);
    conv2d_forward_reference_cpu<float>(want.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), p);
    conv2d_forward_cpu<float>(got.data<float>(), x.data<float>(), w.data<float>(), b.data<float>(), p, blocked_tuning);
    check_close("blocked forward with bias", got, want, Tol{1e-5, 1e-5});
    conv2d_forward_reference_cpu<float>(want.data<float>(), x.data<float>(), w.data<float>(), nullptr, p);
    for (const bool relu : {true, false}) {
      const ConvEpilogue<float> ep{scale.data<float>(), shift.data<float>(), relu, !relu};
      conv2d_forward_cpu<float>(got.data<float>(), x.data<float>(), w.data<float>(), ep, p, blocked_tuning);
      const std::vector<float> v = want.to_vector<float>(), a = scale.to_vector<float>(), c = shift.to_vector<float>();
      std::vector<float> e(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        const size_t k = i / (p.P * p.Q) % p.K;
        const double t = static_cast<double>(v[i]) * a[k] + c[k];
        e[i] = static_cast<float>(relu ? std::max(t, 0.0) : t / (1 + std::exp(-t)));
      }
      check_close(relu ? "blocked forward, BN + ReLU epilogue" : "blocked forward, BN + SiLU epilogue", got,
                  from_vector(e, dy.shape()), Tol{1e-5, 1e-5});
    }
    Tensor dx_want = empty(x.shape(), DType::f32), dx = full(x.shape(), 99, DType::f32);
    conv2d_backward_data_reference_cpu<float>(dx_want.data<float>(), dy.data<float>(), w.data<float>(), p);
    conv2d_backward_data_cpu<float>(dx.data<float>(), dy.data<float>(), w.data<float>(), p, blocked_tuning);
    check_close("blocked flipped-filter backward data", dx, dx_want, Tol{1e-5, 1e-5});
    // VGG's conv1_2 wherever a vector kernel runs; ResNet's 3x3 layers at 56x56 and VGG's conv2_2 only with
    // AVX-512; never the 3-channel first layer, a 1x1, or VGG's conv5 (512 channels at 14x14).
    const blocked::Kernel best = blocked::best_kernel();
    CHECK(blocked::blocked_forward_is_faster(conv_params({8, 64, 224, 224, 64, 3, 3, 1, 1, 1, 1, 1, 1})) ==
          (best != blocked::Kernel::plain));
    CHECK(blocked::blocked_forward_is_faster(conv_params({8, 128, 112, 112, 128, 3, 3, 1, 1, 1, 1, 1, 1})) ==
          (best == blocked::Kernel::avx512));
    CHECK(blocked::blocked_forward_is_faster(conv_params({8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1})) ==
          (best == blocked::Kernel::avx512));
    CHECK_FALSE(blocked::blocked_forward_is_faster(conv_params({8, 3, 224, 224, 64, 3, 3, 1, 1, 1, 1, 1, 1})));
    CHECK_FALSE(blocked::blocked_forward_is_faster(conv_params({8, 256, 56, 56, 64, 1, 1, 1, 1, 0, 0, 1, 1})));
    CHECK_FALSE(blocked::blocked_forward_is_faster(conv_params({8, 512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 1, 1})));
  }

  // The direct weight gradient (kernels/cpu/conv2d_wgrad.h), every vector kernel this CPU runs, against the
  // reference loops: channel counts leaving every tile remainder (AVX-512 4 x 6, AVX2 3 x 4), planes with a
  // partial last vector, several images per segment and several segments per image, asymmetric filters and
  // padding, dilation; and through conv2d_backward_weight_cpu, where it must not take what it does not apply to.
  TEST_CASE("conv2d: the direct weight gradient equals the reference") {
    const ConvSpec shapes[] = {{2, 13, 9, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1},   {3, 7, 24, 25, 5, 3, 3, 1, 1, 1, 1, 1, 1},
                               {2, 5, 6, 6, 6, 5, 3, 1, 1, 2, 1, 1, 1},    {2, 4, 10, 9, 3, 3, 3, 1, 1, 2, 2, 2, 2},
                               {1, 3, 72, 70, 2, 3, 3, 1, 1, 1, 1, 1, 1},  {2, 1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, 1},
                               {2, 11, 4, 4, 10, 1, 3, 1, 1, 0, 1, 1, 1},  {9, 6, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1}};
    std::vector<wgrad::Kernel> kernels;
    if (cpu_has(CpuIsa::avx2)) kernels.push_back(wgrad::Kernel::avx2);
    if (cpu_has(CpuIsa::avx512)) kernels.push_back(wgrad::Kernel::avx512);
    if (kernels.empty()) MESSAGE("no AVX2 on this CPU: the direct weight gradient has no kernel to test");
    uint64_t seed = 900;
    for (const ConvSpec& s : shapes) {
      const Conv2dParams p = conv_params(s);
      REQUIRE(wgrad::applies(p));
      Tensor x = test_input({p.N, p.C, p.H, p.W}, seed++, -1, 1, DType::f32);
      Tensor dy = test_input({p.N, p.K, p.P, p.Q}, seed++, -1, 1, DType::f32);
      Tensor want = empty({p.K, p.C, p.R, p.S}, DType::f32);
      conv2d_backward_weight_reference_cpu<float>(want.data<float>(), nullptr, dy.data<float>(), x.data<float>(), p);
      for (const wgrad::Kernel k : kernels) {
        Tensor got = full(want.shape(), 99, DType::f32);
        wgrad::backward_weight(got.data<float>(), dy.data<float>(), x.data<float>(), p, k);
        check_close(fmt::format("{} N{} C{} {}x{} K{} {}x{} pad {},{} dil {}", wgrad::kernel_name(k), p.N, p.C, p.H,
                                p.W, p.K, p.R, p.S, p.pad_h, p.pad_w, p.dil_h),
                    got, want, Tol{1e-5, 1e-5});
      }
      if (kernels.empty()) continue;
      Conv2dCpuTuning direct;
      direct.weight_grad = Conv2dCpuTuning::WeightGrad::direct;
      Tensor got = full(want.shape(), 99, DType::f32), db = full({p.K}, 99, DType::f32), db_want = empty({p.K}, DType::f32);
      conv2d_cpu_trace() = {};
      conv2d_backward_weight_cpu<float>(got.data<float>(), db.data<float>(), dy.data<float>(), x.data<float>(), p, direct);
      CHECK(std::string(conv2d_cpu_trace().backward_weight) == "direct, pixels in lanes");
      conv2d_backward_weight_reference_cpu<float>(want.data<float>(), db_want.data<float>(), dy.data<float>(),
                                                  x.data<float>(), p);
      check_close("conv2d_backward_weight_cpu, direct", got, want, Tol{1e-5, 1e-5});
      check_close("conv2d_backward_weight_cpu, direct: bias gradient", db, db_want, Tol{1e-5, 1e-5});
    }
    // Outside its scope (stride 2, a 1x1, an unpadded 3x3, groups) it is not taken even when asked for.
    for (const ConvSpec& s : {ConvSpec{2, 4, 8, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1}, ConvSpec{2, 4, 8, 8, 4, 1, 1},
                              ConvSpec{2, 4, 8, 8, 4, 3, 3}, ConvSpec{2, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2}}) {
      const Conv2dParams p = conv_params(s);
      CHECK_FALSE(wgrad::applies(p));
      Conv2dCpuTuning direct;
      direct.weight_grad = Conv2dCpuTuning::WeightGrad::direct;
      Tensor x = test_input({p.N, p.C, p.H, p.W}, seed++, -1, 1, DType::f32);
      Tensor dy = test_input({p.N, p.K, p.P, p.Q}, seed++, -1, 1, DType::f32);
      Tensor want = empty({p.K, p.C / p.G, p.R, p.S}, DType::f32), got = full(want.shape(), 99, DType::f32);
      conv2d_backward_weight_reference_cpu<float>(want.data<float>(), nullptr, dy.data<float>(), x.data<float>(), p);
      conv2d_backward_weight_cpu<float>(got.data<float>(), nullptr, dy.data<float>(), x.data<float>(), p, direct);
      check_close(fmt::format("outside the direct kernel's scope: {}x{} stride {} groups {}", p.R, p.S, p.stride_h, p.G),
                  got, want, Tol{1e-5, 1e-5});
    }
    // The automatic choice: ResNet's 64-channel 3x3 layers at 56x56 with AVX-512 only; never 128 channels.
    CHECK(wgrad::is_faster(conv_params({8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1})) == cpu_has(CpuIsa::avx512));
    CHECK_FALSE(wgrad::is_faster(conv_params({8, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1})));
  }

  // The im2col+GEMM path against the direct loops, for one image per GEMM (direct writes; for 1x1 the
  // input itself is the column matrix), two and three (gather/scatter, a ragged last group), and auto;
  // each with the input gradient of stride-1 convs by columns + col2im and as a flipped-filter forward conv,
  // and with one image per GEMM split into bands of 2 output rows, images in order or spread over the
  // threads (with 2+ threads; the weight gradient then sums per-thread partials).
  TEST_CASE_TEMPLATE("conv2d: fast path equals the reference for every grouping", T, float, double) {
    const ConvSpec shapes[] = {{5, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1}, {5, 4, 8, 11, 3, 2, 3, 2, 1, 0, 1, 1, 2},
                               {5, 6, 7, 5, 5, 1, 1, 1, 1, 0, 0, 1, 1}, {5, 6, 7, 5, 5, 1, 1, 2, 2, 0, 0, 1, 1},
                               {4, 2, 13, 10, 3, 5, 5, 2, 3, 2, 2, 1, 1},
                               // stride 1: dilated, asymmetric, unpadded; padding wider than the filter reach
                               // (no flipped-forward form); 28x30 outputs, where auto picks one image per GEMM
                               {3, 4, 9, 8, 5, 3, 3, 1, 1, 2, 2, 2, 2}, {3, 4, 9, 8, 5, 2, 3, 1, 1, 0, 1, 1, 1},
                               {3, 4, 9, 8, 5, 3, 3, 1, 1, 0, 0, 1, 1}, {3, 2, 6, 7, 3, 1, 3, 1, 1, 0, 3, 1, 1},
                               {2, 3, 28, 30, 4, 3, 3, 1, 1, 1, 1, 1, 1}};
    const Tol tol = std::is_same_v<T, float> ? Tol{1e-5, 1e-5} : Tol{1e-12, 1e-12};
    uint64_t seed = 10;
    for (const ConvSpec& s : shapes) {
      const Conv2dParams p = conv_params(s);
      const DType dt = dtype_of<T>;
      Tensor x = test_input({p.N, p.C, p.H, p.W}, seed++, -1, 1, dt), w = test_input({p.K, p.C, p.R, p.S}, seed++, -1, 1, dt);
      Tensor b = test_input({p.K}, seed++, -1, 1, dt), dy = test_input({p.N, p.K, p.P, p.Q}, seed++, -1, 1, dt);
      Tensor y0 = empty(dy.shape(), dt), dx0 = empty(x.shape(), dt), dw0 = empty(w.shape(), dt), db0 = empty(b.shape(), dt);
      conv2d_forward_reference_cpu<T>(y0.data<T>(), x.data<T>(), w.data<T>(), b.data<T>(), p);
      conv2d_backward_data_reference_cpu<T>(dx0.data<T>(), dy.data<T>(), w.data<T>(), p);
      conv2d_backward_weight_reference_cpu<T>(dw0.data<T>(), db0.data<T>(), dy.data<T>(), x.data<T>(), p);
      for (int64_t variant = 0; variant < 32; ++variant) {
        const int64_t group = variant % 4;
        const int by_forward = variant / 4 % 2;          // backward data: columns + col2im, or flipped forward conv
        const int64_t rows = variant / 8 % 2 == 0 ? 0 : 2;  // one image per GEMM: all rows, or bands of 2 (ragged)
        const int spread = variant / 16;                  // one image per GEMM: in order, or spread over threads
        const std::string what = fmt::format("N{} C{} {}x{} K{} {}x{} s{},{} group {} bwd-data {} rows {} {}", p.N,
                                             p.C, p.H, p.W, p.K, p.R, p.S, p.stride_h, p.stride_w, group,
                                             by_forward ? "as forward" : "columns", rows,
                                             spread ? "images over threads" : "images in order");
        Conv2dCpuTuning tuning;
        tuning.images_per_gemm = group;
        tuning.backward_data = by_forward ? Conv2dCpuTuning::BackwardData::flipped_forward
                                          : Conv2dCpuTuning::BackwardData::columns;
        tuning.rows_per_gemm = rows;
        tuning.image_spread = spread ? Conv2dCpuTuning::ImageSpread::spread : Conv2dCpuTuning::ImageSpread::in_order;
        Tensor y = full(dy.shape(), 99, dt), dx = full(x.shape(), 99, dt), dw = full(w.shape(), 99, dt),
               db = full(b.shape(), 99, dt);
        conv2d_forward_cpu<T>(y.data<T>(), x.data<T>(), w.data<T>(), b.data<T>(), p, tuning);
        conv2d_backward_data_cpu<T>(dx.data<T>(), dy.data<T>(), w.data<T>(), p, tuning);
        conv2d_backward_weight_cpu<T>(dw.data<T>(), db.data<T>(), dy.data<T>(), x.data<T>(), p, tuning);
        check_close(what + " y", y, y0, tol);
        check_close(what + " dx", dx, dx0, tol);
        check_close(what + " dw", dw, dw0, tol);
        check_close(what + " db", db, db0, tol);
      }
    }
  }
}

}  // namespace nn::test
