// The model a command runs, from its flags: a skinnet run's model (--checkpoint) or an architecture and a
// weights file (--arch, --weights, --num-classes). predict and export take the same flags this way.
#pragma once

#include <memory>
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
};

void add_model_flags(Flags& flags);
// A usage error unless `arch` is one of model_archs() (the --arch flag's value).
void check_arch_flag(const std::string& arch);
// Usage errors for a wrong combination of flags; runtime errors for files that are not what they claim.
LoadedModel load_model_from_flags(const Flags& flags);

}  // namespace nn
