// ResNet (see resnet.h). Initialisation as torchvision: convolutions kaiming_normal (fan_out, ReLU), batch
// norm weight 1 and bias 0, fc PyTorch's default Linear init. Keras' v1: glorot_uniform, zero biases.
#include "models/resnet.h"

#include <map>
#include <optional>

#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/export.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/pool2d.h"
#include "layers/profile.h"
#include "layers/summary.h"

namespace nn {

namespace {

// How one version builds its layers.
struct Style {
  ResNet::Version version = ResNet::Version::v1_5;
  bool init = true;
  double bn_eps = 1e-5, bn_momentum = 0.1;
  bool v1() const { return version == ResNet::Version::v1; }
};

// A convolution with padding kernel/2: bias-free and kaiming_normal (fan_out, ReLU) in torchvision's v1.5,
// with a bias and glorot_uniform (zero bias) in Keras' v1.
std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, Generator& gen, const Style& st) {
  auto c = std::make_shared<Conv2d>(in, out, Pair(kernel), Conv2dOptions{.stride = stride, .padding = kernel / 2},
                                    st.v1(), gen, Init::none);
  if (st.init && st.v1()) glorot_uniform_(c->weight, gen);  // the bias stays 0
  else if (st.init) kaiming_normal_relu_(c->weight, FanMode::fan_out, gen);
  return c;
}

std::shared_ptr<BatchNorm2d> norm(int64_t channels, const Style& st) {
  return std::make_shared<BatchNorm2d>(channels, st.bn_eps, st.bn_momentum);
}

// Two 3x3 convolutions (resnet18/34) or 1x1 -> 3x3 (with the stride) -> 1x1 x4 (resnet50+), plus the
// identity or a projection, then ReLU.
class ResidualBlock final : public Module {
 public:
  ResidualBlock(ResNet::Block kind, int64_t in, int64_t planes, int64_t stride, Generator& gen, const Style& st) {
    const bool bottleneck = kind == ResNet::Block::bottleneck;
    const int64_t out = bottleneck ? planes * 4 : planes;
    std::shared_ptr<Conv2d> conv1, conv2, conv3;
    std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
    if (bottleneck) {  // v1.5: the stride on the 3x3; v1: on the first 1x1
      conv1 = register_module("conv1", conv(in, planes, 1, st.v1() ? stride : 1, gen, st));
      bn1 = register_module("bn1", norm(planes, st));
      conv2 = register_module("conv2", conv(planes, planes, 3, st.v1() ? 1 : stride, gen, st));
      bn2 = register_module("bn2", norm(planes, st));
      conv3 = register_module("conv3", conv(planes, out, 1, 1, gen, st));
      bn3 = register_module("bn3", norm(out, st));
    } else {
      conv1 = register_module("conv1", conv(in, planes, 3, stride, gen, st));
      bn1 = register_module("bn1", norm(planes, st));
      conv2 = register_module("conv2", conv(planes, planes, 3, 1, gen, st));
      bn2 = register_module("bn2", norm(planes, st));
    }
    relu_ = register_module("relu", std::make_shared<ReLU>());
    run1_ = ConvRun(conv1, bn1, relu_);
    run2_ = ConvRun(conv2, bn2, bottleneck ? relu_ : nullptr);
    if (bottleneck) run3_.emplace(conv3, bn3, nullptr);
    if (stride != 1 || in != out) {
      auto down = std::make_shared<Sequential>();
      down->add(conv(in, out, 1, stride, gen, st)).add(norm(out, st));
      downsample_ = register_module("downsample", down);
    }
  }

  // One statement per layer: each reassignment frees the previous activation at once when nothing saved
  // it for backward (inference), where nested calls would keep every temporary alive to the end of the
  // expression (four 103 MB tensors at once after ResNet's first convolution at batch 32). Each ConvRun
  // is conv -> bn (-> relu), one fused convolution after fuse_for_inference (layers/fused.h). The residual
  // addition and the last ReLU are one op on the CPU (add_relu: one pass instead of two, the same values
  // and gradients), charged to the ReLU's profile row, unless a hook or a summary needs the ReLU module to
  // run.
  Tensor forward(const Tensor& x) override {
    Tensor h = run1_(x);
    h = run2_(h);
    if (run3_) h = (*run3_)(h);
    const Tensor shortcut = downsample_ ? (*downsample_)(x) : x;
    if (h.device().is_cpu() && !summary_active() && !ForwardHook::hooked(relu_.get())) {
      const LayerProfiler::Scope timed(relu_.get());
      return add_relu(h, shortcut);
    }
    h = add(h, shortcut);
    return (*relu_)(h);
  }
  const char* type_name() const override { return run3_ ? "Bottleneck" : "BasicBlock"; }

  // The same steps as operators (layers/export.h): the branch, the shortcut, Add, Relu.
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override {
    GraphValue h = run1_.export_graph(g, x, {"conv1", "bn1", "relu"});
    h = run2_.export_graph(g, h, {"conv2", "bn2", "relu"});
    if (run3_) h = run3_->export_graph(g, h, {"conv3", "bn3", ""});
    const GraphValue shortcut = downsample_ ? g.call("downsample", *downsample_, x) : x;
    return g.call("relu", *relu_, {g.node("Add", {h.name, shortcut.name}), h.shape});
  }

