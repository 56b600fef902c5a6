// Inception-v3 (see inception_v3.h). The blocks are Branches (models/branches.h) with torchvision's flat
// names. Initialisation as torchvision: every convolution and linear weight truncated normal, std 0.1
// (0.01 for the auxiliary 5x5 convolution, 0.001 for its fc), within [-2, 2]; linear biases PyTorch's
// default; batch norm 1 and 0. The Keras flavour initialises as Keras: glorot_uniform, zero biases.
#include "models/inception_v3.h"

#include "layers/activation.h"
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

// The network's convolution units (models/conv_block.h) as named steps of a branch, and its pools.
struct Units {
  ConvUnits unit;
  bool keras = false;

  Step conv(const std::string& name, int64_t in, int64_t out, Pair kernel, Pair stride = 1, Pair padding = 0,
            double std = 0.1) const {
    return {name, unit(in, out, kernel, stride, padding, std)};
  }
  // The 3x3/1 average pool before a mixed block's pool branch: torchvision's F.avg_pool2d(x, 3, 1, 1)
  // counts padded cells; Keras' AveragePooling2D(padding='same') does not. A function in torchvision,
  // so unregistered.
  Step avg_pool() const {
    return {"avg_pool",
            std::make_shared<AvgPool2d>(AvgPool2dOptions{.kernel_size = 3, .stride = Pair(1), .padding = 1,
                                                         .count_include_pad = !keras}),
            false};
  }
  static Step max_pool() {
    return {"max_pool", std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel_size = 3, .stride = Pair(2)}), false};
  }
};

std::shared_ptr<Module> inception_a(const Units& u, int64_t in, int64_t pool_features) {
  return std::make_shared<Branches>(
      "InceptionA", std::vector<Branch>{
                        {{u.conv("branch1x1", in, 64, 1)}},
                        {{u.conv("branch5x5_1", in, 48, 1), u.conv("branch5x5_2", 48, 64, 5, 1, 2)}},
                        {{u.conv("branch3x3dbl_1", in, 64, 1), u.conv("branch3x3dbl_2", 64, 96, 3, 1, 1),
                          u.conv("branch3x3dbl_3", 96, 96, 3, 1, 1)}},
                        {{u.avg_pool(), u.conv("branch_pool", in, pool_features, 1)}},
                    });
}

std::shared_ptr<Module> inception_b(const Units& u, int64_t in) {
  return std::make_shared<Branches>(
      "InceptionB", std::vector<Branch>{
                        {{u.conv("branch3x3", in, 384, 3, 2)}},
                        {{u.conv("branch3x3dbl_1", in, 64, 1), u.conv("branch3x3dbl_2", 64, 96, 3, 1, 1),
                          u.conv("branch3x3dbl_3", 96, 96, 3, 2)}},
                        {{Units::max_pool()}},
                    });
}

std::shared_ptr<Module> inception_c(const Units& u, int64_t in, int64_t c7) {
  const Pair k17(1, 7), k71(7, 1), p17(0, 3), p71(3, 0);
  return std::make_shared<Branches>(
      "InceptionC",
      std::vector<Branch>{
          {{u.conv("branch1x1", in, 192, 1)}},
          {{u.conv("branch7x7_1", in, c7, 1), u.conv("branch7x7_2", c7, c7, k17, 1, p17),
            u.conv("branch7x7_3", c7, 192, k71, 1, p71)}},
          {{u.conv("branch7x7dbl_1", in, c7, 1), u.conv("branch7x7dbl_2", c7, c7, k71, 1, p71),
            u.conv("branch7x7dbl_3", c7, c7, k17, 1, p17), u.conv("branch7x7dbl_4", c7, c7, k71, 1, p71),
            u.conv("branch7x7dbl_5", c7, 192, k17, 1, p17)}},
          {{u.avg_pool(), u.conv("branch_pool", in, 192, 1)}},
      });
}

std::shared_ptr<Module> inception_d(const Units& u, int64_t in) {
  return std::make_shared<Branches>(
      "InceptionD",
      std::vector<Branch>{
          {{u.conv("branch3x3_1", in, 192, 1), u.conv("branch3x3_2", 192, 320, 3, 2)}},
          {{u.conv("branch7x7x3_1", in, 192, 1), u.conv("branch7x7x3_2", 192, 192, Pair(1, 7), 1, Pair(0, 3)),
            u.conv("branch7x7x3_3", 192, 192, Pair(7, 1), 1, Pair(3, 0)), u.conv("branch7x7x3_4", 192, 192, 3, 2)}},
          {{Units::max_pool()}},
      });
}

