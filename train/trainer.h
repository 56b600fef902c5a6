// The experiment end to end: `skinnet train` (and `make train`) call run_training().
//
// One run, in runs/<name>/:
//   config.toml         the resolved configuration (every key)
//   split.csv           which image went to train, val and test (lesion-grouped; reusable)
//   metrics.jsonl       one JSON line per epoch: lr, train loss/accuracy, val loss/accuracy/balanced accuracy
//   checkpoint-last.safetensors, checkpoint-best.safetensors   (train/checkpoint.h; written atomically)
//   model.safetensors   the best model as a weights file (arch, preprocessing, classes in its metadata)
//   metrics.json        the test set's metrics (train/report/metrics.h) of the best checkpoint
//   predictions.csv     test probabilities in the ISIC submission format
//   report.html         curves, confusion matrix, ROC curves, per-class table, worst mistakes
//
// Stages run in order (config.h); each builds its optimiser and schedule afresh for the parameters it
// trains. After every epoch the model is evaluated on the validation split; the best epoch by
// checkpoint.select is kept, and early stopping counts epochs since it. The test split is evaluated once,
// at the end, with the best checkpoint.
//
// Resuming (`--resume`): the last checkpoint restores the model, the optimiser and schedule, the dropout
// generators, the history and the best score; the data order and augmentation depend only on (seed,
// epoch, position), so on the CPU a resumed run ends with exactly the metrics of an uninterrupted one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "train/config.h"
#include "train/log.h"

namespace nn {

struct RunSummary {
  std::string run_dir;
  nlohmann::json test_metrics;  // metrics_json of the test split, plus "loss"
  int64_t epochs = 0;           // epochs completed
  int64_t best_epoch = 0;       // 1-based
  bool stopped_early = false;
};

// Trains, evaluates and reports. With `resume`, continues runs_dir/name from checkpoint-last (the config
// given should be the run's config.toml, with any overrides).
// `log`: what is printed (train/log.h); the run folder's files are the same whatever it is. With several
// ranks (docs/distributed.md) rank 0's log prints and the others get LogFormat::silent (skinnet train's
// train_ranks does so).
RunSummary run_training(const TrainConfig& config, bool resume, const RunLog& log = RunLog());

// Data-parallel runs (docs/distributed.md): the line rank 0 prints first, with the world's size, ranks per
// node, transport, threads per rank and the gradient bucket sizes.
std::string distributed_line(const TrainConfig& config);

}  // namespace nn
