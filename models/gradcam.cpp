// Grad-CAM (see gradcam.h).
#include "models/gradcam.h"

#include <algorithm>

#include <fmt/format.h>

namespace nn {

namespace {

// The names a user can give as --layer: every module but the root, as one line.
std::string layer_names(Network& model) {
  std::vector<std::string> names;
  for (const auto& [name, m] : model.named_modules())
    if (!name.empty()) names.push_back(name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// Freezes every parameter for its lifetime (no weight gradients are recorded); restores each one's flag.
class FrozenParameters {
 public:
  explicit FrozenParameters(Module& model) : params_(model.parameters()) {
    for (Tensor& p : params_) {
      trainable_.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FrozenParameters() {
    for (size_t i = 0; i < params_.size(); ++i) params_[i].requires_grad_(trainable_[i]);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<Tensor> params_;  // handles sharing the parameters' state
  std::vector<bool> trainable_;
};

}  // namespace

GradCam::GradCam(Network& model, std::string layer) : model_(model), layer_(std::move(layer)) {
  if (layer_.empty()) layer_ = model.cam_layer();
  for (const auto& [name, m] : model.named_modules())
    if (!name.empty() && name == layer_) target_ = m;
  NN_CHECK(target_, "Grad-CAM: {} has no layer '{}'; its layers are: {}", model.arch(), layer_, layer_names(model));
}

Tensor GradCam::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4, "Grad-CAM: input must be [N, 3, H, W], got {}", x.describe());
  activations_ = Tensor();
  int calls = 0;
  const ForwardHook hook(*target_, [&](const Tensor& y) {
    ++calls;
    NN_CHECK(y.ndim() == 4, "Grad-CAM: layer '{}' of {} gives {}, not a [N, K, h, w] feature map; choose a "
             "convolutional layer", layer_, model_.arch(), y.describe());
    activations_ = y.detach();
    activations_.requires_grad_(true);
    return activations_;
  });
  {
    const EvalModeGuard eval(model_);
    const FrozenParameters frozen(model_);
    logits_ = model_(x);
  }
  NN_CHECK(calls == 1, "Grad-CAM: layer '{}' of {} ran {} times in one forward pass; it must run exactly once "
           "(a layer inside a fused block does not run on its own: choose the block)", layer_, model_.arch(), calls);
  NN_CHECK(logits_.requires_grad(), "Grad-CAM: the output of {} does not depend on layer '{}'", model_.arch(), layer_);
  return logits_.detach();
}

Tensor GradCam::maps(const std::vector<int64_t>& classes) {
  NN_CHECK(logits_.defined(), "Grad-CAM: maps() before forward()");
  const int64_t n = logits_.size(0), num_classes = logits_.size(1);
  NN_CHECK(static_cast<int64_t>(classes.size()) == n, "Grad-CAM: {} classes given for {} images", classes.size(), n);
  // d(sum_i y_{i, c_i}) / dA: image i's score depends on image i's activations only (eval mode), so one
  // backward pass gives every image's gradient for its own class.
  std::vector<double> one_hot(static_cast<size_t>(n * num_classes), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    NN_CHECK(classes[i] >= 0 && classes[i] < num_classes, "Grad-CAM: class {} for image {} is outside 0..{}",
             classes[i], i, num_classes - 1);
    one_hot[static_cast<size_t>(i * num_classes + classes[i])] = 1.0;
  }
  activations_.zero_grad();
  logits_.backward(from_vector(one_hot, {n, num_classes}).to(logits_.dtype()).to(logits_.device()),
                   /*retain_graph=*/true);
  const Tensor grad = activations_.grad();
  NN_INTERNAL_CHECK(grad.defined());
  NoGradGuard no_grad;
  const Tensor alpha = mean(grad, {2, 3}, /*keepdim=*/true);                 // [N, K, 1, 1]
  return relu(sum(mul(alpha, activations_.detach()), {1})).to(Device::cpu());  // [N, h, w]
}

std::vector<float> normalize_cam(std::vector<float> map) {
  const float top = map.empty() ? 0.0f : *std::max_element(map.begin(), map.end());
  for (float& v : map) v = top > 0 ? std::clamp(v / top, 0.0f, 1.0f) : 0.0f;
  return map;
}

}  // namespace nn
