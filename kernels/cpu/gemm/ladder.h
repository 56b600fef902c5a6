// The CPU GEMM ladder: C = alpha * op(A) * op(B) + beta * C (kernels/gemm.h) in float32, written six times,
// each rung one idea faster than the one before, as kernels/cuda/gemm/ does for the GPU
// (docs/cpu-kernels.md tells the story with this machine's figures; `skinnet bench-ops --ladder` times them).
//
//   01_naive         three loops, one dot product per element of C
//   02_loop_order    i-k-j: the inner loop streams rows of B and C, and the compiler vectorises it
//   03_blocking      02 on cache-sized blocks of A, B and C
//   04_packing       the BLIS algorithm: panels packed for unit-stride reads, a register-tiled micro-kernel
//                    (plain C++: the portable fallback)
//   05_microkernel   04 with the micro-kernel in AVX2 / AVX-512 intrinsics, chosen by CPUID
//   06_threads       05 on every core: threads split the packed blocks and the 2-D grid of micro-tiles
//
// Every rung handles any M, N, K, both transpositions, alpha, beta (beta == 0 never reads C) and leading
// dimensions, and is tested against gemm_reference_cpu (tests/test_gemm_ladder.cpp). gemm_cpu<float>
// runs rung 06; OpenBLAS stays beside it as the vendor reference (gemm_openblas_cpu, kernels/gemm.h).
#pragma once

#include <cstdint>
#include <span>

#include "kernels/gemm.h"

namespace nn::cpu_gemm {

using GemmFn = void (*)(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

struct Rung {
  const char* name;  // "01_naive", ...: the file kernels/cpu/gemm/<name>.cpp
  GemmFn fn;
  bool threaded;     // uses every core (the others run on the calling thread)
};

// Every rung, in order; the last is the one gemm_cpu<float> calls.
std::span<const Rung> ladder();

#define NN_CPU_GEMM_RUNG(name)                                                                                    \
  void name(Trans ta, Trans tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,        \
            const float* B, int64_t ldb, float beta, float* C, int64_t ldc)
NN_CPU_GEMM_RUNG(gemm_naive);        // 01_naive.cpp
NN_CPU_GEMM_RUNG(gemm_loop_order);   // 02_loop_order.cpp
NN_CPU_GEMM_RUNG(gemm_blocking);     // 03_blocking.cpp
NN_CPU_GEMM_RUNG(gemm_packing);      // 04_packing.cpp
NN_CPU_GEMM_RUNG(gemm_microkernel);  // 05_microkernel.cpp
NN_CPU_GEMM_RUNG(gemm_threads);      // 06_threads.cpp
#undef NN_CPU_GEMM_RUNG

// op(X)(r, c) for the simple rungs: X[r * rs + c * cs].
struct Operand {
  const float* p;
  int64_t rs, cs;
  float operator()(int64_t r, int64_t c) const { return p[r * rs + c * cs]; }
};
inline Operand operand(const float* X, int64_t ld, Trans t) {
  return t == Trans::no ? Operand{X, ld, 1} : Operand{X, 1, ld};
}

// C[0:M, 0:N] = beta * C (beta == 0 writes zeros without reading C): the rungs that accumulate into C, and
// the packed driver when K or alpha is 0 (02_loop_order.cpp).
void scale_c(float* C, int64_t ldc, int64_t M, int64_t N, float beta);

// Rung 2's loops on a block, which rung 3 runs block by block (02_loop_order.cpp).
void ikj_block(const Operand& a, const Operand& b, float alpha, float* C, int64_t ldc, int64_t m0, int64_t m1,
               int64_t k0, int64_t k1, int64_t n0, int64_t n1);

}  // namespace nn::cpu_gemm
