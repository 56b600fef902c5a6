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

void pytorch_default_init_(const Tensor& weight, const Tensor& bias, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan(weight, FanMode::fan_in)));
  uniform_(weight, -bound, bound, gen);
  if (bias.defined()) uniform_(bias, -bound, bound, gen);
}

}  // namespace nn
