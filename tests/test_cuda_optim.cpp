// CUDA optimiser updates (kernels/cuda/optim.cu) against the CPU loops (kernels/cpu/optim.cpp) for every
// option combination over three steps, the Optimizer on CUDA parameters against the same on CPU ones, and
// clip_grad_norm's sum of squares on CUDA gradients. The CUDA kernels perform the CPU's IEEE operations
// without FMA contraction, so the comparison is exact (tolerance 0).
#include "kernels/optim.h"
#include "tests/check.h"
#include "tests/cuda_check.h"
#include "train/optim/optim.h"

namespace nn::test {

namespace {

constexpr Tol kExact{0, 0};

float* ptr(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

// A CUDA copy of `t` that is a leaf requiring grad (leaf() would clone on the device, an elementwise kernel).
Tensor cuda_leaf(const Tensor& t) {
  Tensor c = to_cuda(t);
  c.requires_grad_();
  return c;
}

// A parameter, gradients for three steps and optimiser state, on the CPU and on CUDA.
struct Update {
  int64_t n;
  Tensor p, buf, m, v;     // CPU
  Tensor cp, cbuf, cm, cv; // CUDA
  std::vector<Tensor> grads, cgrads;

  Update(int64_t size, uint64_t seed) : n(size) {
    p = test_input({n}, seed, -1, 1, DType::f32);
    for (uint64_t k = 0; k < 3; ++k) grads.push_back(test_input({n}, seed + 1 + k, -0.5, 0.5, DType::f32));
    buf = empty({n}, DType::f32);
    m = empty({n}, DType::f32);
    v = empty({n}, DType::f32);
    cp = to_cuda(p);
    for (const Tensor& g : grads) cgrads.push_back(to_cuda(g));
    // Uninitialised (NaN on the emulator): step 1 must not read them.
    cbuf = empty({n}, DType::f32, Device::cuda());
    cm = empty({n}, DType::f32, Device::cuda());
    cv = empty({n}, DType::f32, Device::cuda());
  }
};

void check_sgd(SgdArgs a, int64_t n, uint64_t seed) {
  INFO("sgd momentum ", a.momentum, " dampening ", a.dampening, " nesterov ", a.nesterov, " weight_decay ",
       a.weight_decay, " n ", n);
  Update u(n, seed);
  const bool momentum = a.momentum != 0;
  for (int step = 0; step < 3; ++step) {
    a.first = step == 0;
    sgd_update_cpu<float>(ptr(u.p), momentum ? ptr(u.buf) : nullptr, ptr(u.grads[step]), n, a);
    sgd_update_cuda(ptr(u.cp), momentum ? ptr(u.cbuf) : nullptr, ptr(u.cgrads[step]), n, a);
    INFO("step ", step + 1);
    check_close("sgd param", to_cpu(u.cp), u.p, kExact);
    if (momentum) check_close("sgd momentum_buffer", to_cpu(u.cbuf), u.buf, kExact);
  }
}

void check_adam(AdamArgs a, int64_t n, uint64_t seed) {
  INFO((a.decoupled ? "adamw" : "adam"), " weight_decay ", a.weight_decay, " n ", n);
  Update u(n, seed);
  for (int step = 1; step <= 3; ++step) {
    a.step = step;
    adam_update_cpu<float>(ptr(u.p), ptr(u.m), ptr(u.v), ptr(u.grads[step - 1]), n, a);
    adam_update_cuda(ptr(u.cp), ptr(u.cm), ptr(u.cv), ptr(u.cgrads[step - 1]), n, a);
    INFO("step ", step);
    check_close("adam param", to_cpu(u.cp), u.p, kExact);
    check_close("adam exp_avg", to_cpu(u.cm), u.m, kExact);
    check_close("adam exp_avg_sq", to_cpu(u.cv), u.v, kExact);
  }
}

}  // namespace

TEST_SUITE("cuda") {
  // Every SGD option combination (momentum 0 / 0.9, dampening 0 / 0.3, nesterov, weight decay 0 / 5e-4; the
  // ones the optimiser accepts) and Adam / AdamW with and without weight decay, three steps each (the first
  // initialises the state without reading it), on an awkward size (4099 = 16 blocks of 256 + 3).
  TEST_CASE("cuda optim: SGD and Adam/AdamW updates equal the CPU's bit for bit, every option, 3 steps") {
    for_each_schedule([&] {
      uint64_t seed = 10;
      for (double wd : {0.0, 5e-4}) {
        check_sgd({.lr = 0.1, .weight_decay = wd, .momentum = 0}, 4099, seed++);
        for (double dampening : {0.0, 0.3})
          check_sgd({.lr = 0.1, .weight_decay = wd, .momentum = 0.9, .dampening = dampening}, 4099, seed++);
        check_sgd({.lr = 0.1, .weight_decay = wd, .momentum = 0.9, .nesterov = true}, 4099, seed++);
        for (bool decoupled : {false, true})
          check_adam({.lr = 1e-3, .weight_decay = wd == 0 ? 0.0 : 0.05, .decoupled = decoupled}, 4099, seed++);
      }
    });
  }

  // Model-sized: ResNet-50's layer1 3x3 convolution weight, 64 * 64 * 3 * 3 = 36864 elements; and one
  // element (a grid of one block, 255 idle threads).
  TEST_CASE("cuda optim: a 64x64x3x3 conv weight and a single element") {
    for_each_schedule([&] {
      check_sgd({.lr = 0.01, .weight_decay = 1e-4, .momentum = 0.9, .nesterov = true}, 64 * 64 * 9, 40);
      check_adam({.lr = 3e-4, .weight_decay = 0.01, .decoupled = true}, 64 * 64 * 9, 41);
      check_sgd({.lr = 0.5, .momentum = 0.5, .dampening = 0.5}, 1, 42);
      check_adam({.lr = 0.5, .weight_decay = 0.1}, 1, 43);
    });
  }

  // The Optimizer on CUDA parameters (two groups, one frozen parameter) against the same on the CPU: the
  // parameters and every state tensor after three steps, for SGD and AdamW.
  TEST_CASE("cuda optim: Optimizer::step on CUDA parameters equals the CPU optimiser") {
    for_each_schedule([&] {
      for (const char* type : {"sgd", "adamw"}) {
        INFO("optimizer ", type);
        const std::vector<Shape> shapes{{16, 3, 3, 3}, {16}, {10, 16}, {10}};
        std::vector<Tensor> cpu, cuda;
        for (size_t i = 0; i < shapes.size(); ++i) {
          cpu.push_back(leaf(test_input(shapes[i], 50 + i, -1, 1, DType::f32)));
          cuda.push_back(cuda_leaf(cpu.back()));
        }
        cpu[1].requires_grad_(false);  // frozen: no state, unchanged
        cuda[1].requires_grad_(false);
        auto groups = [](const std::vector<Tensor>& t) {
          return std::vector<ParamGroup>{
              {.name = "backbone", .params = {{"conv.weight", t[0]}, {"conv.bias", t[1]}}, .lr = 0.01,
               .weight_decay = 1e-4},
              {.name = "head", .params = {{"fc.weight", t[2]}, {"fc.bias", t[3]}}, .lr = 0.1}};
        };
        const OptimizerOptions o{.type = type, .momentum = 0.9, .nesterov = true};
        auto a = make_optimizer(o, groups(cpu)), b = make_optimizer(o, groups(cuda));
        const uint64_t launches = emu::launches();
        for (int step = 0; step < 3; ++step) {
          for (size_t i = 0; i < shapes.size(); ++i) {
            const Tensor g = test_input(shapes[i], 60 + 10 * step + i, -1, 1, DType::f32);
            cpu[i].set_grad(g);
            cuda[i].set_grad(to_cuda(g));
          }
          a->step();
          b->step();
        }
        const std::vector<std::string> names{"conv.weight", "conv.bias", "fc.weight", "fc.bias"};
        for (size_t i = 0; i < names.size(); ++i) {
          check_close(names[i], to_cpu(cuda[i]), cpu[i], kExact);
          for (const char* key : {"momentum_buffer", "exp_avg", "exp_avg_sq"}) {
            const Tensor want = a->state(names[i], key), got = b->state(names[i], key);
            CHECK(want.defined() == got.defined());
            if (want.defined() && got.defined()) check_close(names[i] + " " + key, to_cpu(got), want, kExact);
          }
        }
        CHECK(a->state_numel() == b->state_numel());
        if (emu::active()) CHECK(emu::launches() == launches + 9);  // 3 trained parameters, 3 steps, one kernel each
      }
    });
  }

  // clip_grad_norm's norm of CUDA gradients (sum_squares_cuda: 1 to 256 partial sums per gradient, here
  // 1 (a bias), 10 (40960 elements) and 256 (1M + 5, more than 256 blocks of 4096)) against the CPU's; below
  // max_norm the gradients stay as they are.
  TEST_CASE("cuda optim: clip_grad_norm of CUDA gradients equals the CPU norm") {
    for_each_schedule([&] {
      const std::vector<Shape> shapes{{17}, {40960}, {1024 * 1024 + 5}};
      std::vector<Tensor> cpu, cuda;
      for (size_t i = 0; i < shapes.size(); ++i) {
        cpu.push_back(leaf(zeros(shapes[i])));
        cuda.push_back(cuda_leaf(cpu.back()));
        const Tensor g = test_input(shapes[i], 70 + i, -1e-3, 1e-3, DType::f32);
        cpu.back().set_grad(g);
        cuda.back().set_grad(to_cuda(g));
      }
      const double want = clip_grad_norm(cpu, 1e3), got = clip_grad_norm(cuda, 1e3);
      CHECK(want > 0.1);
      CHECK(std::abs(got - want) <= 1e-12 * want);
      for (size_t i = 0; i < shapes.size(); ++i) check_close("gradient", to_cpu(cuda[i].grad()), cpu[i].grad(), kExact);
    });
  }
}

}  // namespace nn::test
