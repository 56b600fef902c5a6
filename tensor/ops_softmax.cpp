// softmax and log_softmax along a dimension. Kernels: kernels/softmax.h.
#include "kernels/softmax.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

struct SoftmaxBackward final : Node {
  SoftmaxKind kind = SoftmaxKind::softmax;
  int64_t outer = 1, D = 1, inner = 1;
  SavedTensor y;  // the output: both gradients are functions of it
  const char* name() const override {
    return kind == SoftmaxKind::softmax ? "SoftmaxBackward" : "LogSoftmaxBackward";
  }
  std::vector<Tensor> apply(const Tensor& g) override {
    const Tensor ys = y.get(*this), dy = g.contiguous();
    Tensor dx = empty_like(ys);
    dispatch<SoftmaxBackwardKernels>(name(), dy, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(kind, dx.data<T>(), dy.data<T>(), ys.data<T>(), outer, D, inner);
    });
    return {dx};
  }
  void release() override { y.reset(); }
};

Tensor softmax_impl(SoftmaxKind kind, const Tensor& input, int64_t dim) {
  const char* op = kind == SoftmaxKind::softmax ? "softmax" : "log_softmax";
  check_floating(input, op);
  const Tensor x = input.ndim() == 0 ? input.reshape({1}) : input.contiguous();
  const int d = wrap_dim(dim, x.ndim(), op);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.size(i);
  for (int i = d + 1; i < x.ndim(); ++i) inner *= x.size(i);
  const int64_t D = x.size(d);
  Tensor y = empty_like(x);
  if (D > 0) {
    dispatch<SoftmaxForwardKernels>(op, x, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(kind, y.data<T>(), x.data<T>(), outer, D, inner);
    });
  }
  if (input.ndim() == 0) y = make_tensor(y.storage(), Shape{}, Strides{}, 0, y.dtype());
  if (auto node = new_node<SoftmaxBackward>({&input})) {
    node->kind = kind;
    node->outer = outer;
    node->D = D;
    node->inner = inner;
    node->y = SavedTensor(y);
    attach(y, node);
  }
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(SoftmaxKind::softmax, x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(SoftmaxKind::log_softmax, x, dim); }

}  // namespace nn
