// cat and flatten. (Views such as reshape and slice are methods of Tensor, in tensor/views.cpp.)
#include "kernels/copy.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

struct CatBackward final : Node {
  int64_t dim = 0;
  std::vector<int64_t> sizes;  // each input's extent along dim
  const char* name() const override { return "CatBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    std::vector<Tensor> grads;
    int64_t offset = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      grads.push_back(needs_input_grad(i) ? g.slice(dim, offset, offset + sizes[i]) : Tensor());
      offset += sizes[i];
    }
    return grads;
  }
};

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  NN_CHECK(!tensors.empty(), "cat: needs at least one tensor");
  const Tensor& first = tensors[0];
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string arg = fmt::format("tensors[{}]", i);
    check_defined(tensors[i], "cat", arg.c_str());
  }
  const int d = wrap_dim(dim, first.ndim(), "cat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_same_device(first, t, "cat");
    check_same_dtype(first, t, "cat");
    bool match = t.ndim() == first.ndim();
    for (int k = 0; match && k < t.ndim(); ++k) match = k == d || t.size(k) == first.size(k);
    NN_CHECK(match, "cat: tensors[{}] {} does not match tensors[0] {} outside dimension {}", i, t.describe(),
             first.describe(), d);
    out_shape[d] += t.size(d);
  }
  Tensor out = empty(out_shape, first.dtype(), first.device());
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    const Tensor dst = out.slice(d, offset, offset + t.size(d));
    offset += t.size(d);
    const Loop L = make_loop_for(dst.shape(), {&dst, &t});
    dispatch_any_dtype<CopyKernels>(dst, [&](auto kernel) {
      kernel(dst.raw_data(), dst.dtype(), t.raw_data(), t.dtype(), L);
    });
  }
  std::vector<const Tensor*> inputs;
  for (const Tensor& t : tensors) inputs.push_back(&t);
  if (auto node = new_node<CatBackward>(inputs)) {
    node->dim = d;
    for (const Tensor& t : tensors) node->sizes.push_back(t.size(d));
    attach(out, node);
  }
  return out;
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  check_defined(x, "flatten", "input");
  return x.flatten(start_dim, end_dim);
}

}  // namespace nn
