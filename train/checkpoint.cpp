// Checkpoints (see checkpoint.h).
#include "train/checkpoint.h"

#include <fmt/format.h>

#include "base/error.h"
#include "layers/activation.h"
#include "tensor/autograd.h"
#include "train/optim/optim.h"
#include "weights/load.h"

namespace nn {

namespace {
constexpr const char* kMetaKey = "skinnet_checkpoint";
}

void save_checkpoint(const std::string& path, const Network& model, const Optimizer* optimizer, const nlohmann::json& meta,
                     const std::map<std::string, std::string>& extra_metadata) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, t] : model.state_dict()) tensors.emplace_back("model." + name, t);
  nlohmann::json all = meta;
  if (optimizer) {
    nlohmann::json optim_meta;
    optimizer->save_state(tensors, optim_meta);
    all["optimizer"] = optim_meta;
  }
  std::map<std::string, std::string> metadata = extra_metadata;
  metadata[kMetaKey] = all.dump();
  save_safetensors(path, tensors, metadata);
}

nlohmann::json checkpoint_meta(const SafetensorsFile& file) {
  auto it = file.metadata().find(kMetaKey);
  NN_CHECK(it != file.metadata().end(), "{}: not a skinnet checkpoint (no '{}' metadata); weights files go to --weights",
           file.path(), kMetaKey);
  try {
    return nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    NN_FAIL("{}: the checkpoint's metadata is not valid JSON: {}", file.path(), e.what());
  }
}

void load_checkpoint_model(Network& model, const SafetensorsFile& file) {
  NoGradGuard no_grad;
  std::vector<std::string> problems;
  for (const auto& [name, t] : model.state_dict()) {
    const std::string key = "model." + name;
    if (!file.contains(key)) {
      problems.push_back(key + " is missing");
      continue;
    }
    const Tensor src = file.get(key);
    if (src.shape() != t.shape() || src.dtype() != t.dtype()) {
      problems.push_back(fmt::format("{}: file {} {}, model {} {}", key, dtype_name(src.dtype()), src.shape(),
                                     dtype_name(t.dtype()), t.shape()));
      continue;
    }
    t.copy_(src.to(t.device()));  // the file is on the host; the model may be on a GPU
  }
  if (!problems.empty()) {
    std::string list;
    for (size_t i = 0; i < problems.size() && i < 10; ++i) list += "\n  " + problems[i];
    NN_FAIL("{}: the checkpoint does not fit this {} model ({} problems):{}", file.path(), model.arch(),
            problems.size(), list);
  }
}

std::map<std::string, Tensor> checkpoint_optimizer_tensors(const SafetensorsFile& file) {
  std::map<std::string, Tensor> out;
  for (const std::string& name : file.names())
    if (name.rfind("optim.", 0) == 0) out[name] = file.get(name);
  return out;
}

nlohmann::json dropout_states(Network& model) {
  nlohmann::json out = nlohmann::json::object();
  for (auto& [name, m] : model.named_modules()) {
    if (auto* d = dynamic_cast<Dropout*>(m)) out[name] = {d->generator().seed(), d->generator().offset()};
    if (auto* d = dynamic_cast<StochasticDepth*>(m)) out[name] = {d->generator().seed(), d->generator().offset()};
  }
  return out;
}

void restore_dropout_states(Network& model, const nlohmann::json& states, const std::string& where) {
  for (auto& [name, m] : model.named_modules()) {
    Generator* gen = nullptr;
    if (auto* d = dynamic_cast<Dropout*>(m)) gen = &d->generator();
    if (auto* d = dynamic_cast<StochasticDepth*>(m)) gen = &d->generator();
    if (gen) {
      NN_CHECK(states.contains(name), "{}: no generator state for dropout layer '{}'", where, name);
      gen->set_state(states[name][0].get<uint64_t>(), states[name][1].get<uint64_t>());
    }
  }
}

TrainedModel load_trained_model(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& md = file.metadata();
  auto arch = md.find("arch");
  auto classes = md.find("classes");
  const bool checkpoint = md.count(kMetaKey) > 0;
  NN_CHECK(arch != md.end(), "{}: no 'arch' in the metadata: not a model trained by skinnet (ImageNet weights go to "
                             "`skinnet predict --arch A --weights W`)", path);
  TrainedModel out;
  out.metadata = md;
  out.prep = weights_preprocessing(file);
  if (checkpoint) {
    out.classes = checkpoint_meta(file).at("classes").get<std::vector<std::string>>();
  } else {
    NN_CHECK(classes != md.end(), "{}: no 'classes' in the metadata: not a model trained by skinnet", path);
    try {
      out.classes = nlohmann::json::parse(classes->second).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      NN_FAIL("{}: the 'classes' metadata is not a JSON list of names: {}", path, e.what());
    }
  }
  out.model = make_model(arch->second,
                         model_options_for(file, {.num_classes = static_cast<int64_t>(out.classes.size()), .init = false}));
  if (checkpoint) {
    load_checkpoint_model(*out.model, file);
  } else {
    load_weights(*out.model, file, LoadMode::strict);
  }
  out.model->eval();
  return out;
}

}  // namespace nn
