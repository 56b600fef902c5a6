// VGG (Simonyan & Zisserman, 2014) as torchvision builds it: `features` (3x3 convolutions with padding 1,
// optional batch norm, ReLU, 2x2 max pools), `avgpool` (adaptive to 7x7) and `classifier` (Linear 25088
// -> 4096, ReLU, Dropout, Linear 4096 -> 4096, ReLU, Dropout, Linear 4096 -> classes).
#pragma once

#include <vector>

#include "layers/module.h"
#include "models/network.h"

namespace nn {

class Vgg final : public Network {
 public:
  // `layers`: output channels of each convolution, 0 for a max pool (torchvision's cfgs "A", "B", "D", "E").
  Vgg(std::string arch, const std::vector<int>& layers, bool batch_norm, const ModelOptions& options);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "VGG"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  std::string arch() const override { return arch_; }
  std::string head_name() const override { return "classifier.6"; }
  std::string head_block() const override { return "classifier"; }
  std::string cam_layer() const override;  // "features.35" for vgg19: the ReLU of the last convolution
  int64_t num_classes() const override;
  int64_t head_in_features() const override { return 4096; }
  void reset_head(int64_t num_classes, Generator& gen) override;

  std::shared_ptr<Sequential> features, classifier;
  std::shared_ptr<Module> avgpool;

 private:
  std::string arch_;
};

std::shared_ptr<Network> make_vgg(const std::string& arch, const ModelOptions& options);  // null if not a VGG name

}  // namespace nn
