// CUDA elementwise kernels (kernels/cuda/elementwise.cu) against the CPU kernels: every UnaryOp forward and
// backward, every BinaryOp, on contiguous tensors (the fast path), transposed and strided views and
// broadcasts (the Loop path), plus relu/add and their gradients through the tensor ops on a ResNet-18
// activation, and scale_rows (row scaling) forward and backward.
#include <cfloat>
#include <limits>

#include "kernels/elementwise.h"
#include "tensor/dispatch.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

constexpr Tol kExact{0, 0};

// Ops whose float expression uses only + - * / sqrt are IEEE-rounded in CUDA as on the CPU (the kernel
// keeps nvcc from fusing into FMAs), so they must match bit for bit. Ops through expf, logf, tanhf, powf
// call glibc on the emulator, as the CPU does, so they match bit for bit there too; on a GPU they call
// CUDA's implementations, whose documented maximum errors (CUDA Programming Guide, "Mathematical
// Functions": expf 2 ulp, logf 1, tanhf 2, powf 4) plus glibc's (< 1 ulp) and the roundings of the
// expression they feed give the ulp counts below. One ulp of a float v is at most FLT_EPSILON * |v|.
Tol libm_tol(int ulps) { return emu::active() ? kExact : Tol{ulps * FLT_EPSILON, 0}; }

Tol unary_tol(UnaryOp op) {
  switch (op) {
    case UnaryOp::exp: return libm_tol(3);
    case UnaryOp::log: return libm_tol(2);
    case UnaryOp::tanh: return libm_tol(3);
    case UnaryOp::sigmoid: return libm_tol(5);     // 1 / (1 + expf(-x)): exp's 3 ulp, two roundings
    // x / (1 + e^-x): the CPU's e^x is exp_vec (kernels/cpu/vec_math.h, within 1 ulp), not glibc's expf, so
    // even the emulator differs by a few ulp
    case UnaryOp::silu: return Tol{5 * FLT_EPSILON, 0};
    case UnaryOp::pow_scalar: return libm_tol(5);
    default: return kExact;
  }
}
// Backward reads x and y as given (the same tensors on both sides), so only powf and silu's recomputed
// sigmoid differ. silu's dx = g*sg*(1 + x*(1-sg)) moves by (1 + x - 2*x*sg) times sg's error (5 ulp, as
// sigmoid), at most 4x for these inputs in [-3, 3]; dx crosses zero (x ~ -1.28), so part of the bound is
// relative to the rms.
Tol unary_backward_tol(UnaryOp op) {
  if (op == UnaryOp::silu) return Tol{5 * FLT_EPSILON, 20 * FLT_EPSILON};  // exp_vec vs expf, emulator included
  return op == UnaryOp::pow_scalar ? libm_tol(7) : kExact;
}
Tol binary_tol(BinaryOp op) {
  switch (op) {
    case BinaryOp::pow: return libm_tol(5);
    case BinaryOp::pow_base_grad: return libm_tol(7);      // b * powf(a, b - 1)
    case BinaryOp::pow_exponent_grad: return libm_tol(8);  // powf(a, b) * logf(a)
    default: return kExact;
  }
}

constexpr UnaryOp kUnaryOps[] = {UnaryOp::identity, UnaryOp::neg, UnaryOp::exp, UnaryOp::log, UnaryOp::sqrt,
                                 UnaryOp::relu, UnaryOp::sigmoid, UnaryOp::tanh, UnaryOp::silu, UnaryOp::add_scalar,
                                 UnaryOp::mul_scalar, UnaryOp::div_scalar, UnaryOp::pow_scalar,
                                 UnaryOp::rsub_scalar, UnaryOp::rdiv_scalar};
constexpr BinaryOp kBinaryOps[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div, BinaryOp::pow,
                                   BinaryOp::pow_base_grad, BinaryOp::pow_exponent_grad};

// The scalars each op is tried with; pow_scalar's 0 is its backward's special case, 2 an integer power.
std::vector<double> scalars_for(UnaryOp op) {
  switch (op) {
    case UnaryOp::add_scalar: return {0.5};
    case UnaryOp::mul_scalar: return {-1.5};
    case UnaryOp::div_scalar: return {3};
    case UnaryOp::pow_scalar: return {2.5, 2, 0};
    case UnaryOp::rsub_scalar: return {1};
    case UnaryOp::rdiv_scalar: return {2};
    default: return {0};
  }
}

