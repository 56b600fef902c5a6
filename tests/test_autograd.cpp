// Autograd edge cases: reuse of a tensor, dead branches, no_grad, accumulation, detach, retain_graph,
// release of saved tensors, in-place modification of saved tensors, deep graphs.
#include "base/allocator.h"
#include "tests/check.h"

namespace nn::test {

TEST_SUITE("autograd") {
  TEST_CASE("autograd: a tensor used twice gets the sum of both gradients") {
    Tensor x = leaf(from_vector<double>({1, -2, 3}, {3}));
    sum(add(mul(x, x), x)).backward();  // d/dx (x^2 + x) = 2x + 1
    check_values("dx", x.grad(), {3, -3, 7});
  }

  TEST_CASE("autograd: a diamond accumulates at the shared node exactly once per path") {
    Tensor x = leaf(from_vector<double>({2, 5}, {2}));
    Tensor a = add(x, 1.0), b = mul(x, 2.0);
    sum(mul(a, b)).backward();  // d/dx (x+1)(2x) = 4x + 2
    check_values("dx", x.grad(), {10, 22});
  }

  TEST_CASE("autograd: paths of different lengths meet in topological order") {
    Tensor x = leaf(from_vector<double>({1.5}, {1}));
    Tensor longer = x;
    for (int i = 0; i < 5; ++i) longer = mul(longer, 2.0);  // 32x
    sum(add(longer, mul(x, 3.0))).backward();
    check_values("dx", x.grad(), {35});
  }

  TEST_CASE("autograd: a branch that does not reach the loss contributes nothing") {
    Tensor x = leaf(from_vector<double>({1, 2}, {2}));
    Tensor unused = exp(mul(x, 3.0));
    sum(mul(x, 2.0)).backward();
    check_values("dx", x.grad(), {2, 2});
    CHECK(unused.grad_fn() != nullptr);  // its node exists but was never reached
  }

  TEST_CASE("autograd: no_grad records nothing and restores the mode") {
    Tensor x = leaf(from_vector<float>({1, 2}, {2}));
    {
      NoGradGuard guard;
      CHECK_FALSE(grad_enabled());
      Tensor y = mul(x, 2.0);
      CHECK_FALSE(y.requires_grad());
      CHECK(y.grad_fn() == nullptr);
      x.add_(ones({2}));  // in-place on a leaf that requires grad is allowed here
    }
    CHECK(grad_enabled());
    check_values("x after in-place update", x, {2, 3});
    CHECK(mul(x, 2.0).requires_grad());
  }

  TEST_CASE("autograd: gradients accumulate across backward calls until zero_grad") {
    Tensor w = leaf(from_vector<double>({1, 2}, {2}));
    sum(mul(w, 3.0)).backward();
    sum(mul(w, 3.0)).backward();
    check_values("accumulated", w.grad(), {6, 6});
    w.zero_grad();
    CHECK_FALSE(w.grad().defined());
    sum(w).backward();
    check_values("after zero_grad", w.grad(), {1, 1});
  }

  TEST_CASE("autograd: an accumulated gradient never aliases another tensor") {
    Tensor a = leaf(from_vector<double>({1, 2}, {2})), b = leaf(from_vector<double>({3, 4}, {2}));
    Tensor s = add(a, b);  // AddBackward hands the same gradient tensor to both inputs
    Tensor g = from_vector<double>({1, 1}, {2});
    s.backward(g);
    CHECK(a.grad().storage() != b.grad().storage());
    CHECK(a.grad().storage() != g.storage());
    sum(mul(a, 5.0)).backward();  // accumulates in place into a.grad only
    check_values("a.grad", a.grad(), {6, 6});
    check_values("b.grad", b.grad(), {1, 1});
    check_values("the user's gradient tensor", g, {1, 1});
  }

  TEST_CASE("autograd: detach cuts the graph") {
    Tensor x = leaf(from_vector<double>({2}, {1}));
    Tensor y = mul(x, x);
    Tensor d = y.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.storage() == y.storage());
    sum(mul(d, x)).backward();  // d is a constant 4
    check_values("dx", x.grad(), {4});
  }

