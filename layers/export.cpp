// Each layer's eval-mode forward() as standard operators (see export.h for the table).
#include "layers/export.h"

#include "kernels/conv2d.h"
#include "kernels/pool2d.h"
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/pool2d.h"

namespace nn {

// --- the builder's path

GraphValue GraphBuilder::call(const std::string& name, const Module& module, const GraphValue& x) {
  path_.push_back(name);
  GraphValue y = module.export_graph(*this, x);
  path_.pop_back();
  return y;
}

std::string GraphBuilder::path() const { return fmt::format("{}", fmt::join(path_, ".")); }

std::string GraphBuilder::path_to(const std::string& leaf) const {
  const std::string p = path();
  return p.empty() ? leaf : p + "." + leaf;
}

GraphValue Module::export_graph(GraphBuilder& g, const GraphValue&) const {
  NN_FAIL("'{}' ({}): this module has no export to standard operators (ONNX), so the model cannot be exported",
          g.path().empty() ? "the model" : g.path(), describe());
}

namespace {

std::vector<int64_t> pads_of(Pair padding) { return {padding.h, padding.w, padding.h, padding.w}; }

void require_nchw(const GraphBuilder& g, const GraphValue& x, const char* what) {
  NN_CHECK(x.shape.size() == 4, "'{}' ({}): input {} is not [N, C, H, W]", g.path(), what, x.shape);
}

}  // namespace

// --- convolution and batch norm

GraphValue Conv2d::export_graph(GraphBuilder& g, const GraphValue& x) const {
  require_nchw(g, x, "Conv2d");
  const Conv2dOptions& o = options_;
  std::vector<std::string> inputs{x.name, g.constant("weight", weight)};
  if (bias.defined()) inputs.push_back(g.constant("bias", bias));
  const int64_t R = weight.size(2), S = weight.size(3);
  const std::array<int64_t, 4> p4 = padding_for(x.shape[2], x.shape[3]);  // 'SAME': from this input's size
  const std::vector<int64_t> pads(p4.begin(), p4.end());
  const std::string y = g.node("Conv", inputs,
                               {{"kernel_shape", std::vector<int64_t>{R, S}},
                                {"strides", std::vector<int64_t>{o.stride.h, o.stride.w}},
                                {"pads", pads},
                                {"dilations", std::vector<int64_t>{o.dilation.h, o.dilation.w}},
                                {"group", o.groups}});
  // ONNX pads are [top, left, bottom, right], as padding_for's
  const int64_t H = x.shape[2] + pads[0] + pads[2], W = x.shape[3] + pads[1] + pads[3];
  return {y, Shape{x.shape[0], weight.size(0), conv2d_output_size(H, R, o.stride.h, 0, o.dilation.h),
                   conv2d_output_size(W, S, o.stride.w, 0, o.dilation.w)}};
}

GraphValue BatchNorm2d::export_graph(GraphBuilder& g, const GraphValue& x) const {
  require_nchw(g, x, "BatchNorm2d");
  NN_CHECK(x.shape[1] == running_mean.size(0), "'{}' (BatchNorm2d): input {} has not {} channels", g.path(), x.shape,
           running_mean.size(0));
  const int64_t C = running_mean.size(0);
  const std::string scale = g.constant("weight", weight.defined() ? weight : ones({C}));
  const std::string shift = g.constant("bias", bias.defined() ? bias : zeros({C}));
  const std::string y = g.node("BatchNormalization",
                               {x.name, scale, shift, g.constant("running_mean", running_mean),
                                g.constant("running_var", running_var)},
                               {{"epsilon", static_cast<float>(eps_)}});
  return {y, x.shape};
}

GraphValue export_conv_run(GraphBuilder& g, const Conv2d& conv, const BatchNorm2d* bn, const ReLU* relu,
                           const GraphValue& x, const std::array<std::string, 3>& names) {
  GraphValue h;
  if (bn && g.fold_batch_norm) {
    // bn(W x + b) = scale (W x) + shift: one Conv with weights scale W and bias shift, folded in float64.
    const int64_t K = conv.weight.size(0);
    const BatchNormEval stats = bn->eval_stats();
    const ChannelAffine fold = fold_batch_norm(&stats, conv.bias, K);
    std::vector<double> w = conv.weight.to_vector<double>();
    const int64_t per_k = static_cast<int64_t>(w.size()) / K;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < per_k; ++i) w[k * per_k + i] *= fold.scale[k];
    Generator unused(0);
    Conv2d folded(conv.weight.size(1) * conv.options().groups, K, Pair(conv.weight.size(2), conv.weight.size(3)),
                  conv.options(), true, unused, Init::none);
    folded.weight = from_vector(w, conv.weight.shape());
    folded.bias = from_vector(fold.shift, Shape{K});
    if (conv.same_padding()) folded.set_same_padding();
    h = g.call(names[0], folded, x);
  } else {
    h = g.call(names[0], conv, x);
    if (bn) h = g.call(names[1], *bn, h);
  }
  if (relu) h = g.call(names[2], *relu, h);
  return h;
}

