// Elementwise ops: unary (with optional scalar) and broadcasting binary ops, with their backward nodes.
// Kernels: kernels/elementwise.h. Binary gradients are composed from the forward ops, then summed down
// to each input's shape (sum_to) where the input was broadcast.
#include "kernels/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

void run_unary(UnaryOp op, const Tensor& y, const Tensor& x, double s) {
  const Loop L = make_loop_for(y.shape(), {&y, &x});
  dispatch<UnaryForwardKernels>(unary_op_name(op), x, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(op, y.data<T>(), x.data<T>(), s, L);
  });
}

Tensor run_binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_floating(a, name);
  check_floating(b, name);
  check_same_device(a, b, name);
  check_same_dtype(a, b, name);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype(), a.device());
  const Loop L = make_loop_for(out.shape(), {&out, &a, &b});
  dispatch<BinaryForwardKernels>(name, a, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(op, out.data<T>(), a.data<T>(), b.data<T>(), L);
  });
  return out;
}

// dx = g * d op(x, y, s) / dx, with x or y undefined where the op's derivative does not read it.
Tensor unary_grad(UnaryOp op, const char* name, const Tensor& g, const Tensor& xs, const Tensor& ys, double s) {
  Tensor dx = empty_like(g);
  const Loop L = make_loop_for(dx.shape(), {&dx, &g, xs.defined() ? &xs : nullptr, ys.defined() ? &ys : nullptr});
  dispatch<UnaryBackwardKernels>(name, g, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(op, dx.data<T>(), g.data<T>(), data_or_null<T>(xs), data_or_null<T>(ys), s, L);
  });
  return dx;
}

struct UnaryBackward final : Node {
  UnaryOp op = UnaryOp::identity;
  double scalar = 0;
  SavedTensor x, y;  // only those the op's derivative reads (unary_backward_needs_input/output)
  const char* name() const override {
    static const std::string names[] = {"IdentityBackward", "NegBackward", "ExpBackward", "LogBackward",
                                        "SqrtBackward", "ReluBackward", "SigmoidBackward", "TanhBackward",
                                        "SiluBackward",      "AddScalarBackward", "MulScalarBackward", "DivScalarBackward",
                                        "PowScalarBackward", "RsubScalarBackward", "RdivScalarBackward"};
    return names[static_cast<int>(op)].c_str();
  }
  std::vector<Tensor> apply(const Tensor& g) override {
    const Tensor xs = x.defined() ? x.get(*this) : Tensor(), ys = y.defined() ? y.get(*this) : Tensor();
    return {unary_grad(op, name(), g, xs, ys, scalar)};
  }
  void release() override {
    x.reset();
    y.reset();
  }
};

Tensor unary(UnaryOp op, const Tensor& x, double s) {
  check_floating(x, unary_op_name(op));
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  run_unary(op, y, x, s);
  if (auto node = new_node<UnaryBackward>({&x})) {
    node->op = op;
    node->scalar = s;
    if (unary_backward_needs_input(op)) node->x = SavedTensor(x);
    if (unary_backward_needs_output(op)) node->y = SavedTensor(y);
    attach(y, node);
  }
  return y;
}

