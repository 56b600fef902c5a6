// Test helpers (see check.h).
#include "tests/check.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

namespace nn::test {

namespace {

std::string index_string(const Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (int d = shape.size() - 1; d >= 0; --d) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return fmt::format("[{}]", fmt::join(idx, ", "));
}

}  // namespace

bool check_close(const std::string& what, const Tensor& got, const Tensor& want, Tol tol) {
  if (!got.defined() || !want.defined()) {
    FAIL_CHECK(what << ": " << (got.defined() ? "expected" : "result") << " tensor is undefined");
    return false;
  }
  if (got.shape() != want.shape()) {
    FAIL_CHECK(what << ": shape " << got.shape().str() << ", expected " << want.shape().str());
    return false;
  }
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double sq = 0;  // over finite values: a NaN or inf expected element must not poison the tolerance
  size_t finite = 0;
  for (double v : w)
    if (std::isfinite(v)) sq += v * v, ++finite;
  const double rms = finite == 0 ? 0 : std::sqrt(sq / static_cast<double>(finite));
  int64_t first_bad = -1, bad = 0;
  double max_abs = 0, max_rel = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double err = std::fabs(g[i] - w[i]);
    const bool same_nan = std::isnan(g[i]) && std::isnan(w[i]);
    const bool same_inf = std::isinf(g[i]) && g[i] == w[i];
    if (same_nan || same_inf) continue;
    max_abs = std::max(max_abs, err);
    if (w[i] != 0) max_rel = std::max(max_rel, err / std::fabs(w[i]));
    if (!(err <= tol.rtol * std::fabs(w[i]) + tol.atol_rms * rms)) {
      if (first_bad < 0) first_bad = static_cast<int64_t>(i);
      ++bad;
    }
  }
  if (first_bad >= 0) {
    FAIL_CHECK(fmt::format("{}: {} of {} elements differ; first at {}: expected {:.9g}, got {:.9g}; max abs error "
                           "{:.3g}, max rel error {:.3g} (tolerance {:.0e} rel + {:.0e} x rms {:.3g})",
                           what, bad, w.size(), index_string(want.shape(), first_bad), w[first_bad], g[first_bad],
                           max_abs, max_rel, tol.rtol, tol.atol_rms, rms));
    return false;
  }
  return true;
}

bool check_values(const std::string& what, const Tensor& got, const std::vector<double>& want, double atol) {
  if (!got.defined() || got.numel() != static_cast<int64_t>(want.size())) {
    FAIL_CHECK(what << ": got " << (got.defined() ? got.describe() : "undefined") << ", expected " << want.size()
                    << " values");
    return false;
  }
  const std::vector<double> g = got.to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) {
    if (!(std::fabs(g[i] - want[i]) <= atol)) {
      FAIL_CHECK(fmt::format("{}: element {} (index {}): expected {:.9g}, got {:.9g}", what, i,
                             index_string(got.shape(), static_cast<int64_t>(i)), want[i], g[i]));
      return false;
    }
  }
  return true;
}

bool gradcheck(const std::string& what, const std::function<Tensor(const std::vector<Tensor>&)>& f,
               const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  std::vector<Tensor> leaves;
  for (const Tensor& t : inputs) {
    if (t.defined() && is_floating(t.dtype())) {
      REQUIRE_MESSAGE(t.dtype() == DType::f64, what << ": gradcheck inputs must be float64");
      leaves.push_back(leaf(t));
    } else {
      leaves.push_back(t);
    }
  }
  Tensor y = f(leaves);
  Generator gen(o.seed);
  const Tensor w = randn(y.shape(), gen, DType::f64);
  sum(mul(y, w)).backward();

  auto loss = [&] {
    NoGradGuard no_grad;
    return sum(mul(f(leaves), w)).item<double>();
  };
  bool ok = true;
  for (size_t k = 0; k < leaves.size(); ++k) {
    const Tensor& x = leaves[k];
    if (!x.defined() || !x.requires_grad()) continue;
    const Tensor analytic = x.grad();
    if (!analytic.defined()) {
      FAIL_CHECK(what << ": input " << k << " got no gradient");
      ok = false;
      continue;
    }
    const std::vector<double> a = analytic.to_vector<double>();
    double* p = x.data<double>();  // contiguous: leaf() clones
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double saved = p[i];
      p[i] = saved + o.eps;
      const double up = loss();
      p[i] = saved - o.eps;
      const double down = loss();
      p[i] = saved;
      const double numeric = (up - down) / (2 * o.eps);
      const double scale = std::max({1.0, std::fabs(a[i]), std::fabs(numeric)});
      if (!(std::fabs(a[i] - numeric) <= o.rtol * scale)) {
        FAIL_CHECK(fmt::format("{}: input {} element {}: analytic gradient {:.10g}, numeric {:.10g} (diff {:.3g})",
                               what, k, index_string(x.shape(), i), a[i], numeric, std::fabs(a[i] - numeric)));
        ok = false;
        break;
      }
    }
  }
  return ok;
}

