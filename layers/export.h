// Writing a model as a graph of standard operators (ONNX; the file format is weights/onnx.h).
//
// Export walks the module tree, not a traced run: each module writes the operators its eval-mode forward()
// computes, through Module::export_graph, and returns the value it produced. A container writes its
// children in the order its forward() calls them (Sequential: in order; ResNet's blocks: the two branches
// and the Add), so the graph is the code read aloud:
//
//   Conv2d            -> Conv(x, weight[, bias])            kernel_shape, strides, pads, dilations, group
//   BatchNorm2d       -> BatchNormalization(x, scale, B, mean, var)   epsilon (eval mode: running stats)
//                        or folded into the Conv before it (GraphBuilder::fold_batch_norm, `--fuse-bn`)
//   ReLU              -> Relu
//   MaxPool2d         -> MaxPool                             AvgPool2d -> AveragePool (count_include_pad), or
//                        a depthwise Conv with weights 1/(R*S) when padded cells count (OpenCV DNN 4.6
//                        ignores count_include_pad and always leaves them out)
//   AdaptiveAvgPool2d -> GlobalAveragePool (to 1x1), nothing (to its own size), AveragePool (an integer
//                        ratio); any other ratio has no ONNX equivalent and is an error, as in torch.onnx
//   Flatten           -> Flatten(axis = start_dim) when it flattens to 2-D
//   Linear            -> Gemm(x, weight, bias, transB = 1)
//   Dropout           -> nothing (identity in eval)
//
// A module without an export (the default) is an error naming its path in the model, never a graph that
// computes something else. Values carry their shape (the batch taken as `batch`, symbolic in the file when
// dynamic), so pooling and flattening check what they can express.
#pragma once

#include <array>
#include <string>
#include <variant>
#include <vector>

#include "layers/module.h"

namespace nn {

class Conv2d;
class BatchNorm2d;
class ReLU;

// A value of the graph: the name of the tensor in the file, and its shape.
struct GraphValue {
  std::string name;
  Shape shape;
};

// An operator attribute: integer, float, string, or a list of integers or floats.
using AttributeValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>>;
struct Attribute {
  std::string name;
  AttributeValue value;
};

// The receiving end of an export (weights/onnx.cpp writes ONNX from it). It keeps the path of the module
// being written ("layer1.0.conv1"), from which constants and nodes are named: a constant is named by its
// state-dict key ("layer1.0.conv1.weight"), as torch.onnx names initializers.
class GraphBuilder {
 public:
  virtual ~GraphBuilder() = default;

  // Adds operator `op` (default ONNX domain) with `inputs` and `attributes`; returns its output value's name.
  virtual std::string node(const std::string& op, const std::vector<std::string>& inputs,
                           const std::vector<Attribute>& attributes = {}) = 0;
  // A constant tensor (written as float32) named `key` under the current module path; returns its name.
  virtual std::string constant(const std::string& key, const Tensor& value) = 0;

  // Writes `module`, the child `name` of the module being written, applied to `x`.
  GraphValue call(const std::string& name, const Module& module, const GraphValue& x);
  // The dotted path of the module being written ("" at the top).
  std::string path() const;
  // A name for something under the current path: path() + "." + leaf.
  std::string path_to(const std::string& leaf) const;

  // Fold each eval-mode batch norm into the convolution before it (one Conv with adjusted weights and bias).
  bool fold_batch_norm = false;

 private:
  std::vector<std::string> path_;
};

// conv, then bn and relu when not null (the children `names` of the module being written): a Conv, a
// BatchNormalization (or the two folded into one Conv) and a Relu. Sequential and ResNet's runs use it.
GraphValue export_conv_run(GraphBuilder& g, const Conv2d& conv, const BatchNorm2d* bn, const ReLU* relu,
                           const GraphValue& x, const std::array<std::string, 3>& names);

// Flatten(axis = 1) of a value: [N, C, H, W] -> [N, C*H*W]; what a model's forward does between its pooling
// and its classifier with nn::flatten(x, 1).
GraphValue export_flatten(GraphBuilder& g, const GraphValue& x);

}  // namespace nn
