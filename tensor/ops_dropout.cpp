// dropout: draws the mask from the caller's Generator (kernels/dropout.h) and records the backward.
#include "kernels/dropout.h"
#include "kernels/random.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

struct DropoutBackward final : Node {
  SavedTensor mask;  // already scaled by 1/(1-p)
  const char* name() const override { return "DropoutBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {mul(g, mask.get(*this))}; }
  void release() override { mask.reset(); }
};

}  // namespace

Tensor dropout(const Tensor& input, double p, bool training, Generator& gen) {
  check_floating(input, "dropout");
  NN_CHECK(p >= 0 && p <= 1, "dropout: probability p={} is not in [0, 1]", p);
  if (!training || p == 0) return input;
  if (p == 1) return mul(input, 0.0);  // every element dropped; keeps the graph, no 1/0 scale
  const Tensor x = input.contiguous();
  Tensor y = empty_like(x), mask = empty_like(x);
  const uint64_t offset = gen.reserve(random_counters(RandomKind::uniform, DType::f32, x.numel()));
  dispatch<DropoutForwardKernels>("dropout", x, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(y.data<T>(), mask.data<T>(), x.data<T>(), x.numel(), p, gen.seed(), offset);
  });
  if (auto node = new_node<DropoutBackward>({&input})) {
    node->mask = SavedTensor(mask);
    attach(y, node);
  }
  return y;
}

}  // namespace nn
