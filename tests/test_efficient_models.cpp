// DenseNet and EfficientNet against torchvision 0.14 (and Keras' versions through weights/torch_models.py):
// state-dict keys and parameter counts of all twelve variants, eval logits of random-weight files converted
// with weights/convert.py (torchvision .pth with DenseNet's legacy keys, Keras-layout .h5 with EfficientNet's
// normalisation layer), Keras' 'SAME' padding at an odd size, `skinnet predict`, one training step and
// five SGD steps. References: tests/torch_cases_efficient.py.
#include "layers/activation.h"
#include "layers/batch_norm.h"
#include "layers/summary.h"
#include "models/efficientnet.h"
#include "models/network.h"
#include "tests/check.h"
#include "tests/model_parity.h"
#include "tests/support.h"
#include "weights/load.h"
#include "weights/preprocess.h"

namespace nn::test {

TEST_SUITE("models") {
  TEST_CASE("efficient models: state-dict keys, order, shapes and parameter counts of every variant") {
    int n = 0;
    for (const TorchCase& c : torch_cases("efficient")) {
      if (c.name.rfind("keys_", 0) != 0) continue;
      CAPTURE(c.name);
      ++n;
      const auto model = make_model(c.params["arch"], {.init = false});
      check_state_keys(c, *model);
      CHECK(model->num_parameters() == c.params["params"].get<int64_t>());
      // Batch norm epsilon and momentum as torchvision's (1e-5/0.1, EfficientNet-B5..B7 1e-3/0.01).
      for (const auto& [name, m] : model->named_modules())
        if (const auto* bn = dynamic_cast<const BatchNorm2d*>(m)) {
          CHECK(bn->eps() == doctest::Approx(c.params["bn_eps"].get<double>()));
          CHECK(bn->momentum().value_or(-1) == doctest::Approx(c.params["bn_momentum"].get<double>()));
        }
      // Stochastic depth rises linearly to 0.2 * (B-1)/B over the B blocks, as torchvision's.
      if (c.params.contains("block_stochastic_depth")) {
        std::vector<double> probs;
        for (const auto& [name, m] : model->named_modules())
          if (const auto* sd = dynamic_cast<const StochasticDepth*>(m)) probs.push_back(sd->p());
        const std::vector<double> want = c.params["block_stochastic_depth"];
        REQUIRE(probs.size() == want.size());
        for (size_t i = 0; i < probs.size(); ++i) CHECK(probs[i] == doctest::Approx(want[i]).epsilon(1e-12));
      }
    }
    CHECK(n == 12);
  }

  // torchvision's published figures: densenet121 7,978,856 parameters and 2.83 GFLOPS, efficientnet_b0
  // 5,288,548 and 0.39 GFLOPS (its "GFLOPS" are multiply-adds; skinnet counts a multiply-add as 2 FLOPs).
  TEST_CASE("efficient models: parameter counts, FLOPs, input sizes and heads as published") {
    const Summary d = summarize(*make_model("densenet121", {.init = false}), {1, 3, 224, 224});
    CHECK(d.params == 7978856);
    CHECK(d.flops > 2 * 2.83e9);
    CHECK(d.flops < 2 * 2.95e9);  // + batch norms, ReLUs, pools: torchvision counts convolutions and linears
    const Summary e = summarize(*make_model("efficientnet_b0", {.init = false}), {1, 3, 224, 224});
    CHECK(e.params == 5288548);
    CHECK(e.flops > 2 * 0.385e9);
    CHECK(e.flops < 2 * 0.43e9);
    const int64_t sizes[] = {224, 240, 288, 300, 380, 456, 528, 600};
    for (int b = 0; b < 8; ++b) CHECK(model_input_size("efficientnet_b" + std::to_string(b)) == sizes[b]);
    CHECK(model_input_size("densenet161") == 224);
    CHECK(model_head_name("efficientnet_b4") == "classifier.1");
    CHECK(model_head_name("densenet201") == "classifier");
    // torchvision's _make_divisible: B4's 1.4 x 32 = 44.8 -> 48, x 16 = 22.4 -> 24, B2's 1.1 x 320 = 352.
    CHECK(efficientnet_round_channels(44.8) == 48);
    CHECK(efficientnet_round_channels(22.4) == 24);
    CHECK(efficientnet_round_channels(352) == 352);
    CHECK(efficientnet_round_channels(3.0) == 8);
    auto m = make_model("efficientnet_b0", {.num_classes = 5, .seed = 1});
    Generator gen(2);
    m->reset_head(7, gen);
    CHECK(m->num_classes() == 7);
    const auto shape_of = [](const Network& net, const std::string& key) {
      for (const auto& [name, t] : net.state_dict())
        if (name == key) return t.shape();
      FAIL("no " << key);
      return Shape{};
    };
    CHECK(shape_of(*m, "classifier.1.weight") == Shape{7, 1280});
    auto dn = make_model("densenet121", {.num_classes = 5, .seed = 1});
    dn->reset_head(3, gen);
    CHECK(shape_of(*dn, "classifier.weight") == Shape{3, 1024});
  }

  // Stage names for fine-tuning: torchvision's prefixes select the right parameters.
  TEST_CASE("efficient models: fine-tuning stages freeze by torchvision's prefixes") {
    auto e = make_model("efficientnet_b0", {.num_classes = 7, .init = false});
    e->freeze("");
    CHECK(e->unfreeze("features.7") > 0);
    CHECK(e->unfreeze("classifier") == 2);
    auto d = make_model("densenet121", {.num_classes = 7, .init = false});
    d->freeze("");
    CHECK(d->unfreeze("features.denseblock4") == 16 * 6);  // 16 layers x norm1 (2), conv1, norm2 (2), conv2
  }
}

TEST_SUITE("torch") {
  TEST_CASE("efficient models: eval logits of converted torchvision and Keras files (<= 1e-4)") {
    int n = 0;
    for (const TorchCase& c : torch_cases("efficient")) {
      const bool eval = c.name.rfind("eval_", 0) == 0, keras = c.name.rfind("keras_", 0) == 0;
      if (!eval && !keras) continue;
      CAPTURE(c.name);
      ++n;
      const SafetensorsFile file = SafetensorsFile::open(refs_path(c.params["weights"]));
      CHECK(file.metadata().at("arch") == c.params["arch"].get<std::string>());
      const Preprocessing pre = weights_preprocessing(file);  // present and valid
      auto model = load_converted(c.params["arch"], file);
      NoGradGuard no_grad;
      const double ratio = logit_error((*model)(c["x"]), c["logits"]);
      MESSAGE(c.name << ": max |logit difference| / max |logit| = " << ratio);
      CHECK(ratio <= 1e-4);
      if (c.params.contains("mean")) {  // Keras' EfficientNet: its Normalization layer became the preprocessing
        const std::vector<double> mean = c.params["mean"], std = c.params["std"];
        for (int i = 0; i < 3; ++i) {
          CHECK(pre.mean[i] == doctest::Approx(mean[i]).epsilon(1e-6));
          CHECK(pre.std[i] == doctest::Approx(std[i]).epsilon(1e-6));
        }
      }
      if (c.has("x_odd")) {  // 72 px: maps of 9 px reach stride-2 convolutions, where 'SAME' pads 2 + 2
        const double odd = logit_error((*model)(c["x_odd"]), c["logits_odd"]);
        const double fixed_rule = logit_error(c["logits_odd_fixed"], c["logits_odd"]);
        MESSAGE(c.name << " at 72 px: " << odd << " (the size-blind padding rule would be " << fixed_rule << " off)");
        CHECK(odd <= 1e-4);
        CHECK(fixed_rule > 1e-2);  // the case can tell the rules apart
      }
    }
    CHECK(n == 4);
  }

  TEST_CASE("efficient models: skinnet predict --json builds the network each converted file calls for") {
    check_predict_cli(torch_cases("efficient"),
                      {"eval_densenet121", "eval_efficientnet_b0", "keras_densenet121", "keras_efficientnet_b0"});
  }

  // 2x3x64x64, 7 classes, dropout and stochastic depth off (their masks cannot match PyTorch's); starting
  // batch-norm and depthwise parameters conditioned by tests/torch_cases_efficient.py so that PyTorch's own
  // float32 run agrees with its float64 run (at torchvision's initialisation neither network does).
  TEST_CASE_TEMPLATE("efficient models: a training step and five SGD steps match PyTorch", T, float, double) {
    int n = 0;
    for (const TorchCase& c : torch_cases("efficient")) {
      if (c.name.rfind("train_", 0) != 0) continue;
      CAPTURE(c.name);
      ++n;
      const SafetensorsFile file = SafetensorsFile::open(refs_path(c.params["weights"]));
      auto model = make_model(c.params["arch"], {.num_classes = c.params["num_classes"], .dropout = 0.0,
                                                 .stochastic_depth = 0.0, .init = false});
      load_weights(*model, file);
      model->to(dtype_of<T>);
      model->train();
      check_training_case(c, *model, std::is_same_v<T, double>);
    }
    CHECK(n == 2);
  }
}

}  // namespace nn::test
