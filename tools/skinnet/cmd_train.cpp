// skinnet train: fine-tune a network on a dataset, as a config file and flags describe (train/config.h).
//
//   skinnet train --config configs/resnet18-synthetic.toml --data.path=data/synthetic-ham10000
//   skinnet train --resume --name=resnet18-synthetic        continue runs/resnet18-synthetic
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/error.h"
#include "tools/skinnet/commands.h"
#include "train/config.h"
#include "train/trainer.h"

namespace nn {

namespace {

void print_help() {
  std::printf(
      "usage: skinnet train [--config FILE.toml] [--resume] [--section.key=value ...]\n"
      "Fine-tunes a network: lesion-grouped split, stages, validation every epoch, test at the end, and a run\n"
      "folder runs/<name>/ with config.toml, split.csv, metrics.jsonl, checkpoints, metrics.json,\n"
      "predictions.csv and report.html (docs/training.md).\n\n"
      "  --config FILE     a TOML file (configs/*.toml); flags override its keys\n"
      "  --resume          continue runs_dir/name from its last checkpoint; without --config, the run's own\n"
      "                    config.toml is used (give --name=... and, if not 'runs', --runs_dir=...)\n\n"
      "settings (a stage N is addressed as --stage.N.key):\n%s",
      config_help().c_str());
}

}  // namespace

int train_main(int argc, char** argv) {
  std::string config_path;
  bool resume = false;
  std::vector<std::string> overrides;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      print_help();
      return 0;
    }
    NN_CHECK(a.rfind("--", 0) == 0, "skinnet train: unexpected argument '{}' (settings are --section.key=value)", a);
    a = a.substr(2);
    if (a == "resume") {
      resume = true;
      continue;
    }
    if (a.find('=') == std::string::npos) {  // --key value
      NN_CHECK(i + 1 < argc, "skinnet train: --{} needs a value", a);
      a += std::string("=") + argv[++i];
    }
    if (a.rfind("config=", 0) == 0) {
      config_path = a.substr(7);
    } else {
      overrides.push_back(a);
    }
  }
  if (resume && config_path.empty()) {
    // The run's own config: its folder comes from --name (and --runs_dir) given as overrides.
    const TrainConfig named = load_config("", overrides);
    config_path = (std::filesystem::path(named.runs_dir) / named.name / "config.toml").string();
    NN_CHECK(std::filesystem::exists(config_path), "skinnet train --resume: {} does not exist (give --name=RUN)",
             config_path);
  }
  const TrainConfig config = load_config(config_path, overrides);
  std::printf("config%s%s:\n%s\n", config_path.empty() ? "" : " ", config_path.c_str(), config_to_toml(config).c_str());
  run_training(config, resume);
  return 0;
}

}  // namespace nn
