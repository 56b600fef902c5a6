// skinnet export (ONNX), checked by two consumers not written here: the ONNX project's checker and shape
// inference (tests/onnx/check_onnx.py, python3-onnx) and OpenCV DNN running the file (build/onnx-opencv,
// tests/onnx/opencv_run.cpp), whose logits must be skinnet predict's within 1e-4 relative.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <fstream>
#include <nlohmann/json.hpp>

#include "layers/batch_norm.h"
#include "layers/init.h"
#include "models/network.h"
#include "tests/support.h"
#include "train/data/image.h"
#include "weights/load.h"
#include "weights/preprocess.h"

namespace nn {
namespace {

namespace fs = std::filesystem;
using test::build_dir;
using test::Capture;
using test::CommandResult;
using test::run_command;

using test::kSanitized;

const std::vector<std::string> kClasses{"AKIEC", "BCC", "BKL", "DF", "MEL", "NV", "VASC"};

Preprocessing small_prep(int64_t input) {
  Preprocessing p = Preprocessing::torchvision_imagenet();
  p.input_size = input;
  p.resize_shorter = input * 8 / 7;
  return p;
}

// A model file as a skinnet run writes it (arch, classes, preprocessing in the metadata), with random weights
// and batch norms whose statistics and affine parameters are far from the identity, so that folding them and
// the epsilon matter.
// `variant`'s weight-dependent options (flavour, transform_input, ...) build the model and go into the
// metadata, as a run records them (model_options_metadata).
std::string random_model(const test::TempDir& dir, const std::string& arch, const Preprocessing& prep, uint64_t seed,
                         ModelOptions variant = {}) {
  variant.num_classes = static_cast<int64_t>(kClasses.size());
  variant.seed = seed;
  auto model = make_model(arch, variant);
  Generator gen(seed + 1);
  for (auto& [name, m] : model->named_modules()) {
    auto* bn = dynamic_cast<BatchNorm2d*>(m);
    if (!bn) continue;
    NoGradGuard no_grad;
    uniform_(bn->running_mean, -0.2, 0.2, gen);
    uniform_(bn->running_var, 0.5, 2.0, gen);
    if (bn->weight.defined()) uniform_(bn->weight, 0.5, 1.5, gen);  // Keras' flavour has none
    uniform_(bn->bias, -0.2, 0.2, gen);
  }
  const std::string path = dir / (arch + ".safetensors");
  std::map<std::string, std::string> md = model_options_metadata(variant);
  md["arch"] = arch;
  md["preprocessing"] = prep.to_json();
  md["classes"] = nlohmann::json(kClasses).dump();
  save_weights(*model, path, md);
  return path;
}

// `n` PNG images of odd sizes (the eval resize and crop run), random pixels.
std::vector<std::string> images(const test::TempDir& dir, int n, uint64_t seed) {
  Generator gen(seed);
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) {
    Image im;
    im.height = 70 + 9 * i;
    im.width = 90 - 5 * i;
    im.rgb.resize(static_cast<size_t>(im.height * im.width * 3));
    const std::vector<float> r = rand({static_cast<int64_t>(im.rgb.size())}, gen).to_vector<float>();
    for (size_t k = 0; k < r.size(); ++k) im.rgb[k] = static_cast<uint8_t>(r[k] * 255.0f);
    paths.push_back(dir / fmt::format("image{}.png", i));
    encode_image(im, paths.back());
  }
  return paths;
}

std::string joined(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, " ")); }

// skinnet predict --json's logits, one row per image.
std::vector<std::vector<double>> predict_logits(const std::string& model_flags, const std::vector<std::string>& paths) {
  const CommandResult r = run_command(build_dir() + "/skinnet predict --json " + model_flags + " " + joined(paths));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  std::vector<std::vector<double>> rows;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);)
    rows.push_back(nlohmann::json::parse(line).at("logits").get<std::vector<double>>());
  REQUIRE(rows.size() == paths.size());
  return rows;
}

