// Training configuration (see config.h): one table of keys serves the TOML file, the flags, --help and the
// saved config.toml.
#include "train/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <toml++/toml.h>

#include "base/error.h"
#include "kernels/cuda/device.h"

namespace nn {

namespace {

enum class Kind { text, integer, seed, real, flag, text_list, fill, geometry };

struct Field {
  std::string key;  // "section.name", or "name" at the top level
  Kind kind;
  void* target;
  std::string help;
};

std::vector<Field> config_fields(TrainConfig& c) {
  AugmentConfig& a = c.augment;
  return {
      {"name", Kind::text, &c.name, "run name: the run folder is runs_dir/name"},
      {"runs_dir", Kind::text, &c.runs_dir, "folder holding run folders"},
      {"seed", Kind::seed, &c.seed, "seed of the split, initialisation, data order and augmentation"},
      {"device", Kind::text, &c.device, "cpu, cuda or cuda:N: where the model and its batches run"},
      {"kernels", Kind::text, &c.kernels, "handwritten (skinnet's kernels) or vendor (cuBLAS/cuDNN on CUDA, OpenBLAS GEMM on the CPU)"},
      {"data.path", Kind::text, &c.data_path, "dataset folder or ground-truth CSV (docs/data.md)"},
      {"data.format", Kind::text, &c.data_format, "auto, ham10000, isic2018, isic2016, isic2017 or imagefolder"},
      {"data.val", Kind::real, &c.val, "validation fraction (by lesion, stratified)"},
      {"data.test", Kind::real, &c.test, "test fraction (by lesion, stratified)"},
      {"data.split_file", Kind::text, &c.split_file, "reuse this split.csv instead of splitting"},
      {"data.batch_size", Kind::integer, &c.batch_size, "images per batch"},
      {"data.workers", Kind::integer, &c.workers, "loader threads"},
      {"data.cache", Kind::text, &c.cache, "none, memory or disk: keep decoded, shrunk images after epoch 1"},
      {"data.cache_dir", Kind::text, &c.cache_dir, "disk cache folder (default: <run folder>/cache)"},
      {"data.skip_bad_images", Kind::flag, &c.skip_bad_images, "unreadable images: a counted warning, not an error"},
      {"data.sampling", Kind::text, &c.sampling, "none, oversample (repeat to the largest class) or weighted (1/n_c)"},
      {"data.class_weights", Kind::flag, &c.class_weights, "weight the loss by n / (C * n_c) of the training split"},
      {"data.positive_class", Kind::text, &c.positive_class, "class for sensitivity/specificity figures (e.g. MEL)"},
      {"model.arch", Kind::text, &c.arch,
       "resnet18/34/50/101/152, vgg11/13/16/19 (_bn), resnet50/101/152_v1 (Keras), inception_v3, inception_resnet_v2, "
       "densenet121/161/169/201, efficientnet_b0 .. efficientnet_b7"},
      {"model.weights", Kind::text, &c.weights, "ImageNet weights to fine-tune from (empty: from scratch)"},
      {"model.input_size", Kind::integer, &c.input_size, "network input size (0: the weights' preprocessing)"},
      {"model.resize_shorter", Kind::integer, &c.resize_shorter, "eval resize of the shorter side (-1: automatic)"},
      {"model.dropout", Kind::real, &c.dropout,
       "dropout before the classifier (VGG, Inception-v3, EfficientNet; -1: the architecture's)"},
      {"model.stochastic_depth", Kind::real, &c.stochastic_depth,
       "EfficientNet: drop probability of the last block's branch (-1: the architecture's, 0.2)"},
      {"model.aux_weight", Kind::real, &c.aux_weight, "Inception-v3: weight of the auxiliary classifier's loss (0: it does not run)"},
      {"model.sync_bn", Kind::flag, &c.sync_bn, "with several ranks: BatchNorm statistics over all ranks' batches"},
      {"augment.geometry", Kind::geometry, &a.geometry, "random_resized_crop or resize"},
      {"augment.scale_min", Kind::real, &a.scale_min, "random resized crop: smallest area fraction"},
      {"augment.scale_max", Kind::real, &a.scale_max, "random resized crop: largest area fraction"},
      {"augment.ratio_min", Kind::real, &a.ratio_min, "random resized crop: smallest aspect ratio"},
      {"augment.ratio_max", Kind::real, &a.ratio_max, "random resized crop: largest aspect ratio"},
      {"augment.hflip", Kind::real, &a.hflip, "probability of a horizontal flip"},
      {"augment.vflip", Kind::real, &a.vflip, "probability of a vertical flip"},
      {"augment.rot90", Kind::flag, &a.rot90, "random quarter turns"},
      {"augment.rotate_degrees", Kind::real, &a.rotate_degrees, "rotation uniform in [-d, d]"},
      {"augment.shift", Kind::real, &a.shift, "shift, fraction of the size, per axis"},
      {"augment.shear_degrees", Kind::real, &a.shear_degrees, "shear uniform in [-d, d]"},
      {"augment.zoom", Kind::real, &a.zoom, "scale uniform in [1 - z, 1 + z]"},
      {"augment.fill", Kind::fill, &a.fill, "reflect or constant: pixels from outside the image"},
      {"augment.brightness", Kind::real, &a.brightness, "colour jitter: brightness factor range"},
      {"augment.contrast", Kind::real, &a.contrast, "colour jitter: contrast factor range"},
      {"augment.saturation", Kind::real, &a.saturation, "colour jitter: saturation factor range"},
      {"augment.hue", Kind::real, &a.hue, "colour jitter: hue shift range (turns, <= 0.5)"},
      {"loss.label_smoothing", Kind::real, &c.label_smoothing, "label smoothing in [0, 1)"},
      {"optimizer.type", Kind::text, &c.optimizer, "sgd, adam or adamw"},
      {"optimizer.momentum", Kind::real, &c.momentum, "SGD momentum"},
      {"optimizer.nesterov", Kind::flag, &c.nesterov, "SGD Nesterov momentum"},
      {"optimizer.weight_decay", Kind::real, &c.weight_decay, "weight decay (L2 for sgd/adam, decoupled for adamw)"},
      {"optimizer.beta1", Kind::real, &c.beta1, "Adam beta1"},
      {"optimizer.beta2", Kind::real, &c.beta2, "Adam beta2"},
      {"optimizer.eps", Kind::real, &c.eps, "Adam epsilon"},
      {"optimizer.clip_grad_norm", Kind::real, &c.clip_grad_norm, "clip the gradients' global 2-norm (0: off)"},
      {"schedule.type", Kind::text, &c.schedule, "none, step, cosine or plateau (restarts with each stage)"},
      {"schedule.step_size", Kind::integer, &c.step_size, "step: epochs between decays"},
      {"schedule.gamma", Kind::real, &c.gamma, "step: decay factor"},
      {"schedule.warmup_epochs", Kind::integer, &c.warmup_epochs, "cosine: linear warmup epochs"},
      {"schedule.warmup_start_factor", Kind::real, &c.warmup_start_factor, "cosine: lr factor at the warmup's start"},
      {"schedule.min_lr", Kind::real, &c.min_lr, "cosine and plateau: the lowest learning rate"},
      {"schedule.plateau_factor", Kind::real, &c.plateau_factor, "plateau: decay factor"},
      {"schedule.plateau_patience", Kind::integer, &c.plateau_patience, "plateau: epochs without improvement"},
      {"checkpoint.select", Kind::text, &c.select, "val_balanced_accuracy, val_accuracy or val_loss: the best epoch"},
      {"checkpoint.early_stopping", Kind::integer, &c.early_stopping, "stop after this many epochs without improvement (0: never)"},
      {"checkpoint.tta", Kind::flag, &c.tta, "test-time augmentation: average the test predictions over flips"},
      {"checkpoint.precise_bn_batches", Kind::integer, &c.precise_bn_batches,
       "before each validation, re-estimate BatchNorm statistics on this many training batches (0: off)"},
      {"checkpoint.stop_after_epochs", Kind::integer, &c.stop_after_epochs,
       "pause after this many epochs in all; --resume continues (0: run to the end)"},
      {"dist.bucket_mb", Kind::real, &c.bucket_mb, "with several ranks: gradient bucket size (MiB)"},
      {"dist.first_bucket_mb", Kind::real, &c.first_bucket_mb, "with several ranks: the first (last layers') bucket"},
  };
}

std::vector<Field> stage_fields(StageConfig& s, size_t number) {
  const std::string p = fmt::format("stage.{}.", number);
  return {
      {p + "epochs", Kind::integer, &s.epochs, "epochs of this stage"},
      {p + "train", Kind::text_list, &s.train, "\"head\", \"all\", or name prefixes that train with the head"},
      {p + "lr", Kind::real, &s.lr, "the head's learning rate"},
      {p + "backbone_lr", Kind::real, &s.backbone_lr, "the other trained parameters' (negative: = lr)"},
      {p + "bn_eval", Kind::flag, &s.bn_eval, "frozen BatchNorm layers run in eval mode"},
  };
}

const std::map<std::string, FillMode> kFills{{"reflect", FillMode::reflect}, {"constant", FillMode::constant}};
const std::map<std::string, Geometry> kGeometries{{"random_resized_crop", Geometry::random_resized_crop},
                                                  {"resize", Geometry::resize}};

template <typename M>
std::string keys_of(const M& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
  return s;
}

// Sets a field from text (a flag's value); `where` names the flag in errors.
void set_from_text(const Field& f, const std::string& text, const std::string& where) {
  auto fail = [&](const char* what) { NN_FAIL("{}: '{}' is not {}", where, text, what); };
  switch (f.kind) {
    case Kind::text: *static_cast<std::string*>(f.target) = text; return;
    case Kind::integer:
    case Kind::seed: {
      size_t used = 0;
      int64_t v = 0;
      try {
        v = std::stoll(text, &used);
      } catch (...) {
        fail("an integer");
      }
      if (used != text.size()) fail("an integer");
      if (f.kind == Kind::seed) {
        if (v < 0) fail("a non-negative integer");
        *static_cast<uint64_t*>(f.target) = static_cast<uint64_t>(v);
      } else {
        *static_cast<int64_t*>(f.target) = v;
      }
      return;
    }
    case Kind::real: {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end != '\0' || !std::isfinite(v)) fail("a finite number");
      *static_cast<double*>(f.target) = v;
      return;
    }
    case Kind::flag:
      if (text == "true" || text == "1") *static_cast<bool*>(f.target) = true;
      else if (text == "false" || text == "0") *static_cast<bool*>(f.target) = false;
      else fail("true or false");
      return;
    case Kind::text_list: {
      std::vector<std::string> items;
      std::stringstream ss(text);
      for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
      *static_cast<std::vector<std::string>*>(f.target) = items;
      return;
    }
    case Kind::fill: {
      auto it = kFills.find(text);
      NN_CHECK(it != kFills.end(), "{}: '{}' is not one of {}", where, text, keys_of(kFills));
      *static_cast<FillMode*>(f.target) = it->second;
      return;
    }
    case Kind::geometry: {
      auto it = kGeometries.find(text);
      NN_CHECK(it != kGeometries.end(), "{}: '{}' is not one of {}", where, text, keys_of(kGeometries));
      *static_cast<Geometry*>(f.target) = it->second;
      return;
    }
  }
}

// Sets a field from a TOML value, checking its type.
void set_from_toml(const Field& f, const toml::node& node, const std::string& where) {
  auto need = [&](bool ok, const char* type) {
    NN_CHECK(ok, "{}: {} must be {}", where, f.key, type);
  };
  switch (f.kind) {
    case Kind::text:
    case Kind::fill:
    case Kind::geometry:
      need(node.is_string(), "a string");
      set_from_text(f, *node.value<std::string>(), where + ": " + f.key);
      return;
    case Kind::integer:
    case Kind::seed:
      need(node.is_integer(), "an integer");
      set_from_text(f, std::to_string(*node.value<int64_t>()), where + ": " + f.key);
      return;
    case Kind::real:
      need(node.is_number(), "a number");
      *static_cast<double*>(f.target) = *node.value<double>();
      NN_CHECK(std::isfinite(*static_cast<double*>(f.target)), "{}: {} must be finite", where, f.key);
      return;
    case Kind::flag:
      need(node.is_boolean(), "true or false");
      *static_cast<bool*>(f.target) = *node.value<bool>();
      return;
    case Kind::text_list: {
      std::vector<std::string> items;
      if (node.is_string()) {
        items.push_back(*node.value<std::string>());
      } else {
        need(node.is_array(), "a string or a list of strings");
        for (const toml::node& item : *node.as_array()) {
          need(item.is_string(), "a string or a list of strings");
          items.push_back(*item.value<std::string>());
        }
      }
      *static_cast<std::vector<std::string>*>(f.target) = items;
      return;
    }
  }
}

const Field* find_field(const std::vector<Field>& fields, const std::string& key) {
  for (const Field& f : fields)
    if (f.key == key) return &f;
  return nullptr;
}

// The known keys of `key`'s section, for an "unknown key" error.
std::string section_keys(const std::vector<Field>& fields, const std::string& key) {
  const std::string section = key.find('.') == std::string::npos ? "" : key.substr(0, key.find('.') + 1);
  std::string s;
  for (const Field& f : fields) {
    const bool same = section.empty() ? f.key.find('.') == std::string::npos : f.key.rfind(section, 0) == 0;
    if (same) s += (s.empty() ? "" : ", ") + f.key;
  }
  return s.empty() ? "sections: data, model, augment, loss, optimizer, schedule, checkpoint, dist, stage" : s;
}

std::string where_in(const std::string& path, const toml::node& node) {
  return fmt::format("{}:{}", path, node.source().begin.line);
}

void read_file(TrainConfig& c, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    NN_FAIL("{}:{}: {}", path, e.source().begin.line, std::string(e.description()));
  }
  const std::vector<Field> fields = config_fields(c);
  for (auto&& [key, node] : root) {
    const std::string k(key.str());
    if (k == "stage") {
      NN_CHECK(node.is_array_of_tables(), "{}: stage must be written as [[stage]] tables", where_in(path, node));
      c.stages.clear();
      for (toml::node& item : *node.as_array()) {
        c.stages.emplace_back();
        const std::vector<Field> sf = stage_fields(c.stages.back(), c.stages.size());
        for (auto&& [skey, snode] : *item.as_table()) {
          const std::string full = fmt::format("stage.{}.{}", c.stages.size(), skey.str());
          const Field* f = find_field(sf, full);
          NN_CHECK(f, "{}: unknown key '{}' in [[stage]]; stage keys: epochs, train, lr, backbone_lr, bn_eval",
                   where_in(path, snode), skey.str());
          set_from_toml(*f, snode, where_in(path, snode));
        }
      }
    } else if (node.is_table()) {
      for (auto&& [skey, snode] : *node.as_table()) {
        const std::string full = k + "." + std::string(skey.str());
        const Field* f = find_field(fields, full);
        NN_CHECK(f, "{}: unknown key '{}'; known keys: {}", where_in(path, snode), full, section_keys(fields, full));
        set_from_toml(*f, snode, where_in(path, snode));
      }
    } else {
      const Field* f = find_field(fields, k);
      NN_CHECK(f, "{}: unknown key '{}'; known keys: {}", where_in(path, node), k, section_keys(fields, k));
      set_from_toml(*f, node, where_in(path, node));
    }
  }
}

