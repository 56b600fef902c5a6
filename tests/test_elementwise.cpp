// Binary and scalar elementwise ops (add, sub, mul, div, pow; their scalar forms and the operators):
// known answer, gradcheck, PyTorch parity, and the strided/broadcast kernel loop against a plain loop.
// Unary ops are in tests/test_elementwise_unary.cpp; both read the "elementwise" PyTorch references.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "kernels/elementwise.h"
#include "tests/check.h"

namespace nn::test {

namespace {

using BinaryFn = std::function<Tensor(const Tensor&, const Tensor&)>;
using ScalarFn = std::function<Tensor(const Tensor&, double)>;

// The upstream gradient of every known answer below, [2, 3].
Tensor known_dy(DType dtype = DType::f32) { return from_vector<double>({1, -1, 2, 0.5, 3, 1}, {2, 3}).to(dtype); }

// Runs y = f(a, b) on leaves, checks y, backpropagates known_dy() and checks both gradients.
void check_binary_known(const BinaryFn& f, const Tensor& a0, const Tensor& b0, const std::vector<double>& y_want,
                        const std::vector<double>& da_want, const std::vector<double>& db_want, double atol = 1e-6) {
  Tensor a = leaf(a0), b = leaf(b0);
  Tensor y = f(a, b);
  CHECK(y.shape() == Shape{2, 3});
  check_values("y", y, y_want, atol);
  y.backward(known_dy(a0.dtype()));
  CHECK(a.grad().shape() == a0.shape());
  CHECK(b.grad().shape() == b0.shape());
  check_values("da", a.grad(), da_want, atol);
  check_values("db", b.grad(), db_want, atol);
}

// x [2, 3] = [[1, 2, 4], [0.5, -1, -2]] unless given; y = f(x), then dx for dy = known_dy().
void check_scalar_known(const std::function<Tensor(const Tensor&)>& f, const std::vector<double>& y_want,
                        const std::vector<double>& dx_want, std::vector<float> xs = {1, 2, 4, 0.5, -1, -2}) {
  Tensor x = leaf(from_vector(xs, {2, 3}));
  Tensor y = f(x);
  CHECK(y.shape() == Shape{2, 3});
  check_values("y", y, y_want);
  y.backward(known_dy());
  check_values("dx", x.grad(), dx_want);
}

// Gradchecks op(a, b) with b broadcast, a broadcast, both broadcast, b 0-dim and a transposed (non-contiguous).
void gradcheck_binary(const std::string& op, const BinaryFn& f, double a_lo, double a_hi, double b_lo, double b_hi) {
  const Shape shapes[][2] = {{{3, 4}, {3, 4}}, {{2, 3, 4}, {3, 1}}, {{3, 1}, {2, 3, 4}}, {{4, 1, 5}, {3, 1}}, {{2, 3}, {}}};
  uint64_t seed = 1;
  for (const auto& s : shapes) {
    gradcheck(op + " " + s[0].str() + " with " + s[1].str(),
              [&](const std::vector<Tensor>& in) { return f(in[0], in[1]); },
              {test_input(s[0], seed, a_lo, a_hi), test_input(s[1], seed + 1, b_lo, b_hi)});
    seed += 2;
  }
  gradcheck(op + " transposed [4, 3] with [4]",
            [&](const std::vector<Tensor>& in) { return f(in[0].transpose(0, 1), in[1]); },
            {test_input({4, 3}, seed, a_lo, a_hi), test_input({4}, seed + 1, b_lo, b_hi)});
}

void gradcheck_scalar(const std::string& op, const ScalarFn& f, double s, double lo, double hi) {
  gradcheck(op, [&](const std::vector<Tensor>& in) { return f(in[0], s); }, {test_input({3, 4, 2}, 11, lo, hi)});
  gradcheck(op + " transposed", [&](const std::vector<Tensor>& in) { return f(in[0].transpose(0, 1), s); },
            {test_input({5, 3}, 12, lo, hi)});
}

// Every "elementwise" reference case of `op`: forward, and the gradient of each input (a, and b for binary ops).
void check_torch(const std::string& op, const BinaryFn& binary_fn, const ScalarFn& scalar_fn) {
  int n = 0;
  for (const TorchCase& c : torch_cases("elementwise")) {
    if (c.params["op"] != op) continue;
    CAPTURE(c.name);
    ++n;
    Tensor a = leaf(c["a"]), b = c.has("b") ? leaf(c["b"]) : Tensor();
    const Tensor av = c.params["transpose_a"].get<bool>() ? a.transpose(0, 1) : a;
    Tensor y = binary_fn ? binary_fn(av, b) : scalar_fn(av, c.params["scalar"].get<double>());
    check_close(c.name + " y", y, c["y"]);
    y.backward(c["dy"]);
    check_close(c.name + " da", a.grad(), c["da"]);
    if (binary_fn) check_close(c.name + " db", b.grad(), c["db"]);
  }
  CHECK_MESSAGE(n >= 2, "no PyTorch cases for " << op);
}

}  // namespace

TEST_SUITE("known") {
  // dy = [[1, -1, 2], [0.5, 3, 1]] throughout. a [2, 3] = [[1, 2, 3], [4, 5, 6]] unless stated.
  // b [3] = [10, 20, 30]: y = a + b row by row; da = dy; db = column sums of dy = [1.5, 2, 3].
  TEST_CASE("add: [2, 3] + [3] broadcasts b over rows") {
    const std::vector<double> y = {11, 22, 33, 14, 25, 36};
    check_binary_known([](auto& a, auto& b) { return add(a, b); }, from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}),
                       from_vector<float>({10, 20, 30}, {3}), y, {1, -1, 2, 0.5, 3, 1}, {1.5, 2, 3});
    check_binary_known([](auto& a, auto& b) { return a + b; }, from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}),
                       from_vector<float>({10, 20, 30}, {3}), y, {1, -1, 2, 0.5, 3, 1}, {1.5, 2, 3});
  }
  // b [2, 1] = [10, 20]: y = a - b per row; da = dy; db = -(row sums of dy) = [-(1-1+2), -(0.5+3+1)].
  TEST_CASE("sub: [2, 3] - [2, 1] broadcasts b over columns") {
    for (const BinaryFn& f : {BinaryFn([](auto& a, auto& b) { return sub(a, b); }),
                              BinaryFn([](auto& a, auto& b) { return a - b; })})
      check_binary_known(f, from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}), from_vector<float>({10, 20}, {2, 1}),
                         {-9, -8, -7, -16, -15, -14}, {1, -1, 2, 0.5, 3, 1}, {-2, -4.5});
  }
  // a [2, 1] = [2, -3], b [3] = [1, 2, 4]: both broadcast, y[i][j] = a[i] b[j].
  // da[i] = sum_j dy[i][j] b[j] = [1 - 2 + 8, 0.5 + 6 + 4]; db[j] = sum_i dy[i][j] a[i] = [2 - 1.5, -2 - 9, 4 - 3].
  TEST_CASE("mul: [2, 1] * [3] broadcasts both operands") {
    for (const BinaryFn& f : {BinaryFn([](auto& a, auto& b) { return mul(a, b); }),
                              BinaryFn([](auto& a, auto& b) { return a * b; })})
      check_binary_known(f, from_vector<float>({2, -3}, {2, 1}), from_vector<float>({1, 2, 4}, {3}),
                         {2, 4, 8, -3, -6, -12}, {7, 10.5}, {0.5, -11, 1});
  }
  // b [3] = [2, 4, 0.5]: da = dy / b; db[j] = -sum_i dy a / b^2 = [-(1 + 2)/4, -(-2 + 15)/16, -(6 + 6)/0.25].
  TEST_CASE("div: [2, 3] / [3] broadcasts b over rows") {
    for (const BinaryFn& f : {BinaryFn([](auto& a, auto& b) { return div(a, b); }),
                              BinaryFn([](auto& a, auto& b) { return a / b; })})
      check_binary_known(f, from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}), from_vector<float>({2, 4, 0.5}, {3}),
                         {0.5, 0.5, 6, 2, 1.25, 12}, {0.5, -0.25, 4, 0.25, 0.75, 2}, {-0.75, -0.8125, -48});
  }
  // a = [[1, 2, 4], [0.5, 3, 9]], b [3] = [2, 3, 0.5]: y = [[1, 8, 2], [0.25, 27, 3]].
  // da = dy b a^(b-1) = [[1*2*1, -1*3*4, 2*0.5/2], [0.5*2*0.5, 3*3*9, 1*0.5/3]];
  // db[j] = sum_i dy a^b ln a = [0.5*0.25 ln 0.5, -8 ln 2 + 3*27 ln 3, 2*2 ln 4 + 3 ln 9]. In float64 (ln values).
  TEST_CASE("pow: [2, 3] ^ [3] broadcasts the exponent over rows") {
    const double l2 = std::log(2.0), l3 = std::log(3.0);
    check_binary_known([](auto& a, auto& b) { return pow(a, b); },
                       from_vector<double>({1, 2, 4, 0.5, 3, 9}, {2, 3}), from_vector<double>({2, 3, 0.5}, {3}),
                       {1, 8, 2, 0.25, 27, 3}, {2, -12, 0.5, 0.5, 81, 1.0 / 6},
                       {-0.125 * l2, -8 * l2 + 81 * l3, 8 * l2 + 6 * l3}, 1e-12);
  }
  // PyTorch's convention at a zero base: d(0^b)/db = 0 for b >= 0 (not 0 * ln 0 = NaN); d(a^0)/da = 0.
  // a = [0, 0, 2], b = [2, 0, 0]: y = [0, 1, 1]; da = [2*0, 0, 0]; db = [0, 0, 1 * ln 2].
  TEST_CASE("pow: zero base and zero exponent follow PyTorch's gradient conventions") {
    Tensor a = leaf(from_vector<double>({0, 0, 2}, {3})), b = leaf(from_vector<double>({2, 0, 0}, {3}));
    Tensor y = pow(a, b);
    check_values("y", y, {0, 1, 1});
    y.backward(ones_like(y));
    check_values("da", a.grad(), {0, 0, 0});
    check_values("db", b.grad(), {0, 0, std::log(2.0)});
  }

  // Scalar ops on x = [[1, 2, 4], [0.5, -1, -2]] with dy = [[1, -1, 2], [0.5, 3, 1]].
  TEST_CASE("add scalar: x + 2.5 and 2.5 + x, dx = dy") {
    for (auto f : {+[](const Tensor& x) { return add(x, 2.5); }, +[](const Tensor& x) { return x + 2.5; },
                   +[](const Tensor& x) { return 2.5 + x; }})
      check_scalar_known(f, {3.5, 4.5, 6.5, 3, 1.5, 0.5}, {1, -1, 2, 0.5, 3, 1});
  }
  TEST_CASE("sub scalar: x - 1.5, dx = dy") {
    for (auto f : {+[](const Tensor& x) { return sub(x, 1.5); }, +[](const Tensor& x) { return x - 1.5; }})
      check_scalar_known(f, {-0.5, 0.5, 2.5, -1, -2.5, -3.5}, {1, -1, 2, 0.5, 3, 1});
  }
  TEST_CASE("rsub: 3 - x, dx = -dy") {
    for (auto f : {+[](const Tensor& x) { return rsub(x, 3); }, +[](const Tensor& x) { return 3.0 - x; }})
      check_scalar_known(f, {2, 1, -1, 2.5, 4, 5}, {-1, 1, -2, -0.5, -3, -1});
  }
  TEST_CASE("mul scalar: x * -2 and -2 * x, dx = -2 dy") {
    for (auto f : {+[](const Tensor& x) { return mul(x, -2); }, +[](const Tensor& x) { return x * -2.0; },
                   +[](const Tensor& x) { return -2.0 * x; }})
      check_scalar_known(f, {-2, -4, -8, -1, 2, 4}, {-2, 2, -4, -1, -6, -2});
  }
  TEST_CASE("div scalar: x / 4, dx = dy / 4") {
    for (auto f : {+[](const Tensor& x) { return div(x, 4); }, +[](const Tensor& x) { return x / 4.0; }})
      check_scalar_known(f, {0.25, 0.5, 1, 0.125, -0.25, -0.5}, {0.25, -0.25, 0.5, 0.125, 0.75, 0.25});
  }
  // y = 2 / x; dx = -2 dy / x^2 = [-2/1, 2/4, -4/16, -1/0.25, -6/1, -2/4].
  TEST_CASE("rdiv: 2 / x, dx = -2 dy / x^2") {
    for (auto f : {+[](const Tensor& x) { return rdiv(x, 2); }, +[](const Tensor& x) { return 2.0 / x; }})
      check_scalar_known(f, {2, 1, 0.5, 4, -2, -1}, {-2, 0.5, -0.25, -4, -6, -0.5});
  }
  // x^2: dx = 2 x dy. x^-0.5 on [[1, 4, 0.25], [16, 1, 4]]: y = [1, 0.5, 2, 0.25, 1, 0.5],
  // dx = -0.5 x^-1.5 dy = -0.5 [1, 1/8, 8, 1/64, 1, 1/8] * dy. x^0 = 1 with dx = 0 (as PyTorch).
  TEST_CASE("pow scalar: x^2, x^-0.5 and x^0") {
    check_scalar_known([](const Tensor& x) { return pow(x, 2.0); }, {1, 4, 16, 0.25, 1, 4}, {2, -4, 16, 0.5, -6, -4});
    check_scalar_known([](const Tensor& x) { return pow(x, -0.5); }, {1, 0.5, 2, 0.25, 1, 0.5},
                       {-0.5, 0.0625, -8, -0.00390625, -1.5, -0.0625}, {1, 4, 0.25, 16, 1, 4});
    check_scalar_known([](const Tensor& x) { return pow(x, 0.0); }, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0},
                       {1, 0, 4, 0.5, -1, -2});
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("add: broadcasting both ways, 0-dim and transposed operands") {
    gradcheck_binary("add", [](auto& a, auto& b) { return add(a, b); }, -1, 1, -1, 1);
  }
  TEST_CASE("sub: broadcasting both ways, 0-dim and transposed operands") {
    gradcheck_binary("sub", [](auto& a, auto& b) { return sub(a, b); }, -1, 1, -1, 1);
  }
  TEST_CASE("mul: broadcasting both ways, 0-dim and transposed operands") {
    gradcheck_binary("mul", [](auto& a, auto& b) { return mul(a, b); }, -1, 1, -1, 1);
  }
  TEST_CASE("div: broadcasting both ways, 0-dim and transposed operands, divisor in [0.5, 2)") {
    gradcheck_binary("div", [](auto& a, auto& b) { return div(a, b); }, -1, 1, 0.5, 2);
  }
  TEST_CASE("pow: broadcasting both ways, 0-dim and transposed operands, base in [0.5, 2)") {
    gradcheck_binary("pow", [](auto& a, auto& b) { return pow(a, b); }, 0.5, 2, -1.5, 1.5);
  }
  TEST_CASE("add_relu: one op on the CPU, and the two ops for broadcast operands") {
    gradcheck("add_relu", [](const std::vector<Tensor>& in) { return add_relu(in[0], in[1]); },
              {test_input({3, 4, 5}, 31), test_input({3, 4, 5}, 32)});
    gradcheck("add_relu, transposed operand",
              [](const std::vector<Tensor>& in) { return add_relu(in[0].transpose(0, 1), in[1]); },
              {test_input({4, 3, 5}, 33), test_input({3, 4, 5}, 34)});
    gradcheck("add_relu broadcast", [](const std::vector<Tensor>& in) { return add_relu(in[0], in[1]); },
              {test_input({3, 4, 5}, 35), test_input({5}, 36)});
  }
  TEST_CASE("add scalar, sub scalar, rsub: plain and transposed") {
    gradcheck_scalar("add scalar", [](auto& x, double s) { return add(x, s); }, 2.5, -1, 1);
    gradcheck_scalar("sub scalar", [](auto& x, double s) { return sub(x, s); }, 1.5, -1, 1);
    gradcheck_scalar("rsub", [](auto& x, double s) { return rsub(x, s); }, 3, -1, 1);
  }
  TEST_CASE("mul scalar, div scalar, rdiv: plain and transposed, rdiv on [0.5, 2)") {
    gradcheck_scalar("mul scalar", [](auto& x, double s) { return mul(x, s); }, -0.7, -1, 1);
    gradcheck_scalar("div scalar", [](auto& x, double s) { return div(x, s); }, 3, -1, 1);
    gradcheck_scalar("rdiv", [](auto& x, double s) { return rdiv(x, s); }, -2, 0.5, 2);
  }
  TEST_CASE("pow scalar: exponents 3 (any sign), 2.5 and -1.5 (positive base)") {
    gradcheck_scalar("pow 3", [](auto& x, double s) { return pow(x, s); }, 3, -1, 1);
    gradcheck_scalar("pow 2.5", [](auto& x, double s) { return pow(x, s); }, 2.5, 0.5, 2);
    gradcheck_scalar("pow -1.5", [](auto& x, double s) { return pow(x, s); }, -1.5, 0.5, 2);
  }
}

