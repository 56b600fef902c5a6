// Whole models against torchvision: state-dict names and shapes for every architecture, eval logits of
// converted random-init weights, one training step and five SGD steps (llm.c style), and the Keras path.
// References: tests/torch_cases_models.py (weights converted with weights/convert.py).
#include "layers/summary.h"
#include "models/network.h"
#include "tests/check.h"
#include "tests/model_parity.h"
#include "tests/support.h"
#include "weights/load.h"

namespace nn::test {

TEST_SUITE("models") {
  TEST_CASE("models: every architecture has torchvision's state-dict keys, order and shapes") {
    int archs = 0;
    for (const TorchCase& c : torch_cases("models")) {
      if (c.name.rfind("keys_", 0) != 0) continue;
      CAPTURE(c.name);
      ++archs;
      const auto model = make_model(c.params["arch"], {.init = false});
      check_state_keys(c, *model);
    }
    CHECK(archs == 13);
  }

  TEST_CASE("models: parameter counts and FLOPs as published (ResNet-50 25.6 M and 4.1 GMACs, VGG19 143.7 M)") {
    const Summary r50 = summarize(*make_model("resnet50", {.init = false}), {1, 3, 224, 224});
    CHECK(r50.params == 25557032);
    CHECK(r50.flops > 2 * 4.08e9);
    CHECK(r50.flops < 2 * 4.14e9);
    const Summary vgg = summarize(*make_model("vgg19", {.init = false}), {1, 3, 224, 224});
    CHECK(vgg.params == 143667240);
    CHECK(vgg.rows.back().output == Shape{1, 1000});
    CHECK(vgg.flops > 2 * 19.6e9);
    CHECK(vgg.flops < 2 * 19.7e9);
  }

  TEST_CASE("models: replacing the head keeps the backbone and gives N outputs") {
    auto model = make_model("resnet18", {.seed = 3});
    const Tensor conv1 = model->state_dict()[0].second.clone();
    Generator gen(4);
    model->reset_head(7, gen);
    CHECK(model->num_classes() == 7);
    CHECK(model->state_dict()[0].second.to_vector<float>() == conv1.to_vector<float>());
    NoGradGuard no_grad;
    model->eval();
    CHECK((*model)(zeros({2, 3, 64, 64})).shape() == Shape{2, 7});
    auto vgg = make_model("vgg11", {.num_classes = 3, .init = false});
    vgg->reset_head(5, gen);
    CHECK(vgg->num_classes() == 5);
    CHECK(vgg->named_parameters().back().first == "classifier.6.bias");
  }

  TEST_CASE("models: freezing a prefix stops exactly those gradients") {
    auto model = make_model("resnet18", {.num_classes = 4, .seed = 1});
    CHECK(model->freeze() == 62);  // every parameter tensor
    CHECK(model->unfreeze("layer4") == 15);
    CHECK(model->unfreeze("fc") == 2);
    CHECK(model->num_parameters(Trainable::only) == 8393728 + 2052);
    CHECK_THROWS_WITH_AS(model->freeze("layer9"), doctest::Contains("no parameter name starts with 'layer9'"), Error);
    Tensor loss = cross_entropy((*model)(test_input({2, 3, 64, 64}, 5, -1, 1, DType::f32)), from_vector<int64_t>({1, 3}, {2}));
    loss.backward();
    for (const auto& [name, p] : model->named_parameters()) {
      CAPTURE(name);
      const bool trainable = name.rfind("layer4", 0) == 0 || name.rfind("fc", 0) == 0;
      CHECK(p.grad().defined() == trainable);
    }
  }
}

TEST_SUITE("torch") {
  TEST_CASE("models: eval logits of converted torchvision weights (resnet18, resnet50, vgg11_bn, vgg19)") {
    int n = 0;
    for (const TorchCase& c : torch_cases("models")) {
      if (c.name.rfind("eval_", 0) != 0) continue;
      CAPTURE(c.name);
      ++n;
      const SafetensorsFile file = SafetensorsFile::open(refs_path(c.params["weights"]));
      const Preprocessing p = weights_preprocessing(file);
      CHECK(p.color_order == "RGB");
      CHECK(p.resize_shorter == 256);
      auto model = make_model(c.params["arch"], {.init = false});
      const LoadReport report = load_weights(*model, file);
      CHECK(report.loaded == static_cast<int64_t>(model->state_dict().size()));
      model->eval();
      NoGradGuard no_grad;
      const Tensor logits = (*model)(c["x"]);
      const double ratio = max_abs(sub(logits, c["logits"])) / max_abs(c["logits"]);
      MESSAGE(c.name << ": max |logit difference| / max |logit| = " << ratio);
      CHECK(ratio <= 1e-4);
    }
    CHECK(n == 4);
  }

  // One batch, five SGD steps (momentum 0.9), in float32 and in float64 (tests/model_parity.h; see
  // train_case in tests/torch_cases_models.py for why float32 gradients need well-conditioned seeds).
  // The sanitizer build runs VGG-11 in float64 only: its float32 run (2 min there) is the float32 GEMM on
  // VGG's fully connected layers, whose every variant the kernel tests run under the sanitizers.
  TEST_CASE_TEMPLATE("models: a training step and five SGD steps match torchvision (resnet18, vgg11_bn)", T, float,
                     double) {
    int n = 0;
    for (const TorchCase& c : torch_cases("models")) {
      if (c.name.rfind("train_", 0) != 0) continue;
      if (std::is_same_v<T, float> && c.params["arch"] == "vgg11_bn" && left_to_normal_build(c.name + " in float32"))
        continue;
      CAPTURE(c.name);
      ++n;
      auto model = make_model(c.params["arch"], {.num_classes = c.params["num_classes"], .dropout = 0.0, .init = false});
      load_weights(*model, SafetensorsFile::open(refs_path(c.params["weights"])));
      model->to(dtype_of<T>);
      model->train();
      check_training_case(c, *model, std::is_same_v<T, double>);
    }
    CHECK(n == (kSanitized && std::is_same_v<T, float> ? 1 : 2));
  }
}

TEST_SUITE("weights") {
  TEST_CASE("weights: Keras VGG19 and torchvision VGG19 files convert to identical models") {
    const std::vector<TorchCase> cases = torch_cases("models");
    const TorchCase& c = find_case(cases, "keras_vgg19");
    const SafetensorsFile tv = SafetensorsFile::open(refs_path(c.params["torchvision"]));
    const SafetensorsFile keras = SafetensorsFile::open(refs_path(c.params["keras"]));
    auto a = make_model("vgg19", {.init = false}), b = make_model("vgg19", {.init = false});
    load_weights(*a, tv);
    // Keras files have no batch-norm buffers, and VGG19 has none either: strict loading works.
    load_weights(*b, keras);
    const auto pa = a->state_dict(), pb = b->state_dict();
    REQUIRE(pa.size() == pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      CAPTURE(pa[i].first);
      CHECK(pa[i].second.to_vector<float>() == pb[i].second.to_vector<float>());
    }
    const Preprocessing pk = weights_preprocessing(keras);
    CHECK(pk.color_order == "BGR");
    CHECK(pk.scale == 1.0);
    CHECK(pk.mean[0] == doctest::Approx(103.939));
    CHECK(pk.resize_shorter == 0);
    CHECK(keras.metadata().at("source") == "keras:vgg19_weights_tf_dim_ordering_tf_kernels.h5");
  }
}

}  // namespace nn::test
