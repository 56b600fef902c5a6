// cat, flatten and the differentiable views and copies of Tensor (reshape, view, permute, transpose, slice,
// select, unsqueeze, squeeze, expand, contiguous, clone, to(dtype)): known answer, gradcheck, PyTorch parity,
// and argument errors.
//
// Known answers use x = 0, 1, 2, ... (arange) so every output value names the input element it came from,
// and dy = 10, 20, 30, ... so every gradient value names the output element it came from.
#include <cmath>

#include "tests/check.h"

namespace nn::test {

namespace {

Tensor ramp(const Shape& shape, DType dtype = DType::f32) { return arange(shape.numel(), dtype).reshape(shape).clone(); }
Tensor tens(const Shape& shape) { return mul(add(ramp(shape), 1.0), 10.0); }  // 10, 20, 30, ...

// A non-linear function of a view's output, so gradchecks see a non-trivial gradient: y * y * c, c fixed.
Tensor through(const Tensor& y) { return mul(mul(y, y), test_input(y.shape(), 77)); }

Shape shape_of(const nlohmann::json& j) {
  const std::vector<int64_t> v = j.get<std::vector<int64_t>>();
  return Shape(std::span<const int64_t>(v));
}

// Mirrors apply() in tests/torch_cases_shape.py (after its optional transpose).
Tensor apply_view(const std::string& op, const nlohmann::json& p, const Tensor& x) {
  if (op == "reshape") return x.reshape(shape_of(p["shape"]));
  if (op == "view") return x.view(shape_of(p["shape"]));
  if (op == "expand") return x.expand(shape_of(p["shape"]));
  if (op == "permute") return x.permute(shape_of(p["order"]));
  if (op == "transpose") return x.transpose(p["dim0"], p["dim1"]);
  if (op == "slice") return x.slice(p["dim"], p["start"], p["end"], p["step"]);
  if (op == "select") return x.select(p["dim"], p["index"]);
  if (op == "unsqueeze") return x.unsqueeze(p["dim"]);
  if (op == "squeeze") return x.squeeze(p["dim"]);
  if (op == "contiguous") return x.contiguous();
  if (op == "clone") return x.clone();
  if (op == "to") return x.to(p["to"] == "f64" ? DType::f64 : DType::f32);
  if (op == "flatten") return flatten(x, p["start_dim"], p["end_dim"]);
  NN_FAIL("apply_view: unknown op {}", op);
}

void check_torch_view(const std::string& op) {
  check_torch_one_input(
      "shape", op,
      [&](const TorchCase& c, const Tensor& x) {
        return apply_view(op, c.params, c.params["transposed"] ? x.transpose(0, -1) : x);
      },
      "x", 4);
}

}  // namespace

TEST_SUITE("known") {
  TEST_CASE("reshape: -1 inferred as a view; a transposed source is copied") {
    // [[0, 1, 2], [3, 4, 5]] -> {3, -1} = [3, 2]: the same row-major values, same storage; dy comes back as is.
    Tensor x = leaf(ramp({2, 3}));
    Tensor y = x.reshape({3, -1});
    CHECK(y.shape() == Shape{3, 2});
    CHECK(y.storage() == x.storage());
    check_values("y", y, {0, 1, 2, 3, 4, 5});
    y.backward(tens({3, 2}));
    check_values("dx", x.grad(), {10, 20, 30, 40, 50, 60});
    // x^T = [[0, 3], [1, 4], [2, 5]] cannot be flattened in place: reshape copies 0 3 1 4 2 5. dy = 10..60 lands
    // on x^T in that order, so dx = [[10, 30, 50], [20, 40, 60]].
    Tensor x2 = leaf(ramp({2, 3}));
    Tensor y2 = x2.transpose(0, 1).reshape({-1});
    CHECK(y2.storage() != x2.storage());
    check_values("y2", y2, {0, 3, 1, 4, 2, 5});
    y2.backward(tens({6}));
    check_values("dx2", x2.grad(), {10, 30, 50, 20, 40, 60});
  }
  TEST_CASE("view: rows 1..2 of a 4x3 tensor viewed as 6 and as {3, -1}") {
    // Rows 1 and 2 of arange 12 are one contiguous block from offset 3: 3..8. dy = 10..60 goes to those rows.
    Tensor x = leaf(ramp({4, 3}));
    Tensor y = x.slice(0, 1, 3).view({6});
    CHECK(y.storage() == x.storage());
    CHECK(y.offset() == 3);
    check_values("y", y, {3, 4, 5, 6, 7, 8});
    CHECK(x.slice(0, 1, 3).view({3, -1}).shape() == Shape{3, 2});
    y.backward(tens({6}));
    check_values("dx", x.grad(), {0, 0, 0, 10, 20, 30, 40, 50, 60, 0, 0, 0});
  }
  TEST_CASE("permute: [1, 2, 3] by (2, 0, -2)") {
    // y[k][0][i] = x[0][i][k] = 3i + k: y = 0 3 1 4 2 5 with strides (1, 6, 3). dx[0][i][k] = dy[2k + i].
    Tensor x = leaf(ramp({1, 2, 3}));
    Tensor y = x.permute({2, 0, -2});
    CHECK(y.shape() == Shape{3, 1, 2});
    CHECK(y.strides() == Strides{1, 6, 3});
    check_values("y", y, {0, 3, 1, 4, 2, 5});
    y.backward(tens({3, 1, 2}));
    check_values("dx", x.grad(), {10, 30, 50, 20, 40, 60});
  }
  TEST_CASE("transpose: [2, 3] by (-1, 0)") {
    // y[j][i] = x[i][j] = 3i + j: 0 3 1 4 2 5; dx[i][j] = dy[2j + i].
    Tensor x = leaf(ramp({2, 3}));
    Tensor y = x.transpose(-1, 0);
    CHECK(y.shape() == Shape{3, 2});
    CHECK_FALSE(y.is_contiguous());
    check_values("y", y, {0, 3, 1, 4, 2, 5});
    y.backward(tens({3, 2}));
    check_values("dx", x.grad(), {10, 30, 50, 20, 40, 60});
  }
  TEST_CASE("slice: step 2 from a negative start, and an end past the extent") {
    // x = arange 14 as [2, 7]; columns -6:7:2 = 1, 3, 5: y = [[1, 3, 5], [8, 10, 12]]; dy scatters there, 0 elsewhere.
    Tensor x = leaf(ramp({2, 7}));
    Tensor y = x.slice(1, -6, 7, 2);
    CHECK(y.shape() == Shape{2, 3});
    check_values("y", y, {1, 3, 5, 8, 10, 12});
    y.backward(tens({2, 3}));
    check_values("dx", x.grad(), {0, 10, 0, 20, 0, 30, 0, 0, 40, 0, 50, 0, 60, 0});
    check_values("columns 4:100", x.slice(1, 4, 100), {4, 5, 6, 11, 12, 13});
    check_values("columns 2:-3", x.slice(-1, 2, -3), {2, 3, 9, 10});
  }
  TEST_CASE("select: column -1 of [2, 3]") {
    // x[:, -1] = [2, 5]; dy = [7, 9] goes to column 2.
    Tensor x = leaf(ramp({2, 3}));
    Tensor y = x.select(1, -1);
    CHECK(y.shape() == Shape{2});
    check_values("y", y, {2, 5});
    y.backward(from_vector<float>({7, 9}, {2}));
    check_values("dx", x.grad(), {0, 0, 7, 0, 0, 9});
    check_values("row 1", x.select(0, 1), {3, 4, 5});
  }
  TEST_CASE("unsqueeze: a size-1 dim at 1 and at -1 of [2, 3]") {
    Tensor x = leaf(ramp({2, 3}));
    CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3});
    CHECK(x.unsqueeze(0).shape() == Shape{1, 2, 3});
    Tensor y = x.unsqueeze(-1);
    CHECK(y.shape() == Shape{2, 3, 1});
    CHECK(y.storage() == x.storage());
    check_values("y", y, {0, 1, 2, 3, 4, 5});
    y.backward(tens({2, 3, 1}));
    CHECK(x.grad().shape() == Shape{2, 3});
    check_values("dx", x.grad(), {10, 20, 30, 40, 50, 60});
  }
  TEST_CASE("squeeze: dim 1 (and -2) of [2, 1, 3]; dim 0 has size 2 and stays") {
    Tensor x = leaf(ramp({2, 1, 3}));
    CHECK(x.squeeze(0).shape() == Shape{2, 1, 3});
    CHECK(x.squeeze(-2).shape() == Shape{2, 3});
    Tensor y = x.squeeze(1);
    CHECK(y.shape() == Shape{2, 3});
    check_values("y", y, {0, 1, 2, 3, 4, 5});
    y.backward(tens({2, 3}));
    CHECK(x.grad().shape() == Shape{2, 1, 3});
    check_values("dx", x.grad(), {10, 20, 30, 40, 50, 60});
  }
  TEST_CASE("expand: [2, 1] to [3, 2, 4]; the gradient sums over the broadcast dims") {
    // y[a][i][k] = x[i], strides (0, 1, 0). With dy = 0..23 (flat 8a + 4i + k):
    //   dx[0] = sum_a sum_k (8a + k) = 3 * 6 + 4 * 8 * (0 + 1 + 2) = 114;  dx[1] = 114 + 12 * 4 = 162.
    Tensor x = leaf(from_vector<float>({1, 2}, {2, 1}));
    Tensor y = x.expand({3, 2, 4});
    CHECK(y.strides() == Strides{0, 1, 0});
    check_values("y", y, {1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2});
    CHECK(x.expand({3, -1, 4}).shape() == Shape{3, 2, 4});
    y.backward(ramp({3, 2, 4}));
    check_values("dx", x.grad(), {114, 162});
  }
  TEST_CASE("contiguous: copies a transposed tensor, returns a contiguous one as is") {
    Tensor x = leaf(ramp({2, 3}));
    CHECK(x.contiguous().same(x));
    Tensor y = x.transpose(0, 1).contiguous();
    CHECK(y.is_contiguous());
    CHECK(y.storage() != x.storage());
    check_values("y", y, {0, 3, 1, 4, 2, 5});
    y.backward(tens({3, 2}));
    check_values("dx", x.grad(), {10, 30, 50, 20, 40, 60});
  }
  TEST_CASE("clone: a new contiguous copy; the gradient passes through") {
    Tensor x = leaf(ramp({2, 3}));
    Tensor y = x.clone();
    CHECK(y.storage() != x.storage());
    check_values("y", y, {0, 1, 2, 3, 4, 5});
    x.detach().clone().fill_(7);  // writing to a clone leaves the source alone
    check_values("x after writing a clone", x, {0, 1, 2, 3, 4, 5});
    check_values("clone of x^T", x.transpose(0, 1).clone(), {0, 3, 1, 4, 2, 5});
    y.backward(tens({2, 3}));
    check_values("dx", x.grad(), {10, 20, 30, 40, 50, 60});
  }
  TEST_CASE("to: f32 -> f64 and f64 -> f32; each gradient comes back in the input's dtype") {
    // 0.1f is 0.100000001490116... in f64; 1/3 rounds to float 0.3333333433.
    Tensor x = leaf(from_vector<float>({0.5f, -1.25f, 3, 0.1f, -7, 1.0f / 1024}, {2, 3}));
    Tensor y = x.to(DType::f64);
    CHECK(y.dtype() == DType::f64);
    check_values("y", y, {0.5, -1.25, 3, 0.100000001490116, -7, 0.0009765625}, 1e-15);
    y.backward(from_vector<double>({1. / 3, 2, -4, 0.25, 1e-3, -1}, {2, 3}));
    CHECK(x.grad().dtype() == DType::f32);
    check_values("dx", x.grad(), {0.3333333433, 2, -4, 0.25, 1e-3, -1}, 1e-9);
    Tensor x64 = leaf(from_vector<double>({1. / 3, -2.5}, {2}));
    Tensor y32 = x64.to(DType::f32);
    CHECK(y32.dtype() == DType::f32);
    check_values("y32", y32, {0.3333333433, -2.5}, 1e-9);
    y32.backward(from_vector<float>({0.5f, -3}, {2}));
    CHECK(x64.grad().dtype() == DType::f64);
    check_values("dx64", x64.grad(), {0.5, -3}, 0);
  }
  TEST_CASE("flatten: [2, 3, 4] from dim 1 (default), dims 0..1, and a permuted input") {
    Tensor x = leaf(ramp({2, 3, 4}));
    CHECK(flatten(x).shape() == Shape{2, 12});
    CHECK(flatten(x, 0, 1).shape() == Shape{6, 4});
    CHECK(flatten(x, -2, -1).shape() == Shape{2, 12});
    check_values("flatten(x)", flatten(x), x.to_vector<double>(), 0);
    // p = x.permute(2, 0, 1) is [4, 2, 3] with p[k][a][b] = 12a + 4b + k; flatten(p, 0, 1) = [8, 3], rows (k, a).
    Tensor y = flatten(x.permute({2, 0, 1}), 0, 1);
    CHECK(y.shape() == Shape{8, 3});
    check_values("y", y, {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
    // dy = y's own values: each element of x gets back its own value, so dx = 0, 1, ..., 23.
    y.backward(y.detach().clone());
    check_values("dx", x.grad(), ramp({2, 3, 4}).to_vector<double>(), 0);
  }
  TEST_CASE("cat: 3 inputs of different extents along dims 0, 1 (channels) and -1") {
    // Dim 0: a [1, 2] = [1, 2], b [2, 2] = 11..14, c [1, 2] = [21, 22]: rows stack; dy = 10..60 splits in order.
    Tensor a = leaf(from_vector<float>({1, 2}, {1, 2})), b = leaf(from_vector<float>({11, 12, 13, 14}, {2, 2}));
    Tensor c = leaf(from_vector<float>({21, 22}, {1, 2}));
    Tensor y = cat({a, b, c}, 0);
    CHECK(y.shape() == Shape{4, 2});
    check_values("y dim 0", y, {1, 2, 11, 12, 13, 14, 21, 22});
    y.backward(mul(ramp({4, 2}), 10.0));
    check_values("da dim 0", a.grad(), {0, 10});
    check_values("db dim 0", b.grad(), {20, 30, 40, 50});
    check_values("dc dim 0", c.grad(), {60, 70});
    // Dim 1 of [N=2, C, W=2]: a has 1 channel (1..4), b 2 (11..18), c 3 (21..32); y[n] = a[n], b[n], c[n].
    // dy = 0..23: n = 0 holds 0..11 (a 0 1, b 2..5, c 6..11), n = 1 holds 12..23.
    Tensor a3 = leaf(add(ramp({2, 1, 2}), 1.0)), b3 = leaf(add(ramp({2, 2, 2}), 11.0)), c3 = leaf(add(ramp({2, 3, 2}), 21.0));
    Tensor y3 = cat({a3, b3, c3}, 1);
    CHECK(y3.shape() == Shape{2, 6, 2});
    check_values("y dim 1", y3, {1, 2, 11, 12, 13, 14, 21, 22, 23, 24, 25, 26, 3, 4, 15, 16, 17, 18, 27, 28, 29, 30, 31, 32});
    y3.backward(ramp({2, 6, 2}));
    check_values("da dim 1", a3.grad(), {0, 1, 12, 13});
    check_values("db dim 1", b3.grad(), {2, 3, 4, 5, 14, 15, 16, 17});
    check_values("dc dim 1", c3.grad(), {6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23});
    // Dim -1: a [2, 1] = [1, 2], b [2, 2] = 11..14 (no grad), c [2, 3] = 21..26: row n = a[n], b[n], c[n].
    Tensor al = leaf(from_vector<float>({1, 2}, {2, 1})), bl = from_vector<float>({11, 12, 13, 14}, {2, 2});
    Tensor cl = leaf(add(ramp({2, 3}), 21.0));
    Tensor yl = cat({al, bl, cl}, -1);
    check_values("y dim -1", yl, {1, 11, 12, 21, 22, 23, 2, 13, 14, 24, 25, 26});
    yl.backward(ramp({2, 6}));
    check_values("da dim -1", al.grad(), {0, 6});
    CHECK_FALSE(bl.grad().defined());
    check_values("dc dim -1", cl.grad(), {3, 4, 5, 9, 10, 11});
  }
}

TEST_SUITE("gradcheck") {
  // Each view feeds through(): y * y * c, so the check sees y's gradient routed back through the view.
  using In = const std::vector<Tensor>&;
  TEST_CASE("reshape: contiguous with -1, and a transposed source that copies") {
    gradcheck("reshape", [](In in) { return through(in[0].reshape({-1, 4, 3})); }, {test_input({3, 4, 5}, 50)});
    gradcheck("reshape copy", [](In in) { return through(in[0].transpose(0, 2).reshape({10, -1})); },
              {test_input({3, 4, 5}, 51)});
  }
  TEST_CASE("view: a contiguous block of rows viewed flat") {
    gradcheck("view", [](In in) { return through(in[0].slice(0, 1, 3).view({2, 15})); }, {test_input({4, 3, 5}, 52)});
  }
  TEST_CASE("permute: (2, 0, 1)") {
    gradcheck("permute", [](In in) { return through(in[0].permute({2, 0, 1})); }, {test_input({3, 4, 5}, 53)});
  }
  TEST_CASE("transpose: (-1, 0)") {
    gradcheck("transpose", [](In in) { return through(in[0].transpose(-1, 0)); }, {test_input({3, 4, 5}, 54)});
  }
  TEST_CASE("slice: step 2 from a negative start, and a negative end") {
    gradcheck("slice step", [](In in) { return through(in[0].slice(1, -3, 4, 2)); }, {test_input({3, 4, 5}, 55)});
    gradcheck("slice negative end", [](In in) { return through(in[0].slice(2, 1, -1)); }, {test_input({3, 4, 5}, 56)});
  }
  TEST_CASE("select: a negative index") {
    gradcheck("select", [](In in) { return through(in[0].select(1, -1)); }, {test_input({3, 4, 5}, 57)});
  }
  TEST_CASE("unsqueeze: a middle dim") {
    gradcheck("unsqueeze", [](In in) { return through(in[0].unsqueeze(1)); }, {test_input({3, 4}, 58)});
  }
  TEST_CASE("squeeze: a middle dim") {
    gradcheck("squeeze", [](In in) { return through(in[0].squeeze(1)); }, {test_input({3, 1, 4}, 59)});
  }
  TEST_CASE("expand: a new leading dim and a broadcast dim") {
    gradcheck("expand", [](In in) { return through(in[0].expand({2, 3, 5, 4})); }, {test_input({3, 1, 4}, 60)});
  }
  TEST_CASE("contiguous: of a transposed tensor") {
    gradcheck("contiguous", [](In in) { return through(in[0].transpose(0, 1).contiguous()); }, {test_input({3, 4, 2}, 61)});
  }
  TEST_CASE("clone: of a permuted tensor") {
    gradcheck("clone", [](In in) { return through(in[0].permute({1, 2, 0}).clone()); }, {test_input({3, 4, 2}, 62)});
  }
  TEST_CASE("to: f64 -> f32 -> f64 on values exact in float32") {
    // Inputs and the step are multiples of 2^-10, so x +- eps, x^2 (22 significant bits) and both casts are exact
    // in float32: the central difference of this quadratic is then exact to float64 rounding.
    std::vector<double> v = test_input({2, 3}, 63).to_vector<double>();
    for (double& e : v) e = std::round(e * 1024) / 1024;
    GradcheckOptions options;
    options.eps = 1.0 / 1024;
    gradcheck("to",
              [](In in) {
                const Tensor y = in[0].to(DType::f32);
                return mul(mul(y, y).to(DType::f64), test_input(in[0].shape(), 77));
              },
              {from_vector(v, {2, 3})}, options);
  }
  TEST_CASE("flatten: dims 0..1 of a permuted tensor") {
    gradcheck("flatten", [](In in) { return through(flatten(in[0].permute({1, 0, 2}), 0, 1)); },
              {test_input({3, 4, 2}, 64)});
  }
  TEST_CASE("cat: 3 inputs along dims 0, 1 and -1") {
    gradcheck("cat dim 0", [](In in) { return through(cat({in[0], in[1], in[2]}, 0)); },
              {test_input({1, 3, 2}, 65), test_input({2, 3, 2}, 66), test_input({3, 3, 2}, 67)});
    gradcheck("cat dim 1", [](In in) { return through(cat({in[0], in[1], in[2]}, 1)); },
              {test_input({2, 2, 3}, 68), test_input({2, 3, 3}, 69), test_input({2, 1, 3}, 70)});
    gradcheck("cat dim -1", [](In in) { return through(cat({in[0], in[1].transpose(0, 1), in[2]}, -1)); },
              {test_input({2, 3, 3}, 71), test_input({3, 2, 1}, 72), test_input({2, 3, 2}, 73)});
  }
}

TEST_SUITE("torch") {
  TEST_CASE("reshape: forward and gradients match PyTorch") { check_torch_view("reshape"); }
  TEST_CASE("view: forward and gradients match PyTorch") { check_torch_view("view"); }
  TEST_CASE("permute: forward and gradients match PyTorch") { check_torch_view("permute"); }
  TEST_CASE("transpose: forward and gradients match PyTorch") { check_torch_view("transpose"); }
  TEST_CASE("slice: forward and gradients match PyTorch") { check_torch_view("slice"); }
  TEST_CASE("select: forward and gradients match PyTorch") { check_torch_view("select"); }
  TEST_CASE("unsqueeze: forward and gradients match PyTorch") { check_torch_view("unsqueeze"); }
  TEST_CASE("squeeze: forward and gradients match PyTorch") { check_torch_view("squeeze"); }
  TEST_CASE("expand: forward and gradients match PyTorch") { check_torch_view("expand"); }
  TEST_CASE("contiguous: forward and gradients match PyTorch") { check_torch_view("contiguous"); }
  TEST_CASE("clone: forward and gradients match PyTorch") { check_torch_view("clone"); }
  TEST_CASE("to: forward and gradients match PyTorch") { check_torch_view("to"); }
  TEST_CASE("flatten: forward and gradients match PyTorch") { check_torch_view("flatten"); }
  TEST_CASE("cat: forward and gradients match PyTorch") {
    int seen = 0;
    for (const TorchCase& c : torch_cases("shape")) {
      if (c.params["op"] != "cat") continue;
      CAPTURE(c.name);
      ++seen;
      Tensor a = leaf(c["a"]), b = leaf(c["b"]), d = leaf(c["c"]);
      Tensor y = cat({a, b, d}, c.params["dim"]);
      check_close(c.name + " y", y, c["y"]);
      y.backward(c["dy"]);
      check_close(c.name + " da", a.grad(), c["da"]);
      check_close(c.name + " db", b.grad(), c["db"]);
      check_close(c.name + " dc", d.grad(), c["dc"]);
    }
    CHECK(seen >= 6);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("cat: mismatched shapes, dtypes and an empty list name the op") {
    const Tensor a = zeros({2, 3}), b = zeros({2, 4});
    CHECK_THROWS_WITH_AS(cat({a, b}, 0), doctest::Contains("cat: tensors[1] f32 [2, 4] cpu does not match tensors[0] f32 [2, 3]"), nn::Error);
    CHECK_THROWS_WITH_AS(cat({a, zeros({2, 3, 1})}, 1), doctest::Contains("cat: tensors[1]"), nn::Error);
    CHECK_THROWS_WITH_AS(cat({a, zeros({2, 3}, DType::f64)}, 0), doctest::Contains("cat: dtypes differ"), nn::Error);
    CHECK_THROWS_WITH_AS(cat({}, 0), doctest::Contains("cat:"), nn::Error);
    CHECK_THROWS_WITH_AS(cat({a, b}, 2), doctest::Contains("cat: dimension 2"), nn::Error);
  }
  TEST_CASE("views: impossible shapes, strides, steps and indices name the op and the shapes") {
    const Tensor x = zeros({3, 4});
    CHECK_THROWS_WITH_AS(x.transpose(0, 1).view({12}), doctest::Contains("view: tensor"), nn::Error);
    CHECK_THROWS_WITH_AS(x.transpose(0, 1).view({12}), doctest::Contains("[4, 3]"), nn::Error);
    CHECK_THROWS_WITH_AS(x.reshape({5, 2}), doctest::Contains("reshape: cannot reshape"), nn::Error);
    CHECK_THROWS_WITH_AS(x.reshape({5, 2}), doctest::Contains("[5, 2]"), nn::Error);
    CHECK_THROWS_WITH_AS(x.reshape({5, -1}), doctest::Contains("reshape:"), nn::Error);
    CHECK_THROWS_WITH_AS(x.reshape({-1, -1}), doctest::Contains("reshape: more than one -1"), nn::Error);
    CHECK_THROWS_WITH_AS(x.slice(1, 0, 4, 0), doctest::Contains("slice: step must be positive"), nn::Error);
    CHECK_THROWS_WITH_AS(x.select(0, 3), doctest::Contains("select: index 3 is out of range"), nn::Error);
    CHECK_THROWS_WITH_AS(x.permute({0, 0}), doctest::Contains("permute:"), nn::Error);
    CHECK_THROWS_WITH_AS(x.expand({2, 4}), doctest::Contains("expand:"), nn::Error);
    CHECK_THROWS_WITH_AS(x.unsqueeze(3), doctest::Contains("unsqueeze:"), nn::Error);
    CHECK_THROWS_WITH_AS(flatten(zeros({2, 3, 4}), 2, 1), doctest::Contains("flatten: start_dim 2 is after end_dim 1"),
                         nn::Error);
    Tensor g = leaf(x);
    CHECK_THROWS_WITH_AS(g.to(DType::i64), doctest::Contains("to:"), nn::Error);
  }
}

}  // namespace nn::test
