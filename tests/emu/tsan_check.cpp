// The emulator's ThreadSanitizer flavour, checked end to end (run by tools/run_tests.sh):
//   tsan_check good   runs tests/emu/planted.cu's neighbour_sum with its __syncthreads: no report, exit 0;
//   tsan_check bad    the same kernel without the barrier: TSan reports a data race between two CUDA
//                     threads on the shared array (exit status 66, TSan's).
// Built by `make emu-tsan`: planted.cu and this file with -fsanitize=thread -DNN_EMU_TSAN, the emulator's
// scheduler without instrumentation (docs/emulator.md).
#include <cstdio>
#include <cstring>
#include <vector>

#include "tests/emu/planted.h"
#include "kernels/cuda/compat.h"

int main(int argc, char** argv) {
  if (argc != 2 || (std::strcmp(argv[1], "good") != 0 && std::strcmp(argv[1], "bad") != 0)) {
    std::fprintf(stderr, "usage: tsan_check good|bad\n");
    return 2;
  }
  const bool with_barrier = std::strcmp(argv[1], "good") == 0;
  const int n = 256;
  float *x = nullptr, *out = nullptr;
  if (cudaMalloc(&x, n * sizeof(float)) != cudaSuccess || cudaMalloc(&out, n * sizeof(float)) != cudaSuccess) return 3;
  std::vector<float> host(n);
  for (int i = 0; i < n; ++i) host[i] = static_cast<float>(i);
  cudaMemcpy(x, host.data(), n * sizeof(float), cudaMemcpyHostToDevice);
  const int err = nn::planted::neighbour_sum(out, x, n, with_barrier);
  if (err != 0) {
    std::fprintf(stderr, "launch failed: %s\n", nn::planted::error_text(err));
    return 4;
  }
  cudaFree(x);
  cudaFree(out);
  std::printf("tsan_check %s: kernel ran\n", argv[1]);
  return 0;
}
