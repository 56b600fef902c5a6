// The packed GEMM driver, packing and cache blocking (kernels/cpu/gemm/packed.h).
#include "kernels/cpu/gemm/packed.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "base/math.h"

namespace nn::cpu_gemm {

namespace {

std::atomic<int> g_forced_isa{-1};  // -1: the widest the CPU has

int64_t round_up(int64_t a, int64_t step) { return ceil_div(a, step) * step; }
int64_t round_down(int64_t a, int64_t step) { return a / step * step; }

// A grow-only 64-byte-aligned buffer per thread: a call packs into memory the previous one left warm in
// the cache and mapped, instead of paying page faults for a fresh multi-megabyte allocation every time.
struct FreeAligned {
  void operator()(float* p) const { std::free(p); }
};
float* thread_buffer(int which, int64_t floats) {
  thread_local std::unique_ptr<float[], FreeAligned> buffers[2];
  thread_local int64_t sizes[2] = {0, 0};
  if (sizes[which] < floats) {
    const int64_t bytes = round_up(floats * 4, 64);
    buffers[which].reset(static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(bytes))));
    NN_CHECK(buffers[which] != nullptr, "gemm: cannot allocate a {} byte packing buffer", bytes);
    sizes[which] = floats;
  }
  return buffers[which].get();
}

// C[m, n] = beta * C[m, n] over an m x n block (beta == 0 writes zeros without reading C).
void scale_block(float* C, int64_t ldc, int64_t m, int64_t n, float beta) {
  for (int64_t i = 0; i < m; ++i) {
    float* c = C + i * ldc;
    if (beta == 0.0f) std::fill(c, c + n, 0.0f);
    else if (beta != 1.0f)
      for (int64_t j = 0; j < n; ++j) c[j] *= beta;
  }
}

}  // namespace

void pack_a(const float* A, int64_t rs, int64_t cs, int64_t mc, int64_t kc, int mr, float* dst) {
  for (int64_t p0 = 0; p0 < mc; p0 += mr, dst += kc * mr) {
    const int64_t rows = std::min<int64_t>(mr, mc - p0);
    const float* src = A + p0 * rs;
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * mr;
      for (int64_t i = 0; i < rows; ++i) d[i] = src[i * rs + k * cs];
      for (int64_t i = rows; i < mr; ++i) d[i] = 0.0f;
    }
  }
}

void pack_b(const float* B, int64_t rs, int64_t cs, int64_t kc, int64_t nc, int nr, float* dst) {
  for (int64_t p0 = 0; p0 < nc; p0 += nr, dst += kc * nr) {
    const int64_t cols = std::min<int64_t>(nr, nc - p0);
    const float* src = B + p0 * cs;
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * nr;
      if (cs == 1) std::memcpy(d, src + k * rs, static_cast<size_t>(cols) * 4);  // op(B) rows are contiguous
      else
        for (int64_t j = 0; j < cols; ++j) d[j] = src[k * rs + j * cs];
      for (int64_t j = cols; j < nr; ++j) d[j] = 0.0f;
    }
  }
}

Blocking blocking_for(const MicroKernel& k) {
  const CpuCaches& caches = cpu_caches();
  // KC: the B micro-panel (KC x NR floats) takes half of L1, the rest is for A's micro-panel and C's tile.
  // Never under 128: below that the tile's loads and stores of C are no longer small beside the KC FMAs.
  const int64_t kc = std::max<int64_t>(128, round_down(caches.l1d / 2 / (4 * k.nr), 8));
  // MC: the packed A block (MC x KC) takes half of L2; a multiple of MR.
  const int64_t mc = std::max<int64_t>(k.mr, round_down(caches.l2 / 2 / (4 * kc), k.mr));
  // NC: the packed B block (KC x NC) a quarter of L3, capped at 4096 columns (16 MiB of L3 is plenty and
  // the buffer is allocated per thread); a multiple of NR.
  const int64_t nc = std::clamp<int64_t>(round_down(caches.l3 / 4 / (4 * kc), k.nr), k.nr,
                                         round_down(4096, k.nr));
  return {mc, kc, nc};
}

