// Training end to end (train/trainer.h) on a small synthetic dataset: the run folder, resuming to the
// same result, frozen stages, surviving SIGKILL, stopping on a non-finite loss, and `skinnet eval` /
// `predict --checkpoint`.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/network.h"
#include "tests/check.h"
#include "tests/support.h"
#include "train/checkpoint.h"
#include "train/data/csv.h"
#include "train/data/synth/synth.h"
#include "train/trainer.h"
#include "weights/safetensors.h"

namespace nn {

namespace {

namespace fs = std::filesystem;

using test::build_dir;
using test::Capture;
using test::CommandResult;
using test::run_command;

// This process's runs and dataset, shared by the tests below (the dataset is written once), removed when the
// test binary exits.
const fs::path& test_root() {
  static const test::TempDir root("train");
  return root.path();
}

// 84 synthetic images of 64x48, written once per test binary run.
std::string small_dataset() {
  static const std::string dir = [] {
    const fs::path d = test_root() / "synthetic";
    fs::remove_all(d);
    SynthOptions o;
    o.images = 84;
    o.width = 64;
    o.height = 48;
    write_synthetic_ham10000(d.string(), o);
    return d.string();
  }();
  return dir;
}

// The learning test's dataset and run (TEST_SUITE "learning" below). It is skipped in the sanitizer build
// (make test SANITIZE=1): there the kernels are unvectorised and instrumented, and the paths it runs are the
// ones the other train tests already run under the sanitizers.
constexpr int64_t kLearnImages = 1000, kLearnEpochs = 10;
constexpr double kLearnMinBalancedAccuracy = 0.5;
using test::kSanitized;

// A quick configuration: ResNet-18 on 32x32 inputs, two stages (head, then all), 3 epochs in all, precise
// BatchNorm on 2 batches (so that pausing, resuming and a killed run cover it too).
std::vector<std::string> quick(const std::string& name) {
  return {"name=" + name, "runs_dir=" + (test_root() / "runs").string(), "data.path=" + small_dataset(),
          "data.batch_size=8", "data.workers=2", "model.input_size=32", "model.arch=resnet18",
          "optimizer.type=sgd", "optimizer.momentum=0.9", "schedule.type=cosine", "data.class_weights=true",
          "augment.vflip=0.5", "augment.brightness=0.2", "checkpoint.precise_bn_batches=2"};
}

TrainConfig two_stages(const std::vector<std::string>& overrides) {
  // Stages come from a file: flags can only change existing ones.
  const fs::path file = test_root() / "two-stages.toml";
  fs::create_directories(file.parent_path());
  std::ofstream(file) << "[[stage]]\nepochs = 1\ntrain = \"head\"\nlr = 0.01\n"
                         "[[stage]]\nepochs = 2\ntrain = \"all\"\nlr = 0.01\nbackbone_lr = 0.003\n";
  return load_config(file.string(), overrides);
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream f(p);
  REQUIRE(f.good());
  return nlohmann::json::parse(f);
}

// The history without the timings, which differ between runs.
nlohmann::json without_timings(nlohmann::json history) {
  for (auto& line : history) {
    line.erase("seconds");
    line.erase("images_per_second");
  }
  return history;
}

CommandResult run_cli(const std::string& args) {
  return run_command(build_dir() + "/skinnet " + args, Capture::stdout_and_stderr);
}

bool same_tensors(const std::string& a, const std::string& b, const std::string& skip_prefix = "") {
  const SafetensorsFile fa = SafetensorsFile::open(a), fb = SafetensorsFile::open(b);
  if (fa.names() != fb.names()) return false;
  for (const std::string& n : fa.names()) {
    if (!skip_prefix.empty() && n.rfind(skip_prefix, 0) == 0) continue;
    const Tensor x = fa.get(n), y = fb.get(n);
    if (x.shape() != y.shape() || x.dtype() != y.dtype()) return false;
    if (std::memcmp(x.raw_data(), y.raw_data(), x.numel() * dtype_size(x.dtype())) != 0) return false;
  }
  return true;
}

}  // namespace

TEST_SUITE("model") {
  TEST_CASE("train: a run writes config, split, metrics, checkpoints, predictions and the report") {
    const RunSummary r = run_training(two_stages(quick("full")), false);
    const fs::path dir = r.run_dir;
    for (const char* f : {"config.toml", "split.csv", "metrics.jsonl", "checkpoint-last.safetensors",
                          "checkpoint-best.safetensors", "model.safetensors", "metrics.json", "predictions.csv",
                          "report.html"})
      CHECK_MESSAGE(fs::exists(dir / f), f);
    CHECK(r.epochs == 3);
    // metrics.jsonl: one line per epoch, with the stage of each.
    std::ifstream log(dir / "metrics.jsonl");
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(log, line);) lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["stage"] == 1);
    CHECK(lines[2]["stage"] == 2);
    for (const auto& l : lines) CHECK(std::isfinite(l["train_loss"].get<double>()));
    // metrics.json: the test split's figures, in the schema the report reads.
    const nlohmann::json m = read_json(dir / "metrics.json");
    const CsvTable split = read_csv((dir / "split.csv").string());
    int64_t test_images = 0;
    for (const auto& row : split.rows) test_images += row[split.column("split")] == "test";
    CHECK(m["n"] == test_images);
    CHECK(m["classes"].size() == 7);
    CHECK(m["confusion"].size() == 7);
    CHECK(m["best_epoch"] == r.best_epoch);
    for (const char* k : {"accuracy", "balanced_accuracy", "loss"}) CHECK(m[k].is_number());
    // predictions.csv: ISIC format, one row per test image, probabilities summing to 1.
    const CsvTable pred = read_csv((dir / "predictions.csv").string());
    CHECK(pred.header == std::vector<std::string>{"image", "MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"});
    CHECK(static_cast<int64_t>(pred.rows.size()) == test_images);
    for (const auto& row : pred.rows) {
      double sum = 0;
      for (size_t c = 1; c < row.size(); ++c) sum += std::stod(row[c]);
      CHECK(sum == doctest::Approx(1).epsilon(1e-4));
    }
    // What a model that learned nothing scores, beside the scores: the training split's largest class (NV
    // on HAM10000's proportions) and its share of the test split; 1/7 balanced accuracy.
    const nlohmann::json& ref = m["reference"];
    CHECK(ref["majority_class"] == "NV");
    int64_t test_nv = 0;
    for (const auto& row : split.rows) test_nv += row[split.column("split")] == "test" && row[split.column("label")] == "NV";
    CHECK(ref["majority_accuracy"].get<double>() == doctest::Approx(double(test_nv) / double(test_images)));
    CHECK(ref["chance_balanced_accuracy"].get<double>() == doctest::Approx(1.0 / 7));
    // The report names the synthetic data in its title, and shows the reference levels beside the scores.
    const std::string page = test::read_file(dir / "report.html");
    CHECK(page.find("<h1>full: resnet18 on a SYNTHETIC HAM10000-format dataset</h1>") != std::string::npos);
    CHECK(page.find("always NV: ") != std::string::npos);
    CHECK(page.find("chance or always one class: 14.3%") != std::string::npos);
    // Each of the worst mistakes with its Grad-CAM maps (a quick run on synthetic data makes mistakes).
    const int64_t wrong = m["n"].get<int64_t>() - std::lround(m["accuracy"].get<double>() * m["n"].get<double>());
    REQUIRE(wrong > 0);
    const int64_t tiles = std::min<int64_t>(wrong, 16);
    int64_t captions = 0;
    for (size_t at = 0; (at = page.find("<figcaption>Grad-CAM: ", at)) != std::string::npos; ++at) ++captions;
    CHECK(captions == 2 * tiles);
    // The model file records the dataset for skinnet serve's model card.
    const SafetensorsFile model_file = SafetensorsFile::open((dir / "model.safetensors").string());
    CHECK(nlohmann::json::parse(model_file.metadata().at("dataset")) ==
          nlohmann::json{{"name", "HAM10000"}, {"synthetic", true}});

