// Readable printing of tensors, in PyTorch's style:
//   tensor([[ 1.0000, -2.5000],
//           [ 3.0000,  4.0000]], dtype=f32, shape=[2, 2])
// Tensors with more than 1000 elements show the first and last 3 entries of each dimension.
#include <cmath>

#include "tensor/tensor.h"

namespace nn {

namespace {

constexpr int64_t kSummariseAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Printer {
  std::vector<double> values;  // the whole tensor, row-major, as double
  Shape shape;
  bool integral = false;
  bool scientific = false;
  bool summarise = false;
  int width = 0;
  std::string out;

  std::string number(double v) const {
    if (integral) return fmt::format("{}", static_cast<int64_t>(v));
    return scientific ? fmt::format("{:.4e}", v) : fmt::format("{:.4f}", v);
  }

  void print(int dim, int64_t base, int indent) {
    const int64_t n = shape[dim];
    const int64_t inner = [&] {
      int64_t s = 1;
      for (int d = dim + 1; d < shape.size(); ++d) s *= shape[d];
      return s;
    }();
    out += "[";
    for (int64_t i = 0; i < n; ++i) {
      if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
        out += dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' ');
        i = n - kEdgeItems;
      }
      if (dim + 1 == shape.size()) {
        out += fmt::format("{:>{}}", number(values[base + i]), width);
      } else {
        print(dim + 1, base + i * inner, indent + 1);
      }
      if (i + 1 == n) continue;
      if (dim + 1 == shape.size()) {
        out += ", ";
      } else {  // a blank line between blocks of two or more dimensions, as PyTorch prints them
        out += dim + 2 < shape.size() ? ",\n\n" : ",\n";
        out += std::string(indent + 1, ' ');
      }
    }
    out += "]";
  }
};

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  const std::string suffix = fmt::format("dtype={}, shape={}{}{}", dtype_name(t.dtype()), t.shape(),
                                         t.device().is_cpu() ? "" : ", device=" + t.device().str(),
                                         t.requires_grad() ? ", requires_grad" : "");
  Printer p;
  p.values = t.to_vector<double>();
  p.shape = t.shape();
  p.integral = !is_floating(t.dtype());
  p.summarise = t.numel() > kSummariseAbove;
  double max_abs = 0, min_abs = INFINITY;
  for (double v : p.values) {
    if (!std::isfinite(v)) continue;
    max_abs = std::max(max_abs, std::fabs(v));
    if (v != 0) min_abs = std::min(min_abs, std::fabs(v));
  }
  p.scientific = !p.integral && (max_abs >= 1e5 || (min_abs < 1e-4 && max_abs > 0));
  for (double v : p.values) p.width = std::max<int>(p.width, static_cast<int>(p.number(v).size()));
  if (t.ndim() == 0) return fmt::format("tensor({}, {})", p.number(p.values[0]), suffix);
  if (t.numel() == 0) return fmt::format("tensor([], {})", suffix);
  p.print(0, 0, 7);  // 7 = strlen("tensor(")
  return fmt::format("tensor({}, {})", p.out, suffix);
}

}  // namespace nn
