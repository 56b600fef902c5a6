// Grad-CAM (models/gradcam.h) and its overlays (train/report/overlay.h): against PyTorch's autograd on the same
// converted weights (tests/torch_cases_gradcam.py), the exact CAM identity of a layer feeding only global
// average pooling and a linear layer, the degenerate maps, batches against single images, the errors, and the
// geometry of the overlay.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "layers/fused.h"
#include "layers/linear.h"
#include "models/gradcam.h"
#include "tests/check.h"
#include "tests/support.h"
#include "train/data/dataset.h"
#include "train/report/overlay.h"
#include "weights/load.h"

namespace nn::test {

namespace {

std::shared_ptr<Network> converted(const TorchCase& c) {
  auto model = make_model(c.params["arch"], {.num_classes = c.params["arch"] == "vgg11_bn" ? 1000 : 7, .init = false});
  load_weights(*model, SafetensorsFile::open(refs_path(c.params["weights"])));
  return model;
}

// Grad-CAM of resnet's layer4 is ReLU(CAM_c) / (h w), with CAM_c = sum_k w_ck A_k.
Tensor cam_from_fc(const Tensor& activations, const Tensor& fc_weight, const std::vector<int64_t>& classes) {
  std::vector<Tensor> rows;
  const int64_t hw = activations.size(2) * activations.size(3);
  for (size_t i = 0; i < classes.size(); ++i) {
    const Tensor w = fc_weight.select(0, classes[i]).reshape({-1, 1, 1});  // [K, 1, 1]
    const Tensor a = activations.select(0, static_cast<int64_t>(i));      // [K, h, w]
    rows.push_back(div(relu(sum(mul(w, a), {0})), static_cast<double>(hw)).unsqueeze(0));
  }
  return cat(rows, 0);
}

}  // namespace

TEST_SUITE("gradcam") {
  // resnet18's layer4 (the default target: only average pooling and fc follow it) and vgg11_bn's features.27
  // in float32 within 1e-4; resnet18's layer3 in float64 within 1e-10 (float32 gradients through the ReLUs
  // after it are discontinuous: tests/torch_cases_gradcam.py).
  TEST_CASE("gradcam: maps equal PyTorch autograd Grad-CAM (resnet18 layer4, layer3 in float64, vgg11_bn)") {
    int n = 0;
    for (const TorchCase& c : torch_cases("gradcam")) {
      CAPTURE(c.name);
      ++n;
      auto model = converted(c);
      const bool f64 = c["x"].dtype() == DType::f64;
      if (f64) model->to(DType::f64);
      fuse_for_inference(*model);  // as explain and serve run it: the layers before the target fused
      GradCam cam(*model, c.params["layer"]);
      const Tensor logits = cam.forward(c["x"]);
      const double tol = f64 ? 1e-10 : 1e-4;  // float64: the same semantics; float32: rounding only
      CHECK(max_abs(sub(logits, c["logits"])) / max_abs(c["logits"]) <= tol);
      const Tensor maps = cam.maps(c.params["classes"].get<std::vector<int64_t>>());
      REQUIRE(maps.shape() == c["maps"].shape());
      const double ratio = max_abs(sub(maps, c["maps"])) / max_abs(c["maps"]);
      MESSAGE(c.name << ": maps " << maps.describe() << ", max |difference| / max |map| = " << ratio);
      CHECK(ratio <= tol);
      CHECK(max_abs(c["maps"]) > 0);  // a map that is all zero would compare trivially
      // No parameter got a gradient, and the model is as it was: trainable, in eval mode.
      for (const auto& [name, p] : model->named_parameters()) {
        CHECK_MESSAGE(!p.grad().defined(), name);
        CHECK_MESSAGE(p.requires_grad(), name);
      }
    }
    CHECK(n == 3);
  }

  TEST_CASE("gradcam: a layer feeding only average pooling and fc gives CAM / (h w) exactly (float64)") {
    auto model = make_model("resnet18", {.num_classes = 7, .seed = 3});
    model->to(DType::f64);
    model->eval();
    GradCam cam(*model);
    CHECK(cam.layer() == "layer4");
    const Tensor x = test_input({3, 3, 64, 96}, 11);
    cam.forward(x);
    const std::vector<int64_t> classes = {0, 6, 3};
    const Tensor maps = cam.maps(classes);
    CHECK(maps.shape() == Shape{3, 2, 3});
    Tensor fc_weight;
    for (const auto& [name, p] : model->named_parameters())
      if (name == "fc.weight") fc_weight = p;
    REQUIRE(fc_weight.shape() == Shape{7, 512});
    const Tensor want = cam_from_fc(cam.activations(), fc_weight.detach(), classes);
    CHECK(max_abs(want) > 0);
    CHECK(max_abs(sub(maps, want)) <= 1e-12 * max_abs(want));
  }

  TEST_CASE("gradcam: a class with no evidence gives zeros, a constant map ones, never NaN") {
    auto model = make_model("resnet18", {.num_classes = 3, .seed = 5});
    model->eval();
    // layer4's output is a ReLU's (>= 0): class 0 with all fc weights negative has alpha < 0 everywhere.
    for (auto& [name, p] : model->named_parameters())
      if (name == "fc.weight") {
        NoGradGuard no_grad;
        p.select(0, 0).fill_(-0.01);
      }
    GradCam cam(*model);
    cam.forward(test_input({1, 3, 64, 64}, 2, -1, 1, DType::f32));
    const std::vector<float> raw = cam.maps({0}).to_vector<float>();
    for (float v : raw) CHECK(v == 0.0f);
    for (float v : normalize_cam(raw)) CHECK(v == 0.0f);
    for (float v : normalize_cam(std::vector<float>(9, 0.25f))) CHECK(v == 1.0f);
    const std::vector<float> scaled = normalize_cam({0.0f, 1.0f, 4.0f});
    CHECK(scaled == std::vector<float>{0.0f, 0.25f, 1.0f});
    // An all-zero map still draws: the image under a uniform blue.
    Image img;
    img.height = 20;
    img.width = 30;
    img.rgb.assign(20 * 30 * 3, 200);
    const Image out = cam_overlay(img, Preprocessing::torchvision_imagenet(), normalize_cam(raw), 2, 2, false);
    CHECK(out.width == 30);
  }

  TEST_CASE("gradcam: a batch gives the maps of its images one by one") {
    auto model = make_model("resnet18", {.num_classes = 5, .seed = 7});
    model->eval();
    fuse_for_inference(*model);
    GradCam cam(*model, "layer3");
    const Tensor x = test_input({3, 3, 64, 64}, 4, -1, 1, DType::f32);
    cam.forward(x);
    const std::vector<int64_t> classes = {4, 1, 1};
    const Tensor batch = cam.maps(classes);
    for (int64_t i = 0; i < 3; ++i) {
      cam.forward(x.slice(0, i, i + 1));
      const Tensor one = cam.maps({classes[static_cast<size_t>(i)]}).squeeze(0);
      CHECK(max_abs(sub(batch.select(0, i), one)) <= 1e-5 * max_abs(one));
    }
  }

  TEST_CASE("gradcam: errors name the layer and list the valid ones") {
    auto model = make_model("vgg11", {.num_classes = 2});
    CHECK(GradCam(*model).layer() == "features.19");  // vgg11: the ReLU after the last convolution
    CHECK_THROWS_WITH_AS(GradCam(*model, "features.99"),
                         doctest::Contains("vgg11 has no layer 'features.99'; its layers are: features, features.0"), Error);
    GradCam linear(*model, "classifier.0");
    CHECK_THROWS_WITH_AS(linear.forward(zeros({1, 3, 32, 32})), doctest::Contains("not a [N, K, h, w] feature map"), Error);
    GradCam cam(*model);
    cam.forward(zeros({2, 3, 32, 32}));
    CHECK_THROWS_WITH_AS(cam.maps({0}), doctest::Contains("1 classes given for 2 images"), Error);
    CHECK_THROWS_WITH_AS(cam.maps({0, 2}), doctest::Contains("class 2 for image 1 is outside 0..1"), Error);
  }

  TEST_CASE("overlay: the map lands on the eval crop of the image as given, colour bar at the right") {
    // 600 x 450 with torchvision's eval geometry: resize to 341 x 256, centre crop 224 (offsets 58 and 16).
    const Preprocessing p = Preprocessing::torchvision_imagenet();
    const ImageRegion box = eval_crop_box(450, 600, p);
    CHECK(box.top == doctest::Approx(16 * 450.0 / 256));
    CHECK(box.left == doctest::Approx(58 * 600.0 / 341));
    CHECK(box.height == doctest::Approx(224 * 450.0 / 256));
    CHECK(box.width == doctest::Approx(224 * 600.0 / 341));
    Image grey;
    grey.height = 450;
    grey.width = 600;
    grey.rgb.assign(450 * 600 * 3, 100);
    // A 1 x 2 map: the left half of the crop is 0 (blue), the right half 1 (red).
    const Image out = cam_overlay(grey, p, {0.0f, 1.0f}, 1, 2);
    REQUIRE(out.height == 450);
    REQUIRE(out.width > 600);
    auto pixel = [&](int64_t y, int64_t x) { return &out.rgb[static_cast<size_t>((y * out.width + x) * 3)]; };
    const std::array<uint8_t, 3> blue = jet_colour(0), red = jet_colour(1);
    const int64_t y = 225, left_x = static_cast<int64_t>(box.left + 5), right_x = static_cast<int64_t>(box.left + box.width - 5);
    for (int c = 0; c < 3; ++c) {
      CHECK(pixel(y, left_x)[c] == (100 + blue[c] + 1) / 2);
      CHECK(pixel(y, right_x)[c] == (100 + red[c] + 1) / 2);
      CHECK(pixel(5, 5)[c] == 40);  // outside the crop: darkened, no colour
    }
    const int64_t bar_x = grey.width + (out.width - grey.width) / 2;  // the bar: red at the top, blue at the bottom
    CHECK(pixel(0, bar_x)[0] == red[0]);
    CHECK(pixel(out.height - 1, bar_x)[2] == blue[2]);
  }
}

TEST_SUITE("gradcam") {
  TEST_CASE("explain: PNG overlays per image and class, raw maps in --json equal the library's, clear errors") {
    const TempDir t("explain");
    auto model = make_model("resnet18", {.num_classes = 7, .seed = 2});
    Preprocessing p = Preprocessing::torchvision_imagenet(74);
    p.input_size = 64;
    const std::string weights = t / "model.safetensors";
    save_weights(*model, weights, {{"arch", "resnet18"}, {"preprocessing", p.to_json()},
                                   {"classes", nlohmann::json(ham10000_classes()).dump()}});
    // Two images with the same file name in two folders: the second's overlays get its position.
    std::vector<std::string> images;
    for (int i = 0; i < 2; ++i) {
      Image img;
      img.height = 90;
      img.width = 120;
      img.rgb.resize(90 * 120 * 3);
      for (size_t k = 0; k < img.rgb.size(); ++k) img.rgb[k] = static_cast<uint8_t>((k * (7 + 6 * i)) % 251);
      std::filesystem::create_directories(t.path() / std::to_string(i));
      images.push_back(t / (std::to_string(i) + "/lesion.png"));
      encode_image(img, images.back());
    }
    const std::string skinnet = build_dir() + "/skinnet explain --checkpoint " + weights;
    const CommandResult r =
        run_command(fmt::format("{} --top 2 --out {} --json {} {}", skinnet, t / "out", images[0], images[1]));
    REQUIRE(r.status == 0);
    std::istringstream lines(r.output);
    model->eval();
    GradCam cam(*model);
    for (size_t i = 0; i < 2; ++i) {
      std::string line;
      REQUIRE(std::getline(lines, line));
      const nlohmann::json j = nlohmann::json::parse(line);
      CHECK(j["image"] == images[i]);
      CHECK(j["layer"] == "layer4");
      REQUIRE(j["classes"].size() == 2);
      CHECK(j["classes"][0]["prob"].get<double>() >= j["classes"][1]["prob"].get<double>());
      const Tensor logits = cam.forward(preprocess_image(decode_image(images[i]), p).unsqueeze(0));
      for (const nlohmann::json& c : j["classes"]) {
        const std::string png = c["png"];
        CHECK(png == t / fmt::format("out/{}_{}.png", i == 0 ? "lesion" : "lesion-1", c["class"].get<std::string>()));
        const Image overlay = decode_image(png);
        CHECK(overlay.height == 90);
        CHECK(overlay.width == 120 + 6 + 12);
        const Tensor want = cam.maps({c["index"].get<int64_t>()}).squeeze(0);
        std::vector<float> got;
        for (const nlohmann::json& row : c["map"]) for (float v : row.get<std::vector<float>>()) got.push_back(v);
        REQUIRE(want.shape() == Shape{2, 2});
        CHECK(max_abs(sub(from_vector(got, {2, 2}), want)) <= 1e-4 * std::max(max_abs(want), 1e-6));
      }
    }
    const CommandResult mel = run_command(fmt::format("{} --class MEL --json {}", skinnet, images[0]));
    REQUIRE(mel.status == 0);
    CHECK(nlohmann::json::parse(mel.output)["classes"][0]["class"] == "MEL");
    // Errors: a layer with no feature map or no such layer (exit 1); flags that do not go together (exit 2).
    const CommandResult fc = run_command(fmt::format("{} --layer fc --json {} 2>&1", skinnet, images[0]));
    CHECK(fc.status == 1);
    CHECK(fc.output.find("layer 'fc' of resnet18 gives") != std::string::npos);
    const CommandResult bogus = run_command(fmt::format("{} --layer layer9 --json {} 2>&1", skinnet, images[0]));
    CHECK(bogus.status == 1);
    CHECK(bogus.output.find("resnet18 has no layer 'layer9'; its layers are: conv1, bn1, relu") != std::string::npos);
    for (const char* bad : {"--class MEL --top 2 --json", "--class XYZ --json", ""}) {
      const CommandResult u = run_command(fmt::format("{} {} {} 2>&1", skinnet, bad, images[0]));
      CHECK_MESSAGE(u.status == 2, bad, ": ", u.output);
    }
  }
}

}  // namespace nn::test