    // skinnet eval on the same split gives the same figures; predict --checkpoint names classes.
    const fs::path out = dir / "eval";
    const auto [status, text] = run_cli(fmt::format("eval --checkpoint {} --data {} --split-file {} --out {}",
                                                    (dir / "model.safetensors").string(), small_dataset(),
                                                    (dir / "split.csv").string(), out.string()));
    REQUIRE_MESSAGE(status == 0, text);
    const nlohmann::json e = read_json(out / "metrics.json");
    CHECK(e["accuracy"] == m["accuracy"]);
    CHECK(e["balanced_accuracy"] == m["balanced_accuracy"]);
    CHECK(e["confusion"] == m["confusion"]);
    const std::string image = small_dataset() + "/HAM10000_images/" + pred.rows[0][0] + ".jpg";
    const auto [pstatus, ptext] = run_cli(fmt::format("predict --checkpoint {} --json --top 2 {}",
                                                      (dir / "checkpoint-best.safetensors").string(), image));
    REQUIRE_MESSAGE(pstatus == 0, ptext);
    const nlohmann::json pj = nlohmann::json::parse(ptext.substr(ptext.find('{')));
    REQUIRE(pj["top"].size() == 2);
    const std::vector<std::string> classes = m["classes"];
    CHECK(std::find(classes.begin(), classes.end(), pj["top"][0]["class"].get<std::string>()) != classes.end());
    // Same probabilities as the run's predictions.csv for that image.
    CHECK(pj["probs"][0].get<double>() == doctest::Approx(std::stod(pred.rows[0][1])).epsilon(1e-5));
  }

  TEST_CASE("train: a run paused and resumed ends with exactly the metrics and weights of an uninterrupted one") {
    const RunSummary whole = run_training(two_stages(quick("whole")), false);
    std::vector<std::string> first = quick("resumed");
    first.push_back("checkpoint.stop_after_epochs=2");  // pause inside stage 2: the optimiser state must carry over
    const RunSummary paused = run_training(two_stages(first), false);
    CHECK(paused.epochs == 2);
    CHECK_FALSE(fs::exists(fs::path(paused.run_dir) / "metrics.json"));
    const std::string config = (fs::path(paused.run_dir) / "config.toml").string();
    const RunSummary resumed = run_training(load_config(config, {"checkpoint.stop_after_epochs=0"}), true);
    CHECK(resumed.epochs == 3);
    CHECK(resumed.best_epoch == whole.best_epoch);
    const fs::path a = whole.run_dir, b = resumed.run_dir;
    CHECK(resumed.test_metrics == whole.test_metrics);
    const auto history = [](const fs::path& dir) {
      nlohmann::json h = nlohmann::json::array();
      std::ifstream f(dir / "metrics.jsonl");
      for (std::string line; std::getline(f, line);) h.push_back(nlohmann::json::parse(line));
      return without_timings(h);
    };
    CHECK(history(a) == history(b));
    CHECK(same_tensors((a / "model.safetensors").string(), (b / "model.safetensors").string()));
    CHECK(same_tensors((a / "checkpoint-last.safetensors").string(), (b / "checkpoint-last.safetensors").string()));
  }

  TEST_CASE("train: a head-only stage changes only the head; frozen BatchNorm keeps its statistics") {
    std::vector<std::string> o = quick("head-only");
    o.insert(o.end(), {"stage.1.train=head", "stage.1.epochs=1", "model.weights="});
    const RunSummary r = run_training(load_config("", o), false);
    auto fresh = make_model("resnet18", {.num_classes = 7, .seed = 0});
    const SafetensorsFile trained = SafetensorsFile::open((fs::path(r.run_dir) / "model.safetensors").string());
    int64_t compared = 0;
    for (const auto& [name, t] : fresh->state_dict()) {
      const Tensor got = trained.get(name);
      const bool same = std::memcmp(got.raw_data(), t.raw_data(), t.numel() * dtype_size(t.dtype())) == 0;
      if (name.rfind("fc.", 0) == 0) {
        CHECK_MESSAGE(!same, name);  // the head trained
      } else {
        CHECK_MESSAGE(same, name);  // weights, running means and variances untouched
        ++compared;
      }
    }
    CHECK(compared > 100);
  }
}

