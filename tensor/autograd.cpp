// The autograd engine: gradient edges, grad mode, saved tensors and backward() (see autograd.h).
#include "tensor/autograd.h"

#include <atomic>
#include <chrono>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "tensor/ops.h"

namespace nn {

// The innermost live GradReadyHook of this thread, and how AccumulateGrad calls it.
struct GradReadyCall {
  static thread_local GradReadyHook* current;
  static void run(TensorImpl* leaf) {
    if (current) current->fn_(leaf);
  }
};
thread_local GradReadyHook* GradReadyCall::current = nullptr;

namespace {

thread_local bool t_grad_enabled = true;
std::atomic<uint64_t> g_sequence{0};

// Sums the incoming gradient into a leaf's .grad.
struct AccumulateGrad final : Node {
  std::weak_ptr<TensorImpl> leaf;
  const char* name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(const Tensor& grad) override {
    std::shared_ptr<TensorImpl> impl = leaf.lock();
    if (!impl) return {};  // the leaf is gone; nobody can read its gradient
    if (!impl->grad.defined()) {
      // Take the incoming buffer when nothing else can see it; otherwise keep a private copy so a
      // later in-place accumulation cannot write into another tensor.
      const bool exclusive = grad.impl_ptr().use_count() == 1 && grad.storage().use_count() == 1 &&
                             grad.is_contiguous();
      impl->grad = exclusive ? grad : grad.clone();
    } else {
      impl->grad.add_(grad);
    }
    GradReadyCall::run(impl.get());
    return {};
  }
};

}  // namespace

GradReadyHook::GradReadyHook(Fn fn) : fn_(std::move(fn)), previous_(GradReadyCall::current) {
  GradReadyCall::current = this;
}
GradReadyHook::~GradReadyHook() { GradReadyCall::current = previous_; }

Node::~Node() {
  thread_local std::vector<std::shared_ptr<Node>> doomed;
  thread_local bool draining = false;
  for (auto& e : next)
    if (e) doomed.push_back(std::move(e));
  if (draining) return;  // an outer destructor is already emptying the list
  draining = true;
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    n.reset();  // may run ~Node again, which only appends to `doomed`
  }
  draining = false;
}

SavedTensor::SavedTensor(const Tensor& t) : tensor_(t.defined() ? t.detach() : Tensor()) {
  if (t.defined()) version_ = t.storage()->version();
}

Tensor SavedTensor::get(const Node& owner) const {
  NN_CHECK(tensor_.defined(),
           "backward: {} needs a tensor that an earlier backward() already freed; pass retain_graph=true "
           "to the first backward() to run backward twice through the same graph", owner.name());
  NN_CHECK(tensor_.storage()->version() == version_,
           "backward: a tensor {} saved by {} was modified in place after it was saved (version {} -> {}); "
           "use an out-of-place op instead", tensor_.describe(), owner.name(), version_,
           tensor_.storage()->version());
  return tensor_;
}

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

bool needs_grad(std::span<const Tensor* const> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (t.grad_fn()) return t.grad_fn();
  if (!t.requires_grad()) return nullptr;
  TensorImpl* impl = t.impl();
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    auto node = std::make_shared<AccumulateGrad>();
    node->leaf = t.impl_ptr();
    node->output_shape = t.shape();
    node->output_dtype = t.dtype();
    node->sequence = g_sequence++;
    node->profile_layer = profile::current_layer();
    impl->grad_accumulator = node;
    acc = node;
  }
  return acc;
}

void attach(Tensor& output, const std::shared_ptr<Node>& node) {
  node->output_shape = output.shape();
  node->output_dtype = output.dtype();
  node->sequence = g_sequence++;
  output.impl()->grad_fn = node;
  output.impl()->requires_grad = true;
}

namespace {

// Number of edges into each node reachable from `root` (iterative depth-first walk).
std::unordered_map<Node*, int> count_dependencies(Node* root) {
  std::unordered_map<Node*, int> deps;
  std::unordered_set<Node*> seen{root};
  std::vector<Node*> stack{root};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const auto& e : n->next) {
      if (!e) continue;
      deps[e.get()]++;
      if (seen.insert(e.get()).second) stack.push_back(e.get());
    }
  }
  return deps;
}

void check_incoming_grad(const Node& n, const Tensor& grad) {
  NN_CHECK(grad.shape() == n.output_shape && grad.dtype() == n.output_dtype,
           "backward: {} received a gradient {} {} for an output {} {}", n.name(), dtype_name(grad.dtype()),
           grad.shape(), dtype_name(n.output_dtype), n.output_shape);
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  check_defined(root, "backward", "self");
  NN_CHECK(root.requires_grad(),
           "backward: tensor {} does not require grad and has no grad_fn; call requires_grad_() on the "
           "leaves you want gradients for before the forward pass", root.describe());
  Tensor grad = gradient;
  if (!grad.defined()) {
    NN_CHECK(root.numel() == 1,
             "backward: tensor {} is not a scalar; backward() without a gradient needs one element "
             "(reduce with sum() or mean(), or pass a gradient of shape {})", root.describe(), root.shape());
    grad = ones_like(root);
  } else {
    NN_CHECK(grad.shape() == root.shape() && grad.dtype() == root.dtype() && grad.device() == root.device(),
             "backward: gradient {} does not match tensor {}", grad.describe(), root.describe());
  }

  NoGradGuard no_grad;
  std::shared_ptr<Node> root_node = gradient_edge(root);
  std::unordered_map<Node*, int> deps = count_dependencies(root_node.get());
  std::unordered_map<Node*, Tensor> pending{{root_node.get(), grad}};
  grad = Tensor();

  auto later_first = [](const Node* a, const Node* b) { return a->sequence < b->sequence; };
  std::priority_queue<Node*, std::vector<Node*>, decltype(later_first)> ready(later_first);
  ready.push(root_node.get());

  profile::Sink* const sink = profile::sink();
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    const auto t0 = sink ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
    Tensor g;
    if (auto it = pending.find(n); it != pending.end()) {
      g = std::move(it->second);
      pending.erase(it);
    }
    std::vector<Tensor> input_grads;
    if (g.defined()) {  // an undefined g: no path from the root carried a gradient here
      check_incoming_grad(*n, g);
      input_grads = n->apply(g);
      g = Tensor();
      NN_INTERNAL_CHECK(input_grads.empty() || input_grads.size() == n->next.size());
    }
    if (!retain_graph) n->release();
    for (size_t i = 0; i < n->next.size(); ++i) {
      Node* e = n->next[i].get();
      if (!e) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        Tensor& slot = pending[e];
        slot = slot.defined() ? add(slot, input_grads[i]) : std::move(input_grads[i]);
      }
      if (--deps[e] == 0) ready.push(e);
    }
    if (sink)
      sink->backward(n->profile_layer,
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
}

namespace profile {
namespace {
thread_local int t_layer = -1;
thread_local Sink* t_sink = nullptr;
}  // namespace
int current_layer() { return t_layer; }
void set_current_layer(int layer) { t_layer = layer; }
Sink* sink() { return t_sink; }
void set_sink(Sink* s) { t_sink = s; }
}  // namespace profile

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  run_backward(*this, gradient, retain_graph);
}

}  // namespace nn
