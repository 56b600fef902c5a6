// matmul and linear, on the GEMM kernel (kernels/gemm.h).
//
// Transposed views are passed to GEMM as transposed operands instead of being copied, so the backward
// products (g @ b^T, a^T @ g) cost no extra memory traffic.
#include "kernels/gemm.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

// A 2-D matrix as GEMM sees it: data pointer, whether it is stored transposed, leading dimension.
struct GemmOperand {
  Tensor storage;  // keeps a contiguous copy alive when one was needed
  Trans trans = Trans::no;
  int64_t ld = 0;
};

GemmOperand gemm_operand(const Tensor& t) {
  const int64_t rows = t.size(0), cols = t.size(1);
  if (t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(cols, 1)) return {t, Trans::no, t.stride(0)};
  if (t.stride(0) == 1 && t.stride(1) >= std::max<int64_t>(rows, 1)) return {t, Trans::yes, t.stride(1)};
  Tensor c = t.contiguous();
  return {c, Trans::no, std::max<int64_t>(cols, 1)};
}

// out[M, N] = a[M, K] @ b[K, N] (+ beta * out)
void gemm_into(const Tensor& out, const Tensor& a, const Tensor& b, double beta) {
  const GemmOperand A = gemm_operand(a), B = gemm_operand(b);
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1), ldc = std::max<int64_t>(N, 1);
  dispatch<GemmKernels>("matmul", a, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(A.trans, B.trans, M, N, K, T(1), A.storage.data<T>(), A.ld, B.storage.data<T>(), B.ld,
           static_cast<T>(beta), out.data<T>(), ldc);
  });
}

Tensor matmul_2d(const Tensor& a, const Tensor& b) {
  Tensor out = empty({a.size(0), b.size(1)}, a.dtype(), a.device());
  if (a.size(1) == 0) return out.zero_();
  gemm_into(out, a, b, 0.0);
  return out;
}

Tensor matmul_nograd(const Tensor& a, const Tensor& b) {
  if (a.ndim() == 2) return matmul_2d(a, b);
  Tensor out = empty({a.size(0), a.size(1), b.size(2)}, a.dtype(), a.device());
  for (int64_t i = 0; i < a.size(0); ++i) {
    if (a.size(2) == 0) {
      out.select(0, i).zero_();
      continue;
    }
    gemm_into(out.select(0, i), a.select(0, i), b.select(0, i), 0.0);
  }
  return out;
}

struct MatmulBackward final : Node {
  SavedTensor a, b;  // each saved only when the other operand needs a gradient
  const char* name() const override { return "MatmulBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor da, db;
    if (needs_input_grad(0)) da = matmul_nograd(g, b.get(*this).transpose(-1, -2));
    if (needs_input_grad(1)) db = matmul_nograd(a.get(*this).transpose(-1, -2), g);
    return {da, db};
  }
  void release() override {
    a.reset();
    b.reset();
  }
};

struct LinearBackward final : Node {
  SavedTensor x, weight;  // x [N, in] for dweight, weight [out, in] for dx
  const char* name() const override { return "LinearBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor dx, dw, db;
    if (needs_input_grad(0)) dx = matmul_nograd(g, weight.get(*this));
    if (needs_input_grad(1)) dw = matmul_nograd(g.transpose(0, 1), x.get(*this));
    if (needs_input_grad(2)) db = sum(g, {0});
    return {dx, dw, db};
  }
  void release() override {
    x.reset();
    weight.reset();
  }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_floating(a, "matmul");
  check_floating(b, "matmul");
  check_same_device(a, b, "matmul");
  check_same_dtype(a, b, "matmul");
  const bool plain = a.ndim() == 2 && b.ndim() == 2 && a.size(1) == b.size(0);
  const bool batched = a.ndim() == 3 && b.ndim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1);
  NN_CHECK(plain || batched,
           "matmul: shapes {} and {} do not multiply; expected [M, K] x [K, N] or [B, M, K] x [B, K, N]",
           a.shape(), b.shape());
  Tensor out = matmul_nograd(a, b);
  if (auto node = new_node<MatmulBackward>({&a, &b})) {
    if (node->needs_input_grad(1)) node->a = SavedTensor(a);
    if (node->needs_input_grad(0)) node->b = SavedTensor(b);
    attach(out, node);
  }
  return out;
}

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  check_floating(input, "linear");
  check_floating(weight, "linear");
  check_same_device(input, weight, "linear");
  check_same_dtype(input, weight, "linear");
  NN_CHECK(weight.ndim() == 2 && input.ndim() >= 1 && input.size(-1) == weight.size(1),
           "linear: input {} does not match weight {} (expected [..., {}] with weight [out, in])",
           input.describe(), weight.describe(), weight.ndim() == 2 ? weight.size(1) : -1);
  const int64_t out_features = weight.size(0);
  if (bias.defined()) {
    check_same_device(input, bias, "linear");
    check_same_dtype(input, bias, "linear");
    NN_CHECK(bias.ndim() == 1 && bias.size(0) == out_features, "linear: bias {} does not match weight {}",
             bias.describe(), weight.describe());
  }
  if (input.ndim() != 2) {  // [..., in] -> [rows, in] -> [..., out]
    Shape out_shape = input.shape();
    out_shape[out_shape.size() - 1] = out_features;
    return linear(input.reshape({-1, input.size(-1)}), weight, bias).reshape(out_shape);
  }
  Tensor out = empty({input.size(0), out_features}, input.dtype(), input.device());
  if (bias.defined()) out.copy_(bias.detach().expand(out.shape()));
  if (input.size(1) == 0) {
    if (!bias.defined()) out.zero_();
  } else {
    gemm_into(out, input, weight.transpose(0, 1), bias.defined() ? 1.0 : 0.0);
  }
  if (auto node = new_node<LinearBackward>({&input, &weight, &bias})) {
    if (node->needs_input_grad(1)) node->x = SavedTensor(input);
    if (node->needs_input_grad(0)) node->weight = SavedTensor(weight);
    attach(out, node);
  }
  return out;
}

}  // namespace nn
