// The packed GEMM that kernels/cpu/gemm/04..06 build on: the BLIS algorithm (Van Zee and van de Geijn,
// "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", 2015; Low et al., "Analytical Modeling
// Is Enough for High-Performance BLIS", 2016), float32, row-major, for any op(A), op(B), alpha, beta.
//
//   for jc in [0, N) step NC:              B's columns, a block that stays in L3
//     for pc in [0, K) step KC:            the shared dimension
//       pack op(B)[pc:pc+KC, jc:jc+NC] into NR-column micro-panels           -> L3
//       for ic in [0, M) step MC:
//         pack op(A)[ic:ic+MC, pc:pc+KC] into MR-row micro-panels            -> L2
//         for jr in [0, NC) step NR:       one B micro-panel (KC x NR)       -> L1
//           for ir in [0, MC) step MR:
//             micro-kernel: C[ir:ir+MR, jr:jr+NR] = alpha * Apanel * Bpanel + beta' * C
//
// beta' is beta for the first pc block and 1 after. The micro-kernel keeps its MR x NR tile of C in
// vector registers for the whole KC loop and reads both panels with unit stride: everything awkward
// (transposition, leading dimensions, edges) is paid once in the packing, where it is O(MK + KN) work
// against the O(MNK) of the kernel. Edge tiles (fewer than MR rows or NR columns) are packed zero-padded,
// computed into a scratch tile and added to C by the driver; the micro-kernels only see full tiles.
// When all of M fits one MC block (a convolution's output channels, usually), the pc loop goes outside the
// jc loop and NC shrinks to fit L2: each packed B block is used by that one A block only, so it is packed
// and consumed while in L2 instead of making a round trip through L3 or memory (06_threads.cpp).
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/sanitize.h"
#include "kernels/gemm.h"

namespace nn::cpu_gemm {

// C tile (mr x nr, row stride ldc) = alpha * sum_k a[k * mr + i] * b[k * nr + j] + beta * C; beta == 0
// never reads C. a and b are 64-byte aligned packed panels, kc >= 1.
using MicroKernelFn = void (*)(int64_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                               int64_t ldc);

struct MicroKernel {
  const char* name;  // "avx2 4x24"
  CpuIsa isa;        // the instruction set its file is compiled for
  int mr, nr;        // the register tile of C
  MicroKernelFn fn;
  // For edge panels: narrow[v] computes only the first v * vw columns of the tile (reading B's panel with
  // its full NR stride), so that N = 49 with NR = 24 costs 24 + 24 + 8 columns, not 3 x 24. nullptr where
  // the kernel has no such variant; vw is the vector width in floats.
  int vw = 0;
  MicroKernelFn narrow[4] = {};
};

// Under AddressSanitizer (make test SANITIZE=1) the vector micro-kernels are not instrumented load by load
// (kernels/cpu/sanitize.h: a shadow check per broadcast and per load made them 20x slower there). Instead
// each call checks its whole footprint once, before it reads anything: the A panel (a_floats from a), the B
// panel (b_floats from b) and the rows of its C tile (rows x cols, stride ldc). Outside the sanitizer build
// both are nothing.
#define NN_MICROKERNEL_UNINSTRUMENTED NN_UNINSTRUMENTED_KERNEL
#if defined(NN_SANITIZE)
void check_microkernel_footprint(const float* a, int64_t a_floats, const float* b, int64_t b_floats,
                                 const float* c, int64_t ldc, int rows, int cols);
#else
inline void check_microkernel_footprint(const float*, int64_t, const float*, int64_t, const float*, int64_t, int,
                                        int) {}
#endif

// The micro-kernels (kernels/cpu/gemm/microkernel_*.cpp). The avx2 and avx512 ones may be called only
// when cpu_has(isa). portable_microkernel_like(k) is the plain C++ kernel with k's tile shape, which lets
// every machine test the packing and edges of every ISA's blocking.
const MicroKernel& portable_microkernel();
const MicroKernel& avx2_microkernel();
const MicroKernel& avx512_microkernel();
const MicroKernel& avx2_microkernel_6x16();  // the classic AVX2 tile, kept for comparison (microkernel_avx2.cpp)
const MicroKernel& portable_microkernel_like(const MicroKernel& k);

// The widest micro-kernel this CPU runs, or the one force_isa chose (tests, benchmarks).
const MicroKernel& best_microkernel();
void force_isa(CpuIsa isa);  // throws nn::Error when the CPU lacks it
void unforce_isa();

// Cache blocking, derived from the cache sizes (cpu_caches) and the tile: the B micro-panel (KC x NR)
// fills half of L1, the packed A block (MC x KC) half of L2, the packed B block (KC x NC) a quarter of L3
// (capped; it is also what the call allocates).
struct Blocking {
  int64_t mc, kc, nc;
};
Blocking blocking_for(const MicroKernel& k);

// The packed GEMM on `threads` threads (1: the calling thread only; inside a parallel region it always
// runs on the calling thread). Threads split the 2-D grid of (MC rows x column chunk) macro tiles.
void gemm_packed(const MicroKernel& k, const Blocking& blocking, int threads, Trans ta, Trans tb, int64_t M,
                 int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float beta, float* C, int64_t ldc);

// Packing, exposed for the tests. op(X)(r, c) = X[r * rs + c * cs].
// pack_a: rows [0, mc) x cols [0, kc) of op(A) into ceil(mc / mr) panels; panel p holds
//   dst[p * kc * mr + k * mr + i] = op(A)(p * mr + i, k), zero where p * mr + i >= mc.
// pack_b: rows [0, kc) x cols [0, nc) of op(B) into ceil(nc / nr) panels; panel p holds
//   dst[p * kc * nr + k * nr + j] = op(B)(k, p * nr + j), zero where p * nr + j >= nc.
void pack_a(const float* A, int64_t rs, int64_t cs, int64_t mc, int64_t kc, int mr, float* dst);
void pack_b(const float* B, int64_t rs, int64_t cs, int64_t kc, int64_t nc, int nr, float* dst);

}  // namespace nn::cpu_gemm
