// VGG (see vgg.h). Initialisation as torchvision: convolutions kaiming_normal (fan_out, ReLU) with zero
// bias, batch norm weight 1 and bias 0, linear layers N(0, 0.01) with zero bias.
#include "models/vgg.h"

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

std::shared_ptr<Linear> vgg_linear(int64_t in, int64_t out, Generator& gen, bool init) {
  auto l = std::make_shared<Linear>(in, out, true, gen, Init::none);  // bias stays 0
  if (init) normal_(l->weight, 0.0, 0.01, gen);
  return l;
}

}  // namespace

Vgg::Vgg(std::string arch, const std::vector<int>& layers, bool batch_norm, const ModelOptions& o) : arch_(std::move(arch)) {
  NN_CHECK(o.num_classes > 0, "{}: num_classes must be positive, got {}", arch_, o.num_classes);
  Generator gen(o.seed);
  features = std::make_shared<Sequential>();
  int64_t channels = 3;
  for (int out : layers) {
    if (out == 0) {
      features->emplace<MaxPool2d>(MaxPool2dOptions{.kernel_size = 2, .stride = Pair(2)});
      continue;
    }
    auto conv = std::make_shared<Conv2d>(channels, out, Pair(3), Conv2dOptions{.padding = 1}, true, gen, Init::none);
    if (o.init) kaiming_normal_relu_(conv->weight, FanMode::fan_out, gen);  // bias stays 0
    features->add(conv);
    if (batch_norm) features->emplace<BatchNorm2d>(out);
    features->emplace<ReLU>();
    channels = out;
  }
  avgpool = std::make_shared<AdaptiveAvgPool2d>(Pair(7));
  classifier = std::make_shared<Sequential>();
  classifier->add(vgg_linear(512 * 7 * 7, 4096, gen, o.init)).emplace<ReLU>().emplace<Dropout>(o.dropout < 0 ? 0.5 : o.dropout, o.seed + 1);
  classifier->add(vgg_linear(4096, 4096, gen, o.init)).emplace<ReLU>().emplace<Dropout>(o.dropout < 0 ? 0.5 : o.dropout, o.seed + 2);
  classifier->add(vgg_linear(4096, o.num_classes, gen, o.init));
  register_module("features", features);
  register_module("avgpool", avgpool);
  register_module("classifier", classifier);
}

Tensor Vgg::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4 && x.size(1) == 3, "{}: input must be [N, 3, H, W], got {}", arch_, x.describe());
  return (*classifier)(flatten((*avgpool)((*features)(x)), 1));
}

GraphValue Vgg::export_graph(GraphBuilder& g, const GraphValue& x) const {
  const GraphValue pooled = g.call("avgpool", *avgpool, g.call("features", *features, x));
  return g.call("classifier", *classifier, export_flatten(g, pooled));
}

std::string Vgg::cam_layer() const {
  for (size_t i = features->size(); i-- > 0;)
    if (dynamic_cast<const ReLU*>(&(*features)[i])) return fmt::format("features.{}", i);
  NN_FAIL("{}: no ReLU in features", arch_);
}

int64_t Vgg::num_classes() const { return static_cast<const Linear&>((*classifier)[6]).weight.size(0); }

void Vgg::reset_head(int64_t num_classes, Generator& gen) {
  NN_CHECK(num_classes > 0, "{}: num_classes must be positive, got {}", arch_, num_classes);
  classifier->replace(6, vgg_linear(4096, num_classes, gen, true));
}

std::shared_ptr<Network> make_vgg(const std::string& arch, const ModelOptions& options) {
  static const std::map<std::string, std::vector<int>> configs = {
      {"vgg11", {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
      {"vgg13", {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
      {"vgg16", {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}},
      {"vgg19", {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0}},
  };
  const bool bn = arch.size() > 3 && arch.substr(arch.size() - 3) == "_bn";
  auto it = configs.find(bn ? arch.substr(0, arch.size() - 3) : arch);
  if (it == configs.end()) return nullptr;
  return std::make_shared<Vgg>(arch, it->second, bn, options);
}

}  // namespace nn
