// CPU elementwise kernels (see kernels/elementwise.h for the math).
//
// One loop template per arity; the op is chosen by a switch outside the loop and inlined as a lambda,
// so the inner loop over the innermost dimension has no branches and vectorises when strides are 1.
#include "kernels/elementwise.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "base/parallel.h"
#include "kernels/cpu/lane_sum.h"
#include "kernels/cpu/vec_math.h"

namespace nn {

namespace {

constexpr int64_t kGrain = 32768;  // elements per thread below which a parallel region does not pay

template <class T, class F>
void map1(const Loop& L, T* y, const T* x, F f) {
  parallel_for(0, L.numel, kGrain, [&](int64_t begin, int64_t end) {
    loop_for_each(L, begin, end, [&](const int64_t* off, int64_t n, const int64_t* s) {
      T* yp = y + off[0];
      const T* xp = x + off[1];
      if (s[0] == 1 && s[1] == 1) {
#pragma omp simd  // element i reads only element i (in place or not): vectorise without alias checks
        for (int64_t i = 0; i < n; ++i) yp[i] = f(xp[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) yp[i * s[0]] = f(xp[i * s[1]]);
      }
    });
  });
}

template <class T, class F>
void map2(const Loop& L, T* out, const T* a, const T* b, F f) {
  parallel_for(0, L.numel, kGrain, [&](int64_t begin, int64_t end) {
    loop_for_each(L, begin, end, [&](const int64_t* off, int64_t n, const int64_t* s) {
      T* op = out + off[0];
      const T* ap = a + off[1];
      const T* bp = b + off[2];
      if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
        for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bp[i]);
      } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
        const T bv = bp[0];
        for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bv);
      } else {
        for (int64_t i = 0; i < n; ++i) op[i * s[0]] = f(ap[i * s[1]], bp[i * s[2]]);
      }
    });
  });
}

// dx = f(dy, x, y); x or y may be null (then the lambda must not read it).
template <class T, class F>
void map_backward(const Loop& L, T* dx, const T* dy, const T* x, const T* y, F f) {
  parallel_for(0, L.numel, kGrain, [&](int64_t begin, int64_t end) {
    loop_for_each(L, begin, end, [&](const int64_t* off, int64_t n, const int64_t* s) {
      if (s[0] == 1 && s[1] == 1 && (!x || s[2] == 1) && (!y || s[3] == 1)) {
        // Contiguous (the common case): the null checks leave the loop, so it vectorises.
        T* d = dx + off[0];
        const T* g = dy + off[1];
        // Local pointers (a store through d could otherwise change the captured x and y, as far as the
        // compiler knows, under -fno-strict-aliasing) and omp simd (element i reads only element i: no alias
        // checks): without both GCC leaves SiLU's loop, the longest, scalar (8x slower).
        const T* xs = x ? x + off[2] : nullptr;
        const T* ys = y ? y + off[3] : nullptr;
        if (xs && ys) {
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) d[i] = f(g[i], xs[i], ys[i]);
        } else if (xs) {
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) d[i] = f(g[i], xs[i], T(0));
        } else if (ys) {
#pragma omp simd
          for (int64_t i = 0; i < n; ++i) d[i] = f(g[i], T(0), ys[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) d[i] = f(g[i], T(0), T(0));
        }
        return;
      }
      for (int64_t i = 0; i < n; ++i) {
        const T xv = x ? x[off[2] + i * s[2]] : T(0);
        const T yv = y ? y[off[3] + i * s[3]] : T(0);
        dx[off[0] + i * s[0]] = f(dy[off[1] + i * s[1]], xv, yv);
      }
    });
  });
}

}  // namespace

const char* unary_op_name(UnaryOp op) {
  static const char* names[] = {"identity", "neg", "exp", "log", "sqrt", "relu", "sigmoid", "tanh",
                                "silu",     "add_scalar", "mul_scalar", "div_scalar", "pow_scalar", "rsub_scalar",
                                "rdiv_scalar"};
  return names[static_cast<int>(op)];
}

const char* binary_op_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "pow_base_grad", "pow_exponent_grad"};
  return names[static_cast<int>(op)];
}

