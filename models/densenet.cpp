// DenseNet (see densenet.h). Initialisation as torchvision: convolutions kaiming_normal (fan_in, ReLU),
// batch norm weight 1 and bias 0, the classifier PyTorch's default Linear init with bias 0.
#include "models/densenet.h"

#include <map>

#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/export.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/pool2d.h"

namespace nn {

namespace {

struct Style {
  bool init = true;
  double bn_eps = 1e-5, bn_momentum = 0.1;
};

std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, Generator& gen, const Style& st) {
  auto c = std::make_shared<Conv2d>(in, out, Pair(kernel), Conv2dOptions{.stride = stride, .padding = kernel / 2},
                                    false, gen, Init::none);
  if (st.init) kaiming_normal_relu_(c->weight, FanMode::fan_in, gen);
  return c;
}

std::shared_ptr<BatchNorm2d> norm(int64_t channels, const Style& st) {
  return std::make_shared<BatchNorm2d>(channels, st.bn_eps, st.bn_momentum);
}

// One dense layer (torchvision's _DenseLayer, drop_rate 0): norm1 relu1 conv1 (1x1 to 4 x growth) norm2
// relu2 conv2 (3x3 to growth), applied to the concatenation of everything before it in the block.
std::shared_ptr<Sequential> dense_layer(int64_t in, int64_t growth, Generator& gen, const Style& st) {
  auto s = std::make_shared<Sequential>();
  s->add("norm1", norm(in, st)).add("relu1", std::make_shared<ReLU>()).add("conv1", conv(in, 4 * growth, 1, 1, gen, st));
  s->add("norm2", norm(4 * growth, st)).add("relu2", std::make_shared<ReLU>());
  s->add("conv2", conv(4 * growth, growth, 3, 1, gen, st));
  return s;
}

// A dense block (torchvision's _DenseBlock): denselayer1 .. denselayerL, each fed the concatenation of the
// block's input and all earlier layers' outputs; the block returns the concatenation of all of them.
class DenseBlock final : public Module {
 public:
  DenseBlock(int64_t layers, int64_t in, int64_t growth, Generator& gen, const Style& st) {
    for (int64_t i = 0; i < layers; ++i)
      layers_.push_back(register_module("denselayer" + std::to_string(i + 1), dense_layer(in + i * growth, growth, gen, st)));
  }

  Tensor forward(const Tensor& x) override {
    std::vector<Tensor> parts{x};
    for (const auto& layer : layers_) {
      // The concatenation is the layer's input; in training its batch norm keeps it for the backward pass.
      const Tensor in = parts.size() == 1 ? parts[0] : cat(parts, 1);
      parts.push_back((*layer)(in));
    }
    return cat(parts, 1);
  }
  const char* type_name() const override { return "DenseBlock"; }

  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override {
    std::vector<GraphValue> parts{x};
    auto concat = [&] {
      if (parts.size() == 1) return parts[0];
      std::vector<std::string> names;
      Shape shape = parts[0].shape;
      shape[1] = 0;
      for (const GraphValue& p : parts) {
        names.push_back(p.name);
        shape[1] += p.shape[1];
      }
      return GraphValue{g.node("Concat", names, {{"axis", int64_t{1}}}), shape};
    };
    for (size_t i = 0; i < layers_.size(); ++i)
      parts.push_back(g.call("denselayer" + std::to_string(i + 1), *layers_[i], concat()));
    return concat();
  }

 private:
  std::vector<std::shared_ptr<Sequential>> layers_;
};

// torchvision's _Transition: norm relu conv (1x1, halving the channels) pool (2x2 average, stride 2).
std::shared_ptr<Sequential> transition(int64_t in, int64_t out, Generator& gen, const Style& st) {
  auto s = std::make_shared<Sequential>();
  s->add("norm", norm(in, st)).add("relu", std::make_shared<ReLU>()).add("conv", conv(in, out, 1, 1, gen, st));
  s->add("pool", std::make_shared<AvgPool2d>(AvgPool2dOptions{.kernel_size = 2, .stride = Pair(2)}));
  return s;
}

}  // namespace

