// scale_rows (squeeze-and-excitation's gate) and stochastic depth, which is scale_rows by a per-sample
// mask. Kernels: kernels/elementwise.h (scale_rows_*).
#include <vector>

#include "kernels/elementwise.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"
#include "tensor/shard.h"

namespace nn {

namespace {

struct ScaleRowsBackward final : Node {
  SavedTensor x, s;  // x for ds, s for dx
  Shape s_shape;
  const char* name() const override { return "ScaleRowsBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override {
    const Tensor dy = grad.contiguous();
    const Tensor xs = needs_input_grad(1) ? x.get(*this) : Tensor(), ss = needs_input_grad(0) ? s.get(*this) : Tensor();
    Tensor dx = needs_input_grad(0) ? empty_like(dy) : Tensor();
    Tensor ds = needs_input_grad(1) ? empty(s_shape, dy.dtype(), dy.device()) : Tensor();
    const int64_t rows = s_shape.numel(), inner = rows > 0 ? dy.numel() / rows : 0;
    dispatch<ScaleRowsBackwardKernels>("scale_rows_backward", dy, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(data_or_null<T>(dx), data_or_null<T>(ds), dy.data<T>(), data_or_null<T>(xs), data_or_null<T>(ss), rows,
             inner);
    });
    return {dx, ds};
  }
  void release() override {
    x.reset();
    s.reset();
  }
};

}  // namespace

Tensor scale_rows(const Tensor& input, const Tensor& scale) {
  check_floating(input, "scale_rows");
  check_same_device(input, scale, "scale_rows");
  check_same_dtype(input, scale, "scale_rows");
  bool prefix = scale.ndim() <= input.ndim();
  for (int64_t d = 0; prefix && d < scale.ndim(); ++d) prefix = scale.size(d) == input.size(d);
  NN_CHECK(prefix, "scale_rows: the scale {} must have a prefix of the input's shape {} (e.g. [N, C] for [N, C, H, W])",
           scale.describe(), input.describe());
  const Tensor x = input.contiguous(), s = scale.contiguous();
  Tensor y = empty_like(x);
  const int64_t rows = s.numel(), inner = rows > 0 ? x.numel() / rows : 0;
  dispatch<ScaleRowsForwardKernels>("scale_rows", x, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(y.data<T>(), x.data<T>(), s.data<T>(), rows, inner);
  });
  if (auto node = new_node<ScaleRowsBackward>({&input, &scale})) {
    node->s_shape = s.shape();
    if (node->needs_input_grad(1)) node->x = SavedTensor(x);
    if (node->needs_input_grad(0)) node->s = SavedTensor(s);
    attach(y, node);
  }
  return y;
}

Tensor stochastic_depth(const Tensor& input, double p, bool training, Generator& gen) {
  check_floating(input, "stochastic_depth");
  NN_CHECK(p >= 0 && p <= 1, "stochastic_depth: probability p={} is not in [0, 1]", p);
  NN_CHECK(input.ndim() >= 1, "stochastic_depth: input {} needs a batch dimension", input.describe());
  if (!training || p == 0) return input;
  // One uniform per sample of the global batch (all of it under a BatchShard, so that every rank draws
  // the mask a single process would), kept with probability 1 - p and scaled by 1/(1-p) (p = 1: all 0).
  const BatchShard* shard = BatchShard::current();
  const int64_t rows = input.size(0), first = shard ? shard->first_row() : 0, total = shard ? shard->total_rows() : rows;
  NN_CHECK(first + rows <= total, "stochastic_depth: {} rows from row {} do not fit the global batch of {} (BatchShard)",
           rows, first, total);
  const std::vector<double> u = rand({total}, gen, DType::f64).to_vector<double>();
  const double keep = 1 - p;
  std::vector<double> mask(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) mask[static_cast<size_t>(i)] = u[static_cast<size_t>(first + i)] < keep ? 1 / keep : 0;
  const Tensor s = from_vector(mask, {rows}).to(input.dtype()).to(input.device());
  return scale_rows(input, s);
}

}  // namespace nn
