// skinnet train: fine-tune a network on a dataset, as a config file and flags describe (train/config.h).
//
//   skinnet train --config configs/resnet18-synthetic.toml --data data/synthetic-ham10000 --epochs 5
//   skinnet train --config configs/resnet50-ham10000.toml --data.batch_size=16 --stage.2.lr=1e-4
//   skinnet train --resume --name resnet18-synthetic        continue runs/resnet18-synthetic
//
// Every config key is a flag (--section.key value); the shorthands people type (--data, --arch, --epochs,
// ...) are aliases of keys, listed in --help as such, and end up in the run's config.toml like any key.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <string>
#include <vector>

#include <omp.h>
#include <sched.h>

#include <thread>

#include "base/error.h"
#include "tools/skinnet/commands.h"
#include "train/dist/world.h"
#include "train/config.h"
#include "train/log.h"
#include "train/trainer.h"

namespace nn {

namespace {

// Shorthand -> the config key it sets. --epochs and --lr go to the last stage (resolved once the stages of
// the config file are known); --out DIR sets runs_dir and name.
struct Shorthand {
  const char* flag;
  const char* key;
  const char* help;
};
constexpr Shorthand kShorthands[] = {
    {"data", "data.path", "dataset folder or ground-truth CSV"},
    {"arch", "model.arch", "architecture (resnet18/34/50/101/152, vgg11/13/16/19 and _bn)"},
    {"weights", "model.weights", "ImageNet weights to fine-tune from (safetensors)"},
    {"epochs", "stage.LAST.epochs", "epochs of the last stage (or the only one)"},
    {"lr", "stage.LAST.lr", "learning rate (the head's) of the last stage (or the only one)"},
    {"batch-size", "data.batch_size", "images per batch"},
    {"workers", "data.workers", "loader threads"},
    {"device", "device", "cpu, cuda or cuda:N"},
    {"seed", "seed", "seed of the split, initialisation, data order and augmentation"},
    {"name", "name", "run name: the run folder is runs_dir/name"},
    {"out", "runs_dir + name", "the run folder itself: runs_dir is its parent, name its last component"},
};

// The config key a flag names (--data.batch_size, --data.batch-size, --stage.2.lr, --runs_dir), if any.
std::optional<std::string> config_flag(const std::string& name) {
  std::string key = name;
  std::replace(key.begin(), key.end(), '-', '_');
  if (key.rfind("stage.", 0) == 0) return key;
  for (const ConfigKey& k : config_keys())
    if (k.key == key) return key;
  return std::nullopt;
}

// A setting given as a flag ("key=value"), checked on its own: a mistake in it is a usage error (exit 2),
// where the same mistake in the config file is the file's (exit 1).
void check_setting_flag(const std::string& setting, const std::string& prefix = "") {
  try {
    check_override(setting);
  } catch (const Error& e) {
    throw UsageError(prefix + e.what());
  }
}

// The resolved config, printed (text) or as the first event (json), then the run.
void train(const TrainConfig& config, const std::string& config_path, bool resume, const RunLog& log) {
  const std::string toml = config_to_toml(config);
  log.text(fmt::format("config{}{}:\n{}", config_path.empty() ? "" : " ", config_path, toml));
  log.event("config", {{"file", config_path}, {"name", config.name}, {"runs_dir", config.runs_dir},
                       {"arch", config.arch}, {"resume", resume}, {"toml", toml}});
  run_training(config, resume, log);
}

// One rank of a data-parallel run (docs/distributed.md). Each rank runs as many threads as it has cores:
// the node's cores shared among its ranks, and no more than mpirun bound it to (OMP_NUM_THREADS overrides).
// Rank 0 prints, the others are silent. An error on any rank ends every rank with that rank's message
// (World::fail), never a hang.
int train_ranks(const TrainConfig& config, const std::string& config_path, bool resume, LogFormat format) {
  dist::World& world = dist::World::get();
  world.init();
  if (!std::getenv("OMP_NUM_THREADS")) {
    cpu_set_t allowed;
    const int bound = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : 1;
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    omp_set_num_threads(std::max(1, std::min(bound, cores / world.local_size())));
  }
  try {
    const RunLog log(world.rank() == 0 ? format : LogFormat::silent);
    log.text(distributed_line(config));
    train(config, config_path, resume, log);
  } catch (const std::exception& e) {
    world.fail(fmt::format("skinnet train: error: {}", e.what()));
  }
  world.finalize();
  return kExitOk;
}

}  // namespace

Flags train_flags() {
  Flags flags("train",
              "Fine-tunes a network: lesion-grouped split, stages, validation every epoch, test at the end, and a run\n"
              "folder runs/<name>/ with config.toml, split.csv, metrics.jsonl, checkpoints, metrics.json,\n"
              "predictions.csv and report.html (docs/training.md).",
              "skinnet train [--config FILE.toml] [--resume] [--section.key value ...]");
  flags.add("config", "", "a TOML file (configs/*.toml); flags override its keys")
      .add_switch("resume", "continue runs_dir/name from its last checkpoint; without --config, the run's own "
                            "config.toml is used (give --name, or --out)")
      .add("log-format", "text", "text (for people) or json (one JSON object per event on stdout, for scripts)")
      .add_switch("quiet", "print nothing but warnings and errors (the run folder gets everything)");
  for (const Shorthand& s : kShorthands) flags.add(s.flag, "the config's", fmt::format("= {}: {}", s.key, s.help));
  std::string settings = "\nsettings, every key of the config file (a stage N is addressed as --stage.N.key):\n";
  settings += config_help();
  flags.pass_through(config_flag).epilog(settings);
  return flags;
}

int train_main(int argc, char** argv) {
  Flags flags = train_flags();
  if (!flags.parse(argc, argv)) return kExitOk;
  NN_USAGE_CHECK(flags.positional().empty(), "unexpected argument '{}' (settings are --section.key value)",
                 flags.positional().front());
  NN_USAGE_CHECK(!(flags.on("quiet") && flags.given("log-format")), "give --quiet or --log-format, not both");
  const std::optional<LogFormat> text_or_json = parse_log_format(flags.str("log-format"));
  NN_USAGE_CHECK(text_or_json, "--log-format = '{}' is not a log format: text or json", flags.str("log-format"));
  const LogFormat format = flags.on("quiet") ? LogFormat::quiet : *text_or_json;

  // Settings given as flags, checked one by one first (check_setting_flag).
  std::vector<std::string> overrides = flags.extra();
  std::vector<std::pair<std::string, std::string>> last_stage;  // --epochs, --lr: key in the last stage
  for (const Shorthand& s : kShorthands) {
    if (!flags.given(s.flag)) continue;
    const std::string v = flags.str(s.flag), key = s.key;
    if (key == "runs_dir + name") {
      const std::filesystem::path out = std::filesystem::path(v).lexically_normal();
      NN_USAGE_CHECK(!out.filename().empty() && out.filename() != "." && out.filename() != "..",
                     "--out {}: name the run folder itself (e.g. runs/try1)", v);
      overrides.push_back("runs_dir=" + (out.has_parent_path() ? out.parent_path().string() : std::string(".")));
      overrides.push_back("name=" + out.filename().string());
    } else if (key.rfind("stage.LAST.", 0) == 0) {
      last_stage.emplace_back(key.substr(11), v);
      check_setting_flag("stage.1." + key.substr(11) + "=" + v, fmt::format("--{}: ", s.flag));
    } else {
      overrides.push_back(key + "=" + v);
    }
  }
  for (const std::string& o : overrides) check_setting_flag(o);

  std::string config_path = flags.str("config");
  const bool resume = flags.on("resume");
  if (resume && config_path.empty()) {
    // The run's own config: its folder comes from --name (and --runs_dir) given as overrides.
    const TrainConfig named = load_config("", overrides);
    config_path = (std::filesystem::path(named.runs_dir) / named.name / "config.toml").string();
    NN_CHECK(std::filesystem::exists(config_path), "--resume: {} does not exist (give --name=RUN)", config_path);
  }
  if (!last_stage.empty()) {  // the stages are the file's: address the last one
    const size_t stages = load_config(config_path, overrides).stages.size();
    for (const auto& [key, value] : last_stage) overrides.push_back(fmt::format("stage.{}.{}={}", stages, key, value));
  }
  const TrainConfig config = load_config(config_path, overrides);
  // Started by mpirun (or another launcher), even as a single rank: MPI, and the ranks' way of running.
  if (dist::World::launched()) return train_ranks(config, config_path, resume, format);
  train(config, config_path, resume, RunLog(format));
  return kExitOk;
}

}  // namespace nn
