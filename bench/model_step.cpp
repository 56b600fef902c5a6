// See model_step.h.
#include "bench/model_step.h"

#include "base/error.h"
#include "layers/batch_norm.h"
#include "layers/fused.h"
#include "layers/summary.h"
#include "tensor/autograd.h"
#include "tools/skinnet/flags.h"

namespace nn {

ModelStep::ModelStep(const std::string& arch, const std::string& mode_name, int64_t batch, int64_t size,
                     uint64_t seed)
    : mode(mode_name) {
  NN_CHECK(mode == "inference" || mode == "train" || mode == "frozen",
           "benchmark mode '{}' is not one of inference, train, frozen", mode);
  NN_CHECK(batch > 0 && size >= 32, "benchmark: batch must be positive and the input at least 32x32 (got {}, {})",
           batch, size);
  model = make_model(arch, {.num_classes = 7, .seed = seed});
  // As the trainer and predict run it: fused where nothing needs a gradient (inference, the frozen
  // backbone), the separate modules where something does (layers/fused.h).
  fuse_for_inference(*model);
  Generator gen(seed);
  images = randn({batch, 3, size, size}, gen);
  labels = randint(0, 7, {batch}, gen);

  const Summary summary = summarize(*model, {1, 3, size, size});
  double head = 0;
  const std::string prefix = model->head_block();
  for (const SummaryRow& r : summary.rows)
    if (r.name == prefix || r.name.rfind(prefix + ".", 0) == 0) head += r.flops;
  flops_per_image_ = mode == "inference" ? summary.flops : mode == "train" ? 3 * summary.flops : summary.flops + 2 * head;

  if (mode == "inference") {
    model->eval();
    return;
  }
  model->train();
  if (mode == "frozen") {
    model->freeze("");
    model->unfreeze(model->head_block());
    for (auto& [name, m] : model->named_modules())
      if (dynamic_cast<BatchNorm2d*>(m)) m->eval();  // all of them are frozen (ResNet's head has none)
  }
  optimizer = make_optimizer({.type = "sgd", .momentum = 0.9}, {{"all", model->named_parameters(Trainable::only), 0.01, 0}});
}

void ModelStep::run() {
  if (mode == "inference") {
    NoGradGuard no_grad;
    const Tensor logits = (*model)(images);
    (void)logits.data<float>();
    return;
  }
  const Tensor l = loss();
  optimizer->zero_grad();
  l.backward();
  optimizer->step();
}

Tensor ModelStep::loss() {
  Tensor l = cross_entropy((*model)(images), labels);
  const Tensor aux = model->take_aux_logits();  // Inception-v3 in training mode: as the trainer, 0.4 x its loss
  if (aux.defined()) l = add(l, mul(cross_entropy(aux, labels), 0.4));
  return l;
}

void add_model_step_flags(Flags& flags) {
  flags.add("arch", "resnet50", fmt::format("architecture: {}", fmt::join(model_archs(), ", ")))
      .add("mode", "train", "inference | train (every parameter) | frozen (head only, backbone frozen)")
      .add("batch-size", "8", "images per step")
      .add("input-size", "auto", "input height and width (auto: the architecture's, 299 for the Inceptions)");
}

ModelStep model_step_from_flags(const Flags& flags) {
  const std::string arch = flags.str("arch");
  const int64_t size = flags.str("input-size") == "auto" ? model_input_size(arch) : flags.integer("input-size");
  return ModelStep(arch, flags.str("mode"), flags.integer("batch-size"), size);
}

}  // namespace nn