// --- activations, dropout, flatten

GraphValue ReLU::export_graph(GraphBuilder& g, const GraphValue& x) const { return {g.node("Relu", {x.name}), x.shape}; }

GraphValue SiLU::export_graph(GraphBuilder& g, const GraphValue& x) const {
  return {g.node("Mul", {x.name, g.node("Sigmoid", {x.name})}), x.shape};
}

GraphValue Sigmoid::export_graph(GraphBuilder& g, const GraphValue& x) const {
  return {g.node("Sigmoid", {x.name}), x.shape};
}

GraphValue Dropout::export_graph(GraphBuilder&, const GraphValue& x) const { return x; }  // identity in eval

GraphValue StochasticDepth::export_graph(GraphBuilder&, const GraphValue& x) const { return x; }  // likewise

GraphValue export_flatten(GraphBuilder& g, const GraphValue& x) {
  NN_CHECK(x.shape.size() >= 2, "'{}': cannot flatten {}", g.path(), x.shape);
  int64_t features = 1;
  for (int d = 1; d < x.shape.size(); ++d) features *= x.shape[d];
  return {g.node("Flatten", {x.name}, {{"axis", int64_t{1}}}), Shape{x.shape[0], features}};
}

GraphValue Flatten::export_graph(GraphBuilder& g, const GraphValue& x) const {
  const int64_t ndim = static_cast<int64_t>(x.shape.size());
  NN_CHECK(start_ == 1 && (end_ == -1 || end_ == ndim - 1),
           "'{}' (Flatten(start_dim={}, end_dim={})): only flattening to [N, features] has an ONNX Flatten", g.path(),
           start_, end_);
  return export_flatten(g, x);
}

// --- pooling

namespace {

// ONNX's output length with ceil_mode (no rule about windows that start in the padding, unlike PyTorch's).
int64_t onnx_pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode) {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  return (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
}

// The ceil_mode attribute to write: 0 when ceil and floor agree here, 1 when PyTorch's and ONNX's ceil agree
// (`exact`: also when the last window would hold only padding cells, where averaging would differ).
int64_t export_ceil_mode(const GraphBuilder& g, const char* what, const Shape& in, Pair kernel, Pair stride, Pair pad,
                         Pair dilation, bool ceil_mode, bool exact) {
  if (!ceil_mode) return 0;
  const auto torch_h = pool_output_size(in[2], kernel.h, stride.h, pad.h, dilation.h, true);
  const auto torch_w = pool_output_size(in[3], kernel.w, stride.w, pad.w, dilation.w, true);
  if (torch_h == pool_output_size(in[2], kernel.h, stride.h, pad.h, dilation.h, false) &&
      torch_w == pool_output_size(in[3], kernel.w, stride.w, pad.w, dilation.w, false))
    return 0;
  NN_CHECK(!exact && torch_h == onnx_pool_output_size(in[2], kernel.h, stride.h, pad.h, dilation.h, true) &&
               torch_w == onnx_pool_output_size(in[3], kernel.w, stride.w, pad.w, dilation.w, true),
           "'{}' ({} with ceil_mode on input {}): ONNX's ceil_mode windows differ from PyTorch's here", g.path(), what, in);
  return 1;
}

}  // namespace

GraphValue MaxPool2d::export_graph(GraphBuilder& g, const GraphValue& x) const {
  require_nchw(g, x, "MaxPool2d");
  const MaxPool2dOptions& o = options_;
  const Pair stride = o.stride.value_or(o.kernel_size);
  const int64_t ceil = export_ceil_mode(g, "MaxPool2d", x.shape, o.kernel_size, stride, o.padding, o.dilation, o.ceil_mode, false);
  const std::string y = g.node("MaxPool", {x.name},
                               {{"kernel_shape", std::vector<int64_t>{o.kernel_size.h, o.kernel_size.w}},
                                {"strides", std::vector<int64_t>{stride.h, stride.w}},
                                {"pads", pads_of(o.padding)},
                                {"dilations", std::vector<int64_t>{o.dilation.h, o.dilation.w}},
                                {"ceil_mode", ceil}});
  return {y, Shape{x.shape[0], x.shape[1],
                   pool_output_size(x.shape[2], o.kernel_size.h, stride.h, o.padding.h, o.dilation.h, o.ceil_mode),
                   pool_output_size(x.shape[3], o.kernel_size.w, stride.w, o.padding.w, o.dilation.w, o.ceil_mode)}};
}

