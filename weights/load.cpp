// Loading and saving weights by name (see load.h).
#include "weights/load.h"

#include <algorithm>
#include <cstdlib>
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

LoadReport load_state(Module& model, const SafetensorsFile& file, LoadMode mode, const std::vector<std::string>& heads,
                      const std::string& head_block) {
  const bool finetune = mode == LoadMode::finetune;
  const auto in_head = [&](const std::string& key) {
    return std::any_of(heads.begin(), heads.end(), [&](const std::string& h) { return under(key, h); });
  };
  LoadReport report;
  std::vector<std::string> missing, mismatched, unexpected;
  std::vector<std::pair<std::string, Tensor>> to_copy;
  std::set<std::string> model_keys;
  for (const auto& [key, t] : model.state_dict()) {
    model_keys.insert(key);
    if (finetune && in_head(key)) continue;  // the new head keeps its initialisation
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
    if (finetune && in_head(key)) report.skipped.push_back(key);
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
        std::any_of(mismatched.begin(), mismatched.end(), [&](const std::string& k) { return in_head(k); });
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
  return load_state(model, file, mode, model.head_names(), model.head_block());
}

ModelOptions model_options_for(const SafetensorsFile& file, ModelOptions base) {
  const auto& md = file.metadata();
  const auto value = [&](const char* key) -> const std::string* {
    auto it = md.find(key);
    return it == md.end() ? nullptr : &it->second;
  };
  const auto boolean = [&](const char* key, const std::string& v) {
    NN_CHECK(v == "true" || v == "false", "{}: metadata {} must be true or false, got '{}'", file.path(), key, v);
    return v == "true";
  };
  if (const std::string* v = value("flavour")) {
    NN_CHECK(*v == "keras" || *v == "torchvision" || *v == "timm",
             "{}: metadata flavour must be keras, torchvision or timm, got '{}'", file.path(), *v);
    base.flavour = *v == "keras" ? "keras" : "";
  }
  if (const std::string* v = value("transform_input")) base.transform_input = boolean("transform_input", *v);
  if (const std::string* v = value("aux_logits")) base.aux_logits = boolean("aux_logits", *v);
  if (const std::string* v = value("bn_eps")) {
    char* end = nullptr;
    base.bn_eps = std::strtod(v->c_str(), &end);
    NN_CHECK(end != v->c_str() && *end == 0 && base.bn_eps > 0 && base.bn_eps < 1,
             "{}: metadata bn_eps must be a number in (0, 1), got '{}'", file.path(), *v);
  }
  return base;
}

std::map<std::string, std::string> model_options_metadata(const ModelOptions& o) {
  std::map<std::string, std::string> md;
  if (!o.flavour.empty()) md["flavour"] = o.flavour;
  if (o.transform_input) md["transform_input"] = "true";
  if (!o.aux_logits) md["aux_logits"] = "false";
  if (o.bn_eps > 0) md["bn_eps"] = fmt::format("{}", o.bn_eps);
  return md;
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
