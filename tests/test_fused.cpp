// Inference fusion (layers/fused.h): a model that went through fuse_for_inference gives the logits of an
// identical model that did not, with the same parameter and buffer names and tensors; it runs conv ->
// batch norm -> ReLU as one convolution only where it may (eval mode, nothing needing a gradient), and is
// visible as such in the profiler (the batch norm and ReLU rows get no calls of their own).
#include <cmath>

#include "kernels/conv2d.h"
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/fused.h"
#include "layers/pool2d.h"
#include "layers/profile.h"
#include "layers/summary.h"
#include "models/network.h"
#include "tensor/autograd.h"
#include "tests/check.h"
#include "tests/support.h"

namespace nn::test {

namespace {

int64_t calls(const LayerProfiler& profiler, const std::string& name) {
  for (const LayerProfiler::Row& r : profiler.rows())
    if (r.name == name) return r.calls;
  NN_FAIL("no profile row {}", name);
}

// Copies every parameter and buffer of `from` into `to` (same architecture).
void copy_state(const Module& from, Module& to) {
  NoGradGuard no_grad;
  const auto src = from.state_dict();
  auto dst = to.state_dict();
  REQUIRE(src.size() == dst.size());
  for (size_t i = 0; i < src.size(); ++i) dst[i].second.copy_(src[i].second);
}

// Eval-mode logits of a fused model and of an identical unfused one, and the profiler's call counts of each.
void compare(const std::string& arch, const std::vector<std::string>& fused_away, const std::vector<std::string>& kept) {
  CAPTURE(arch);
  auto model = make_model(arch, {.num_classes = 5, .seed = 11}), plain = make_model(arch, {.num_classes = 5, .seed = 11});
  fuse_for_inference(*model);
  model->eval();
  plain->eval();
  // Non-trivial running statistics and affine parameters, so the folded scale and shift matter; written
  // into the fused model after the pass, as loading weights would.
  Generator gen(12);
  {
    NoGradGuard no_grad;
    for (auto& [name, t] : model->state_dict()) {
      if (name.find("running_var") != std::string::npos) t.copy_(add(rand(t.shape(), gen), 0.5));
      if (name.find("running_mean") != std::string::npos) t.copy_(mul(randn(t.shape(), gen), 0.2));
    }
    for (auto& [name, t] : model->named_parameters())
      if (name.find("bn") != std::string::npos || name.find("downsample.1") != std::string::npos)
        t.copy_(add(mul(randn(t.shape(), gen), 0.3), name.find("weight") != std::string::npos ? 1.0 : 0.0));
  }
  copy_state(*model, *plain);
  const Tensor x = randn({3, 3, 64, 64}, gen);
  NoGradGuard no_grad;
  LayerProfiler profiler(*model, x.shape()), plain_profiler(*plain, x.shape());
  profiler.start();
  const Tensor fused = (*model)(x);
  profiler.stop();
  plain_profiler.start();
  const Tensor unfused = (*plain)(x);
  plain_profiler.stop();
  check_close(arch + " logits", fused, unfused, Tol{1e-4, 1e-4});
  for (const std::string& name : fused_away) {
    CAPTURE(name);
    CHECK(calls(profiler, name) == 0);
    CHECK(calls(plain_profiler, name) >= 1);  // without the pass nothing fuses
  }
  for (const std::string& name : kept) {
    CAPTURE(name);
    CHECK(calls(profiler, name) >= 1);
  }
}

// Conv+bn+relu, conv+relu (VGG's features), a pool, and conv+bn, with non-trivial statistics.
std::shared_ptr<Sequential> small_net() {
  Generator gen(15);
  auto net = std::make_shared<Sequential>();
  net->emplace<Conv2d>(3, 6, Pair(3), Conv2dOptions{.padding = 1}, true, gen)
      .emplace<BatchNorm2d>(6)
      .emplace<ReLU>()
      .emplace<Conv2d>(6, 5, Pair(3), Conv2dOptions{.stride = 2}, true, gen)
      .emplace<ReLU>()
      .emplace<MaxPool2d>(MaxPool2dOptions{.kernel_size = 2})
      .emplace<Conv2d>(5, 4, Pair(1), Conv2dOptions{}, false, gen)
      .emplace<BatchNorm2d>(4);
  net->eval();
  NoGradGuard no_grad;
  for (auto& [name, t] : net->state_dict())
    if (name.find("running_var") != std::string::npos) t.copy_(add(rand(t.shape(), gen), 0.5));
    else if (name.find("running_mean") != std::string::npos || name.find(".bias") != std::string::npos)
      t.copy_(mul(randn(t.shape(), gen), 0.3));
  return net;
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
    auto net = small_net(), plain = small_net();
    fuse_for_inference(*net);
    Generator gen(16);
    const Tensor x = randn({2, 3, 20, 20}, gen);
    NoGradGuard no_grad;
    LayerProfiler profiler(*net, x.shape());
    profiler.start();
    const Tensor fused = (*net)(x);
    profiler.stop();
    check_close("sequential", fused, (*plain)(x), Tol{1e-5, 1e-5});
    for (const char* name : {"1", "2", "4", "7"}) {
      CAPTURE(name);
      CHECK(calls(profiler, name) == 0);
    }
    for (const char* name : {"0", "3", "5", "6"}) {
      CAPTURE(name);
      CHECK(calls(profiler, name) == 1);
    }
    // Replacing a child that runs inside a fused module fuses the runs again, with the new child.
    for (Sequential* s : {net.get(), plain.get()}) {
      Generator g3(18);
      s->replace(3, std::make_shared<Conv2d>(6, 5, Pair(3), Conv2dOptions{.stride = 2}, true, g3));
      s->eval();
    }
    LayerProfiler after(*net, x.shape());  // a profiler indexes the modules it is given
    after.start();
    const Tensor replaced = (*net)(x);
    after.stop();
    check_close("sequential after replace", replaced, (*plain)(x), Tol{1e-5, 1e-5});
    CHECK(calls(after, "3") == 1);
    CHECK(calls(after, "4") == 0);
  }

