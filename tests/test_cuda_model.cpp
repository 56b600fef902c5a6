// A whole network on the CUDA backend against the CPU backend: ResNet-18 forward, loss and backward, in
// training mode (batch-norm batch statistics, running-stat updates), on a small input. On the emulator this
// runs every kernel the network trains with — conv2d in three directions, batch norm, ReLU, max and adaptive
// pooling, the residual adds, linear (GEMM), cross-entropy and the gradient sums — in one random thread order.
#include <doctest/doctest.h>

#include "models/network.h"
#include "tests/check.h"
#include "tests/cuda_check.h"

namespace nn::test {

TEST_SUITE("cuda") {
  TEST_CASE("cuda: resnet18 forward and backward on the CUDA backend match the CPU backend") {
    const auto cpu = make_model("resnet18", {.num_classes = 7, .seed = 5});
    const auto gpu = make_model("resnet18", {.num_classes = 7, .seed = 5});
    gpu->to(Device::cuda());
    CHECK(gpu->device() == Device::cuda());

    Generator gen(9);
    const Tensor x = randn({2, 3, 40, 40}, gen);  // 40x40: every stage runs, down to 2x2 before the pool
    const Tensor target = from_vector<int64_t>({3, 6}, {2});

    emu::set_schedule({emu::Order::random, 4});
    const uint64_t launches_before = emu::launches();
    const Tensor logits_cpu = cpu->forward(x);
    const Tensor loss_cpu = cross_entropy(logits_cpu, target);
    loss_cpu.backward();
    const Tensor logits_gpu = gpu->forward(to_cuda(x));
    const Tensor loss_gpu = cross_entropy(logits_gpu, to_cuda(target));
    loss_gpu.backward();
    emu::set_schedule({});
    if (emu::active()) CHECK(emu::launches() - launches_before > 100);  // the work really ran as kernels

    CHECK(logits_gpu.device() == Device::cuda());
    // float32 results that differ only in summation order (GEMM tiles, reduction trees) through 20 layers
    // with batch norm: relative 1e-4 per element plus 1e-4 of the tensor's rms.
    const Tol tol{1e-4, 1e-4};
    check_close("logits", to_cpu(logits_gpu), logits_cpu, tol);
    check_close("loss", to_cpu(loss_gpu), loss_cpu, tol);
    const auto grads_cpu = cpu->named_parameters();
    const auto grads_gpu = gpu->named_parameters();
    REQUIRE(grads_cpu.size() == grads_gpu.size());
    for (size_t i = 0; i < grads_cpu.size(); ++i) {
      const auto& [name, p] = grads_cpu[i];
      REQUIRE(grads_gpu[i].second.grad().defined());
      CHECK(grads_gpu[i].second.grad().device() == Device::cuda());
      check_close("grad of " + name, to_cpu(grads_gpu[i].second.grad()), p.grad(), tol);
    }
    const auto buffers_cpu = cpu->named_buffers();
    const auto buffers_gpu = gpu->named_buffers();
    for (size_t i = 0; i < buffers_cpu.size(); ++i)
      if (is_floating(buffers_cpu[i].second.dtype()))
        check_close("buffer " + buffers_cpu[i].first, to_cpu(buffers_gpu[i].second), buffers_cpu[i].second, tol);
  }
}

}  // namespace nn::test
