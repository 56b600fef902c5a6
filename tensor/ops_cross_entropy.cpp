// cross_entropy = log_softmax followed by the weighted, smoothed NLL loss (kernels/cross_entropy.h).
#include "kernels/cross_entropy.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"
#include "tensor/ops.h"

namespace nn {

namespace {

struct NllLossBackward final : Node {
  NllParams p;
  SavedTensor target, weight, denom;
  const char* name() const override { return "NllLossBackward"; }
  std::vector<Tensor> apply(const Tensor& g) override {
    const Tensor t = target.get(*this), w = weight.defined() ? weight.get(*this) : Tensor(), d = denom.get(*this);
    const Tensor dy = g.contiguous();
    Tensor dlogp = empty({p.N, p.C}, g.dtype(), g.device());
    dispatch<NllLossBackwardKernels>(name(), dy, [&](auto kernel, auto v) {
      using T = decltype(v);
      kernel(dlogp.data<T>(), dy.data<T>(), d.data<T>(), t.data<int64_t>(), data_or_null<T>(w), p);
    });
    return {dlogp};
  }
  void release() override {
    target.reset();
    weight.reset();
    denom.reset();
  }
};

void check_targets(const Tensor& target, const NllParams& p) {
  if (!target.device().is_cpu()) return;  // the CUDA forward kernel checks on the device
  const int64_t* t = target.data<int64_t>();
  for (int64_t i = 0; i < p.N; ++i)
    if (t[i] != p.ignore_index && (t[i] < 0 || t[i] >= p.C)) nll_loss_bad_target(i, t[i], p);
}

}  // namespace

void nll_loss_bad_target(int64_t row, int64_t label, const NllParams& p) {
  NN_FAIL("cross_entropy: target[{}] = {} is not a class index in [0, {}) (nor ignore_index {})", row, label, p.C,
          p.ignore_index);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target_in, const CrossEntropyOptions& o) {
  check_floating(logits, "cross_entropy");
  check_defined(target_in, "cross_entropy", "target");
  NN_CHECK(logits.ndim() == 2, "cross_entropy: logits must be [N, C], got {}", logits.describe());
  NN_CHECK(target_in.dtype() == DType::i64 && target_in.ndim() == 1 && target_in.size(0) == logits.size(0),
           "cross_entropy: target must be i64 [{}] (one class index per row of logits {}), got {}", logits.size(0),
           logits.describe(), target_in.describe());
  check_same_device(logits, target_in, "cross_entropy");
  NN_CHECK(o.label_smoothing >= 0 && o.label_smoothing <= 1, "cross_entropy: label_smoothing {} is not in [0, 1]",
           o.label_smoothing);
  NllParams p{logits.size(0), logits.size(1), o.label_smoothing, o.ignore_index};
  if (o.weight.defined()) {
    check_same_device(logits, o.weight, "cross_entropy");
    check_same_dtype(logits, o.weight, "cross_entropy");
    NN_CHECK(o.weight.ndim() == 1 && o.weight.size(0) == p.C,
             "cross_entropy: weight {} must have one entry per class ({})", o.weight.describe(), p.C);
  }
  const Tensor target = target_in.contiguous();
  const Tensor weight = o.weight.defined() ? o.weight.detach().contiguous() : Tensor();
  check_targets(target, p);

  const Tensor logp = log_softmax(logits, 1);
  Tensor loss = empty(Shape{}, logits.dtype(), logits.device());
  Tensor denom = empty(Shape{}, logits.dtype(), logits.device());
  dispatch<NllLossForwardKernels>("cross_entropy", logp, [&](auto kernel, auto v) {
    using T = decltype(v);
    kernel(loss.data<T>(), denom.data<T>(), logp.data<T>(), target.data<int64_t>(), data_or_null<T>(weight), p);
  });
  if (auto node = new_node<NllLossBackward>({&logp})) {
    node->p = p;
    node->target = SavedTensor(target);
    if (weight.defined()) node->weight = SavedTensor(weight);
    node->denom = SavedTensor(denom);
    attach(loss, node);
  }
  return loss;
}

}  // namespace nn
