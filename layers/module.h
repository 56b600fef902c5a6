// Module: the building block of networks, as torch.nn.Module.
//
// A module owns parameters (trainable tensors), buffers (state such as batch norm's running statistics)
// and child modules, each registered under a name. Names join with dots along the tree, so a ResNet's
// first convolution weight is "conv1.weight" and a block's is "layer1.0.conv1.weight": exactly the keys
// of torchvision's state dict, which is how weights are loaded and saved (weights/load.h).
//
// Parameters are leaf tensors with requires_grad. Freezing a prefix turns requires_grad off, so those
// parameters get no gradient, their ops skip the weight-gradient computation, and optimisers (which
// take parameters(Trainable::only)) keep no state for them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/ops.h"

namespace nn {

struct GraphValue;   // layers/export.h
class GraphBuilder;

enum class Trainable { all, only };

class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;  // parameters are registered by address
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  // The computation. Call modules through operator(), which also feeds summaries (layers/summary.h).
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);

  virtual const char* type_name() const = 0;  // "Conv2d"
  virtual std::string describe() const { return type_name(); }  // "Conv2d(3, 64, kernel=3x3, stride=1, padding=1)"
  // Floating-point operations of one forward from an input of shape `in` to `out` (leaf modules; for
  // summaries): a multiply-add counts 2.
  virtual double flops(const Shape& in, const Shape& out) const;
  // Writes the operators of the eval-mode forward() applied to `x` into `g` (ONNX export, layers/export.h);
  // returns the value it computes. The default is an error: a module exports only what it says it computes.
  virtual GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const;

  // --- structure, in registration order (the order of torchvision's state dict)
  std::vector<std::pair<std::string, Tensor>> named_parameters(Trainable which = Trainable::all) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Parameters and buffers of each module, depth first: the keys and order of torch's state_dict().
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  std::vector<Tensor> parameters(Trainable which = Trainable::all) const;
  std::vector<std::pair<std::string, Module*>> named_modules();  // pre-order; "" is this module
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  int64_t num_parameters(Trainable which = Trainable::all) const;

  // Converts every floating parameter and buffer to `dtype` (e.g. f64 for gradient checks), keeping
  // names, requires_grad and registration; integer buffers stay as they are.
  void to(DType dtype);
  // Moves every parameter and buffer to `device` (all of them, integer buffers included), keeping names,
  // requires_grad and registration: model.to(Device::cuda()) before feeding it CUDA batches.
  void to(Device device);
  Device device() const;  // where the first parameter lives (cpu for a module without parameters)

  // --- modes
  void train(bool on = true);  // recursively; batch norm and dropout read it
  void eval() { train(false); }
  bool training() const { return training_; }

  // Stops (freeze) or restarts (unfreeze) gradients for every parameter whose dotted name starts with
  // `prefix` ("" = all); returns how many tensors changed state. A prefix that names no parameter is an
  // error listing the top-level names.
  int64_t freeze(const std::string& prefix = "");
  int64_t unfreeze(const std::string& prefix = "");

 protected:
  // Inference fusion (layers/fused.h): fuse_for_inference calls this on every module of the tree. A module
  // whose forward() runs Conv2d [BatchNorm2d] [ReLU] children one after another overrides it to run each
  // such run through one FusedConv2d; its children stay registered as they are.
  virtual void fuse_runs() {}
  friend void fuse_for_inference(Module& model);

  // Registration: `tensor` must be a member of the derived module (it is kept by address).
  void register_parameter(std::string name, Tensor* tensor);
  void register_buffer(std::string name, Tensor* tensor);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }
  // Replaces a registered child (e.g. a classifier head) keeping its place in the order.
  void replace_module(const std::string& name, std::shared_ptr<Module> module);

 private:
  void add_child(std::string name, std::shared_ptr<Module> module);
  int64_t set_requires_grad(const std::string& prefix, bool value, const char* op);

  std::vector<std::pair<std::string, Tensor*>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A chain of modules named "0", "1", ... (torch.nn.Sequential). forward() runs its steps in order: the
// children, or after fuse_for_inference (layers/fused.h) a FusedConv2d in place of each Conv2d
// [BatchNorm2d] [ReLU] run of them.
class Sequential final : public Module {
 public:
  Sequential() = default;
  Sequential& add(std::shared_ptr<Module> module);  // named by its index, "0", "1", ...
  Sequential& add(const std::string& name, std::shared_ptr<Module> module);  // nn.Sequential(OrderedDict)
  template <class M, class... Args>
  Sequential& emplace(Args&&... args) {
    return add(std::make_shared<M>(std::forward<Args>(args)...));
  }
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const { return *children()[i].second; }
  // Replaces child i; a fused Sequential fuses its runs again (the old child may have run inside one).
  void replace(size_t i, std::shared_ptr<Module> module);

  Tensor forward(const Tensor& x) override;
  const char* type_name() const override { return "Sequential"; }
  GraphValue export_graph(GraphBuilder& g, const GraphValue& x) const override;  // layers/export.cpp

 protected:
  void fuse_runs() override;

 private:
  std::vector<std::shared_ptr<Module>> steps_;  // what forward() runs (see above)
};

// Eval mode for a scope: the module's mode (train or eval) is restored when the guard ends, also when an
// exception leaves the scope. For passes that must not change batch-norm statistics or drop activations
// (summaries, evaluation, Grad-CAM) on a model that may be in the middle of training.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(Module& model) : model_(model), was_training_(model.training()) { model.eval(); }
  ~EvalModeGuard() { model_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  Module& model_;
  bool was_training_;
};

// A forward hook (torch's register_forward_hook), scoped and per thread: while it lives, every call of
// `target` through operator() on this thread passes the module's output through `fn`, and what `fn` returns
// replaces it. Grad-CAM (models/gradcam.h) uses one to turn a layer's output into a leaf whose gradient it
// reads. A FusedConv2d (layers/fused.h) whose convolution, batch norm or ReLU is hooked runs them one by one,
// so the hooked module really runs.
class ForwardHook {
 public:
  ForwardHook(const Module& target, std::function<Tensor(const Tensor&)> fn);
  ~ForwardHook();
  ForwardHook(const ForwardHook&) = delete;
  ForwardHook& operator=(const ForwardHook&) = delete;

  static bool hooked(const Module* module);  // some live hook on this thread targets `module`
  static Tensor apply(const Module& module, Tensor output);  // Module::operator() calls this

 private:
  const Module* target_;
  std::function<Tensor(const Tensor&)> fn_;
};

}  // namespace nn
