// BatchNorm2d module (see batch_norm.h).
#include "layers/batch_norm.h"

namespace nn {

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, std::optional<double> momentum, bool affine)
    : eps_(eps), momentum_(momentum) {
  NN_CHECK(channels > 0, "BatchNorm2d: channels must be positive, got {}", channels);
  if (affine) {
    weight = ones({channels});
    bias = zeros({channels});
    register_parameter("weight", &weight);
    register_parameter("bias", &bias);
  }
  running_mean = zeros({channels});
  running_var = ones({channels});
  num_batches_tracked = zeros({}, DType::i64);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
  register_buffer("num_batches_tracked", &num_batches_tracked);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4, "BatchNorm2d: input must be [N, C, H, W], got {}", x.describe());
  double momentum = momentum_.value_or(0.0);
  if (training()) {
    NoGradGuard no_grad;
    num_batches_tracked.fill_(static_cast<double>(num_batches_tracked.item<int64_t>() + 1));
    if (!momentum_) momentum = 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
  }
  return batch_norm(x, running_mean, running_var, weight, bias, {.training = training(), .momentum = momentum, .eps = eps_});
}

void BatchNorm2d::reset_running_stats() {
  running_mean.fill_(0);
  running_var.fill_(1);
  num_batches_tracked.fill_(0);
}

std::string BatchNorm2d::describe() const {
  return fmt::format("BatchNorm2d({}{})", running_mean.size(0), weight.defined() ? "" : ", affine=False");
}

double BatchNorm2d::flops(const Shape&, const Shape& out) const {
  return 2.0 * static_cast<double>(out.numel());  // one multiply-add per element once folded
}

}  // namespace nn
