// A whole network on the CUDA backend against the CPU backend: ResNet-18 forward, loss and backward, in
// training mode (batch-norm batch statistics, running-stat updates), on a small input. On the emulator this
// runs every kernel the network trains with — conv2d in three directions, batch norm, ReLU, max and adaptive
// pooling, the residual adds, linear (GEMM), cross-entropy and the gradient sums — in one random thread order.
//
// The criterion: both float32 backends are compared with the same network in float64 on the CPU, and the
// CUDA backend's largest error on every tensor must be within a small factor of the CPU backend's own.
// A fixed tolerance against the CPU cannot be right for every tensor: in layer4, batch norm normalises over
// M = N*2*2 = 8 values per channel, so its 1/std amplifies float32 rounding by orders of magnitude for some
// channels, and both float32 backends land ~1e-4 (of the tensor's rms) away from float64 there, while the
// logits agree to 1e-6. Comparing each backend's error with the exact answer measures what matters: is the
// CUDA result as good as the CPU's? A wrong kernel (a missing term, an index off by one) is wrong by the
// size of the values themselves, hundreds of times the CPU's error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "models/network.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

namespace {

// max |a - ref| and the rms of ref, in double on the host.
struct Deviation {
  double max_error = 0, rms = 0;
};
Deviation deviation(const Tensor& a, const Tensor& ref) {
  const std::vector<double> x = a.to_vector<double>(), r = ref.to_vector<double>();
  REQUIRE(x.size() == r.size());
  Deviation d;
  for (size_t i = 0; i < x.size(); ++i) {
    d.max_error = std::max(d.max_error, std::abs(x[i] - r[i]));
    d.rms += r[i] * r[i];
  }
  d.rms = std::sqrt(d.rms / std::max<size_t>(r.size(), 1));
  return d;
}

// The CUDA result's largest error against float64 is at most kFactor times the CPU result's, plus 2^-24 of
// the tensor's rms (for tensors both float32 backends get exactly right up to one rounding). Measured on the
// emulator (random:4 order): the largest ratio over the logits, 62 gradients and 40 running statistics is
// 2.2 (layer4.0.downsample's batch-norm weight gradient); most are 1-1.8.
constexpr double kFactor = 4;

void check_as_accurate(const std::string& what, const Tensor& gpu, const Tensor& cpu, const Tensor& ref64) {
  const Deviation g = deviation(to_cpu(gpu), ref64), c = deviation(cpu, ref64);
  const double bound = kFactor * c.max_error + std::ldexp(g.rms, -24);
  INFO(what, ": CUDA max error ", g.max_error, ", CPU max error ", c.max_error, " (rms ", g.rms, ")");
  CHECK(g.max_error <= bound);
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda: resnet18 forward and backward on the CUDA backend are as accurate as the CPU backend") {
    const auto cpu = make_model("resnet18", {.num_classes = 7, .seed = 5});
    const auto gpu = make_model("resnet18", {.num_classes = 7, .seed = 5});
    const auto ref = make_model("resnet18", {.num_classes = 7, .seed = 5});
    ref->to(DType::f64);
    gpu->to(Device::cuda());
    CHECK(gpu->device() == Device::cuda());

    Generator gen(9);
    const Tensor x = randn({2, 3, 40, 40}, gen);  // 40x40: every stage runs, down to 2x2 before the pool
    const Tensor target = from_vector<int64_t>({3, 6}, {2});

    const Tensor logits_ref = ref->forward(x.to(DType::f64));
    const Tensor loss_ref = cross_entropy(logits_ref, target);
    loss_ref.backward();
    const Tensor logits_cpu = cpu->forward(x);
    const Tensor loss_cpu = cross_entropy(logits_cpu, target);
    loss_cpu.backward();
    emu::set_schedule({emu::Order::random, 4});
    const uint64_t launches_before = emu::launches();
    const Tensor logits_gpu = gpu->forward(to_cuda(x));
    const Tensor loss_gpu = cross_entropy(logits_gpu, to_cuda(target));
    loss_gpu.backward();
    emu::set_schedule({});
    if (emu::active()) CHECK(emu::launches() - launches_before > 100);  // the work really ran as kernels

    CHECK(logits_gpu.device() == Device::cuda());
    check_as_accurate("logits", logits_gpu, logits_cpu, logits_ref);
    // The loss is one number, whose error follows from the logits': d loss / d logit is (p - onehot) / N,
    // whose entries sum in magnitude to at most 2 per row, so |loss error| <= 2 * max |logit error| (plus
    // the loss's own rounding). Comparing with the CPU's error would be luck: one number can be exact.
    const Deviation logit_error = deviation(to_cpu(logits_gpu), logits_ref);
    const Deviation loss_error = deviation(to_cpu(loss_gpu), loss_ref);
    CHECK(loss_error.max_error <= 2 * logit_error.max_error + std::ldexp(loss_error.rms, -23));
    const auto params_ref = ref->named_parameters();
    const auto params_cpu = cpu->named_parameters();
    const auto params_gpu = gpu->named_parameters();
    REQUIRE(params_cpu.size() == params_gpu.size());
    REQUIRE(params_ref.size() == params_gpu.size());
    for (size_t i = 0; i < params_cpu.size(); ++i) {
      const auto& [name, p] = params_cpu[i];
      REQUIRE(params_gpu[i].second.grad().defined());
      CHECK(params_gpu[i].second.grad().device() == Device::cuda());
      check_as_accurate("grad of " + name, params_gpu[i].second.grad(), p.grad(), params_ref[i].second.grad());
    }
    const auto buffers_ref = ref->named_buffers();
    const auto buffers_cpu = cpu->named_buffers();
    const auto buffers_gpu = gpu->named_buffers();
    for (size_t i = 0; i < buffers_cpu.size(); ++i)
      if (is_floating(buffers_cpu[i].second.dtype()))
        check_as_accurate("buffer " + buffers_cpu[i].first, buffers_gpu[i].second, buffers_cpu[i].second,
                          buffers_ref[i].second);
  }
}

}  // namespace nn::test