struct BinaryBackward final : Node {
  BinaryOp op = BinaryOp::add;
  Shape a_shape, b_shape;
  SavedTensor a, b;  // mul and div read both operands, pow too; add and sub none
  const char* name() const override {
    static const char* names[] = {"AddBackward", "SubBackward", "MulBackward", "DivBackward", "PowBackward"};
    return names[static_cast<int>(op)];
  }
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor da, db;
    const bool want_a = needs_input_grad(0), want_b = needs_input_grad(1);
    switch (op) {
      case BinaryOp::add:
        if (want_a) da = g;
        if (want_b) db = g;
        break;
      case BinaryOp::sub:
        if (want_a) da = g;
        if (want_b) db = neg(g);
        break;
      case BinaryOp::mul:
        if (want_a) da = mul(g, b.get(*this));
        if (want_b) db = mul(g, a.get(*this));
        break;
      case BinaryOp::div: {
        const Tensor bv = b.get(*this);
        if (want_a) da = div(g, bv);
        if (want_b) db = neg(div(mul(g, a.get(*this)), mul(bv, bv)));
        break;
      }
      case BinaryOp::pow: {
        const Tensor av = a.get(*this), bv = b.get(*this);
        if (want_a) da = mul(g, run_binary(BinaryOp::pow_base_grad, av, bv));
        if (want_b) db = mul(g, run_binary(BinaryOp::pow_exponent_grad, av, bv));
        break;
      }
      default: NN_INTERNAL_CHECK(false);
    }
    return {da.defined() ? sum_to(da, a_shape) : da, db.defined() ? sum_to(db, b_shape) : db};
  }
  void release() override {
    a.reset();
    b.reset();
  }
};

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = run_binary(op, a, b);
  if (auto node = new_node<BinaryBackward>({&a, &b})) {
    node->op = op;
    node->a_shape = a.shape();
    node->b_shape = b.shape();
    if (op != BinaryOp::add && op != BinaryOp::sub) {
      if (op != BinaryOp::mul || node->needs_input_grad(1)) node->a = SavedTensor(a);
      if (op != BinaryOp::mul || node->needs_input_grad(0)) node->b = SavedTensor(b);
    }
    attach(out, node);
  }
  return out;
}

// relu(a + b)'s backward: relu's mask on g (from the saved output), which is also each operand's gradient.
struct AddReluBackward final : Node {
  SavedTensor y;
  const char* name() const override { return "AddReluBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    const Tensor d = unary_grad(UnaryOp::relu, name(), g, Tensor(), y.get(*this), 0.0);
    return {needs_input_grad(0) ? d : Tensor(), needs_input_grad(1) ? d : Tensor()};
  }
  void release() override { y.reset(); }
};

}  // namespace

Tensor add_relu(const Tensor& a, const Tensor& b) {
  if (!a.device().is_cpu() || !b.device().is_cpu() || a.shape() != b.shape() || a.dtype() != b.dtype())
    return relu(add(a, b));
  check_floating(a, "add_relu");
  const Tensor ac = a.contiguous(), bc = b.contiguous();
  Tensor y = empty(a.shape(), a.dtype(), a.device());
  dispatch<AddReluForwardKernels>("add_relu", ac, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(y.data<T>(), ac.data<T>(), bc.data<T>(), y.numel());
  });
  if (auto node = new_node<AddReluBackward>({&a, &b})) {
    node->y = SavedTensor(y);
    attach(y, node);
  }
  return y;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return binary(BinaryOp::pow, a, b); }

Tensor add(const Tensor& a, double s) { return unary(UnaryOp::add_scalar, a, s); }
Tensor sub(const Tensor& a, double s) { return unary(UnaryOp::add_scalar, a, -s); }
Tensor rsub(const Tensor& a, double s) { return unary(UnaryOp::rsub_scalar, a, s); }
Tensor mul(const Tensor& a, double s) { return unary(UnaryOp::mul_scalar, a, s); }
Tensor div(const Tensor& a, double s) { return unary(UnaryOp::div_scalar, a, s); }
Tensor rdiv(const Tensor& a, double s) { return unary(UnaryOp::rdiv_scalar, a, s); }
Tensor pow(const Tensor& a, double exponent) { return unary(UnaryOp::pow_scalar, a, exponent); }
Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x, 0); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x, 0); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x, 0); }
Tensor sqrt(const Tensor& x) { return unary(UnaryOp::sqrt, x, 0); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x, 0); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::sigmoid, x, 0); }
Tensor silu(const Tensor& x) { return unary(UnaryOp::silu, x, 0); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x, 0); }

}  // namespace nn
