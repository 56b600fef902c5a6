// CPU GEMM ladder, rung 6: every core (the production sgemm, gemm_cpu<float>).
//
// Changed from rung 5: one OpenMP region runs the packed loops (kernels/cpu/gemm/packed.cpp), split two
// ways by the shape:
//   - M in one MC block (most convolutions: M is the output channels): each thread takes its own stretch
//     of N and runs rung 5's loops on it, with B blocks sized for L2 (a packed block of B would be used by
//     this one block of A only, so there is nothing to share); no thread ever waits for another.
//   - several MC blocks: the threads pack each block of B together, then take (MC rows x column chunk)
//     macro tiles from a dynamic schedule, each packing its own block of A; a barrier separates packing B
//     from using it. Dynamic scheduling matters on a shared machine: a thread the OS preempts delays the
//     tile it holds, not a fixed half of the work.
// Inside a caller's parallel loop (a convolution working on several images at once) it runs on the
// calling thread, as OpenBLAS's OpenMP build does.
// Why faster: two cores, nearly twice the FLOP/s once the problem is large enough to amortise the region
// (a few microseconds; under ~1 MFLOP per thread it stays on one).
#include "base/parallel.h"
#include "kernels/cpu/gemm/ladder.h"
#include "kernels/cpu/gemm/packed.h"

namespace nn::cpu_gemm {

void gemm_threads(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const MicroKernel& k = best_microkernel();
  gemm_packed(k, blocking_for(k), num_threads(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

std::span<const Rung> ladder() {
  static constexpr Rung rungs[] = {
      {"01_naive", gemm_naive, false},           {"02_loop_order", gemm_loop_order, false},
      {"03_blocking", gemm_blocking, false},     {"04_packing", gemm_packing, false},
      {"05_microkernel", gemm_microkernel, false}, {"06_threads", gemm_threads, true},
  };
  return rungs;
}

}  // namespace nn::cpu_gemm
