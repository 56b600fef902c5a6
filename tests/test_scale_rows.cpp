// scale_rows (squeeze-and-excitation's gate) and stochastic depth. scale_rows is checked by hand, by
// gradcheck, and against the broadcasting mul it replaces (itself checked against PyTorch in
// test_elementwise.cpp). Stochastic depth's mask cannot match PyTorch's (another generator): the known tier
// checks its statistics and the exact parts (identity cases, 1/(1-p) scaling, gradient, reproducibility,
// BatchShard); the models' parity tests run with it off.
#include "kernels/elementwise.h"
#include "tensor/shard.h"
#include "tests/check.h"

namespace nn::test {

TEST_SUITE("known") {
  // x [1, 2, 1, 3] = 1..6, s [1, 2] = [2, -1]: y = [2, 4, 6, -4, -5, -6]; dy = 1: dx = s per plane,
  // ds = plane sums [6, 15].
  TEST_CASE("scale_rows: one factor per plane") {
    Tensor x = leaf(from_vector<double>({1, 2, 3, 4, 5, 6}, {1, 2, 1, 3}));
    Tensor s = leaf(from_vector<double>({2, -1}, {1, 2}));
    Tensor y = scale_rows(x, s);
    CHECK(y.shape() == Shape{1, 2, 1, 3});
    check_values("y", y, {2, 4, 6, -4, -5, -6}, 0);
    y.backward(ones_like(y));
    check_values("dx", x.grad(), {2, 2, 2, -1, -1, -1}, 0);
    check_values("ds", s.grad(), {6, 15}, 0);
  }

  TEST_CASE("scale_rows: equals the broadcasting mul, forward and gradients (float64)") {
    for (const Shape& s_shape : {Shape{3, 5}, Shape{3}, Shape{3, 5, 4}}) {
      CAPTURE(s_shape);
      Tensor x1 = leaf(test_input({3, 5, 4, 6}, 40, -1, 1)), s1 = leaf(test_input(s_shape, 41, -1, 1));
      Tensor x2 = leaf(x1.detach()), s2 = leaf(s1.detach());
      Shape b = s_shape;
      while (b.size() < 4) b.push_back(1);
      const Tensor dy = test_input({3, 5, 4, 6}, 42, -1, 1);
      Tensor y1 = scale_rows(x1, s1), y2 = mul(x2, s2.reshape(b));
      check_close("y", y1, y2, {1e-15, 1e-15});
      y1.backward(dy);
      y2.backward(dy);
      check_close("dx", x1.grad(), x2.grad(), {1e-15, 1e-15});
      check_close("ds", s1.grad(), s2.grad(), {1e-14, 1e-14});
    }
  }

  TEST_CASE("scale_rows: empty rows and empty tensors") {
    std::vector<double> unused;
    for (const auto& [xs, ss] : {std::pair{Shape{0, 3, 2}, Shape{0}}, std::pair{Shape{2, 0}, Shape{2}}}) {
      Tensor x = leaf(zeros(xs, DType::f64)), s = leaf(ones(ss, DType::f64));
      Tensor y = scale_rows(x, s);
      CHECK(y.shape() == xs);
      y.backward(zeros(xs, DType::f64));
      check_values("ds", s.grad(), std::vector<double>(static_cast<size_t>(ss.numel()), 0.0), 0);
    }
  }

  TEST_CASE("scale_rows: a scale whose shape is not a prefix of the input's") {
    CHECK_THROWS_WITH_AS(scale_rows(zeros({2, 3, 4}), zeros({3})), doctest::Contains("prefix of the input's shape"),
                         Error);
    CHECK_THROWS_WITH_AS(scale_rows(zeros({2, 3}), zeros({2, 3, 1})), doctest::Contains("prefix"), Error);
  }

  TEST_CASE("stochastic_depth: eval mode and p=0 are the identity and draw nothing") {
    for (const auto& [p, training] : {std::pair{0.0, true}, std::pair{0.5, false}, std::pair{1.0, false}}) {
      Generator gen(3);
      Tensor x = leaf(test_input({3, 2, 2, 2}, 50, -1, 1, DType::f32));
      Tensor y = stochastic_depth(x, p, training, gen);
      check_values("y", y, x.to_vector<double>(), 0);
      CHECK(gen.offset() == 0);
    }
    Generator gen(3);
    CHECK_THROWS_WITH_AS(stochastic_depth(zeros({2, 3}), 1.5, true, gen), doctest::Contains("not in [0, 1]"), Error);
  }

  // 20000 samples of 3 values, p = 0.2: the dropped count is Binomial(20000, 0.2), mean 4000, sd 56.6;
  // kept samples are x / 0.8 (every value of the sample), dropped ones 0, and the gradient is the same mask.
  TEST_CASE("stochastic_depth: drops whole samples at rate p, scales the rest by 1/(1-p), same mask backward") {
    const int64_t n = 20000;
    const double p = 0.2;
    Generator gen(11);
    Tensor x = leaf(test_input({n, 3}, 51, 0.5, 1.5, DType::f32));
    Tensor y = stochastic_depth(x, p, true, gen);
    const Tensor dy = test_input({n, 3}, 52, 0.5, 1.5, DType::f32);
    y.backward(dy);
    const auto xv = x.to_vector<float>(), yv = y.to_vector<float>(), gv = dy.to_vector<float>(),
               dxv = x.grad().to_vector<float>();
    const float scale = static_cast<float>(1 / (1 - p));
    int64_t dropped = 0;
    bool consistent = true;
    for (int64_t i = 0; i < n; ++i) {
      const bool drop = yv[static_cast<size_t>(3 * i)] == 0;
      dropped += drop;
      for (int64_t j = 0; j < 3; ++j) {
        const size_t e = static_cast<size_t>(3 * i + j);
        consistent &= drop ? (yv[e] == 0 && dxv[e] == 0) : (yv[e] == xv[e] * scale && dxv[e] == gv[e] * scale);
      }
    }
    CHECK(consistent);
    CHECK(std::abs(static_cast<double>(dropped) - 4000.0) < 4 * 56.6);
    // The same seed draws the same mask; the next call another.
    Generator again(11);
    check_values("same seed", stochastic_depth(x.detach(), p, true, again), y.to_vector<double>(), 0);
    CHECK(stochastic_depth(x.detach(), p, true, again).to_vector<float>() != yv);
  }

  TEST_CASE("stochastic_depth: p=1 drops every sample") {
    Generator gen(2);
    Tensor x = leaf(test_input({5, 4}, 53, -1, 1, DType::f32));
    Tensor y = stochastic_depth(x, 1.0, true, gen);
    check_values("y", y, std::vector<double>(20, 0.0), 0);
  }

  // Under a BatchShard every rank draws the global batch's mask and keeps its own rows (as dropout does),
  // so that a data-parallel run drops the samples one process would.
  TEST_CASE("stochastic_depth: a BatchShard's rows get the global batch's mask") {
    const Tensor x = test_input({7, 2, 3}, 54, 0.5, 1.5, DType::f32);
    Generator whole_gen(5);
    const Tensor whole = stochastic_depth(x, 0.5, true, whole_gen);
    for (const auto& [lo, hi] : {std::pair{0, 3}, std::pair{3, 7}, std::pair{5, 6}}) {
      CAPTURE(lo);
      Generator gen(5);
      const BatchShard shard(lo, 7);
      const Tensor part = stochastic_depth(x.slice(0, lo, hi).contiguous(), 0.5, true, gen);
      check_values("shard", part, whole.slice(0, lo, hi).contiguous().to_vector<double>(), 0);
    }
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("scale_rows: both inputs") {
    gradcheck("scale_rows", [](const std::vector<Tensor>& in) { return scale_rows(in[0], in[1]); },
              {test_input({2, 3, 2, 3}, 60), test_input({2, 3}, 61)});
  }
}

TEST_SUITE("kernels") {
  // Rows narrower and wider than one thread's grain, against a plain loop (exact for y and dx; ds in double).
  TEST_CASE_TEMPLATE("scale_rows: kernels equal a plain loop", T, float, double) {
    const DType dt = dtype_of<T>;
    for (const auto& [rows, inner] : {std::pair<int64_t, int64_t>{1, 70000}, {5000, 3}, {37, 49}}) {
      CAPTURE(rows);
      const Tensor x = test_input({rows, inner}, 70, -1, 1, dt), s = test_input({rows}, 71, -1, 1, dt),
                   dy = test_input({rows, inner}, 72, -1, 1, dt);
      Tensor y = empty_like(x), dx = empty_like(x), ds = empty_like(s);
      scale_rows_forward_cpu<T>(y.data<T>(), x.data<T>(), s.data<T>(), rows, inner);
      scale_rows_backward_cpu<T>(dx.data<T>(), ds.data<T>(), dy.data<T>(), x.data<T>(), s.data<T>(), rows, inner);
      std::vector<T> y_want(static_cast<size_t>(rows * inner)), dx_want(y_want.size());
      std::vector<double> ds_want(static_cast<size_t>(rows));
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < inner; ++j) {
          const size_t e = static_cast<size_t>(i * inner + j);
          y_want[e] = x.data<T>()[e] * s.data<T>()[i];
          dx_want[e] = dy.data<T>()[e] * s.data<T>()[i];
          ds_want[static_cast<size_t>(i)] += static_cast<double>(dy.data<T>()[e]) * x.data<T>()[e];
        }
      check_close("y", y, from_vector(y_want, {rows, inner}), {0, 0});
      check_close("dx", dx, from_vector(dx_want, {rows, inner}), {0, 0});
      check_close("ds", ds, from_vector(ds_want, {rows}).to(dt), {1e-6, 1e-6});
    }
  }
}

}  // namespace nn::test
