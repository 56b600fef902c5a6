// weights/convert.py as a user runs it: a good torchvision file converts to what the model loads; a
// corrupt download, a wrong architecture, a pickle that would run code, Keras ResNet weights and missing
// files are refused with a message that says why.
#include <unistd.h>

#include <filesystem>

#include "tests/check.h"
#include "tests/support.h"

namespace nn::test {

namespace {

// Runs the converter from the repository root (where make test runs the tests).
CommandResult convert(const std::string& args) {
  return run_command("/usr/bin/python3 weights/convert.py " + args, Capture::stdout_and_stderr);
}

// The torchvision-style resnet18-<sha256 prefix>.pth that tests/torch_cases_models.py kept.
std::string find_torch_pth() {
  for (const TorchCase& c : torch_cases("models"))
    if (c.name == "eval_resnet18") return refs_path(c.params["pth"]);
  NN_FAIL("no eval_resnet18 reference case");
}

}  // namespace

TEST_SUITE("weights") {
  TEST_CASE("convert.py: a torchvision file converts to the same tensors, with its hash and metadata checked") {
    const std::string pth = find_torch_pth();
    const TempDir t("convert");
    const std::string out = t / "r18.safetensors";
    const CommandResult r = convert("--from torchvision --arch resnet18 --in '" + pth + "' --out '" + out + "'");
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("wrote " + out) != std::string::npos);
    const SafetensorsFile a = SafetensorsFile::open(out), b = SafetensorsFile::open(refs_path("eval_resnet18.safetensors"));
    CHECK(a.names() == b.names());
    CHECK(a.get("layer4.1.conv2.weight").to_vector<float>() == b.get("layer4.1.conv2.weight").to_vector<float>());
    CHECK(a.metadata().at("arch") == "resnet18");
    CHECK(a.metadata().at("num_classes") == "1000");
    CHECK(a.metadata().at("source").rfind("torchvision:resnet18-", 0) == 0);
  }
}

TEST_SUITE("errors") {
  TEST_CASE("convert.py: corrupt download, wrong architecture, code in the pickle, Keras ResNet, missing file") {
    const std::string pth = find_torch_pth();
    const TempDir t("convert");
    // Every refused conversion is pointed at `never`; none of them may write it.
    const std::string never = t / "never.safetensors";
    // The converter checks the hash prefix in torchvision's file name against the file's SHA-256.
    const std::string bad = t / "resnet18-00000000.pth";
    std::filesystem::copy_file(pth, bad);
    CommandResult r = convert("--from torchvision --arch resnet18 --in '" + bad + "' --out '" + never + "'");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("does not start with 00000000") != std::string::npos, r.output);

    r = convert("--from torchvision --arch resnet34 --in '" + pth + "' --out '" + never + "'");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("does not match torchvision's resnet34") != std::string::npos, r.output);

    r = convert("--from torchvision --arch resnet18 --in '" + refs_path("malicious.pth") + "' --out '" + never + "'");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("weights-only") != std::string::npos, r.output);
    CHECK(access(refs_path("malicious-ran").c_str(), F_OK) != 0);  // the payload never ran

    r = convert("--from keras --arch resnet50 --in resnet50_weights_tf_dim_ordering_tf_kernels.h5 --out '" + never +
                "'");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("stride") != std::string::npos, r.output);

    r = convert("--from torchvision --arch resnet18 --in /nonexistent/resnet18.pth --out '" + never + "'");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("/nonexistent/resnet18.pth: no such file") != std::string::npos, r.output);

    r = convert("--from torchvision --arch alexnet --in x --out y");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("unknown architecture 'alexnet'") != std::string::npos, r.output);
    CHECK(access(never.c_str(), F_OK) != 0);
  }
}

}  // namespace nn::test
