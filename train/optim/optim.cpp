// SGD, Adam and AdamW updates, gradient clipping and optimiser checkpoint state (see optim.h).
//
// The per-element updates are the kernels of kernels/optim.h (CPU loops in the parameter's dtype, fused
// float32 CUDA kernels with identical results), chosen by the parameter's device: torch.optim's PyTorch 1.13
// single-tensor updates, operation for operation.
//
// Checkpoint state is keyed "optim.<parameter name>.<state>" so it sits in the model's safetensors file
// without clashing; lrs are stored as JSON doubles, which round-trip exactly, so a resumed run continues
// bit for bit.
#include "train/optim/optim.h"

#include <cmath>
#include <set>

#include "kernels/optim.h"
#include "tensor/autograd.h"
#include "tensor/dispatch.h"

namespace nn {

namespace {

bool is_adam(const std::string& type) { return type == "adam" || type == "adamw"; }

void check_hyper(double value, const char* what, const std::string& where) {
  NN_CHECK(std::isfinite(value) && value >= 0, "optimizer: {} {} of {} must be finite and >= 0", what, value, where);
}

void validate(const OptimizerOptions& o, const std::vector<ParamGroup>& groups) {
  NN_CHECK(o.type == "sgd" || is_adam(o.type), "optimizer: unknown type '{}'; expected sgd, adam or adamw", o.type);
  if (o.type == "sgd") {
    NN_CHECK(o.momentum >= 0 && o.momentum < 1, "optimizer: sgd momentum {} outside [0, 1)", o.momentum);
    NN_CHECK(o.dampening >= 0 && o.dampening <= 1, "optimizer: sgd dampening {} outside [0, 1]", o.dampening);
    NN_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0),
             "optimizer: nesterov needs momentum > 0 and dampening 0 (got momentum {}, dampening {})", o.momentum,
             o.dampening);
  } else {
    NN_CHECK(o.beta1 >= 0 && o.beta1 < 1, "optimizer: {} beta1 {} outside [0, 1)", o.type, o.beta1);
    NN_CHECK(o.beta2 >= 0 && o.beta2 < 1, "optimizer: {} beta2 {} outside [0, 1)", o.type, o.beta2);
    check_hyper(o.eps, "eps", o.type);
  }
  NN_CHECK(!groups.empty(), "optimizer: no parameter groups");
  std::set<std::string> names;
  std::set<const TensorImpl*> seen;
  for (const ParamGroup& g : groups) {
    const std::string where = fmt::format("group '{}'", g.name);
    check_hyper(g.lr, "lr", where);
    check_hyper(g.weight_decay, "weight_decay", where);
    for (const auto& [name, p] : g.params) {
      NN_CHECK(p.defined(), "optimizer: parameter '{}' in {} is undefined", name, where);
      NN_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64,
               "optimizer: parameter '{}' in {} is {}; expected f32 or f64", name, where, p.describe());
      NN_CHECK(p.is_leaf(), "optimizer: parameter '{}' in {} is not a leaf tensor", name, where);
      NN_CHECK(p.device().is_cpu() || (p.device().is_cuda() && p.dtype() == DType::f32),
               "optimizer: parameter '{}' is {}; CUDA updates are float32 only", name, p.describe());
      NN_CHECK(p.is_contiguous(), "optimizer: parameter '{}' ({}) is not contiguous", name, p.describe());
      NN_CHECK(names.insert(name).second, "optimizer: parameter name '{}' appears twice ({})", name, where);
      NN_CHECK(seen.insert(p.impl()).second, "optimizer: parameter '{}' in {} is a tensor already given under "
               "another name", name, where);
    }
  }
}

// Gradient of `p` as a contiguous tensor of p's dtype and shape, or an error naming the parameter.
Tensor checked_grad(const std::string& name, const Tensor& p) {
  const Tensor g = p.grad().contiguous();
  NN_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype() && g.device() == p.device(),
           "optimizer: gradient {} of parameter '{}' does not match the parameter {}", g.describe(), name,
           p.describe());
  return g;
}

