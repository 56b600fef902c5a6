// Inception-ResNet-v2 (see inception_resnet_v2.h), built as timm's InceptionResnetV2: the stem's units
// and the mixed blocks are registered under timm's names, each multi-step branch a Sequential
// ("branch1.0", "branch1.1"), so timm's state-dict keys come out as they are.
#include "models/inception_resnet_v2.h"

#include <functional>

#include "layers/conv2d.h"
#include "layers/export.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "models/branches.h"
#include "models/conv_block.h"

namespace nn {

namespace {

using Step = Branches::Step;
using Branch = Branches::Branch;

// The network's convolution units (models/conv_block.h), its branches, pools and residual projections.
struct Units {
  ConvUnits unit;

  std::shared_ptr<Module> conv(int64_t in, int64_t out, Pair kernel, Pair stride = 1, Pair padding = 0) const {
    return unit(in, out, kernel, stride, padding);
  }
  // A branch of several steps: a Sequential named `name`, as timm's nn.Sequential branches.
  static Step chain(const std::string& name, std::vector<std::shared_ptr<Module>> steps) {
    auto s = std::make_shared<Sequential>();
    for (auto& m : steps) s->add(std::move(m));
    return {name, s};
  }
  static std::shared_ptr<Module> max_pool() {
    return std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel_size = 3, .stride = Pair(2)});
  }
  // The residual's 1x1 "up" convolution: a bias, no batch norm.
  std::shared_ptr<Conv2d> up(int64_t in, int64_t out) const {
    auto c = std::make_shared<Conv2d>(in, out, Pair(1), Conv2dOptions{}, true, unit.gen, Init::none);
    init_layer(c->weight, c->bias, unit.init, unit.gen);
    return c;
  }
};

std::shared_ptr<Module> mixed_5b(const Units& u) {
  auto pool = std::make_shared<AvgPool2d>(
      AvgPool2dOptions{.kernel_size = 3, .stride = Pair(1), .padding = 1, .count_include_pad = false});
  return std::make_shared<Branches>(
      "Mixed_5b", std::vector<Branch>{
                      {{{"branch0", u.conv(192, 96, 1)}}},
                      {{Units::chain("branch1", {u.conv(192, 48, 1), u.conv(48, 64, 5, 1, 2)})}},
                      {{Units::chain("branch2", {u.conv(192, 64, 1), u.conv(64, 96, 3, 1, 1), u.conv(96, 96, 3, 1, 1)})}},
                      {{Units::chain("branch3", {pool, u.conv(192, 64, 1)})}},
                  });
}

std::shared_ptr<Module> block35(const Units& u, double scale) {
  return std::make_shared<InceptionResidual>(
      "Block35",
      std::vector<Branch>{
          {{{"branch0", u.conv(320, 32, 1)}}},
          {{Units::chain("branch1", {u.conv(320, 32, 1), u.conv(32, 32, 3, 1, 1)})}},
          {{Units::chain("branch2", {u.conv(320, 32, 1), u.conv(32, 48, 3, 1, 1), u.conv(48, 64, 3, 1, 1)})}},
      },
      u.up(128, 320), scale, true);
}

std::shared_ptr<Module> mixed_6a(const Units& u) {
  return std::make_shared<Branches>(
      "Mixed_6a",
      std::vector<Branch>{
          {{{"branch0", u.conv(320, 384, 3, 2)}}},
          {{Units::chain("branch1", {u.conv(320, 256, 1), u.conv(256, 256, 3, 1, 1), u.conv(256, 384, 3, 2)})}},
          {{{"branch2", Units::max_pool()}}},
      });
}

std::shared_ptr<Module> block17(const Units& u, double scale) {
  return std::make_shared<InceptionResidual>(
      "Block17",
      std::vector<Branch>{
          {{{"branch0", u.conv(1088, 192, 1)}}},
          {{Units::chain("branch1", {u.conv(1088, 128, 1), u.conv(128, 160, Pair(1, 7), 1, Pair(0, 3)),
                                     u.conv(160, 192, Pair(7, 1), 1, Pair(3, 0))})}},
      },
      u.up(384, 1088), scale, true);
}

std::shared_ptr<Module> mixed_7a(const Units& u) {
  return std::make_shared<Branches>(
      "Mixed_7a",
      std::vector<Branch>{
          {{Units::chain("branch0", {u.conv(1088, 256, 1), u.conv(256, 384, 3, 2)})}},
          {{Units::chain("branch1", {u.conv(1088, 256, 1), u.conv(256, 288, 3, 2)})}},
          {{Units::chain("branch2", {u.conv(1088, 256, 1), u.conv(256, 288, 3, 1, 1), u.conv(288, 320, 3, 2)})}},
          {{{"branch3", Units::max_pool()}}},
      });
}

