// The model factory (see network.h).
#include "models/network.h"

#include "models/densenet.h"
#include "models/efficientnet.h"
#include "models/inception_resnet_v2.h"
#include "models/inception_v3.h"
#include "models/resnet.h"
#include "models/vgg.h"

#include <map>

namespace nn {

std::vector<std::string> model_archs() {
  return {"vgg11",     "vgg11_bn",     "vgg13",        "vgg13_bn",     "vgg16",        "vgg16_bn",
          "vgg19",     "vgg19_bn",     "resnet18",     "resnet34",     "resnet50",     "resnet101",
          "resnet152", "resnet50_v1",  "resnet101_v1", "resnet152_v1", "inception_v3", "inception_resnet_v2",
          "densenet121", "densenet161", "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1",
          "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6",
          "efficientnet_b7"};
}

std::string model_head_name(const std::string& arch) {
  for (const std::string& a : model_archs()) {
    if (a != arch) continue;
    if (arch.rfind("vgg", 0) == 0) return "classifier.6";
    if (arch.rfind("efficientnet", 0) == 0) return "classifier.1";
    if (arch.rfind("densenet", 0) == 0) return "classifier";
    return arch == "inception_resnet_v2" ? "classif" : "fc";
  }
  NN_FAIL("unknown architecture '{}'; known: {}", arch, fmt::join(model_archs(), ", "));
}

int64_t model_input_size(const std::string& arch) {
  static const std::map<std::string, int64_t> efficientnet = {
      {"efficientnet_b0", 224}, {"efficientnet_b1", 240}, {"efficientnet_b2", 288}, {"efficientnet_b3", 300},
      {"efficientnet_b4", 380}, {"efficientnet_b5", 456}, {"efficientnet_b6", 528}, {"efficientnet_b7", 600}};
  if (const auto it = efficientnet.find(arch); it != efficientnet.end()) return it->second;
  return arch.rfind("inception", 0) == 0 ? 299 : 224;
}

std::shared_ptr<Network> make_model(const std::string& arch, const ModelOptions& options) {
  if (auto m = make_vgg(arch, options)) return m;
  if (auto m = make_resnet(arch, options)) return m;
  if (auto m = make_inception_v3(arch, options)) return m;
  if (auto m = make_inception_resnet_v2(arch, options)) return m;
  if (auto m = make_densenet(arch, options)) return m;
  if (auto m = make_efficientnet(arch, options)) return m;
  NN_FAIL("unknown architecture '{}'; known: {}", arch, fmt::join(model_archs(), ", "));
}

}  // namespace nn
