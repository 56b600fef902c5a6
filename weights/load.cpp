// Loading and saving weights by name (see load.h).
#include "weights/load.h"

#include <algorithm>
#include <set>

namespace nn {

namespace {

bool under(const std::string& key, const std::string& prefix) {
  return !prefix.empty() && (key == prefix || key.rfind(prefix + ".", 0) == 0);
}

std::string list(const std::vector<std::string>& items, size_t limit = 40) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < limit; ++i) s += "\n  " + items[i];
  if (items.size() > limit) s += fmt::format("\n  ... and {} more", items.size() - limit);
  return s;
}

}  // namespace

LoadReport load_state(Module& model, const SafetensorsFile& file, LoadMode mode, const std::string& head,
                      const std::string& head_block) {
  const bool finetune = mode == LoadMode::finetune;
  LoadReport report;
  std::vector<std::string> missing, mismatched, unexpected;
  std::vector<std::pair<std::string, Tensor>> to_copy;
  std::set<std::string> model_keys;
  for (const auto& [key, t] : model.state_dict()) {
    model_keys.insert(key);
    if (finetune && under(key, head)) continue;  // the new head keeps its initialisation
    if (!file.contains(key)) {
      if (finetune && under(key, head_block)) report.missing.push_back(key);
      else missing.push_back(key);
      continue;
    }
    const Tensor src = file.get(key);
    if (src.shape() != t.shape() || src.dtype() != t.dtype()) {
      mismatched.push_back(fmt::format("{}: file {} {}, model {} {}", key, dtype_name(src.dtype()), src.shape(),
                                       dtype_name(t.dtype()), t.shape()));
      continue;
    }
    to_copy.emplace_back(key, t);
  }
  for (const std::string& key : file.names()) {
    if (finetune && under(key, head)) report.skipped.push_back(key);
    else if (!model_keys.count(key)) unexpected.push_back(key);
  }
  if (!missing.empty() || !mismatched.empty() || !unexpected.empty()) {
    std::string msg = fmt::format("{}: does not match the model ({} mode)", file.path(), finetune ? "finetune" : "strict");
    if (!missing.empty()) msg += fmt::format("\n{} missing keys (in the model, not the file):{}", missing.size(), list(missing));
    if (!unexpected.empty())
      msg += fmt::format("\n{} unexpected keys (in the file, not the model):{}", unexpected.size(), list(unexpected));
    if (!mismatched.empty()) msg += fmt::format("\n{} shape or dtype mismatches:{}", mismatched.size(), list(mismatched));
    const bool head_involved =
        std::any_of(missing.begin(), missing.end(), [&](const std::string& k) { return under(k, head_block); }) ||
        std::any_of(mismatched.begin(), mismatched.end(), [&](const std::string& k) { return under(k, head); });
    if (!finetune && head_involved)
      msg += "\nhint: to start from these weights with a new classifier head, load in finetune mode";
    NN_FAIL("{}", msg);
  }
  NoGradGuard no_grad;
  for (const auto& [key, t] : to_copy) {
    t.copy_(file.get(key).to(t.device()));  // the file is on the host; the model may be on a GPU
    file.release_pages(key);
    ++report.loaded;
  }
  return report;
}

LoadReport load_weights(Network& model, const SafetensorsFile& file, LoadMode mode) {
  return load_state(model, file, mode, model.head_name(), model.head_block());
}

void save_weights(const Module& model, const std::string& path, const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, model.state_dict(), metadata);
}

Preprocessing weights_preprocessing(const SafetensorsFile& file) {
  auto it = file.metadata().find("preprocessing");
  NN_CHECK(it != file.metadata().end(),
           "{}: no preprocessing recorded in the weights file; convert original weights with weights/convert.py, "
           "which records the preprocessing they expect", file.path());
  return Preprocessing::from_json(it->second, file.path());
}

}  // namespace nn
