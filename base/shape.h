// Dims: a small fixed-capacity array of int64, used for shapes and strides.
//
// Tensors have at most kMaxDims dimensions; storing them inline keeps tensor metadata off the heap.
// Dimension letters used across skinnet are listed in docs/glossary.md (N, C, H, W, K, R, S, P, Q).
// This header stays free of fmt so that kernel headers, which nvcc compiles, can include it; the fmt
// formatter for Dims is in base/error.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace nn {

inline constexpr int kMaxDims = 8;

[[noreturn]] void fail_too_many_dims(size_t n);  // throws nn::Error

class Dims {
 public:
  Dims() = default;
  Dims(std::initializer_list<int64_t> values) : Dims(std::span(values.begin(), values.size())) {}
  explicit Dims(std::span<const int64_t> values) {
    if (values.size() > kMaxDims) fail_too_many_dims(values.size());
    for (int64_t v : values) d_[n_++] = v;
  }
  static Dims filled(int n, int64_t value) {
    Dims d;
    for (int i = 0; i < n; ++i) d.push_back(value);
    return d;
  }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t back() const { return d_[n_ - 1]; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + n_; }
  int64_t* begin() { return d_; }
  int64_t* end() { return d_ + n_; }
  std::span<const int64_t> span() const { return {d_, static_cast<size_t>(n_)}; }

  void push_back(int64_t v) {
    if (n_ == kMaxDims) fail_too_many_dims(n_ + 1);
    d_[n_++] = v;
  }
  void insert(int pos, int64_t v) {
    if (n_ == kMaxDims) fail_too_many_dims(n_ + 1);
    for (int i = n_; i > pos; --i) d_[i] = d_[i - 1];
    d_[pos] = v;
    ++n_;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
    --n_;
  }

  // Product of all entries (1 for an empty Dims, the shape of a scalar).
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < n_; ++i) n *= d_[i];
    return n;
  }

  friend bool operator==(const Dims& a, const Dims& b) {
    if (a.n_ != b.n_) return false;
    for (int i = 0; i < a.n_; ++i)
      if (a.d_[i] != b.d_[i]) return false;
    return true;
  }

  std::string str() const;  // "[2, 3, 5]"

 private:
  int64_t d_[kMaxDims] = {};
  int n_ = 0;
};

using Shape = Dims;
using Strides = Dims;

// Row-major (C order) strides, in elements, for a shape.
Strides contiguous_strides(const Shape& shape);

// Maps a possibly negative dimension index into [0, ndim); `op` names the caller in the error.
int wrap_dim(int64_t dim, int ndim, const char* op);

// The shape two shapes broadcast to (numpy rules), or an error naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace nn