TEST_SUITE("model") {
  TEST_CASE("train: killing skinnet train at any moment leaves loadable checkpoints, and --resume finishes the run") {
    const fs::path runs = test_root() / "kill-runs";
    const std::string cli = build_dir() + "/skinnet";
    std::string flags;
    for (const std::string& o : quick("killed")) flags += " --" + (o.rfind("runs_dir=", 0) == 0 ? "runs_dir=" + runs.string() : o);
    flags += " --stage.1.epochs=4";
    const fs::path dir = runs / "killed";
    // SIGKILL after 2, 3, 4, ... seconds: each time in a different place (training, validation, writing).
    bool finished = false;
    for (int seconds = 2; seconds < 40 && !finished; ++seconds) {
      const bool resume = fs::exists(dir / "checkpoint-last.safetensors");
      const std::string cmd = fmt::format("timeout -s KILL {} {} train{}{} > /dev/null 2>&1", seconds, cli, flags,
                                          resume ? " --resume" : "");
      const int status = std::system(cmd.c_str());
      finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      for (const char* f : {"checkpoint-last.safetensors", "checkpoint-best.safetensors"}) {
        if (!fs::exists(dir / f)) continue;
        const SafetensorsFile file = SafetensorsFile::open((dir / f).string());  // throws if damaged
        CHECK(checkpoint_meta(file).at("epochs_done").get<int64_t>() >= 1);
      }
      if (!resume && !fs::exists(dir / "checkpoint-last.safetensors")) fs::remove_all(dir);  // killed in epoch 1
    }
    REQUIRE(finished);
    const nlohmann::json m = read_json(dir / "metrics.json");
    CHECK(m["best_epoch"].get<int64_t>() >= 1);
    std::ifstream log(dir / "metrics.jsonl");
    int lines = 0;
    for (std::string line; std::getline(log, line);) ++lines;
    CHECK(lines == 4);  // epochs repeated after a kill are not logged twice
  }
}