void gemm_packed(const MicroKernel& uk, const Blocking& bl, int threads, Trans ta, Trans tb, int64_t M, int64_t N,
                 int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                 float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) {  // BLAS semantics: C = beta * C, A and B unread
    scale_block(C, ldc, M, N, beta);
    return;
  }
  const int mr = uk.mr, nr = uk.nr;
  const int64_t a_rs = ta == Trans::no ? lda : 1, a_cs = ta == Trans::no ? 1 : lda;
  const int64_t b_rs = tb == Trans::no ? ldb : 1, b_cs = tb == Trans::no ? 1 : ldb;
  const int64_t NC = std::min(bl.nc, round_up(N, nr)), KC = std::min(bl.kc, K),
                MC = std::min(bl.mc, round_up(M, mr));
  if (omp_in_parallel()) threads = 1;
  // A region costs a few microseconds: not worth it under ~1 MFLOP per thread.
  threads = static_cast<int>(std::clamp<int64_t>(static_cast<int64_t>(2.0 * M * N * K / 1e6), 1, threads));
  float* const bpack = thread_buffer(0, KC * NC);  // shared by the region's threads; the caller owns it
  const int64_t m_blocks = ceil_div<int64_t>(M, MC);

  // Every thread of the region runs this. `omp for` splits a loop among them, with a barrier at its end;
  // schedule(dynamic) hands out the next piece to whichever thread is free, so a thread the OS preempts
  // (the machine is shared) delays only the piece it holds, not a fixed half of the work.
  auto body = [&] {
    alignas(64) float scratch[16 * 64];  // an edge tile (mr * nr <= 1024, checked below)
    float* const apack = thread_buffer(1, MC * KC);  // this thread's packed block of A
    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min(NC, N - jc), n_panels = ceil_div<int64_t>(nc, nr);
      // The grid of macro tiles: MC rows x a chunk of B's micro-panels; at least ~4 per thread, so that
      // dynamic scheduling can even out the load, but no chunk under 4 panels.
      const int64_t n_chunks =
          std::clamp<int64_t>(ceil_div<int64_t>(4 * threads, m_blocks), 1, std::max<int64_t>(1, n_panels / 4));
      const int64_t chunk = ceil_div<int64_t>(n_panels, n_chunks);
      for (int64_t pc = 0; pc < K; pc += KC) {
        const int64_t kc = std::min(KC, K - pc);
        const float beta_k = pc == 0 ? beta : 1.0f;
#pragma omp for schedule(dynamic, 8)
        for (int64_t p = 0; p < n_panels; ++p)
          pack_b(B + pc * b_rs + (jc + p * nr) * b_cs, b_rs, b_cs, kc, std::min<int64_t>(nr, nc - p * nr), nr,
                 bpack + p * kc * nr);
        int64_t packed_ic = -1;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < m_blocks * n_chunks; ++t) {
          const int64_t ic = t / n_chunks * MC, mc = std::min(MC, M - ic), m_panels = ceil_div<int64_t>(mc, mr);
          if (ic != packed_ic) {  // consecutive tiles of one thread usually share the block of A
            pack_a(A + ic * a_rs + pc * a_cs, a_rs, a_cs, mc, kc, mr, apack);
            packed_ic = ic;
          }
          // The macro-kernel: B micro-panel by micro-panel (each stays in L1 while the A block streams
          // from L2 past it), MR x NR tiles of C.
          const int64_t jr_end = std::min(n_panels, (t % n_chunks + 1) * chunk);
          for (int64_t jr = t % n_chunks * chunk; jr < jr_end; ++jr) {
            const int64_t cols = std::min<int64_t>(nr, nc - jr * nr);
            const float* b = bpack + jr * kc * nr;
            for (int64_t ir = 0; ir < m_panels; ++ir) {
              const int64_t rows = std::min<int64_t>(mr, mc - ir * mr);
              const float* a = apack + ir * kc * mr;
              float* c = C + (ic + ir * mr) * ldc + jc + jr * nr;
              if (rows == mr && cols == nr) {
                uk.fn(kc, a, b, alpha, beta_k, c, ldc);
                continue;
              }
              uk.fn(kc, a, b, alpha, 0.0f, scratch, nr);
              for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < cols; ++j) {
                  float& cij = c[i * ldc + j];
                  cij = scratch[i * nr + j] + (beta_k == 0.0f ? 0.0f : beta_k * cij);
                }
            }
          }
        }
      }
    }
  };
  NN_CHECK(mr * nr <= 16 * 64, "gemm: micro-kernel tile {}x{} exceeds the driver's scratch tile", mr, nr);
  // Always a region, of one thread when threads == 1: an `omp for` binds to the innermost region, and
  // inside a caller's parallel loop that must be ours, not the caller's team.
#pragma omp parallel num_threads(threads) if (threads > 1)
  body();
}

const MicroKernel& best_microkernel() {
  const int forced = g_forced_isa.load(std::memory_order_relaxed);
  const CpuIsa isa = forced >= 0 ? static_cast<CpuIsa>(forced) : best_cpu_isa();
  switch (isa) {
    case CpuIsa::avx512: return avx512_microkernel();
    case CpuIsa::avx2: return avx2_microkernel();
    case CpuIsa::portable: break;
  }
  return portable_microkernel();
}

void force_isa(CpuIsa isa) {
  NN_CHECK(cpu_has(isa), "gemm: this CPU cannot run the {} micro-kernel", isa_name(isa));
  g_forced_isa.store(static_cast<int>(isa));
}

void unforce_isa() { g_forced_isa.store(-1); }

}  // namespace nn::cpu_gemm