GraphValue AvgPool2d::export_graph(GraphBuilder& g, const GraphValue& x) const {
  require_nchw(g, x, "AvgPool2d");
  const AvgPool2dOptions& o = options_;
  const Pair stride = o.stride.value_or(o.kernel_size);
  const int64_t ceil = export_ceil_mode(g, "AvgPool2d", x.shape, o.kernel_size, stride, o.padding, Pair(1), o.ceil_mode, true);
  const Shape out{x.shape[0], x.shape[1], pool_output_size(x.shape[2], o.kernel_size.h, stride.h, o.padding.h, 1, o.ceil_mode),
                  pool_output_size(x.shape[3], o.kernel_size.w, stride.w, o.padding.w, 1, o.ceil_mode)};
  if (o.count_include_pad && (o.padding.h > 0 || o.padding.w > 0) && ceil == 0) {
    // Every window then holds R*S cells, padding included: a depthwise convolution with weights 1/(R*S) and
    // zero padding computes it (to rounding). Written so because OpenCV DNN 4.6 ignores AveragePool's
    // count_include_pad and always leaves padding out (torchvision's Inception-v3 pools include it).
    const int64_t C = x.shape[1], cells = o.kernel_size.h * o.kernel_size.w;
    const std::string w = g.constant("mean_weight", full({C, 1, o.kernel_size.h, o.kernel_size.w}, 1.0 / static_cast<double>(cells)));
    return {g.node("Conv", {x.name, w},
                   {{"kernel_shape", std::vector<int64_t>{o.kernel_size.h, o.kernel_size.w}},
                    {"strides", std::vector<int64_t>{stride.h, stride.w}},
                    {"pads", pads_of(o.padding)},
                    {"group", C}}),
            out};
  }
  const std::string y = g.node("AveragePool", {x.name},
                               {{"kernel_shape", std::vector<int64_t>{o.kernel_size.h, o.kernel_size.w}},
                                {"strides", std::vector<int64_t>{stride.h, stride.w}},
                                {"pads", pads_of(o.padding)},
                                {"count_include_pad", int64_t{o.count_include_pad ? 1 : 0}},
                                {"ceil_mode", ceil}});
  return {y, out};
}

GraphValue AdaptiveAvgPool2d::export_graph(GraphBuilder& g, const GraphValue& x) const {
  require_nchw(g, x, "AdaptiveAvgPool2d");
  const int64_t H = x.shape[2], W = x.shape[3], P = output_size_.h, Q = output_size_.w;
  const Shape out{x.shape[0], x.shape[1], P, Q};
  if (P == 1 && Q == 1) return {g.node("GlobalAveragePool", {x.name}), out};
  if (P == H && Q == W) return x;  // each output cell averages one input cell
  // Output row p averages rows [floor(p H / P), ceil((p + 1) H / P)): a fixed window exactly when P divides H.
  NN_CHECK(H % P == 0 && W % Q == 0,
           "'{}' (AdaptiveAvgPool2d to {}x{}): its input here is {}x{}, not a multiple of the output, so its windows "
           "vary in size and no ONNX operator computes it; export at an input size that gives a multiple (e.g. the "
           "weights' own: 224 for VGG)",
           g.path(), P, Q, H, W);
  const std::string y = g.node("AveragePool", {x.name},
                               {{"kernel_shape", std::vector<int64_t>{H / P, W / Q}},
                                {"strides", std::vector<int64_t>{H / P, W / Q}}});
  return {y, out};
}

// --- linear

GraphValue Linear::export_graph(GraphBuilder& g, const GraphValue& x) const {
  NN_CHECK(x.shape.size() == 2 && x.shape[1] == weight.size(1), "'{}' (Linear): input {} is not [N, {}]", g.path(),
           x.shape, weight.size(1));
  std::vector<std::string> inputs{x.name, g.constant("weight", weight)};
  if (bias.defined()) inputs.push_back(g.constant("bias", bias));
  return {g.node("Gemm", inputs, {{"transB", int64_t{1}}}), Shape{x.shape[0], weight.size(0)}};
}

// --- containers

GraphValue Sequential::export_graph(GraphBuilder& g, const GraphValue& x) const {
  GraphValue h = x;
  const auto& c = children();
  for (size_t i = 0; i < c.size(); ++i) {
    const auto* conv = dynamic_cast<const Conv2d*>(c[i].second.get());
    const auto* bn = i + 1 < c.size() ? dynamic_cast<const BatchNorm2d*>(c[i + 1].second.get()) : nullptr;
    if (conv && bn && g.fold_batch_norm) {  // the same runs fuse_for_inference finds, without the ReLU
      h = export_conv_run(g, *conv, bn, nullptr, h, {c[i].first, c[i + 1].first, ""});
      ++i;
      continue;
    }
    h = g.call(c[i].first, *c[i].second, h);
  }
  return h;
}

}  // namespace nn
