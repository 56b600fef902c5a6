// EfficientNet (see efficientnet.h). Initialisation as torchvision: convolutions kaiming_normal (fan_out),
// batch norm weight 1 and bias 0, the classifier uniform(-1/sqrt(classes), 1/sqrt(classes)) with bias 0.
#include "models/efficientnet.h"

#include <cmath>
#include <map>

#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/export.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/pool2d.h"

namespace nn {

int64_t efficientnet_round_channels(double v) {
  constexpr int64_t divisor = 8;
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

namespace {

struct Style {
  bool init = true, keras = false;
  double bn_eps = 1e-5, bn_momentum = 0.1;
  uint64_t seed = 0;
};

// torchvision's Conv2dNormActivation: Sequential(conv, bn[, SiLU]), padding (k-1)/2, no conv bias; in the
// Keras flavour a stride-2 convolution pads as TensorFlow's 'SAME' does (Conv2d::set_same_padding).
std::shared_ptr<Sequential> conv_norm_act(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                                          bool act, Generator& gen, const Style& st) {
  const bool asymmetric = st.keras && stride == 2;
  auto conv = std::make_shared<Conv2d>(
      in, out, Pair(kernel),
      Conv2dOptions{.stride = stride, .padding = asymmetric ? 0 : (kernel - 1) / 2, .groups = groups}, false, gen,
      Init::none);
  if (asymmetric) conv->set_same_padding();
  if (st.init) kaiming_normal_relu_(conv->weight, FanMode::fan_out, gen);
  auto seq = std::make_shared<Sequential>();
  seq->add(conv).add(std::make_shared<BatchNorm2d>(out, st.bn_eps, st.bn_momentum));
  if (act) seq->emplace<SiLU>();
  return seq;
}

// Squeeze-and-excitation: x * sigmoid(fc2(silu(fc1(mean over H, W of x)))), fc1/fc2 1x1 convolutions
// with biases (torchvision.ops.SqueezeExcitation). The gate scales whole planes: scale_rows.
class SqueezeExcitation final : public Module {
 public:
  SqueezeExcitation(int64_t channels, int64_t squeeze, Generator& gen, const Style& st) {
    avgpool_ = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(Pair(1)));
    fc1_ = register_module("fc1", std::make_shared<Conv2d>(channels, squeeze, Pair(1), Conv2dOptions{}, true, gen, Init::none));
    fc2_ = register_module("fc2", std::make_shared<Conv2d>(squeeze, channels, Pair(1), Conv2dOptions{}, true, gen, Init::none));
    act_ = register_module("activation", std::make_shared<SiLU>());
    gate_ = register_module("scale_activation", std::make_shared<Sigmoid>());
    if (st.init) {  // biases stay 0
      kaiming_normal_relu_(fc1_->weight, FanMode::fan_out, gen);
      kaiming_normal_relu_(fc2_->weight, FanMode::fan_out, gen);
    }
  }

  Tensor forward(const Tensor& x) override {
    Tensor s = (*avgpool_)(x);
    s = (*fc1_)(s);
    s = (*act_)(s);
    s = (*fc2_)(s);
    s = (*gate_)(s);
    return scale_rows(x, s.reshape({x.size(0), x.size(1)}));
  }
  const char* type_name() const override { return "SqueezeExcitation"; }

  // GlobalAveragePool, the two 1x1 Convs with their activations, then Mul. OpenCV DNN 4.6 cannot broadcast
  // a computed [N, C, 1, 1] over [N, C, H, W] in Mul (an assertion in its shape code; Expand and Tile fail
  // too, and a Resize to H x W runs but hides the symbolic batch from shape inference: measured), so the
  // gate is repeated to H x W by two Concats (W copies along the width, then H along the height): the same
  // values, exact shapes, and a form every ONNX consumer runs.
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override {
    GraphValue s = g.call("avgpool", *avgpool_, x);
    s = g.call("fc1", *fc1_, s);
    s = g.call("activation", *act_, s);
    s = g.call("fc2", *fc2_, s);
    s = g.call("scale_activation", *gate_, s);
    const std::string row = g.node("Concat", std::vector<std::string>(static_cast<size_t>(x.shape[3]), s.name),
                                   {{"axis", int64_t{3}}});
    const std::string gate = g.node("Concat", std::vector<std::string>(static_cast<size_t>(x.shape[2]), row),
                                    {{"axis", int64_t{2}}});
    return {g.node("Mul", {x.name, gate}), x.shape};
  }

 private:
  std::shared_ptr<Module> avgpool_, act_, gate_;
  std::shared_ptr<Conv2d> fc1_, fc2_;
};

struct BlockConfig {
  int64_t expand, kernel, stride, in, out, repeats;
};

// MBConv (see efficientnet.h): "block" = [expand] depthwise SE project, then stochastic depth and the
// residual add where the block keeps its shape.
class MBConv final : public Module {
 public:
  MBConv(const BlockConfig& c, double drop, uint64_t seed, Generator& gen, const Style& st)
      : residual_(c.stride == 1 && c.in == c.out) {
    const int64_t expanded = efficientnet_round_channels(static_cast<double>(c.in * c.expand));
    auto block = std::make_shared<Sequential>();
    if (expanded != c.in) block->add(conv_norm_act(c.in, expanded, 1, 1, 1, true, gen, st));
    block->add(conv_norm_act(expanded, expanded, c.kernel, c.stride, expanded, true, gen, st));
    block->emplace<SqueezeExcitation>(expanded, std::max<int64_t>(1, c.in / 4), gen, st);
    block->add(conv_norm_act(expanded, c.out, 1, 1, 1, false, gen, st));
    block_ = register_module("block", block);
    drop_ = register_module("stochastic_depth", std::make_shared<StochasticDepth>(drop, seed));
  }

  Tensor forward(const Tensor& x) override {
    Tensor h = (*block_)(x);
    if (!residual_) return h;
    h = (*drop_)(h);
    return add(h, x);
  }
  const char* type_name() const override { return "MBConv"; }

  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override {
    const GraphValue h = g.call("block", *block_, x);  // stochastic depth is the identity in eval
    if (!residual_) return h;
    return {g.node("Add", {h.name, x.name}), h.shape};
  }

 private:
  bool residual_;
  std::shared_ptr<Module> block_, drop_;
};

}  // namespace

EfficientNet::EfficientNet(std::string arch, double width, double depth, double dropout, const ModelOptions& o)
    : arch_(std::move(arch)) {
  NN_CHECK(o.num_classes > 0, "{}: num_classes must be positive, got {}", arch_, o.num_classes);
  NN_CHECK(o.flavour.empty() || o.flavour == "keras", "{}: has no flavour '{}' (known: torchvision's, \"keras\")",
           arch_, o.flavour);
  const bool large = arch_ >= "efficientnet_b5";
  Style st{.init = o.init, .keras = o.flavour == "keras"};
  if (large || st.keras) st.bn_eps = 1e-3, st.bn_momentum = 0.01;
  if (o.bn_eps > 0) st.bn_eps = o.bn_eps;
  const double sd = o.stochastic_depth < 0 ? 0.2 : o.stochastic_depth;
  NN_CHECK(sd <= 1, "{}: stochastic depth {} is not in [0, 1]", arch_, sd);
  Generator gen(o.seed);

  static const BlockConfig base[] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},
                                     {6, 3, 2, 40, 80, 3},  {6, 5, 1, 80, 112, 3},  {6, 5, 2, 112, 192, 4},
                                     {6, 3, 1, 192, 320, 1}};
  std::vector<BlockConfig> stages;
  int64_t total_blocks = 0;
  for (BlockConfig c : base) {
    c.in = efficientnet_round_channels(static_cast<double>(c.in) * width);
    c.out = efficientnet_round_channels(static_cast<double>(c.out) * width);
    c.repeats = static_cast<int64_t>(std::ceil(static_cast<double>(c.repeats) * depth));
    total_blocks += c.repeats;
    stages.push_back(c);
  }

  features = register_module("features", std::make_shared<Sequential>());
  features->add(conv_norm_act(3, stages[0].in, 3, 2, 1, true, gen, st));
  int64_t block_id = 0;
  for (const BlockConfig& c : stages) {
    auto stage = std::make_shared<Sequential>();
    for (int64_t b = 0; b < c.repeats; ++b) {
      BlockConfig bc = c;
      if (b > 0) bc.in = c.out, bc.stride = 1;
      const double drop = sd * static_cast<double>(block_id) / static_cast<double>(total_blocks);
      stage->emplace<MBConv>(bc, drop, o.seed + 100 + static_cast<uint64_t>(block_id), gen, st);
      ++block_id;
    }
    features->add(stage);
  }
  features_ = 4 * stages.back().out;
  features->add(conv_norm_act(stages.back().out, features_, 1, 1, 1, true, gen, st));
  avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(Pair(1)));
  classifier = register_module("classifier", std::make_shared<Sequential>());
  classifier->emplace<Dropout>(o.dropout < 0 ? dropout : o.dropout, o.seed + 1);
  linear_ = std::make_shared<Linear>(features_, o.num_classes, true, gen, Init::none);
  if (o.init) uniform_(linear_->weight, -1 / std::sqrt(double(o.num_classes)), 1 / std::sqrt(double(o.num_classes)), gen);
  classifier->add(linear_);
}

