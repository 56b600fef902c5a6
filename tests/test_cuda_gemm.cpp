// The CUDA GEMM ladder (kernels/cuda/gemm/*.cu) and gemm_cuda (kernels/cuda/gemm.cu) against the reference
// GEMM (gemm_reference_cpu: double accumulation, rounded once), and matmul of CUDA tensors against the CPU:
// the "cuda" tier (tests/cuda_check.h), every case under each thread order of the emulator.
//
// Tolerance, per element: the GPU accumulates K products in float with fmaf, each step rounding once, so
// |got - exact| <= K u S to first order (u = 2^-24, S = |alpha| sum_k |a_mk b_kn| + |beta c_mn|); alpha *
// acc and the fmaf with beta * c round once more each, and the reference's own rounding to float adds u S:
// |got - want| <= (K + 3) u S. S comes from the same reference GEMM on |A|, |B|, |C|. The bound is the
// worst case (a random-sign sum errs about sqrt(K) u S), yet far below the size of any single product (a
// term missed or counted twice is about S / K): with K = 576, 50 times below. Elements outside the M x N
// result (padding beyond N in each row of C, the floats before C) must be bit-identical: no rung may
// write them.
//
// beta == 0: the M x N elements of C start as NaN (padding keeps ordinary values), so a kernel that reads
// C when it must not turns the result into NaN.
//
// Emulator cost (every CUDA thread a fiber, about 10^8 emulated FMAs per second): the model-sized shape is
// ResNet-18's layer1 3x3 convolution as a GEMM (M = 64 filters, K = 64 * 3 * 3 = 576) over 196 output
// pixels (a 14 x 14 patch of the 56 x 56 image instead of all 3136) for rungs 3-7 and gemm_cuda; rungs 1-2
// (one thread per output, no shared memory) take a K = 144 slice of it. ResNet-18's fc layer at batch 2 runs
// whole.
#include <fmt/format.h>

#include <cmath>

#include "kernels/cuda/gemm/ladder.h"
#include "kernels/gemm.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

constexpr double kUnitRoundoff = 0x1p-24;

struct GemmCase {
  int64_t M, N, K;
  Trans ta = Trans::no, tb = Trans::no;
  float alpha = 1, beta = 0;
  int64_t pad = 0;     // every leading dimension is its row length + pad
  int64_t offset = 0;  // A, B and C start this many floats into their buffers (odd: no 16-byte alignment)
};

const char* trans_name(Trans t) { return t == Trans::no ? "N" : "T"; }

std::string describe(const GemmCase& c) {
  return fmt::format("M={} N={} K={} {}{} alpha={} beta={} pad={} offset={}", c.M, c.N, c.K, trans_name(c.ta),
                     trans_name(c.tb), c.alpha, c.beta, c.pad, c.offset);
}

// The operands (1-D buffers holding the matrices at `offset`, row length + pad apart), C as the kernel
// finds it, and per element of C's buffer the expected value and the allowed error.
struct GemmProblem {
  GemmCase c{};
  int64_t lda = 0, ldb = 0, ldc = 0;
  Tensor A, B, C_init, want, bound;
};

Tensor abs_copy(const Tensor& t) {
  std::vector<float> v = t.to_vector<float>();
  for (float& x : v) x = std::fabs(x);
  return from_vector(v, t.shape());
}

GemmProblem make_problem(const GemmCase& c, uint64_t seed) {
  GemmProblem p;
  p.c = c;
  p.lda = (c.ta == Trans::no ? c.K : c.M) + c.pad;
  p.ldb = (c.tb == Trans::no ? c.N : c.K) + c.pad;
  p.ldc = c.N + c.pad;
  const int64_t a_rows = c.ta == Trans::no ? c.M : c.K, b_rows = c.tb == Trans::no ? c.K : c.N;
  p.A = test_input({c.offset + a_rows * p.lda}, seed, -1, 1, DType::f32);
  p.B = test_input({c.offset + b_rows * p.ldb}, seed + 1, -1, 1, DType::f32);
  const Tensor C0 = test_input({c.offset + c.M * p.ldc}, seed + 2, -1, 1, DType::f32);
  auto at = [&](const Tensor& t) { return t.data<float>() + c.offset; };
  auto reference = [&](const Tensor& A, const Tensor& B, float alpha, float beta, const Tensor& C) {
    gemm_reference_cpu<float>(c.ta, c.tb, c.M, c.N, c.K, alpha, at(A), p.lda, at(B), p.ldb, beta, at(C), p.ldc);
  };
  p.want = C0.clone();
  reference(p.A, p.B, c.alpha, c.beta, p.want);
  // S = |alpha| |A| |B| + |beta| |C| on the M x N result, then the bound; 0 (bit-exact) everywhere else.
  Tensor S = abs_copy(C0);
  reference(abs_copy(p.A), abs_copy(p.B), std::fabs(c.alpha), std::fabs(c.beta), S);
  p.bound = zeros(C0.shape());
  p.C_init = C0.clone();
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < c.N; ++n) {
      const int64_t i = c.offset + m * p.ldc + n;
      p.bound.data<float>()[i] = static_cast<float>((c.K + 3) * kUnitRoundoff * S.data<float>()[i]);
      if (c.beta == 0) p.C_init.data<float>()[i] = NAN;
    }
  return p;
}

