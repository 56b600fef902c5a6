// skinnet predict: classify images with a model and weights, preprocessing them as the weights file says.
//
//   skinnet predict --arch resnet50 --weights weights/resnet50.safetensors --json a.jpg b.png
//   {"image": "a.jpg", "logits": [...], "probs": [...]}      one JSON object per line, per image
#include <cstdio>
#include <nlohmann/json.hpp>

#include "models/network.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/image.h"
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

int predict_main(int argc, char** argv) {
  Flags flags("predict", "Classifies images: prints logits and probabilities per image.");
  flags.add("arch", "", fmt::format("architecture: {}", fmt::join(model_archs(), ", ")))
      .add("weights", "", "a safetensors file from weights/convert.py (or a skinnet run), with its preprocessing")
      .add("num-classes", "auto", "classes of the head; auto reads them from the weights file")
      .add("top", "5", "classes listed per image without --json")
      .add_switch("json", "print one JSON object per image: image, logits, probs");
  if (!flags.parse(argc, argv)) return 0;
  NN_CHECK(!flags.str("arch").empty() && !flags.str("weights").empty(), "skinnet predict: --arch and --weights are required");
  NN_CHECK(!flags.positional().empty(), "skinnet predict: no images given");

  const SafetensorsFile file = SafetensorsFile::open(flags.str("weights"));
  if (auto it = file.metadata().find("arch"); it != file.metadata().end())
    NN_CHECK(it->second == flags.str("arch"), "{}: holds {} weights, not {}; pass --arch={}", file.path(), it->second,
             flags.str("arch"), it->second);
  const Preprocessing prep = weights_preprocessing(file);
  const int64_t classes = flags.str("num-classes") == "auto" ? head_classes(file, flags.str("arch"))
                                                             : flags.integer("num-classes");
  auto model = make_model(flags.str("arch"), {.num_classes = classes, .init = false});  // weights come next
  load_weights(*model, file, LoadMode::strict);
  model->eval();
  NoGradGuard no_grad;
  const int64_t top = std::min(flags.integer("top"), classes);
  for (const std::string& path : flags.positional()) {
    const Tensor x = preprocess_image(decode_image(path), prep).unsqueeze(0);
    const Tensor logits = (*model)(x).squeeze(0);
    const std::vector<float> l = logits.to_vector<float>(), p = softmax(logits, 0).to_vector<float>();
    if (flags.on("json")) {
      std::printf("%s\n", nlohmann::json{{"image", path}, {"logits", l}, {"probs", p}}.dump().c_str());
      continue;
    }
    std::vector<int64_t> order(l.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
    std::printf("%s:", path.c_str());
    for (int64_t i = 0; i < top; ++i) std::printf("  class %lld %.4f", static_cast<long long>(order[i]), p[order[i]]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace nn
