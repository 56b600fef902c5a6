// Whole models against torchvision: state-dict names and shapes for every architecture, eval logits of
// converted random-init weights, one training step and five SGD steps (llm.c style), and the Keras path.
// References: tests/torch_cases_models.py (weights converted with weights/convert.py).
#include <cmath>
#include <cstdlib>

#include "layers/summary.h"
#include "models/network.h"
#include "tests/check.h"
#include "weights/load.h"

namespace nn::test {

namespace {

const TorchCase& find_case(const std::vector<TorchCase>& cases, const std::string& name) {
  for (const TorchCase& c : cases)
    if (c.name == name) return c;
  NN_FAIL("no reference case {}", name);
}

// ||a - b|| / ||b||, in double.
double relative_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double diff = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff += (x[i] - y[i]) * (x[i] - y[i]);
    norm += y[i] * y[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

// SGD with momentum as torch.optim.SGD: buf = momentum * buf + grad (buf = grad at first), p -= lr * buf.
void sgd_step(const std::vector<Tensor>& params, std::vector<Tensor>& buffers, double lr, double momentum) {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!buffers[i].defined()) buffers[i] = params[i].grad().clone();
    else buffers[i].mul_(momentum).add_(params[i].grad());
    params[i].add_(buffers[i], -lr);
    params[i].zero_grad();
  }
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("models: every architecture has torchvision's state-dict keys, order and shapes") {
    int archs = 0;
    for (const TorchCase& c : torch_cases("models")) {
      if (c.name.rfind("keys_", 0) != 0) continue;
      CAPTURE(c.name);
      ++archs;
      const auto model = make_model(c.params["arch"], {.init = false});
      const auto state = model->state_dict();
      const auto& keys = c.params["keys"];
      REQUIRE(state.size() == keys.size());
      for (size_t i = 0; i < state.size(); ++i) {
        CHECK(state[i].first == keys[i].get<std::string>());
        CHECK(state[i].second.shape() == Shape(c.params["shapes"][i].get<std::vector<int64_t>>()));
      }
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

  // One batch, five SGD steps (momentum 0.9), in float32 and in float64 (see train_case in
  // tests/torch_cases_models.py for why float32 gradients need well-conditioned seeds):
  //   float32: first loss within 1e-5 relative, every gradient within 1e-3 (norm-wise) of PyTorch float32
  //            and of the float64 truth, the five losses within 1e-4, buffers within 1e-3;
  //   float64: the same quantities within 1e-10: identical semantics, step for step.
  // The bias of a convolution followed by batch norm has gradient 0 in exact arithmetic: both sides hold
  // rounding noise, so it must only be negligible (1e-4 of the weight gradient).
  TEST_CASE_TEMPLATE("models: a training step and five SGD steps match torchvision (resnet18, vgg11_bn)", T, float,
                     double) {
    const bool f64 = std::is_same_v<T, double>;
    const double grad_tol = f64 ? 1e-10 : 1e-3, loss_tol = f64 ? 1e-10 : 1e-4, buffer_tol = f64 ? 1e-10 : 1e-3;
    int n = 0;
    for (const TorchCase& c : torch_cases("models")) {
      if (c.name.rfind("train_", 0) != 0) continue;
      CAPTURE(c.name);
      ++n;
      auto model = make_model(c.params["arch"], {.num_classes = c.params["num_classes"], .dropout = 0.0, .init = false});
      load_weights(*model, SafetensorsFile::open(refs_path(c.params["weights"])));
      model->to(dtype_of<T>);
      model->train();
      const Tensor x = c["x"].to(dtype_of<T>);
      const std::vector<double> losses = c[f64 ? "losses64" : "losses"].to_vector<double>();
      const std::string grad_key = f64 ? "grad64." : "grad.";
      const auto params = model->named_parameters();
      std::vector<Tensor> tensors, buffers(params.size());
      for (const auto& [_, t] : params) tensors.push_back(t);
      double worst_grad = 0, worst_loss = 0;
      for (int step = 0; step < 5; ++step) {
        Tensor loss = cross_entropy((*model)(x), c["target"]);
        const double rel = std::fabs(loss.item<double>() - losses[step]) / std::fabs(losses[step]);
        worst_loss = std::max(worst_loss, rel);
        CHECK_MESSAGE(rel <= (step == 0 && !f64 ? 1e-5 : loss_tol), "step " << step << ": loss " << loss.item<double>()
                                                                           << ", PyTorch " << losses[step]);
        loss.backward();
        for (size_t k = 0; step == 0 && k < params.size(); ++k) {
          const auto& [name, t] = params[k];
          if (!c.has(grad_key + name)) continue;  // VGG's fc6 in float64: not stored (103 M values)
          const Tensor truth = c[grad_key + name];
          const std::string weight = name.substr(0, name.size() - 5) + ".weight";
          const bool exact_zero = name.ends_with(".bias") && c.has(grad_key + weight) &&
                                  sum(mul(truth, truth)).item<double>() < 1e-12 * sum(mul(c[grad_key + weight], c[grad_key + weight])).item<double>();
          if (exact_zero) {
            const Tensor dw = model->named_parameters()[k - 1].second.grad();
            CHECK_MESSAGE(std::sqrt(sum(mul(t.grad(), t.grad())).item<double>()) <= 1e-4 * std::sqrt(sum(mul(dw, dw)).item<double>()),
                          name << ": gradient should be 0 (bias before batch norm)");
            continue;
          }
          const double err = relative_error(t.grad(), truth);
          worst_grad = std::max(worst_grad, err);
          CHECK_MESSAGE(err <= grad_tol, name << ": gradient relative error " << err);
          if (!f64 && c.has("grad64." + name)) {
            const double vs_truth = relative_error(t.grad(), c["grad64." + name]);
            CHECK_MESSAGE(vs_truth <= 1e-3, name << ": float32 gradient vs the float64 truth " << vs_truth);
          }
        }
        sgd_step(tensors, buffers, c.params["lr"], c.params["momentum"]);
      }
      MESSAGE(c.name << (f64 ? " float64" : " float32") << ": worst gradient error " << worst_grad
                     << ", worst loss error over 5 SGD steps " << worst_loss);
      for (const auto& [name, b] : model->named_buffers()) {
        CAPTURE(name);
        const Tensor want = c[(f64 ? "buffer64." : "buffer.") + name];
        if (b.dtype() == DType::i64) CHECK(b.template item<int64_t>() == want.template item<int64_t>());
        else CHECK(relative_error(b, want) <= buffer_tol);
      }
    }
    CHECK(n == 2);
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
