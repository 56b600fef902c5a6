// Controls of the CUDA emulator that tests use (docs/emulator.md). Plain C++, no CUDA types, so test
// files compile in every build: in a real CUDA build and a CPU-only build, active() is false and the
// setters do nothing.
#pragma once

#include <cstdint>

namespace nn::emu {

// The order in which the emulator resumes the CUDA threads of a block between barriers. A kernel that is
// correct gives the same result in every order; a missing __syncthreads shows up as a difference.
enum class Order { forward, reverse, random };
struct Schedule {
  Order order = Order::forward;
  uint64_t seed = 1;  // random order: the same seed gives the same interleaving
};

bool active();  // cuda:0 of this binary is the emulator (defined by the device file, kernels/cuda/device*.cpp)
void set_schedule(Schedule s);
Schedule schedule();

// Worker threads a launch spreads its blocks over (NN_EMU_WORKERS, default the core count; 1 in the
// static-shared flavour). 0 outside the emulator.
int workers();

// Number of kernel launches so far (emulator only; 0 elsewhere). Tests use it to prove a CUDA path ran.
uint64_t launches();

}  // namespace nn::emu
