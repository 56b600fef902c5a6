// ResNet (He et al., 2015) as torchvision builds it, version 1.5: the stride of a bottleneck block sits
// on its 3x3 convolution. conv1 (7x7/2) -> bn1 -> relu -> maxpool (3x3/2) -> layer1..layer4 -> avgpool
// -> fc. Blocks: BasicBlock (two 3x3, resnet18/34) or Bottleneck (1x1, 3x3, 1x1 with 4x expansion,
// resnet50/101/152); a block whose shape changes adds `downsample` (1x1 conv with stride, batch norm).
//
// resnet50_v1, resnet101_v1, resnet152_v1: Keras' ResNet v1 (keras.applications ResNet50/101/152) under
// torchvision's names. The differences, each of which changes the numbers a set of weights produces:
//   - the stride of a downsampling block sits on its first 1x1 convolution (v1), not on the 3x3 (v1.5):
//     the 1x1 then sees only every other pixel, which is cheaper and loses 3/4 of the input to the block;
//   - every convolution has a bias (before the batch norm, where it only shifts the batch mean);
//   - batch norm eps 1.001e-5 (Keras 2.2's resnet50.py: 1e-3, ModelOptions::bn_eps) and momentum 0.01
//     (Keras' 0.99); initialisation glorot_uniform with zero biases, as Keras;
//   - the stem zero-pads and runs a valid 7x7/2 convolution and 3x3/2 max pool: the same numbers as
//     padding 3 and 1, because the pool's input is a ReLU output (>= 0), so a padded zero never beats it.
// Keras' preprocessing for these weights is 'caffe' (BGR, ImageNet mean subtracted, no scaling).
#pragma once

#include "layers/fused.h"
#include "layers/module.h"
#include "models/network.h"

namespace nn {

class Linear;

class ResNet final : public Network {
 public:
  enum class Block { basic, bottleneck };
  enum class Version { v1_5, v1 };  // torchvision's, Keras'
  ResNet(std::string arch, Block block, const std::vector<int>& blocks_per_layer, const ModelOptions& options,
         Version version = Version::v1_5);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "ResNet"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;
  std::string arch() const override { return arch_; }
  std::string head_name() const override { return "fc"; }
  std::string head_block() const override { return "fc"; }
  std::string cam_layer() const override { return "layer4"; }
  int64_t num_classes() const override;
  int64_t head_in_features() const override { return features_; }
  void reset_head(int64_t num_classes, Generator& gen) override;

 protected:
  void fuse_runs() override { stem_.fuse(); }  // the blocks fuse their own (layers/fused.h)

 private:
  std::string arch_;
  Version version_;
  int64_t features_ = 0;  // channels into fc: 512 or 2048
  ConvRun stem_;          // conv1 -> bn1 -> relu
  std::shared_ptr<Module> maxpool, layer1, layer2, layer3, layer4, avgpool;
  std::shared_ptr<Linear> fc;
};

std::shared_ptr<Network> make_resnet(const std::string& arch, const ModelOptions& options);  // null if not a ResNet

}  // namespace nn