bool unary_backward_needs_input(UnaryOp op) {
  return op == UnaryOp::log || op == UnaryOp::pow_scalar || op == UnaryOp::rdiv_scalar || op == UnaryOp::silu;
}

bool unary_backward_needs_output(UnaryOp op) {
  return op == UnaryOp::exp || op == UnaryOp::sqrt || op == UnaryOp::relu || op == UnaryOp::sigmoid ||
         op == UnaryOp::tanh || op == UnaryOp::rdiv_scalar;
}

template <class T>
void unary_forward_cpu(UnaryOp op, T* y, const T* x, double scalar, const Loop& L) {
  const T s = static_cast<T>(scalar);
  switch (op) {
    case UnaryOp::identity: return map1(L, y, x, [](T v) { return v; });
    case UnaryOp::neg: return map1(L, y, x, [](T v) { return -v; });
    case UnaryOp::exp: return map1(L, y, x, [](T v) { return std::exp(v); });
    case UnaryOp::log: return map1(L, y, x, [](T v) { return std::log(v); });
    case UnaryOp::sqrt: return map1(L, y, x, [](T v) { return std::sqrt(v); });
    case UnaryOp::relu: return map1(L, y, x, [](T v) { return v < T(0) ? T(0) : v; });
    case UnaryOp::sigmoid: return map1(L, y, x, [](T v) { return T(1) / (T(1) + std::exp(-v)); });
    case UnaryOp::tanh: return map1(L, y, x, [](T v) { return std::tanh(v); });
    case UnaryOp::silu:  // always_inline: the loops vectorise only with the whole expression inside them
      return map1(L, y, x, [](T v) __attribute__((always_inline)) { return v / (T(1) + exp_vec(-v)); });
    case UnaryOp::add_scalar: return map1(L, y, x, [s](T v) { return v + s; });
    case UnaryOp::mul_scalar: return map1(L, y, x, [s](T v) { return v * s; });
    case UnaryOp::div_scalar: return map1(L, y, x, [s](T v) { return v / s; });
    case UnaryOp::pow_scalar: return map1(L, y, x, [s](T v) { return std::pow(v, s); });
    case UnaryOp::rsub_scalar: return map1(L, y, x, [s](T v) { return s - v; });
    case UnaryOp::rdiv_scalar: return map1(L, y, x, [s](T v) { return s / v; });
  }
}

template <class T>
void unary_backward_cpu(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, double scalar, const Loop& L) {
  const T s = static_cast<T>(scalar);
  switch (op) {
    case UnaryOp::identity:
    case UnaryOp::add_scalar: return map_backward(L, dx, dy, x, y, [](T g, T, T) { return g; });
    case UnaryOp::neg:
    case UnaryOp::rsub_scalar: return map_backward(L, dx, dy, x, y, [](T g, T, T) { return -g; });
    case UnaryOp::exp: return map_backward(L, dx, dy, x, y, [](T g, T, T yv) { return g * yv; });
    case UnaryOp::log: return map_backward(L, dx, dy, x, y, [](T g, T xv, T) { return g / xv; });
    case UnaryOp::sqrt: return map_backward(L, dx, dy, x, y, [](T g, T, T yv) { return g / (T(2) * yv); });
    case UnaryOp::relu:  // as PyTorch's threshold_backward: 0 where y <= 0, so dy passes through at NaN
      // A bit mask instead of `yv <= 0 ? 0 : g`: GCC sinks the load of g into the select's branch and then
      // cannot vectorise the loop (10x slower on ResNet-50's activations).
      return map_backward(L, dx, dy, x, y, [](T g, T, T yv) { return relu_grad_vec(g, yv); });
    case UnaryOp::sigmoid:
      return map_backward(L, dx, dy, x, y, [](T g, T, T yv) { return g * yv * (T(1) - yv); });
    case UnaryOp::tanh: return map_backward(L, dx, dy, x, y, [](T g, T, T yv) { return g * (T(1) - yv * yv); });
    case UnaryOp::silu:
      return map_backward(L, dx, dy, x, y, [](T g, T xv, T) __attribute__((always_inline)) {
        const T sg = T(1) / (T(1) + exp_vec(-xv));
        return g * sg * (T(1) + xv * (T(1) - sg));
      });
    case UnaryOp::mul_scalar: return map_backward(L, dx, dy, x, y, [s](T g, T, T) { return g * s; });
    case UnaryOp::div_scalar: return map_backward(L, dx, dy, x, y, [s](T g, T, T) { return g / s; });
    case UnaryOp::pow_scalar:
      return map_backward(L, dx, dy, x, y, [s](T g, T xv, T) {
        return s == T(0) ? T(0) : g * s * std::pow(xv, s - T(1));
      });
    case UnaryOp::rdiv_scalar: return map_backward(L, dx, dy, x, y, [](T g, T xv, T yv) { return -g * yv / xv; });
  }
}

