// Tensor: a strided view of a Storage, plus what autograd needs to know about it.
//
// A Tensor is a cheap handle (one shared_ptr) to a TensorImpl holding shape, strides (in elements),
// offset (in elements), dtype and the autograd fields. Copying a Tensor copies the handle: both names
// refer to the same tensor, as in PyTorch. View methods (reshape, permute, slice, ...) make a new
// TensorImpl on the same Storage. Differentiable functions of tensors live in tensor/ops.h.
//
// Layout convention: images are NCHW, float32, contiguous (docs/glossary.md lists the letters).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "base/shape.h"
#include "tensor/storage.h"

namespace nn {

struct Node;
struct TensorImpl;
class Generator;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (e.g. "no gradient", "no bias")
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }  // the same tensor object

  // --- metadata
  const Shape& shape() const;
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int ndim() const;
  int64_t numel() const;
  const Strides& strides() const;
  int64_t stride(int64_t dim) const;
  int64_t offset() const;
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;
  const std::string& name() const;       // optional label used in error messages ("layer1.0.conv1.weight")
  Tensor& set_name(std::string name);
  std::string describe() const;          // "'name' f32 [2, 3] cpu" for error messages

  // Pointer to element 0 (storage + offset). Checks the dtype matches T.
  template <class T> T* data() const;
  void* raw_data() const;
  // The value of a one-element tensor, copied to the host.
  template <class T> T item() const;
  // All elements in row-major order, copied to the host (for tests and printing).
  template <class T> std::vector<T> to_vector() const;

  // --- views and copies; all differentiable, all sharing storage except contiguous()/clone()/to()
  Tensor reshape(const Shape& shape) const;  // a view when strides allow, else a copy; one dim may be -1
  Tensor view(const Shape& shape) const;     // a view or an error
  Tensor permute(const Dims& order) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;  // python-style bounds
  Tensor select(int64_t dim, int64_t index) const;                                // drops `dim`
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;  // broadcast to `shape` with stride 0
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor contiguous() const;  // *this when already contiguous, else a row-major copy
  Tensor clone() const;       // always a new contiguous copy
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;  // explicit device moves; never implicit

  // --- autograd
  bool requires_grad() const;
  Tensor& requires_grad_(bool value = true);  // leaves only
  Tensor grad() const;                        // undefined until backward() reaches this leaf
  void set_grad(const Tensor& grad) const;
  void zero_grad() const;  // drops the gradient (as PyTorch's set_to_none)
  const std::shared_ptr<Node>& grad_fn() const;
  bool is_leaf() const;
  // Backpropagates from this tensor: a scalar, or any shape with `gradient` of the same shape.
  void backward(const Tensor& gradient = {}, bool retain_graph = false) const;
  Tensor detach() const;  // same storage, no history, requires_grad false

  // --- in-place writes to the data (const: the handle is unchanged, as in PyTorch's C++ API). Not
  // recorded by autograd, so refused on a tensor that requires grad while grad mode is on (optimisers
  // update parameters under NoGradGuard).
  const Tensor& zero_() const;
  const Tensor& fill_(double value) const;
  const Tensor& copy_(const Tensor& src) const;  // src broadcasts to this tensor's shape; dtypes may differ
  const Tensor& add_(const Tensor& other, double alpha = 1.0) const;
  const Tensor& add_(double value) const;
  const Tensor& mul_(double value) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  DType dtype = DType::f32;

  bool requires_grad = false;
  Tensor grad;                          // leaves: the accumulated gradient
  std::shared_ptr<Node> grad_fn;        // non-leaves: the node that made this tensor
  std::weak_ptr<Node> grad_accumulator; // leaves: the node that accumulates into `grad`
  std::string name;
};

// --- factories. Contents of empty() are uninitialised.
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
Tensor empty_like(const Tensor& t);  // same shape, dtype and device; contiguous
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor arange(int64_t n, DType dtype = DType::f32);  // 0, 1, ..., n-1
Tensor scalar_tensor(double value, DType dtype = DType::f32);  // shape []
// A CPU tensor holding `values` (row-major) with `shape`; the element count must match.
template <class T> Tensor from_vector(const std::vector<T>& values, const Shape& shape);
// Random tensors from a seeded generator (base/random.h); float dtypes.
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32);
Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32);  // uniform [0, 1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen);  // i64 in [low, high)

// A new tensor made from an existing storage (used by views and by weight loading).
Tensor make_tensor(std::shared_ptr<Storage> storage, const Shape& shape, const Strides& strides,
                   int64_t offset, DType dtype);

// Readable printing, PyTorch style, eliding the middle of large dimensions.
std::string to_string(const Tensor& t);

// Checks used by every op: `op` names the caller in the error.
void check_defined(const Tensor& t, const char* op, const char* arg);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op);
void check_floating(const Tensor& t, const char* op);

// --- inline accessors

inline const Shape& Tensor::shape() const { return impl_->shape; }
inline int Tensor::ndim() const { return impl_->shape.size(); }
inline int64_t Tensor::numel() const { return impl_->shape.numel(); }
inline const Strides& Tensor::strides() const { return impl_->strides; }
inline int64_t Tensor::offset() const { return impl_->offset; }
inline DType Tensor::dtype() const { return impl_->dtype; }
inline Device Tensor::device() const { return impl_->storage->device(); }
inline const std::shared_ptr<Storage>& Tensor::storage() const { return impl_->storage; }
inline bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }
inline const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }
inline bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }

inline void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
}

template <class T>
T* Tensor::data() const {
  NN_CHECK(impl_, "data(): the tensor is undefined");
  NN_CHECK(impl_->dtype == dtype_of<T>, "data(): tensor {} accessed as {}", describe(),
           dtype_name(dtype_of<T>));
  return static_cast<T*>(raw_data());
}

}  // namespace nn

template <>
struct fmt::formatter<nn::Tensor> : fmt::formatter<std::string> {
  auto format(const nn::Tensor& t, format_context& ctx) const {
    return fmt::formatter<std::string>::format(nn::to_string(t), ctx);
  }
};
