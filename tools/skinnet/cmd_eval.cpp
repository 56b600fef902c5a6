// skinnet eval: a trained model's metrics on a dataset (or one split of it).
//
//   skinnet eval --checkpoint runs/demo/model.safetensors --data data/synthetic-ham10000
//                --split-file runs/demo/split.csv --split test --out runs/demo/eval
#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "layers/fused.h"
#include "tools/skinnet/commands.h"
#include "tools/skinnet/flags.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/data/dataset.h"
#include "train/data/split.h"
#include "train/evaluate.h"
#include "train/report/metrics.h"

namespace nn {

Flags eval_flags() {
  Flags flags("eval", "Evaluates a trained model (a run's model.safetensors or checkpoint) on a dataset.");
  flags.add("checkpoint", "", "runs/<name>/model.safetensors or checkpoint-best.safetensors")
      .add("data", "", "dataset folder or ground-truth CSV (docs/data.md)")
      .add("format", "auto", "auto, ham10000, isic2018, isic2016, isic2017 or imagefolder")
      .add("split-file", "", "a run's split.csv: evaluate one of its splits (see --split)")
      .add("split", "test", "with --split-file: train, val or test")
      .add("positive-class", "", "class for sensitivity at fixed specificity, IoU and Dice (e.g. MEL)")
      .add("batch-size", "32", "images per batch")
      .add("workers", "2", "loader threads")
      .add("device", "cpu", "cpu, cuda or cuda:N: where the model runs")
      .add("out", "", "folder to write metrics.json and predictions.csv into")
      .add_switch("tta", "average the predictions over horizontal and vertical flips")
      .add_switch("skip-bad-images", "unreadable images: a counted warning, not an error");
  return flags;
}

int eval_main(int argc, char** argv) {
  Flags flags = eval_flags();
  if (!flags.parse(argc, argv)) return 0;
  flags.require("checkpoint", "the model to evaluate").require("data", "the dataset");
  const std::string which = flags.str("split");
  NN_USAGE_CHECK(which == "train" || which == "val" || which == "test", "--split is train, val or test, not '{}'",
             which);
  NN_USAGE_CHECK(flags.integer("batch-size") > 0 && flags.integer("workers") > 0,
                 "--batch-size and --workers must be positive");
  const Device device = parse_device(flags.str("device"), "--device");
  const TrainedModel trained = load_trained_model(flags.str("checkpoint"));
  trained.model->to(device);
  fuse_for_inference(*trained.model);  // conv -> batch norm -> ReLU as one convolution on the CPU (layers/fused.h)
  const Dataset data = open_dataset(flags.str("data"), flags.str("format") == "auto" ? "" : flags.str("format"));
  NN_CHECK(data.classes == trained.classes, "{}: the dataset's classes ({}) are not the model's ({})", data.root,
           fmt::format("{}", fmt::join(data.classes, ", ")), fmt::format("{}", fmt::join(trained.classes, ", ")));
  std::vector<int64_t> indices;
  if (!flags.str("split-file").empty()) {
    const Split split = read_split_csv(flags.str("split-file"), data);
    indices = which == "train" ? split.train : which == "val" ? split.val : split.test;
  } else {
    for (size_t i = 0; i < data.samples.size(); ++i) indices.push_back(static_cast<int64_t>(i));
  }
  NN_CHECK(!indices.empty(), "no images to evaluate");
  int64_t positive = -1;
  for (size_t i = 0; i < data.classes.size(); ++i)
    if (data.classes[i] == flags.str("positive-class")) positive = static_cast<int64_t>(i);
  NN_USAGE_CHECK(flags.str("positive-class").empty() || positive >= 0, "--positive-class {} is not one of {}",
           flags.str("positive-class"), fmt::format("{}", fmt::join(data.classes, ", ")));

  EvalOptions eo;
  eo.batch_size = flags.integer("batch-size");
  eo.workers = static_cast<int>(flags.integer("workers"));
  eo.tta = flags.on("tta");
  eo.skip_bad_images = flags.on("skip-bad-images");
  const Predictions p = predict_samples(*trained.model, data, indices, trained.prep, eo);
  const Metrics m = compute_metrics(p.labels, p.probs, data.classes, positive);
  std::printf("%s: %zu images, loss %.4f\n%s", data.root.c_str(), indices.size(), p.loss, metrics_table(m).c_str());
  if (!flags.str("out").empty()) {
    std::filesystem::create_directories(flags.str("out"));
    nlohmann::json j = metrics_json(m);
    j["loss"] = p.loss;
    write_file_atomically((std::filesystem::path(flags.str("out")) / "metrics.json").string(), j.dump(2) + "\n");
    write_predictions_csv((std::filesystem::path(flags.str("out")) / "predictions.csv").string(), data, p);
    std::printf("wrote %s/metrics.json and predictions.csv\n", flags.str("out").c_str());
  }
  return 0;
}

}  // namespace nn