template <class T>
void binary_forward_cpu(BinaryOp op, T* out, const T* a, const T* b, const Loop& L) {
  switch (op) {
    case BinaryOp::add: return map2(L, out, a, b, [](T u, T v) { return u + v; });
    case BinaryOp::sub: return map2(L, out, a, b, [](T u, T v) { return u - v; });
    case BinaryOp::mul: return map2(L, out, a, b, [](T u, T v) { return u * v; });
    case BinaryOp::div: return map2(L, out, a, b, [](T u, T v) { return u / v; });
    case BinaryOp::pow: return map2(L, out, a, b, [](T u, T v) { return std::pow(u, v); });
    case BinaryOp::pow_base_grad:
      return map2(L, out, a, b, [](T u, T v) { return v == T(0) ? T(0) : v * std::pow(u, v - T(1)); });
    case BinaryOp::pow_exponent_grad:
      return map2(L, out, a, b, [](T u, T v) {
        return u == T(0) && v >= T(0) ? T(0) : std::pow(u, v) * std::log(u);
      });
  }
}

// __restrict and a plain function: inside the lambda, with the pointers captured by reference, the loop
// reloaded them on every element and stayed scalar (6.1 ms for ResNet-18's 8x64x56x56, slower than add
// and relu as two vector passes).
template <class T>
void add_relu_range(T* __restrict y, const T* __restrict a, const T* __restrict b, int64_t i0, int64_t i1) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) y[i] = relu_vec<T>(a[i] + b[i]);
}

template <class T>
void add_relu_forward_cpu(T* y, const T* a, const T* b, int64_t n) {
  parallel_for(0, n, 32768, [=](int64_t i0, int64_t i1) { add_relu_range(y, a, b, i0, i1); });
}

template <class T>
void scale_rows_forward_cpu(T* y, const T* x, const T* s, int64_t rows, int64_t inner) {
  parallel_for(0, rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T f = s[i];
      const T* xr = x + i * inner;
      T* yr = y + i * inner;
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) yr[j] = xr[j] * f;
    }
  });
}

template <class T>
void scale_rows_backward_cpu(T* dx, T* ds, const T* dy, const T* x, const T* s, int64_t rows, int64_t inner) {
  parallel_for(0, rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* g = dy + i * inner;
      if (dx) {
        const T f = s[i];
        T* d = dx + i * inner;
#pragma omp simd
        for (int64_t j = 0; j < inner; ++j) d[j] = g[j] * f;
      }
      if (ds) {
        LaneSum sum;  // dot(dy row, x row) in lanes, as the other reductions
        const T* xr = x + i * inner;
        sum.add_terms(inner, [&](int64_t j) { return static_cast<double>(g[j]) * xr[j]; });
        ds[i] = static_cast<T>(sum.total());
      }
    }
  });
}

#define NN_INSTANTIATE(T)                                                                          \
  template void add_relu_forward_cpu<T>(T*, const T*, const T*, int64_t);                          \
  template void scale_rows_forward_cpu<T>(T*, const T*, const T*, int64_t, int64_t);               \
  template void scale_rows_backward_cpu<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t); \
  template void unary_forward_cpu<T>(UnaryOp, T*, const T*, double, const Loop&);                  \
  template void unary_backward_cpu<T>(UnaryOp, T*, const T*, const T*, const T*, double, const Loop&); \
  template void binary_forward_cpu<T>(BinaryOp, T*, const T*, const T*, const Loop&);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)
#undef NN_INSTANTIATE

}  // namespace nn