std::shared_ptr<Module> block8(const Units& u, double scale, bool relu) {
  return std::make_shared<InceptionResidual>(
      "Block8",
      std::vector<Branch>{
          {{{"branch0", u.conv(2080, 192, 1)}}},
          {{Units::chain("branch1", {u.conv(2080, 192, 1), u.conv(192, 224, Pair(1, 3), 1, Pair(0, 1)),
                                     u.conv(224, 256, Pair(3, 1), 1, Pair(1, 0))})}},
      },
      u.up(448, 2080), scale, relu);
}

std::shared_ptr<Module> repeat(int n, const std::function<std::shared_ptr<Module>()>& make) {
  auto s = std::make_shared<Sequential>();
  for (int i = 0; i < n; ++i) s->add(make());
  return s;
}

}  // namespace

InceptionResNetV2::InceptionResNetV2(const ModelOptions& o) : keras_(o.flavour == "keras") {
  NN_CHECK(o.num_classes > 0, "inception_resnet_v2: num_classes must be positive, got {}", o.num_classes);
  NN_CHECK(o.flavour.empty() || keras_, "inception_resnet_v2: unknown flavour '{}' (timm's, or keras)", o.flavour);
  Generator gen(o.seed);
  const Units u{.unit = ConvUnits(keras_, ConvInit{ConvInit::pytorch_default}, o.init, gen)};
  const std::pair<const char*, std::shared_ptr<Module>> layers[] = {
      {"conv2d_1a", u.conv(3, 32, 3, 2)},
      {"conv2d_2a", u.conv(32, 32, 3)},
      {"conv2d_2b", u.conv(32, 64, 3, 1, 1)},
      {"maxpool_3a", Units::max_pool()},
      {"conv2d_3b", u.conv(64, 80, 1)},
      {"conv2d_4a", u.conv(80, 192, 3)},
      {"maxpool_5a", Units::max_pool()},
      {"mixed_5b", mixed_5b(u)},
      {"repeat", repeat(10, [&] { return block35(u, 0.17); })},
      {"mixed_6a", mixed_6a(u)},
      {"repeat_1", repeat(20, [&] { return block17(u, 0.10); })},
      {"mixed_7a", mixed_7a(u)},
      {"repeat_2", repeat(9, [&] { return block8(u, 0.20, true); })},
      {"block8", block8(u, 1.0, false)},
      {"conv2d_7b", u.conv(2080, 1536, 1)},
  };
  for (const auto& [name, m] : layers) features_.push_back(register_module(name, m));
  global_pool_ = register_module("global_pool", std::make_shared<AdaptiveAvgPool2d>(Pair(1)));
  classif_ = std::make_shared<Linear>(1536, o.num_classes, true, gen, Init::none);
  init_layer(classif_->weight, classif_->bias, u.unit.init, gen);
  register_module("classif", classif_);
}

Tensor InceptionResNetV2::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4 && x.size(1) == 3, "inception_resnet_v2: input must be [N, 3, H, W], got {}", x.describe());
  NN_CHECK(x.size(2) >= 75 && x.size(3) >= 75,
           "inception_resnet_v2: input must be at least 75x75 (299x299 is native), got {}", x.describe());
  Tensor h = x;
  for (const auto& m : features_) h = (*m)(h);  // one statement per layer (see ResNet::forward)
  h = flatten((*global_pool_)(h), 1);
  return (*classif_)(h);
}

GraphValue InceptionResNetV2::export_graph(GraphBuilder& g, const GraphValue& x) const {
  GraphValue h = x;
  for (const auto& [name, m] : children()) {
    if (name == "classif") continue;
    h = g.call(name, *m, h);
  }
  return g.call("classif", *classif_, export_flatten(g, h));
}

int64_t InceptionResNetV2::num_classes() const { return classif_->weight.size(0); }

void InceptionResNetV2::reset_head(int64_t num_classes, Generator& gen) {
  NN_CHECK(num_classes > 0, "inception_resnet_v2: num_classes must be positive, got {}", num_classes);
  classif_ = std::make_shared<Linear>(1536, num_classes, true, gen, Init::none);
  init_layer(classif_->weight, classif_->bias, ConvUnits::flavour_init(keras_, ConvInit{ConvInit::pytorch_default}), gen);
  replace_module("classif", classif_);
}

std::shared_ptr<Network> make_inception_resnet_v2(const std::string& arch, const ModelOptions& options) {
  if (arch != "inception_resnet_v2") return nullptr;
  return std::make_shared<InceptionResNetV2>(options);
}

}  // namespace nn
