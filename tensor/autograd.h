// Autograd: a define-by-run graph of Nodes, and the engine that walks it backwards.
//
// Every differentiable op that sees an input requiring grad (with grad mode on) creates one Node: it
// holds the tensors its backward needs (SavedTensor) and one edge per input, pointing at the node that
// made that input, at the accumulator of a leaf, or at nothing when that input needs no gradient.
// The output tensor points back at the node (grad_fn). backward() orders the reachable nodes
// topologically with an explicit stack (no recursion, so deep graphs cannot overflow the C++ stack),
// runs each once with the sum of its incoming gradients, accumulates into the leaves' .grad, and then
// releases every node's saved tensors so activations return to the allocator.
//
// Saved tensors are stored detached (no grad_fn), so an output saved by its own node makes no cycle.
// Higher-order gradients (backward of backward) are not supported: backward runs with grad mode off.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "tensor/profile.h"
#include "tensor/tensor.h"

namespace nn {

struct Node {
  // Destroys the nodes this one alone keeps alive iteratively, so freeing a graph 10^5 nodes deep
  // does not recurse 10^5 destructors deep.
  virtual ~Node();
  virtual const char* name() const = 0;
  // The gradient for each input given the gradient of the output; an undefined tensor means "none".
  // Only inputs with needs_input_grad(i) need one.
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  // Drops saved tensors. Called after the node ran unless backward() was asked to retain the graph.
  virtual void release() {}

  bool needs_input_grad(size_t i) const { return i < next.size() && next[i] != nullptr; }

  std::vector<std::shared_ptr<Node>> next;  // one per input; null where the input needs no gradient
  Shape output_shape;                       // incoming gradients must have this shape...
  DType output_dtype = DType::f32;          // ...and this dtype
  uint64_t sequence = 0;                    // creation order; among ready nodes, the newest runs first
  int profile_layer = -1;                   // the layer that made it, while profiling (tensor/profile.h)
  bool released = false;
};

// A tensor a node keeps for backward, with the storage version at save time: if an in-place write
// changes it before backward, get() reports it instead of returning wrong gradients.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor get(const Node& owner) const;  // the saved tensor, or an error naming `owner`
  void reset() { tensor_ = Tensor(); }
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
};

// Grad mode is per thread and on by default; NoGradGuard turns it off for a scope.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when grad mode is on and some defined input requires grad: the op must record a node.
bool needs_grad(std::span<const Tensor* const> inputs);
inline bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  return needs_grad(std::span(inputs.begin(), inputs.size()));
}

// Where the gradient of `t` goes: its grad_fn, the accumulator of a leaf that requires grad, or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

// Makes a node for an op with these inputs when one is needed (see needs_grad), else returns null.
// Undefined inputs (e.g. a missing bias) get a null edge.
template <class N>
std::shared_ptr<N> new_node(std::span<const Tensor* const> inputs) {
  if (!needs_grad(inputs)) return nullptr;
  auto node = std::make_shared<N>();
  node->profile_layer = profile::current_layer();
  for (const Tensor* t : inputs) node->next.push_back(t->defined() ? gradient_edge(*t) : nullptr);
  return node;
}
template <class N>
std::shared_ptr<N> new_node(std::initializer_list<const Tensor*> inputs) {
  return new_node<N>(std::span(inputs.begin(), inputs.size()));
}

// Makes `node` the grad_fn of `output` (which then requires grad).
void attach(Tensor& output, const std::shared_ptr<Node>& node);

// A gradient-ready hook (torch's register_post_accumulate_grad_hook, installed on every leaf at once):
// while one is alive on this thread, backward() calls it with each leaf right after that leaf's gradient
// for the pass has been accumulated into .grad, i.e. as soon as the gradient is final, while the rest of
// backward still runs. Data-parallel training starts communicating a bucket of gradients from it
// (train/dist/reducer.h). Hooks nest; the innermost one is called. Per thread, like grad mode.
class GradReadyHook {
 public:
  using Fn = std::function<void(TensorImpl* leaf)>;
  explicit GradReadyHook(Fn fn);
  ~GradReadyHook();
  GradReadyHook(const GradReadyHook&) = delete;
  GradReadyHook& operator=(const GradReadyHook&) = delete;

 private:
  Fn fn_;
  GradReadyHook* previous_;
  friend struct GradReadyCall;
};

// The engine behind Tensor::backward().
void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph);

}  // namespace nn
