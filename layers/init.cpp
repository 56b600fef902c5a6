// Parameter initialisation (see init.h).
#include "layers/init.h"

#include <cmath>

#include "kernels/random.h"
#include "tensor/dispatch.h"

namespace nn {

int64_t fan(const Tensor& weight, FanMode mode) {
  NN_CHECK(weight.ndim() >= 2, "init: fan of {} needs at least 2 dimensions", weight.describe());
  int64_t receptive = 1;
  for (int d = 2; d < weight.ndim(); ++d) receptive *= weight.size(d);
  return (mode == FanMode::fan_in ? weight.size(1) : weight.size(0)) * receptive;
}

namespace {

// Fills a contiguous CPU tensor in place from the generator (standard normal or uniform [0, 1)).
void fill_random(const Tensor& t, RandomKind kind, Generator& gen) {
  NN_CHECK(t.is_contiguous() && t.device().is_cpu(), "init: {} must be a contiguous CPU tensor", t.describe());
  const uint64_t offset = gen.reserve(random_counters(kind, t.dtype(), t.numel()));
  dispatch_floating(t.dtype(), "init", [&](auto v) {
    using T = decltype(v);
    if (kind == RandomKind::normal) normal_fill_cpu<T>(t.data<T>(), t.numel(), gen.seed(), offset);
    else uniform_fill_cpu<T>(t.data<T>(), t.numel(), gen.seed(), offset);
  });
  t.storage()->bump_version();
}

}  // namespace

void normal_(const Tensor& t, double mean, double std, Generator& gen) {
  NoGradGuard no_grad;
  fill_random(t, RandomKind::normal, gen);
  t.mul_(std);
  if (mean != 0) t.add_(mean);
}

void uniform_(const Tensor& t, double low, double high, Generator& gen) {
  NoGradGuard no_grad;
  fill_random(t, RandomKind::uniform, gen);
  t.mul_(high - low).add_(low);
}

void kaiming_normal_relu_(const Tensor& weight, FanMode mode, Generator& gen) {
  normal_(weight, 0.0, std::sqrt(2.0) / std::sqrt(static_cast<double>(fan(weight, mode))), gen);
}

void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator& gen) {
  NN_CHECK(a < b && std > 0, "trunc_normal_: needs a < b and std > 0, got [{}, {}] and std {}", a, b, std);
  normal_(t, mean, std, gen);
  NoGradGuard no_grad;
  dispatch_floating(t.dtype(), "trunc_normal_", [&](auto v) {
    using T = decltype(v);
    T* data = t.data<T>();
    for (int round = 0;; ++round) {  // redraw what fell outside; each round keeps the rest
      int64_t outside = 0;
      for (int64_t i = 0; i < t.numel(); ++i) outside += data[i] < a || data[i] > b;
      if (outside == 0) break;
      NN_CHECK(round < 100, "trunc_normal_: [{}, {}] is too far in the tail of N({}, {}^2)", a, b, mean, std);
      Tensor fresh = empty(t.shape(), t.dtype());
      normal_(fresh, mean, std, gen);
      for (int64_t i = 0; i < t.numel(); ++i)
        if (data[i] < a || data[i] > b) data[i] = fresh.data<T>()[i];
    }
  });
  t.storage()->bump_version();
}

void glorot_uniform_(const Tensor& weight, Generator& gen) {
  const double bound = std::sqrt(6.0 / static_cast<double>(fan(weight, FanMode::fan_in) + fan(weight, FanMode::fan_out)));
  uniform_(weight, -bound, bound, gen);
}

void pytorch_default_init_(const Tensor& weight, const Tensor& bias, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan(weight, FanMode::fan_in)));
  uniform_(weight, -bound, bound, gen);
  if (bias.defined()) uniform_(bias, -bound, bound, gen);
}

}  // namespace nn