// The images preprocessed as skinnet does, in build/onnx-opencv's input format.
std::string opencv_input(const test::TempDir& dir, const std::vector<std::string>& paths, const Preprocessing& prep) {
  const std::string file = dir / "input.bin";
  std::ofstream out(file, std::ios::binary);
  const int64_t dims[4] = {static_cast<int64_t>(paths.size()), 3, prep.input_size, prep.input_size};
  out.write(reinterpret_cast<const char*>(dims), sizeof dims);
  for (const auto& p : paths) {
    const std::vector<float> x = preprocess_image(decode_image(p), prep).contiguous().to_vector<float>();
    out.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(float)));
  }
  return file;
}

nlohmann::json run_json(const std::string& cmd) {
  const CommandResult r = run_command(cmd + " 2>&1");
  REQUIRE_MESSAGE(r.status == 0, cmd << "\n" << r.output);
  return nlohmann::json::parse(r.output);
}

nlohmann::json onnx_check(const std::string& file) { return run_json("/usr/bin/python3 tests/onnx/check_onnx.py " + file); }

// max |a - b| over max |b|: OpenCV's logits against skinnet's.
double relative_error(const std::vector<double>& opencv, const std::vector<std::vector<double>>& skinnet) {
  double diff = 0, scale = 1e-30;
  size_t k = 0;
  for (const auto& row : skinnet) {
    for (double v : row) {
      REQUIRE(k < opencv.size());
      diff = std::max(diff, std::abs(opencv[k++] - v));
      scale = std::max(scale, std::abs(v));
    }
  }
  REQUIRE(k == opencv.size());
  return diff / scale;
}

// Exports, checks the file with python3-onnx, runs it in OpenCV on `paths` and compares with predict.
// Returns OpenCV's relative error.
// `onnx_checker` false skips python3-onnx: it takes 20 s over VGG's 500 MB in Python, and VGG's operators are
// ResNet's (`make check-onnx` runs it on every architecture).
double export_and_compare(const test::TempDir& dir, const std::string& model_flags, const std::string& export_flags,
                          const std::string& arch, const Preprocessing& prep, const std::vector<std::string>& paths,
                          const std::string& batch_dim, bool onnx_checker = true) {
  const std::string onnx = dir / (arch + ".onnx");
  const CommandResult e =
      run_command(build_dir() + "/skinnet export " + model_flags + " --onnx " + onnx + " " + export_flags,
                  Capture::stdout_and_stderr);
  REQUIRE_MESSAGE(e.status == 0, e.output);
  CHECK(e.output.find("wrote " + onnx) != std::string::npos);

  if (onnx_checker) {
    const nlohmann::json info = onnx_check(onnx);
    CHECK(info["opset"] == nlohmann::json::parse(R"([{"domain": "", "version": 13}])"));
    CHECK(info["ir_version"] == 7);
    const nlohmann::json batch = batch_dim == "N" ? nlohmann::json("N") : nlohmann::json(std::stoll(batch_dim));
    CHECK(info["inputs"]["input"] == nlohmann::json::array({batch, 3, prep.input_size, prep.input_size}));
    CHECK(info["outputs"]["logits"] == nlohmann::json::array({batch, kClasses.size()}));  // as inference derives it
    CHECK(info["metadata"]["arch"] == arch);
    CHECK(nlohmann::json::parse(info["metadata"]["classes"].get<std::string>()) == nlohmann::json(kClasses));
    CHECK(Preprocessing::from_json(info["metadata"]["preprocessing"].get<std::string>(), onnx).to_json() == prep.to_json());
    CHECK(info["declared_outputs"] == info["outputs"]);
  }

  const auto expected = predict_logits(model_flags, paths);
  const nlohmann::json cv = run_json(build_dir() + "/onnx-opencv " + onnx + " " + opencv_input(dir, paths, prep));
  CHECK(cv["shape"] == nlohmann::json::array({paths.size(), kClasses.size()}));
  const double err = relative_error(cv["logits"].get<std::vector<double>>(), expected);
  MESSAGE(arch << " " << export_flags << ": OpenCV " << cv["opencv"].get<std::string>() << " logits vs skinnet predict, "
                << "max relative error " << err);
  fs::remove(onnx);
  return err;
}

