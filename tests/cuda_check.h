// Helpers for the "cuda" tier: CUDA kernels checked against the CPU kernels.
//
// The tier runs wherever CUDA kernels can run: natively on a GPU (make test-gpu) and, in `make test`, on
// the CUDA emulator (build/skinnet_emu_tests, docs/emulator.md). On the emulator every case runs under
// several thread orders (forward, reverse, and random with three seeds), so a kernel whose result
// depends on the order in which threads run (a missing __syncthreads, a racy write) fails; device
// allocations carry guard bands that every launch checks, so a write past the end of an output fails
// the launch with cudaErrorIllegalAddress; fresh device memory is 0xFF (NaN), so reading an element no
// kernel wrote shows up as NaN in the result.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kernels/cuda/device.h"
#include "kernels/cuda/emulation.h"
#include "tensor/ops.h"

namespace nn::test {

inline Tensor to_cuda(const Tensor& t) { return t.detach().to(Device::cuda()); }
inline Tensor to_cpu(const Tensor& t) { return t.detach().to(Device::cpu()); }

// The schedules a CUDA test case runs under: five on the emulator, one (the hardware's) on a GPU.
inline std::vector<emu::Schedule> schedules() {
  if (!emu::active()) return {emu::Schedule{}};
  return {{emu::Order::forward, 1}, {emu::Order::reverse, 1}, {emu::Order::random, 1},
          {emu::Order::random, 2}, {emu::Order::random, 3}};
}

inline std::string schedule_name(const emu::Schedule& s) {
  switch (s.order) {
    case emu::Order::forward: return "forward";
    case emu::Order::reverse: return "reverse";
    case emu::Order::random: return "random:" + std::to_string(s.seed);
  }
  return "?";
}

// Runs body() once per schedule, naming the schedule in failures; restores the forward order after.
template <class Body>
void for_each_schedule(Body&& body) {
  for (const emu::Schedule& s : schedules()) {
    emu::set_schedule(s);
    INFO("thread order: ", schedule_name(s));
    body();
  }
  emu::set_schedule({});
}

}  // namespace nn::test
