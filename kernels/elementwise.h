// Elementwise kernels: unary ops (with an optional scalar), their backward, and binary ops.
//
// Every kernel walks a Loop (kernels/loop.h) whose operand 0 is the output, so inputs may be broadcast
// or strided views. Math (x: input, y: output, s: scalar, dy/dx: gradients):
//   identity y = x            neg  y = -x        exp  y = e^x, dx = dy*y      log y = ln x, dx = dy/x
//   sqrt y = sqrt x, dx = dy/(2y)
//   relu y = max(x, 0) (NaN stays NaN), dx = 0 where y <= 0, else dy (so NaN passes dy, as in PyTorch)
//   sigmoid y = 1/(1+e^-x), dx = dy*y*(1-y)        tanh dx = dy*(1-y^2)
//   silu (swish) y = x*sigmoid(x), dx = dy*sg*(1 + x*(1-sg)) with sg = sigmoid(x) (recomputed from x)
//   add_scalar y = x+s    mul_scalar y = x*s    div_scalar y = x/s    pow_scalar y = x^s, dx = dy*s*x^(s-1)
//   rsub_scalar y = s-x   rdiv_scalar y = s/x, dx = -dy*y/x
//   binary: add, sub, mul, div, pow; gradients are composed from these in tensor/ops_elementwise.cpp,
//   with two helpers for pow: pow_base_grad(a, b) = b * a^(b-1) (0 where b == 0) and
//   pow_exponent_grad(a, b) = a^b * ln a (0 where a == 0 and b >= 0, as PyTorch)
// Cost: 1 FLOP per element (exp/log/tanh: ~10-20), memory-bound: (noperands * elsize) bytes/element.
#pragma once

#include "kernels/loop.h"

namespace nn {

enum class UnaryOp {
  identity, neg, exp, log, sqrt, relu, sigmoid, tanh, silu,
  add_scalar, mul_scalar, div_scalar, pow_scalar, rsub_scalar, rdiv_scalar,
};
enum class BinaryOp { add, sub, mul, div, pow, pow_base_grad, pow_exponent_grad };

const char* unary_op_name(UnaryOp op);
const char* binary_op_name(BinaryOp op);
// Which saved tensors a unary op's backward reads.
bool unary_backward_needs_input(UnaryOp op);
bool unary_backward_needs_output(UnaryOp op);

// y = op(x, s).  Loop operands: y, x.
template <class T> void unary_forward_cpu(UnaryOp op, T* y, const T* x, double s, const Loop& L);
// dx = dy * dop(x, y, s)/dx.  Loop operands: dx, dy, x, y (x or y may be null when the op ignores it).
template <class T>
void unary_backward_cpu(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, double s, const Loop& L);
// out = op(a, b).  Loop operands: out, a, b.
template <class T> void binary_forward_cpu(BinaryOp op, T* out, const T* a, const T* b, const Loop& L);

// y = relu(a + b) over n contiguous values, in one pass: ResNet's residual connection (tensor/ops.h, add_relu).
// Each value is a + b rounded to T, then relu_vec (kernels/cpu/vec_math.h): bitwise relu(add(a, b)). CPU
// only; elsewhere add_relu is the two ops.
template <class T> void add_relu_forward_cpu(T* y, const T* a, const T* b, int64_t n);

void unary_forward_cuda(UnaryOp op, float* y, const float* x, double s, const Loop& L);
void unary_backward_cuda(UnaryOp op, float* dx, const float* dy, const float* x, const float* y, double s,
                         const Loop& L);
void binary_forward_cuda(BinaryOp op, float* out, const float* a, const float* b, const Loop& L);

// Row scaling: x viewed as [rows, inner] (contiguous), each row multiplied by its own factor. It is the
// gate of squeeze-and-excitation (rows = N*C, inner = H*W: one factor per channel of each image) and
// stochastic depth's per-sample mask (rows = N, inner = C*H*W).
//   y[i, j] = x[i, j] * s[i]
//   backward: dx[i, j] = dy[i, j] * s[i],  ds[i] = sum_j dy[i, j] * x[i, j]   (dx or ds null: not wanted)
// Memory-bound: forward reads x and writes y once (8 bytes/element in f32), backward reads dy and x and
// writes dx (12 bytes/element); ds is a per-row reduction in a fixed order (deterministic).
template <class T> void scale_rows_forward_cpu(T* y, const T* x, const T* s, int64_t rows, int64_t inner);
template <class T>
void scale_rows_backward_cpu(T* dx, T* ds, const T* dy, const T* x, const T* s, int64_t rows, int64_t inner);
void scale_rows_forward_cuda(float* y, const float* x, const float* s, int64_t rows, int64_t inner);
void scale_rows_backward_cuda(float* dx, float* ds, const float* dy, const float* x, const float* s, int64_t rows,
                              int64_t inner);

// The kernel tables tensor/dispatch.h runs (kernels/README.md): one entry point, one kernel per backend.
struct UnaryForwardKernels {
  template <class T> static constexpr auto cpu = unary_forward_cpu<T>;
  static constexpr auto cuda = unary_forward_cuda;
};
struct UnaryBackwardKernels {
  template <class T> static constexpr auto cpu = unary_backward_cpu<T>;
  static constexpr auto cuda = unary_backward_cuda;
};
struct ScaleRowsForwardKernels {
  template <class T> static constexpr auto cpu = scale_rows_forward_cpu<T>;
  static constexpr auto cuda = scale_rows_forward_cuda;
};
struct ScaleRowsBackwardKernels {
  template <class T> static constexpr auto cpu = scale_rows_backward_cpu<T>;
  static constexpr auto cuda = scale_rows_backward_cuda;
};
struct AddReluForwardKernels {  // CPU only
  template <class T> static constexpr auto cpu = add_relu_forward_cpu<T>;
};
struct BinaryForwardKernels {
  template <class T> static constexpr auto cpu = binary_forward_cpu<T>;
  static constexpr auto cuda = binary_forward_cuda;
};

}  // namespace nn