// Every element of C's buffer within its bound (NaN never is); names the first one that is not.
void check_result(const std::string& what, const Tensor& got, const GemmProblem& p) {
  const float *g = got.data<float>(), *w = p.want.data<float>(), *b = p.bound.data<float>();
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < got.numel(); ++i)
    if (!(std::fabs(static_cast<double>(g[i]) - w[i]) <= b[i])) {
      if (bad++ == 0) first = i;
    }
  if (bad == 0) return;
  const int64_t e = first - p.c.offset;
  FAIL_CHECK(fmt::format("{}: {} elements of C off; first at buffer index {} (row {}, column {}): got {}, want {}, "
                         "allowed error {}",
                         what, bad, first, e < 0 ? -1 : e / p.ldc, e < 0 ? -1 : e % p.ldc, g[first], w[first],
                         b[first]));
}

// fn on the problem under every thread order.
void check_gemm(const char* name, GemmFn fn, const GemmProblem& p) {
  const std::string what = fmt::format("{} {}", name, describe(p.c));
  const Tensor A = to_cuda(p.A), B = to_cuda(p.B);
  const GemmCase& c = p.c;
  for_each_schedule([&] {
    const Tensor C = to_cuda(p.C_init);
    fn(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data<float>() + c.offset, p.lda, B.data<float>() + c.offset, p.ldb,
       c.beta, C.data<float>() + c.offset, p.ldc);
    check_result(what, to_cpu(C), p);
  });
}

constexpr Trans kTrans[] = {Trans::no, Trans::yes};