// On the CUDA backend (the emulator in `make test`, the GPU in `make test-gpu`): the same run as on the CPU.
// The learning signal: a short version of `make train` (its config, on a smaller synthetic dataset and
// fewer epochs), so that a change that breaks learning fails the suite even when every op still matches
// PyTorch. One fixed seed; the margins below are wide because float summation differs between machines.
TEST_SUITE("learning") {
  TEST_CASE("train: the demo's recipe learns: a short run beats chance and the majority rule by far" *
            doctest::skip(kSanitized)) {
    const fs::path data = test_root() / "learn-synthetic";
    SynthOptions o;
    o.images = kLearnImages;
    o.width = 160;
    o.height = 120;
    write_synthetic_ham10000(data.string(), o);
    const TrainConfig c = load_config("configs/resnet18-synthetic.toml",
                                      {"name=learn", "runs_dir=" + (test_root() / "runs").string(),
                                       "data.path=" + data.string(), "stage.2.epochs=" + std::to_string(kLearnEpochs)});
    const RunSummary r = run_training(c, false);
    const nlohmann::json m = read_json(fs::path(r.run_dir) / "metrics.json");
    std::vector<nlohmann::json> history;
    std::ifstream log(fs::path(r.run_dir) / "metrics.jsonl");
    for (std::string line; std::getline(log, line);) history.push_back(nlohmann::json::parse(line));
    REQUIRE(history.size() == static_cast<size_t>(1 + kLearnEpochs));
    const double bacc = m["balanced_accuracy"], acc = m["accuracy"];
    const double majority = m["reference"]["majority_accuracy"], chance = m["reference"]["chance_balanced_accuracy"];
    const double val_first = history.front()["val_balanced_accuracy"], val_last = history.back()["val_balanced_accuracy"];
    MESSAGE(fmt::format("test balanced accuracy {:.3f} (chance {:.3f}), accuracy {:.3f} (majority rule {:.3f}); "
                        "validation balanced accuracy {:.3f} -> {:.3f}; final training accuracy {:.3f}",
                        bacc, chance, acc, majority, val_first, val_last,
                        history.back()["train_accuracy"].get<double>()));
    CHECK(bacc >= kLearnMinBalancedAccuracy);
    CHECK(acc > majority);
    CHECK(val_last >= val_first + 0.25);
    CHECK(history.back()["train_accuracy"].get<double>() >= 0.6);
  }
}