TEST_SUITE("torch") {
  TEST_CASE("add: forward and gradients match PyTorch") {
    check_torch("add", [](auto& a, auto& b) { return add(a, b); }, {});
  }
  TEST_CASE("sub: forward and gradients match PyTorch") {
    check_torch("sub", [](auto& a, auto& b) { return sub(a, b); }, {});
  }
  TEST_CASE("mul: forward and gradients match PyTorch") {
    check_torch("mul", [](auto& a, auto& b) { return mul(a, b); }, {});
  }
  TEST_CASE("div: forward and gradients match PyTorch") {
    check_torch("div", [](auto& a, auto& b) { return div(a, b); }, {});
  }
  TEST_CASE("pow: forward and gradients match PyTorch") {
    check_torch("pow", [](auto& a, auto& b) { return pow(a, b); }, {});
  }
  TEST_CASE("add scalar: forward and gradients match PyTorch") {
    check_torch("add_scalar", {}, [](auto& x, double s) { return add(x, s); });
  }
  TEST_CASE("sub scalar: forward and gradients match PyTorch") {
    check_torch("sub_scalar", {}, [](auto& x, double s) { return sub(x, s); });
  }
  TEST_CASE("rsub: forward and gradients match PyTorch") {
    check_torch("rsub", {}, [](auto& x, double s) { return rsub(x, s); });
  }
  TEST_CASE("mul scalar: forward and gradients match PyTorch") {
    check_torch("mul_scalar", {}, [](auto& x, double s) { return mul(x, s); });
  }
  TEST_CASE("div scalar: forward and gradients match PyTorch") {
    check_torch("div_scalar", {}, [](auto& x, double s) { return div(x, s); });
  }
  TEST_CASE("rdiv: forward and gradients match PyTorch") {
    check_torch("rdiv", {}, [](auto& x, double s) { return rdiv(x, s); });
  }
  TEST_CASE("pow scalar: forward and gradients match PyTorch") {
    check_torch("pow_scalar", {}, [](auto& x, double s) { return pow(x, s); });
  }
}

