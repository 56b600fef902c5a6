// Loading weights into models: strict and finetune modes, the report of skipped keys, the error listing
// every mismatch, bad files, and peak memory while loading.
#include <fstream>

#include "layers/linear.h"
#include "models/network.h"
#include "tests/check.h"
#include "tests/support.h"
#include "weights/load.h"

namespace nn::test {

namespace {

// Resident-set peak of this process in KiB since the last reset (Linux /proc/self/status VmHWM).
int64_t peak_rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}
int64_t rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}
bool reset_peak_rss() { return static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5"); }

// Several large Linear layers: a model whose weights file is about 4 x 64 MiB.
class Wide final : public Module {
 public:
  explicit Wide(Generator& gen) : layers_(register_module("layers", std::make_shared<Sequential>())) {
    for (int i = 0; i < 4; ++i) layers_->add(std::make_shared<Linear>(2048, 8192, false, gen, Init::none));
  }
  Tensor forward(const Tensor& x) override { return (*layers_)(x); }
  const char* type_name() const override { return "Wide"; }

 private:
  std::shared_ptr<Sequential> layers_;
};

}  // namespace

TEST_SUITE("weights") {
  TEST_CASE("load: finetune mode keeps the new head and reports what it skipped") {
    const SafetensorsFile file = SafetensorsFile::open(refs_path("eval_resnet18.safetensors"));
    auto model = make_model("resnet18", {.num_classes = 7, .seed = 9});
    const Tensor head_before = model->state_dict().back().second.clone();  // fc.bias
    const LoadReport r = load_weights(*model, file, LoadMode::finetune);
    CHECK(r.skipped == std::vector<std::string>{"fc.weight", "fc.bias"});
    CHECK(r.missing.empty());
    CHECK(r.loaded == static_cast<int64_t>(model->state_dict().size()) - 2);
    CHECK(model->state_dict().back().second.to_vector<float>() == head_before.to_vector<float>());
    CHECK(model->state_dict()[0].second.to_vector<float>() == file.get("conv1.weight").to_vector<float>());
  }

  TEST_CASE("load: strict mode rejects a different head with a hint to fine-tune") {
    const SafetensorsFile file = SafetensorsFile::open(refs_path("eval_resnet18.safetensors"));
    auto model = make_model("resnet18", {.num_classes = 7, .init = false});
    CHECK_THROWS_WITH_AS(load_weights(*model, file), doctest::Contains("fc.weight: file f32 [1000, 512], model f32 [7, 512]"),
                         Error);
    CHECK_THROWS_WITH_AS(load_weights(*model, file), doctest::Contains("finetune mode"), Error);
  }

  TEST_CASE("load: one error lists every missing key, unexpected key and shape mismatch") {
    auto model = make_model("resnet18", {.init = false});
    std::vector<std::pair<std::string, Tensor>> state = model->state_dict();
    state.erase(state.begin() + 1);                          // bn1.weight missing
    state[0].second = zeros({64, 3, 5, 5});                  // conv1.weight wrong shape
    state.emplace_back("extra.weight", zeros({2}));          // unexpected
    state.emplace_back("layer1.0.bn1.running_mean.x", zeros({1}));
    const TempDir dir("load");
    const std::string path = dir / "mismatch.safetensors";
    save_safetensors(path, state);
    try {
      load_weights(*model, SafetensorsFile::open(path));
      FAIL("no error");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK(m.find(path) != std::string::npos);
      CHECK(m.find("1 missing keys") != std::string::npos);
      CHECK(m.find("bn1.weight") != std::string::npos);
      CHECK(m.find("2 unexpected keys") != std::string::npos);
      CHECK(m.find("extra.weight") != std::string::npos);
      CHECK(m.find("conv1.weight: file f32 [64, 3, 5, 5], model f32 [64, 3, 7, 7]") != std::string::npos);
    }
  }

  TEST_CASE("load: a weights file without a head loads in finetune mode (Keras notop layout)") {
    auto source = make_model("vgg11", {.num_classes = 10, .seed = 2});
    std::vector<std::pair<std::string, Tensor>> features;
    for (auto& [k, t] : source->state_dict())
      if (k.rfind("features.", 0) == 0) features.emplace_back(k, t);
    const TempDir dir("load");
    const std::string path = dir / "notop.safetensors";
    save_safetensors(path, features);
    auto model = make_model("vgg11", {.num_classes = 4, .seed = 3});
    const LoadReport r = load_weights(*model, SafetensorsFile::open(path), LoadMode::finetune);
    CHECK(r.missing == std::vector<std::string>{"classifier.0.weight", "classifier.0.bias", "classifier.3.weight",
                                                "classifier.3.bias"});
    CHECK(r.loaded == static_cast<int64_t>(features.size()));
    CHECK_THROWS_WITH_AS(load_weights(*model, SafetensorsFile::open(path)), doctest::Contains("6 missing keys"), Error);
  }

  TEST_CASE("load: a 256 MiB file is copied into the model without keeping a second copy resident") {
    if (!reset_peak_rss()) return;  // /proc/self/clear_refs unavailable: nothing to measure
    Generator gen(1);
    Wide model(gen);
    {
      NoGradGuard no_grad;
      for (auto& t : model.parameters()) t.fill_(0.5);  // touch every page: the model is resident
    }
    const TempDir dir("load");
    const std::string path = dir / "big.safetensors";
    save_safetensors(path, model.state_dict());
    const int64_t file_kib = 4 * 2048 * 8192 * 4 / 1024;
    {
      NoGradGuard no_grad;
      for (auto& t : model.parameters()) t.fill_(0.0);
    }
    reset_peak_rss();
    const int64_t before = rss_kib();
    load_state(model, SafetensorsFile::open(path), LoadMode::strict, {}, "");
    const int64_t growth = peak_rss_kib() - before;
    MESSAGE("loading " << file_kib / 1024 << " MiB: peak resident growth " << growth / 1024 << " MiB");
    CHECK(growth < file_kib / 2);  // at most about one tensor of the file resident beside the model
    CHECK(model.parameters()[3].to_vector<float>()[12345] == 0.5f);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("load: unknown architecture, missing file, not safetensors, wrong dtype") {
    CHECK_THROWS_WITH_AS(make_model("resnet51"), doctest::Contains("unknown architecture 'resnet51'"), Error);
    CHECK_THROWS_WITH_AS(make_model("resnet51"), doctest::Contains("resnet50"), Error);
    CHECK_THROWS_WITH_AS(SafetensorsFile::open("/nonexistent/w.safetensors"),
                         doctest::Contains("/nonexistent/w.safetensors: cannot open"), Error);
    const TempDir dir("load");
    const std::string path = dir / "notst.safetensors";
    std::ofstream(path) << "PK\x03\x04 this is a zip, not safetensors";
    CHECK_THROWS_WITH_AS(SafetensorsFile::open(path), doctest::Contains("not a safetensors file"), Error);
    auto model = make_model("resnet18", {.init = false});
    std::vector<std::pair<std::string, Tensor>> state = model->state_dict();
    state[0].second = state[0].second.to(DType::f64);
    save_safetensors(path, state);
    CHECK_THROWS_WITH_AS(load_weights(*model, SafetensorsFile::open(path)),
                         doctest::Contains("conv1.weight: file f64 [64, 3, 7, 7], model f32 [64, 3, 7, 7]"), Error);
    save_safetensors(path, model->state_dict());
    CHECK_THROWS_WITH_AS(weights_preprocessing(SafetensorsFile::open(path)), doctest::Contains("no preprocessing recorded"),
                         Error);
  }
}

}  // namespace nn::test
