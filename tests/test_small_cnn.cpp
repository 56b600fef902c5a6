// A small CNN built from the ops (conv-bn-relu-maxpool-linear): one training step matches PyTorch, it
// overfits one batch, and steady-state training steps allocate no new memory from the OS.
#include "base/allocator.h"
#include "tests/check.h"

namespace nn::test {

namespace {

struct SmallCnn {
  Tensor conv_w, bn_w, bn_b, fc_w, fc_b;  // no conv bias before batch norm, as in ResNet
  Tensor running_mean, running_var;

  std::vector<Tensor> parameters() const { return {conv_w, bn_w, bn_b, fc_w, fc_b}; }

  Tensor forward(const Tensor& x) const {
    Tensor h = conv2d(x, conv_w, {}, {.padding = 1});
    h = batch_norm(h, running_mean, running_var, bn_w, bn_b, {.training = true});
    h = max_pool2d(relu(h), {.kernel_size = 2});
    return linear(flatten(h), fc_w, fc_b);
  }
};

// SGD with momentum 0.9, as an optimiser would do it: no graph, in-place updates.
void sgd_step(const std::vector<Tensor>& params, std::vector<Tensor>& velocity, double lr) {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!velocity[i].defined()) velocity[i] = zeros_like(params[i]);
    velocity[i].mul_(0.9).add_(params[i].grad());
    params[i].add_(velocity[i], -lr);
    params[i].zero_grad();
  }
}

}  // namespace

TEST_SUITE("torch") {
  TEST_CASE("model: a conv-bn-relu-pool-linear step matches PyTorch (loss, logits, every gradient)") {
    for (const TorchCase& c : torch_cases("small_cnn")) {
      CAPTURE(c.name);
      SmallCnn m{leaf(c["conv_w"]), leaf(c["bn_w"]), leaf(c["bn_b"]), leaf(c["fc_w"]), leaf(c["fc_b"]),
                 zeros({5}, c["x"].dtype()), ones({5}, c["x"].dtype())};
      Tensor logits = m.forward(c["x"]);
      Tensor loss = cross_entropy(logits, c["target"], {.label_smoothing = 0.1});
      check_close(c.name + " logits", logits, c["logits"]);
      check_close(c.name + " loss", loss, c["loss"]);
      loss.backward();
      const char* names[] = {"conv_w", "bn_w", "bn_b", "fc_w", "fc_b"};
      for (size_t i = 0; i < 5; ++i) check_close(c.name + " d" + names[i], m.parameters()[i].grad(), c[std::string("d") + names[i]]);
      check_close(c.name + " running_mean", m.running_mean, c["running_mean"]);
      check_close(c.name + " running_var", m.running_var, c["running_var"]);
    }
  }
}

TEST_SUITE("model") {
  TEST_CASE("model: a small CNN overfits one batch") {
    Generator gen(3);
    const Tensor x = randn({8, 3, 12, 10}, gen);
    const Tensor target = from_vector<int64_t>({0, 1, 2, 3, 3, 2, 1, 0}, {8});
    SmallCnn m{leaf(mul(randn({6, 3, 3, 3}, gen), 0.2)), leaf(ones({6})), leaf(zeros({6})),
               leaf(mul(randn({4, 6 * 6 * 5}, gen), 0.05)), leaf(zeros({4})), zeros({6}), ones({6})};
    std::vector<Tensor> velocity(5);
    double first = 0, last = 0;
    for (int step = 0; step < 60; ++step) {
      Tensor loss = cross_entropy(m.forward(x), target);
      if (step == 0) first = loss.item<double>();
      last = loss.item<double>();
      loss.backward();
      sgd_step(m.parameters(), velocity, 0.05);
    }
    NoGradGuard no_grad;
    const auto predicted = argmax(m.forward(x), 1).to_vector<int64_t>();
    CHECK(predicted == target.to_vector<int64_t>());
    CHECK(first > 1.0);   // about ln 4 at the start
    CHECK(last < 0.05);
  }

  TEST_CASE("model: after the first step, training steps take no new memory from the OS") {
    CpuAllocator& alloc = CpuAllocator::instance();
    if (!alloc.caching()) return;  // sanitizer builds return every block to the OS by design
    Generator gen(4);
    const Tensor x = randn({16, 3, 32, 32}, gen);
    const Tensor target = randint(0, 4, {16}, gen);
    SmallCnn m{leaf(mul(randn({8, 3, 3, 3}, gen), 0.2)), leaf(ones({8})), leaf(zeros({8})),
               leaf(mul(randn({4, 8 * 16 * 16}, gen), 0.05)), leaf(zeros({4})), zeros({8}), ones({8})};
    std::vector<Tensor> velocity(5);
    int64_t os_after_warmup = 0;
    for (int step = 0; step < 4; ++step) {
      Tensor loss = cross_entropy(m.forward(x), target);
      loss.backward();
      sgd_step(m.parameters(), velocity, 0.01);
      if (step == 1) os_after_warmup = alloc.stats().os_allocations;
    }
    CHECK(alloc.stats().os_allocations == os_after_warmup);
  }
}

}  // namespace nn::test