 protected:
  void fuse_runs() override {  // the downsample, a Sequential, fuses its own
    run1_.fuse();
    run2_.fuse();
    if (run3_) run3_->fuse();
  }

 private:
  std::shared_ptr<ReLU> relu_;
  ConvRun run1_, run2_;          // conv1 -> bn1 -> relu, conv2 -> bn2 (-> relu in a bottleneck)
  std::optional<ConvRun> run3_;  // conv3 -> bn3 (bottleneck)
  std::shared_ptr<Module> downsample_;
};

}  // namespace

ResNet::ResNet(std::string arch, Block block, const std::vector<int>& blocks, const ModelOptions& o, Version version)
    : arch_(std::move(arch)), version_(version) {
  NN_CHECK(o.num_classes > 0, "{}: num_classes must be positive, got {}", arch_, o.num_classes);
  NN_CHECK(o.flavour.empty() || (o.flavour == "keras" && version == Version::v1),
           "{}: has no flavour '{}' (Keras' ResNet is resnet50_v1 and its kin, which are Keras' already)", arch_, o.flavour);
  Style st{.version = version, .init = o.init};
  if (version == Version::v1) st.bn_eps = 1.001e-5, st.bn_momentum = 0.01;
  if (o.bn_eps > 0) st.bn_eps = o.bn_eps;
  Generator gen(o.seed);
  auto conv1 = register_module("conv1", conv(3, 64, 7, 2, gen, st));
  auto bn1 = register_module("bn1", norm(64, st));
  stem_ = ConvRun(conv1, bn1, register_module("relu", std::make_shared<ReLU>()));
  maxpool = register_module("maxpool", std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel_size = 3, .stride = Pair(2), .padding = 1}));
  const int64_t expansion = block == Block::bottleneck ? 4 : 1;
  int64_t in = 64;
  std::shared_ptr<Module>* stages[] = {&layer1, &layer2, &layer3, &layer4};
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = int64_t{64} << s;
    auto stage = std::make_shared<Sequential>();
    for (int b = 0; b < blocks[s]; ++b) {
      stage->emplace<ResidualBlock>(block, in, planes, b == 0 && s > 0 ? 2 : 1, gen, st);
      in = planes * expansion;
    }
    *stages[s] = register_module("layer" + std::to_string(s + 1), stage);
  }
  features_ = in;
  avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(Pair(1)));
  fc = register_module("fc", std::make_shared<Linear>(features_, o.num_classes, true, gen,
                                                      o.init && !st.v1() ? Init::pytorch_default : Init::none));
  if (o.init && st.v1()) glorot_uniform_(fc->weight, gen);  // the bias stays 0
}

Tensor ResNet::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4 && x.size(1) == 3, "{}: input must be [N, 3, H, W], got {}", arch_, x.describe());
  // One statement per layer (see ResidualBlock::forward).
  Tensor h = stem_(x);
  h = (*maxpool)(h);
  h = (*layer1)(h);
  h = (*layer2)(h);
  h = (*layer3)(h);
  h = (*layer4)(h);
  h = flatten((*avgpool)(h), 1);
  return (*fc)(h);
}

GraphValue ResNet::export_graph(GraphBuilder& g, const GraphValue& x) const {
  GraphValue h = stem_.export_graph(g, x, {"conv1", "bn1", "relu"});
  h = g.call("maxpool", *maxpool, h);
  h = g.call("layer1", *layer1, h);
  h = g.call("layer2", *layer2, h);
  h = g.call("layer3", *layer3, h);
  h = g.call("layer4", *layer4, h);
  h = export_flatten(g, g.call("avgpool", *avgpool, h));
  return g.call("fc", *fc, h);
}

int64_t ResNet::num_classes() const { return fc->weight.size(0); }

void ResNet::reset_head(int64_t num_classes, Generator& gen) {
  NN_CHECK(num_classes > 0, "{}: num_classes must be positive, got {}", arch_, num_classes);
  fc = std::make_shared<Linear>(features_, num_classes, true, gen,
                                version_ == Version::v1 ? Init::none : Init::pytorch_default);
  if (version_ == Version::v1) glorot_uniform_(fc->weight, gen);
  replace_module("fc", fc);
}

std::shared_ptr<Network> make_resnet(const std::string& arch, const ModelOptions& options) {
  static const std::map<std::string, std::pair<ResNet::Block, std::vector<int>>> configs = {
      {"resnet18", {ResNet::Block::basic, {2, 2, 2, 2}}},       {"resnet34", {ResNet::Block::basic, {3, 4, 6, 3}}},
      {"resnet50", {ResNet::Block::bottleneck, {3, 4, 6, 3}}},  {"resnet101", {ResNet::Block::bottleneck, {3, 4, 23, 3}}},
      {"resnet152", {ResNet::Block::bottleneck, {3, 8, 36, 3}}},
  };
  const bool v1 = arch.ends_with("_v1");
  auto it = configs.find(v1 ? arch.substr(0, arch.size() - 3) : arch);
  if (it == configs.end() || (v1 && it->second.first != ResNet::Block::bottleneck)) return nullptr;
  return std::make_shared<ResNet>(arch, it->second.first, it->second.second, options,
                                  v1 ? ResNet::Version::v1 : ResNet::Version::v1_5);
}

}  // namespace nn
