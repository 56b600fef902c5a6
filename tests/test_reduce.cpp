// Reductions (sum, mean, max over all and along a dim, argmax, sum_to): known answer, gradcheck, PyTorch
// parity, the parallel kernels on a large tensor against a plain double loop, and the error cases.
#include <cmath>

#include "kernels/reduce.h"
#include "tests/check.h"

namespace nn::test {

namespace {

// x [2, 3, 4] with x[i][j][k] = 12 i + 4 j + k (0..23; total 276).
Tensor ramp234(DType dtype = DType::f32) { return arange(24, dtype).reshape({2, 3, 4}); }
// [[1, 5, -2], [3, 0.5, 4]]: row maxima 5 (index 1) and 4 (index 2); column maxima 3, 5, 4 (indices 1, 0, 1).
Tensor small23() { return from_vector<float>({1, 5, -2, 3, 0.5, 4}, {2, 3}); }

// The inputs of the "reduce" references: x, or x.transpose(0, 2) when the case says so.
Tensor case_input(const TorchCase& c, const Tensor& x) { return c.params["transpose"].get<bool>() ? x.transpose(0, 2) : x; }

// Every "reduce" reference case of `op`: f(case, x) forward and dx.
void check_torch(const std::string& op, const std::function<Tensor(const TorchCase&, const Tensor&)>& f) {
  check_torch_one_input("reduce", op, f, "x", 2);
}

std::vector<int64_t> case_dims(const TorchCase& c) { return c.params["dims"].get<std::vector<int64_t>>(); }

}  // namespace

TEST_SUITE("known") {
  // Over j: 3 (12 i + k) + 4 (0 + 1 + 2) = 36 i + 12 + 3 k; over i and k: 4 * 12 + 8 * 4 j + 2 * 6 = 60 + 32 j;
  // over k: 4 (12 i + 4 j) + 6 = 48 i + 16 j + 6. The gradient copies dy along the summed dims.
  TEST_CASE("sum: all, dims lists, keepdim, negative dims and a transposed input") {
    Tensor x6 = leaf(from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
    Tensor total = sum(x6);
    CHECK(total.shape() == Shape{});
    check_values("sum all", total, {21});
    total.backward(scalar_tensor(2));
    check_values("sum all dx", x6.grad(), {2, 2, 2, 2, 2, 2});

    Tensor x = leaf(ramp234());
    Tensor y = sum(x, {1});
    CHECK(y.shape() == Shape{2, 4});
    check_values("sum {1}", y, {12, 15, 18, 21, 48, 51, 54, 57});
    y.backward(from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}));
    check_values("sum {1} dx", x.grad(), {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7, 8});
    CHECK(sum(x, {1}, true).shape() == Shape{2, 1, 4});
    check_values("sum {0, 2}", sum(x, {0, 2}), {60, 92, 124});
    check_values("sum {-1}", sum(x, {-1}), {6, 22, 38, 54, 70, 86});
    check_values("sum {} keepdim", sum(x, {}, true), {276});
    CHECK(sum(x, {}, true).shape() == Shape{1, 1, 1});

    Tensor x2 = leaf(ramp234());
    Tensor y2 = sum(x2, {-3, -1}, true);
    CHECK(y2.shape() == Shape{1, 3, 1});
    check_values("sum {-3, -1} keepdim", y2, {60, 92, 124});
    y2.backward(from_vector<float>({1, 2, 3}, {1, 3, 1}));
    check_values("sum {-3, -1} dx", x2.grad(), {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
    // x^T [4, 3, 2] summed over its dim 0 (x's k): [j][i] = 48 i + 16 j + 6.
    check_values("sum transposed {0}", sum(ramp234().transpose(0, 2), {0}), {6, 54, 22, 70, 38, 86});
  }
  // mean = sum / count: 21 / 6; (36 i + 12 + 3 k) / 3 = 12 i + 4 + k; (60 + 32 j) / 8 = 7.5 + 4 j. dx = dy / count.
  TEST_CASE("mean: all, dims lists, keepdim and negative dims") {
    Tensor x6 = leaf(from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
    Tensor m = mean(x6);
    check_values("mean all", m, {3.5});
    m.backward();
    check_values("mean all dx", x6.grad(), std::vector<double>(6, 1.0 / 6));

    Tensor x = leaf(ramp234());
    Tensor y = mean(x, {1}, true);
    CHECK(y.shape() == Shape{2, 1, 4});
    check_values("mean {1} keepdim", y, {4, 5, 6, 7, 16, 17, 18, 19});
    y.backward(from_vector<float>({3, 6, 9, 12, 15, 18, 21, 24}, {2, 1, 4}));
    check_values("mean {1} dx", x.grad(), {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8, 5, 6, 7, 8});
    check_values("mean {-1, 0}", mean(x, {-1, 0}), {7.5, 11.5, 15.5});
    CHECK(mean(x, {-1, 0}).shape() == Shape{3});
  }
  // Empty reductions: a sum over nothing is 0; a mean over nothing is 0/0 = NaN (as PyTorch).
  TEST_CASE("sum: over an empty dimension is 0, mean is NaN") {
    const Tensor e = zeros({2, 0, 3});
    check_values("sum {1}", sum(e, {1}), {0, 0, 0, 0, 0, 0});
    CHECK(sum(e, {1}).shape() == Shape{2, 3});
    check_values("sum all", sum(e), {0});
    CHECK(sum(e, {0}).shape() == Shape{0, 3});
    for (double v : mean(e, {1}).to_vector<double>()) CHECK(std::isnan(v));
  }
  // The gradient goes to the single maximum; among ties to the first (documented in ops.h; PyTorch splits it).
  TEST_CASE("max: over all elements, ties and NaN") {
    Tensor x = leaf(small23());
    Tensor y = max(x);
    CHECK(y.shape() == Shape{});
    check_values("max", y, {5});
    y.backward(scalar_tensor(2));
    check_values("max dx", x.grad(), {0, 2, 0, 0, 0, 0});
    Tensor t = leaf(from_vector<float>({1, 5, 5, -1}, {2, 2}));
    max(t).backward();
    check_values("max ties dx", t.grad(), {0, 1, 0, 0});
    CHECK(std::isnan(max(from_vector<float>({1, NAN, 3}, {3})).item<float>()));
  }
  // x [2, 3, 2] = [[[1, 6], [4, 2], [3, 5]], [[0, -1], [-2, 7], [8, -3]]]: over dim 1, columns [1, 4, 3] -> 4 at 1,
  // [6, 2, 5] -> 6 at 0, [0, -2, 8] -> 8 at 2, [-1, 7, -3] -> 7 at 1; dy = [[1, 2], [3, 4]] lands at those places.
  TEST_CASE("max: along a dim, keepdim and negative dim, values, indices and gradient") {
    Tensor x = leaf(small23());
    MaxResult r = max(x, 1);
    check_values("rows", r.values, {5, 4});
    CHECK(r.indices.dtype() == DType::i64);
    check_values("row indices", r.indices, {1, 2});
    r.values.backward(from_vector<float>({10, 20}, {2}));
    check_values("rows dx", x.grad(), {0, 10, 0, 0, 0, 20});
    MaxResult c = max(small23(), 0);
    check_values("columns", c.values, {3, 5, 4});
    check_values("column indices", c.indices, {1, 0, 1});
    MaxResult k = max(small23(), -1, true);
    CHECK(k.values.shape() == Shape{2, 1});
    CHECK(k.indices.shape() == Shape{2, 1});
    check_values("keepdim", k.values, {5, 4});

    Tensor x3 = leaf(from_vector<float>({1, 6, 4, 2, 3, 5, 0, -1, -2, 7, 8, -3}, {2, 3, 2}));
    MaxResult m = max(x3, 1);
    check_values("middle values", m.values, {4, 6, 8, 7});
    check_values("middle indices", m.indices, {1, 0, 2, 1});
    m.values.backward(from_vector<float>({1, 2, 3, 4}, {2, 2}));
    check_values("middle dx", x3.grad(), {0, 2, 1, 0, 0, 0, 0, 0, 0, 4, 3, 0});
  }
  // First index among ties; NaN wins and the first NaN's index is returned (PyTorch).
  TEST_CASE("max: along a dim, ties take the first index and NaN propagates") {
    check_values("ties", max(from_vector<float>({2, 2, 1, 1, 3, 3}, {2, 3}), 1).indices, {0, 1});
    MaxResult r = max(from_vector<float>({1, NAN, 3, NAN, 2, 1, 5, 0, NAN, 7, 7, 7}, {3, 4}), 1);
    const std::vector<double> v = r.values.to_vector<double>();
    CHECK(std::isnan(v[0]));
    CHECK(v[1] == 5);
    CHECK(std::isnan(v[2]));
    check_values("indices", r.indices, {1, 2, 0});
  }
  TEST_CASE("argmax: the indices of max, keepdim, and no gradient") {
    Tensor x = leaf(small23());
    Tensor a = argmax(x, 1);
    CHECK(a.dtype() == DType::i64);
    CHECK(a.shape() == Shape{2});
    check_values("rows", a, {1, 2});
    Tensor b = argmax(x, 0, true);
    CHECK(b.shape() == Shape{1, 3});
    check_values("columns", b, {1, 0, 1});
    check_values("negative dim", argmax(x, -2), {1, 0, 1});
    CHECK(!a.requires_grad());
  }
  // sum_to [3, 1]: over i and k, 60 + 32 j; [4]: over i and j, 60 + 6 k; the gradient broadcasts dy back.
  TEST_CASE("sum_to: leading and size-1 dimensions, and the same shape") {
    Tensor x = leaf(ramp234());
    Tensor y = sum_to(x, {3, 1});
    CHECK(y.shape() == Shape{3, 1});
    check_values("[3, 1]", y, {60, 92, 124});
    y.backward(from_vector<float>({1, 2, 3}, {3, 1}));
    check_values("[3, 1] dx", x.grad(), {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
    check_values("[4]", sum_to(x, {4}), {60, 66, 72, 78});
    CHECK(sum_to(x, {1, 3, 1}).shape() == Shape{1, 3, 1});
    check_values("[1, 3, 1]", sum_to(x, {1, 3, 1}), {60, 92, 124});
    CHECK(sum_to(x, {2, 3, 4}).same(x));
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("sum: all, dims lists, keepdim, negative dims, transposed input") {
    const Tensor x = test_input({2, 3, 4}, 31);
    gradcheck("sum all", [](const std::vector<Tensor>& in) { return sum(in[0]); }, {x});
    gradcheck("sum {1}", [](const std::vector<Tensor>& in) { return sum(in[0], {1}); }, {x});
    gradcheck("sum {0, 2} keepdim", [](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}, true); }, {x});
    gradcheck("sum {-1}", [](const std::vector<Tensor>& in) { return sum(in[0], {-1}); }, {x});
    gradcheck("sum transposed {0, 1}",
              [](const std::vector<Tensor>& in) { return sum(in[0].transpose(0, 2), {0, 1}); }, {x});
  }
  TEST_CASE("mean: all, dims lists, keepdim, negative dims, transposed input") {
    const Tensor x = test_input({2, 3, 4}, 32);
    gradcheck("mean all", [](const std::vector<Tensor>& in) { return mean(in[0]); }, {x});
    gradcheck("mean {1} keepdim", [](const std::vector<Tensor>& in) { return mean(in[0], {1}, true); }, {x});
    gradcheck("mean {-3, -1}", [](const std::vector<Tensor>& in) { return mean(in[0], {-3, -1}); }, {x});
    gradcheck("mean transposed {2}", [](const std::vector<Tensor>& in) { return mean(in[0].transpose(0, 2), {2}); }, {x});
  }
  // Distinct inputs (all values >= 0.01 apart) keep the finite differences off ties.
  TEST_CASE("max: over all elements, plain and transposed") {
    gradcheck("max all", [](const std::vector<Tensor>& in) { return max(in[0]); }, {distinct_input({3, 5}, 33)});
    gradcheck("max all transposed", [](const std::vector<Tensor>& in) { return max(in[0].transpose(0, 1)); },
              {distinct_input({3, 5}, 34)});
  }
  TEST_CASE("max: along each dim, keepdim, negative dim, transposed input") {
    const Tensor x = distinct_input({3, 4, 5}, 35);
    gradcheck("max dim 0", [](const std::vector<Tensor>& in) { return max(in[0], 0).values; }, {x});
    gradcheck("max dim 1 keepdim", [](const std::vector<Tensor>& in) { return max(in[0], 1, true).values; }, {x});
    gradcheck("max dim -1", [](const std::vector<Tensor>& in) { return max(in[0], -1).values; }, {x});
    gradcheck("max transposed dim 1",
              [](const std::vector<Tensor>& in) { return max(in[0].transpose(0, 2), 1).values; }, {x});
  }
  TEST_CASE("sum_to: leading and size-1 dimensions, transposed input") {
    const Tensor x = test_input({2, 3, 4}, 36);
    gradcheck("sum_to [3, 1]", [](const std::vector<Tensor>& in) { return sum_to(in[0], {3, 1}); }, {x});
    gradcheck("sum_to [4]", [](const std::vector<Tensor>& in) { return sum_to(in[0], {4}); }, {x});
    gradcheck("sum_to [1, 3, 1]", [](const std::vector<Tensor>& in) { return sum_to(in[0], {1, 3, 1}); }, {x});
    gradcheck("sum_to transposed [3, 2]",
              [](const std::vector<Tensor>& in) { return sum_to(in[0].transpose(0, 2), {3, 2}); }, {x});
  }
}

TEST_SUITE("torch") {
  TEST_CASE("sum: forward and gradients match PyTorch") {
    check_torch("sum", [](const TorchCase& c, const Tensor& x) {
      if (c.params["dims"].is_null()) return sum(case_input(c, x));
      return sum(case_input(c, x), case_dims(c), c.params["keepdim"].get<bool>());
    });
  }
  TEST_CASE("mean: forward and gradients match PyTorch") {
    check_torch("mean", [](const TorchCase& c, const Tensor& x) {
      if (c.params["dims"].is_null()) return mean(case_input(c, x));
      return mean(case_input(c, x), case_dims(c), c.params["keepdim"].get<bool>());
    });
  }
  TEST_CASE("max: over all elements, forward and gradients match PyTorch") {
    check_torch("max_all", [](const TorchCase&, const Tensor& x) { return max(x); });
  }
  TEST_CASE("max: along a dim, values, indices and gradients match PyTorch") {
    check_torch("max_dim", [](const TorchCase& c, const Tensor& x) {
      MaxResult r = max(case_input(c, x), c.params["dim"].get<int64_t>(), c.params["keepdim"].get<bool>());
      CHECK(r.indices.dtype() == DType::i64);
      check_close(c.name + " indices", r.indices, c["indices"], {0, 0});
      return r.values;
    });
  }
  TEST_CASE("argmax: indices match PyTorch") {
    int n = 0;
    for (const TorchCase& c : torch_cases("reduce")) {
      if (c.params["op"] != "max_dim") continue;
      CAPTURE(c.name);
      ++n;
      Tensor a = argmax(case_input(c, c["x"]), c.params["dim"].get<int64_t>(), c.params["keepdim"].get<bool>());
      CHECK(a.dtype() == DType::i64);
      check_close(c.name + " argmax", a, c["argmax"], {0, 0});
    }
    CHECK(n >= 2);
  }
  TEST_CASE("sum_to: forward and gradients match PyTorch (sum_to_size)") {
    check_torch("sum_to", [](const TorchCase& c, const Tensor& x) {
      const std::vector<int64_t> shape = c.params["shape"].get<std::vector<int64_t>>();
      return sum_to(x, Shape(std::span<const int64_t>(shape)));
    });
  }
}

TEST_SUITE("kernels") {
  // x [61, 23, 47] (65941 elements): every reduction below has enough outputs x inputs per output to split
  // across threads. Against a plain loop summing in double; the kernel also sums in double, in the same order,
  // so the only difference allowed is the final rounding to T.
  TEST_CASE_TEMPLATE("sum: outer, middle, inner, several and transposed dims of a large tensor", T, float, double) {
    const int64_t I = 61, J = 23, K = 47;
    const Tensor x = test_input({I, J, K}, 41, -1, 1, dtype_of<T>);
    const std::vector<double> v = x.to_vector<double>();
    auto at = [&](int64_t i, int64_t j, int64_t k) { return v[(i * J + j) * K + k]; };
    const Tol tol = std::is_same_v<T, float> ? Tol{2e-7, 0} : Tol{1e-14, 0};
    std::vector<double> s0(J * K, 0), s1(I * K, 0), s2(I * J, 0), s02(J, 0);
    for (int64_t i = 0; i < I; ++i)
      for (int64_t j = 0; j < J; ++j)
        for (int64_t k = 0; k < K; ++k) {
          s0[j * K + k] += at(i, j, k);
          s1[i * K + k] += at(i, j, k);
          s2[i * J + j] += at(i, j, k);
          s02[j] += at(i, j, k);
        }
    auto want = [&](const std::vector<double>& s, const Shape& shape) { return from_vector(s, shape).to(dtype_of<T>); };
    check_close("sum {0}", sum(x, {0}), want(s0, {J, K}), tol);
    check_close("sum {1}", sum(x, {1}), want(s1, {I, K}), tol);
    check_close("sum {2}", sum(x, {2}), want(s2, {I, J}), tol);
    check_close("sum {0, 2}", sum(x, {0, 2}), want(s02, {J}), tol);
    // x^T [K, J, I] summed over its dim 2 (x's i) gives s0 transposed.
    std::vector<double> s0t(K * J);
    for (int64_t j = 0; j < J; ++j)
      for (int64_t k = 0; k < K; ++k) s0t[k * J + j] = s0[j * K + k];
    check_close("sum transposed {2}", sum(x.transpose(0, 2), {2}), want(s0t, {K, J}), tol);
    std::vector<double> m1(s1);
    for (double& e : m1) e /= J;
    check_close("mean {1}", mean(x, {1}), want(m1, {I, K}), tol);
  }

  // max along each dim of [61, 23, 47] with NaNs planted: first maximum (or first NaN) per row, and the
  // backward scatter puts dy there and 0 elsewhere.
  TEST_CASE_TEMPLATE("max: along each dim of a large tensor with NaNs, values, indices and backward", T, float, double) {
    const int64_t dims[] = {61, 23, 47};
    const Tensor x0 = test_input({61, 23, 47}, 42, -1, 1, dtype_of<T>);
    std::vector<double> v = x0.to_vector<double>();
    for (int64_t p : {5, 777, 20000, 50001}) v[p] = NAN;
    for (int d = 0; d < 3; ++d) {
      CAPTURE(d);
      const int64_t D = dims[d], inner = d == 2 ? 1 : d == 1 ? 47 : 23 * 47, outer = 61 * 23 * 47 / (D * inner);
      std::vector<double> want_v(outer * inner), dx_want(v.size(), 0);
      std::vector<int64_t> want_i(outer * inner);
      for (int64_t o = 0; o < outer * inner; ++o) {
        const int64_t base = (o / inner) * D * inner + o % inner;
        int64_t best = 0;
        for (int64_t r = 1; r < D && !std::isnan(v[base + best * inner]); ++r)
          if (std::isnan(v[base + r * inner]) || v[base + r * inner] > v[base + best * inner]) best = r;
        want_v[o] = v[base + best * inner];
        want_i[o] = best;
        dx_want[base + best * inner] = static_cast<double>(o % 7) - 3;
      }
      Tensor x = leaf(from_vector(v, {61, 23, 47}).to(dtype_of<T>));
      MaxResult r = max(x, d);
      Shape out_shape{61, 23, 47};
      out_shape.erase(d);
      check_close("values", r.values, from_vector(want_v, out_shape), {0, 0});  // NaN matches NaN
      check_close("indices", r.indices, from_vector(want_i, out_shape), {0, 0});
      std::vector<double> dy(outer * inner);
      for (int64_t o = 0; o < outer * inner; ++o) dy[o] = static_cast<double>(o % 7) - 3;
      r.values.backward(from_vector(dy, out_shape).to(dtype_of<T>));
      check_close("dx", x.grad(), from_vector(dx_want, {61, 23, 47}).to(dtype_of<T>), {0, 0});
    }
  }
}

TEST_SUITE("errors") {
  TEST_CASE("mean: integer tensors, repeated and out-of-range dims are errors; max of an empty dim too") {
    const Tensor i = from_vector<int64_t>({1, 2, 3, 4}, {2, 2});
    CHECK_THROWS_AS(mean(i), Error);
    CHECK_THROWS_AS(mean(i, {0}), Error);
    CHECK_THROWS_AS(sum(ramp234(), {1, -2}), Error);
    CHECK_THROWS_AS(sum(ramp234(), {3}), Error);
    CHECK_THROWS_AS(max(ramp234(), -4), Error);
    CHECK_THROWS_AS(max(zeros({2, 0})), Error);
    CHECK_THROWS_AS(max(zeros({2, 0}), 1), Error);
    CHECK_THROWS_AS(sum_to(ramp234(), {5}), Error);
    CHECK_THROWS_AS(sum_to(zeros({3}), {2, 3}), Error);
  }
}

}  // namespace nn::test