void apply_override(TrainConfig& c, const std::string& text) {
  const size_t eq = text.find('=');
  NN_CHECK(eq != std::string::npos && eq > 0, "--{}: a setting is written --section.key=value", text);
  const std::string key = text.substr(0, eq), value = text.substr(eq + 1);
  const std::string where = "--" + key;
  if (key.rfind("stage.", 0) == 0) {
    const size_t dot = key.find('.', 6);
    int64_t number = 0;
    try {
      number = std::stoll(key.substr(6, dot - 6));
    } catch (...) {
    }
    NN_CHECK(dot != std::string::npos && number >= 1 && number <= static_cast<int64_t>(c.stages.size()),
             "{}: stages are addressed as stage.N.key with N from 1 to {}", where, c.stages.size());
    const std::vector<Field> sf = stage_fields(c.stages[number - 1], number);
    const Field* f = find_field(sf, key);
    NN_CHECK(f, "{}: unknown stage key; stage keys: epochs, train, lr, backbone_lr, bn_eval", where);
    set_from_text(*f, value, where);
    return;
  }
  const std::vector<Field> fields = config_fields(c);
  const Field* f = find_field(fields, key);
  NN_CHECK(f, "{}: unknown setting; known keys: {}", where, section_keys(fields, key));
  set_from_text(*f, value, where);
}