// Values in [lo, hi) with the special values at the front: 0, -0, NaN (relu keeps it), 1, -1, +inf.
Tensor input_with_specials(const Shape& shape, uint64_t seed, double lo, double hi) {
  std::vector<float> v = test_input(shape, seed, lo, hi, DType::f32).to_vector<float>();
  const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f, -1.0f,
                            std::numeric_limits<float>::infinity()};
  for (size_t i = 0; i < std::size(specials) && i < v.size(); ++i) v[i] = specials[i];
  return from_vector(v, shape);
}

Tensor output_like(const Tensor& t) { return empty(t.shape(), DType::f32, t.device()); }
float* ptr(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

// The unary kernel of x's device, through the same Loop the op would build.
Tensor unary_forward(UnaryOp op, const Tensor& x, double s) {
  Tensor y = output_like(x);
  const Loop L = make_loop_for(y.shape(), {&y, &x});
  if (x.device().is_cpu()) unary_forward_cpu<float>(op, ptr(y), ptr(x), s, L);
  else unary_forward_cuda(op, ptr(y), ptr(x), s, L);
  return y;
}

// The backward kernel, passing x and y only when the op reads them (as the op does).
Tensor unary_backward(UnaryOp op, const Tensor& dy, const Tensor& x, const Tensor& y, double s) {
  const Tensor xs = unary_backward_needs_input(op) ? x : Tensor(), ys = unary_backward_needs_output(op) ? y : Tensor();
  Tensor dx = output_like(dy);
  const Loop L = make_loop_for(dx.shape(), {&dx, &dy, xs.defined() ? &xs : nullptr, ys.defined() ? &ys : nullptr});
  if (dy.device().is_cpu()) unary_backward_cpu<float>(op, ptr(dx), ptr(dy), ptr(xs), ptr(ys), s, L);
  else unary_backward_cuda(op, ptr(dx), ptr(dy), ptr(xs), ptr(ys), s, L);
  return dx;
}

Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), "test"), DType::f32, a.device());
  const Loop L = make_loop_for(out.shape(), {&out, &a, &b});
  if (a.device().is_cpu()) binary_forward_cpu<float>(op, ptr(out), ptr(a), ptr(b), L);
  else binary_forward_cuda(op, ptr(out), ptr(a), ptr(b), L);
  return out;
}

// The views each unary case runs on, built the same way on either device from a contiguous x.
struct View {
  const char* name;
  Tensor (*make)(const Tensor&);
};
const View kViews[] = {
    {"contiguous", [](const Tensor& t) { return t; }},
    {"permuted (0,2,3,1)", [](const Tensor& t) { return t.permute({0, 2, 3, 1}); }},
    {"every 2nd column, reversed dims", [](const Tensor& t) { return t.slice(3, 0, t.size(3), 2).transpose(1, 2); }},
    {"one element", [](const Tensor& t) { return t.slice(0, 1, 2).slice(1, 2, 3).slice(2, 3, 4).slice(3, 4, 5); }},
};

}  // namespace

