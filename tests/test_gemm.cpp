// matmul and linear: known answers, gradcheck, PyTorch parity (including transposed and sliced operand
// views, which reach GEMM without a copy), and the OpenBLAS GEMM against the reference loops.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/gemm.h"
#include "tests/check.h"

namespace nn::test {

namespace {

// The operand a test uses: the first `cols` columns of `stored`, transposed when `trans`
// (as operand() in tests/torch_cases_gemm.py).
Tensor operand(const Tensor& stored, bool trans, int64_t cols) {
  const Tensor t = stored.slice(stored.ndim() - 1, 0, cols);
  return trans ? t.transpose(-1, -2) : t;
}

}  // namespace

TEST_SUITE("known") {
  // a [2, 3] = [[1, 2, 3], [4, 5, 6]], b [3, 4] = 1..12 (rows [1..4], [5..8], [9..12]):
  //   y[0] = 1*[1,2,3,4] + 2*[5,6,7,8] + 3*[9,10,11,12] = [38, 44, 50, 56]
  //   y[1] = 4*[1,2,3,4] + 5*[5,6,7,8] + 6*[9,10,11,12] = [83, 98, 113, 128]
  // dy = [[1, 0, 0, -1], [0, 2, 0, 0]]:
  //   da = dy b^T: da[0, k] = b[k, 0] - b[k, 3] = -3;  da[1, k] = 2 b[k, 1] = [4, 12, 20]
  //   db = a^T dy: db[k, :] = a[0, k] * [1, 0, 0, -1] + a[1, k] * [0, 2, 0, 0] = [a0k, 2 a1k, 0, -a0k]
  // The same product with both operands given as transposed views of stored at [3, 2], bt [4, 3]: the
  // stored tensors get the transposed gradients. Batched: a[i] [1, 2], b[i] [2, 3] as a view of bt [2, 3, 2]:
  //   a[0] = [1, 2], b[0] = [[1, 0, 1], [0, 1, 1]] -> [1, 2, 3];  a[1] = [3, 4], b[1] = [[1, 1, 0], [2, 0, 1]]
  //   -> [11, 3, 4]; dy = 1: da[i, 0, k] = sum_n b[i, k, n] = [2, 2], [2, 3]; db[i, k, n] = a[i, 0, k].
  TEST_CASE("matmul: 2x3 by 3x4, transposed views, batched") {
    const Tensor dy = from_vector<float>({1, 0, 0, -1, 0, 2, 0, 0}, {2, 4});
    Tensor a = leaf(from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
    Tensor b = leaf(from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4}));
    Tensor y = matmul(a, b);
    CHECK(y.shape() == Shape{2, 4});
    check_values("y", y, {38, 44, 50, 56, 83, 98, 113, 128});
    y.backward(dy);
    check_values("da", a.grad(), {-3, -3, -3, 4, 12, 20});
    check_values("db", b.grad(), {1, 8, 0, -1, 2, 10, 0, -2, 3, 12, 0, -3});

    Tensor at = leaf(from_vector<float>({1, 4, 2, 5, 3, 6}, {3, 2}));
    Tensor bt = leaf(from_vector<float>({1, 5, 9, 2, 6, 10, 3, 7, 11, 4, 8, 12}, {4, 3}));
    Tensor yt = matmul(at.transpose(0, 1), bt.transpose(0, 1));
    check_values("y (transposed views)", yt, {38, 44, 50, 56, 83, 98, 113, 128});
    yt.backward(dy);
    check_values("d at", at.grad(), {-3, 4, -3, 12, -3, 20});
    check_values("d bt", bt.grad(), {1, 2, 3, 8, 10, 12, 0, 0, 0, -1, -2, -3});

    Tensor ab = leaf(from_vector<float>({1, 2, 3, 4}, {2, 1, 2}));
    Tensor bb = leaf(from_vector<float>({1, 0, 0, 1, 1, 1, 1, 2, 1, 0, 0, 1}, {2, 3, 2}));
    Tensor yb = matmul(ab, bb.transpose(1, 2));
    CHECK(yb.shape() == Shape{2, 1, 3});
    check_values("y (batched)", yb, {1, 2, 3, 11, 3, 4});
    yb.backward(ones_like(yb));
    check_values("da (batched)", ab.grad(), {2, 2, 2, 3});
    check_values("d bt (batched)", bb.grad(), {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4});
  }