// One architecture variant of an export test: random weights at `size` px, exported with batch norms as
// operators and folded, each run in OpenCV DNN against `skinnet predict` (<= 1e-4).
struct ExportVariant {
  std::string arch, what;
  int64_t size;
  ModelOptions options;
};
void check_export_variants(const std::string& tmp, uint64_t image_seed, uint64_t model_seed,
                           const std::vector<ExportVariant>& variants) {
  const test::TempDir dir(tmp);
  const std::vector<std::string> paths = images(dir, 2, image_seed);
  for (const ExportVariant& v : variants) {
    CAPTURE(v.arch);
    CAPTURE(v.what);
    const Preprocessing prep = small_prep(v.size);
    const std::string weights = random_model(dir, v.arch, prep, model_seed, v.options);
    const double plain = export_and_compare(dir, "--checkpoint " + weights, "", v.arch, prep, paths, "N");
    const double folded = export_and_compare(dir, "--checkpoint " + weights, "--fuse-bn", v.arch, prep, paths, "N", false);
    MESSAGE(fmt::format("{} {}: OpenCV vs skinnet predict {:.1e}, folded {:.1e}", v.arch, v.what, plain, folded));
    CHECK(plain <= 1e-4);
    CHECK(folded <= 1e-4);
    fs::remove(weights);
  }
}

TEST_SUITE("export") {
  TEST_CASE("export: ResNet-18 and ResNet-50 as ONNX pass the onnx checker and OpenCV DNN computes skinnet's logits") {
    const test::TempDir dir("export-resnet");
    const Preprocessing prep = small_prep(64);
    const std::vector<std::string> paths = images(dir, 3, 7);
    // Both block kinds (basic, bottleneck with downsample). ResNet-34/101/152 are the same blocks, more of
    // them: `make check-onnx` runs them (65 s more here).
    for (const std::string arch : {"resnet18", "resnet50"}) {
      const std::string weights = random_model(dir, arch, prep, 3);
      CAPTURE(arch);
      // dynamic batch (3 images through a file that names no batch size), batch norms as operators
      CHECK(export_and_compare(dir, "--checkpoint " + weights, "", arch, prep, paths, "N") <= 1e-4);
      // --arch/--weights, folded batch norms, a fixed batch: --flag=value spellings
      CHECK(export_and_compare(dir, "--arch=" + arch + " --weights=" + weights, "--fuse-bn --batch=3", arch, prep, paths,
                               "3") <= 1e-4);
      fs::remove(weights);
    }
  }

  // The Inception blocks: Concat of branches (one branch itself a Concat in InceptionE), 3x3 average pools
  // that count padding (torchvision's; OpenCV ignores AveragePool's count_include_pad, so they are written
  // as depthwise convolutions: this test found that) or not (Keras' flavour), the input transform of
  // torchvision's weights, batch norms without scale, and Inception-ResNet's scaled residuals (Mul, Add).
  // 96 px keeps it quick.
  TEST_CASE("export: Inception-v3 (both flavours) and Inception-ResNet-v2 run in OpenCV DNN like skinnet" *
            doctest::skip(kSanitized)) {
    check_export_variants("export-inception", 13, 21,
                          {{"inception_v3", "keras flavour", 96, {.flavour = "keras"}},
                           {"inception_resnet_v2", "timm's", 96, {}},
                           {"inception_v3", "transform_input", 96, {.transform_input = true}}});
  }

  // EfficientNet: grouped (depthwise) Conv, SiLU as Sigmoid and Mul, squeeze-and-excitation's gate (repeated
  // to H x W by Concats, then Mul), residual Adds, and in Keras' flavour 'SAME' padding as asymmetric Conv
  // pads (at 97 px: odd and even maps both reach stride-2 convolutions). DenseNet: the Concat of every dense
  // layer and the functional ReLU and pool after the features.
  TEST_CASE("export: EfficientNet-B0 (torchvision's and Keras' padding) and DenseNet-121 run in OpenCV DNN like skinnet" *
            doctest::skip(kSanitized)) {
    check_export_variants("export-efficient", 19, 23,
                          {{"efficientnet_b0", "torchvision's", 96, {}},
                           {"efficientnet_b0", "keras flavour", 97, {.flavour = "keras"}},
                           {"densenet121", "torchvision's", 96, {}}});
  }

  TEST_CASE("export: VGG11-BN at 224 runs in OpenCV; at an input its adaptive pooling cannot express it is an error" *
            doctest::skip(kSanitized)) {
    const test::TempDir dir("export-vgg");
    const Preprocessing prep = small_prep(224);
    const std::vector<std::string> paths = images(dir, 2, 11);
    const std::string weights = random_model(dir, "vgg11_bn", prep, 5);
    CHECK(export_and_compare(dir, "--checkpoint " + weights, "--fuse-bn", "vgg11_bn", prep, paths, "N", false) <= 1e-4);

    // 100 px: features end at 3x3, and pooling 3x3 to 7x7 has windows of two sizes: no ONNX operator.
    const std::string onnx = dir / "vgg100.onnx";
    const CommandResult r = run_command(build_dir() + "/skinnet export --checkpoint " + weights + " --input-size 100 --onnx " +
                                            onnx, Capture::stdout_and_stderr);
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("'avgpool' (AdaptiveAvgPool2d to 7x7)") != std::string::npos, r.output);
    CHECK(!fs::exists(onnx));
  }

  TEST_CASE("export: mistakes in the command are usage errors (exit 2), unusable files runtime errors (exit 1)") {
    const test::TempDir dir("export-errors");
    const std::string weights = random_model(dir, "resnet18", small_prep(32), 1);
    const std::string cli = build_dir() + "/skinnet export ";
    struct Case {
      std::string args;
      int status;
      std::string says;
    };
    const std::vector<Case> cases = {
        {"--checkpoint " + weights, 2, "--onnx is required"},
        {"--checkpoint " + weights + " --onnx " + (dir / "a.onnx") + " --batch 0", 2, "--batch is dynamic or a positive size"},
        {"--checkpoint " + weights + " --onnx " + (dir / "a.onnx") + " --batch many", 2, "is not an integer"},
        {"--onnx " + (dir / "a.onnx"), 2, "give --checkpoint"},
        {"--checkpoint " + weights + " --arch resnet18 --onnx x.onnx", 2, "not both"},
        {"--arch resnet19 --weights " + weights + " --onnx x.onnx", 2, "--arch resnet19 is not one of"},
        {"--checkpoint " + (dir / "missing.safetensors") + " --onnx " + (dir / "a.onnx"), 1, "missing.safetensors"},
        {"--arch resnet34 --weights " + weights + " --onnx " + (dir / "a.onnx"), 1, "holds resnet18 weights, not resnet34"},
        {"--checkpoint " + weights + " --onnx " + (dir / "no/such/folder/a.onnx"), 1, "no/such/folder"},
    };
    for (const Case& c : cases) {
      const CommandResult r = run_command(cli + c.args, Capture::stdout_and_stderr);
      CAPTURE(c.args);
      CHECK(r.status == c.status);
      CHECK_MESSAGE(r.output.find(c.says) != std::string::npos, r.output);
    }
    CHECK(!fs::exists(dir / "a.onnx"));
  }
}

