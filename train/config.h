// The training configuration: a TOML file (configs/*.toml) with `--section.key=value` flags overriding it.
//
// Every key is declared once, in config.cpp's table, with its type, default and help: that table parses the
// file, applies the flags, validates, prints `skinnet train --help`, and writes the resolved configuration
// (config.toml in the run folder). An unknown key, in the file or as a flag, is an error that lists the
// keys of its section; a value of the wrong type names the key, the file and the line.
//
// Stages: `[[stage]]` tables, run in order in one run. Each says how many epochs, which parameters train
// (`train = "head"`, `"all"`, or a list of name prefixes such as ["layer4"] that train with the head), the
// head's and the backbone's learning rates, and whether frozen BatchNorm layers stay in eval mode. Flags
// address a stage by its 1-based number: `--stage.2.epochs=5`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "train/data/transforms.h"

namespace nn {

struct StageConfig {
  int64_t epochs = 1;
  std::vector<std::string> train{"all"};  // "head", "all", or prefixes of parameter names (plus the head)
  double lr = 0.01;                       // the head's learning rate
  double backbone_lr = -1;                // the rest's; negative: the same as lr
  bool bn_eval = true;                    // BatchNorm layers whose parameters are frozen run in eval mode
};

struct TrainConfig {
  std::string name = "run";  // the run folder is runs_dir/name
  std::string runs_dir = "runs";
  uint64_t seed = 0;
  std::string device = "cpu";           // cpu | cuda | cuda:N: where the model and its batches run
  std::string kernels = "handwritten";  // on CUDA: handwritten | vendor (cuBLAS/cuDNN)

  // [data]
  std::string data_path;
  std::string data_format = "auto";
  double val = 0.15, test = 0.15;
  std::string split_file;
  int64_t batch_size = 32;
  int64_t workers = 2;
  std::string cache = "memory";  // none | memory | disk
  std::string cache_dir;         // disk cache folder (default: run folder/cache)
  bool skip_bad_images = false;
  std::string sampling = "none";  // none | oversample | weighted
  bool class_weights = false;     // weight the loss by n / (C * n_c) of the training split
  std::string positive_class;     // melanoma tasks: the class whose sensitivity/specificity is reported

  // [model]
  std::string arch = "resnet18";
  std::string weights;         // ImageNet weights (safetensors) to fine-tune from; empty: from scratch
  int64_t input_size = 0;      // 0: the weights' preprocessing (224 for torchvision)
  int64_t resize_shorter = -1; // -1: the weights' (or input_size * 8 / 7 when input_size is set)
  double dropout = -1;            // -1: the architecture's (VGG 0.5, EfficientNet-B4 0.4, ...)
  double stochastic_depth = -1;   // EfficientNet; -1: the architecture's (0.2)
  double aux_weight = 0.4;     // inception_v3: loss = CE(logits) + aux_weight * CE(aux logits) (torchvision's recipe)
  bool sync_bn = false;        // data-parallel runs: BatchNorm statistics over every rank's batch (docs/distributed.md)

  // [augment]
  AugmentConfig augment;

  // [loss]
  double label_smoothing = 0;

  // [optimizer]
  std::string optimizer = "sgd";  // sgd | adam | adamw
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 1e-4;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double clip_grad_norm = 0;  // 0: off

  // [schedule]
  std::string schedule = "cosine";  // none | step | cosine | plateau (per stage)
  int64_t step_size = 10;
  double gamma = 0.1;
  int64_t warmup_epochs = 0;
  double warmup_start_factor = 0.1;
  double min_lr = 0;
  double plateau_factor = 0.1;
  int64_t plateau_patience = 2;

  // [checkpoint]
  std::string select = "val_balanced_accuracy";  // val_balanced_accuracy | val_accuracy | val_loss
  int64_t early_stopping = 0;                    // epochs without improvement before stopping; 0: never
  bool tta = false;                              // test-time augmentation: average over flips
  int64_t precise_bn_batches = 0;                // BatchNorm statistics re-estimated on this many batches before
                                                 // each validation (0: the running averages as they are)
  double bucket_mb = 25;        // data-parallel gradient buckets (MiB), after a first one of first_bucket_mb
  double first_bucket_mb = 1;
  int64_t stop_after_epochs = 0;                 // pause the run after this many epochs in all (resume later)

  std::vector<StageConfig> stages{StageConfig{}};
};

// Reads `path` (may be empty: defaults only) and applies `overrides` ("section.key=value" strings, as
// given after `--`). Validates everything; errors name the file/line or the flag.
// "cpu", "cuda" or "cuda:N" as a Device; anything else, or a CUDA device this build or machine lacks, fails
// naming `where` and the text.
Device parse_device(const std::string& text, const std::string& where);

TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

// The resolved configuration as TOML (every key, with its value), as saved in the run folder.
std::string config_to_toml(const TrainConfig& config);

// One line per key: name, default and help, for `skinnet train --help`.
std::string config_help();
// Every key a flag can set (stage keys as stage.1's), with its default and help: completion and docs/cli.md.
struct ConfigKey {
  std::string key, default_value, help;
};
std::vector<ConfigKey> config_keys();
// Checks one override ("key=value") on its own, against the defaults: an unknown key or a value of the wrong
// type fails naming the flag. A stage key is checked as stage 1's (how many stages there are is the file's).
void check_override(const std::string& text);

}  // namespace nn
