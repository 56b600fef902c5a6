// matmul and linear: known answers, gradcheck, PyTorch parity (including transposed and sliced operand
// views, which reach GEMM without a copy), and every CPU GEMM (skinnet's ladder and micro-kernels, OpenBLAS) against the reference loops.
#include <algorithm>
#include <cmath>
#include <limits>

#include "base/math.h"
#include "base/parallel.h"
#include "kernels/cpu/gemm/ladder.h"
#include "kernels/cpu/gemm/packed.h"
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

namespace {

struct GemmSize {
  int64_t M, N, K;
};

// `gemm` (any CPU GEMM with gemm_cpu's signature) against the loops, every transpose combination,
// leading dimensions past the row length (the gap holds NaN in A and B, so reading it would show),
// alpha != 1. beta = 0 over NaN garbage in C must give a clean product; beta = 1 accumulates. C's gap
// columns must stay untouched.
template <class T, class Gemm>
void check_gemm(const std::string& name, Gemm&& gemm, std::initializer_list<GemmSize> sizes) {
  const DType dt = dtype_of<T>;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  uint64_t seed = 20;
  for (const GemmSize d : sizes) {
    // Float32 sums of K products of [-1, 1] values: error ~ sqrt(K) * eps in practice.
    const Tol tol = std::is_same_v<T, float> ? Tol{1e-5 * std::max(1.0, std::sqrt(d.K / 64.0)), 1e-5}
                                             : Tol{1e-12, 1e-12};
    for (const Trans ta : {Trans::no, Trans::yes})
      for (const Trans tb : {Trans::no, Trans::yes})
        for (const double beta : {0.0, 1.0}) {
          const std::string what = fmt::format("{}: M{} N{} K{} ta {} tb {} beta {}", name, d.M, d.N, d.K,
                                               ta == Trans::yes, tb == Trans::yes, beta);
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
          gemm(ta, tb, d.M, d.N, d.K, T(0.5), A.data<T>(), lda, B.data<T>(), ldb, T(beta), got.data<T>(), ldc);
          // check_close passes NaN == NaN, so the product region is also checked to hold no NaN.
          for (const Tensor& t : {want, got}) {
            const std::vector<double> v = t.slice(1, 0, d.N).contiguous().template to_vector<double>();
            CHECK_MESSAGE(std::none_of(v.begin(), v.end(), [](double e) { return std::isnan(e); }),
                          what << (t.same(want) ? ": reference" : ": tested GEMM") << " result holds NaN");
          }
          check_close(what + " C", got.slice(1, 0, d.N), want.slice(1, 0, d.N), tol);
          check_close(what + " C gap untouched", got.slice(1, d.N, ldc), C0.slice(1, d.N, ldc), tol);
        }
  }
}

constexpr std::initializer_list<GemmSize> kSmallSizes = {{7, 5, 13}, {33, 17, 65}, {1, 9, 4}, {6, 1, 3}};

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE_TEMPLATE("gemm: gemm_cpu and OpenBLAS equal the reference for all transposes and leading dimensions",
                     T, float, double) {
    check_gemm<T>("gemm_cpu", gemm_cpu<T>, kSmallSizes);
    check_gemm<T>("OpenBLAS", gemm_openblas_cpu<T>, kSmallSizes);
  }

  // Every rung of the CPU ladder (kernels/cpu/gemm/ladder.h), on sizes past one block of K (KC >= 128) and
  // with edges in M and N for every micro-kernel tile.
  TEST_CASE("gemm ladder: every rung equals the reference") {
    for (const cpu_gemm::Rung& rung : cpu_gemm::ladder())
      check_gemm<float>(rung.name, rung.fn, {{7, 5, 13}, {1, 9, 4}, {53, 70, 301}});
  }

