// Network: a classification model with a replaceable head, and the factory that builds one by name.
//
//   auto model = make_model("resnet50", {.num_classes = 7});   // torchvision's architecture and init
//   model->reset_head(2, gen);                                 // a new, freshly initialised classifier
//
// Architectures follow their reference implementation exactly, so parameter and buffer names are its
// state-dict keys and its weight files load by name (weights/load.h): torchvision's VGG, ResNet (v1.5) and
// Inception-v3 (models/vgg.cpp, resnet.cpp, inception_v3.cpp), timm's Inception-ResNet-v2
// (inception_resnet_v2.cpp) and Keras' ResNet v1 (resnet.cpp, torchvision's names). Keras' own versions of
// the Inception networks are a flavour of the same architecture (ModelOptions::flavour), chosen by the
// weights file that holds them (weights/load.h: model_options_for).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace nn {

class Network : public Module {
 public:
  virtual std::string arch() const = 0;
  // The dotted name of the final classification layer ("classifier.6" for VGG, "fc" for ResNet), and of
  // the block it belongs to ("classifier" / "fc"): weights for it are what fine-tuning does not load.
  virtual std::string head_name() const = 0;
  virtual std::string head_block() const = 0;
  // Every classification layer: head_name(), and Inception-v3's auxiliary classifier "AuxLogits.fc". All of
  // them are replaced by reset_head and skipped by fine-tuning loads.
  virtual std::vector<std::string> head_names() const { return {head_name()}; }
  // The auxiliary classifier's logits from the last forward in training mode (Inception-v3 with aux_logits:
  // torchvision's InceptionOutputs.aux_logits), handed over once; undefined for other networks and in eval.
  // The trainer adds aux_weight (0.4, torchvision's recipe) times their cross-entropy to the loss.
  virtual Tensor take_aux_logits() { return {}; }
  // Whether training forwards compute the auxiliary logits (default: yes, when the network has them). Off,
  // the auxiliary classifier keeps its parameters (weights load and save as before) but never runs: the
  // trainer turns it off with model.aux_weight = 0, e.g. for inputs smaller than its 299 px.
  virtual void use_aux_logits(bool /*on*/) {}
  virtual int64_t num_classes() const = 0;
  // The layer Grad-CAM explains by default (models/gradcam.h): the last one with spatial resolution, the
  // output of the network's last feature block ("layer4" for ResNet, the last ReLU of `features` for VGG).
  virtual std::string cam_layer() const = 0;
  virtual int64_t head_in_features() const = 0;
  // Replaces the final layer by a new one with `num_classes` outputs, initialised as the architecture does.
  virtual void reset_head(int64_t num_classes, Generator& gen) = 0;
};

struct ModelOptions {
  int64_t num_classes = 1000;
  uint64_t seed = 0;     // initialisation
  // Dropout before the classifier (VGG's twice); < 0: the architecture's (VGG and Inception-v3 0.5,
  // EfficientNet 0.2 .. 0.5 by variant; ResNet, IRv2 and DenseNet have none).
  double dropout = -1;
  // EfficientNet: the stochastic depth of the last block, falling linearly to 0 at the first; < 0: 0.2.
  double stochastic_depth = -1;
  bool init = true;      // false: parameters stay zero (faster when weights are loaded next)
  // What a set of weights calls for (recorded in its file's metadata, weights/load.h):
  std::string flavour = {};      // "" (the reference implementation's) or "keras" (Inception-v3, IRv2)
  bool aux_logits = true;        // inception_v3: the auxiliary classifier (torchvision's default; Keras has none)
  bool transform_input = false;  // inception_v3: re-normalise ImageNet-normalised input to [-1, 1] (torchvision)
  double bn_eps = 0;             // 0: the architecture's; resnet*_v1 weights from Keras 2.2 were trained with 1e-3
};

// vgg11, vgg13, vgg16, vgg19, their _bn variants, resnet18, resnet34, resnet50, resnet101, resnet152,
// resnet50_v1, resnet101_v1, resnet152_v1, inception_v3, inception_resnet_v2, densenet121, densenet161,
// densenet169, densenet201, efficientnet_b0 ... efficientnet_b7.
std::shared_ptr<Network> make_model(const std::string& arch, const ModelOptions& options = {});
std::vector<std::string> model_archs();
// Network::head_name() of an architecture, without building it.
std::string model_head_name(const std::string& arch);
// The input size an architecture was designed for: 299 for the Inception networks, EfficientNet's per
// variant (224, 240, 288, 300, 380, 456, 528, 600 for b0 .. b7), 224 for the others.
int64_t model_input_size(const std::string& arch);

}  // namespace nn
