// The model a command runs, from its flags (see model_source.h).
#include "tools/skinnet/model_source.h"

#include <algorithm>

#include "train/checkpoint.h"
#include "train/data/dataset.h"
#include "weights/load.h"

namespace nn {

namespace {

// The class count the weights file's head was trained for: its last layer's output dimension.
int64_t head_classes(const SafetensorsFile& file, const std::string& arch) {
  const std::string key = model_head_name(arch) + ".weight";
  NN_CHECK(file.contains(key), "{}: has no '{}', so it is not a complete {} classifier; pass --num-classes", file.path(),
           key, arch);
  return file.get(key).size(0);
}

}  // namespace

void add_model_flags(Flags& flags) {
  flags.add("checkpoint", "", "a model trained by skinnet (runs/<name>/model.safetensors or a checkpoint): "
                             "architecture, class names and preprocessing come from it")
      .add("arch", "", fmt::format("architecture: {}", fmt::join(model_archs(), ", ")))
      .add("weights", "", "a safetensors file from weights/convert.py (or a skinnet run), with its preprocessing")
      .add("num-classes", "auto", "classes of the head; auto reads them from the weights file");
}

void check_arch_flag(const std::string& arch) {
  const std::vector<std::string> archs = model_archs();
  NN_USAGE_CHECK(std::find(archs.begin(), archs.end(), arch) != archs.end(), "--arch {} is not one of {}", arch,
                 fmt::join(archs, ", "));
}

LoadedModel load_model_from_flags(const Flags& flags) {
  LoadedModel out;
  if (!flags.str("checkpoint").empty()) {
    NN_USAGE_CHECK(flags.str("weights").empty() && flags.str("arch").empty(),
                   "give --checkpoint, or --arch and --weights, not both");
    TrainedModel trained = load_trained_model(flags.str("checkpoint"));
    out.model = trained.model;
    out.prep = trained.prep;
    out.classes = trained.classes;
    out.metadata = trained.metadata;
    out.source = flags.str("checkpoint");
    return out;
  }
  NN_USAGE_CHECK(!flags.str("arch").empty() && !flags.str("weights").empty(),
                 "give --checkpoint (a skinnet run's model), or --arch and --weights");
  const std::string arch = flags.str("arch");
  check_arch_flag(arch);
  const SafetensorsFile file = SafetensorsFile::open(flags.str("weights"));
  if (auto it = file.metadata().find("arch"); it != file.metadata().end())
    NN_CHECK(it->second == arch, "{}: holds {} weights, not {}; pass --arch={}", file.path(), it->second, arch,
             it->second);
  out.prep = weights_preprocessing(file);
  const int64_t n = flags.str("num-classes") == "auto" ? head_classes(file, arch) : flags.integer("num-classes");
  NN_USAGE_CHECK(n > 0, "--num-classes must be positive, got {}", n);
  out.model = make_model(arch, model_options_for(file, {.num_classes = n, .init = false}));  // weights come next
  load_weights(*out.model, file, LoadMode::strict);
  out.model->eval();
  if (auto it = file.metadata().find("classes"); it != file.metadata().end()) {
    try {
      out.classes = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
      out.classes.clear();  // not a skinnet run's list: ImageNet-style class numbers
    }
    if (static_cast<int64_t>(out.classes.size()) != n) out.classes.clear();
  }
  out.source = flags.str("weights");
  out.metadata = file.metadata();
  return out;
}

std::vector<int64_t> top_classes(const std::vector<float>& probs, int64_t k) {
  std::vector<int64_t> order(probs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  k = std::clamp<int64_t>(k, 0, static_cast<int64_t>(order.size()));
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
  });
  order.resize(static_cast<size_t>(k));
  return order;
}

std::string class_name(const std::vector<std::string>& classes, int64_t c) {
  return classes.empty() ? fmt::format("class {}", c) : classes[static_cast<size_t>(c)];
}

std::string class_label(const std::vector<std::string>& classes, int64_t c) {
  return classes.empty() ? class_name(classes, c) : class_display_name(classes[static_cast<size_t>(c)]);
}

nlohmann::json prediction_json(const std::string& image, const Tensor& logits, const std::vector<std::string>& classes,
                               int64_t top) {
  NN_CHECK(logits.ndim() == 1, "prediction_json: logits must be [classes], got {}", logits.describe());
  const std::vector<float> l = logits.to_vector<float>(), p = softmax(logits, 0).to_vector<float>();
  nlohmann::json j{{"image", image}, {"logits", l}, {"probs", p}, {"top", nlohmann::json::array()}};
  if (!classes.empty()) j["classes"] = classes;
  for (int64_t c : top_classes(p, top))
    j["top"].push_back({{"class", class_name(classes, c)},
                        {"name", class_label(classes, c)}, {"index", c}, {"prob", p[static_cast<size_t>(c)]}});
  return j;
}

}  // namespace nn