TEST_SUITE("cuda") {
  // Awkward: [3, 5, 7, 11] (1155 elements: 4 full blocks of 256 and a partial one) contiguous, permuted
  // (the strided Loop path with 3 merged dimensions), sliced with step 2 and transposed, and one element.
  TEST_CASE("cuda elementwise: every unary op forward equals the CPU (3x5x7x11: contiguous, permuted, sliced, 1 element)") {
    const Tensor x = input_with_specials({3, 5, 7, 11}, 1, -3, 3), cx = to_cuda(x);
    for_each_schedule([&] {
      for (UnaryOp op : kUnaryOps)
        for (double s : scalars_for(op))
          for (const View& v : kViews) {
            INFO(unary_op_name(op), " s=", s, ", ", v.name);
            check_close(unary_op_name(op), to_cpu(unary_forward(op, v.make(cx), s)), unary_forward(op, v.make(x), s),
                        unary_tol(op));
          }
    });
  }

  // The same shapes; y is the CPU forward's (so the two sides differ only in the backward kernel), dy is
  // transposed in the strided cases, and pow_scalar runs with s = 0 (its dx = 0 special case).
  TEST_CASE("cuda elementwise: every unary op backward equals the CPU (3x5x7x11: contiguous, permuted, sliced, 1 element)") {
    const Tensor x = input_with_specials({3, 5, 7, 11}, 2, -3, 3), cx = to_cuda(x);
    const Tensor dy = test_input({3, 5, 7, 11}, 3, -1, 1, DType::f32), cdy = to_cuda(dy);
    for_each_schedule([&] {
      for (UnaryOp op : kUnaryOps)
        for (double s : scalars_for(op)) {
          const Tensor y = unary_forward(op, x, s), cy = to_cuda(y);
          for (const View& v : kViews) {
            INFO(unary_op_name(op), " s=", s, ", ", v.name);
            const Tensor want = unary_backward(op, v.make(dy), v.make(x), v.make(y), s);
            const Tensor got = unary_backward(op, v.make(cdy), v.make(cx), v.make(cy), s);
            check_close(unary_op_name(op), to_cpu(got), want, unary_backward_tol(op));
          }
        }
    });
  }

  // Same shapes; a per-channel broadcast [N,C,H,W] op [C,1,1] and its mirror [C,1,1] op [N,C,H,W]; a
  // transposed a with a contiguous b; a scalar-shaped [1] b; a row [W] against a sliced column view.
  // Bases are positive except for the special values (0 and -1 exercise pow's grads' special cases);
  // b holds exact zeros (pow_base_grad's b == 0 case) and negative exponents. Last, an in-place add_.
  TEST_CASE("cuda elementwise: every binary op equals the CPU (3x5x7x11: same shape, broadcast, transposed, strided)") {
    const Shape s{3, 5, 7, 11};
    const Tensor a = input_with_specials(s, 4, 0.1, 2), b = input_with_specials(s, 5, -2, 2);
    const Tensor bc = input_with_specials({5, 1, 1}, 6, -2, 2), b1 = test_input({1}, 7, -2, 2, DType::f32);
    const Tensor row = test_input({11}, 8, -2, 2, DType::f32), bt = input_with_specials({3, 5, 11, 7}, 12, -2, 2);
    struct Pair {
      const char* name;
      Tensor a, b;
    };
    const std::vector<Pair> pairs = {
        {"same shape", a, b},
        {"[N,C,H,W] op [C,1,1]", a, bc},
        {"[C,1,1] op [N,C,H,W]", bc, b},
        {"transposed a", a.transpose(2, 3), bt},
        {"[N,C,H,W] op [1]", a, b1},
        {"every 3rd row op [W]", a.slice(2, 0, 7, 3), row},
    };
    std::vector<Pair> cuda_pairs;
    for (const Pair& p : pairs) cuda_pairs.push_back({p.name, to_cuda(p.a), to_cuda(p.b)});
    // The views are rebuilt on the CUDA side where the case is a view of a, so the kernel sees strides.
    cuda_pairs[3].a = to_cuda(a).transpose(2, 3);
    cuda_pairs[5].a = to_cuda(a).slice(2, 0, 7, 3);
    for_each_schedule([&] {
      for (BinaryOp op : kBinaryOps)
        for (size_t k = 0; k < pairs.size(); ++k) {
          INFO(binary_op_name(op), ", ", pairs[k].name);
          check_close(binary_op_name(op), to_cpu(binary_forward(op, cuda_pairs[k].a, cuda_pairs[k].b)),
                      binary_forward(op, pairs[k].a, pairs[k].b), binary_tol(op));
        }
      // In place (the output aliases input a, as add_ runs it), into a transposed view, with a per-channel
      // broadcast of alpha * bc.
      Tensor t = a.clone(), ct = to_cuda(a);
      t.transpose(1, 3).add_(bc.reshape({5}), 0.5);
      ct.transpose(1, 3).add_(to_cuda(bc).reshape({5}), 0.5);
      check_close("add_ in place", to_cpu(ct), t, kExact);
    });
  }

  // scale_rows on [rows, inner]: the squeeze-and-excitation gate (N*C rows of H*W: 2 x 24 channels of 7x7),
  // stochastic depth's per-sample scale (N rows of C*H*W), one long row (4099: 17 blocks, a partial last one),
  // a column (300 rows of 1: 300 one-warp blocks for ds), an odd 37 x 33, and the empty shapes 0 x 5 and 4 x 0
  // (ds = 0). y and dx are one rounding of x * s, as on the CPU: exact. ds is a double sum on both sides,
  // in another order: one float rounding apart at most. The backward also runs with dx or ds alone (null).
  TEST_CASE("cuda elementwise: scale_rows forward and backward equal the CPU (SE gate, 1 x 4099, 300 x 1, empty)") {
    struct Case {
      int64_t rows, inner;
    };
    const Tol ds_tol{FLT_EPSILON, 1e-12};
    for (const Case c :
         {Case{48, 49}, Case{3, 405}, Case{1, 4099}, Case{300, 1}, Case{37, 33}, Case{0, 5}, Case{4, 0}}) {
      INFO("rows ", c.rows, ", inner ", c.inner);
      const uint64_t seed = 20 + static_cast<uint64_t>(c.rows * 7 + c.inner);
      const Tensor x = test_input({c.rows, c.inner}, seed, -2, 2, DType::f32);
      const Tensor s = test_input({c.rows}, seed + 1, -1, 1, DType::f32);
      const Tensor dy = test_input({c.rows, c.inner}, seed + 2, -1, 1, DType::f32);
      Tensor y0 = output_like(x), dx0 = output_like(x), ds0 = output_like(s);
      scale_rows_forward_cpu<float>(ptr(y0), ptr(x), ptr(s), c.rows, c.inner);
      scale_rows_backward_cpu<float>(ptr(dx0), ptr(ds0), ptr(dy), ptr(x), ptr(s), c.rows, c.inner);
      const Tensor cx = to_cuda(x), cs = to_cuda(s), cdy = to_cuda(dy);
      for_each_schedule([&] {
        Tensor y = output_like(cx), dx = output_like(cx), ds = output_like(cs);
        scale_rows_forward_cuda(ptr(y), ptr(cx), ptr(cs), c.rows, c.inner);
        check_close("scale_rows y", to_cpu(y), y0, kExact);
        scale_rows_backward_cuda(ptr(dx), ptr(ds), ptr(cdy), ptr(cx), ptr(cs), c.rows, c.inner);
        check_close("scale_rows dx", to_cpu(dx), dx0, kExact);
        check_close("scale_rows ds", to_cpu(ds), ds0, ds_tol);
        Tensor dx_only = output_like(cx), ds_only = output_like(cs);
        scale_rows_backward_cuda(ptr(dx_only), nullptr, ptr(cdy), ptr(cx), ptr(cs), c.rows, c.inner);
        check_close("scale_rows dx (no ds)", to_cpu(dx_only), dx0, kExact);
        scale_rows_backward_cuda(nullptr, ptr(ds_only), ptr(cdy), ptr(cx), ptr(cs), c.rows, c.inner);
        check_close("scale_rows ds (no dx)", to_cpu(ds_only), ds0, ds_tol);
      });
    }
  }

  // Model-sized: a ResNet-18 layer1 activation at batch 2, [2, 64, 56, 56] (401408 elements, 1568 blocks),
  // through the tensor ops and autograd: the residual join y = relu(a + b), backward with a given dy.
  TEST_CASE("cuda elementwise: relu(a + b) and its gradients through the ops on a ResNet-18 activation [2,64,56,56]") {
    const Shape s{2, 64, 56, 56};
    const Tensor a = test_input(s, 9, -1, 1, DType::f32), b = test_input(s, 10, -1, 1, DType::f32);
    const Tensor dy = test_input(s, 11, -1, 1, DType::f32);
    Tensor la = leaf(a), lb = leaf(b);
    const Tensor y = relu(add(la, lb));
    y.backward(dy);
    for_each_schedule([&] {
      Tensor ca = leaf(to_cuda(a)), cb = leaf(to_cuda(b));
      const Tensor cy = relu(add(ca, cb));
      cy.backward(to_cuda(dy));
      check_close("y", to_cpu(cy), y, kExact);
      check_close("da", to_cpu(ca.grad()), la.grad(), kExact);
      check_close("db", to_cpu(cb.grad()), lb.grad(), kExact);
    });
  }
}

}  // namespace nn::test