  // x [2, 3] = [[1, 2, 3], [4, 5, 6]], W [2, 3] = [[1, 0, -1], [2, 1, 0]], b = [0.5, -1]:
  //   x W^T = [[1 - 3, 2 + 2], [4 - 6, 8 + 5]] = [[-2, 4], [-2, 13]];  + b = [[-1.5, 3], [-1.5, 12]]
  // dy = [[1, 0], [0, -1]]: dx = dy W = [W[0], -W[1]];  dW = dy^T x = [x[0], -x[1]];  db = [1, -1].
  // Without bias on the same numbers as a 3-D input [1, 2, 3]: y = x W^T, the same dx and dW.
  TEST_CASE("linear: 2x3 input, 2 outputs, with and without bias, 3-D input") {
    const std::vector<float> xs = {1, 2, 3, 4, 5, 6}, ws = {1, 0, -1, 2, 1, 0}, dys = {1, 0, 0, -1};
    Tensor x = leaf(from_vector(xs, {2, 3})), w = leaf(from_vector(ws, {2, 3}));
    Tensor b = leaf(from_vector<float>({0.5f, -1}, {2}));
    Tensor y = linear(x, w, b);
    CHECK(y.shape() == Shape{2, 2});
    check_values("y", y, {-1.5, 3, -1.5, 12});
    y.backward(from_vector(dys, {2, 2}));
    check_values("dx", x.grad(), {1, 0, -1, -2, -1, 0});
    check_values("dW", w.grad(), {1, 2, 3, -4, -5, -6});
    check_values("db", b.grad(), {1, -1});

    Tensor x3 = leaf(from_vector(xs, {1, 2, 3})), w3 = leaf(from_vector(ws, {2, 3}));
    Tensor y3 = linear(x3, w3);
    CHECK(y3.shape() == Shape{1, 2, 2});
    check_values("y (3-D, no bias)", y3, {-2, 4, -2, 13});
    y3.backward(from_vector(dys, {1, 2, 2}));
    check_values("dx (3-D)", x3.grad(), {1, 0, -1, -2, -1, 0});
    check_values("dW (3-D)", w3.grad(), {1, 2, 3, -4, -5, -6});
  }
}

TEST_SUITE("gradcheck") {
  TEST_CASE("matmul: plain, transposed and sliced views, batched") {
    gradcheck("matmul 2-D", [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); },
              {test_input({3, 5}, 1), test_input({5, 4}, 2)});
    gradcheck("matmul transposed views",
              [](const std::vector<Tensor>& in) { return matmul(in[0].transpose(0, 1), in[1].transpose(0, 1)); },
              {test_input({5, 3}, 3), test_input({2, 5}, 4)});
    gradcheck("matmul sliced (ld > row length)",
              [](const std::vector<Tensor>& in) { return matmul(operand(in[0], true, 3), operand(in[1], false, 2)); },
              {test_input({4, 5}, 5), test_input({4, 6}, 6)});
    gradcheck("matmul batched", [](const std::vector<Tensor>& in) { return matmul(in[0], in[1].transpose(1, 2)); },
              {test_input({2, 3, 4}, 7), test_input({2, 5, 4}, 8)});
  }
  TEST_CASE("linear: bias, no bias, 3-D input") {
    gradcheck("linear", [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
              {test_input({4, 3}, 9), test_input({5, 3}, 10), test_input({5}, 11)});
    gradcheck("linear 3-D no bias", [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); },
              {test_input({2, 3, 4}, 12), test_input({2, 4}, 13)});
  }
}

TEST_SUITE("torch") {
  TEST_CASE("matmul: forward and gradients match PyTorch (transposed, sliced, batched operands)") {
    for (const TorchCase& c : torch_cases("gemm")) {
      if (c.params["op"] != "matmul") continue;
      CAPTURE(c.name);
      Tensor a = leaf(c["a"]), b = leaf(c["b"]);
      Tensor y = matmul(operand(a, c.params["ta"], c.params["a_cols"]), operand(b, c.params["tb"], c.params["b_cols"]));
      check_close(c.name + " y", y, c["y"]);
      y.backward(c["dy"]);
      check_close(c.name + " da", a.grad(), c["da"]);
      check_close(c.name + " db", b.grad(), c["db"]);
    }
  }
  TEST_CASE("linear: forward and gradients match PyTorch") {
    check_torch_weighted("gemm", "linear", [](const TorchCase&, const Tensor& x, const Tensor& w, const Tensor& b) {
      return linear(x, w, b);
    });
  }
}