DenseNet::DenseNet(std::string arch, int64_t growth, int64_t init_features, const std::vector<int>& block_layers,
                   const ModelOptions& o)
    : arch_(std::move(arch)) {
  NN_CHECK(o.num_classes > 0, "{}: num_classes must be positive, got {}", arch_, o.num_classes);
  NN_CHECK(o.flavour.empty() || o.flavour == "keras", "{}: has no flavour '{}' (known: torchvision's, \"keras\")",
           arch_, o.flavour);
  Style st{.init = o.init};
  if (o.flavour == "keras") st.bn_momentum = 0.01;
  if (o.bn_eps > 0) st.bn_eps = o.bn_eps;
  Generator gen(o.seed);
  features = register_module("features", std::make_shared<Sequential>());
  features->add("conv0", conv(3, init_features, 7, 2, gen, st)).add("norm0", norm(init_features, st));
  features->add("relu0", std::make_shared<ReLU>());
  features->add("pool0", std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel_size = 3, .stride = Pair(2), .padding = 1}));
  int64_t channels = init_features;
  for (size_t b = 0; b < block_layers.size(); ++b) {
    const std::string i = std::to_string(b + 1);
    features->add("denseblock" + i, std::make_shared<DenseBlock>(block_layers[b], channels, growth, gen, st));
    channels += block_layers[b] * growth;
    if (b + 1 < block_layers.size()) {
      features->add("transition" + i, transition(channels, channels / 2, gen, st));
      channels /= 2;
    }
  }
  features->add("norm5", norm(channels, st));
  features_ = channels;
  classifier = register_module("classifier", std::make_shared<Linear>(channels, o.num_classes, true, gen,
                                                                      o.init ? Init::pytorch_default : Init::none));
  if (o.init) {
    NoGradGuard no_grad;
    classifier->bias.fill_(0);
  }
}

Tensor DenseNet::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4 && x.size(1) == 3, "{}: input must be [N, 3, H, W], got {}", arch_, x.describe());
  Tensor h = (*features)(x);
  h = relu(h);
  h = flatten(adaptive_avg_pool2d(h, Pair(1)), 1);
  return (*classifier)(h);
}

GraphValue DenseNet::export_graph(GraphBuilder& g, const GraphValue& x) const {
  const GraphValue f = g.call("features", *features, x);
  const GraphValue r{g.node("Relu", {f.name}), f.shape};
  const GraphValue pooled{g.node("GlobalAveragePool", {r.name}), Shape{f.shape[0], f.shape[1], 1, 1}};
  return g.call("classifier", *classifier, export_flatten(g, pooled));
}

int64_t DenseNet::num_classes() const { return classifier->weight.size(0); }

void DenseNet::reset_head(int64_t num_classes, Generator& gen) {
  NN_CHECK(num_classes > 0, "{}: num_classes must be positive, got {}", arch_, num_classes);
  classifier = std::make_shared<Linear>(features_, num_classes, true, gen, Init::pytorch_default);
  {
    NoGradGuard no_grad;
    classifier->bias.fill_(0);
  }
  replace_module("classifier", classifier);
}

std::shared_ptr<Network> make_densenet(const std::string& arch, const ModelOptions& options) {
  struct Variant {
    int64_t growth, init_features;
    std::vector<int> blocks;
  };
  static const std::map<std::string, Variant> variants = {
      {"densenet121", {32, 64, {6, 12, 24, 16}}},
      {"densenet161", {48, 96, {6, 12, 36, 24}}},
      {"densenet169", {32, 64, {6, 12, 32, 32}}},
      {"densenet201", {32, 64, {6, 12, 48, 32}}}};
  const auto it = variants.find(arch);
  if (it == variants.end()) return nullptr;
  return std::make_shared<DenseNet>(arch, it->second.growth, it->second.init_features, it->second.blocks, options);
}

}  // namespace nn