TEST_SUITE("kernels") {
  // ResNet's residual connection as one op (tensor/ops.h): the output and both gradients bit for bit those
  // of relu(add(a, b)), -0, NaN, +-inf and values on both sides of the kink included, with one operand
  // that needs no gradient.
  TEST_CASE_TEMPLATE("add_relu: bitwise the values and gradients of relu(add(a, b))", T, float, double) {
    const DType dt = std::is_same_v<T, float> ? DType::f32 : DType::f64;
    Tensor a0 = test_input({2, 3, 7, 9}, 41, -1, 1, dt), b0 = test_input({2, 3, 7, 9}, 42, -1, 1, dt);
    {
      constexpr T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
      std::vector<T> a = a0.to_vector<T>(), b = b0.to_vector<T>();
      const T special[][2] = {{-0.0, 0.0}, {0.0, -0.0}, {-0.0, -0.0}, {nan, 1}, {1, nan}, {inf, -inf}, {inf, 1},
                              {-inf, 1}, {0.25, -0.25}, {-1, 1}};
      for (size_t i = 0; i < std::size(special); ++i) a[i * 3] = special[i][0], b[i * 3] = special[i][1];
      a0 = from_vector<T>(a, a0.shape()), b0 = from_vector<T>(b, b0.shape());
    }
    const Tensor dy = test_input(a0.shape(), 43, -1, 1, dt);
    auto run = [&](bool fused, bool b_grad) {
      Tensor a = leaf(a0.clone()), b = b_grad ? leaf(b0.clone()) : b0.clone();
      Tensor y = fused ? add_relu(a, b) : relu(add(a, b));
      y.backward(dy);
      return std::array<Tensor, 3>{y, a.grad(), b_grad ? b.grad() : Tensor()};
    };
    auto bits = [](const Tensor& t) {
      const std::vector<T> v = t.to_vector<T>();
      std::vector<unsigned char> out(v.size() * sizeof(T));
      std::memcpy(out.data(), v.data(), out.size());
      return out;
    };
    for (const bool b_grad : {true, false}) {
      const auto fused = run(true, b_grad), plain = run(false, b_grad);
      CHECK(bits(fused[0]) == bits(plain[0]));
      CHECK(bits(fused[1]) == bits(plain[1]));
      if (b_grad) CHECK(bits(fused[2]) == bits(plain[2]));
      else CHECK_FALSE(fused[2].defined());
    }
    const std::vector<T> y = run(true, false)[0].template to_vector<T>();
    CHECK(std::count(y.begin(), y.end(), T(0)) > 100);  // both sides of the ReLU
    CHECK(std::count_if(y.begin(), y.end(), [](T v) { return v > 0; }) > 100);
    CHECK(std::isnan(y[9]));
    CHECK(std::signbit(y[6]));  // relu(-0 + -0) = -0, as relu() leaves it
  }

  // make_loop drops size-1 dimensions and merges dimensions every operand steps through as one.
  TEST_CASE("elementwise: make_loop merges contiguous dimensions and keeps broadcast ones apart") {
    const Shape s{4, 1, 5, 6};
    const Strides c = contiguous_strides(s);
    Loop L = make_loop(s, {c, c, c});
    CHECK(L.ndim == 1);
    CHECK(L.shape[0] == 120);
    L = make_loop(s, {c, c, Strides{0, 0, 6, 1}});  // b [5, 6] broadcast over the leading 4
    CHECK(L.ndim == 2);
    CHECK((L.shape[0] == 4 && L.shape[1] == 30));
    CHECK((L.strides[2][0] == 0 && L.strides[2][1] == 1));
    L = make_loop(s, {c, Strides{1, 0, 4, 20}, c});  // a read from a [6, 5, 4] buffer reversed: nothing merges
    CHECK(L.ndim == 3);
  }

  // Iteration shape [23, 37, 50] (42550 elements: more than one thread's grain, so threads start mid-row):
  // a read transposed from a [50, 37, 23] buffer, b broadcast from [37], the output written to every other
  // element of a buffer of guards; then the contiguous-output, inner-broadcast fast path. Exact equality with
  // a plain loop doing the same arithmetic.
  TEST_CASE_TEMPLATE("add, sub, mul, div, pow: strided and broadcast loops equal a plain loop", T, float, double) {
    const DType dt = dtype_of<T>;
    const int64_t I = 23, J = 37, K = 50;
    const Shape shape{I, J, K};
    const Tensor a = test_input({K, J, I}, 1, 0.5, 2, dt), b = test_input({J}, 2, 0.5, 2, dt);
    const T *ap = a.data<T>(), *bp = b.data<T>();
    auto ref = [](BinaryOp op, T u, T v) -> T {
      switch (op) {
        case BinaryOp::add: return u + v;
        case BinaryOp::sub: return u - v;
        case BinaryOp::mul: return u * v;
        case BinaryOp::div: return u / v;
        default: return std::pow(u, v);
      }
    };
    for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div, BinaryOp::pow}) {
      CAPTURE(binary_op_name(op));
      std::vector<T> want(I * J * K);
      for (int64_t i = 0; i < I; ++i)
        for (int64_t j = 0; j < J; ++j)
          for (int64_t k = 0; k < K; ++k) want[(i * J + j) * K + k] = ref(op, ap[(k * J + j) * I + i], bp[j]);
      Tensor out = full({I, J, K, 2}, 99, dt);
      binary_forward_cpu<T>(op, out.data<T>(), ap, bp, make_loop(shape, {{2 * J * K, 2 * K, 2}, {1, I, J * I}, {0, 1, 0}}));
      check_close("strided out", out.select(3, 0), from_vector(want, shape), {0, 0});
      check_values("guards", sum(out.select(3, 1)), {99.0 * I * J * K});
      // Contiguous out and a (a = the same values, made contiguous), b broadcast along the inner dimension.
      const Tensor ac = from_vector(a.to_vector<T>(), {I, J, K});
      std::vector<T> want2(I * J * K);
      for (int64_t n = 0; n < I * J * K; ++n) want2[n] = ref(op, ac.data<T>()[n], bp[(n / K) % J]);
      Tensor out2 = full(shape, 99, dt);
      binary_forward_cpu<T>(op, out2.data<T>(), ac.data<T>(), bp,
                            make_loop(shape, {{J * K, K, 1}, {J * K, K, 1}, {0, 1, 0}}));
      check_close("contiguous out", out2, from_vector(want2, shape), {0, 0});
    }
  }
}

}  // namespace nn::test
