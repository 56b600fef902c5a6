// LayerProfiler (skinnet profile): which rows get forward and backward time, and that profiling changes
// nothing in the results. Times themselves are not asserted (the machines are shared and noisy); what is
// checked is where the autograd nodes are charged, which is deterministic.
#include "layers/profile.h"
#include "models/network.h"
#include "tensor/autograd.h"
#include "tests/check.h"

namespace nn::test {

namespace {

const LayerProfiler::Row& row(const std::vector<LayerProfiler::Row>& rows, const std::string& name) {
  for (const LayerProfiler::Row& r : rows)
    if (r.name == name) return r;
  NN_FAIL("no profile row {}", name);
}

}  // namespace

TEST_SUITE("autograd") {
  TEST_CASE("profile: every layer of a training step is charged its forward and backward, in execution order") {
    auto model = make_model("resnet18", {.num_classes = 3, .seed = 5});
    Generator gen(6);
    const Tensor x = randn({2, 3, 32, 32}, gen), labels = randint(0, 3, {2}, gen);
    LayerProfiler profiler(*model, x.shape());
    profiler.start();
    const Tensor loss = cross_entropy((*model)(x), labels);
    loss.backward();
    profiler.stop();
    const std::vector<LayerProfiler::Row> rows = profiler.rows();
    CHECK(rows.front().name == "conv1");
    CHECK(row(rows, "conv1").flops == doctest::Approx(2.0 * 2 * 64 * 16 * 16 * 3 * 7 * 7));  // batch 2
    for (const char* name : {"conv1", "bn1", "layer1.0.conv1", "layer2.0.downsample.0", "layer4.1.bn2", "fc"}) {
      CAPTURE(name);
      const LayerProfiler::Row& r = row(rows, name);
      CHECK(r.calls == 1);
      CHECK(r.forward_ms > 0);
      CHECK(r.backward_ms > 0);  // its autograd nodes were tagged with it
    }
    // What the CPU convolution kernels ran (kernels/conv2d.h, Conv2dCpuTrace): every pass of a convolution
    // says, other layers say nothing, and the network's input (conv1) gets no data gradient.
    CHECK(row(rows, "conv1").forward_algorithm.starts_with("im2col+GEMM"));  // 7x7/2: never 1x1 nor blocked
    CHECK(row(rows, "conv1").backward_data_algorithm.empty());
    CHECK(row(rows, "conv1").backward_weight_algorithm.starts_with("im2col+GEMM"));
    for (const char* name : {"layer1.0.conv1", "layer3.0.conv2", "layer4.0.downsample.0"}) {
      CAPTURE(name);
      CHECK(!row(rows, name).forward_algorithm.empty());
      CHECK(!row(rows, name).backward_data_algorithm.empty());
      CHECK(!row(rows, name).backward_weight_algorithm.empty());
    }
    CHECK(row(rows, "bn1").forward_algorithm.empty());
    CHECK(row(rows, "bn1").backward_data_algorithm.empty());
    const std::string table = profiler.table(1);
    CHECK(table.find("algorithm: forward / backward data / backward weight") != std::string::npos);
    CHECK(table.find("NCHW     im2col+GEMM") != std::string::npos);
    CHECK(row(rows, "layer1.0.relu").calls == 2);  // a BasicBlock calls its ReLU twice
    // The residual addition and the block's last ReLU are one op (add_relu), charged to the ReLU's row:
    // no autograd node is left to the block itself.
    CHECK(row(rows, "layer1.0.relu").backward_ms > 0);
    CHECK(row(rows, "layer1.0").backward_ms == 0);
    CHECK(row(rows, "(loss)").backward_ms > 0);    // cross entropy ran outside every module
    CHECK(profile::sink() == nullptr);             // stop() uninstalled the hooks
    CHECK(LayerProfiler::active() == nullptr);
  }

  TEST_CASE("profile: a frozen backbone records no backward; profiling leaves gradients unchanged") {
    Generator gen(7);
    const Tensor x = randn({2, 3, 32, 32}, gen), labels = randint(0, 3, {2}, gen);
    auto grads = [&](bool profiled, bool frozen) {
      auto model = make_model("resnet18", {.num_classes = 3, .seed = 8});
      if (frozen) {
        model->freeze("");
        model->unfreeze("fc");
      }
      LayerProfiler profiler(*model, x.shape());
      if (profiled) profiler.start();
      cross_entropy((*model)(x), labels).backward();
      profiler.stop();
      std::vector<Tensor> g;
      for (const Tensor& p : model->parameters(Trainable::only)) g.push_back(p.grad());
      return std::make_pair(profiler.rows(), g);
    };
    const auto [rows, frozen_grads] = grads(true, true);
    for (const LayerProfiler::Row& r : rows) {
      CAPTURE(r.name);
      if (r.name != "fc" && r.name != "(loss)") CHECK(r.backward_ms == 0);
      CHECK(r.backward_weight_algorithm.empty());  // no convolution ran backward
    }
    CHECK(row(rows, "fc").backward_ms > 0);
    CHECK(frozen_grads.size() == 2);  // fc.weight, fc.bias
    const auto plain = grads(false, false).second, profiled = grads(true, false).second;
    REQUIRE(plain.size() == profiled.size());
    for (size_t i = 0; i < plain.size(); ++i) CHECK(plain[i].to_vector<float>() == profiled[i].to_vector<float>());
  }
}

}  // namespace nn::test