void check_choice(const std::string& key, const std::string& value, std::initializer_list<const char*> choices) {
  std::string list;
  for (const char* ch : choices) {
    if (value == ch) return;
    list += (list.empty() ? "" : ", ") + std::string(ch);
  }
  NN_FAIL("config: {} = '{}' is not one of {}", key, value, list);
}

}  // namespace

Device parse_device(const std::string& text, const std::string& where) {
  if (text == "cpu") return Device::cpu();
  Device d;
  if (text == "cuda") {
    d = Device::cuda();
  } else if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() <= 7 &&
             text.find_first_not_of("0123456789", 5) == std::string::npos) {
    d = Device::cuda(std::stoi(text.substr(5)));
  } else {
    NN_FAIL("{} = '{}' is not a device: cpu, cuda or cuda:N", where, text);
  }
  NN_CHECK(cuda_built(), "{} = '{}', but this skinnet was built without CUDA (no nvcc found, or CUDA=0)", where, text);
  NN_CHECK(d.index < cuda_device_count(), "{} = '{}', but {} CUDA device(s) are present", where, text,
           cuda_device_count());
  return d;
}

namespace {

void validate(const TrainConfig& c) {
  NN_CHECK(!c.name.empty() && c.name.find('/') == std::string::npos && c.name != "." && c.name != "..",
           "config: name '{}' must be a plain folder name", c.name);
  parse_device(c.device, "config: device");
  check_choice("kernels", c.kernels, {"handwritten", "vendor"});
  check_choice("data.format", c.data_format, {"auto", "ham10000", "isic2018", "isic2016", "isic2017", "imagefolder"});
  check_choice("data.cache", c.cache, {"none", "memory", "disk"});
  check_choice("data.sampling", c.sampling, {"none", "oversample", "weighted"});
  check_choice("optimizer.type", c.optimizer, {"sgd", "adam", "adamw"});
  check_choice("schedule.type", c.schedule, {"none", "step", "cosine", "plateau"});
  check_choice("checkpoint.select", c.select, {"val_balanced_accuracy", "val_accuracy", "val_loss"});
  NN_CHECK(c.batch_size >= 1, "config: data.batch_size must be at least 1, got {}", c.batch_size);
  NN_CHECK(c.workers >= 1 && c.workers <= 64, "config: data.workers must be 1..64, got {}", c.workers);
  NN_CHECK(c.input_size >= 0, "config: model.input_size must be positive (or 0: the weights'), got {}", c.input_size);
  NN_CHECK(c.dropout == -1 || (c.dropout >= 0 && c.dropout < 1),
           "config: model.dropout must be in [0, 1) (or -1: the architecture's), got {}", c.dropout);
  NN_CHECK(c.stochastic_depth == -1 || (c.stochastic_depth >= 0 && c.stochastic_depth < 1),
           "config: model.stochastic_depth must be in [0, 1) (or -1: the architecture's), got {}", c.stochastic_depth);
  NN_CHECK(c.aux_weight >= 0, "config: model.aux_weight must be >= 0, got {}", c.aux_weight);
  NN_CHECK(c.label_smoothing >= 0 && c.label_smoothing < 1, "config: loss.label_smoothing must be in [0, 1), got {}",
           c.label_smoothing);
  NN_CHECK(c.clip_grad_norm >= 0, "config: optimizer.clip_grad_norm must be >= 0, got {}", c.clip_grad_norm);
  NN_CHECK(c.early_stopping >= 0, "config: checkpoint.early_stopping must be >= 0, got {}", c.early_stopping);
  NN_CHECK(c.bucket_mb > 0 && c.first_bucket_mb > 0, "config: dist.bucket_mb and dist.first_bucket_mb must be > 0");
  NN_CHECK(c.precise_bn_batches >= 0, "config: checkpoint.precise_bn_batches must be >= 0, got {}",
           c.precise_bn_batches);
  NN_CHECK(c.stop_after_epochs >= 0, "config: checkpoint.stop_after_epochs must be >= 0, got {}", c.stop_after_epochs);
  NN_CHECK(!c.stages.empty(), "config: at least one [[stage]] is needed");
  for (size_t i = 0; i < c.stages.size(); ++i) {
    const StageConfig& s = c.stages[i];
    NN_CHECK(s.epochs >= 1, "config: stage {}: epochs must be at least 1, got {}", i + 1, s.epochs);
    NN_CHECK(s.lr > 0, "config: stage {}: lr must be positive, got {}", i + 1, s.lr);
    NN_CHECK(!s.train.empty(), "config: stage {}: train must name \"head\", \"all\" or prefixes", i + 1);
    for (const std::string& t : s.train) NN_CHECK(!t.empty(), "config: stage {}: an empty name in train", i + 1);
  }
  try {
    check_augment_config(c.augment);
  } catch (const Error& e) {
    NN_FAIL("config: [augment]: {}", e.what());
  }
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

std::string toml_value(const Field& f) {
  switch (f.kind) {
    case Kind::text: return toml_string(*static_cast<const std::string*>(f.target));
    case Kind::integer: return std::to_string(*static_cast<const int64_t*>(f.target));
    case Kind::seed: return std::to_string(*static_cast<const uint64_t*>(f.target));
    case Kind::real: {
      std::string s = fmt::format("{}", *static_cast<const double*>(f.target));
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // TOML reads 1 as an integer
      return s;
    }
    case Kind::flag: return *static_cast<const bool*>(f.target) ? "true" : "false";
    case Kind::text_list: {
      std::string s = "[";
      for (const std::string& item : *static_cast<const std::vector<std::string>*>(f.target))
        s += (s.size() > 1 ? ", " : "") + toml_string(item);
      return s + "]";
    }
    case Kind::fill:
      for (const auto& [name, v] : kFills)
        if (v == *static_cast<const FillMode*>(f.target)) return toml_string(name);
      break;
    case Kind::geometry:
      for (const auto& [name, v] : kGeometries)
        if (v == *static_cast<const Geometry*>(f.target)) return toml_string(name);
      break;
  }
  NN_FAIL("config: {} has a value that cannot be written", f.key);
}

}  // namespace

TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  TrainConfig c;
  if (!path.empty()) read_file(c, path);
  for (const std::string& o : overrides) apply_override(c, o);
  validate(c);
  return c;
}

