// Inference fusion (layers/fused.h): conv -> batch norm -> ReLU as one convolution with an epilogue gives
// the unfused result, runs only where it may (eval mode, nothing needing a gradient), and is visible as
// such in the profiler (the batch norm and ReLU rows get no calls of their own).
#include <cmath>

#include "kernels/conv2d.h"
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/fused.h"
#include "layers/pool2d.h"
#include "layers/profile.h"
#include "models/network.h"
#include "tensor/autograd.h"
#include "tests/check.h"
#include "tests/support.h"

namespace nn::test {

namespace {

struct FusionOff {
  FusionOff() { set_inference_fusion(false); }
  ~FusionOff() { set_inference_fusion(true); }
};

int64_t calls(const LayerProfiler& profiler, const std::string& name) {
  for (const LayerProfiler::Row& r : profiler.rows())
    if (r.name == name) return r.calls;
  NN_FAIL("no profile row {}", name);
}

// Eval-mode logits with fusion on and off, and the profiler's call counts of the fused run.
void compare(const std::string& arch, const std::vector<std::string>& fused_away, const std::vector<std::string>& kept) {
  CAPTURE(arch);
  auto model = make_model(arch, {.num_classes = 5, .seed = 11});
  model->eval();
  // Non-trivial running statistics and affine parameters, so the folded scale and shift matter.
  Generator gen(12);
  for (auto& [name, t] : model->state_dict()) {
    if (name.find("running_var") != std::string::npos) t.copy_(add(rand(t.shape(), gen), 0.5));
    if (name.find("running_mean") != std::string::npos) t.copy_(mul(randn(t.shape(), gen), 0.2));
  }
  {
    NoGradGuard no_grad;
    for (auto& [name, t] : model->named_parameters())
      if (name.find("bn") != std::string::npos || name.find("downsample.1") != std::string::npos)
        t.copy_(add(mul(randn(t.shape(), gen), 0.3), name.find("weight") != std::string::npos ? 1.0 : 0.0));
  }
  const Tensor x = randn({3, 3, 64, 64}, gen);
  NoGradGuard no_grad;
  LayerProfiler profiler(*model, x.shape());
  profiler.start();
  const Tensor fused = (*model)(x);
  profiler.stop();
  Tensor plain;
  {
    FusionOff off;
    plain = (*model)(x);
  }
  check_close(arch + " logits", fused, plain, Tol{1e-4, 1e-4});
  for (const std::string& name : fused_away) {
    CAPTURE(name);
    CHECK(calls(profiler, name) == 0);
  }
  for (const std::string& name : kept) {
    CAPTURE(name);
    CHECK(calls(profiler, name) >= 1);
  }
}

}  // namespace

TEST_SUITE("model") {
  TEST_CASE("fusion: conv -> batch norm -> ReLU in one pass gives the unfused logits (ResNet, VGG)") {
    // ResNet-18: the stem, both convs of a block and a downsample's batch norm fold into their convs;
    // the block's final ReLU (after the residual addition) still runs.
    compare("resnet18", {"bn1", "layer1.0.bn1", "layer1.0.bn2", "layer2.0.downsample.1"},
            {"conv1", "layer1.0.conv1", "layer2.0.downsample.0", "layer1.0.relu", "maxpool"});
    compare("resnet50", {"layer1.0.bn3", "layer3.2.bn2"}, {"layer1.0.conv3", "layer1.0.relu"});
  }

  TEST_CASE("fusion: Sequential fuses conv+bn+relu, conv+relu (VGG's features) and conv+bn runs") {
    Generator gen(15);
    Sequential net;
    net.emplace<Conv2d>(3, 6, Pair(3), Conv2dOptions{.padding = 1}, true, gen)
        .emplace<BatchNorm2d>(6)
        .emplace<ReLU>()
        .emplace<Conv2d>(6, 5, Pair(3), Conv2dOptions{.stride = 2}, true, gen)
        .emplace<ReLU>()
        .emplace<MaxPool2d>(MaxPool2dOptions{.kernel_size = 2})
        .emplace<Conv2d>(5, 4, Pair(1), Conv2dOptions{}, false, gen)
        .emplace<BatchNorm2d>(4);
    net.eval();
    {
      NoGradGuard no_grad;
      for (auto& [name, t] : net.state_dict())
        if (name.find("running_var") != std::string::npos) t.copy_(add(rand(t.shape(), gen), 0.5));
        else if (name.find("running_mean") != std::string::npos || name.find(".bias") != std::string::npos)
          t.copy_(mul(randn(t.shape(), gen), 0.3));
    }
    const Tensor x = randn({2, 3, 20, 20}, gen);
    NoGradGuard no_grad;
    LayerProfiler profiler(net, x.shape());
    profiler.start();
    const Tensor fused = net(x);
    profiler.stop();
    Tensor plain;
    {
      FusionOff off;
      plain = net(x);
    }
    check_close("sequential", fused, plain, Tol{1e-5, 1e-5});
    for (const char* name : {"1", "2", "4", "7"}) {
      CAPTURE(name);
      CHECK(calls(profiler, name) == 0);
    }
    for (const char* name : {"0", "3", "5", "6"}) {
      CAPTURE(name);
      CHECK(calls(profiler, name) == 1);
    }
  }

  TEST_CASE("fusion: not in training, and not when a parameter needs a gradient") {
    auto model = make_model("resnet18", {.num_classes = 3, .seed = 13});
    Generator gen(14);
    const Tensor x = randn({2, 3, 32, 32}, gen);
    model->eval();  // eval-mode batch norm, but grad mode on and parameters trainable: the graph is needed
    LayerProfiler profiler(*model, x.shape());
    profiler.start();
    const Tensor y = (*model)(x);
    profiler.stop();
    CHECK(calls(profiler, "layer1.0.bn1") == 1);
    CHECK(y.requires_grad());
    model->freeze("");  // frozen and eval: nothing needs a gradient, so it fuses even with grad mode on
    profiler.reset();
    profiler.start();
    (void)(*model)(x);
    profiler.stop();
    CHECK(calls(profiler, "layer1.0.bn1") == 0);
    model->train();
    profiler.reset();
    profiler.start();
    (void)(*model)(x);
    profiler.stop();
    CHECK(calls(profiler, "layer1.0.bn1") == 1);  // training batch norm: batch statistics, never fused
  }
}

TEST_SUITE("kernels") {
  TEST_CASE_TEMPLATE("conv2d epilogue: scale, shift and ReLU in the output pass equal separate loops", T, float, double) {
    for (int64_t group : {0, 1, 2}) {
      const Conv2dParams p = conv_params({3, 4, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1});  // P = 9, Q = 8
      const Conv2dCpuTuning tuning{.images_per_gemm = group};
      CAPTURE(group);
      const DType dt = dtype_of<T>;
      const Tensor x = test_input({p.N, p.C, p.H, p.W}, 21, -1, 1, dt), w = test_input({p.K, p.C, p.R, p.S}, 22, -1, 1, dt);
      const Tensor scale = test_input({p.K}, 23, -2, 2, dt), shift = test_input({p.K}, 24, -1, 1, dt);
      Tensor y = empty({p.N, p.K, p.P, p.Q}, dt), want = empty({p.N, p.K, p.P, p.Q}, dt);
      conv2d_forward_reference_cpu<T>(want.data<T>(), x.data<T>(), w.data<T>(), nullptr, p);
      T* v = want.data<T>();
      for (int64_t i = 0; i < want.numel(); ++i) {
        const int64_t k = i / (p.P * p.Q) % p.K;
        const T t = v[i] * scale.data<T>()[k] + shift.data<T>()[k];
        v[i] = t < T(0) ? T(0) : t;
      }
      conv2d_forward_cpu<T>(y.data<T>(), x.data<T>(), w.data<T>(), ConvEpilogue<T>{scale.data<T>(), shift.data<T>(), true}, p,
                            tuning);
      check_close("epilogue", y, want, std::is_same_v<T, float> ? Tol{1e-5, 1e-5} : Tol{1e-12, 1e-12});
    }
  }
}

}  // namespace nn::test
