// The portable micro-kernel: plain C++ that any x86-64 (or other) compiler vectorises for its baseline
// (SSE2 here: the j loop becomes 4-wide multiplies and adds, no FMA). It is the fallback on CPUs without
// AVX2, rung 04 of the ladder, and, instantiated with each ISA kernel's tile shape, the stand-in that
// tests that kernel's packing and edges on machines that cannot run it.
#include "base/error.h"
#include "kernels/cpu/gemm/packed.h"

namespace nn::cpu_gemm {

namespace {

template <int MR, int NR>
void kernel(int64_t kc, const float* a, const float* b, float alpha, float beta, float* c, int64_t ldc) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR)
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      float& cij = c[i * ldc + j];
      cij = alpha * acc[i][j] + (beta == 0.0f ? 0.0f : beta * cij);
    }
}

constexpr MicroKernel kPortable[] = {
    {"portable 4x8", CpuIsa::portable, 4, 8, kernel<4, 8>},
    {"portable 6x16", CpuIsa::portable, 6, 16, kernel<6, 16>},
    {"portable 4x24", CpuIsa::portable, 4, 24, kernel<4, 24>},
    {"portable 8x48", CpuIsa::portable, 8, 48, kernel<8, 48>},
};

}  // namespace

const MicroKernel& portable_microkernel() { return kPortable[0]; }

const MicroKernel& portable_microkernel_like(const MicroKernel& k) {
  for (const MicroKernel& p : kPortable)
    if (p.mr == k.mr && p.nr == k.nr) return p;
  NN_FAIL("gemm: no portable micro-kernel with the {}x{} tile of {}", k.mr, k.nr, k.name);
}

}  // namespace nn::cpu_gemm