std::string config_to_toml(const TrainConfig& config) {
  TrainConfig c = config;  // the field table points into a mutable config
  std::string out, section;
  for (const Field& f : config_fields(c)) {
    const size_t dot = f.key.find('.');
    const std::string s = dot == std::string::npos ? "" : f.key.substr(0, dot);
    if (s != section) {
      out += fmt::format("\n[{}]\n", s);
      section = s;
    }
    out += fmt::format("{} = {}\n", dot == std::string::npos ? f.key : f.key.substr(dot + 1), toml_value(f));
  }
  for (size_t i = 0; i < c.stages.size(); ++i) {
    out += "\n[[stage]]\n";
    for (const Field& f : stage_fields(c.stages[i], i + 1))
      out += fmt::format("{} = {}\n", f.key.substr(f.key.rfind('.') + 1), toml_value(f));
  }
  return out;
}

std::string config_help() {
  TrainConfig c;
  std::string out;
  for (const Field& f : config_fields(c)) out += fmt::format("  --{:<28} {} (default: {})\n", f.key, f.help, toml_value(f));
  for (const Field& f : stage_fields(c.stages[0], 1))
    out += fmt::format("  --{:<28} {} (default: {})\n", f.key, f.help, toml_value(f));
  return out;
}

std::vector<ConfigKey> config_keys() {
  TrainConfig c;
  std::vector<ConfigKey> out;
  for (const Field& f : config_fields(c)) out.push_back({f.key, toml_value(f), f.help});
  for (const Field& f : stage_fields(c.stages[0], 1)) out.push_back({f.key, toml_value(f), f.help});
  return out;
}

void check_override(const std::string& text) {
  std::string t = text;
  if (t.rfind("stage.", 0) == 0) {
    const size_t dot = t.find('.', 6);
    if (dot != std::string::npos && dot > 6 && t.find_first_not_of("0123456789", 6) == dot && t[6] != '0')
      t = "stage.1" + t.substr(dot);
  }
  TrainConfig c;
  try {
    apply_override(c, t);
  } catch (const Error& e) {  // name the stage as the flag did
    std::string m = e.what();
    const std::string said = text.substr(0, text.find('=')), checked = t.substr(0, t.find('='));
    if (said != checked && m.rfind("--" + checked, 0) == 0) m = "--" + said + m.substr(checked.size() + 2);
    throw Error(m);
  }
}

}  // namespace nn
