// BatchNorm2d module (see batch_norm.h).
#include "layers/batch_norm.h"

#include "tensor/ops.h"

namespace nn {

BatchNorm2d::BatchNorm2d(int64_t channels, double eps, std::optional<double> momentum, bool affine, bool scale)
    : eps_(eps), momentum_(momentum) {
  NN_CHECK(channels > 0, "BatchNorm2d: channels must be positive, got {}", channels);
  if (affine && scale) {
    weight = ones({channels});
    register_parameter("weight", &weight);
  }
  if (affine) {
    bias = zeros({channels});
    register_parameter("bias", &bias);
  }
  running_mean = zeros({channels});
  running_var = ones({channels});
  num_batches_tracked = zeros({}, DType::i64);
  register_buffer("running_mean", &running_mean);
  register_buffer("running_var", &running_var);
  register_buffer("num_batches_tracked", &num_batches_tracked);
}

Tensor BatchNorm2d::forward(const Tensor& x) { return forward(x, false); }

Tensor BatchNorm2d::forward_relu(const Tensor& x) { return forward(x, true); }

Tensor BatchNorm2d::forward(const Tensor& x, bool then_relu) {
  NN_CHECK(x.ndim() == 4, "BatchNorm2d: input must be [N, C, H, W], got {}", x.describe());
  double momentum = momentum_.value_or(0.0);
  if (training()) {
    NoGradGuard no_grad;
    num_batches_tracked.fill_(static_cast<double>(num_batches_tracked.item<int64_t>() + 1));
    if (!momentum_) momentum = 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
  }
  if (training() && sync_ && (sync_->size() > 1)) {
    const Tensor y = forward_synchronised(x, momentum);
    return then_relu ? relu(y) : y;
  }
  const BatchNormOptions o{.training = training(), .momentum = momentum, .eps = eps_};
  return then_relu ? batch_norm_relu(x, running_mean, running_var, weight, bias, o)
                   : batch_norm(x, running_mean, running_var, weight, bias, o);
}

// Training over the group's whole batch, from differentiable ops: the sums cross the ranks through
// all_reduce_sum, whose backward sums the gradients over the ranks again, so autograd gives each rank
// the exact gradient of the whole batch's loss. Two passes (mean, then the centred squares) as the
// single-process kernel, for the same accuracy.
Tensor BatchNorm2d::forward_synchronised(const Tensor& x, double momentum) {
  const int64_t channels = x.size(1);
  NN_CHECK(channels == running_mean.size(0), "BatchNorm2d: input {} has {} channels, the layer {}", x.describe(),
           channels, running_mean.size(0));
  // The values per channel over all ranks travel with the first sums (one collective fewer per layer) when
  // the dtype holds them exactly.
  const double local_count = static_cast<double>(x.numel() / channels);
  const bool count_inline = x.dtype() == DType::f64 || local_count * sync_->size() < (1 << 24);
  Tensor sums = sum(x, {0, 2, 3});
  if (count_inline) {
    sums = all_reduce_sum(cat({sums, full({1}, local_count, x.dtype(), x.device())}, 0), *sync_);
  } else {
    sums = all_reduce_sum(sums, *sync_);
  }
  double n = local_count * sync_->size();
  if (count_inline) {
    n = sums.slice(0, channels, channels + 1).to(DType::f64).item<double>();
  } else {
    Tensor count = full({1}, local_count, DType::f64);
    sync_->all_reduce_sum(count);
    n = count.item<double>();
  }
  NN_CHECK(n > 1, "BatchNorm2d: synchronised training needs more than one value per channel over all ranks, got {}",
           n);
  const Shape per_channel{1, channels, 1, 1};
  const Tensor mean = sums.slice(0, 0, channels) / n;
  const Tensor centred = x - mean.reshape(per_channel);
  const Tensor var = all_reduce_sum(sum(centred * centred, {0, 2, 3}), *sync_) / n;  // biased, to normalise
  Tensor y = centred * pow(var + eps_, -0.5).reshape(per_channel);
  if (weight.defined()) y = y * weight.reshape(per_channel);
  if (bias.defined()) y = y + bias.reshape(per_channel);
  NoGradGuard no_grad;
  running_mean.mul_(1 - momentum).add_(mean.detach(), momentum);
  running_var.mul_(1 - momentum).add_(var.detach() * (n / (n - 1)), momentum);  // unbiased, as PyTorch
  return y;
}

void BatchNorm2d::reset_running_stats() {
  running_mean.fill_(0);
  running_var.fill_(1);
  num_batches_tracked.fill_(0);
}

std::string BatchNorm2d::describe() const {
  return fmt::format("BatchNorm2d({}{}{})", running_mean.size(0),
                     !bias.defined() ? ", affine=False" : (weight.defined() ? "" : ", scale=False"),
                     eps_ == 1e-5 ? "" : fmt::format(", eps={:g}", eps_));
}

double BatchNorm2d::flops(const Shape&, const Shape& out) const {
  return 2.0 * static_cast<double>(out.numel());  // one multiply-add per element once folded
}

}  // namespace nn