// Updates p from g with the kernels of kernels/optim.h on p's device. New state is allocated
// uninitialised: the first SGD step writes the momentum buffer without reading it, and Adam's kernels
// treat the moments as 0 at step 1.
void step_one(const OptimizerOptions& o, const ParamGroup& group, const Tensor& p, const Tensor& g,
              Tensor& buf, Tensor& m, Tensor& v, int64_t& step) {
  const int64_t n = p.numel();
  if (o.type == "sgd") {
    const bool first = !buf.defined();
    if (o.momentum != 0 && first) buf = empty_like(p);
    const SgdArgs a{group.lr, group.weight_decay, o.momentum, o.dampening, o.nesterov, first};
    dispatch<SgdUpdateKernels>("sgd_update", p, [&](auto kernel, auto t) {
      using T = decltype(t);
      kernel(p.data<T>(), o.momentum != 0 ? buf.data<T>() : nullptr, g.data<T>(), n, a);
    });
    return;
  }
  if (!m.defined()) {
    m = empty_like(p);
    v = empty_like(p);
  }
  ++step;
  const AdamArgs a{group.lr, group.weight_decay, o.beta1, o.beta2, o.eps, o.type == "adamw", step};
  dispatch<AdamUpdateKernels>("adam_update", p, [&](auto kernel, auto t) {
    using T = decltype(t);
    kernel(p.data<T>(), m.data<T>(), v.data<T>(), g.data<T>(), n, a);
  });
}

}  // namespace

Optimizer::Optimizer(const OptimizerOptions& options, std::vector<ParamGroup> groups)
    : options_(options), groups_(std::move(groups)) {
  validate(options_, groups_);
  for (const ParamGroup& g : groups_) state_.emplace_back(g.params.size());
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options, std::vector<ParamGroup> groups) {
  return std::make_unique<Optimizer>(options, std::move(groups));
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& group = groups_[gi];
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      const auto& [name, p] = group.params[pi];
      if (!p.requires_grad() || !p.grad().defined()) continue;
      const Tensor g = checked_grad(name, p);
      State& s = state_[gi][pi];
      step_one(options_, group, p, g, s.momentum_buffer, s.exp_avg, s.exp_avg_sq, s.step);
      p.storage()->bump_version();  // an in-place write: a graph that saved p must not run backward on it
    }
  }
  ++steps_;
}

void Optimizer::zero_grad() {
  for (const ParamGroup& group : groups_)
    for (const auto& [name, p] : group.params) p.zero_grad();
}

void Optimizer::set_lr(size_t group, double lr) {
  NN_CHECK(group < groups_.size(), "optimizer: set_lr of group {} but there are {} groups", group, groups_.size());
  check_hyper(lr, "lr", fmt::format("group '{}'", groups_[group].name));
  groups_[group].lr = lr;
}

double Optimizer::lr(size_t group) const {
  NN_CHECK(group < groups_.size(), "optimizer: lr of group {} but there are {} groups", group, groups_.size());
  return groups_[group].lr;
}

int64_t Optimizer::state_numel() const {
  int64_t n = 0;
  for (const auto& group : state_)
    for (const State& s : group)
      for (const Tensor* t : {&s.momentum_buffer, &s.exp_avg, &s.exp_avg_sq})
        if (t->defined()) n += t->numel();
  return n;
}

const Optimizer::State* Optimizer::find_state(const std::string& name) const {
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi)
      if (groups_[gi].params[pi].first == name) return &state_[gi][pi];
  NN_FAIL("optimizer: no parameter named '{}'", name);
}

Tensor Optimizer::state(const std::string& name, const std::string& key) const {
  const State* s = find_state(name);
  if (key == "momentum_buffer") return s->momentum_buffer;
  if (key == "exp_avg") return s->exp_avg;
  if (key == "exp_avg_sq") return s->exp_avg_sq;
  NN_FAIL("optimizer: unknown state '{}'; expected momentum_buffer, exp_avg or exp_avg_sq", key);
}

