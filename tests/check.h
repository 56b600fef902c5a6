// Test helpers shared by every test file: tensor comparison with readable failures, the float64
// finite-difference gradient check, and access to the PyTorch references (tests/torch_reference.py).
//
// Tolerances (docs/testing.md):
//   float32 vs PyTorch float32: |got - want| <= 1e-5 * |want| + 1e-5 * rms(want)
//   float64 vs PyTorch float64: the same with 1e-10
//   gradcheck (float64):        |analytic - numeric| <= 1e-6 * max(1, |analytic|, |numeric|), step 1e-6
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "weights/safetensors.h"

namespace nn::test {

struct Tol {
  double rtol;      // relative to each expected element
  double atol_rms;  // relative to the root-mean-square of the expected tensor
};
inline constexpr Tol kF32{1e-5, 1e-5};
inline constexpr Tol kF64{1e-10, 1e-10};
inline Tol tol_for(DType t) { return t == DType::f64 ? kF64 : kF32; }

// Elementwise comparison; on failure reports `what`, the first bad index, expected vs got and the max
// absolute/relative errors through doctest (the test case fails, the run goes on). Returns success.
bool check_close(const std::string& what, const Tensor& got, const Tensor& want, Tol tol);
inline bool check_close(const std::string& what, const Tensor& got, const Tensor& want) {
  return check_close(what, got, want, tol_for(want.dtype()));
}
// Known answers: `got` (any shape, row-major) against literal values within an absolute tolerance.
bool check_values(const std::string& what, const Tensor& got, const std::vector<double>& want, double atol = 1e-6);

// Finite-difference check of every floating input's gradient, in float64. `f` maps the inputs to an
// output; the check differentiates L = sum(f(inputs) * w) for a fixed random w of the output's shape,
// by backward() and by central differences (x +- eps), element by element. Integer inputs pass through.
struct GradcheckOptions {
  double eps = 1e-6;
  double rtol = 1e-6;
  uint64_t seed = 7;
};
bool gradcheck(const std::string& what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
               const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

// A float64 tensor with values in [lo, hi) (seeded), for gradchecks; `gap` keeps values at least that far
// from each other (for max pooling ties) when non-zero by using a shuffled ramp.
Tensor test_input(const Shape& shape, uint64_t seed, double lo = -1, double hi = 1, DType dtype = DType::f64);
Tensor distinct_input(const Shape& shape, uint64_t seed, DType dtype = DType::f64);  // all values differ by >= 0.01

// One case of a PyTorch reference family: params from the generator and its tensors.
struct TorchCase {
  std::string name;
  nlohmann::json params;
  const SafetensorsFile* file = nullptr;
  Tensor operator[](const std::string& tensor) const;  // "<case>.<tensor>"; error when absent
  bool has(const std::string& tensor) const;
};
// All cases of `family`, read from $NN_TEST_REFS/<family>.safetensors. Throws (the test fails, never
// skips) when the references are missing.
std::vector<TorchCase> torch_cases(const std::string& family);

// The PyTorch comparison of a one-input op: for every case of `family` whose params["op"] is `op`,
// x = leaf(case[input]), y = f(case, x); checks y against case["y"] and, after y.backward(case["dy"]),
// x.grad() against case["d" + input]. Fails when fewer than `min_cases` cases ran.
void check_torch_one_input(const std::string& family, const std::string& op,
                           const std::function<Tensor(const TorchCase&, const Tensor&)>& f,
                           const std::string& input = "x", int min_cases = 1);

// The same for a layer-like op of an input, a weight and an optional bias (conv2d, linear): for every case
// of `family` (whose params["op"] is `op`, when `op` is not empty), x, w and, when params["bias"], b are
// leaves; y = f(case, x, w, b) is checked against case["y"], and dx, dw (and db) after y.backward(case["dy"]).
void check_torch_weighted(const std::string& family, const std::string& op,
                          const std::function<Tensor(const TorchCase&, const Tensor&, const Tensor&, const Tensor&)>& f,
                          int min_cases = 1);

// A file the reference generator wrote next to the references ($NN_TEST_REFS/file).
std::string refs_path(const std::string& file);

// A copy of `t` that is a leaf requiring grad.
Tensor leaf(const Tensor& t);

// The largest |element| of `t`, in double: the scale whole-model comparisons divide by.
double max_abs(const Tensor& t);

}  // namespace nn::test
