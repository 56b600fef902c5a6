// CPU GEMM ladder, rung 6: every core (the production sgemm, gemm_cpu<float>).
//
// Changed from rung 5: one OpenMP region runs the packed loops (kernels/cpu/gemm/packed.cpp). The
// threads pack each block of B and of A together (split by micro-panel), then split the 2-D grid of
// MR x NR micro-tiles of the MC x NC macro tile evenly, to within one tile, reading the shared packed
// blocks; a barrier separates packing from computing. Splitting the micro-tile grid rather than
// whole MC blocks keeps both cores busy on the GEMMs of convolutions, whose M (output channels) is
// often a single MC block. Inside a caller's parallel loop (a convolution working on several images at
// once) it runs on the calling thread, as OpenBLAS's OpenMP build does.
// Why faster: two cores, nearly twice the FLOP/s once the problem is large enough to amortise the
// barriers (a few microseconds each; under ~1 MFLOP per thread it stays on one).
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
