// Whole-model comparisons with PyTorch (see model_parity.h).
#include "tests/model_parity.h"

#include <cmath>

#include "layers/fused.h"
#include "tests/support.h"
#include "train/data/image.h"
#include "train/data/transforms.h"
#include "weights/load.h"

namespace nn::test {

namespace {

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

double squared_norm(const Tensor& t) { return sum(mul(t, t)).item<double>(); }

}  // namespace

std::shared_ptr<Network> load_converted(const std::string& arch, const SafetensorsFile& file) {
  const int64_t classes = std::stoll(file.metadata().at("num_classes"));
  auto model = make_model(arch, model_options_for(file, {.num_classes = classes, .init = false}));
  const LoadReport report = load_weights(*model, file);
  CHECK(report.loaded == static_cast<int64_t>(model->state_dict().size()));
  model->eval();
  return model;
}

std::string flavour_of(const TorchCase& c) { return c.params["flavour"] == "keras" ? "keras" : ""; }

double logit_error(const Tensor& a, const Tensor& b) { return max_abs(sub(a, b)) / max_abs(b); }

void check_predict_cli(const std::vector<TorchCase>& cases, const std::vector<std::string>& names) {
  const TempDir t("model-predict");
  Image img{.height = 300, .width = 320, .rgb = {}};  // a smooth colour pattern, wider than high
  for (int64_t y = 0; y < img.height; ++y)
    for (int64_t x = 0; x < img.width; ++x)
      for (int ch = 0; ch < 3; ++ch) img.rgb.push_back(static_cast<uint8_t>((x * 7 + y * 3 + ch * 80) % 256));
  const std::string image = t / "lesion.png";
  encode_image(img, image);
  for (const std::string& name : names) {
    CAPTURE(name);
    const TorchCase& c = find_case(cases, name);
    const std::string weights = refs_path(c.params["weights"]);
    const SafetensorsFile file = SafetensorsFile::open(weights);
    // predict runs the fused model (layers/fused.h): the library's fused model is the same computation.
    auto model = load_converted(c.params["arch"], file), exact = load_converted(c.params["arch"], file);
    fuse_for_inference(*model);
    exact->to(DType::f64);
    NoGradGuard no_grad;
    const Tensor x = preprocess_image(decode_image(image), weights_preprocessing(file)).unsqueeze(0);
    const Tensor want = (*model)(x), truth = (*exact)(x.to(DType::f64));
    // Folding batch norm into the convolution rounds conv(x) * scale + shift instead of (conv(x) - mean) *
    // scale: where a channel's mean is large beside its spread it costs digits (Keras' EfficientNet-B0 with
    // random weights on this image: 3.2e-5 of the largest logit, 3.4e-6 unfused). The 1e-4 holds.
    const double fused_error = logit_error(want, truth.to(DType::f32));
    MESSAGE(name << ": the fused model vs float64: " << fused_error);
    CHECK(fused_error <= 1e-4);
    const CommandResult r = run_command(fmt::format("{}/skinnet predict --arch {} --weights {} --json {}", build_dir(),
                                                    c.params["arch"].get<std::string>(), weights, image),
                                        Capture::stdout_and_stderr);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const std::vector<float> logits = nlohmann::json::parse(r.output)["logits"];
    const double ratio = logit_error(from_vector(logits, {1, static_cast<int64_t>(logits.size())}), want);
    MESSAGE(name << ": predict --json vs the library: " << ratio);
    CHECK(ratio <= 1e-5);
  }
}

const TorchCase& find_case(const std::vector<TorchCase>& cases, const std::string& name) {
  for (const TorchCase& c : cases)
    if (c.name == name) return c;
  NN_FAIL("no reference case {}", name);
}

void check_state_keys(const TorchCase& c, const Network& model) {
  const auto state = model.state_dict();
  const auto& keys = c.params["keys"];
  REQUIRE(state.size() == keys.size());
  for (size_t i = 0; i < state.size(); ++i) {
    CHECK(state[i].first == keys[i].get<std::string>());
    CHECK(state[i].second.shape() == Shape(c.params["shapes"][i].get<std::vector<int64_t>>()));
  }
}

double relative_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double diff = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    diff += (x[i] - y[i]) * (x[i] - y[i]);
    norm += y[i] * y[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

void check_training_case(const TorchCase& c, Network& model, bool f64, double f32_tensor_tol) {
  const double grad_tol = f64 ? 1e-10 : f32_tensor_tol, loss_tol = f64 ? 1e-10 : 1e-4, buffer_tol = f64 ? 1e-10 : 1e-3;
  const double global_tol = f64 ? 1e-10 : 1e-3;
  const DType dtype = f64 ? DType::f64 : DType::f32;
  const double aux_weight = c.params.value("aux_weight", 0.0);
  const Tensor x = c["x"].to(dtype);
  const std::vector<double> losses = c[f64 ? "losses64" : "losses"].to_vector<double>();
  const std::string grad_key = f64 ? "grad64." : "grad.";
  const auto params = model.named_parameters();
  std::vector<Tensor> tensors, buffers(params.size());
  for (const auto& [_, t] : params) tensors.push_back(t);
  double worst_grad = 0, worst_loss = 0;
  double diff_all = 0, norm_all = 0, diff64_all = 0, norm64_all = 0;  // all parameters together (squared)
  for (int step = 0; step < 5; ++step) {
    Tensor loss = cross_entropy(model(x), c["target"]);
    const Tensor aux = model.take_aux_logits();
    CHECK_MESSAGE(aux.defined() == (aux_weight > 0), "auxiliary logits " << (aux.defined() ? "present" : "absent"));
    if (aux.defined()) loss = add(loss, mul(cross_entropy(aux, c["target"]), aux_weight));
    const double rel = std::fabs(loss.item<double>() - losses[step]) / std::fabs(losses[step]);
    worst_loss = std::max(worst_loss, rel);
    CHECK_MESSAGE(rel <= (step == 0 && !f64 ? 1e-5 : loss_tol),
                  "step " << step << ": loss " << loss.item<double>() << ", PyTorch " << losses[step]);
    loss.backward();
    for (size_t k = 0; step == 0 && k < params.size(); ++k) {
      const auto& [name, t] = params[k];
      if (!c.has(grad_key + name)) continue;  // large tensors in float64: not stored
      const Tensor truth = c[grad_key + name];
      const std::string weight = name.substr(0, name.size() - 5) + ".weight";
      // Zero in exact arithmetic: judged on the float64 truth where the file has it, else on float32's.
      const std::string zero_key = c.has("grad64." + name) ? "grad64." : "grad.";
      const std::string scale_key = c.has(zero_key + weight) ? zero_key : "grad.";
      const double zero_tol = zero_key == "grad64." ? 1e-10 : 1e-6;
      const bool exact_zero = name.ends_with(".bias") && c.has(scale_key + weight) &&
                              std::sqrt(squared_norm(c[zero_key + name])) <
                                  zero_tol * std::sqrt(squared_norm(c[scale_key + weight]));
      if (exact_zero) {
        const Tensor dw = params[k - 1].second.grad();
        CHECK_MESSAGE(std::sqrt(squared_norm(t.grad())) <= (f64 ? 1e-10 : 1e-4) * std::sqrt(squared_norm(dw)),
                      name << ": gradient should be 0 (a bias before batch norm, or after a degenerate one)");
        continue;
      }
      const double err = relative_error(t.grad(), truth);
      diff_all += squared_norm(sub(t.grad().to(truth.dtype()), truth));
      norm_all += squared_norm(truth);
      if (!f64 && c.has("grad64." + name)) {
        const Tensor truth64 = c["grad64." + name];
        diff64_all += squared_norm(sub(t.grad().to(DType::f64), truth64));
        norm64_all += squared_norm(truth64);
      }
      worst_grad = std::max(worst_grad, err);
      CHECK_MESSAGE(err <= grad_tol, name << ": gradient relative error " << err << " (norm " << std::sqrt(squared_norm(truth))
                                          << ", of its weight's gradient "
                                          << (c.has(grad_key + weight) ? std::sqrt(squared_norm(c[grad_key + weight])) : 0.0)
                                          << ")");
      if (!f64 && c.has("grad64." + name)) {
        const double vs_truth = relative_error(t.grad(), c["grad64." + name]);
        CHECK_MESSAGE(vs_truth <= f32_tensor_tol, name << ": float32 gradient vs the float64 truth " << vs_truth);
      }
    }
    if (step == 0) {
      const double all = std::sqrt(diff_all / norm_all);
      CHECK_MESSAGE(all <= global_tol, "all gradients together: relative error " << all);
      MESSAGE(fmt::format("{} {}: all gradients together, relative error {:.2e}{}", c.name, f64 ? "float64" : "float32", all,
                          norm64_all > 0 ? fmt::format(" (vs the float64 truth {:.2e})", std::sqrt(diff64_all / norm64_all))
                                         : std::string()));
      if (norm64_all > 0) CHECK(std::sqrt(diff64_all / norm64_all) <= global_tol);
    }
    sgd_step(tensors, buffers, c.params["lr"], c.params["momentum"]);
  }
  MESSAGE(c.name << (f64 ? " float64" : " float32") << ": worst gradient error " << worst_grad
                 << ", worst loss error over 5 SGD steps " << worst_loss);
  const std::string buffer_key = f64 ? "buffer64." : "buffer.";
  for (const auto& [name, b] : model.named_buffers()) {
    CAPTURE(name);
    const Tensor want = c[buffer_key + name];
    if (b.dtype() == DType::i64) {
      CHECK(b.item<int64_t>() == want.item<int64_t>());
      continue;
    }
    // A running mean is measured against the channels' spread as well as its own size: after a 1x1
    // convolution of batch-normalised input (beta 0: EfficientNet's expand convolutions), it is 0 in exact
    // arithmetic and both sides hold rounding noise (PyTorch's float64: 1e-17).
    double scale = std::sqrt(squared_norm(want.to(DType::f64)));
    const std::string suffix = "running_mean";
    if (name.ends_with(suffix)) {
      const std::string var = buffer_key + name.substr(0, name.size() - suffix.size()) + "running_var";
      if (c.has(var)) scale = std::max(scale, std::sqrt(squared_norm(sqrt(c[var].to(DType::f64)))));
    }
    const double err = std::sqrt(squared_norm(sub(b.to(DType::f64), want.to(DType::f64)))) / std::max(scale, 1e-300);
    CHECK_MESSAGE(err <= buffer_tol, "buffer relative error " << err);
  }
}

}  // namespace nn::test
