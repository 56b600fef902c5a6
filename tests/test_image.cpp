// Images: decoding every channel layout to RGB8, the resize algorithm (identity, against PIL), centre
// crops, normalisation, bad files, and `skinnet predict` end to end against torchvision.
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/check.h"
#include "tests/support.h"
#include "train/data/image.h"

namespace nn::test {

namespace {

Tensor as_tensor(const Image& img) {
  return from_vector(img.rgb, {img.height, img.width, 3});
}

Image ramp(int64_t h, int64_t w) {
  Image img;
  img.height = h;
  img.width = w;
  for (int64_t i = 0; i < h * w * 3; ++i) img.rgb.push_back(static_cast<uint8_t>((i * 7) % 256));
  return img;
}

}  // namespace

TEST_SUITE("known") {
  TEST_CASE("image: resize to the same size is the identity; constant images stay constant") {
    const Image img = ramp(5, 7);
    CHECK(resize(img, 5, 7).rgb == img.rgb);
    Image flat;
    flat.height = 9;
    flat.width = 6;
    flat.rgb.assign(9 * 6 * 3, 77);
    for (auto [h, w] : {std::pair{3, 2}, std::pair{20, 13}, std::pair{9, 4}}) {
      const Image r = resize(flat, h, w);
      CHECK(r.rgb == std::vector<uint8_t>(static_cast<size_t>(h * w * 3), 77));
    }
  }

  TEST_CASE("image: a 2x downscale filters with a triangle two pixels wide; a 2x upscale interpolates") {
    // One row 0, 100, 200, 40 (all channels), shrunk to 2 pixels: scale s = 2, so the triangle filter has
    // radius 2 input pixels. Output 0 centres at 1.0; input centres 0.5, 1.5, 2.5 lie 0.5, 0.5, 1.5 away:
    // weights 0.75, 0.75, 0.25 (sum 1.75): (0*.75 + 100*.75 + 200*.25) / 1.75 = 71.4 -> 71. Output 1
    // centres at 3.0: inputs 1..3 at 1.5, 0.5, 0.5: (100*.25 + 200*.75 + 40*.75) / 1.75 = 117.1 -> 117.
    Image row;
    row.height = 1;
    row.width = 4;
    for (int v : {0, 100, 200, 40})
      for (int c = 0; c < 3; ++c) row.rgb.push_back(static_cast<uint8_t>(v));
    check_values("downscale", as_tensor(resize(row, 1, 2)), {71, 71, 71, 117, 117, 117}, 0);
    // Enlarging 0, 100 to 4 pixels: centres at 0.25, 0.75, 1.25, 1.75 in input units; pixel centres 0.5, 1.5:
    // 0.25 -> clamped to the first pixel: 0; 0.75 -> 0.75*0 + 0.25*100 = 25; 1.25 -> 75; 1.75 -> 100.
    Image two;
    two.height = 1;
    two.width = 2;
    two.rgb = {0, 0, 0, 100, 100, 100};
    check_values("upscale", as_tensor(resize(two, 1, 4)), {0, 0, 0, 25, 25, 25, 75, 75, 75, 100, 100, 100}, 0);
  }

  TEST_CASE("image: centre crop offsets round half to even, as torchvision") {
    const Image img = ramp(12, 9);
    // top = round((12 - 7) / 2) = round(2.5) = 2; left = round((9 - 6) / 2) = round(1.5) = 2
    const Image c = center_crop(img, 7, 6);
    CHECK(c.height == 7);
    CHECK(c.width == 6);
    CHECK(c.rgb[0] == img.rgb[(2 * 9 + 2) * 3]);
    CHECK(c.rgb.back() == img.rgb[((2 + 6) * 9 + 2 + 5) * 3 + 2]);
    CHECK_THROWS_AS(center_crop(img, 13, 2), Error);
  }

  TEST_CASE("image: normalisation and channel order follow the preprocessing") {
    Image img;
    img.height = 1;
    img.width = 2;
    img.rgb = {255, 0, 51, 0, 102, 255};
    Preprocessing p;
    p.input_size = 2;
    p.resize_shorter = 0;
    p.mean = {0.5, 0.25, 0};
    p.std = {0.5, 0.25, 1};
    // R: (1 - .5)/.5 = 1, (0 - .5)/.5 = -1;  G: (0 - .25)/.25 = -1, (.4 - .25)/.25 = .6;  B: .2, 1
    // resize to 2x2 repeats the row (1x2 -> 2x2 vertical interpolation of a single row)
    const Tensor t = preprocess_image(img, p);
    CHECK(t.shape() == Shape{3, 2, 2});
    check_values("RGB", t, {1, -1, 1, -1, -1, 0.6, -1, 0.6, 0.2, 1, 0.2, 1}, 1e-6);
    p = Preprocessing::keras_caffe();
    p.input_size = 2;
    // BGR, 0-255 minus the mean: B = 51 - 103.939, 255 - 103.939; G = 0 - 116.779, 102 - 116.779; R = 255 - 123.68, 0 - 123.68
    check_values("BGR", preprocess_image(img, p),
                 {51 - 103.939, 255 - 103.939, 51 - 103.939, 255 - 103.939, -116.779, 102 - 116.779, -116.779,
                  102 - 116.779, 255 - 123.68, -123.68, 255 - 123.68, -123.68},
                 1e-4);
  }
}

TEST_SUITE("torch") {
  TEST_CASE("image: decoding PNG, BMP, grey, grey+alpha, RGBA and 16-bit files gives PIL's RGB8 pixels") {
    int n = 0;
    for (const TorchCase& c : torch_cases("image")) {
      if (c.name.rfind("decode_", 0) != 0) continue;
      CAPTURE(c.name);
      ++n;
      const Image img = decode_image(refs_path(c.params["file"]));
      check_close(c.name, as_tensor(img).to(DType::f32), c["rgb"].to(DType::f32), {0, 0});
    }
    CHECK(n == 6);
  }

  TEST_CASE("image: resize matches PIL's bilinear within one grey level") {
    int n = 0;
    for (const TorchCase& c : torch_cases("image")) {
      if (c.name.rfind("resize_", 0) != 0) continue;
      CAPTURE(c.name);
      ++n;
      const Image out = resize(image_from_tensor(c["src"]), c.params["height"], c.params["width"]);
      const std::vector<double> ours = as_tensor(out).to_vector<double>(), pil = c["pil"].to_vector<double>();
      REQUIRE(ours.size() == pil.size());
      double worst = 0;
      size_t differ = 0;
      for (size_t i = 0; i < ours.size(); ++i) {
        worst = std::max(worst, std::fabs(ours[i] - pil[i]));
        differ += ours[i] != pil[i];
      }
      MESSAGE(c.name << ": " << differ << " of " << ours.size() << " values differ from PIL, by at most " << worst);
      CHECK(worst <= 1);  // PIL rounds its fixed-point filter once per pass; we round once at the end
    }
    CHECK(n == 4);
  }

  TEST_CASE("predict: skinnet predict --json gives torchvision's logits for the same image") {
    const TorchCase* c = nullptr;
    const auto cases = torch_cases("image");
    for (const TorchCase& k : cases)
      if (k.name == "predict_resnet18") c = &k;
    REQUIRE(c);
    const std::string image = refs_path(c->params["file"]);
    CHECK(check_close("preprocessed input", preprocess_image(decode_image(image), Preprocessing{}), (*c)["x"]));
    const CommandResult r = run_command(build_dir() + "/skinnet predict --arch resnet18 --weights " +
                                            refs_path(c->params["weights"]) + " --json " + image,
                                        Capture::stdout_and_stderr);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const auto j = nlohmann::json::parse(r.output);
    CHECK(j["image"] == image);
    const std::vector<float> logits = j["logits"], probs = j["probs"];
    REQUIRE(logits.size() == 1000);
    double total = 0;
    for (float v : probs) total += v;
    CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
    const Tensor got = from_vector(logits, {1000}), want = (*c)["logits"];
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < 1000; ++i) {
      diff = std::max(diff, std::fabs(static_cast<double>(logits[i]) - want.to_vector<float>()[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(want.to_vector<float>()[i])));
    }
    MESSAGE("predict: max |logit difference| / max |logit| = " << diff / scale);
    CHECK(diff <= 1e-4 * scale);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("predict: a weights file for another architecture is refused by name") {
    const CommandResult r = run_command(build_dir() + "/skinnet predict --arch vgg19 --weights " +
                                            refs_path("eval_resnet18.safetensors") + " " + refs_path("predict.png"),
                                        Capture::stdout_and_stderr);
    CHECK(r.status == 1);  // an exit, not a crash: a signal gives -1
    CHECK_MESSAGE(r.output.find("holds resnet18 weights, not vgg19") != std::string::npos, r.output);
  }

  TEST_CASE("image: a file declaring zero pixels is refused, not returned empty (found by make fuzz)") {
    // A 24-bit BMP header: 31 pixels wide, 0 rows, followed by some bytes. stb_image accepts it.
    std::vector<uint8_t> bmp(54 + 93, 0x5d);
    const uint8_t header[54] = {'B', 'M', 0x93, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 31, 0, 0, 0,
                                0,   0,   0,    0, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x13, 0x0b, 0, 0,
                                0x13, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    std::copy(header, header + 54, bmp.begin());
    CHECK_THROWS_WITH_AS(decode_image_bytes(bmp.data(), bmp.size(), "zero.bmp"), doctest::Contains("zero.bmp"), Error);
  }

  TEST_CASE("image: missing, non-image, truncated and oversized files name the file and the problem") {
    CHECK_THROWS_WITH_AS(decode_image("/nonexistent/lesion.jpg"), doctest::Contains("/nonexistent/lesion.jpg"), Error);
    const TempDir t("image");
    const std::string path = t.write("bad.png", "this is not an image");
    const std::string not_image = path + ": cannot read as an image";
    CHECK_THROWS_WITH_AS(decode_image(path), doctest::Contains(not_image.c_str()), Error);
    // A real PNG cut short: the header parses, the data does not.
    const std::string png = read_file(refs_path("rgb.png"));
    std::ofstream(path, std::ios::binary) << png.substr(0, png.size() / 2);
    CHECK_THROWS_WITH_AS(decode_image(path), doctest::Contains(path.c_str()), Error);
    // The same PNG claiming 10000 x 10000 pixels in its header: refused before decoding.
    std::string big = png;
    const unsigned char dims[8] = {0, 0, 0x27, 0x10, 0, 0, 0x27, 0x10};
    big.replace(16, 8, reinterpret_cast<const char*>(dims), 8);
    std::ofstream(path, std::ios::binary) << big;
    CHECK_THROWS_WITH_AS(decode_image(path), doctest::Contains("megapixel limit"), Error);
  }
}

}  // namespace nn::test