  TEST_CASE("autograd: saved tensors are freed after backward unless retain_graph") {
    Tensor x = leaf(from_vector<double>({1, 2}, {2}));
    Tensor loss = sum(mul(exp(x), x));
    loss.backward({}, /*retain_graph=*/true);
    loss.backward();  // second pass allowed, frees the graph
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("retain_graph"), Error);
    // d/dx x e^x = (x + 1) e^x, accumulated twice
    check_values("dx", x.grad(), {2 * 2 * std::exp(1.0), 2 * 3 * std::exp(2.0)}, 1e-9);
  }

  TEST_CASE("autograd: activation memory returns to the allocator during backward") {
    CpuAllocator& alloc = CpuAllocator::instance();
    Tensor x = leaf(full({256, 1024}, 0.5));
    size_t in_use_before = 0, in_use_graph = 0, in_use_after = 0;
    in_use_before = static_cast<size_t>(alloc.stats().allocated_bytes);
    Tensor loss;
    {
      Tensor h = x;
      for (int i = 0; i < 4; ++i) h = tanh(mul(h, 1.5));  // each step saves a 1 MiB output
      loss = sum(h);
    }
    in_use_graph = static_cast<size_t>(alloc.stats().allocated_bytes);
    loss.backward();
    x.zero_grad();
    in_use_after = static_cast<size_t>(alloc.stats().allocated_bytes);
    CHECK(in_use_graph >= in_use_before + 4 * (1 << 20));  // the graph held the activations
    CHECK(in_use_after <= in_use_before + 4096);           // ... and released them with loss still alive
    CHECK(loss.defined());
  }

  TEST_CASE("autograd: modifying a saved tensor in place is reported at backward") {
    Tensor x = leaf(from_vector<double>({1, 2}, {2}));
    Tensor y = exp(x);  // ExpBackward saves y
    Tensor loss = sum(y);
    {
      NoGradGuard no_grad;
      y.mul_(2.0);
    }
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("modified in place"), Error);
  }

  TEST_CASE("autograd: backward needs a scalar or an explicit gradient") {
    Tensor x = leaf(from_vector<double>({1, 2, 3, 4}, {2, 2}));
    Tensor y = mul(x, 3.0);
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("not a scalar"), Error);
    CHECK_THROWS_WITH_AS(y.backward(ones({3}, DType::f64)), doctest::Contains("does not match"), Error);
    y.backward(from_vector<double>({1, 0, 0, 2}, {2, 2}));
    check_values("dx", x.grad(), {3, 0, 0, 6});
    Tensor c = from_vector<double>({1}, {1});
    CHECK_THROWS_WITH_AS(c.backward(), doctest::Contains("does not require grad"), Error);
  }

  TEST_CASE("autograd: a leaf itself can be the root") {
    Tensor x = leaf(from_vector<double>({7}, {1}));
    x.backward();
    check_values("dx", x.grad(), {1});
  }

  TEST_CASE("autograd: requires_grad_ only on floating leaves; in-place refused while grad mode is on") {
    Tensor x = leaf(from_vector<float>({1, 2}, {2}));
    Tensor y = mul(x, 2.0);
    CHECK_THROWS_WITH_AS(y.requires_grad_(), doctest::Contains("not a leaf"), Error);
    CHECK_THROWS_WITH_AS(arange(3, DType::i64).requires_grad_(), doctest::Contains("floating"), Error);
    CHECK_THROWS_WITH_AS(x.add_(ones({2})), doctest::Contains("requires grad"), Error);
    CHECK_THROWS_WITH_AS(x.fill_(0), doctest::Contains("fill_"), Error);
  }

  TEST_CASE("autograd: inputs without requires_grad get no gradient and cost no gradient compute") {
    Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    Tensor w = leaf(ones({1, 1, 2, 2}, DType::f64));
    Tensor frozen = ones({1, 1, 2, 2}, DType::f64);  // like a frozen layer's weight
    Tensor y = conv2d(x, w);
    Tensor z = conv2d(y, frozen, {}, {.padding = 1});
    sum(z).backward();
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(frozen.grad().defined());
    CHECK(w.grad().defined());
  }

  TEST_CASE("autograd: a graph 100000 nodes deep runs without recursion") {
    Tensor x = leaf(from_vector<double>({1}, {1}));
    Tensor h = x;
    for (int i = 0; i < 100000; ++i) h = add(h, 1e-6);
    h.backward();
    check_values("dx", x.grad(), {1});
  }
}

}  // namespace nn::test
