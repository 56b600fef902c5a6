// skinnet predict: classify images with a model and weights, preprocessing them as the weights file says.
//
//   skinnet predict --checkpoint runs/demo/model.safetensors lesion.jpg       a trained model: class names
//   skinnet predict --arch resnet50 --weights weights/resnet50.safetensors --json a.jpg b.png
//   {"image": "a.jpg", "logits": [...], "probs": [...], "top": [{"class", "name", "index", "prob"}, ...]}
//   (prediction_json in model_source.h: `skinnet serve` answers the same JSON)
#include <cstdio>
#include <nlohmann/json.hpp>

#include "layers/fused.h"
#include "models/network.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "tools/skinnet/model_source.h"
#include "train/checkpoint.h"
#include "train/data/image.h"
#include "weights/load.h"

namespace nn {

Flags predict_flags() {
  Flags flags("predict", "Classifies images: prints logits and probabilities per image.",
              "skinnet predict (--checkpoint C | --arch A --weights W) [--json] IMAGE...");
  add_model_flags(flags);
  flags.add("top", "5", "classes listed per image without --json")
      .add_switch("json", "print one JSON object per image: image, logits, probs");
  return flags;
}

int predict_main(int argc, char** argv) {
  Flags flags = predict_flags();
  if (!flags.parse(argc, argv)) return 0;
  NN_USAGE_CHECK(!flags.positional().empty(), "no images given");
  const bool json = flags.on("json");  // the flags' values are checked before any file is read
  NN_USAGE_CHECK(flags.integer("top") > 0, "--top must be positive");
  const LoadedModel loaded = load_model_from_flags(flags);
  const std::shared_ptr<Network> model = loaded.model;
  const Preprocessing& prep = loaded.prep;
  const std::vector<std::string>& names = loaded.classes;  // ImageNet weights have none
  fuse_for_inference(*model);  // conv -> batch norm -> ReLU as one convolution (layers/fused.h)
  model->eval();
  NoGradGuard no_grad;
  const int64_t top = flags.integer("top");
  for (const std::string& path : flags.positional()) {
    const Tensor x = preprocess_image(decode_image(path), prep).unsqueeze(0);
    const nlohmann::json j = prediction_json(path, (*model)(x).squeeze(0), names, top);
    if (json) {
      std::printf("%s\n", j.dump().c_str());
      continue;
    }
    std::printf("%s:", path.c_str());
    for (const nlohmann::json& t : j["top"])
      std::printf("  %s %.4f", t["class"].get<std::string>().c_str(), t["prob"].get<double>());
    std::printf("\n");
  }
  return 0;
}

}  // namespace nn
