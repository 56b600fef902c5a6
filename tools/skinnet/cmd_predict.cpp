// skinnet predict: classify images with a model and weights, preprocessing them as the weights file says.
//
//   skinnet predict --checkpoint runs/demo/model.safetensors lesion.jpg       a trained model: class names
//   skinnet predict --arch resnet50 --weights weights/resnet50.safetensors --json a.jpg b.png
//   {"image": "a.jpg", "logits": [...], "probs": [...], "top": [{"class": ..., "prob": ...}, ...]}
#include <cstdio>
#include <nlohmann/json.hpp>

#include "layers/fused.h"
#include "models/network.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/checkpoint.h"
#include "train/data/image.h"
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
  flags.add("checkpoint", "", "a model trained by skinnet (runs/<name>/model.safetensors or a checkpoint): "
                             "architecture, class names and preprocessing come from it")
      .add("arch", "", fmt::format("architecture: {}", fmt::join(model_archs(), ", ")))
      .add("weights", "", "a safetensors file from weights/convert.py (or a skinnet run), with its preprocessing")
      .add("num-classes", "auto", "classes of the head; auto reads them from the weights file")
      .add("top", "5", "classes listed per image without --json")
      .add_switch("json", "print one JSON object per image: image, logits, probs");
  if (!flags.parse(argc, argv)) return 0;
  NN_CHECK(!flags.positional().empty(), "skinnet predict: no images given");
  std::shared_ptr<Network> model;
  Preprocessing prep;
  std::vector<std::string> names;  // class names; ImageNet weights have none
  if (!flags.str("checkpoint").empty()) {
    NN_CHECK(flags.str("weights").empty(), "skinnet predict: give --checkpoint or --weights, not both");
    TrainedModel trained = load_trained_model(flags.str("checkpoint"));
    model = trained.model;
    prep = trained.prep;
    names = trained.classes;
  } else {
    NN_CHECK(!flags.str("arch").empty() && !flags.str("weights").empty(),
             "skinnet predict: give --checkpoint (a skinnet run's model), or --arch and --weights");
    const SafetensorsFile file = SafetensorsFile::open(flags.str("weights"));
    if (auto it = file.metadata().find("arch"); it != file.metadata().end())
      NN_CHECK(it->second == flags.str("arch"), "{}: holds {} weights, not {}; pass --arch={}", file.path(), it->second,
               flags.str("arch"), it->second);
    prep = weights_preprocessing(file);
    const int64_t n = flags.str("num-classes") == "auto" ? head_classes(file, flags.str("arch"))
                                                         : flags.integer("num-classes");
    model = make_model(flags.str("arch"), {.num_classes = n, .init = false});  // weights come next
    load_weights(*model, file, LoadMode::strict);
  }
  fuse_for_inference(*model);  // conv -> batch norm -> ReLU as one convolution (layers/fused.h)
  const int64_t classes = model->num_classes();
  auto name_of = [&](int64_t c) { return names.empty() ? fmt::format("class {}", c) : names[c]; };
  model->eval();
  NoGradGuard no_grad;
  const int64_t top = std::min(flags.integer("top"), classes);
  for (const std::string& path : flags.positional()) {
    const Tensor x = preprocess_image(decode_image(path), prep).unsqueeze(0);
    const Tensor logits = (*model)(x).squeeze(0);
    const std::vector<float> l = logits.to_vector<float>(), p = softmax(logits, 0).to_vector<float>();
    std::vector<int64_t> order(l.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
    if (flags.on("json")) {
      nlohmann::json j{{"image", path}, {"logits", l}, {"probs", p}, {"top", nlohmann::json::array()}};
      if (!names.empty()) j["classes"] = names;
      for (int64_t i = 0; i < top; ++i) j["top"].push_back({{"class", name_of(order[i])}, {"prob", p[order[i]]}});
      std::printf("%s\n", j.dump().c_str());
      continue;
    }
    std::printf("%s:", path.c_str());
    for (int64_t i = 0; i < top; ++i) std::printf("  %s %.4f", name_of(order[i]).c_str(), p[order[i]]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace nn
