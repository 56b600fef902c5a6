// Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
// Localization", ICCV 2017): where in the image a classifier found the evidence for a class.
//
// For class c and a target layer whose output A has K channels of h x w cells:
//   alpha_k = mean over the h x w cells of  d y_c / d A_k      (y_c: the class score before softmax)
//   map     = ReLU( sum_k alpha_k A_k )                        (h x w, one per image)
// The weights say how much each channel, as a whole, pushes the score up; the ReLU keeps the cells that
// count *for* the class. Shown to a person the map is scaled to [0, 1] (normalize_cam) and drawn over the
// image (train/report/overlay.h).
//
//   GradCam cam(model);                        // target: model.cam_layer() ("layer4" for ResNet)
//   const Tensor logits = cam.forward(x);      // [N, classes]
//   const Tensor maps = cam.maps({3, 0});      // [N, h, w]: class 3 for image 0, class 0 for image 1
//
// How: a ForwardHook (layers/module.h) replaces the target layer's output by a detached copy that requires
// grad, so the layers after it record a graph and backward from the one-hot class scores leaves d y_c / d A
// in that copy's .grad. Parameters are frozen during the forward pass (no weight gradients are computed and
// none are left behind) and the model runs in eval mode; both are restored afterwards. The layers before the
// target record nothing, so a fused model (layers/fused.h) runs them fused. Each image's map depends only on
// that image (eval mode), so a batch gives the maps of its images one by one.
#pragma once

#include <string>
#include <vector>

#include "models/network.h"

namespace nn {

class GradCam {
 public:
  // `layer`: a module name of `model` ("" = model.cam_layer()). An unknown name is an error that lists the
  // valid ones.
  explicit GradCam(Network& model, std::string layer = "");

  const std::string& layer() const { return layer_; }

  // Runs the model on x [N, 3, H, W] and returns its logits [N, classes] (detached). The target layer must
  // run exactly once and give a [N, K, h, w] output; otherwise this is an error naming it.
  Tensor forward(const Tensor& x);

  // The raw maps ReLU(sum_k alpha_k A_k) [N, h, w] of class classes[i] for image i of the last forward(),
  // on the CPU in the model's dtype. Can be called again with other classes (one backward pass each).
  Tensor maps(const std::vector<int64_t>& classes);

  // The target layer's output A and d y_c / d A [N, K, h, w] of the last maps() call (for tests and tools).
  const Tensor& activations() const { return activations_; }
  Tensor gradients() const { return activations_.grad(); }

 private:
  Network& model_;
  Module* target_ = nullptr;
  std::string layer_;
  Tensor activations_, logits_;
};

// A raw map scaled to [0, 1] for display: map / max(map). A map that is zero everywhere (the ReLU removed
// every cell: nothing in the image speaks for the class at this layer) stays zero; never NaN.
std::vector<float> normalize_cam(std::vector<float> map);

}  // namespace nn