  // The packed driver with every micro-kernel this CPU runs, and the portable kernel in the tile shape of
  // every ISA's kernel (so a machine without AVX-512 still runs the AVX-512 blocking, packing and edges),
  // on one and two threads, with the machine's blocking and with blocks of a few tiles, which makes the
  // small sizes cross every block boundary (several jc, pc and ic blocks, dynamic tile scheduling). With the
  // machine's blocking, 37 x (NR + 3) x 300 is one block of M with too few panels of N to share: two threads
  // split K and add their partial products. N = NR + 8 and NR + 16 end in a panel that the narrow variants
  // (one or two vectors) write straight into C.
  TEST_CASE("gemm: the packed driver with every micro-kernel, blocking and thread count") {
    using namespace cpu_gemm;
    std::vector<const MicroKernel*> kernels = {&portable_microkernel()};
    for (const MicroKernel* k : {&avx2_microkernel(), &avx2_microkernel_6x16(), &avx512_microkernel()}) {
      kernels.push_back(&portable_microkernel_like(*k));
      if (cpu_has(k->isa)) kernels.push_back(k);
      else MESSAGE(fmt::format("this CPU has no {}: {} is tested through the portable kernel only", isa_name(k->isa), k->name));
    }
    for (const MicroKernel* k : kernels)
      for (const int threads : {1, 2})
        for (const bool tiny : {false, true}) {
          const Blocking blocking = tiny ? Blocking{2 * k->mr, 8, 2 * k->nr} : blocking_for(*k);
          const std::string name = fmt::format("{}, {} threads, blocking {}x{}x{}", k->name, threads, blocking.mc,
                                               blocking.kc, blocking.nc);
          check_gemm<float>(
              name,
              [&](Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
                gemm_packed(*k, blocking, threads, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
              },
              {{7, 5, 13}, {33, 17, 65}, {2 * k->mr + 1, 3 * k->nr - 1, tiny ? 20 : 130}, {37, k->nr + 3, 300},
               {4 * k->mr, k->nr + 8, 40}, {4 * k->mr, k->nr + 16, 40}});
        }
  }

  // Called from inside a parallel loop (as the convolutions do, one image per thread), the GEMM runs on the
  // calling thread: each thread's product must be its own, whole and exact.
  TEST_CASE("gemm: concurrent calls from a parallel loop") {
    constexpr int64_t M = 37, N = 53, K = 300, kCalls = 4;
    const Tensor A = test_input({kCalls, M, K}, 1, -1, 1, DType::f32), B = test_input({kCalls, K, N}, 2, -1, 1, DType::f32);
    Tensor got = zeros({kCalls, M, N}, DType::f32), want = zeros({kCalls, M, N}, DType::f32);
    parallel_for(0, kCalls, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        gemm_cpu<float>(Trans::no, Trans::no, M, N, K, 1.0f, A.data<float>() + i * M * K, K,
                        B.data<float>() + i * K * N, N, 0.0f, got.data<float>() + i * M * N, N);
    });
    for (int64_t i = 0; i < kCalls; ++i)
      gemm_reference_cpu<float>(Trans::no, Trans::no, M, N, K, 1.0f, A.data<float>() + i * M * K, K,
                                B.data<float>() + i * K * N, N, 0.0f, want.data<float>() + i * M * N, N);
    check_close("gemm in a parallel loop", got, want, Tol{3e-5, 1e-5});
  }

  // pack_a / pack_b: the documented layouts, zero padding included, for a transposed and a plain operand.
  TEST_CASE("gemm: packing layouts") {
    using namespace cpu_gemm;
    constexpr int64_t rows = 5, cols = 7, ld = 9;
    std::vector<float> X(rows * ld);
    for (size_t i = 0; i < X.size(); ++i) X[i] = static_cast<float>(i);
    for (const bool trans : {false, true}) {
      // op(X) is X (rows x cols) or X^T read from the same storage (cols x rows).
      const int64_t rs = trans ? 1 : ld, cs = trans ? ld : 1, r = trans ? cols : rows, c = trans ? rows : cols;
      auto op = [&](int64_t i, int64_t j) { return X[i * rs + j * cs]; };
      constexpr int mr = 4, nr = 3;
      std::vector<float> a(ceil_div<int64_t>(r, mr) * mr * c, -1), b(ceil_div<int64_t>(c, nr) * nr * r, -1);
      pack_a(X.data(), rs, cs, r, c, mr, a.data());
      pack_b(X.data(), rs, cs, r, c, nr, b.data());
      for (int64_t p = 0; p < ceil_div<int64_t>(r, mr); ++p)
        for (int64_t k = 0; k < c; ++k)
          for (int64_t i = 0; i < mr; ++i)
            CHECK(a[p * c * mr + k * mr + i] == (p * mr + i < r ? op(p * mr + i, k) : 0.0f));
      for (int64_t p = 0; p < ceil_div<int64_t>(c, nr); ++p)
        for (int64_t k = 0; k < r; ++k)
          for (int64_t j = 0; j < nr; ++j)
            CHECK(b[p * r * nr + k * nr + j] == (p * nr + j < c ? op(k, p * nr + j) : 0.0f));
    }
  }

  // The process-wide switch: OpenBLAS on request, skinnet's own otherwise; both give the product.
  TEST_CASE("gemm: set_cpu_gemm_source selects OpenBLAS or skinnet's GEMM") {
    CHECK(cpu_gemm_source() == CpuGemmSource::own);
    set_cpu_gemm_source(CpuGemmSource::openblas);
    check_gemm<float>("gemm_cpu under openblas", gemm_cpu<float>, {{33, 17, 65}});
    set_cpu_gemm_source(CpuGemmSource::own);
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
