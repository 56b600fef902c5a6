// Inference fusion of convolution, batch norm and ReLU (see fused.h).
#include "layers/fused.h"

#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/export.h"
#include "layers/profile.h"
#include "layers/summary.h"
#include "tensor/autograd.h"

namespace nn {

namespace {

// The batch norm and activation after a convolution, unfused, one statement per module: each reassignment
// frees the previous activation at once when nothing saved it for backward (see ResNet's forward).
Tensor bn_then_act(BatchNorm2d* bn, Module* act, Tensor h) {
  if (bn) h = (*bn)(h);
  if (act) h = (*act)(h);
  return h;
}

}  // namespace

void fuse_for_inference(Module& model) {
  for (auto& [_, m] : model.named_modules()) m->fuse_runs();
}

FusedConv2d::FusedConv2d(std::shared_ptr<Conv2d> conv, std::shared_ptr<BatchNorm2d> bn, std::shared_ptr<Module> act)
    : conv_(std::move(conv)), bn_(std::move(bn)), act_(std::move(act)) {
  NN_CHECK(conv_, "FusedConv2d: the convolution is null");
  silu_ = dynamic_cast<SiLU*>(act_.get()) != nullptr;
  NN_CHECK(!act_ || silu_ || dynamic_cast<ReLU*>(act_.get()), "FusedConv2d: the activation must be ReLU or SiLU, got {}",
           act_->type_name());
  // Registration sets a child's mode to its parent's; this module has no mode of its own (the batch
  // norm's decides), so each child keeps the one it has.
  auto add = [this](const char* name, const std::shared_ptr<Module>& m) {
    if (!m) return;
    const bool training = m->training();
    register_module(name, m);
    m->train(training);
  };
  add("conv", conv_);
  add("bn", bn_);
  add(silu_ ? "silu" : "relu", act_);
}

std::string FusedConv2d::describe() const {
  return fmt::format("FusedConv2d({}{}{})", conv_->describe(), bn_ ? ", " + bn_->describe() : "",
                     act_ ? std::string(", ") + act_->type_name() : "");
}

bool FusedConv2d::fusable(const Tensor& x) const {
  const Tensor none;
  if (ForwardHook::hooked(conv_.get()) || ForwardHook::hooked(bn_.get()) || ForwardHook::hooked(act_.get())) return false;
  return x.device().is_cpu() && !summary_active() && (!bn_ || !bn_->training()) &&
         !needs_grad({&x, &conv_->weight, &conv_->bias, bn_ ? &bn_->weight : &none, bn_ ? &bn_->bias : &none});
}

// In training (the batch norm in training mode) a BatchNorm2d -> ReLU pair still runs as one op on the CPU:
// batch_norm_relu, charged to the batch norm's row (the ReLU's gets no call), when no hook or summary needs
// the two modules one by one.
bool FusedConv2d::fusable_in_training(const Tensor& h) const {
  return bn_ && act_ && !silu_ && bn_->training() && h.device().is_cpu() && !summary_active() &&
         !ForwardHook::hooked(bn_.get()) && !ForwardHook::hooked(act_.get());
}

Tensor FusedConv2d::forward(const Tensor& x) {
  if (!fusable(x)) {
    Tensor h = (*conv_)(x);
    if (!fusable_in_training(h)) return bn_then_act(bn_.get(), act_.get(), std::move(h));
    const LayerProfiler::Scope timed(bn_.get());
    return bn_->forward_relu(h);
  }
  const BatchNormEval stats = bn_ ? bn_->eval_stats() : BatchNormEval{};
  const LayerProfiler::Scope timed(conv_.get());  // the profiler charges the fused call to the convolution
  return conv2d_fused_eval(conv_->pad_input(x), conv_->weight, conv_->bias, conv_->options(), bn_ ? &stats : nullptr,
                           act_ && !silu_, silu_);
}

std::vector<std::shared_ptr<Module>> fused_steps(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children) {
  std::vector<std::shared_ptr<Module>> steps;
  for (size_t i = 0; i < children.size();) {
    auto conv = std::dynamic_pointer_cast<Conv2d>(children[i].second);
    if (!conv) {
      steps.push_back(children[i++].second);
      continue;
    }
    size_t j = i + 1;
    auto bn = j < children.size() ? std::dynamic_pointer_cast<BatchNorm2d>(children[j].second) : nullptr;
    if (bn) ++j;
    std::shared_ptr<Module> act;
    if (j < children.size() && (std::dynamic_pointer_cast<ReLU>(children[j].second) ||
                                std::dynamic_pointer_cast<SiLU>(children[j].second)))
      act = children[j++].second;
    steps.push_back(std::make_shared<FusedConv2d>(std::move(conv), std::move(bn), std::move(act)));
    i = j;
  }
  return steps;
}

ConvRun::ConvRun(std::shared_ptr<Conv2d> conv, std::shared_ptr<BatchNorm2d> bn, std::shared_ptr<ReLU> relu)
    : conv_(std::move(conv)), bn_(std::move(bn)), relu_(std::move(relu)) {
  NN_CHECK(conv_, "ConvRun: the convolution is null");
}

Tensor ConvRun::operator()(const Tensor& x) const {
  return fused_ ? (*fused_)(x) : bn_then_act(bn_.get(), relu_.get(), (*conv_)(x));
}

void ConvRun::fuse() { fused_ = std::make_shared<FusedConv2d>(conv_, bn_, relu_); }

GraphValue ConvRun::export_graph(GraphBuilder& g, const GraphValue& x, const std::array<std::string, 3>& names) const {
  return export_conv_run(g, *conv_, bn_.get(), relu_.get(), x, names);
}

}  // namespace nn
