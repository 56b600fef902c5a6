// DenseNet-121/161/169/201 (Huang et al., 2017) with torchvision's names, semantics and initialisation.
//
//   features: conv0 (7x7/2) -> norm0 -> relu0 -> pool0 (3x3/2 max)                  56x56 at 224
//             denseblock1 -> transition1 -> denseblock2 -> transition2 -> denseblock3 -> transition3
//             -> denseblock4 -> norm5
//   relu -> global average pool -> classifier (Linear)
//
// Dense connectivity: layer i of a block sees the concatenation of the block's input and the outputs of
// layers 1 .. i-1, and adds `growth` channels: BN -> ReLU -> 1x1 conv (4 x growth, the bottleneck) -> BN
// -> ReLU -> 3x3 conv (growth). A block of L layers on C channels ends with C + L x growth; a transition
// (BN -> ReLU -> 1x1 conv halving the channels -> 2x2 average pool) shrinks both channels and size.
//
//   variant      growth  init features  layers per block   parameters
//   densenet121  32      64             6, 12, 24, 16       7,978,856
//   densenet161  48      96             6, 12, 36, 24      28,681,000
//   densenet169  32      64             6, 12, 32, 32      14,149,480
//   densenet201  32      64             6, 12, 48, 32      20,013,928
//
// Memory: layer i's batch norm needs its whole input for the backward pass, so training keeps every
// concatenation alive, O(L^2) channels per block (torchvision's memory_efficient=False: the same). The block
// here concatenates once per layer from the list of earlier outputs, as torchvision does; docs/models.md
// compares the peak with PyTorch's.
//
// Flavour "keras" (Keras' DenseNet121/169/201, same architecture): batch norm momentum 0.01; the weights'
// epsilon, 1.001e-5, comes from their file (bn_eps).
#pragma once

#include <memory>
#include <vector>

#include "models/network.h"

namespace nn {

class Linear;
class Sequential;

class DenseNet final : public Network {
 public:
  DenseNet(std::string arch, int64_t growth, int64_t init_features, const std::vector<int>& block_layers,
           const ModelOptions& options);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "DenseNet"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  std::string arch() const override { return arch_; }
  std::string head_name() const override { return "classifier"; }
  std::string head_block() const override { return "classifier"; }
  // The last feature map (norm5's output; the network applies its ReLU right after).
  std::string cam_layer() const override { return "features.norm5"; }
  int64_t num_classes() const override;
  int64_t head_in_features() const override { return features_; }
  void reset_head(int64_t num_classes, Generator& gen) override;

  std::shared_ptr<Sequential> features;
  std::shared_ptr<Linear> classifier;

 private:
  std::string arch_;
  int64_t features_ = 0;
};

std::shared_ptr<Network> make_densenet(const std::string& arch, const ModelOptions& options);

}  // namespace nn