// Every architecture skinnet builds, at its weights' 224 px, through the checker and OpenCV, batch norms as
// operators and folded: `make check-onnx` (not in make test: about 10 minutes on 2 cores, most of it VGG's
// 500 MB files in Python). It prints one line per architecture for docs/export.md.
TEST_SUITE("onnx-all") {
  TEST_CASE("export: every architecture exports, passes the onnx checker and runs in OpenCV DNN like skinnet") {
    const test::TempDir dir("export-all");
    const Preprocessing prep = small_prep(224);
    const std::vector<std::string> paths = images(dir, 2, 17);
    for (const std::string& arch : model_archs()) {
      CAPTURE(arch);
      const std::string weights = random_model(dir, arch, prep, 9);
      const double plain = export_and_compare(dir, "--checkpoint " + weights, "", arch, prep, paths, "N");
      const double folded =
          export_and_compare(dir, "--checkpoint " + weights, "--fuse-bn --batch 2", arch, prep, paths, "2", false);
      CHECK(plain <= 1e-4);
      CHECK(folded <= 1e-4);
      MESSAGE(fmt::format("onnx-all: {:<10} OpenCV vs skinnet predict, max relative error: {:.1e} (BatchNormalization), "
                          "{:.1e} (--fuse-bn)", arch, plain, folded));
      fs::remove(weights);
    }
  }
}

}  // namespace
}  // namespace nn
