// Tensor metadata, factories, element access, in-place writes and argument checks.
// Views and copies (reshape, permute, slice, contiguous, to, ...) are in tensor/views.cpp.
#include "tensor/tensor.h"

#include "base/random.h"
#include "kernels/copy.h"
#include "kernels/cuda/device.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

int64_t Tensor::size(int64_t dim) const { return impl_->shape[wrap_dim(dim, ndim(), "size")]; }
int64_t Tensor::stride(int64_t dim) const { return impl_->strides[wrap_dim(dim, ndim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int d = ndim() - 1; d >= 0; --d) {
    if (impl_->shape[d] == 1) continue;
    if (impl_->strides[d] != expected) return false;
    expected *= impl_->shape[d];
  }
  return true;
}

const std::string& Tensor::name() const { return impl_->name; }
Tensor& Tensor::set_name(std::string name) {
  impl_->name = std::move(name);
  return *this;
}

std::string Tensor::describe() const {
  if (!impl_) return "(undefined)";
  std::string s = impl_->name.empty() ? "" : "'" + impl_->name + "' ";
  return s + fmt::format("{} {} {}", dtype_name(dtype()), shape(), device().str());
}

// --- checks

void check_defined(const Tensor& t, const char* op, const char* arg) {
  NN_CHECK(t.defined(), "{}: argument '{}' is an undefined tensor", op, arg);
}
void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  NN_CHECK(a.device() == b.device(), "{}: tensors on different devices: {} and {}; move one with .to()", op,
           a.describe(), b.describe());
}
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  NN_CHECK(a.dtype() == b.dtype(), "{}: dtypes differ: {} and {}; convert one with .to(dtype)", op,
           a.describe(), b.describe());
}
void check_floating(const Tensor& t, const char* op) {
  check_defined(t, op, "input");
  NN_CHECK(is_floating(t.dtype()), "{}: expected a floating-point tensor, got {}", op, t.describe());
}

Strides broadcast_strides(const Tensor& t, const Shape& shape) {
  Strides s = Dims::filled(shape.size(), 0);
  const int shift = shape.size() - t.ndim();
  NN_INTERNAL_CHECK(shift >= 0);
  for (int d = 0; d < t.ndim(); ++d) {
    NN_INTERNAL_CHECK(t.shape()[d] == shape[d + shift] || t.shape()[d] == 1);
    s[d + shift] = t.shape()[d] == 1 ? 0 : t.strides()[d];
  }
  return s;
}

Loop make_loop_for(const Shape& shape, std::initializer_list<const Tensor*> operands) {
  NN_INTERNAL_CHECK(operands.size() <= Loop::kMaxOperands);
  Strides s[Loop::kMaxOperands];
  int k = 0;
  for (const Tensor* t : operands) s[k++] = t ? broadcast_strides(*t, shape) : Dims::filled(shape.size(), 0);
  switch (k) {
    case 1: return make_loop(shape, {s[0]});
    case 2: return make_loop(shape, {s[0], s[1]});
    case 3: return make_loop(shape, {s[0], s[1], s[2]});
    default: return make_loop(shape, {s[0], s[1], s[2], s[3]});
  }
}

// --- factories

Tensor make_tensor(std::shared_ptr<Storage> storage, const Shape& shape, const Strides& strides, int64_t offset,
                   DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) NN_CHECK(d >= 0, "empty: negative dimension in shape {}", shape);
  const size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  return make_tensor(Storage::allocate(nbytes, device), shape, contiguous_strides(shape), 0, dtype);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor scalar_tensor(double value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, DType::f64);
  double* p = t.data<double>();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<double>(i);
  return dtype == DType::f64 ? t : t.to(dtype);
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  NN_CHECK(static_cast<int64_t>(values.size()) == shape.numel(),
           "from_vector: {} values do not fill shape {} ({} elements)", values.size(), shape, shape.numel());
  Tensor t = empty(shape, dtype_of<T>);
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);

namespace {

Tensor random_float(RandomKind kind, const Shape& shape, Generator& gen, DType dtype, const char* op) {
  Tensor t = empty(shape, dtype);
  const uint64_t offset = gen.reserve(random_counters(kind, dtype, t.numel()));
  dispatch_floating(dtype, op, [&](auto v) {
    using T = decltype(v);
    if (kind == RandomKind::normal) normal_fill_cpu<T>(t.data<T>(), t.numel(), gen.seed(), offset);
    else uniform_fill_cpu<T>(t.data<T>(), t.numel(), gen.seed(), offset);
  });
  return t;
}

}  // namespace

Tensor randn(const Shape& shape, Generator& gen, DType dtype) {
  return random_float(RandomKind::normal, shape, gen, dtype, "randn");
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype) {
  return random_float(RandomKind::uniform, shape, gen, dtype, "rand");
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen) {
  NN_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  Tensor t = empty(shape, DType::i64);
  const uint64_t offset = gen.reserve(random_counters(RandomKind::randint, DType::i64, t.numel()));
  randint_fill_cpu(t.data<int64_t>(), t.numel(), low, high, gen.seed(), offset);
  return t;
}

