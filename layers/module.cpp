// Module registration, naming, modes and freezing (see module.h).
#include "layers/module.h"

#include <algorithm>

#include "base/nvtx.h"
#include "layers/fused.h"
#include "layers/profile.h"
#include "layers/summary.h"

namespace nn {

Tensor Module::operator()(const Tensor& x) {
  const NvtxRange range(type_name());
  Tensor y;
  {
    const LayerProfiler::Scope timed(this);  // skinnet profile: time this module, tag the autograd nodes it creates
    y = forward(x);
  }
  if (summary_active() && children_.empty()) summary_record(*this, x.shape(), y.shape());
  return ForwardHook::apply(*this, std::move(y));
}

namespace {

thread_local std::vector<const ForwardHook*> live_hooks;  // innermost last

}  // namespace

ForwardHook::ForwardHook(const Module& target, std::function<Tensor(const Tensor&)> fn)
    : target_(&target), fn_(std::move(fn)) {
  live_hooks.push_back(this);
}

ForwardHook::~ForwardHook() { std::erase(live_hooks, this); }

bool ForwardHook::hooked(const Module* module) {
  if (!module) return false;
  return std::any_of(live_hooks.begin(), live_hooks.end(), [&](const ForwardHook* h) { return h->target_ == module; });
}

Tensor ForwardHook::apply(const Module& module, Tensor output) {
  for (const ForwardHook* h : live_hooks)
    if (h->target_ == &module) output = h->fn_(output);
  return output;
}

double Module::flops(const Shape&, const Shape&) const { return 0; }

void Module::register_parameter(std::string name, Tensor* tensor) {
  NN_CHECK(tensor && tensor->defined(), "{}: parameter '{}' is undefined", type_name(), name);
  if (!tensor->requires_grad()) tensor->requires_grad_();
  tensor->set_name(name);
  params_.emplace_back(std::move(name), tensor);
}

void Module::register_buffer(std::string name, Tensor* tensor) {
  NN_CHECK(tensor && tensor->defined(), "{}: buffer '{}' is undefined", type_name(), name);
  tensor->set_name(name);
  buffers_.emplace_back(std::move(name), tensor);
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  NN_CHECK(module, "{}: child module '{}' is null", type_name(), name);
  for (const auto& [n, _] : children_) NN_CHECK(n != name, "{}: child module '{}' registered twice", type_name(), name);
  module->train(training_);
  children_.emplace_back(std::move(name), std::move(module));
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
  NN_CHECK(module, "{}: replacement for '{}' is null", type_name(), name);
  for (auto& [n, m] : children_) {
    if (n != name) continue;
    module->train(training_);
    m = std::move(module);
    return;
  }
  NN_FAIL("{}: no child module named '{}' to replace", type_name(), name);
}

namespace {

std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

}  // namespace

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (size_t i = 0; i < out.size(); ++i) {  // breadth would reorder; expand in place to stay depth-first
    auto [prefix, m] = out[i];
    std::vector<std::pair<std::string, Module*>> kids;
    for (const auto& [name, child] : m->children_) kids.emplace_back(join(prefix, name), child.get());
    out.insert(out.begin() + static_cast<std::ptrdiff_t>(i) + 1, kids.begin(), kids.end());
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(Trainable which) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [prefix, m] : const_cast<Module*>(this)->named_modules())
    for (const auto& [name, t] : m->params_)
      if (which == Trainable::all || t->requires_grad()) out.emplace_back(join(prefix, name), *t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [prefix, m] : const_cast<Module*>(this)->named_modules())
    for (const auto& [name, t] : m->buffers_) out.emplace_back(join(prefix, name), *t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [prefix, m] : const_cast<Module*>(this)->named_modules()) {
    for (const auto& [name, t] : m->params_) out.emplace_back(join(prefix, name), *t);
    for (const auto& [name, t] : m->buffers_) out.emplace_back(join(prefix, name), *t);
  }
  return out;
}

std::vector<Tensor> Module::parameters(Trainable which) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters(which)) out.push_back(t);
  return out;
}

int64_t Module::num_parameters(Trainable which) const {
  int64_t n = 0;
  for (const auto& [_, t] : named_parameters(which)) n += t.numel();
  return n;
}

void Module::to(DType dtype) {
  NN_CHECK(is_floating(dtype), "Module::to: {} is not a floating dtype", dtype_name(dtype));
  NoGradGuard no_grad;
  for (auto& [_, m] : named_modules()) {
    for (auto& [name, t] : m->params_) {
      if (t->dtype() == dtype) continue;
      const bool trainable = t->requires_grad();
      *t = t->detach().to(dtype).set_name(name);
      if (trainable) t->requires_grad_();
    }
    for (auto& [name, t] : m->buffers_)
      if (is_floating(t->dtype()) && t->dtype() != dtype) *t = t->detach().to(dtype).set_name(name);
  }
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& [_, m] : named_modules()) {
    for (auto& [name, t] : m->params_) {
      if (!t->defined() || t->device() == device) continue;
      const bool trainable = t->requires_grad();
      *t = t->detach().to(device).set_name(name);
      if (trainable) t->requires_grad_();
    }
    for (auto& [name, t] : m->buffers_)
      if (t->defined() && t->device() != device) *t = t->detach().to(device).set_name(name);
  }
}

Device Module::device() const {
  const auto params = named_parameters();
  return params.empty() ? Device::cpu() : params.front().second.device();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

int64_t Module::set_requires_grad(const std::string& prefix, bool value, const char* op) {
  int64_t matched = 0, changed = 0;
  for (auto& [name, t] : named_parameters()) {
    // "layer4" matches "layer4.0.conv1.weight" but not "layer40.weight"
    const bool match = prefix.empty() || name == prefix || name.rfind(prefix + ".", 0) == 0;
    if (!match) continue;
    ++matched;
    if (t.requires_grad() == value) continue;
    t.requires_grad_(value);
    if (!value) t.zero_grad();
    ++changed;
  }
  if (matched == 0) {
    std::vector<std::string> top;
    for (const auto& [name, _] : children_) top.push_back(name);
    for (const auto& [name, _] : params_) top.push_back(name);
    NN_FAIL("{}: no parameter name starts with '{}' (top-level names: {})", op, prefix, fmt::join(top, ", "));
  }
  return changed;
}

int64_t Module::freeze(const std::string& prefix) { return set_requires_grad(prefix, false, "freeze"); }
int64_t Module::unfreeze(const std::string& prefix) { return set_requires_grad(prefix, true, "unfreeze"); }

Sequential& Sequential::add(std::shared_ptr<Module> module) { return add(std::to_string(size()), std::move(module)); }

Sequential& Sequential::add(const std::string& name, std::shared_ptr<Module> module) {
  register_module(name, std::move(module));
  steps_.push_back(children().back().second);
  return *this;
}

void Sequential::replace(size_t i, std::shared_ptr<Module> module) {
  const bool fused = !std::equal(steps_.begin(), steps_.end(), children().begin(), children().end(),
                                 [](const auto& step, const auto& child) { return step == child.second; });
  replace_module(children().at(i).first, std::move(module));
  steps_.clear();
  for (const auto& [_, child] : children()) steps_.push_back(child);
  if (fused) fuse_runs();
}

void Sequential::fuse_runs() { steps_ = fused_steps(children()); }

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& step : steps_) h = (*step)(h);
  return h;
}

}  // namespace nn