Tensor test_input(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype) {
  Generator gen(seed);
  return add(mul(rand(shape, gen, DType::f64), hi - lo), lo).to(dtype);
}

Tensor distinct_input(const Shape& shape, uint64_t seed, DType dtype) {
  // A ramp 0, 0.01, 0.02, ... in a seeded random order, centred on 0.
  const int64_t n = shape.numel();
  std::vector<double> v(static_cast<size_t>(n));
  Generator gen(seed);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.01 * static_cast<double>(i) - 0.005 * static_cast<double>(n);
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[static_cast<int64_t>(gen.next_double() * (i + 1))]);
  return from_vector(v, shape).to(dtype);
}

Tensor TorchCase::operator[](const std::string& tensor) const { return file->get(name + "." + tensor); }
bool TorchCase::has(const std::string& tensor) const { return file->contains(name + "." + tensor); }

std::vector<TorchCase> torch_cases(const std::string& family) {
  static std::map<std::string, std::unique_ptr<SafetensorsFile>> files;
  const char* dir = std::getenv("NN_TEST_REFS");
  NN_CHECK(dir && *dir,
           "NN_TEST_REFS is not set: run the tests with `make test`, which generates the PyTorch references with "
           "tests/torch_reference.py first");
  auto& file = files[family];
  if (!file) file = std::make_unique<SafetensorsFile>(SafetensorsFile::open(std::string(dir) + "/" + family + ".safetensors"));
  const auto& meta = file->metadata();
  NN_CHECK(meta.count("cases"), "{}: no 'cases' list in the metadata", file->path());
  std::vector<TorchCase> out;
  for (const auto& name : nlohmann::json::parse(meta.at("cases"))) {
    TorchCase c;
    c.name = name.get<std::string>();
    c.params = nlohmann::json::parse(meta.at(c.name));
    c.file = file.get();
    out.push_back(std::move(c));
  }
  NN_CHECK(!out.empty(), "{}: no cases", file->path());
  return out;
}

void check_torch_one_input(const std::string& family, const std::string& op,
                           const std::function<Tensor(const TorchCase&, const Tensor&)>& f, const std::string& input,
                           int min_cases) {
  int n = 0;
  for (const TorchCase& c : torch_cases(family)) {
    if (c.params["op"] != op) continue;
    CAPTURE(c.name);
    ++n;
    Tensor x = leaf(c[input]);
    Tensor y = f(c, x);
    check_close(c.name + " y", y, c["y"]);
    y.backward(c["dy"]);
    check_close(c.name + " d" + input, x.grad(), c["d" + input]);
  }
  CHECK_MESSAGE(n >= min_cases, family << ": " << n << " PyTorch cases for " << op << ", expected at least " << min_cases);
}

void check_torch_weighted(const std::string& family, const std::string& op,
                          const std::function<Tensor(const TorchCase&, const Tensor&, const Tensor&, const Tensor&)>& f,
                          int min_cases) {
  int n = 0;
  for (const TorchCase& c : torch_cases(family)) {
    if (!op.empty() && c.params["op"] != op) continue;
    CAPTURE(c.name);
    ++n;
    const bool has_bias = c.params["bias"];
    Tensor x = leaf(c["x"]), w = leaf(c["w"]), b = has_bias ? leaf(c["b"]) : Tensor();
    Tensor y = f(c, x, w, b);
    check_close(c.name + " y", y, c["y"]);
    y.backward(c["dy"]);
    check_close(c.name + " dx", x.grad(), c["dx"]);
    check_close(c.name + " dw", w.grad(), c["dw"]);
    if (has_bias) check_close(c.name + " db", b.grad(), c["db"]);
  }
  CHECK_MESSAGE(n >= min_cases, family << ": " << n << " PyTorch cases for " << (op.empty() ? family : op)
                                       << ", expected at least " << min_cases);
}

std::string refs_path(const std::string& file) {
  const char* dir = std::getenv("NN_TEST_REFS");
  NN_CHECK(dir && *dir, "NN_TEST_REFS is not set: run the tests with `make test`");
  return std::string(dir) + "/" + file;
}

Tensor leaf(const Tensor& t) {
  Tensor c = t.detach().clone();
  c.requires_grad_();
  return c;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector<double>()) m = std::max(m, std::fabs(v));
  return m;
}

}  // namespace nn::test