TEST_SUITE("kernels") {
  // OpenBLAS against the loops, every transpose combination, leading dimensions past the row length
  // (the gap holds NaN in A and B, so reading it would show), alpha != 1. beta = 0 over NaN garbage
  // in C must give a clean product; beta = 1 accumulates. C's gap columns must stay untouched.
  TEST_CASE_TEMPLATE("gemm: OpenBLAS equals the reference for all transposes and leading dimensions", T, float,
                     double) {
    const DType dt = dtype_of<T>;
    const Tol tol = std::is_same_v<T, float> ? Tol{1e-5, 1e-5} : Tol{1e-12, 1e-12};
    const T nan = std::numeric_limits<T>::quiet_NaN();
    struct GemmSize {
      int64_t M, N, K;
    };
    uint64_t seed = 20;
    for (const GemmSize d : {GemmSize{7, 5, 13}, GemmSize{33, 17, 65}, GemmSize{1, 9, 4}, GemmSize{6, 1, 3}})
      for (const Trans ta : {Trans::no, Trans::yes})
        for (const Trans tb : {Trans::no, Trans::yes})
          for (const double beta : {0.0, 1.0}) {
            const std::string what = fmt::format("M{} N{} K{} ta {} tb {} beta {}", d.M, d.N, d.K, ta == Trans::yes,
                                                 tb == Trans::yes, beta);
            // A is stored [M, K] or [K, M], B [K, N] or [N, K]; each row padded by a gap.
            const int64_t a_rows = ta == Trans::no ? d.M : d.K, a_cols = ta == Trans::no ? d.K : d.M;
            const int64_t b_rows = tb == Trans::no ? d.K : d.N, b_cols = tb == Trans::no ? d.N : d.K;
            const int64_t lda = a_cols + 3, ldb = b_cols + 2, ldc = d.N + 5;
            Tensor A = test_input({a_rows, lda}, seed++, -1, 1, dt), B = test_input({b_rows, ldb}, seed++, -1, 1, dt);
            A.slice(1, a_cols, lda).fill_(nan);
            B.slice(1, b_cols, ldb).fill_(nan);
            Tensor C0 = beta == 0 ? full({d.M, ldc}, nan, dt) : test_input({d.M, ldc}, seed++, -1, 1, dt);
            Tensor want = C0.clone(), got = C0.clone();
            gemm_reference_cpu<T>(ta, tb, d.M, d.N, d.K, T(0.5), A.data<T>(), lda, B.data<T>(), ldb, T(beta),
                                  want.data<T>(), ldc);
            gemm_cpu<T>(ta, tb, d.M, d.N, d.K, T(0.5), A.data<T>(), lda, B.data<T>(), ldb, T(beta), got.data<T>(),
                        ldc);
            // check_close passes NaN == NaN, so the product region is also checked to hold no NaN.
            for (const Tensor& t : {want, got}) {
              const std::vector<double> v = t.slice(1, 0, d.N).contiguous().template to_vector<double>();
              CHECK_MESSAGE(std::none_of(v.begin(), v.end(), [](double e) { return std::isnan(e); }),
                            what << (t.same(want) ? ": reference" : ": OpenBLAS") << " result holds NaN");
            }
            check_close(what + " C", got.slice(1, 0, d.N), want.slice(1, 0, d.N), tol);
            check_close(what + " C gap untouched", got.slice(1, d.N, ldc), C0.slice(1, d.N, ldc), tol);
          }
  }

  // The reference itself on a hand-computed case: [[1, 2], [3, 4]] x [[5, 6], [7, 8]] = [[19, 22], [43, 50]],
  // with alpha 2 and beta 1 over C = 1: [[39, 45], [87, 101]].
  TEST_CASE("gemm: reference on a 2x2 known answer with alpha and beta") {
    const std::vector<double> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
    std::vector<double> c(4, 1.0);
    gemm_reference_cpu<double>(Trans::no, Trans::no, 2, 2, 2, 2.0, a.data(), 2, b.data(), 2, 1.0, c.data(), 2);
    CHECK(c == std::vector<double>{39, 45, 87, 101});
  }
}

}  // namespace nn::test