std::shared_ptr<Module> inception_e(const Units& u, int64_t in) {
  const Pair k13(1, 3), k31(3, 1), p13(0, 1), p31(1, 0);
  return std::make_shared<Branches>(
      "InceptionE",
      std::vector<Branch>{
          {{u.conv("branch1x1", in, 320, 1)}},
          {{u.conv("branch3x3_1", in, 384, 1)},
           {u.conv("branch3x3_2a", 384, 384, k13, 1, p13), u.conv("branch3x3_2b", 384, 384, k31, 1, p31)}},
          {{u.conv("branch3x3dbl_1", in, 448, 1), u.conv("branch3x3dbl_2", 448, 384, 3, 1, 1)},
           {u.conv("branch3x3dbl_3a", 384, 384, k13, 1, p13), u.conv("branch3x3dbl_3b", 384, 384, k31, 1, p31)}},
          {{u.avg_pool(), u.conv("branch_pool", in, 192, 1)}},
      });
}

// A classifier: torchvision sets only its weight (truncated normal, `std`) and keeps PyTorch's default bias.
std::shared_ptr<Linear> make_fc(int64_t in, int64_t out, ConvInit init, Generator& gen) {
  auto fc = std::make_shared<Linear>(in, out, true, gen, Init::none);
  init_layer(fc->weight, fc->bias, init, gen, /*keep_bias_default=*/init.kind == ConvInit::trunc_normal);
  return fc;
}

const ConvInit kTorchvisionInit{ConvInit::trunc_normal, 0.1};

}  // namespace

// torchvision's transform_input: ImageNet-normalised input re-normalised to (x/255 - 0.5)/0.5, channel by
// channel: x * std_c/0.5 + (mean_c - 0.5)/0.5. A function in torchvision, so unregistered here.
class InputTransform final : public Module {
 public:
  Tensor forward(const Tensor& x) override {
    if (!scale_.defined() || scale_.dtype() != x.dtype() || scale_.device() != x.device()) {  // once per dtype/device
      scale_ = from_vector<double>({kScale[0], kScale[1], kScale[2]}, {1, 3, 1, 1}).to(x.dtype()).to(x.device());
      shift_ = from_vector<double>({kShift[0], kShift[1], kShift[2]}, {1, 3, 1, 1}).to(x.dtype()).to(x.device());
    }
    return add(mul(x, scale_), shift_);
  }
  const char* type_name() const override { return "InputTransform"; }
  // As a 1x1 convolution with a diagonal weight: exact (the off-diagonal products are zeros), and what
  // OpenCV DNN runs correctly on a graph input, where it cannot broadcast a [1, 3, 1, 1] Mul.
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override {
    std::vector<double> diagonal(9, 0.0);
    for (int c = 0; c < 3; ++c) diagonal[c * 4] = kScale[c];
    const std::string w = g.constant("weight", from_vector<double>(diagonal, {3, 3, 1, 1}));
    const std::string b = g.constant("bias", from_vector<double>({kShift[0], kShift[1], kShift[2]}, {3}));
    return {g.node("Conv", {x.name, w, b}, {{"kernel_shape", std::vector<int64_t>{1, 1}}}), x.shape};
  }

 private:
  Tensor scale_, shift_;  // [1, 3, 1, 1] in the input's dtype and on its device
  static constexpr double kScale[3] = {0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5};
  static constexpr double kShift[3] = {(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5};
};

// The auxiliary classifier on Mixed_6e's 17x17x768 map: avgpool 5/3 -> 5x5, conv0 1x1 128, conv1 5x5 768
// -> 1x1, fc. It needs a map of at least 17x17, i.e. an input of about 299x299.
class InceptionAux final : public Module {
 public:
  InceptionAux(const ConvUnits& u, int64_t in, int64_t num_classes) {
    conv0_ = register_module("conv0", u(in, 128, 1));
    conv1_ = register_module("conv1", u(128, 768, 5, 1, 0, 0.01));
    fc_ = register_module("fc", make_fc(768, num_classes, u.with_std(0.001), u.gen));
  }
  Tensor forward(const Tensor& x) override {
    NN_CHECK(x.size(2) >= 17 && x.size(3) >= 17,
             "inception_v3: the auxiliary classifier needs Mixed_6e's map to be at least 17x17 (an input of about "
             "299x299), got {}; train at 299 px or turn it off (model.aux_weight = 0)", x.describe());
    Tensor h = avg_pool2d(x, {.kernel_size = 5, .stride = Pair(3)});
    h = (*conv0_)(h);
    h = (*conv1_)(h);
    h = flatten(adaptive_avg_pool2d(h, 1), 1);
    return (*fc_)(h);
  }
  const char* type_name() const override { return "InceptionAux"; }
  void reset_head(int64_t num_classes, ConvInit init, Generator& gen) {
    fc_ = make_fc(768, num_classes, init, gen);
    replace_module("fc", fc_);
  }
  const Linear& fc() const { return *fc_; }