namespace {

// Sum of squares of every gradient, in double. CPU gradients are summed here; CUDA ones by
// sum_squares_cuda into partial sums (one launch per gradient, all into one f64 buffer on the device),
// copied to the host in one transfer and added in order, so the result is deterministic.
double sum_of_squares(const std::vector<Tensor>& grads) {
  double total_sq = 0;
  std::vector<Tensor> on_cuda;
  for (const Tensor& g : grads) {
    NN_CHECK(g.dtype() == DType::f32 || g.dtype() == DType::f64, "clip_grad_norm: gradient {} is not f32/f64",
             g.describe());
    NN_CHECK(g.device().is_cpu() || (g.device().is_cuda() && g.dtype() == DType::f32),
             "clip_grad_norm: gradient {} is neither on the CPU nor float32 on CUDA", g.describe());
    const Tensor c = g.contiguous();
    if (c.device().is_cuda()) {
      NN_CHECK(on_cuda.empty() || c.device() == on_cuda.front().device(),
               "clip_grad_norm: gradients on two CUDA devices ({} and {})", on_cuda.front().describe(), c.describe());
      on_cuda.push_back(c);
      continue;
    }
    double sq = 0;
    if (c.dtype() == DType::f64)
      for (const double* x = c.data<double>(), *e = x + c.numel(); x != e; ++x) sq += *x * *x;
    else
      for (const float* x = c.data<float>(), *e = x + c.numel(); x != e; ++x) sq += double(*x) * double(*x);
    total_sq += sq;
  }
  if (on_cuda.empty()) return total_sq;
  const int64_t stride = kSumSquaresMaxPartials;
  const Tensor partials = empty({static_cast<int64_t>(on_cuda.size()), stride}, DType::f64, on_cuda.front().device());
  std::vector<int64_t> counts;
  for (size_t k = 0; k < on_cuda.size(); ++k)
    counts.push_back(sum_squares_cuda(partials.data<double>() + k * stride, on_cuda[k].data<float>(),
                                      on_cuda[k].numel()));
  const Tensor host = partials.to(Device::cpu());
  for (size_t k = 0; k < on_cuda.size(); ++k)
    for (int64_t b = 0; b < counts[k]; ++b) total_sq += host.data<double>()[k * stride + b];
  return total_sq;
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  NN_CHECK(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm: max_norm {} must be finite and > 0", max_norm);
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  // PyTorch takes the norm of the per-gradient norms; summing squares in double is that within rounding.
  const double total = std::sqrt(sum_of_squares(grads));
  if (!std::isfinite(total)) return total;
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1) {
    NoGradGuard no_grad;
    for (const Tensor& g : grads) g.mul_(coef);  // CUDA gradients: the elementwise kernels (kernels/elementwise.h)
  }
  return total;
}

namespace {

constexpr const char* kPrefix = "optim.";

std::string key_of(const std::string& param, const char* state) { return kPrefix + param + "." + state; }

// A copy of the checkpoint tensor `key` for parameter `p`, or an undefined tensor when the key is absent.
Tensor load_one(const std::map<std::string, Tensor>& tensors, const std::string& key, const Tensor& p,
                std::set<std::string>& used) {
  const auto it = tensors.find(key);
  if (it == tensors.end()) return {};
  used.insert(key);
  const Tensor& t = it->second;
  NN_CHECK(t.shape() == p.shape(), "optimizer state '{}' has shape {} but the parameter has {}", key, t.shape(),
           p.shape());
  NN_CHECK(t.dtype() == p.dtype(), "optimizer state '{}' is {} but the parameter is {}", key,
           dtype_name(t.dtype()), dtype_name(p.dtype()));
  return t.to(p.device()).clone();  // checkpoints are read on the host; the state lives with its parameter
}

}  // namespace

void Optimizer::save_state(std::vector<std::pair<std::string, Tensor>>& tensors, nlohmann::json& meta) const {
  meta = nlohmann::json::object();
  meta["type"] = options_.type;
  meta["steps"] = steps_;
  nlohmann::json groups = nlohmann::json::array(), param_steps = nlohmann::json::object();
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    nlohmann::json names = nlohmann::json::array();
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const std::string& name = groups_[gi].params[pi].first;
      const State& s = state_[gi][pi];
      names.push_back(name);
      if (s.momentum_buffer.defined()) tensors.emplace_back(key_of(name, "momentum_buffer"), s.momentum_buffer);
      if (s.exp_avg.defined()) {
        tensors.emplace_back(key_of(name, "exp_avg"), s.exp_avg);
        tensors.emplace_back(key_of(name, "exp_avg_sq"), s.exp_avg_sq);
        param_steps[name] = s.step;
      }
    }
    groups.push_back({{"name", groups_[gi].name},
                      {"lr", groups_[gi].lr},
                      {"weight_decay", groups_[gi].weight_decay},
                      {"params", names}});
  }
  meta["groups"] = groups;
  meta["param_steps"] = param_steps;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& tensors, const nlohmann::json& meta) {
  NN_CHECK(meta.is_object() && meta.contains("type") && meta.contains("groups") && meta.contains("steps") &&
               meta.contains("param_steps"),
           "optimizer state: meta lacks type, steps, groups or param_steps (got {})", meta.dump());
  const std::string type = meta["type"].get<std::string>();
  NN_CHECK(type == options_.type, "optimizer state: saved by a '{}' optimizer, loading into '{}'", type,
           options_.type);
  const nlohmann::json& groups = meta["groups"];
  NN_CHECK(groups.size() == groups_.size(), "optimizer state: {} parameter groups saved, this optimizer has {}",
           groups.size(), groups_.size());
  const nlohmann::json& param_steps = meta["param_steps"];
  // Everything is checked and read into `fresh` first, so a failed load leaves the optimiser as it was.
  std::vector<std::vector<State>> fresh;
  std::set<std::string> used;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& group = groups_[gi];
    const nlohmann::json& saved = groups[gi];
    const auto names = saved.at("params").get<std::vector<std::string>>();
    NN_CHECK(names.size() == group.params.size(), "optimizer state: group {} ('{}') saved {} parameters, has {}", gi,
             group.name, names.size(), group.params.size());
    fresh.emplace_back(group.params.size());
    for (size_t pi = 0; pi < group.params.size(); ++pi) {
      const auto& [name, p] = group.params[pi];
      NN_CHECK(names[pi] == name, "optimizer state: group {} ('{}') parameter {} is '{}' in the checkpoint but '{}' "
               "here", gi, group.name, pi, names[pi], name);
      State& s = fresh[gi][pi];
      s.momentum_buffer = load_one(tensors, key_of(name, "momentum_buffer"), p, used);
      s.exp_avg = load_one(tensors, key_of(name, "exp_avg"), p, used);
      s.exp_avg_sq = load_one(tensors, key_of(name, "exp_avg_sq"), p, used);
      NN_CHECK(s.exp_avg.defined() == s.exp_avg_sq.defined(), "optimizer state: '{}' without '{}'",
               key_of(name, s.exp_avg.defined() ? "exp_avg" : "exp_avg_sq"),
               key_of(name, s.exp_avg.defined() ? "exp_avg_sq" : "exp_avg"));
      if (s.exp_avg.defined()) {
        NN_CHECK(param_steps.contains(name), "optimizer state: '{}' has no step count in param_steps",
                 key_of(name, "exp_avg"));
        s.step = param_steps[name].get<int64_t>();
        NN_CHECK(s.step > 0, "optimizer state: step count {} of '{}' must be > 0", s.step, name);
      }
    }
  }
  for (const auto& [key, t] : tensors)
    NN_CHECK(!key.starts_with(kPrefix) || used.count(key),
             "optimizer state: checkpoint tensor '{}' belongs to no parameter state of this {} optimizer", key,
             options_.type);
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const double lr = groups[gi].at("lr").get<double>();
    NN_CHECK(std::isfinite(lr) && lr >= 0, "optimizer state: group {} lr {} must be finite and >= 0", gi, lr);
    groups_[gi].lr = lr;
  }
  state_ = std::move(fresh);
  steps_ = meta["steps"].get<int64_t>();
}

}  // namespace nn