TEST_SUITE("cuda") {
  // Not in the sanitizer build: there the emulator runs blocks one at a time under ASan, and this run (a
  // ResNet-18 epoch on the emulator, then the same on the CPU) took 7 min. Its kernels run under the
  // sanitizers in the cuda tier, its training loop in the CPU cases above.
  TEST_CASE("train: device = cuda trains the head like the CPU and writes host files the CPU reads" *
            doctest::skip(kSanitized)) {
    // Head-only training (frozen backbone, its batch norms in eval mode): the CUDA run must follow the CPU
    // run closely, which a whole-network run cannot show. Training every layer of ResNet-18 at 32x32 with
    // batch 8 is chaotic: scaling one weight tensor of a CPU run by 1 + 1e-6 moves its loss by 0.8% after
    // 3 steps and 25% after 7, and the CUDA run (float32, another summation order) diverges the same way.
    // The head's training is a convex problem on fixed features, so float32 noise stays float32 noise.
    // (tests/test_cuda_model.cpp checks a whole-network forward and backward on the CUDA backend.)
    const fs::path file = test_root() / "head-stage.toml";
    fs::create_directories(file.parent_path());
    std::ofstream(file) << "[[stage]]\nepochs = 1\ntrain = \"head\"\nlr = 0.01\n";
    auto config_for = [&](const std::string& name, const std::string& device) {
      std::vector<std::string> o = quick(name);
      o.push_back("device=" + device);
      return load_config(file.string(), o);  // 7 training steps of 8 images, then val and test
    };
    const RunSummary gpu = run_training(config_for("on-cuda", "cuda"), false);
    const RunSummary cpu = run_training(config_for("on-cpu", "cpu"), false);
    CHECK(gpu.epochs == 1);
    const auto read_lines = [](const fs::path& dir) {
      std::ifstream log(dir / "metrics.jsonl");
      std::vector<nlohmann::json> lines;
      for (std::string line; std::getline(log, line);) lines.push_back(nlohmann::json::parse(line));
      return lines;
    };
    const auto g = read_lines(gpu.run_dir), c = read_lines(cpu.run_dir);
    REQUIRE(g.size() == 1);
    REQUIRE(c.size() == 1);
    // Logits agree to ~1e-6 relative (test_cuda_model.cpp); seven convex SGD steps keep that order.
    for (const char* k : {"train_loss", "train_accuracy", "val_loss", "val_accuracy"}) {
      INFO(k, ": cuda ", g[0][k].get<double>(), ", cpu ", c[0][k].get<double>());
      const double a = g[0][k].get<double>(), b = c[0][k].get<double>();
      CHECK(std::abs(a - b) <= 1e-5 * std::abs(b));
    }
    // The CUDA run's files are host files like any other: its model loads on the CPU and gives the CPU
    // run's test predictions.
    const TrainedModel trained = load_trained_model((fs::path(gpu.run_dir) / "model.safetensors").string());
    CHECK(trained.model->device() == Device::cpu());
    const nlohmann::json mg = read_json(fs::path(gpu.run_dir) / "metrics.json");
    const nlohmann::json mc = read_json(fs::path(cpu.run_dir) / "metrics.json");
    CHECK(mg["n"] == mc["n"]);
    CHECK(mg["confusion"] == mc["confusion"]);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("train: a run folder in use, a missing checkpoint and a diverging loss are clear errors") {
    std::vector<std::string> o = quick("diverge");
    o.insert(o.end(), {"optimizer.type=sgd", "stage.1.lr=1e30", "stage.1.epochs=2", "data.class_weights=false"});
    CHECK_THROWS_WITH_AS(run_training(load_config("", o), false), doctest::Contains("the training loss became"), Error);
    std::vector<std::string> once = quick("once");
    once.push_back("stage.1.epochs=1");
    run_training(load_config("", once), false);
    CHECK_THROWS_WITH_AS(run_training(load_config("", once), false), doctest::Contains("already holds a run"), Error);
    CHECK_THROWS_WITH_AS(run_training(load_config("", quick("never-ran")), true),
                         doctest::Contains("no checkpoint-last.safetensors to resume from"), Error);
    CHECK_THROWS_WITH_AS(run_training(load_config("", {"name=nodata", "runs_dir=" + (test_root() / "runs").string()}), false),
                         doctest::Contains("data.path is empty"), Error);
  }
}

}  // namespace nn