 private:
  std::shared_ptr<Module> conv0_, conv1_;
  std::shared_ptr<Linear> fc_;
};

InceptionV3::InceptionV3(const ModelOptions& o) : keras_(o.flavour == "keras") {
  NN_CHECK(o.num_classes > 0, "inception_v3: num_classes must be positive, got {}", o.num_classes);
  NN_CHECK(o.flavour.empty() || keras_, "inception_v3: unknown flavour '{}' (torchvision's, or keras)", o.flavour);
  NN_CHECK(!(keras_ && o.transform_input), "inception_v3: the Keras flavour has no input transform (Keras weights "
           "expect x/127.5 - 1, which their preprocessing gives)");
  if (o.transform_input) input_transform_ = std::make_shared<InputTransform>();
  Generator gen(o.seed);
  const Units u{.unit = ConvUnits(keras_, kTorchvisionInit, o.init, gen), .keras = keras_};
  const char* stem_names[] = {"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1",
                              "Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2"};
  const auto pool = [] { return std::make_shared<MaxPool2d>(MaxPool2dOptions{.kernel_size = 3, .stride = Pair(2)}); };
  std::shared_ptr<Module> stem[] = {u.conv("", 3, 32, 3, 2).module,  u.conv("", 32, 32, 3).module,
                                    u.conv("", 32, 64, 3, 1, 1).module, pool(),
                                    u.conv("", 64, 80, 1).module,       u.conv("", 80, 192, 3).module,
                                    pool()};
  for (int i = 0; i < 7; ++i) stem_[i] = register_module(stem_names[i], stem[i]);
  const char* mixed_names[] = {"Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c",
                               "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"};
  std::shared_ptr<Module> mixed[] = {inception_a(u, 192, 32), inception_a(u, 256, 64), inception_a(u, 288, 64),
                                     inception_b(u, 288),     inception_c(u, 768, 128), inception_c(u, 768, 160),
                                     inception_c(u, 768, 160), inception_c(u, 768, 192), inception_d(u, 768),
                                     inception_e(u, 1280),    inception_e(u, 2048)};
  for (int i = 0; i < 11; ++i) {
    mixed_[i] = register_module(mixed_names[i], mixed[i]);
    if (i == 7 && o.aux_logits && !keras_)  // torchvision registers AuxLogits after Mixed_6e; Keras has none
      aux_head_ = register_module("AuxLogits", std::make_shared<InceptionAux>(u.unit, 768, o.num_classes));
  }
  avgpool_ = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(Pair(1)));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout < 0 ? 0.5 : o.dropout, o.seed + 1));
  fc_ = register_module("fc", make_fc(2048, o.num_classes, u.unit.with_std(0.1), gen));
}

Tensor InceptionV3::forward(const Tensor& x) {
  NN_CHECK(x.ndim() == 4 && x.size(1) == 3, "inception_v3: input must be [N, 3, H, W], got {}", x.describe());
  NN_CHECK(x.size(2) >= 75 && x.size(3) >= 75, "inception_v3: input must be at least 75x75 (299x299 is native), got {}",
           x.describe());
  aux_ = Tensor();
  Tensor h = x;
  if (input_transform_) h = (*input_transform_)(h);
  // One statement per layer, so an activation nothing saved is freed at once (see ResNet::forward).
  for (const auto& m : stem_) h = (*m)(h);
  for (int i = 0; i < 11; ++i) {
    h = (*mixed_[i])(h);
    if (i == 7 && aux_head_ && aux_on_ && training()) aux_ = (*aux_head_)(h);
  }
  h = (*avgpool_)(h);
  h = (*dropout_)(h);
  h = flatten(h, 1);
  return (*fc_)(h);
}

GraphValue InceptionV3::export_graph(GraphBuilder& g, const GraphValue& x) const {
  GraphValue h = x;
  if (input_transform_) h = g.call("input_transform", *input_transform_, h);
  const auto& c = children();
  for (const auto& [name, m] : c) {
    if (name == "AuxLogits" || name == "fc") continue;  // no auxiliary output in eval; fc after the flatten
    h = g.call(name, *m, h);
    if (name == "avgpool") h = export_flatten(g, h);
  }
  return g.call("fc", *fc_, h);
}

std::vector<std::string> InceptionV3::head_names() const {
  if (aux_head_) return {"fc", "AuxLogits.fc"};
  return {"fc"};
}

int64_t InceptionV3::num_classes() const { return fc_->weight.size(0); }

void InceptionV3::reset_head(int64_t num_classes, Generator& gen) {
  NN_CHECK(num_classes > 0, "inception_v3: num_classes must be positive, got {}", num_classes);
  const ConvUnits u(keras_, kTorchvisionInit, true, gen);
  fc_ = make_fc(2048, num_classes, u.with_std(0.1), gen);
  replace_module("fc", fc_);
  if (aux_head_) aux_head_->reset_head(num_classes, u.with_std(0.001), gen);
}

std::shared_ptr<Network> make_inception_v3(const std::string& arch, const ModelOptions& options) {
  if (arch != "inception_v3") return nullptr;
  return std::make_shared<InceptionV3>(options);
}

}  // namespace nn
