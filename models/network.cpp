// The model factory (see network.h).
#include "models/network.h"

#include "models/resnet.h"
#include "models/vgg.h"

namespace nn {

std::vector<std::string> model_archs() {
  return {"vgg11",    "vgg11_bn", "vgg13",    "vgg13_bn",  "vgg16",    "vgg16_bn", "vgg19",
          "vgg19_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"};
}

std::string model_head_name(const std::string& arch) {
  for (const std::string& a : model_archs())
    if (a == arch) return arch.rfind("vgg", 0) == 0 ? "classifier.6" : "fc";
  NN_FAIL("unknown architecture '{}'; known: {}", arch, fmt::join(model_archs(), ", "));
}

std::shared_ptr<Network> make_model(const std::string& arch, const ModelOptions& options) {
  if (auto m = make_vgg(arch, options)) return m;
  if (auto m = make_resnet(arch, options)) return m;
  NN_FAIL("unknown architecture '{}'; known: {}", arch, fmt::join(model_archs(), ", "));
}

}  // namespace nn
