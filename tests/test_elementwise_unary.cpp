// Unary elementwise ops (neg, exp, log, sqrt, relu, sigmoid, tanh, silu): known answer, gradcheck, PyTorch parity,
// and the unary kernels (forward and backward, scalar ops included) over strided and broadcast loops.
// Binary and scalar ops are in tests/test_elementwise.cpp; both read the "elementwise" PyTorch references.
#include <cmath>
#include <functional>

#include "kernels/cpu/vec_math.h"
#include "kernels/elementwise.h"
#include "tests/check.h"

namespace nn::test {

namespace {

using UnaryFn = std::function<Tensor(const Tensor&)>;

// x [2, 3] (float64), y = f(x) checked, then dx for dy = [[1, -1, 2], [0.5, 3, 1]].
void check_unary_known(const UnaryFn& f, const std::vector<double>& xs, const std::vector<double>& y_want,
                       const std::vector<double>& dx_want) {
  Tensor x = leaf(from_vector(xs, {2, 3}));
  Tensor y = f(x);
  CHECK(y.shape() == Shape{2, 3});
  check_values("y", y, y_want, 1e-12);
  y.backward(from_vector<double>({1, -1, 2, 0.5, 3, 1}, {2, 3}));
  check_values("dx", x.grad(), dx_want, 1e-12);
}

// x in [lo, hi) as [3, 5], and a transposed [5, 3]; off_zero moves values within 0.1 of 0 out to +-0.1.
void gradcheck_unary(const std::string& op, const UnaryFn& f, double lo, double hi, bool off_zero = false) {
  auto input = [&](const Shape& s, uint64_t seed) {
    Tensor x = test_input(s, seed, lo, hi);
    if (!off_zero) return x;
    std::vector<double> v = x.to_vector<double>();
    for (double& e : v) e = std::fabs(e) < 0.1 ? std::copysign(0.1, e) : e;
    return from_vector(v, s);
  };
  gradcheck(op, [&](const std::vector<Tensor>& in) { return f(in[0]); }, {input({3, 5}, 21)});
  gradcheck(op + " transposed", [&](const std::vector<Tensor>& in) { return f(in[0].transpose(0, 1)); },
            {input({5, 3}, 22)});
}

void check_torch(const std::string& op, const UnaryFn& f) {
  check_torch_one_input(
      "elementwise", op,
      [&](const TorchCase& c, const Tensor& a) { return f(c.params["transpose_a"].get<bool>() ? a.transpose(0, 1) : a); },
      "a", 2);
}

// The plain-loop specification of each unary op and its backward, in T, with the kernels' expressions.
template <class T>
T unary_reference(UnaryOp op, T v, T s) {
  switch (op) {
    case UnaryOp::neg: return -v;
    case UnaryOp::exp: return std::exp(v);
    case UnaryOp::log: return std::log(v);
    case UnaryOp::sqrt: return std::sqrt(v);
    case UnaryOp::relu: return v < T(0) ? T(0) : v;
    case UnaryOp::sigmoid: return T(1) / (T(1) + std::exp(-v));
    case UnaryOp::tanh: return std::tanh(v);
    case UnaryOp::silu: return v / (T(1) + exp_vec(-v));  // the kernels' exp (kernels/cpu/vec_math.h)
    case UnaryOp::add_scalar: return v + s;
    case UnaryOp::mul_scalar: return v * s;
    case UnaryOp::div_scalar: return v / s;
    case UnaryOp::pow_scalar: return std::pow(v, s);
    case UnaryOp::rsub_scalar: return s - v;
    case UnaryOp::rdiv_scalar: return s / v;
    default: return v;
  }
}

template <class T>
T unary_backward_reference(UnaryOp op, T g, T x, T y, T s) {
  switch (op) {
    case UnaryOp::neg:
    case UnaryOp::rsub_scalar: return -g;
    case UnaryOp::exp: return g * y;
    case UnaryOp::log: return g / x;
    case UnaryOp::sqrt: return g / (T(2) * y);
    case UnaryOp::relu: return y <= T(0) ? T(0) : g;
    case UnaryOp::sigmoid: return g * y * (T(1) - y);
    case UnaryOp::tanh: return g * (T(1) - y * y);
    case UnaryOp::silu: {
      const T sg = T(1) / (T(1) + exp_vec(-x));
      return g * sg * (T(1) + x * (T(1) - sg));
    }
    case UnaryOp::mul_scalar: return g * s;
    case UnaryOp::div_scalar: return g / s;
    case UnaryOp::pow_scalar: return g * s * std::pow(x, s - T(1));
    case UnaryOp::rdiv_scalar: return -g * y / x;
    default: return g;
  }
}

}  // namespace

TEST_SUITE("known") {
  // dy = [[1, -1, 2], [0.5, 3, 1]] throughout.
  TEST_CASE("neg: -x and neg(x), dx = -dy") {
    for (const UnaryFn& f : {UnaryFn([](const Tensor& x) { return neg(x); }), UnaryFn([](const Tensor& x) { return -x; })})
      check_unary_known(f, {1, -2, 0.5, 3, 0, -4}, {-1, 2, -0.5, -3, 0, 4}, {-1, 1, -2, -0.5, -3, -1});
  }
  // x = [0, ln 2, -ln 2, 1, ln 4, -1]: y = [1, 2, 1/2, e, 4, 1/e]; dx = dy y.
  TEST_CASE("exp: at 0, +-ln 2, +-1 and ln 4") {
    const double l2 = std::log(2.0), e = std::exp(1.0);
    check_unary_known([](const Tensor& x) { return exp(x); }, {0, l2, -l2, 1, 2 * l2, -1}, {1, 2, 0.5, e, 4, 1 / e},
                      {1, -2, 1, 0.5 * e, 12, 1 / e});
  }
  // x = [1, 2, 4, 1/2, 1/4, 8]: y = [0, 1, 2, -1, -2, 3] ln 2; dx = dy / x.
  TEST_CASE("log: at powers of two") {
    const double l2 = std::log(2.0);
    check_unary_known([](const Tensor& x) { return log(x); }, {1, 2, 4, 0.5, 0.25, 8},
                      {0, l2, 2 * l2, -l2, -2 * l2, 3 * l2}, {1, -0.5, 0.5, 1, 12, 0.125});
  }
  // x = [1, 4, 9, 1/4, 16, 9/4]: y = [1, 2, 3, 1/2, 4, 3/2]; dx = dy / (2y) = [1/2, -1/4, 2/6, 1/2, 3/8, 1/3].
  TEST_CASE("sqrt: at perfect squares") {
    check_unary_known([](const Tensor& x) { return sqrt(x); }, {1, 4, 9, 0.25, 16, 2.25}, {1, 2, 3, 0.5, 4, 1.5},
                      {0.5, -0.25, 1.0 / 3, 0.5, 0.375, 1.0 / 3});
  }
  // dx = dy where x > 0, else 0.
  TEST_CASE("relu: negative and positive inputs") {
    check_unary_known([](const Tensor& x) { return relu(x); }, {-1, 2, -0.5, 3, -4, 0.25}, {0, 2, 0, 3, 0, 0.25},
                      {0, -1, 0, 0.5, 0, 1});
  }
  // PyTorch: relu(NaN) = NaN, and its backward (threshold_backward: dx = 0 where y <= 0, else dy) passes dy
  // through at NaN; at exactly 0 the gradient is 0. x = [NaN, -1, 0, 2], dy = 1.
  TEST_CASE("relu: NaN propagates and passes the gradient, 0 gets none, as PyTorch") {
    for (DType dt : {DType::f32, DType::f64}) {
      Tensor x = leaf(from_vector<double>({NAN, -1, 0, 2}, {4}).to(dt));
      Tensor y = relu(x);
      const std::vector<double> v = y.to_vector<double>();
      CHECK(std::isnan(v[0]));
      CHECK(v[1] == 0);
      CHECK(v[2] == 0);
      CHECK(v[3] == 2);
      y.backward(ones_like(y));
      check_values("dx", x.grad(), {1, 0, 0, 1});
    }
  }
  // sigmoid(+-ln 3) = 1/(1 + 1/3), 1/(1 + 3) = 3/4, 1/4; sigmoid(+-ln 4) = 4/5, 1/5; dx = dy y (1 - y).
  TEST_CASE("sigmoid: at 0, +-ln 3 and +-ln 4") {
    const double l3 = std::log(3.0), l4 = std::log(4.0);
    check_unary_known([](const Tensor& x) { return sigmoid(x); }, {0, l3, -l3, l4, -l4, 0},
                      {0.5, 0.75, 0.25, 0.8, 0.2, 0.5}, {0.25, -0.1875, 0.375, 0.08, 0.48, 0.25});
  }
  // silu(x) = x sigmoid(x): with the sigmoids above, silu(+-ln 3) = 0.75 ln 3, -0.25 ln 3, silu(+-ln 4) =
  // 0.8 ln 4, -0.2 ln 4; dx = dy sg (1 + x (1 - sg)).
  TEST_CASE("silu: at 0, +-ln 3 and +-ln 4") {
    const double l3 = std::log(3.0), l4 = std::log(4.0);
    check_unary_known([](const Tensor& x) { return silu(x); }, {0, l3, -l3, l4, -l4, 0},
                      {0, 0.75 * l3, -0.25 * l3, 0.8 * l4, -0.2 * l4, 0},
                      {0.5, -0.75 * (1 + 0.25 * l3), 2 * 0.25 * (1 - 0.75 * l3), 0.5 * 0.8 * (1 + 0.2 * l4),
                       3 * 0.2 * (1 - 0.8 * l4), 0.5});
  }
  // tanh(ln a) = (a - 1/a) / (a + 1/a): tanh(ln 2) = 3/5, tanh(ln 3) = 4/5; dx = dy (1 - y^2).
  TEST_CASE("tanh: at 0, +-ln 2 and +-ln 3") {
    const double l2 = std::log(2.0), l3 = std::log(3.0);
    check_unary_known([](const Tensor& x) { return tanh(x); }, {0, l2, -l2, l3, -l3, 0}, {0, 0.6, -0.6, 0.8, -0.8, 0},
                      {1, -0.64, 1.28, 0.18, 1.08, 1});
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("neg: plain and transposed") { gradcheck_unary("neg", [](const Tensor& x) { return neg(x); }, -1, 1); }
  TEST_CASE("exp: plain and transposed") { gradcheck_unary("exp", [](const Tensor& x) { return exp(x); }, -2, 2); }
  TEST_CASE("log: plain and transposed, x in [0.5, 3)") {
    gradcheck_unary("log", [](const Tensor& x) { return log(x); }, 0.5, 3);
  }
  TEST_CASE("sqrt: plain and transposed, x in [0.5, 3)") {
    gradcheck_unary("sqrt", [](const Tensor& x) { return sqrt(x); }, 0.5, 3);
  }
  TEST_CASE("relu: plain and transposed, |x| >= 0.1") {
    gradcheck_unary("relu", [](const Tensor& x) { return relu(x); }, -1, 1, true);
  }
  TEST_CASE("sigmoid: plain and transposed") {
    gradcheck_unary("sigmoid", [](const Tensor& x) { return sigmoid(x); }, -4, 4);
  }
  TEST_CASE("tanh: plain and transposed") { gradcheck_unary("tanh", [](const Tensor& x) { return tanh(x); }, -3, 3); }
  TEST_CASE("silu: plain and transposed") { gradcheck_unary("silu", [](const Tensor& x) { return silu(x); }, -4, 4); }
}

TEST_SUITE("torch") {
  TEST_CASE("neg: forward and gradients match PyTorch") { check_torch("neg", [](const Tensor& x) { return neg(x); }); }
  TEST_CASE("exp: forward and gradients match PyTorch") { check_torch("exp", [](const Tensor& x) { return exp(x); }); }
  TEST_CASE("log: forward and gradients match PyTorch") { check_torch("log", [](const Tensor& x) { return log(x); }); }
  TEST_CASE("sqrt: forward and gradients match PyTorch") { check_torch("sqrt", [](const Tensor& x) { return sqrt(x); }); }
  TEST_CASE("relu: forward and gradients match PyTorch") { check_torch("relu", [](const Tensor& x) { return relu(x); }); }
  TEST_CASE("sigmoid: forward and gradients match PyTorch") {
    check_torch("sigmoid", [](const Tensor& x) { return sigmoid(x); });
  }
  TEST_CASE("tanh: forward and gradients match PyTorch") { check_torch("tanh", [](const Tensor& x) { return tanh(x); }); }
  TEST_CASE("silu: forward and gradients match PyTorch") { check_torch("silu", [](const Tensor& x) { return silu(x); }); }
}

TEST_SUITE("kernels") {
  // exp_vec (kernels/cpu/vec_math.h), SiLU's exp: within 2 ulp of the correctly rounded e^x on a sweep of
  // 2 million points over its whole range, NaN kept, and the documented clamps at both ends.
  TEST_CASE("exp_vec: within 2 ulp of exp on [-87.3, 88.37], NaN stays NaN, clamped outside") {
    double worst_ulp = 0;
    const int n = 2000000;
    for (int i = 0; i <= n; ++i) {
      const float x = static_cast<float>(-87.3 + (88.37 + 87.3) * i / n);
      const double want = std::exp(static_cast<double>(x));
      const float got = exp_vec(x);
      const float rounded = static_cast<float>(want);
      const double ulp = std::nextafter(rounded, INFINITY) - rounded;
      worst_ulp = std::max(worst_ulp, std::abs(got - want) / ulp);
    }
    MESSAGE("exp_vec: worst error " << worst_ulp << " ulp");
    CHECK(worst_ulp <= 2);
    CHECK(std::isnan(exp_vec(std::nanf(""))));
    CHECK(exp_vec(-100.0f) > 0);
    CHECK(exp_vec(-100.0f) < 1.3e-38f);
    CHECK(std::isfinite(exp_vec(100.0f)));
    CHECK(exp_vec(100.0f) > 2e38f);
    CHECK(exp_vec(0.0f) == 1.0f);
  }

  // Iteration shape [29, 41, 31] (36859 elements: more than one thread's grain, so threads start mid-row).
  // Forward: x read transposed from a [31, 41, 29] buffer, y written to every other element of a buffer of
  // guards. Backward: dy broadcast from [41] (stride 0 inside a row), x transposed, y contiguous, dx
  // contiguous. Both against a plain loop with the same arithmetic, exactly.
  TEST_CASE_TEMPLATE("unary ops: strided and broadcast loops equal a plain loop, forward and backward", T, float, double) {
    const DType dt = dtype_of<T>;
    const int64_t I = 29, J = 41, K = 31, n = I * J * K;
    const Shape shape{I, J, K};
    const Tensor xa = test_input({K, J, I}, 3, -1, 2, dt), xp = test_input({K, J, I}, 4, 0.5, 2, dt);
    const Tensor dy = test_input({J}, 5, -1, 1, dt);
    const Strides xt{1, I, J * I}, contiguous{J * K, K, 1};
    const struct {
      UnaryOp op;
      double s;
      bool positive;
    } ops[] = {{UnaryOp::neg, 0, false},         {UnaryOp::exp, 0, false},          {UnaryOp::log, 0, true},
               {UnaryOp::sqrt, 0, true},         {UnaryOp::relu, 0, false},         {UnaryOp::sigmoid, 0, false},
               {UnaryOp::tanh, 0, false},        {UnaryOp::silu, 0, false},         {UnaryOp::add_scalar, 1.5, false},
               {UnaryOp::mul_scalar, -0.7, false}, {UnaryOp::div_scalar, 3, false}, {UnaryOp::pow_scalar, 2.5, true},
               {UnaryOp::rsub_scalar, 2, false}, {UnaryOp::rdiv_scalar, -2, true}};
    for (const auto& o : ops) {
      CAPTURE(unary_op_name(o.op));
      const Tensor& xo = o.positive ? xp : xa;
      const T* x = xo.data<T>();
      const T s = static_cast<T>(o.s);
      std::vector<T> y_want(n), dx_want(n);
      for (int64_t i = 0; i < I; ++i)
        for (int64_t j = 0; j < J; ++j)
          for (int64_t k = 0; k < K; ++k) {
            const T xv = x[(k * J + j) * I + i], yv = unary_reference<T>(o.op, xv, s);
            y_want[(i * J + j) * K + k] = yv;
            dx_want[(i * J + j) * K + k] = unary_backward_reference<T>(o.op, dy.data<T>()[j], xv, yv, s);
          }
      Tensor y = full({I, J, K, 2}, 99, dt);
      unary_forward_cpu<T>(o.op, y.data<T>(), x, o.s, make_loop(shape, {{2 * J * K, 2 * K, 2}, xt}));
      check_close("y", y.select(3, 0), from_vector(y_want, shape), {0, 0});
      check_values("guards", sum(y.select(3, 1)), {99.0 * n});
      const Tensor yc = y.select(3, 0).contiguous();
      Tensor dx = full(shape, 99, dt);
      unary_backward_cpu<T>(o.op, dx.data<T>(), dy.data<T>(), x, yc.data<T>(), o.s,
                            make_loop(shape, {contiguous, {0, 1, 0}, xt, contiguous}));
      check_close("dx", dx, from_vector(dx_want, shape), {0, 0});
    }
  }
}

}  // namespace nn::test