// --- element access

template <class T>
T Tensor::item() const {
  NN_CHECK(defined() && numel() == 1, "item(): needs a one-element tensor, got {}", describe());
  Tensor host = detach().to(Device::cpu()).to(dtype_of<T>);
  return *host.data<T>();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = detach().to(Device::cpu()).to(dtype_of<T>).contiguous();
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}

template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

// --- autograd accessors

Tensor& Tensor::requires_grad_(bool value) {
  NN_CHECK(is_leaf(), "requires_grad_: tensor {} is not a leaf (it has a grad_fn); use detach() first",
           describe());
  NN_CHECK(!value || is_floating(dtype()), "requires_grad_: only floating-point tensors can require grad, not {}",
           describe());
  impl_->requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const { return impl_->grad; }

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined())
    NN_CHECK(grad.shape() == shape() && grad.dtype() == dtype() && grad.device() == device(),
             "set_grad: gradient {} does not match tensor {}", grad.describe(), describe());
  impl_->grad = grad;
}

void Tensor::zero_grad() const { impl_->grad = Tensor(); }

Tensor Tensor::detach() const {
  Tensor t = make_tensor(storage(), shape(), strides(), offset(), dtype());
  t.impl()->name = impl_->name;
  return t;
}

// --- in-place writes

namespace {

void check_inplace(const Tensor& t, const char* op) {
  check_defined(t, op, "self");
  NN_CHECK(!(t.requires_grad() && grad_enabled()),
           "{}: in-place write to {}, which requires grad; autograd cannot track it. Do it under "
           "NoGradGuard (as optimisers do) or use an out-of-place op", op, t.describe());
}

void run_copy(const Tensor& dst, const Tensor& src) {
  const Loop L = make_loop_for(dst.shape(), {&dst, &src});
  dispatch_any_dtype<CopyKernels>(dst, [&](auto kernel) {  // copy_ checked that src is on dst's device
    kernel(dst.raw_data(), dst.dtype(), src.raw_data(), src.dtype(), L);
  });
}

}  // namespace

const Tensor& Tensor::fill_(double value) const {
  check_inplace(*this, "fill_");
  const Loop L = make_loop_for(shape(), {this});
  dispatch_any_dtype<FillKernels>(*this, [&](auto kernel) { kernel(raw_data(), dtype(), value, L); });
  storage()->bump_version();
  return *this;
}

const Tensor& Tensor::zero_() const { return fill_(0.0); }

const Tensor& Tensor::copy_(const Tensor& src) const {
  check_inplace(*this, "copy_");
  check_defined(src, "copy_", "src");
  check_same_device(*this, src, "copy_");
  NN_CHECK(src.ndim() <= ndim() && broadcast_shapes(shape(), src.shape(), "copy_") == shape(),
           "copy_: source {} does not broadcast to destination {}", src.describe(), describe());
  NN_CHECK(storage() != src.storage() || (raw_data() == src.raw_data() && strides() == src.strides()) ||
               numel() == 0,
           "copy_: source and destination share storage; copy the source with clone() first");
  run_copy(*this, src);
  storage()->bump_version();
  return *this;
}

// The elementwise kernels allow the output to alias an input read at the same position, so in-place
// updates run the forward kernels with out == self.
const Tensor& Tensor::add_(const Tensor& other, double alpha) const {
  check_inplace(*this, "add_");
  check_defined(other, "add_", "other");
  check_same_device(*this, other, "add_");
  check_same_dtype(*this, other, "add_");
  NN_CHECK(broadcast_shapes(shape(), other.shape(), "add_") == shape(),
           "add_: {} does not broadcast to {}", other.describe(), describe());
  Tensor update;
  {
    NoGradGuard no_grad;
    update = alpha == 1.0 ? other : mul(other, alpha);
  }
  const Loop L = make_loop_for(shape(), {this, this, &update});
  dispatch<BinaryForwardKernels>("add_", *this, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(BinaryOp::add, data<T>(), data<T>(), update.data<T>(), L);
  });
  storage()->bump_version();
  return *this;
}

namespace {

void unary_inplace(const Tensor& t, UnaryOp op, double value, const char* name) {
  check_inplace(t, name);
  const Loop L = make_loop_for(t.shape(), {&t, &t});
  dispatch<UnaryForwardKernels>(name, t, [&](auto kernel, auto v) {
    using T = decltype(v);
    kernel(op, t.data<T>(), t.data<T>(), value, L);
  });
  t.storage()->bump_version();
}

}  // namespace

const Tensor& Tensor::mul_(double value) const {
  unary_inplace(*this, UnaryOp::mul_scalar, value, "mul_");
  return *this;
}

const Tensor& Tensor::add_(double value) const {
  unary_inplace(*this, UnaryOp::add_scalar, value, "add_");
  return *this;
}

}  // namespace nn
