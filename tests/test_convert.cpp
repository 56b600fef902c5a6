// weights/convert.py as a user runs it: a good torchvision file converts to what the model loads; a
// corrupt download, a wrong architecture, a pickle that would run code, Keras ResNet weights and missing
// files are refused with a message that says why.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "tests/check.h"

namespace nn::test {

namespace {

struct Run {
  int status;
  std::string output;  // stdout and stderr
};

// Runs the converter from the repository root (where make test runs the tests).
Run convert(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 weights/convert.py " + args + " 2>&1";
  Run r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p, "cannot run " << cmd);
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The torchvision-style resnet18-<sha256 prefix>.pth that tests/torch_cases_models.py kept.
std::string find_torch_pth() {
  for (const TorchCase& c : torch_cases("models"))
    if (c.name == "eval_resnet18") return refs_path(c.params["pth"]);
  NN_FAIL("no eval_resnet18 reference case");
}

std::string shell_copy(const std::string& from, const std::string& to) {
  REQUIRE(std::system(("cp '" + from + "' '" + to + "'").c_str()) == 0);
  return to;
}

}  // namespace

TEST_SUITE("weights") {
  TEST_CASE("convert.py: a torchvision file converts to the same tensors, with its hash and metadata checked") {
    const std::string pth = find_torch_pth();
    const std::string out = fmt::format("/tmp/skinnet-test-{}-r18.safetensors", getpid());
    const Run r = convert("--from torchvision --arch resnet18 --in '" + pth + "' --out '" + out + "'");
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("wrote " + out) != std::string::npos);
    const SafetensorsFile a = SafetensorsFile::open(out), b = SafetensorsFile::open(refs_path("eval_resnet18.safetensors"));
    CHECK(a.names() == b.names());
    CHECK(a.get("layer4.1.conv2.weight").to_vector<float>() == b.get("layer4.1.conv2.weight").to_vector<float>());
    CHECK(a.metadata().at("arch") == "resnet18");
    CHECK(a.metadata().at("num_classes") == "1000");
    CHECK(a.metadata().at("source").rfind("torchvision:resnet18-", 0) == 0);
    std::remove(out.c_str());
  }
}

TEST_SUITE("errors") {
  TEST_CASE("convert.py: corrupt download, wrong architecture, code in the pickle, Keras ResNet, missing file") {
    const std::string pth = find_torch_pth();
    const std::string dir = std::getenv("NN_TEST_REFS");
    const std::string bad = shell_copy(pth, fmt::format("/tmp/skinnet-test-{}-resnet18-00000000.pth", getpid()));
    Run r = convert("--from torchvision --arch resnet18 --in " + bad + " --out /tmp/never.safetensors");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("does not start with 00000000") != std::string::npos, r.output);
    std::remove(bad.c_str());

    r = convert("--from torchvision --arch resnet34 --in '" + pth + "' --out /tmp/never.safetensors");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("does not match torchvision's resnet34") != std::string::npos, r.output);

    r = convert("--from torchvision --arch resnet18 --in '" + dir + "/malicious.pth' --out /tmp/never.safetensors");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("weights-only") != std::string::npos, r.output);
    CHECK(access((dir + "/malicious-ran").c_str(), F_OK) != 0);  // the payload never ran

    r = convert("--from keras --arch resnet50 --in resnet50_weights_tf_dim_ordering_tf_kernels.h5 --out /tmp/never.safetensors");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("stride") != std::string::npos, r.output);

    r = convert("--from torchvision --arch resnet18 --in /nonexistent/resnet18.pth --out /tmp/never.safetensors");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("/nonexistent/resnet18.pth: no such file") != std::string::npos, r.output);

    r = convert("--from torchvision --arch alexnet --in x --out y");
    CHECK(r.status == 1);
    CHECK_MESSAGE(r.output.find("unknown architecture 'alexnet'") != std::string::npos, r.output);
    CHECK(access("/tmp/never.safetensors", F_OK) != 0);
  }
}

}  // namespace nn::test
