// skinnet explain: Grad-CAM maps of a model's decision, drawn over the images (models/gradcam.h, docs/explain.md).
//
//   skinnet explain --checkpoint runs/demo/model.safetensors --out cams lesion.jpg      the top class
//   skinnet explain --checkpoint C --top 3 --out cams a.jpg b.jpg                      the 3 most probable classes
//   skinnet explain --checkpoint C --class MEL --layer layer3 --json a.jpg            a chosen class and layer
//
// Writes OUT/<image stem>_<class>.png per image and class: the image as given with the normalised map laid
// over the region the network saw, and a colour bar. --json prints one object per image with, per class, the
// probability and the raw map at the target layer's resolution (before normalisation), so other tools can
// check it.
#include <cstdio>
#include <filesystem>
#include <set>

#include "layers/fused.h"
#include "models/gradcam.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "tools/skinnet/model_source.h"
#include "train/data/image.h"
#include "train/report/overlay.h"

namespace nn {

namespace {

// A class given as its name (as the model's classes spell it) or its index.
int64_t parse_class(const std::string& value, const std::vector<std::string>& names, int64_t num_classes) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == value) return static_cast<int64_t>(i);
  const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
  NN_USAGE_CHECK(digits && std::stoll(value) < num_classes, "--class {}: not a class of this model ({})", value,
                 names.empty() ? fmt::format("an index 0..{}", num_classes - 1) : fmt::format("{}", fmt::join(names, ", ")));
  return std::stoll(value);
}

// A class name as part of a file name: letters, digits, '-' and '_' kept, anything else '_'.
std::string file_part(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  return s;
}

}  // namespace

Flags explain_flags() {
  Flags flags("explain", "Grad-CAM: where in each image the model found the evidence for a class.",
              "skinnet explain (--checkpoint C | --arch A --weights W) [--layer L] [--class K | --top N] "
              "(--out DIR | --json) IMAGE...");
  add_model_flags(flags);
  flags.add("layer", "", "the layer whose activations are explained (default: the network's last feature block, "
                         "e.g. layer4 for ResNet)")
      .add("class", "", "explain this class (its name or index) instead of the most probable ones")
      .add("top", "1", "explain the N most probable classes of each image")
      .add("out", "", "folder for the PNG overlays (created if missing)")
      .add_switch("json", "print per image the classes, probabilities and raw maps at the layer's resolution");
  flags.epilog(
      "Each PNG is the image as given, the map (normalised to [0, 1], jet colours: blue 0, red 1) laid over the "
      "part the network saw after its eval crop, the rest darkened, and a colour bar. docs/explain.md explains "
      "the maths and how to read the maps.");
  return flags;
}

int explain_main(int argc, char** argv) {
  Flags flags = explain_flags();
  if (!flags.parse(argc, argv)) return 0;
  NN_USAGE_CHECK(!flags.positional().empty(), "no images given");
  const bool json = flags.on("json");
  const std::string out = flags.str("out");
  NN_USAGE_CHECK(json || !out.empty(), "give --out DIR for the overlays, --json for the maps, or both");
  NN_USAGE_CHECK(flags.integer("top") > 0, "--top must be positive");
  NN_USAGE_CHECK(flags.str("class").empty() || !flags.given("top"), "give --class or --top, not both");
  const LoadedModel loaded = load_model_from_flags(flags);
  Network& model = *loaded.model;
  const int64_t num_classes = model.num_classes();
  const int64_t chosen = flags.str("class").empty() ? -1 : parse_class(flags.str("class"), loaded.classes, num_classes);
  fuse_for_inference(model);  // the layers before the target run fused (models/gradcam.h)
  GradCam cam(model, flags.str("layer"));
  if (!out.empty()) std::filesystem::create_directories(out);

  std::set<std::string> stems;  // two inputs with the same file name get their position in the output names
  for (size_t i = 0; i < flags.positional().size(); ++i) {
    const std::string& path = flags.positional()[i];
    std::string stem = std::filesystem::path(path).stem().string();
    if (!stems.insert(stem).second) stem = fmt::format("{}-{}", stem, i);
    const Image image = decode_image(path);
    const Tensor logits = cam.forward(preprocess_image(image, loaded.prep).unsqueeze(0));
    const std::vector<float> probs = softmax(logits.squeeze(0), 0).to_vector<float>();
    const std::vector<int64_t> classes =
        chosen >= 0 ? std::vector<int64_t>{chosen} : top_classes(probs, flags.integer("top"));
    nlohmann::json j{{"image", path}, {"layer", cam.layer()}, {"classes", nlohmann::json::array()}};
    for (int64_t c : classes) {
      const Tensor raw = cam.maps({c});  // [1, h, w]
      const int64_t h = raw.size(1), w = raw.size(2);
      const std::vector<float> values = raw.to_vector<float>();
      nlohmann::json entry{{"class", class_name(loaded.classes, c)},
                           {"name", class_label(loaded.classes, c)},
                           {"index", c},
                           {"prob", probs[static_cast<size_t>(c)]}};
      if (!out.empty()) {
        const std::string png =
            (std::filesystem::path(out) / fmt::format("{}_{}.png", stem, file_part(entry["class"]))).string();
        encode_image(cam_overlay(image, loaded.prep, normalize_cam(values), h, w), png);
        entry["png"] = png;
        if (!json)
          std::printf("%s: %s %.4f -> %s\n", path.c_str(), entry["name"].get<std::string>().c_str(),
                      probs[static_cast<size_t>(c)], png.c_str());
      }
      if (json) {
        nlohmann::json rows = nlohmann::json::array();
        for (int64_t y = 0; y < h; ++y)
          rows.push_back(std::vector<float>(values.begin() + y * w, values.begin() + (y + 1) * w));
        entry["map"] = rows;
      }
      j["classes"].push_back(entry);
    }
    if (json) std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

}  // namespace nn
