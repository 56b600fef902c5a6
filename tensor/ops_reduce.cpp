// Reductions: sum and mean over dimensions, max along one dimension, sum_to (the adjoint of
// broadcasting). Kernels: kernels/reduce.h.
#include "kernels/reduce.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

// Reduced dimensions as a mask; empty `dims` reduces all.
std::vector<bool> reduce_mask(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> mask(x.ndim(), dims.empty());
  for (int64_t d : dims) {
    const int w = wrap_dim(d, x.ndim(), op);
    NN_CHECK(!mask[w], "{}: dimension {} listed twice", op, d);
    mask[w] = true;
  }
  return mask;
}

struct SumBackward final : Node {
  Shape input_shape, keepdim_shape;
  double scale = 1;  // 1 for sum, 1/n for mean
  const char* name() const override { return scale == 1 ? "SumBackward" : "MeanBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor dx = g.reshape(keepdim_shape).expand(input_shape);
    return {scale == 1 ? dx : mul(dx, scale)};
  }
};

Tensor reduce_sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool mean) {
  const char* op = mean ? "mean" : "sum";
  check_floating(x, op);
  const std::vector<bool> mask = reduce_mask(x, dims, op);
  Shape keep_shape = x.shape(), outer_shape = x.shape(), inner_shape = x.shape(), out_shape;
  int64_t count = 1;
  for (int d = 0; d < x.ndim(); ++d) {
    if (mask[d]) {
      keep_shape[d] = outer_shape[d] = 1;
      count *= x.shape()[d];
      if (keepdim) out_shape.push_back(1);
    } else {
      inner_shape[d] = 1;
      out_shape.push_back(x.shape()[d]);
    }
  }
  Tensor out = empty(keep_shape, x.dtype(), x.device());
  ReduceGeometry g{make_loop(outer_shape, {out.strides(), x.strides()}), make_loop(inner_shape, {x.strides()})};
  const double scale = mean ? 1.0 / static_cast<double>(count) : 1.0;
  dispatch<SumKernels>(op, x, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(out.data<T>(), x.data<T>(), g, scale);
  });
  out = make_tensor(out.storage(), out_shape, contiguous_strides(out_shape), 0, out.dtype());
  if (auto node = new_node<SumBackward>({&x})) {
    node->input_shape = x.shape();
    node->keepdim_shape = keep_shape;
    node->scale = scale;
    attach(out, node);
  }
  return out;
}

struct MaxDimBackward final : Node {
  Shape input_shape;
  int64_t outer = 0, D = 0, inner = 0;
  SavedTensor indices;
  const char* name() const override { return "MaxBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    const Tensor idx = indices.get(*this), dy = g.contiguous();
    Tensor dx = empty(input_shape, g.dtype(), g.device());
    dispatch<MaxDimBackwardKernels>(name(), g, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(dx.data<T>(), dy.data<T>(), idx.data<int64_t>(), outer, D, inner);
    });
    return {dx};
  }
  void release() override { indices.reset(); }
};

}  // namespace

Tensor sum(const Tensor& x) { return reduce_sum(x, {}, false, false); }
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_sum(x, dims, keepdim, false);
}
Tensor mean(const Tensor& x) { return reduce_sum(x, {}, false, true); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return reduce_sum(x, dims, keepdim, true);
}

MaxResult max(const Tensor& input, int64_t dim, bool keepdim) {
  check_floating(input, "max");
  const int d = wrap_dim(dim, input.ndim(), "max");
  const Tensor x = input.ndim() == 0 ? input.reshape({1}) : input.contiguous();
  NN_CHECK(x.shape()[d] > 0, "max: dimension {} of {} is empty", dim, input.describe());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int i = d + 1; i < x.ndim(); ++i) inner *= x.shape()[i];
  const int64_t D = x.shape()[d];
  Shape out_shape = x.shape();
  if (keepdim) out_shape[d] = 1;
  else out_shape.erase(d);
  if (input.ndim() == 0) out_shape = Shape{};
  MaxResult r{empty(out_shape, x.dtype(), x.device()), empty(out_shape, DType::i64, x.device())};
  dispatch<MaxDimKernels>("max", x, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(r.values.data<T>(), r.indices.data<int64_t>(), x.data<T>(), outer, D, inner);
  });
  if (auto node = new_node<MaxDimBackward>({&input})) {
    node->input_shape = input.shape();
    node->outer = outer;
    node->D = D;
    node->inner = inner;
    node->indices = SavedTensor(r.indices);
    attach(r.values, node);
  }
  return r;
}

Tensor max(const Tensor& x) {
  check_floating(x, "max");
  NN_CHECK(x.numel() > 0, "max: tensor {} is empty", x.describe());
  return max(x.reshape({-1}), 0).values;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return max(x, dim, keepdim).indices;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int lead = x.ndim() - shape.size();
  NN_CHECK(lead >= 0, "sum_to: cannot sum {} to the larger shape {}", x.describe(), shape);
  std::vector<int64_t> dims;
  for (int d = 0; d < x.ndim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && x.shape()[d] != 1) {
      dims.push_back(d);
    } else {
      NN_CHECK(shape[d - lead] == x.shape()[d], "sum_to: {} does not broadcast to {}", shape, x.describe());
    }
  }
  if (dims.empty()) return x.reshape(shape);
  return sum(x, dims, true).reshape(shape);
}

}  // namespace nn