// Sizes off every tile size (32, 64, BK 8 and 16), 1s, K = 1; the four transpositions of each, with alpha,
// beta, padded leading dimensions and offsets varied between them: odd offsets or leading dimensions force
// the scalar path of the float4 loaders, pad 3 with a width of 1 mod 4 (and offset 0) keeps them aligned.
std::vector<GemmCase> awkward_cases() {
  struct Size {
    int64_t M, N, K;
  };
  const Size sizes[] = {{1, 1, 1}, {7, 33, 65}, {65, 127, 1}, {127, 33, 33}, {33, 7, 127}};
  std::vector<GemmCase> cases;
  int variant = 0;
  for (const Size& s : sizes)
    for (Trans ta : kTrans)
      for (Trans tb : kTrans) {
        const int v = variant++ % 4;
        const float alpha = v % 2 ? -1.5f : 0.75f, beta = v == 0 ? 0.f : v == 1 ? 0.5f : v == 2 ? -1.f : 0.f;
        const int64_t pad = v == 1 ? 0 : 3, offset = v == 3 ? 1 : 0;
        cases.push_back({s.M, s.N, s.K, ta, tb, alpha, beta, pad, offset});
      }
  return cases;
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("gemm ladder: every rung against the reference on awkward shapes, all four transpositions") {
    const std::vector<GemmCase> cases = awkward_cases();
    for (const GemmRung& rung : gemm_ladder()) {
      uint64_t seed = 100;
      for (const GemmCase& c : cases) check_gemm(rung.name, rung.fn, make_problem(c, seed += 3));
    }
  }

  TEST_CASE("gemm ladder: every rung on ResNet-18's layer1 3x3 convolution as a GEMM") {
    // Rungs 1-2 on a K = 144 slice (see the file comment); rungs 3-7 on the full K = 576. One transposition
    // per rung (the awkward case covers all four), beta != 0 and aligned leading dimensions (float4 path).
    int i = 0;
    for (const GemmRung& rung : gemm_ladder()) {
      const int64_t K = i < 2 ? 144 : 576;
      const GemmCase c{64, 196, K, kTrans[i % 2], kTrans[i / 2 % 2], 1.f, 0.25f};
      check_gemm(rung.name, rung.fn, make_problem(c, 200 + i));
      ++i;
    }
  }

  TEST_CASE("gemm: gemm_cuda on model shapes, all four transpositions, beta 0 and not") {
    // layer1 3x3 convolution as a GEMM (14 x 14 output pixels): C garbage (beta 0) for NN and TT, beta 1 with
    // leading dimensions padded by 4 (still float4-aligned) for NT and TN.
    uint64_t seed = 300;
    for (Trans ta : kTrans)
      for (Trans tb : kTrans) {
        const bool accumulate = ta != tb;
        const GemmCase c{64, 196, 576, ta, tb, accumulate ? -0.5f : 1.f, accumulate ? 1.f : 0.f, accumulate ? 4 : 0};
        check_gemm("gemm_cuda", gemm_cuda, make_problem(c, seed += 3));
      }
    // ResNet-18's fc layer at batch 2: y[2, 1000] = x[2, 512] W^T (W stored [1000, 512]), and its weight
    // gradient dW[1000, 512] = dy^T[1000, 2] x[2, 512].
    check_gemm("gemm_cuda fc forward", gemm_cuda, make_problem({2, 1000, 512, Trans::no, Trans::yes}, 320));
    check_gemm("gemm_cuda fc weight gradient", gemm_cuda,
               make_problem({1000, 512, 2, Trans::yes, Trans::no}, 330));
  }

  TEST_CASE("gemm: gemm_cuda on awkward shapes, and M, N or K zero") {
    uint64_t seed = 400;
    for (const GemmCase& c : awkward_cases()) check_gemm("gemm_cuda", gemm_cuda, make_problem(c, seed += 3));
    // K = 0: C = beta * C (alpha * an empty sum); M or N = 0: nothing to do, C's buffer untouched. Offset 1
    // keeps every buffer non-empty.
    check_gemm("gemm_cuda", gemm_cuda, make_problem({5, 9, 0, Trans::no, Trans::yes, 2.f, 0.5f, 1, 1}, seed += 3));
    check_gemm("gemm_cuda", gemm_cuda, make_problem({5, 9, 0, Trans::yes, Trans::no, 2.f, 0.f, 1, 1}, seed += 3));
    check_gemm("gemm_cuda", gemm_cuda, make_problem({0, 9, 4, Trans::no, Trans::no, 1.f, 0.f, 1, 1}, seed += 3));
    check_gemm("gemm_cuda", gemm_cuda, make_problem({5, 0, 4, Trans::no, Trans::no, 1.f, 0.f, 1, 1}, seed += 3));
  }

  TEST_CASE("gemm: matmul of CUDA tensors against float64 on the CPU, plain and transposed views") {
    // a[M, K] @ b[K, N] with a and b each either contiguous or the transpose of a contiguous tensor (the op
    // passes those to gemm_cuda as Trans::yes, without a copy). The reference is the float64 matmul of the
    // same values; the GPU's bound is (K + 2) u S with S = |a| @ |b| (no reference rounding to float).
    const int64_t M = 33, N = 130, K = 67;
    const Tensor a = test_input({M, K}, 500, -1, 1, DType::f32), b = test_input({K, N}, 501, -1, 1, DType::f32);
    const Tensor want = matmul(a.to(DType::f64), b.to(DType::f64));
    const Tensor S = matmul(abs_copy(a).to(DType::f64), abs_copy(b).to(DType::f64));
    const Tensor at = a.transpose(0, 1).contiguous(), bt = b.transpose(0, 1).contiguous();  // [K, M], [N, K]
    const Tensor ad = to_cuda(a), bd = to_cuda(b), atd = to_cuda(at), btd = to_cuda(bt);
    for_each_schedule([&] {
      for (bool a_view : {false, true})
        for (bool b_view : {false, true}) {
          INFO("a ", a_view ? "transposed view" : "contiguous", ", b ", b_view ? "transposed view" : "contiguous");
          const Tensor got = to_cpu(matmul(a_view ? atd.transpose(0, 1) : ad, b_view ? btd.transpose(0, 1) : bd));
          REQUIRE(got.shape() == Shape{M, N});
          const std::vector<float> g = got.to_vector<float>();
          const std::vector<double> w = want.to_vector<double>(), s = S.to_vector<double>();
          int64_t bad = 0;
          for (size_t i = 0; i < g.size(); ++i) bad += !(std::fabs(g[i] - w[i]) <= (K + 2) * kUnitRoundoff * s[i]);
          CHECK_MESSAGE(bad == 0, bad, " elements of matmul off the float64 result by more than (K + 2) u S");
        }
    });
  }
}

}  // namespace nn::test
