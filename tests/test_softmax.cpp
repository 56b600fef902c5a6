// softmax and log_softmax: known answer along every dim, gradcheck, PyTorch parity.
#include <cmath>

#include "tests/check.h"

namespace nn::test {

namespace {

// Shape [2, 3, 4]: every dim has a different extent n, so a kernel that walks the wrong dim or stride fails.
const Shape kShape{2, 3, 4};

// x[i0, i1, i2] = ln(k + 1) + offset, with k the index along `dim` and an offset that depends only on the
// other indices (small, so float32 keeps ~1e-7 absolute accuracy). Softmax is shift-invariant along `dim`, so
//   softmax(x)_k = (k + 1) / T_n,  T_n = n (n + 1) / 2  (exp values 1, 2, ..., n)
// in every row, whatever the offsets.
Tensor ln_ramp(int dim) {
  const double coef[3] = {-1, 0.25, 0.5};
  std::vector<float> v;
  for (int64_t a = 0; a < kShape[0]; ++a)
    for (int64_t b = 0; b < kShape[1]; ++b)
      for (int64_t c = 0; c < kShape[2]; ++c) {
        const int64_t idx[3] = {a, b, c};
        double offset = 0;
        for (int e = 0; e < 3; ++e)
          if (e != dim) offset += coef[e] * static_cast<double>(idx[e]);
        v.push_back(static_cast<float>(std::log(static_cast<double>(idx[dim] + 1)) + offset));
      }
  return from_vector(v, kShape);
}

// The index along `dim` of every element of kShape, as a float tensor (used as dy: dy_k = k).
Tensor index_along(int dim) {
  std::vector<float> v;
  for (int64_t i = 0; i < kShape.numel(); ++i) {
    const int64_t idx[3] = {i / 12, (i / 4) % 3, i % 4};
    v.push_back(static_cast<float>(idx[dim]));
  }
  return from_vector(v, kShape);
}

// Expands per-k values (table[n][k]) to every element of kShape, by each element's index along `dim`.
std::vector<double> by_index(int dim, const std::vector<std::vector<double>>& table) {
  const std::vector<float> k = index_along(dim).to_vector<float>();
  std::vector<double> out;
  for (float v : k) out.push_back(table[kShape[dim]][static_cast<size_t>(v)]);
  return out;
}

// Cases with "transposed" apply the op to x.transpose(0, -1): a non-contiguous input.
void check_softmax_family(const char* op) {
  int seen = 0;
  for (const TorchCase& c : torch_cases("softmax")) {
    if (c.params["op"] != op) continue;
    CAPTURE(c.name);
    ++seen;
    const int64_t dim = c.params["dim"];
    Tensor x = leaf(c["x"]);
    const Tensor in = c.params["transposed"] ? x.transpose(0, -1) : x;
    Tensor y = std::string(op) == "softmax" ? softmax(in, dim) : log_softmax(in, dim);
    check_close(c.name + " y", y, c["y"]);
    y.backward(c["dy"]);
    check_close(c.name + " dx", x.grad(), c["dx"]);
  }
  CHECK_MESSAGE(seen >= 12, op << ": too few PyTorch cases");
}

}  // namespace

TEST_SUITE("known") {
  // y_k = (k + 1) / T_n (see ln_ramp). With dy_k = k, dx_k = y_k (k - s), s = sum_j j y_j:
  //   n = 2: y = 1/3, 2/3;          s = 2/3: dx = -2/9, 2/9
  //   n = 3: y = 1/6, 1/3, 1/2;     s = 4/3: dx = -2/9, -1/9, 1/3
  //   n = 4: y = .1, .2, .3, .4;    s = 2:   dx = -.2, -.2, 0, .4
  TEST_CASE("softmax: rows of exp values 1..n along every dim of a 2x3x4 tensor, negative dims too") {
    const std::vector<std::vector<double>> y_table = {{}, {}, {1. / 3, 2. / 3}, {1. / 6, 1. / 3, 1. / 2}, {.1, .2, .3, .4}};
    const std::vector<std::vector<double>> dx_table = {
        {}, {}, {-2. / 9, 2. / 9}, {-2. / 9, -1. / 9, 1. / 3}, {-.2, -.2, 0, .4}};
    for (int64_t dim : {0, 1, 2, -1, -2, -3}) {
      CAPTURE(dim);
      const int d = static_cast<int>(dim < 0 ? dim + 3 : dim);
      Tensor x = leaf(ln_ramp(d));
      Tensor y = softmax(x, dim);
      CHECK(y.shape() == kShape);
      check_values("y", y, by_index(d, y_table));
      y.backward(index_along(d));
      check_values("dx", x.grad(), by_index(d, dx_table));
    }
    // Large logits: exp(1000) overflows unless the row maximum is subtracted first.
    Tensor big = from_vector<double>({1000, 1000 + std::log(2.0), 1000 + std::log(3.0)}, {1, 3});
    check_values("softmax(1000 + ln[1, 2, 3])", softmax(big, 1), {1. / 6, 1. / 3, 1. / 2}, 1e-12);
  }

  // y_k = ln((k + 1) / T_n). With dy_k = k, dx_k = dy_k - p_k sum_j dy_j, sum_j j = n (n - 1) / 2:
  //   n = 2: sum 1: dx = 0 - 1/3, 1 - 2/3                 = -1/3, 1/3
  //   n = 3: sum 3: dx = 0 - 1/2, 1 - 1, 2 - 3/2         = -1/2, 0, 1/2
  //   n = 4: sum 6: dx = 0 - .6, 1 - 1.2, 2 - 1.8, 3 - 2.4 = -.6, -.2, .2, .6
  TEST_CASE("log_softmax: rows of exp values 1..n along every dim of a 2x3x4 tensor, negative dims too") {
    const std::vector<std::vector<double>> y_table = {{},
                                                      {},
                                                      {std::log(1. / 3), std::log(2. / 3)},
                                                      {std::log(1. / 6), std::log(1. / 3), std::log(1. / 2)},
                                                      {std::log(.1), std::log(.2), std::log(.3), std::log(.4)}};
    const std::vector<std::vector<double>> dx_table = {{}, {}, {-1. / 3, 1. / 3}, {-.5, 0, .5}, {-.6, -.2, .2, .6}};
    for (int64_t dim : {0, 1, 2, -1, -2, -3}) {
      CAPTURE(dim);
      const int d = static_cast<int>(dim < 0 ? dim + 3 : dim);
      Tensor x = leaf(ln_ramp(d));
      Tensor y = log_softmax(x, dim);
      CHECK(y.shape() == kShape);
      check_values("y", y, by_index(d, y_table));
      y.backward(index_along(d));
      check_values("dx", x.grad(), by_index(d, dx_table));
    }
    // ln(e^0 + e^-1000) = 0 to double precision: the row [0, -1000] gives [0, -1000], not -inf.
    Tensor far = from_vector<double>({0, -1000}, {2, 1});
    check_values("log_softmax([0, -1000])", log_softmax(far, 0), {0, -1000}, 1e-12);
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("softmax: every dim of a 3x4x5 tensor") {
    for (int64_t dim : {0, 1, 2, -2}) {
      gradcheck(fmt::format("softmax dim {}", dim), [dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); },
                {test_input({3, 4, 5}, 20 + dim, -3, 3)});
    }
  }
  TEST_CASE("log_softmax: every dim of a 3x4x5 tensor") {
    for (int64_t dim : {0, 1, 2, -1}) {
      gradcheck(fmt::format("log_softmax dim {}", dim),
                [dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); },
                {test_input({3, 4, 5}, 30 + dim, -3, 3)});
    }
  }
}

TEST_SUITE("torch") {
  TEST_CASE("softmax: forward and gradients match PyTorch") { check_softmax_family("softmax"); }
  TEST_CASE("log_softmax: forward and gradients match PyTorch") { check_softmax_family("log_softmax"); }
}

TEST_SUITE("errors") {
  TEST_CASE("softmax: a dim out of range and an integer input name the op") {
    const Tensor x = zeros({2, 3});
    CHECK_THROWS_WITH_AS(softmax(x, 2), doctest::Contains("softmax"), nn::Error);
    CHECK_THROWS_WITH_AS(log_softmax(x, -3), doctest::Contains("log_softmax"), nn::Error);
    CHECK_THROWS_WITH_AS(softmax(zeros({2, 3}, DType::i64), 1), doctest::Contains("softmax"), nn::Error);
  }
}

}  // namespace nn::test