  TEST_CASE("fusion: the pass keeps every name and tensor (state dict, loading, summaries)") {
    auto check = [](Module& model, const Shape& input) {
      const auto params = model.named_parameters(), state = model.state_dict();
      const auto modules = model.named_modules();
      const Summary before = summarize(model, input);
      fuse_for_inference(model);
      fuse_for_inference(model);  // a second pass changes nothing
      const auto params_after = model.named_parameters(), state_after = model.state_dict();
      REQUIRE(params_after.size() == params.size());
      REQUIRE(state_after.size() == state.size());
      for (size_t i = 0; i < state.size(); ++i) {
        CAPTURE(state[i].first);
        CHECK(state_after[i].first == state[i].first);
        CHECK(state_after[i].second.impl() == state[i].second.impl());  // the same tensor, not a copy
      }
      for (size_t i = 0; i < params.size(); ++i) {
        CAPTURE(params[i].first);
        CHECK(params_after[i].first == params[i].first);
        CHECK(params_after[i].second.impl() == params[i].second.impl());
      }
      const auto modules_after = model.named_modules();
      REQUIRE(modules_after.size() == modules.size());
      for (size_t i = 0; i < modules.size(); ++i) {
        CHECK(modules_after[i].first == modules[i].first);
        CHECK(modules_after[i].second == modules[i].second);
      }
      const Summary after = summarize(model, input);  // the modules' rows, none for the fused ones
      REQUIRE(after.rows.size() == before.rows.size());
      for (size_t i = 0; i < before.rows.size(); ++i) {
        CAPTURE(before.rows[i].name);
        CHECK(after.rows[i].name == before.rows[i].name);
        CHECK(after.rows[i].flops == before.rows[i].flops);
      }
      CHECK(after.params == before.params);
    };
    check(*make_model("resnet50", {.num_classes = 4, .seed = 19}), {1, 3, 32, 32});
    check(*small_net(), {1, 3, 20, 20});
  }

  // A ResNet block adds the shortcut and applies its last ReLU as one op (add_relu) unless a hook targets
  // that ReLU: then the module runs, the hook sees both of its calls, and the logits are the same.
  TEST_CASE("fusion: a hook on a block's ReLU runs the module after the residual addition") {
    auto model = make_model("resnet18", {.num_classes = 3, .seed = 15});
    Generator gen(16);
    const Tensor x = randn({2, 3, 32, 32}, gen);
    const Tensor want = (*model)(x);
    const Module* relu = nullptr;
    for (const auto& [name, m] : model->named_modules())
      if (name == "layer1.0.relu") relu = m;
    REQUIRE(relu);
    int seen = 0;
    Tensor got;
    {
      const ForwardHook hook(*relu, [&](const Tensor& y) {
        ++seen;
        return y;
      });
      got = (*model)(x);
    }
    CHECK(seen == 2);  // after bn1, and after the addition
    check_close("logits with the hook", got, want, Tol{0, 0});
  }

  TEST_CASE("fusion: not in training, and not when a parameter needs a gradient") {
    auto model = make_model("resnet18", {.num_classes = 3, .seed = 13}), plain = make_model("resnet18", {.num_classes = 3, .seed = 13});
    fuse_for_inference(*model);
    Generator gen(14);
    const Tensor x = randn({2, 3, 32, 32}, gen);
    model->eval();  // eval-mode batch norm, but grad mode on and parameters trainable: the graph is needed
    plain->eval();
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
    model->unfreeze("");
    model->train();
    plain->train();
    profiler.reset();
    profiler.start();
    const Tensor trained = (*model)(x);
    profiler.stop();
    CHECK(calls(profiler, "layer1.0.bn1") == 1);  // training batch norm: batch statistics, never folded
    // ... but bn1 -> relu runs as one op (batch_norm_relu): the block's ReLU is called once, after the sum.
    CHECK(calls(profiler, "layer1.0.relu") == 1);
    CHECK(calls(profiler, "relu") == 0);  // the stem's
    // The same kernels in the same order as the unfused model: logits and gradients are bitwise equal.
    const Tensor want = (*plain)(x);
    check_close("training logits", trained, want, Tol{0, 0});
    sum(trained).backward();
    sum(want).backward();
    const auto g = model->named_parameters(), gw = plain->named_parameters();
    for (size_t i = 0; i < g.size(); ++i) check_close(g[i].first + ".grad", g[i].second.grad(), gw[i].second.grad(), Tol{0, 0});
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
