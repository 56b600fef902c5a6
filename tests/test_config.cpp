// Training configuration (train/config.h): TOML files, flag overrides, stages, validation and the
// resolved config.toml.
#include <filesystem>

#include "tests/check.h"
#include "tests/support.h"
#include "train/config.h"

namespace nn {

using test::TempDir;

TEST_SUITE("data") {
  TEST_CASE("config: a TOML file sets every kind of key; flags override it; stages keep their order") {
    const TempDir t("config");
    const std::string path = t.write("full.toml", R"(
name = "exp1"
seed = 7
[data]
path = "data/x"
batch_size = 16
class_weights = true
[model]
arch = "vgg19"
[augment]
fill = "constant"
geometry = "resize"
hflip = 0.25
rot90 = true
[optimizer]
type = "adam"
weight_decay = 0       # an integer where a number is expected is fine
[[stage]]
epochs = 2
train = "head"
lr = 0.01
[[stage]]
epochs = 5
train = ["layer4", "layer3"]
lr = 1e-3
backbone_lr = 1e-4
bn_eval = false
)");
    const TrainConfig c = load_config(path, {"data.batch_size=8", "stage.2.epochs=6", "augment.hflip=0.5", "seed=9"});
    CHECK(c.name == "exp1");
    CHECK(c.seed == 9);
    CHECK(c.data_path == "data/x");
    CHECK(c.batch_size == 8);
    CHECK(c.class_weights);
    CHECK(c.arch == "vgg19");
    CHECK(c.augment.fill == FillMode::constant);
    CHECK(c.augment.geometry == Geometry::resize);
    CHECK(c.augment.hflip == 0.5);
    CHECK(c.augment.rot90);
    CHECK(c.optimizer == "adam");
    CHECK(c.weight_decay == 0);
    REQUIRE(c.stages.size() == 2);
    CHECK(c.stages[0].epochs == 2);
    CHECK(c.stages[0].train == std::vector<std::string>{"head"});
    CHECK(c.stages[1].epochs == 6);
    CHECK(c.stages[1].train == std::vector<std::string>{"layer4", "layer3"});
    CHECK(c.stages[1].backbone_lr == 1e-4);
    CHECK_FALSE(c.stages[1].bn_eval);
  }

  TEST_CASE("config: the resolved config.toml reads back to the same configuration") {
    TrainConfig c = load_config("", {"name=rt", "optimizer.momentum=0.8", "model.weights=w \"quoted\".safetensors",
                                     "augment.hue=0.05"});
    const std::string text = config_to_toml(c);
    const TempDir t("config");
    const TrainConfig again = load_config(t.write("rt.toml", text), {});
    CHECK(config_to_toml(again) == text);
    CHECK(again.momentum == 0.8);
    CHECK(again.weights == "w \"quoted\".safetensors");
    CHECK(text.find("[[stage]]") != std::string::npos);
    CHECK(config_help().find("--optimizer.momentum") != std::string::npos);
  }

  TEST_CASE("config: every recipe in configs/ loads, and the two demos are fine-tunes in two stages") {
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator("configs")) {
      if (e.path().extension() != ".toml") continue;
      CAPTURE(e.path().string());
      const TrainConfig c = load_config(e.path().string(), {});
      CHECK(c.name == e.path().stem().string());
      ++files;
    }
    CHECK(files >= 4);
    // The demo `make train` runs, from scratch and from ImageNet: the head alone, then everything; with
    // ImageNet weights the pretrained backbone learns more slowly than the new head.
    for (const char* f : {"configs/resnet18-synthetic.toml", "configs/resnet18-synthetic-imagenet.toml"}) {
      CAPTURE(f);
      const TrainConfig c = load_config(f, {});
      REQUIRE(c.stages.size() == 2);
      CHECK(c.stages[0].train == std::vector<std::string>{"head"});
      CHECK(c.stages[1].train == std::vector<std::string>{"all"});
    }
    const TrainConfig finetune = load_config("configs/resnet18-synthetic-imagenet.toml", {});
    CHECK(finetune.weights == "weights/resnet18.safetensors");
    CHECK(finetune.stages[1].backbone_lr < finetune.stages[1].lr);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("config: unknown keys, wrong types and bad values name the file and line or the flag") {
    const TempDir t("config");
    const std::string unknown = t.write("unknown.toml", "[data]\npath = \"x\"\nbatchsize = 3\n");
    CHECK_THROWS_WITH_AS(load_config(unknown, {}), doctest::Contains("unknown.toml:3: unknown key 'data.batchsize'"), Error);
    CHECK_THROWS_WITH_AS(load_config(unknown, {}), doctest::Contains("data.batch_size"), Error);  // lists the known keys
    const std::string type = t.write("type.toml", "[data]\nbatch_size = \"big\"\n");
    CHECK_THROWS_WITH_AS(load_config(type, {}), doctest::Contains("type.toml:2: data.batch_size must be an integer"), Error);
    const std::string syntax = t.write("syntax.toml", "[data\n");
    CHECK_THROWS_WITH_AS(load_config(syntax, {}), doctest::Contains("syntax.toml:1"), Error);
    const std::string stage = t.write("stage.toml", "[[stage]]\nepochs = 1\nlearning_rate = 3\n");
    CHECK_THROWS_WITH_AS(load_config(stage, {}), doctest::Contains("stage.toml:3: unknown key 'learning_rate'"), Error);
    CHECK_THROWS_WITH_AS(load_config("", {"optimizer.lr=0.1"}), doctest::Contains("--optimizer.lr: unknown setting"), Error);
    CHECK_THROWS_WITH_AS(load_config("", {"device=gpu"}), doctest::Contains("device = 'gpu' is not a device: cpu, cuda or cuda:N"),
                         Error);
    CHECK_THROWS_WITH_AS(load_config("", {"device=cuda:x"}), doctest::Contains("'cuda:x' is not a device"), Error);
    // No machine has a 100th GPU: the message says whether CUDA is missing from the build or the device.
    CHECK_THROWS_WITH_AS(load_config("", {"device=cuda:99"}), doctest::Contains("device = 'cuda:99', but"), Error);
    CHECK_THROWS_WITH_AS(load_config("", {"kernels=cudnn"}), doctest::Contains("kernels = 'cudnn' is not one of handwritten, vendor"),
                         Error);
    CHECK_THROWS_WITH_AS(load_config("", {"data.batch_size=3x"}), doctest::Contains("--data.batch_size: '3x' is not an integer"),
                         Error);
    CHECK_THROWS_WITH_AS(load_config("", {"stage.2.epochs=3"}), doctest::Contains("N from 1 to 1"), Error);
    CHECK_THROWS_WITH_AS(load_config("", {"data.cache=ram"}), doctest::Contains("data.cache = 'ram' is not one of none, memory, disk"),
                         Error);
    CHECK_THROWS_WITH_AS(load_config("", {"augment.hflip=2"}), doctest::Contains("[augment]"), Error);
    CHECK_THROWS_WITH_AS(load_config("", {"stage.1.lr=0"}), doctest::Contains("stage 1: lr must be positive"), Error);
    CHECK_THROWS_WITH_AS(load_config("", {"name=../x"}), doctest::Contains("plain folder name"), Error);
    CHECK_THROWS_WITH_AS(load_config("", {"nokey"}), doctest::Contains("--section.key=value"), Error);
    CHECK_THROWS_AS(load_config("/nonexistent/config.toml", {}), Error);
  }
}

}  // namespace nn
