// Sums in double over 16 independent lanes, for the CPU kernels that reduce long runs of values: batch
// norm's channel statistics (kernels/cpu/batch_norm.cpp) and conv2d's bias gradient (kernels/cpu/conv2d.cpp).
//
// One double accumulator is a chain of dependent adds that the compiler may not reorder (no -ffast-math):
// 4 cycles per element. Lanes let it vectorise; only the order of the double additions changes, and it is
// fixed: in each add(), term i of every full group of kSumLanes goes to lane i % kSumLanes and the last
// n % kSumLanes terms go, in order, to `rest`; total() is rest + lane[0] + ... + lane[15], in that order. 16
// lanes are two independent zmm chains with AVX-512 (8 were one: the adds' latency bounded batch norm's
// passes), four ymm with AVX2; whatever the ISA, the same order, so the same result (batch_norm_impl.h). On
// Zen 5, batch 8, 256 channels at 56x56, AVX-512: BN + ReLU forward 1.93 -> 1.68 ms, backward 4.17 -> 3.37.
//
// The templates live in an inline namespace named by NN_LANE_SUM_ISA (baseline unless a file compiled for
// another ISA defines it before including this): a copy compiled with AVX-512 must not share a symbol with
// the baseline copy, or the linker could keep the AVX-512 one for every CPU (kernels/cpu/batch_norm_impl.h).
#pragma once

#include <cstdint>

#ifndef NN_LANE_SUM_ISA
#define NN_LANE_SUM_ISA baseline
#endif

namespace nn {
inline namespace NN_LANE_SUM_ISA {

constexpr int kSumLanes = 16;

struct LaneSum {
  double lane[kSumLanes] = {};
  double rest = 0;  // the starting value, then each add()'s terms past its last full group

  LaneSum() = default;
  explicit LaneSum(double start) : rest(start) {}

  // Adds term(0), ..., term(n - 1) (each a double).
  template <class F>
  void add_terms(int64_t n, F&& term) {
    int64_t i = 0;
    for (; i + kSumLanes <= n; i += kSumLanes)
      for (int l = 0; l < kSumLanes; ++l) lane[l] += term(i + l);
    for (; i < n; ++i) rest += term(i);
  }

  // Adds v[0], ..., v[n - 1]. Lanes carry over between calls: several spans sum as one sequence.
  template <class T>
  void add(const T* v, int64_t n) {
    add_terms(n, [v](int64_t i) { return static_cast<double>(v[i]); });
  }

  double total() const {
    double s = rest;
    for (int l = 0; l < kSumLanes; ++l) s += lane[l];
    return s;
  }
};

// Two sums over the same n positions in one pass, so each value is read once: a gets term_a(i), b term_b(i).
template <class F, class G>
void add_terms_both(LaneSum& a, F&& term_a, LaneSum& b, G&& term_b, int64_t n) {
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes)
    for (int l = 0; l < kSumLanes; ++l) {
      a.lane[l] += term_a(i + l);
      b.lane[l] += term_b(i + l);
    }
  for (; i < n; ++i) {
    a.rest += term_a(i);
    b.rest += term_b(i);
  }
}

// sum of v[0..n)
template <class T>
double lane_sum(const T* v, int64_t n) {
  LaneSum s;
  s.add(v, n);
  return s.total();
}

// sum of (v - mu)^2
template <class T>
double lane_sum_sq(const T* v, int64_t n, double mu) {
  LaneSum s;
  s.add_terms(n, [v, mu](int64_t i) { return (v[i] - mu) * (v[i] - mu); });
  return s.total();
}

// Adds the sum of g to sum_g and the sum of g * (v - mu) to sum_gv (mu = 0: of g * v); the running values
// start the sums, so the tails add to them before the lanes do.
template <class T>
void lane_sum_dot(const T* g, const T* v, int64_t n, double mu, double& sum_g, double& sum_gv) {
  LaneSum a(sum_g), b(sum_gv);
  add_terms_both(
      a, [g](int64_t i) { return static_cast<double>(g[i]); }, b,
      [g, v, mu](int64_t i) { return static_cast<double>(g[i]) * (v[i] - mu); }, n);
  sum_g = a.total();
  sum_gv = b.total();
}

}  // namespace NN_LANE_SUM_ISA
}  // namespace nn