Tensor EfficientNet::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4 && x.size(1) == 3, "{}: input must be [N, 3, H, W], got {}", arch_, x.describe());
  Tensor h = (*features)(x);
  h = flatten((*avgpool)(h), 1);
  return (*classifier)(h);
}

GraphValue EfficientNet::export_graph(GraphBuilder& g, const GraphValue& x) const {
  GraphValue h = g.call("features", *features, x);
  h = export_flatten(g, g.call("avgpool", *avgpool, h));
  return g.call("classifier", *classifier, h);
}

int64_t EfficientNet::num_classes() const { return linear_->weight.size(0); }

void EfficientNet::reset_head(int64_t num_classes, Generator& gen) {
  NN_CHECK(num_classes > 0, "{}: num_classes must be positive, got {}", arch_, num_classes);
  linear_ = std::make_shared<Linear>(features_, num_classes, true, gen, Init::none);
  uniform_(linear_->weight, -1 / std::sqrt(double(num_classes)), 1 / std::sqrt(double(num_classes)), gen);
  classifier->replace(1, linear_);
}

std::shared_ptr<Network> make_efficientnet(const std::string& arch, const ModelOptions& options) {
  struct Variant {
    double width, depth, dropout;
  };
  static const std::map<std::string, Variant> variants = {
      {"efficientnet_b0", {1.0, 1.0, 0.2}}, {"efficientnet_b1", {1.0, 1.1, 0.2}}, {"efficientnet_b2", {1.1, 1.2, 0.3}},
      {"efficientnet_b3", {1.2, 1.4, 0.3}}, {"efficientnet_b4", {1.4, 1.8, 0.4}}, {"efficientnet_b5", {1.6, 2.2, 0.4}},
      {"efficientnet_b6", {1.8, 2.6, 0.5}}, {"efficientnet_b7", {2.0, 3.1, 0.5}}};
  const auto it = variants.find(arch);
  if (it == variants.end()) return nullptr;
  return std::make_shared<EfficientNet>(arch, it->second.width, it->second.depth, it->second.dropout, options);
}

}  // namespace nn
