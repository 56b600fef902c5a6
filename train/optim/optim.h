// Optimisers (SGD, Adam, AdamW) over named parameter groups, gradient-norm clipping, and optimiser state
// for checkpoints. The updates are torch.optim's of PyTorch 1.13, element for element (docs/optim.md).
//
// An optimiser holds groups of (name, tensor) pairs: the names come from Module::named_parameters and key
// the checkpoint state and the error messages. step() updates parameters in place under NoGradGuard, in
// each parameter's own dtype (f32 or f64). A parameter that does not require grad (frozen) or has no
// gradient this step is skipped and gets no state, so frozen backbones cost no optimiser memory; a
// parameter unfrozen later gets its state on its first step with a gradient, as in PyTorch.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace nn {

struct ParamGroup {
  std::string name;                                     // "backbone", "head": for messages
  std::vector<std::pair<std::string, Tensor>> params;   // (named_parameters name, parameter)
  double lr = 0;
  double weight_decay = 0;  // SGD/Adam: L2 added to the gradient; AdamW: decoupled decay
};

struct OptimizerOptions {
  std::string type = "sgd";  // sgd | adam | adamw
  // SGD
  double momentum = 0.9;  // 0: plain SGD, no momentum buffers
  double dampening = 0;
  bool nesterov = false;
  // Adam, AdamW
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

class Optimizer {
 public:
  // Validates the options and groups (see make_optimizer).
  Optimizer(const OptimizerOptions& options, std::vector<ParamGroup> groups);

  // One update of every parameter that requires grad and has a gradient.
  void step();
  // Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)).
  void zero_grad();

  const OptimizerOptions& options() const { return options_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  void set_lr(size_t group, double lr);
  double lr(size_t group) const;
  int64_t steps() const { return steps_; }  // calls of step() so far (restored by load_state)
  // Elements of state held (momentum buffers, moments), summed over parameters: 0 for frozen ones.
  int64_t state_numel() const;
  // The state tensor `key` ("momentum_buffer", "exp_avg", "exp_avg_sq") of parameter `name`; undefined
  // when it has none.
  Tensor state(const std::string& name, const std::string& key) const;

  // Checkpoints. save_state appends ("optim.<param>.<key>", state tensor) pairs (the live tensors, not
  // copies: write them out before the next step) and fills `meta` with the type, step counts, each group's
  // name, lr and parameter names. load_state restores them into an optimiser built over the same groups;
  // keys of `tensors` that do not start with "optim." are ignored (a checkpoint holds the model too).
  // Every mismatch (type, group count, names, shapes, dtypes, unknown or missing keys) is an error naming it.
  void save_state(std::vector<std::pair<std::string, Tensor>>& tensors, nlohmann::json& meta) const;
  void load_state(const std::map<std::string, Tensor>& tensors, const nlohmann::json& meta);

 private:
  struct State {
    Tensor momentum_buffer;        // sgd with momentum
    Tensor exp_avg, exp_avg_sq;    // adam, adamw
    int64_t step = 0;              // adam, adamw: this parameter's own count (bias corrections)
  };
  const State* find_state(const std::string& name) const;

  OptimizerOptions options_;
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<State>> state_;  // [group][param], parallel to groups_
  int64_t steps_ = 0;
};

// Checks the options (known type; lr, weight decay, eps >= 0 and finite; momentum and betas in [0, 1);
// dampening in [0, 1]; nesterov needs momentum > 0 and dampening 0) and the groups (at least one; defined
// f32/f64 leaf parameters; names unique; no tensor in two places), then builds the optimiser.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerOptions& options, std::vector<ParamGroup> groups);

// torch.nn.utils.clip_grad_norm_ (norm 2): the 2-norm of all gradients together (parameters without a
// gradient are left out), and when max_norm / (norm + 1e-6) < 1 every gradient is scaled by it. Returns
// the total norm. A non-finite norm is returned as is and the gradients are left untouched: the caller
// stops the run (PyTorch would multiply them by NaN).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace nn
