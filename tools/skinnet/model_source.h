// The model a command runs, from its flags: a skinnet run's model (--checkpoint) or an architecture and a
// weights file (--arch, --weights, --num-classes). predict and export take the same flags this way.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/network.h"
#include "tools/skinnet/flags.h"
#include "weights/preprocess.h"

namespace nn {

struct LoadedModel {
  std::shared_ptr<Network> model;  // in eval mode
  Preprocessing prep;              // as the file says
  std::vector<std::string> classes;  // a skinnet run's class names; empty for ImageNet weights
  std::string source;                // the file it came from
  std::map<std::string, std::string> metadata;  // that file's metadata
};

void add_model_flags(Flags& flags);
// A usage error unless `arch` is one of model_archs() (the --arch flag's value).
void check_arch_flag(const std::string& arch);
// Usage errors for a wrong combination of flags; runtime errors for files that are not what they claim.
LoadedModel load_model_from_flags(const Flags& flags);

// The k most probable classes, most probable first (ties: the lower index first).
std::vector<int64_t> top_classes(const std::vector<float>& probs, int64_t k);
// Class c as the model's files name it: the run's name ("MEL"), or "class N" (ImageNet-style weights have no
// names). class_label: what it is called for people, the full name with the code for known ones
// ("Melanoma (MEL)").
std::string class_name(const std::vector<std::string>& classes, int64_t c);
std::string class_label(const std::vector<std::string>& classes, int64_t c);
// One image's prediction from its logits [classes], as `skinnet predict --json` prints it and `skinnet serve`
// answers it: {"image", "logits", "probs", "classes" (a run's models), "top": [{"class", "name", "index",
// "prob"}, ... k entries]}. probs = softmax(logits) in float32.
nlohmann::json prediction_json(const std::string& image, const Tensor& logits, const std::vector<std::string>& classes,
                               int64_t top);

}  // namespace nn
