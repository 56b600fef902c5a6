// The differentiable all_reduce_sum (see collective.h).
#include "tensor/collective.h"

#include "tensor/autograd.h"

namespace nn {

namespace {

struct AllReduceSumBackward final : Node {
  Collective* raw = nullptr;  // the caller keeps the group alive until backward has run
  const char* name() const override { return "AllReduceSumBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override {
    Tensor g = grad.contiguous().clone();
    raw->all_reduce_sum(g);
    return {g};
  }
};

}  // namespace

Tensor all_reduce_sum(const Tensor& x, Collective& group) {
  check_defined(x, "all_reduce_sum", "x");
  Tensor y = x.detach().contiguous().clone();
  group.all_reduce_sum(y);
  if (auto node = new_node<AllReduceSumBackward>({&x})) {
    node->raw = &group;
    attach(y, node);
  }
  return y;
}

}  // namespace nn
