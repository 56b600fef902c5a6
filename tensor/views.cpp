// Views and copies of tensors, with their backward nodes.
//
// A view shares storage and changes only shape/strides/offset; its backward maps the gradient back to
// the input's shape (reshape back, inverse permutation, scatter into a zero tensor for slices, sum over
// broadcast dimensions for expand). Copies (contiguous, clone, to) pass the gradient straight through.
#include <numeric>
#include <optional>

#include "base/math.h"
#include "kernels/copy.h"
#include "kernels/cuda/device.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

struct ReshapeBackward final : Node {
  Shape input_shape;
  const char* name() const override { return "ReshapeBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {g.reshape(input_shape)}; }
};

struct PermuteBackward final : Node {
  Dims inverse;
  const char* name() const override { return "PermuteBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {g.permute(inverse)}; }
};

struct SliceBackward final : Node {
  Shape input_shape;
  int64_t dim = 0, start = 0, end = 0, step = 1;
  const char* name() const override { return "SliceBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor dx = zeros(input_shape, g.dtype(), g.device());
    dx.slice(dim, start, end, step).copy_(g);
    return {dx};
  }
};

struct ExpandBackward final : Node {
  Shape input_shape;
  const char* name() const override { return "ExpandBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {sum_to(g, input_shape)}; }
};

struct CopyBackward final : Node {  // contiguous() and clone(): the gradient passes through
  const char* name() const override { return "CopyBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {g}; }
};

struct ToDTypeBackward final : Node {
  DType input_dtype = DType::f32;
  const char* name() const override { return "ToDTypeBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {g.to(input_dtype)}; }
};

struct ToDeviceBackward final : Node {
  Device input_device;
  const char* name() const override { return "ToDeviceBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override { return {g.to(input_device)}; }
};

Tensor view_of(const Tensor& t, const Shape& shape, const Strides& strides, int64_t offset) {
  return make_tensor(t.storage(), shape, strides, offset, t.dtype());
}

// Replaces one -1 in `shape` so that it holds `numel` elements.
Shape infer_shape(Shape shape, int64_t numel, const Tensor& t, const char* op) {
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      NN_CHECK(infer < 0, "{}: more than one -1 in shape {}", op, shape);
      infer = d;
    } else {
      NN_CHECK(shape[d] >= 0, "{}: negative dimension in shape {}", op, shape);
      known *= shape[d];
    }
  }
  if (infer >= 0) {
    NN_CHECK(known > 0 && numel % known == 0, "{}: cannot reshape {} into {}", op, t.describe(), shape);
    shape[infer] = numel / known;
  }
  NN_CHECK(shape.numel() == numel, "{}: cannot reshape {} ({} elements) into {} ({} elements)", op,
           t.describe(), numel, shape, shape.numel());
  return shape;
}

// Strides that view a tensor of (shape, strides) as `target`, or nothing when no view can: each group
// of target dimensions must cover a group of old dimensions that is contiguous within itself.
std::optional<Strides> view_strides(const Shape& shape, const Strides& strides, const Shape& target) {
  if (shape.numel() == 0 || shape.empty()) return contiguous_strides(target);
  Strides out = Dims::filled(target.size(), 0);
  int view_d = target.size() - 1;
  int64_t base_stride = strides.back(), old_numel = 1, new_numel = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    old_numel *= shape[d];
    const bool chunk_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != old_numel * base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (new_numel < old_numel || target[view_d] == 1)) {
      out[view_d] = new_numel * base_stride;
      new_numel *= target[view_d];
      --view_d;
    }
    if (new_numel != old_numel) return std::nullopt;
    if (d > 0) {
      base_stride = strides[d - 1];
      old_numel = new_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Tensor with_view_node(Tensor out, const Tensor& input) {
  if (auto node = new_node<ReshapeBackward>({&input})) {
    node->input_shape = input.shape();
    attach(out, node);
  }
  return out;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  check_defined(*this, "view", "self");
  const Shape target = infer_shape(requested, numel(), *this, "view");
  std::optional<Strides> s = view_strides(shape(), strides(), target);
  NN_CHECK(s.has_value(), "view: tensor {} with strides {} cannot be viewed as {}; use reshape() (copies)",
           describe(), strides(), target);
  return with_view_node(view_of(*this, target, *s, offset()), *this);
}

Tensor Tensor::reshape(const Shape& requested) const {
  check_defined(*this, "reshape", "self");
  const Shape target = infer_shape(requested, numel(), *this, "reshape");
  if (view_strides(shape(), strides(), target)) return view(target);
  return contiguous().view(target);
}

Tensor Tensor::permute(const Dims& order) const {
  check_defined(*this, "permute", "self");
  NN_CHECK(order.size() == ndim(), "permute: order {} has {} entries for tensor {}", order, order.size(),
           describe());
  Shape shape_out = shape();
  Strides strides_out = strides();
  Dims inverse = Dims::filled(ndim(), -1);
  for (int i = 0; i < ndim(); ++i) {
    const int d = wrap_dim(order[i], ndim(), "permute");
    NN_CHECK(inverse[d] == -1, "permute: dimension {} repeated in {}", d, order);
    inverse[d] = i;
    shape_out[i] = shape()[d];
    strides_out[i] = strides()[d];
  }
  Tensor out = view_of(*this, shape_out, strides_out, offset());
  if (auto node = new_node<PermuteBackward>({this})) {
    node->inverse = inverse;
    attach(out, node);
  }
  return out;
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  check_defined(*this, "transpose", "self");
  Dims order = Dims::filled(ndim(), 0);
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[wrap_dim(dim0, ndim(), "transpose")], order[wrap_dim(dim1, ndim(), "transpose")]);
  return permute(order);
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  check_defined(*this, "slice", "self");
  const int d = wrap_dim(dim, ndim(), "slice");
  NN_CHECK(step > 0, "slice: step must be positive, got {}", step);
  const int64_t n = shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape shape_out = shape();
  Strides strides_out = strides();
  shape_out[d] = ceil_div(end - start, step);
  strides_out[d] = strides()[d] * step;
  Tensor out = view_of(*this, shape_out, strides_out, offset() + start * strides()[d]);
  if (auto node = new_node<SliceBackward>({this})) {
    node->input_shape = shape();
    node->dim = d;
    node->start = start;
    node->end = end;
    node->step = step;
    attach(out, node);
  }
  return out;
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  check_defined(*this, "select", "self");
  const int d = wrap_dim(dim, ndim(), "select");
  const int64_t n = shape()[d];
  NN_CHECK(index >= -n && index < n, "select: index {} is out of range for dimension {} of {}", index, d,
           describe());
  if (index < 0) index += n;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  check_defined(*this, "unsqueeze", "self");
  const int d = wrap_dim(dim, ndim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(d, 1);
  return view(s);
}

Tensor Tensor::squeeze(int64_t dim) const {
  check_defined(*this, "squeeze", "self");
  const int d = wrap_dim(dim, ndim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape s = shape();
  s.erase(d);
  return view(s);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  check_defined(*this, "flatten", "self");
  if (ndim() == 0) return reshape({1});
  const int s = wrap_dim(start_dim, ndim(), "flatten"), e = wrap_dim(end_dim, ndim(), "flatten");
  NN_CHECK(s <= e, "flatten: start_dim {} is after end_dim {} for {}", start_dim, end_dim, describe());
  Shape out;
  for (int d = 0; d < s; ++d) out.push_back(shape()[d]);
  int64_t merged = 1;
  for (int d = s; d <= e; ++d) merged *= shape()[d];
  out.push_back(merged);
  for (int d = e + 1; d < ndim(); ++d) out.push_back(shape()[d]);
  return reshape(out);
}

Tensor Tensor::expand(const Shape& target) const {
  check_defined(*this, "expand", "self");
  NN_CHECK(target.size() >= ndim(), "expand: cannot expand {} to fewer dimensions {}", describe(), target);
  Shape shape_out = target;
  Strides strides_out = Dims::filled(target.size(), 0);
  const int shift = target.size() - ndim();
  for (int d = 0; d < target.size(); ++d) {
    if (d < shift) {
      NN_CHECK(target[d] >= 0, "expand: new leading dimension {} cannot be {}", d, target[d]);
      continue;
    }
    const int64_t have = shape()[d - shift];
    const int64_t want = target[d] == -1 ? have : target[d];
    NN_CHECK(want == have || have == 1, "expand: dimension {} of {} has size {} and cannot become {}",
             d - shift, describe(), have, want);
    shape_out[d] = want;
    strides_out[d] = have == 1 && want != 1 ? 0 : strides()[d - shift];
  }
  Tensor out = view_of(*this, shape_out, strides_out, offset());
  if (auto node = new_node<ExpandBackward>({this})) {
    node->input_shape = shape();
    attach(out, node);
  }
  return out;
}

Tensor Tensor::clone() const {
  check_defined(*this, "clone", "self");
  Tensor out = empty(shape(), dtype(), device());
  const Loop L = make_loop_for(shape(), {&out, this});
  dispatch_any_dtype<CopyKernels>(*this, [&](auto kernel) { kernel(out.raw_data(), dtype(), raw_data(), dtype(), L); });
  if (auto node = new_node<CopyBackward>({this})) attach(out, node);
  return out;
}

Tensor Tensor::contiguous() const {
  check_defined(*this, "contiguous", "self");
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::to(DType target) const {
  check_defined(*this, "to", "self");
  if (target == dtype()) return *this;
  NN_CHECK(!requires_grad() || is_floating(target),
           "to: {} requires grad and cannot become {} (gradients need floating point)", describe(),
           dtype_name(target));
  Tensor out = empty(shape(), target, device());
  const Loop L = make_loop_for(shape(), {&out, this});
  dispatch_any_dtype<CopyKernels>(*this, [&](auto kernel) { kernel(out.raw_data(), target, raw_data(), dtype(), L); });
  if (auto node = new_node<ToDTypeBackward>({this})) {
    node->input_dtype = dtype();
    attach(out, node);
  }
  return out;
}

Tensor Tensor::to(Device target) const {
  check_defined(*this, "to", "self");
  if (target == device()) return *this;
  const Tensor src = contiguous();
  Tensor out = empty(shape(), dtype(), target);
  const size_t nbytes = static_cast<size_t>(numel()) * dtype_size(dtype());
  if (nbytes > 0) {
    if (target.is_cuda() && device().is_cpu()) {
      cuda_copy(out.raw_data(), src.raw_data(), nbytes, CopyKind::host_to_device, target.index);
    } else if (target.is_cpu()) {
      cuda_copy(out.raw_data(), src.raw_data(), nbytes, CopyKind::device_to_host, device().index);
    } else {
      NN_FAIL("to: copies between CUDA devices ({} to {}) are not supported", device().str(), target.str());
    }
  }
  if (auto node = new_node<ToDeviceBackward>({&src})) {
    node->input_device = device();
    attach(out, node);
  }
  return out;
}

}  // namespace nn
