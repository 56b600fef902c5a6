// Network: a classification model with a replaceable head, and the factory that builds one by name.
//
//   auto model = make_model("resnet50", {.num_classes = 7});   // torchvision's architecture and init
//   model->reset_head(2, gen);                                 // a new, freshly initialised classifier
//
// Architectures (models/vgg.cpp, models/resnet.cpp) follow torchvision exactly, so parameter and buffer
// names are torchvision's state-dict keys and its weight files load by name (weights/load.h).
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
  double dropout = 0.5;  // VGG's classifier dropout (torchvision's default); ResNet has none
  bool init = true;      // false: parameters stay zero (faster when weights are loaded next)
};

// vgg11, vgg13, vgg16, vgg19, their _bn variants, resnet18, resnet34, resnet50, resnet101, resnet152.
std::shared_ptr<Network> make_model(const std::string& arch, const ModelOptions& options = {});
std::vector<std::string> model_archs();
// Network::head_name() of an architecture, without building it.
std::string model_head_name(const std::string& arch);

}  // namespace nn
